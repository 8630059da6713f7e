"""One MQTT connection that survives broker restarts (aiomqtt underneath).

`MqttLink` keeps reconnecting with backoff, renews its subscriptions on every connect and
hands each incoming message to a synchronous handler (which must not block: it resolves a
future or starts a task). Publishing waits for a connection and reports a connection lost
mid-publish as `ConnectionLost`, so callers decide whether to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiomqtt
from aiomqtt.exceptions import MqttCodeError, MqttConnectError
import structlog

log = structlog.get_logger(__name__)

DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883
PENDING_CALLS_WARNING = 1000
# Connect refusals that retrying cannot fix (bad username or password, not authorised).
_AUTH_REFUSALS = {4, 5, 134, 135}


class ConnectionLost(Exception):
    """The broker connection dropped before a publish was acknowledged."""


class BrokerRefused(Exception):
    """The broker refused our credentials (retrying will not help)."""


@dataclass(frozen=True)
class BrokerUrl:
    host: str
    port: int
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        """`mqtt://host[:port]` or `mqtts://host[:port]` (TLS; CA file from ARENA_MQTT_CAFILE)."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r} has no host")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"broker URL {url!r} has a bad port") from None
        tls = parts.scheme == "mqtts"
        return cls(parts.hostname, port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT), tls)

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class Login:
    username: str
    password: str


MessageHandler = Callable[[aiomqtt.Message], None]
ConnectHook = Callable[["MqttLink"], Awaitable[None]]


class MqttLink:
    def __init__(self, url: BrokerUrl, login: Login | None, *, client_id: str,
                 subscriptions: Sequence[tuple[str, int]] = (), on_message: MessageHandler | None = None,
                 on_connect: ConnectHook | None = None, will: aiomqtt.Will | None = None,
                 clean_session: bool = True, ack_timeout: float = 10.0) -> None:
        self.url, self.login, self.client_id = url, login, client_id
        self.subscriptions = list(subscriptions)
        self.on_message, self.on_connect, self.will = on_message, on_connect, will
        self.clean_session, self.ack_timeout = clean_session, ack_timeout
        self.connected = asyncio.Event()
        self.connects = 0  # successful connections so far (a reconnect makes it > 1)
        self.refused: BrokerRefused | None = None
        self._client: aiomqtt.Client | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._first_attempt = asyncio.Event()
        self._closing = False

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self, *, wait: float | None = None) -> None:
        """Starts connecting in the background. With `wait`, waits that long for the first
        connection and raises BrokerRefused (bad credentials) or TimeoutError."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"mqtt-{self.client_id}")
        if wait is None:
            return
        async with asyncio.timeout(wait):
            while not self.connected.is_set():
                await self._first_attempt.wait()
                if self.refused is not None:
                    raise self.refused
                if not self.connected.is_set():
                    self._first_attempt.clear()

    async def stop(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.connected.clear()

    async def __aenter__(self) -> MqttLink:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def _new_client(self) -> aiomqtt.Client:
        tls_context = None
        if self.url.tls:
            tls_context = ssl.create_default_context(cafile=os.environ.get("ARENA_MQTT_CAFILE"))
        client = aiomqtt.Client(
            self.url.host, self.url.port, identifier=self.client_id,
            username=self.login.username if self.login else None,
            password=self.login.password if self.login else None,
            will=self.will, clean_session=self.clean_session, keepalive=15, tls_context=tls_context,
            timeout=self.ack_timeout,
        )
        # aiomqtt warns above 10 calls in flight; the bus keeps a window of them on purpose.
        client.pending_calls_threshold = PENDING_CALLS_WARNING
        return client

    async def _run(self) -> None:
        delay = 0.1
        while not self._closing:
            try:
                async with self._new_client() as client:
                    await self._subscribe(client)
                    self._client, self._lost = client, asyncio.Event()
                    self.connects += 1
                    self.refused = None
                    self.connected.set()
                    self._first_attempt.set()
                    delay = 0.1
                    log.info("mqtt.connected", client=self.client_id, broker=str(self.url), n=self.connects)
                    if self.on_connect is not None:
                        await self.on_connect(self)
                    async for message in client.messages:
                        self._dispatch(message)
            except MqttConnectError as err:
                if _refusal_code(err) in _AUTH_REFUSALS:
                    self.refused = BrokerRefused(f"{self.url} refused {self._who()}: {err}")
                    log.error("mqtt.refused", client=self.client_id, error=str(err))
                else:
                    log.warning("mqtt.connect_failed", client=self.client_id, error=str(err))
            except aiomqtt.MqttError as err:
                log.warning("mqtt.disconnected", client=self.client_id, error=str(err))
            finally:
                self.connected.clear()
                self._client = None
                self._lost.set()
                self._first_attempt.set()
            if self._closing:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _who(self) -> str:
        return f"user {self.login.username!r}" if self.login else "anonymous login"

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        for topic, qos in self.subscriptions:
            granted = await client.subscribe(topic, qos)
            codes = [getattr(g, "value", g) for g in granted]
            if any(c >= 0x80 for c in codes):
                # An ACL that does not allow what this identity is for: say so loudly.
                log.error("mqtt.subscribe_refused", client=self.client_id, topic=topic, user=self._who())

    def _dispatch(self, message: aiomqtt.Message) -> None:
        if self.on_message is None:
            return
        try:
            self.on_message(message)
        except Exception:  # a bad message never takes the connection down
            log.exception("mqtt.handler_failed", client=self.client_id, topic=str(message.topic))

    # -- publishing ------------------------------------------------------------------------
    async def publish(self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Publishes once the link is connected; raises ConnectionLost if the connection
        drops before the broker acknowledged the message (it may or may not have arrived)."""
        await self.connected.wait()
        client, lost = self._client, self._lost
        if client is None:
            raise ConnectionLost("not connected")
        sent = asyncio.ensure_future(client.publish(topic, payload, qos=qos, retain=retain))
        dropped = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait({sent, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
            if not sent.done():
                sent.cancel()
        if sent.cancelled():
            raise ConnectionLost(f"connection lost while publishing to {topic}")
        try:
            sent.result()
        except aiomqtt.MqttError as err:
            raise ConnectionLost(f"publishing to {topic} failed: {err}") from err

    async def publish_batch(self, messages: Sequence[tuple[str, str | bytes]], *,
                            qos: int = 1) -> tuple[int, BaseException | None]:
        """Publishes `messages` in order, all in flight at once. Returns how many, from the
        first, the broker acknowledged, and the error that stopped the rest: ConnectionLost
        (retry after the reconnect), or an error about that message itself."""
        await self.connected.wait()
        client, lost = self._client, self._lost
        if client is None:
            return 0, ConnectionLost("not connected")
        # Started in this order on one connection, so the broker receives them in order.
        calls = [asyncio.ensure_future(client.publish(t, p, qos=qos)) for t, p in messages]
        everything = asyncio.gather(*calls, return_exceptions=True)
        dropped = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait({everything, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
            for call in calls:
                if not call.done():
                    call.cancel()
            await asyncio.gather(*calls, return_exceptions=True)  # let the cancelled ones finish
        for acked, call in enumerate(calls):
            if call.cancelled():
                return acked, ConnectionLost("connection lost while publishing")
            error = call.exception()
            if isinstance(error, aiomqtt.MqttError):
                return acked, ConnectionLost(f"publishing failed: {error}")
            if error is not None:
                return acked, error
        return len(calls), None

    async def publish_until_sent(self, topic: str, payload: str | bytes, *, qos: int = 1,
                                 retain: bool = False) -> None:
        """Like publish, retried across reconnects until acknowledged (callers bound it)."""
        while True:
            try:
                await self.publish(topic, payload, qos=qos, retain=retain)
                return
            except ConnectionLost:
                await asyncio.sleep(0.05)


def _refusal_code(err: MqttCodeError) -> int | None:
    rc = err.rc
    return getattr(rc, "value", rc)  # type: ignore[return-value]
