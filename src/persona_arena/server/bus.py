"""The spectator stream: every committed event, published to its MQTT topics in order.

The runner calls `SpectatorBus.publish(events)` after the events are in the database. That
call only appends to an in-memory backlog and returns: persistence never waits for the
broker. A background pump sends the backlog in order (QoS 1, a window of messages in flight)
to the god-view topic and, for public events, to the public topic (`protocol.event_messages`
decides by each event's `visible_to`, whatever the game). When the connection drops, the
unacknowledged messages go back to the front of the backlog and are sent again after the
reconnect: a broker outage pauses spectating, never the game, and loses nothing from the
database. Delivery is at-least-once, so a spectator de-duplicates by (session_id, seq).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from persona_arena.core.events import Event
from persona_arena.server.mqtt import ConnectionLost, MqttLink
from persona_arena.server.protocol import QOS, event_messages

log = structlog.get_logger(__name__)

DEFAULT_WINDOW = 32
DEFAULT_MAX_BACKLOG = 200_000  # messages; beyond it the oldest are dropped (they stay in the database)


@dataclass
class BusStats:
    published: int = 0  # messages the broker acknowledged
    resent: int = 0     # messages sent again after a lost connection
    dropped: int = 0    # backlog entries dropped while the broker was away too long


class SpectatorBus:
    def __init__(self, link: MqttLink, *, window: int = DEFAULT_WINDOW,
                 max_backlog: int = DEFAULT_MAX_BACKLOG) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.link, self.window, self.max_backlog = link, window, max_backlog
        self.stats = BusStats()
        self._backlog: deque[tuple[str, str]] = deque()  # (topic, payload) not yet sent
        self._pending: deque[tuple[str, str]] = deque()  # sent, not yet acknowledged
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._pump_task: asyncio.Task[None] | None = None

    # -- the runner's hook -----------------------------------------------------------------
    def publish(self, events: Sequence[Event]) -> None:
        """Queues committed events for the spectator topics; never blocks, never raises."""
        for event in events:
            for message in event_messages(event):
                self._queue(message)

    def send(self, topic: str, payload: str) -> None:
        """Queues a raw message in the same ordered stream as the events."""
        self._queue((topic, payload))

    def _queue(self, item: tuple[str, str]) -> None:
        if len(self._backlog) >= self.max_backlog:
            self._backlog.popleft()
            self.stats.dropped += 1
            if self.stats.dropped == 1 or self.stats.dropped % 10_000 == 0:
                log.warning("bus.backlog_full", dropped=self.stats.dropped, max_backlog=self.max_backlog)
        self._backlog.append(item)
        self._idle.clear()
        self._wake.set()

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        await self.link.start()
        if self._pump_task is None:
            self._pump_task = asyncio.create_task(self._pump(), name="spectator-bus")

    async def flush(self) -> None:
        """Waits until everything queued so far has been acknowledged by the broker."""
        await self._idle.wait()

    async def close(self, *, drain: float = 5.0) -> None:
        """Sends what is left (for at most `drain` seconds), then disconnects."""
        if self._pump_task is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(drain):
                    await self.flush()
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
            self._pump_task = None
        left = len(self._backlog) + len(self._pending)
        if left:
            log.warning("bus.closed_with_backlog", messages=left)
        await self.link.stop()

    @property
    def backlog(self) -> int:
        """Messages not yet acknowledged by the broker."""
        return len(self._backlog) + len(self._pending)

    # -- the pump --------------------------------------------------------------------------
    def _fill(self) -> None:
        while len(self._pending) < self.window and self._backlog:
            self._pending.append(self._backlog.popleft())

    async def _pump(self) -> None:
        while True:
            try:
                await self._pump_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not end spectating for the rest of the run
                log.exception("bus.pump_failed")
                await asyncio.sleep(0.5)

    async def _pump_once(self) -> None:
        while True:
            self._fill()
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            acked, error = await self.link.publish_batch(list(self._pending), qos=QOS)
            for _ in range(acked):
                self._pending.popleft()
            self.stats.published += acked
            if error is None:
                continue
            if isinstance(error, ConnectionLost):
                self.stats.resent += len(self._pending)
                log.info("bus.paused", unacknowledged=len(self._pending), backlog=len(self._backlog))
                await self.link.connected.wait()
            else:  # a message the client cannot send at all: skip it rather than retry forever
                topic, _ = self._pending.popleft()
                self.stats.dropped += 1
                log.error("bus.publish_failed", topic=topic, error=repr(error))
