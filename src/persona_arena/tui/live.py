"""The spectator stream as an async iterator of events, read from the MQTT topics that
`server/bus.py` publishes to: `arena/v1/public/<run>/<session>` (public events, the
`spectator` identity may read them) or, with `god=True`, `arena/v1/god/<run>/<session>`
(every event; admin credentials). Delivery is at-least-once: `LiveSource` drops duplicates.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable

import structlog
from pydantic import ValidationError

from persona_arena.core.events import Event
from persona_arena.server.mqtt import BrokerUrl, Login, MqttLink
from persona_arena.server.protocol import GOD_FILTER, PUBLIC_FILTER, QOS

log = structlog.get_logger(__name__)

CONNECT_TIMEOUT = 10.0
EventStream = Callable[[], AsyncIterator[Event]]


async def spectator_events(url: BrokerUrl, login: Login | None, *, god: bool = False,
                           connect_timeout: float = CONNECT_TIMEOUT) -> AsyncIterator[Event]:
    """Events as they are published, from every session on the broker. Raises BrokerRefused
    (bad credentials) or TimeoutError (no broker) if the first connection fails; later drops
    are reconnected by `MqttLink`. A message that is not an event is logged and skipped."""
    queue: asyncio.Queue[Event] = asyncio.Queue()

    def on_message(message: object) -> None:
        payload = getattr(message, "payload", b"")
        try:
            queue.put_nowait(Event.model_validate_json(payload))  # type: ignore[arg-type]
        except ValidationError as err:
            log.warning("watch.not_an_event", topic=str(getattr(message, "topic", "")), error=str(err)[:200])

    link = MqttLink(url, login, client_id=f"arena-watch-{os.getpid()}-{id(queue):x}",
                    subscriptions=[(GOD_FILTER if god else PUBLIC_FILTER, QOS)], on_message=on_message)
    try:
        await link.start(wait=connect_timeout)
        while True:
            yield await queue.get()
    finally:
        await link.stop()
