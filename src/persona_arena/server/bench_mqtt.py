"""Spectator publish throughput: events/s through `SpectatorBus` vs raw aiomqtt publishing.

Both sides send the same messages (each event to the god-view topic, public ones also to the
public topic; QoS 1; the same number of messages in flight) to the same broker from the same
process, one after the other. The ratio is what the bus costs over the bare client: event
serialization, topic routing, the backlog and its bookkeeping. No broker given: an embedded
amqtt broker is started on a free loopback port for the measurement.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiomqtt

from persona_arena.core.events import PUBLIC, Event
from persona_arena.server.broker import Credentials, EmbeddedBroker
from persona_arena.server.bus import DEFAULT_WINDOW, SpectatorBus
from persona_arena.server.mqtt import PENDING_CALLS_WARNING, BrokerUrl, Login, MqttLink
from persona_arena.server.protocol import ADMIN_USER, QOS, event_messages

_TEXT = ("I would describe myself as curious and careful; I like quiet mornings, long walks and a good "
         "book, and I try to answer as clearly as I can. ") * 2


def sample_events(n: int) -> list[Event]:
    """A game-like stream: every third event public, the others private (judge or god view)."""
    now = datetime.now(timezone.utc)
    events = []
    for i in range(n):
        public = i % 3 == 0
        events.append(Event(
            run_id="bench", session_id=f"bench-{i // 200}", seq=i % 200, ts=now,
            type="round.started" if public else "candidate.reply", actor="server" if public else "candidate-1",
            visible_to=PUBLIC if public else ["judge", "candidate-1"],
            payload={"round": i // 6 + 1} if public else {"round": i // 6 + 1, "nickname": "Alice", "text": _TEXT},
        ))
    return events


async def _raw(url: BrokerUrl, login: Login, messages: list[tuple[str, str]], window: int) -> float:
    async with aiomqtt.Client(url.host, url.port, username=login.username, password=login.password,
                              identifier="arena-bench-raw") as client:
        client.pending_calls_threshold = PENDING_CALLS_WARNING  # as the bus's client
        start = time.perf_counter()
        for i in range(0, len(messages), window):
            await asyncio.gather(*(client.publish(t, p, qos=QOS) for t, p in messages[i:i + window]))
        return time.perf_counter() - start


async def _bus(url: BrokerUrl, login: Login, events: list[Event], window: int) -> float:
    bus = SpectatorBus(MqttLink(url, login, client_id="arena-bench-bus"), window=window)
    await bus.start()
    await bus.link.start(wait=30)
    try:
        start = time.perf_counter()
        bus.publish(events)
        await bus.flush()
        return time.perf_counter() - start
    finally:
        await bus.close()


async def measure_spectator_publish(url: BrokerUrl | str | None = None, login: Login | None = None, *,
                                    events: int = 3000, window: int = DEFAULT_WINDOW,
                                    repeats: int = 2) -> dict[str, Any]:
    """{"value": bus events/s, "baseline": raw aiomqtt events/s, "ratio": value/baseline,
    "unit": "events/s"}; best of `repeats` runs each, alternated."""
    if isinstance(url, str):
        url = BrokerUrl.parse(url)
    stream = sample_events(events)
    messages = [m for e in stream for m in event_messages(e)]
    with tempfile.TemporaryDirectory(prefix="arena-bench-") as tmp:
        broker = None
        if url is None:
            credentials = Credentials.generate()
            broker = EmbeddedBroker(credentials, state_dir=Path(tmp), port=0)
            await broker.start()
            url, login = broker.url, credentials.login(ADMIN_USER)
        if login is None:
            raise ValueError("an external broker needs the admin login")
        try:
            raw_best = bus_best = float("inf")
            for _ in range(repeats):
                raw_best = min(raw_best, await _raw(url, login, messages, window))
                bus_best = min(bus_best, await _bus(url, login, stream, window))
        finally:
            if broker is not None:
                await broker.stop()
    value, baseline = events / bus_best, events / raw_best
    return {"value": round(value, 1), "baseline": round(baseline, 1), "ratio": round(value / baseline, 3),
            "unit": "events/s"}
