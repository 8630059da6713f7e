"""`arena agent serve SPEC --name NAME`: a remote worker that holds one agent spec (a local
model, an API model, ELIZA, a person at this terminal…) and answers the turns sent to its inbox.

In a game submitted to `arena serve`, such a worker plays every player named `remote/NAME`.
The worker keeps one agent per player of each session (the request's `agent_key`), seeded
with the session's seed, so seeded agents replay exactly as they would in-process. A request
whose deadline has passed is skipped (the server has already forfeited that turn); a request
it cannot read gets an error reply when it carries an id, and is logged otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable

import aiomqtt
import structlog
from pydantic import ValidationError

from persona_arena.agents.base import Agent
from persona_arena.core.specs import AgentSpec
from persona_arena.server.mqtt import BrokerUrl, Login, MqttLink
from persona_arena.server.protocol import (
    QOS, CloseRequest, TurnReply, TurnRequest, WorkerStatus, agent_topic, check_agent_name, dump,
)

log = structlog.get_logger(__name__)

MAX_AGENTS = 256  # players kept at once; the least recently used is closed beyond that


class AgentWorker:
    def __init__(self, spec: AgentSpec, name: str, url: BrokerUrl, login: Login, *,
                 agent_factory: Callable[[AgentSpec, int], Agent] | None = None,
                 max_agents: int = MAX_AGENTS) -> None:
        if agent_factory is None:
            from persona_arena.agents.registry import create_agent as agent_factory
        self.spec, self.name = spec, check_agent_name(name)
        self.agent_factory, self.max_agents = agent_factory, max_agents
        self.inbox, self.outbox = agent_topic(name, "inbox"), agent_topic(name, "outbox")
        self.status_topic = agent_topic(name, "status")
        offline = WorkerStatus(name=name, state="offline", spec=spec.canonical())
        # A persistent session: requests sent while we reconnect are delivered afterwards.
        self.link = MqttLink(url, login, client_id=f"arena-agent-{name}", clean_session=False,
                             subscriptions=[(self.inbox, QOS)], on_message=self._on_message,
                             on_connect=self._announce,
                             will=aiomqtt.Will(self.status_topic, dump(offline), qos=QOS, retain=True))
        self.answered = self.skipped = self.unreadable = 0
        self._agents: OrderedDict[str, Agent] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event, *, connect_timeout: float = 30.0) -> None:
        """Serves until `stop` is set. Raises BrokerRefused / TimeoutError if the first
        connection fails (bad credentials, no broker)."""
        await self.link.start(wait=connect_timeout)
        try:
            await stop.wait()
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.link.connected.is_set():
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self.link.publish(self.status_topic, dump(self._status("offline")), qos=QOS, retain=True)
        await self.link.stop()
        for agent in self._agents.values():
            with contextlib.suppress(Exception):
                await agent.close()
        self._agents.clear()

    def _status(self, state: str) -> WorkerStatus:
        return WorkerStatus(name=self.name, state=state, spec=self.spec.canonical())  # type: ignore[arg-type]

    async def _announce(self, link: MqttLink) -> None:
        await link.publish(self.status_topic, dump(self._status("online")), qos=QOS, retain=True)
        log.info("worker.online", name=self.name, spec=self.spec.canonical(), broker=str(link.url))

    # -- requests --------------------------------------------------------------------------
    def _on_message(self, message: aiomqtt.Message) -> None:
        payload = message.payload
        try:
            data = json.loads(payload)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            data = None
        kind = data.get("type") if isinstance(data, dict) else None
        try:
            if kind == "turn":
                self._spawn(self._answer(TurnRequest.model_validate(data)))
                return
            if kind == "close":
                self._spawn(self._close(CloseRequest.model_validate(data).agent_key))
                return
            raise ValueError(f"unknown request type {kind!r}")
        except (ValidationError, ValueError) as err:
            self.unreadable += 1
            request_id = data.get("id") if isinstance(data, dict) else None
            log.warning("worker.unreadable_request", error=str(err)[:300])
            if isinstance(request_id, str):
                reply = TurnReply(id=request_id, error=f"malformed request: {str(err)[:300]}")
                self._spawn(self.link.publish_until_sent(self.outbox, dump(reply), qos=QOS))

    def _spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _agent(self, request: TurnRequest) -> Agent:
        agent = self._agents.get(request.agent_key)
        if agent is None:
            agent = self.agent_factory(self.spec, request.seed)
            self._agents[request.agent_key] = agent
            while len(self._agents) > self.max_agents:
                _, evicted = self._agents.popitem(last=False)
                self._spawn(evicted.close())
        self._agents.move_to_end(request.agent_key)
        return agent

    async def _answer(self, request: TurnRequest) -> None:
        remaining = request.deadline - time.time()
        if remaining <= 0:
            self.skipped += 1
            log.info("worker.skipped_expired", request=request.id, late_by=round(-remaining, 3))
            return
        try:
            agent = self._agent(request)
            response = await asyncio.wait_for(agent.act(request.observation), remaining)
            reply = TurnReply(id=request.id, text=response.text, usage=response.usage)
        except TimeoutError:
            # The server stopped waiting at the same moment: an answer now would be late.
            self.skipped += 1
            log.info("worker.turn_timed_out", request=request.id)
            return
        except Exception as err:  # the agent failed: the server records it as a failed turn
            reply = TurnReply(id=request.id, error=f"{type(err).__name__}: {err}"[:500])
        await self.link.publish_until_sent(self.outbox, dump(reply), qos=QOS)
        self.answered += 1

    async def _close(self, agent_key: str) -> None:
        agent = self._agents.pop(agent_key, None)
        if agent is not None:
            await agent.close()
