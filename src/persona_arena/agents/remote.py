"""`remote/NAME`: an agent played by an `arena agent serve` worker over MQTT.

Each turn is a `TurnRequest` on the worker's inbox with a fresh correlation id and a
deadline; the reply must come back on the worker's own outbox with the same id. The runner's
turn timeout bounds the wait, so a worker that is slow, disconnected or gone forfeits the
turn and the game goes on. Replies that cannot be used are never trusted:

- a reply after its turn timed out (`late`), a second reply to an answered request
  (`duplicate`), or a reply on another worker's outbox (`wrong_sender`) is ignored and
  recorded as a god-view `agent.stray_reply` event of the session (via `take_notes()`);
- a reply with a known id but a malformed body fails the turn (an `agent_failure` violation);
- a reply whose id is unknown or whose JSON is unreadable is logged and counted.

The server creates one `RemoteHub` (one broker connection for all remote agents) and makes
it active with `use_hub`, so that `agents.registry` can build `remote/NAME` agents.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiomqtt
import structlog
from pydantic import ValidationError

from persona_arena.agents.base import Agent, AgentResponse
from persona_arena.core.events import EventDraft
from persona_arena.core.observations import Observation
from persona_arena.core.specs import AgentSpec, SpecError
from persona_arena.server.mqtt import BrokerUrl, Login, MqttLink
from persona_arena.server.protocol import (
    OUTBOX_FILTER, QOS, STATUS_FILTER, CloseRequest, TurnReply, TurnRequest, WorkerStatus, agent_name_of,
    agent_topic, check_agent_name, dump,
)
from persona_arena.server.runner import AgentFactory

log = structlog.get_logger(__name__)

DEFAULT_REMOTE_TIMEOUT = 120.0
_REMEMBERED = 10_000  # finished request ids kept to tell late and duplicate replies apart
EXCERPT_CHARS = 300


class RemoteAgentError(RuntimeError):
    """The worker answered with an error, or with a reply that cannot be used."""


@dataclass
class _Request:
    agent: RemoteAgent
    player: str
    turn_number: int
    sent_at: float
    future: asyncio.Future[TurnReply]


class RemoteAgent:
    """One player of one session, played by worker `spec.name`."""

    def __init__(self, spec: AgentSpec, seed: int, hub: RemoteHub, timeout: float) -> None:
        self.spec, self.seed, self.hub, self.timeout = spec, seed, hub, timeout
        self.name = spec.name
        self.key = uuid.uuid4().hex  # the worker keeps one agent per key
        self._notes: list[EventDraft] = []
        self._asked = False

    async def act(self, observation: Observation) -> AgentResponse:
        self._asked = True
        return await self.hub.request(self, observation)

    async def close(self) -> None:
        if self._asked:
            await self.hub.release(self)

    def take_notes(self) -> list[EventDraft]:
        notes, self._notes = self._notes, []
        return notes

    def note(self, draft: EventDraft) -> None:
        self._notes.append(draft)


class RemoteHub:
    """The server's end of every remote agent: sends requests, matches replies by id."""

    def __init__(self, url: BrokerUrl, login: Login, *, client_id: str = "arena-server-agents",
                 default_timeout: float = DEFAULT_REMOTE_TIMEOUT, known_agents: Iterable[str] | None = None) -> None:
        self.default_timeout = default_timeout
        self.known_agents = set(known_agents) if known_agents is not None else None
        # A persistent session: replies sent while we reconnect are delivered afterwards.
        self.link = MqttLink(url, login, client_id=client_id, clean_session=False,
                             subscriptions=[(OUTBOX_FILTER, QOS), (STATUS_FILTER, QOS)], on_message=self._on_message)
        self.workers: dict[str, WorkerStatus] = {}
        self.stray: dict[str, int] = {}  # reason -> count, the unattributable ones included
        self._pending: dict[str, _Request] = {}
        self._finished: OrderedDict[str, tuple[_Request, str]] = OrderedDict()
        self._status_seen = asyncio.Event()

    async def start(self, *, wait: float | None = None) -> None:
        await self.link.start(wait=wait)

    async def stop(self) -> None:
        for request in self._pending.values():
            if not request.future.done():
                request.future.set_exception(RemoteAgentError("the server is shutting down"))
        await self.link.stop()

    # -- workers ---------------------------------------------------------------------------
    def online(self, name: str) -> bool:
        status = self.workers.get(name)
        return status is not None and status.state == "online"

    async def wait_online(self, names: Iterable[str], timeout: float) -> list[str]:
        """Waits up to `timeout` seconds for the workers; returns those still offline."""
        names = sorted(set(names))
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            offline = [n for n in names if not self.online(n)]
            left = end - loop.time()
            if not offline or left <= 0:
                return offline
            self._status_seen.clear()
            try:
                async with asyncio.timeout(left):
                    await self._status_seen.wait()
            except TimeoutError:
                pass

    def check(self, name: str) -> None:
        """Raises SpecError when no broker identity exists for worker `name`."""
        try:
            check_agent_name(name)
        except ValueError as err:
            raise SpecError(str(err)) from None
        if self.known_agents is not None and name not in self.known_agents:
            raise SpecError(f"remote/{name}: the broker has no identity {name!r}; start the server with "
                            f"`arena serve --agent {name}` (known: {sorted(self.known_agents) or 'none'})")

    def agent_factory(self, turn_timeout: float) -> AgentFactory:
        """Builds remote agents with this turn timeout, every other spec through the registry."""
        from persona_arena.agents.registry import create_agent

        def make(spec: AgentSpec, seed: int) -> Agent:
            if spec.kind == "remote":
                self.check(spec.name)
                return RemoteAgent(spec, seed, self, turn_timeout)
            return create_agent(spec, seed)

        return make

    # -- requests --------------------------------------------------------------------------
    async def request(self, agent: RemoteAgent, observation: Observation) -> AgentResponse:
        request_id = uuid.uuid4().hex
        now = time.time()
        message = TurnRequest(id=request_id, agent_key=agent.key, seed=agent.seed, timeout=agent.timeout,
                              deadline=now + agent.timeout, observation=observation)
        future: asyncio.Future[TurnReply] = asyncio.get_running_loop().create_future()
        pending = _Request(agent, observation.player, observation.turn_number, now, future)
        self._pending[request_id] = pending
        try:
            # Waits through a broker outage; the runner's timeout cancels us if it lasts.
            await self.link.publish_until_sent(agent_topic(agent.name, "inbox"), dump(message), qos=QOS)
            reply = await future
        finally:
            del self._pending[request_id]
            answered = future.done() and not future.cancelled() and future.exception() is None
            self._remember(request_id, pending, "answered" if answered else "expired")
            if not future.done():
                future.cancel()
        if reply.error is not None:
            raise RemoteAgentError(f"worker {agent.name}: {reply.error}"[:500])
        if reply.text is None:
            raise RemoteAgentError(f"worker {agent.name} sent neither text nor error")
        return AgentResponse(reply.text, dict(reply.usage))

    async def release(self, agent: RemoteAgent) -> None:
        """Tells the worker the session is over (best effort: it also evicts idle agents)."""
        try:
            async with asyncio.timeout(2.0):
                await self.link.publish(agent_topic(agent.name, "inbox"), dump(CloseRequest(agent_key=agent.key)),
                                        qos=QOS)
        except Exception as err:
            log.info("remote.close_not_sent", agent=agent.name, error=str(err))

    def _remember(self, request_id: str, request: _Request, state: str) -> None:
        self._finished[request_id] = (request, state)
        while len(self._finished) > _REMEMBERED:
            self._finished.popitem(last=False)

    # -- replies ---------------------------------------------------------------------------
    def _on_message(self, message: aiomqtt.Message) -> None:
        topic = str(message.topic)
        sender = agent_name_of(topic)
        if sender is None:
            return
        if topic.endswith("/status"):
            self._on_status(sender, message.payload)
        elif topic.endswith("/outbox"):
            self._on_reply(sender, message.payload)

    def _on_status(self, sender: str, payload: Any) -> None:
        if not payload:  # a cleared retained message
            self.workers.pop(sender, None)
            return
        try:
            status = WorkerStatus.model_validate_json(payload)
        except ValidationError:
            log.warning("remote.bad_status", agent=sender)
            return
        if status.name != sender:
            log.warning("remote.status_name_mismatch", agent=sender, claimed=status.name)
            return
        self.workers[sender] = status
        self._status_seen.set()
        log.info("remote.status", agent=sender, state=status.state, spec=status.spec)

    def _on_reply(self, sender: str, payload: Any) -> None:
        received = time.time()
        try:
            data = json.loads(payload)
        except (ValueError, TypeError):
            data = None
        request_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(request_id, str):
            self._count("unreadable")
            log.warning("remote.unreadable_reply", agent=sender, excerpt=_excerpt(payload))
            return
        try:
            reply = TurnReply.model_validate(data)
        except ValidationError as err:
            reply = TurnReply(id=request_id, error=f"malformed reply: {err.errors()[0]['loc']}: "
                                                 f"{err.errors()[0]['msg']}")
        pending = self._pending.get(request_id)
        if pending is not None:
            if pending.agent.name != sender:
                self._stray(pending, reply, sender, "wrong_sender", received)
            elif pending.future.done():
                self._stray(pending, reply, sender, "duplicate", received)
            else:
                pending.future.set_result(reply)
            return
        finished = self._finished.get(request_id)
        if finished is None:
            self._count("unknown_id")
            log.warning("remote.unknown_reply", agent=sender, request=request_id)
            return
        request, state = finished
        reason = "wrong_sender" if request.agent.name != sender else ("late" if state == "expired" else "duplicate")
        self._stray(request, reply, sender, reason, received)

    def _count(self, reason: str) -> None:
        self.stray[reason] = self.stray.get(reason, 0) + 1

    def _stray(self, request: _Request, reply: TurnReply, sender: str, reason: str, received: float) -> None:
        self._count(reason)
        log.warning("remote.stray_reply", agent=sender, reason=reason, request=reply.id, player=request.player)
        request.agent.note(EventDraft(type="agent.stray_reply", visible_to=[], payload={
            "player": request.player, "agent": request.agent.spec.canonical(), "sender": sender,
            "request_id": reply.id, "turn_number": request.turn_number, "reason": reason,
            "seconds_after_request": round(received - request.sent_at, 3),
            "text": _excerpt(reply.text), "error": reply.error,
        }))


def _excerpt(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    return str(value)[:EXCERPT_CHARS]


# -- the active hub (what `agents.registry` uses for `remote/NAME`) -------------------------
_active: RemoteHub | None = None


def use_hub(hub: RemoteHub | None) -> None:
    global _active
    _active = hub


def active_hub() -> RemoteHub | None:
    return _active


def check_remote_spec(spec: AgentSpec) -> None:
    if _active is None:
        raise SpecError(f"{spec.model} is not available here: remote agents are played by `arena agent serve` "
                        "workers, in `arena tournament run` games or games submitted to `arena serve`")
    _active.check(spec.name)


def create_remote_agent(spec: AgentSpec, seed: int) -> RemoteAgent:
    check_remote_spec(spec)
    assert _active is not None
    return RemoteAgent(spec, seed, _active, _active.default_timeout)
