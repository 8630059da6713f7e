"""The embedded broker: amqtt 0.12.1's Broker with two holes closed (mosquitto has neither).

1. amqtt acts on a CONNECT before it checks the login: a client id already in use is taken
   over (the connected client dropped, a persistent session handed on with its subscriptions
   and queued messages), and only then is a wrong password refused. Anyone who could reach the
   port could disconnect the server or a worker by sending its (documented) client id, and any
   identity could inherit another's session, a worker's queued turn requests included. Here
   the login and the client id are checked first, and a refused CONNECT touches no session.
2. On connect amqtt sends a client the retained messages of every topic that *any* client
   subscribed to, past the subscribe ACL (a spectator received the workers' status messages).
   Here a client gets the retained messages of its own subscriptions only.

Client ids: a session belongs to the identity that holds it; `arena-agent-NAME` is NAME's,
`arena-watch-…` anyone's, every other `arena-…` id the admin's (the server, runs, `arena
submit`); other ids are free.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

import structlog
from amqtt.adapters import ReaderAdapter, WriterAdapter
from amqtt.broker import Broker
from amqtt.errors import AMQTTError
from amqtt.mqtt.connack import BAD_USERNAME_PASSWORD, NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.connect import ConnectPacket

from persona_arena.server.protocol import ADMIN_USER

if TYPE_CHECKING:
    from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
    from amqtt.session import Session

    from persona_arena.server.broker import Credentials

log = structlog.get_logger(__name__)

AGENT_CLIENT_PREFIX = "arena-agent-"
SPECTATOR_CLIENT_PREFIX = "arena-watch-"
RESERVED_CLIENT_PREFIX = "arena-"


def client_id_refusal(client_id: str, username: str, holder: str | None) -> str | None:
    """Why `username` may not connect as `client_id` (None: it may). `holder`: the identity
    whose session has that id now, if any."""
    if holder is not None and holder != username:
        return f"client id {client_id!r} is another identity's session"
    if client_id.startswith(AGENT_CLIENT_PREFIX):
        if client_id != AGENT_CLIENT_PREFIX + username:
            return f"client id {client_id!r} is reserved for worker {client_id[len(AGENT_CLIENT_PREFIX):]!r}"
    elif (client_id.startswith(RESERVED_CLIENT_PREFIX) and not client_id.startswith(SPECTATOR_CLIENT_PREFIX)
          and username != ADMIN_USER):
        return f"client id {client_id!r} is reserved for {ADMIN_USER!r}"
    return None


class GuardedBroker(Broker):
    def __init__(self, config: dict[str, Any], credentials: Credentials) -> None:
        super().__init__(config)
        self._passwords = {name: who.password for name, who in credentials.users.items()}

    async def _initialize_client_session(self, reader: ReaderAdapter, writer: WriterAdapter, remote_address: str,
                                         remote_port: int) -> tuple[BrokerProtocolHandler, Session]:
        recording = _RecordingReader(reader)
        try:
            connect = await ConnectPacket.from_stream(recording)
        except Exception:  # amqtt reads the same bytes below and answers as it always does
            connect = None
        if connect is not None:
            refusal, code = self._refusal(connect)
            if refusal is not None:
                log.warning("broker.connect_refused", client=connect.client_id, user=connect.username,
                            peer=f"{remote_address}:{remote_port}", reason=refusal)
                try:
                    await ConnackPacket.build(0, code).to_stream(writer)
                finally:
                    await writer.close()
                raise AMQTTError(f"CONNECT refused: {refusal}")
        return await super()._initialize_client_session(_ReplayReader(recording.data, reader), writer,
                                                        remote_address, remote_port)

    def _refusal(self, connect: ConnectPacket) -> tuple[str | None, int]:
        username, password = connect.username, connect.password
        expected = self._passwords.get(username) if username is not None else None
        if expected is None or password is None or not hmac.compare_digest(
                str(password).encode(), expected.encode()):
            return "bad username or password", BAD_USERNAME_PASSWORD
        if connect.payload is not None and connect.payload.client_id_is_random:
            return None, 0
        client_id = connect.client_id or ""
        held = self._sessions.get(client_id)
        refusal = client_id_refusal(client_id, username, held[0].username if held else None)
        return refusal, NOT_AUTHORIZED

    async def _publish_retained_messages_for_subscription(self, subscription: tuple[str, int],
                                                          session: Session) -> None:
        topic_filter = subscription[0]
        if any(s.client_id == session.client_id for s, _ in self._subscriptions.get(topic_filter, ())):
            await super()._publish_retained_messages_for_subscription(subscription, session)


class _RecordingReader(ReaderAdapter):
    """Reads from `reader` and keeps what it read (the CONNECT packet, to be read again)."""

    def __init__(self, reader: ReaderAdapter) -> None:
        self.reader = reader
        self.data = bytearray()

    async def read(self, n: int = -1) -> bytes:
        data = await self.reader.read(n)
        self.data += data
        return data

    def feed_eof(self) -> None:
        self.reader.feed_eof()


class _ReplayReader(ReaderAdapter):
    """`data` first, then `reader`."""

    def __init__(self, data: bytes | bytearray, reader: ReaderAdapter) -> None:
        self.data = bytearray(data)
        self.reader = reader

    async def read(self, n: int = -1) -> bytes:
        if n < 0:
            head, self.data = bytes(self.data), bytearray()
            return head + await self.reader.read(n)
        head = bytes(self.data[:n])
        del self.data[:n]
        return head if len(head) == n else head + await self.reader.read(n - len(head))

    def feed_eof(self) -> None:
        self.reader.feed_eof()
