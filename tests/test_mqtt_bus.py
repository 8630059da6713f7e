"""The spectator bus: routing by visibility, persistence that never waits for the broker,
and the publish-throughput measurement for `arena bench`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from mqtt_support import amqtt_broker, credentials, free_port  # noqa: F401 (fixtures)

from persona_arena.agents.registry import create_agent
from persona_arena.core.events import PUBLIC, Event
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring
from persona_arena.server.bench_mqtt import measure_spectator_publish
from persona_arena.server.broker import EmbeddedBroker
from persona_arena.server.bus import SpectatorBus
from persona_arena.server.mqtt import BrokerUrl, MqttLink
from persona_arena.server.protocol import event_messages, god_topic, public_topic, topic_level
from persona_arena.server.runner import run_session

SCRIPTED = ReverseTuringConfig(judge=AgentSpec.parse("scripted"), foils=[AgentSpec.parse("eliza")], rounds=3)


def event(visible_to, type_="x", session="s/1#") -> Event:
    return Event(run_id="run+1", session_id=session, seq=0, ts=datetime.now(timezone.utc), type=type_,
                 actor="server", visible_to=visible_to, payload={"text": "hello"})


@pytest.mark.parametrize("visible_to, type_, public", [
    (PUBLIC, "party.message", True),
    (["party-1"], "party.scratchpad", False),        # a negotiation party's private notes
    (["judge", "candidate-2"], "candidate.reply", False),
    ([], "game.setup", False),                      # god view only
])
def test_events_are_routed_by_their_visibility_alone(visible_to, type_, public):
    e = event(visible_to, type_)
    messages = event_messages(e)
    assert messages[0] == (god_topic(e.run_id, e.session_id), e.to_json())
    assert [t for t, _ in messages[1:]] == ([public_topic(e.run_id, e.session_id)] if public else [])


def test_ids_cannot_inject_topic_levels_or_wildcards():
    assert topic_level("a/b+c#d") == "a_b_c_d"
    assert public_topic("run+1", "s/1#") == "arena/v1/public/run_1/s_1_"


async def test_the_game_never_waits_for_an_absent_broker(store, tmp_path, credentials):
    port = free_port()  # nothing listens here yet
    url = BrokerUrl("127.0.0.1", port)
    bus = SpectatorBus(MqttLink(url, credentials.login("admin"), client_id="bus"))
    await bus.start()
    try:
        results = [await run_session(ReverseTuring(), SCRIPTED, seed, store=store, run_id="offline",
                                     agent_factory=create_agent, publish=bus.publish) for seed in range(3)]
        assert [r.status for r in results] == ["finished"] * 3
        stored = [e for r in results for e in await store.events(r.session_id)]
        expected = sum(len(event_messages(e)) for e in stored)
        assert bus.backlog == expected and bus.stats.published == 0  # everything waits in memory
        # The broker appears: the backlog drains on its own.
        async with EmbeddedBroker(credentials, state_dir=tmp_path / "late", port=port):
            async with asyncio.timeout(30):
                await bus.flush()
            assert bus.stats.published == expected and bus.backlog == 0
    finally:
        await bus.close(drain=0)


async def test_a_failing_publish_hook_does_not_break_the_game(store):
    calls = []

    def hook(events) -> None:
        calls.append([e.seq for e in events])
        raise RuntimeError("spectators are broken")

    result = await run_session(ReverseTuring(), SCRIPTED, 1, store=store, run_id="r", agent_factory=create_agent,
                               publish=hook)
    assert result.status == "finished"
    stored = await store.events(result.session_id)
    assert [seq for batch in calls for seq in batch] == [e.seq for e in stored]  # each batch once, in order


async def test_the_backlog_is_bounded(credentials):
    bus = SpectatorBus(MqttLink(BrokerUrl("127.0.0.1", free_port()), credentials.login("admin"), client_id="b"),
                       max_backlog=5)
    bus.publish([event(["judge"]) for _ in range(8)])  # one message each
    assert bus.backlog == 5 and bus.stats.dropped == 3


async def test_spectator_publish_throughput_is_measured_against_raw_aiomqtt():
    result = await measure_spectator_publish(events=300, repeats=1)
    assert set(result) == {"value", "baseline", "ratio", "unit"}
    assert result["unit"] == "events/s" and result["value"] > 0 and result["baseline"] > 0
    assert result["ratio"] == pytest.approx(result["value"] / result["baseline"], abs=0.002)
