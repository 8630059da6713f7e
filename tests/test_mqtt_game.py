"""Whole games over MQTT: worker processes (`arena agent serve`), the server's hub and bus, real
brokers (Debian mosquitto with password + ACL files, and the embedded amqtt broker)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mqtt_support import (  # noqa: F401 (fixtures)
    MOSQUITTO_SUB, PatientJudge, ThirdParty, amqtt_broker, credentials, eventually, mosquitto, remote_tournament,
    workers,
)

from persona_arena.core.events import PUBLIC, Event
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring
from persona_arena.server.protocol import PUBLIC_FILTER, public_topic
from persona_arena.server.runner import run_session
from persona_arena.server.serve import ArenaServer, submit_tournament
from persona_arena.server.store import Store

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # worker processes and brokers: seconds, not milliseconds

CONFIG = ReverseTuringConfig(judge=AgentSpec.parse("scripted"), twin=AgentSpec.parse("remote/alpha"),
                             foils=[AgentSpec.parse("remote/beta")], rounds=3)

TOURNAMENT = remote_tournament("over-mqtt")


@pytest.fixture
async def server_for(tmp_path, credentials):
    started = []

    async def start(url) -> ArenaServer:
        store = await Store.open(f"sqlite:///{tmp_path / 'arena.db'}")
        server = ArenaServer(store, url, credentials, out=tmp_path / "out", agent_wait=30)
        started.append(server)
        await server.start(connect_timeout=15)
        return server

    yield start
    for server in started:
        await server.stop()
        await server.store.close()


async def play(server: ArenaServer, *, turn_timeout: float, on_turn=None, session_id: str = "game"):
    """One reverse-turing game: a patient judge in the server, both candidates remote."""
    remote = server.hub.agent_factory(turn_timeout)

    def factory(spec: AgentSpec, seed: int):
        return PatientJudge(spec, on_turn) if spec.kind == "scripted" else remote(spec, seed)

    return await run_session(ReverseTuring(), CONFIG, 7, store=server.store, run_id="mqtt", session_id=session_id,
                             agent_factory=factory, turn_timeout=turn_timeout, publish=server.bus.publish)


def replies_by_round(events: list[Event]) -> dict[int, dict[str, dict]]:
    """round -> player -> agent.reply payload (candidates answer once per round)."""
    rounds: dict[int, dict[str, dict]] = {}
    current = 0
    for e in events:
        if e.type == "round.started":
            current = e.payload["round"]
        elif e.type == "agent.reply" and e.payload["player"] != "judge":
            rounds.setdefault(current, {})[e.payload["player"]] = e.payload
    return rounds


def player_of(events: list[Event], spec: str) -> str:
    """The candidate seat an agent spec plays (from the god-view game.setup event)."""
    setup = next(e for e in events if e.type == "game.setup")
    return next(c["player"] for c in setup.payload["candidates"] if c["agent"] == spec)


def assert_gapless(events: list[Event]) -> None:
    assert [e.seq for e in events] == list(range(len(events)))


async def test_a_game_with_two_worker_processes_completes_on_mosquitto(mosquitto, workers, server_for):
    server = await server_for(mosquitto.url)
    alpha, beta = workers("scripted", "alpha", mosquitto.url), workers("eliza", "beta", mosquitto.url)
    assert await server.hub.wait_online(["alpha", "beta"], 30) == []
    result = await play(server, turn_timeout=20)
    assert result.status == "finished" and result.outcome["result"] in ("correct", "wrong")
    events = await server.store.events(result.session_id)
    assert_gapless(events)
    rounds = replies_by_round(events)
    assert sorted(rounds) == [1, 2, 3]
    for answers in rounds.values():  # the patient judge asks both candidates every round
        assert len(answers) == 2
        assert all(a["failure"] is None and a["text"] for a in answers.values())
    assert alpha.stop() == 0 and beta.stop() == 0
    assert "worker alpha stopped: 3 turns answered" in alpha.output()
    assert "worker beta stopped: 3 turns answered" in beta.output()


async def test_a_worker_killed_mid_game_forfeits_its_turns_and_the_game_ends(mosquitto, workers, server_for):
    server = await server_for(mosquitto.url)
    workers("scripted", "alpha", mosquitto.url)
    beta = workers("eliza", "beta", mosquitto.url)
    assert await server.hub.wait_online(["alpha", "beta"], 30) == []

    async def kill_beta_in_round_two(observation) -> None:
        if observation.turn == "ask" and observation.turn_number == 2:
            beta.kill()

    result = await play(server, turn_timeout=2, on_turn=kill_beta_in_round_two)
    assert result.status == "finished"
    events = await server.store.events(result.session_id)
    assert_gapless(events)
    rounds = replies_by_round(events)
    beta_player, alpha_player = player_of(events, "remote/beta"), player_of(events, "remote/alpha")
    assert rounds[1][beta_player]["failure"] is None
    for r in (2, 3):
        assert rounds[r][beta_player]["failure"] == "timeout after 2s"
        assert rounds[r][alpha_player]["failure"] is None
    violations = [e.payload for e in events if e.type == "rule.violation" and e.payload["player"] == beta_player]
    assert [v["kind"] for v in violations] == ["agent_failure", "agent_failure"]


async def test_broker_restart_mid_run_loses_no_event_and_spectators_resume(mosquitto, credentials, workers,
                                                                         server_for):
    server = await server_for(mosquitto.url)
    workers("scripted", "alpha", mosquitto.url)
    workers("eliza", "beta", mosquitto.url)
    assert await server.hub.wait_online(["alpha", "beta"], 30) == []
    viewer = ThirdParty(mosquitto.url, "spectator", credentials.users["spectator"].password, follow=(PUBLIC_FILTER,))
    marks: dict[str, float | int] = {}
    try:
        await eventually(lambda: viewer.ready == 1)

        async def outage(observation) -> None:
            if observation.turn == "ask" and observation.turn_number == 2:  # round 2 starts: broker dies
                mosquitto.kill()
            elif observation.turn == "verdict" and observation.turn_number == 3:  # end of round 2: it is back
                restarted = time.time()
                mosquitto.start()
                await eventually(lambda: server.hub.link.connected.is_set() and server.bus.link.connected.is_set()
                                 and all(server.hub.workers[n].ts > restarted for n in ("alpha", "beta"))
                                 and viewer.ready == 2, within=30)
                marks["resumed_at"] = len(await server.store.events("restart"))

        result = await play(server, turn_timeout=3, on_turn=outage, session_id="restart")
        assert result.status == "finished"
        assert server.hub.link.connects == server.bus.link.connects == 2  # each reconnected once
        events = await server.store.events("restart")
        assert_gapless(events)
        rounds = replies_by_round(events)
        assert all(a["failure"] is None for a in rounds[1].values())
        assert all(a["failure"] == "timeout after 3s" for a in rounds[2].values())  # the broker was down
        assert all(a["failure"] is None and a["text"] for a in rounds[3].values())  # and came back
        async with asyncio.timeout(30):
            await server.bus.flush()
        later = [e for e in events if e.visible_to == PUBLIC and e.seq >= marks["resumed_at"]]
        assert later, "the game published public events after the restart"

        def received() -> set[int]:
            return {Event.from_json(p).seq for p in viewer.payloads()}

        await eventually(lambda: {e.seq for e in later} <= received())
        before = [e for e in events if e.visible_to == PUBLIC and e.seq < 3]
        assert {e.seq for e in before} <= received()  # and it had been watching before the outage
    finally:
        viewer.close()


async def test_mosquitto_sub_receives_every_public_event_in_order_and_nothing_private(
        mosquitto, credentials, workers, server_for):
    if MOSQUITTO_SUB is None:
        message = "mosquitto_sub is not installed (apt-get install mosquitto-clients; .ci/run does)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    server = await server_for(mosquitto.url)
    workers("scripted", "alpha", mosquitto.url)
    workers("eliza", "beta", mosquitto.url)
    sub = await asyncio.create_subprocess_exec(
        MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", str(mosquitto.port), "-u", "spectator",
        "-P", credentials.users["spectator"].password, "-t", PUBLIC_FILTER, "-q", "1", "-v",
        stdout=asyncio.subprocess.PIPE)
    lines: list[str] = []
    try:
        # Ready once a probe sent through the bus comes out (it subscribes asynchronously).
        for attempt in range(100):
            server.bus.send(f"arena/v1/public/_probe/{attempt}", "probe")
            try:
                async with asyncio.timeout(0.3):
                    line = (await sub.stdout.readline()).decode()
            except TimeoutError:
                continue
            assert line.startswith("arena/v1/public/_probe/")
            break
        else:
            raise AssertionError("mosquitto_sub never received a probe")
        result = await submit_tournament(mosquitto.url, credentials.login("admin"), TOURNAMENT)
        assert result.state == "finished" and [s.status for s in result.sessions] == ["finished", "finished"]
        server.bus.send("arena/v1/public/_probe/end", "end")  # the same ordered stream as the events
        async with asyncio.timeout(30):
            while True:
                line = (await sub.stdout.readline()).decode().rstrip("\n")
                if line.startswith("arena/v1/public/_probe/end "):
                    break
                if not line.startswith("arena/v1/public/_probe/"):
                    lines.append(line)
    finally:
        sub.terminate()
        await sub.wait()
    received: dict[str, list[Event]] = {}
    for line in lines:
        topic, payload = line.split(" ", 1)
        event = Event.from_json(payload)
        assert topic == public_topic(event.run_id, event.session_id)
        received.setdefault(event.session_id, []).append(event)
    assert sorted(received) == sorted(s.session_id for s in result.sessions)
    private_seen = 0
    for session in result.sessions:
        stored = await server.store.events(session.session_id)
        public = [e for e in stored if e.visible_to == PUBLIC]
        private_seen += len(stored) - len(public)
        assert [e.to_json() for e in received[session.session_id]] == [e.to_json() for e in public]
    assert private_seen > 0  # there were private events, and none of them came out


async def test_a_submitted_run_is_rejected_with_the_reason(amqtt_broker, credentials, server_for):
    server = await server_for(amqtt_broker.url)
    bad = TOURNAMENT.replace('model = "remote/beta"', 'model = "remote/gamma"')
    result = await submit_tournament(amqtt_broker.url, credentials.login("admin"), bad)
    assert result.state == "rejected"
    assert "agents.2.model" in result.error and "no identity 'gamma'" in result.error
    assert await server.store.runs() == []


async def test_a_run_is_accepted_at_once_while_its_workers_are_offline_and_played_once(
        amqtt_broker, credentials, server_for, workers):
    """The server waits up to agent_wait (30 s) for offline workers *after* accepting: the
    submitter's 5 s is enough. The same run submitted again while it plays is rejected (its
    resume would abandon the games in play)."""
    server = await server_for(amqtt_broker.url)
    admin = credentials.login("admin")
    first = await submit_tournament(amqtt_broker.url, admin, TOURNAMENT, accept_timeout=5, wait=False)
    assert first.state == "accepted" and first.offline_agents == ["alpha", "beta"] and first.to_play == 2
    again = await submit_tournament(amqtt_broker.url, admin, TOURNAMENT, accept_timeout=5, wait=False)
    assert again.state == "rejected" and "already being played" in again.error
    workers("scripted", "alpha", amqtt_broker.url)
    workers("scripted", "beta", amqtt_broker.url)
    await eventually(lambda: server.submissions[first.id].state == "finished", within=60)
    assert [s.status for s in server.submissions[first.id].sessions] == ["finished", "finished"]
    assert server.submissions[first.id].offline_agents == []


async def test_a_worker_written_in_shell_plays_a_game(mosquitto, credentials, workers, server_for, tmp_path):
    """examples/remote-agent.sh (mosquitto_sub | jq | mosquitto_pub): the protocol, not the library."""
    missing = [tool for tool in ("jq", "mosquitto_sub", "mosquitto_pub") if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not installed"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    server = await server_for(mosquitto.url)
    workers("scripted", "alpha", mosquitto.url)
    with (tmp_path / "shell-worker.log").open("wb") as log:
        shell = subprocess.Popen(["bash", str(ROOT / "examples" / "remote-agent.sh"), "127.0.0.1",
                                  str(mosquitto.port), "beta", credentials.users["beta"].password],
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert await server.hub.wait_online(["alpha", "beta"], 30) == []
        assert server.hub.workers["beta"].spec == "shell"
        result = await play(server, turn_timeout=20)
    finally:
        os.killpg(shell.pid, signal.SIGTERM)  # the script's own process group: bash, mosquitto_sub, jq
        shell.wait(10)
    assert result.status == "finished"
    events = await server.store.events(result.session_id)
    beta = player_of(events, "remote/beta")
    texts = [r[beta]["text"] for _, r in sorted(replies_by_round(events).items())]
    assert texts == [f"I like quiet mornings and long walks (turn {n})." for n in range(3)]
