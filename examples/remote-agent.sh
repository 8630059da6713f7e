#!/usr/bin/env bash
# A persona-arena remote worker in shell, to show the wire protocol (README: "The game server
# on MQTT"): it plays `remote/NAME` with nothing but mosquitto_sub, jq and mosquitto_pub.
# Free-text turns get a fixed sentence; JSON turns get an error reply (the game records it).
#
#   examples/remote-agent.sh HOST PORT NAME PASSWORD
set -euo pipefail
host=$1 port=$2 name=$3 password=$4
root="arena/v1/agents/$name"
status() { jq -nc --arg name "$name" --arg state "$1" '{name: $name, state: $state, spec: "shell"}'; }

sub=(mosquitto_sub -h "$host" -p "$port" -u "$name" -P "$password" -q 1 -c -i "arena-agent-$name" -t "$root/inbox")
# A persistent session (-c, fixed client id) holds our subscription and queues requests while
# we are away: create it first (-E exits once subscribed), then say we are online.
"${sub[@]}" -E
mosquitto_pub -h "$host" -p "$port" -u "$name" -P "$password" -q 1 -r -t "$root/status" -m "$(status online)"
# The broker announces us offline (retained) if the connection dies.
"${sub[@]}" --will-topic "$root/status" --will-payload "$(status offline)" --will-qos 1 --will-retain |
while IFS= read -r request; do
    [ "$(jq -r '.type' <<<"$request")" = turn ] || continue   # "close" needs nothing here
    if [ "$(jq -r '.deadline < now' <<<"$request")" = true ]; then
        continue  # the server has stopped waiting for this turn
    fi
    jq -c 'if .observation.reply_schema == null
           then {id, text: "I like quiet mornings and long walks (turn \(.observation.turn_number))."}
           else {id, text: null, error: "this worker answers free-text turns only"} end' <<<"$request" |
        mosquitto_pub -h "$host" -p "$port" -u "$name" -P "$password" -q 1 -t "$root/outbox" -l
done
