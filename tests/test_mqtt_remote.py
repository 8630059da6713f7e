"""The `remote/NAME` agent's contract with a worker, against a hand-written worker that
misbehaves on purpose (duplicate, late, malformed and forged replies), on the embedded broker."""

from __future__ import annotations

import asyncio
import json
import time

import aiomqtt
import pytest
from mqtt_support import PatientJudge, amqtt_broker, credentials  # noqa: F401 (fixtures)

from persona_arena.agents.base import AgentResponse
from persona_arena.agents.remote import RemoteHub, active_hub, use_hub
from persona_arena.agents.registry import check_spec, create_agent
from persona_arena.agents.worker import AgentWorker
from persona_arena.core.specs import AgentSpec, SpecError
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring
from persona_arena.server.protocol import TurnRequest, agent_topic
from persona_arena.server.runner import run_session

CONFIG = ReverseTuringConfig(judge=AgentSpec.parse("scripted"), twin=AgentSpec.parse("remote/alpha"),
                             foils=[AgentSpec.parse("remote/beta")], rounds=4)
TIMEOUT = 1.5


class Misbehaving:
    """Plays worker `beta` by hand: turn 0 answered twice, turn 1 after its deadline, turn 2
    with a malformed body, turn 3 properly but only after a forged reply from `alpha`."""

    def __init__(self, url, creds) -> None:
        self.url, self.creds = url, creds
        self.requests: list[TurnRequest] = []

    async def run(self, ready: asyncio.Event) -> None:
        async with aiomqtt.Client(self.url.host, self.url.port, username="beta",
                                  password=self.creds.users["beta"].password) as beta, \
                aiomqtt.Client(self.url.host, self.url.port, username="alpha",
                               password=self.creds.users["alpha"].password, identifier="forger") as forger:
            await beta.subscribe(agent_topic("beta", "inbox"), qos=1)
            ready.set()
            outbox = agent_topic("beta", "outbox")
            async for message in beta.messages:
                data = json.loads(message.payload)
                if data["type"] != "turn":
                    continue
                request = TurnRequest.model_validate(data)
                self.requests.append(request)
                turn = request.observation.turn_number
                if turn == 0:
                    for text in ("first answer", "second answer"):
                        await beta.publish(outbox, json.dumps({"id": request.id, "text": text}), qos=1)
                elif turn == 1:
                    await asyncio.sleep(request.deadline - time.time() + 0.3)
                    await beta.publish(outbox, json.dumps({"id": request.id, "text": "too late"}), qos=1)
                elif turn == 2:
                    await beta.publish(outbox, json.dumps({"id": request.id, "text": 42}), qos=1)
                    await beta.publish(outbox, b"{not json", qos=1)
                    await beta.publish(outbox, json.dumps({"id": "no-such-request", "text": "?"}), qos=1)
                else:
                    await forger.publish(agent_topic("alpha", "outbox"),
                                         json.dumps({"id": request.id, "text": "forged by alpha"}), qos=1)
                    await asyncio.sleep(0.2)
                    await beta.publish(outbox, json.dumps({"id": request.id, "text": "the real answer"}), qos=1)


async def test_duplicate_late_malformed_and_forged_replies(amqtt_broker, credentials, store):
    url = amqtt_broker.url
    hub = RemoteHub(url, credentials.login("admin"), known_agents=credentials.agents)
    await hub.start(wait=10)
    alpha = AgentWorker(AgentSpec.parse("scripted"), "alpha", url, credentials.login("alpha"))
    stop, ready = asyncio.Event(), asyncio.Event()
    beta = Misbehaving(url, credentials)
    tasks = [asyncio.create_task(alpha.run(stop)), asyncio.create_task(beta.run(ready))]
    try:
        await asyncio.wait_for(ready.wait(), 10)
        assert await hub.wait_online(["alpha"], 10) == []
        remote = hub.agent_factory(TIMEOUT)
        result = await run_session(
            ReverseTuring(), CONFIG, 3, store=store, run_id="remote", session_id="misbehaving",
            agent_factory=lambda spec, seed: PatientJudge(spec) if spec.kind == "scripted" else remote(spec, seed),
            turn_timeout=TIMEOUT)
    finally:
        stop.set()
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await hub.stop()
    assert result.status == "finished"
    events = await store.events("misbehaving")
    setup = next(e for e in events if e.type == "game.setup")
    beta_player = next(c["player"] for c in setup.payload["candidates"] if c["agent"] == "remote/beta")
    beta_replies = [e.payload for e in events if e.type == "agent.reply" and e.payload["player"] == beta_player]
    assert [r["text"] for r in beta_replies] == ["first answer", None, None, "the real answer"]
    assert beta_replies[1]["failure"] == f"timeout after {TIMEOUT:g}s"
    assert "malformed reply" in beta_replies[2]["failure"] and "text" in beta_replies[2]["failure"]
    violations = [e.payload for e in events if e.type == "rule.violation" and e.payload["player"] == beta_player]
    assert [v["kind"] for v in violations] == ["agent_failure", "agent_failure"]
    stray = [e for e in events if e.type == "agent.stray_reply"]
    assert all(e.visible_to == [] for e in stray)  # god view only
    by_reason = {e.payload["reason"]: e.payload for e in stray}
    assert sorted(by_reason) == ["duplicate", "late", "wrong_sender"]
    assert by_reason["duplicate"]["text"] == "second answer"
    assert by_reason["late"]["text"] == "too late" and by_reason["late"]["seconds_after_request"] > TIMEOUT
    assert by_reason["wrong_sender"]["sender"] == "alpha"
    assert {e.payload["request_id"] for e in stray} <= {r.id for r in beta.requests}
    assert hub.stray["unreadable"] == 1 and hub.stray["unknown_id"] == 1
    assert [e.seq for e in events] == list(range(len(events)))


async def test_worker_answers_with_the_sessions_seed_like_an_in_process_agent(amqtt_broker, credentials):
    """A scripted agent behind a worker replies exactly as the same agent in-process."""
    url = amqtt_broker.url
    hub = RemoteHub(url, credentials.login("admin"), known_agents=credentials.agents)
    await hub.start(wait=10)
    stop = asyncio.Event()
    worker = AgentWorker(AgentSpec.parse("scripted"), "alpha", url, credentials.login("alpha"))
    task = asyncio.create_task(worker.run(stop))
    try:
        assert await hub.wait_online(["alpha"], 10) == []
        start = ReverseTuring().setup(CONFIG, 5)
        observation = ReverseTuring().next_turn(start.state)
        remote = hub.agent_factory(10)(AgentSpec.parse("remote/alpha"), 5)
        local = create_agent(AgentSpec.parse("scripted"), 5)
        assert (await remote.act(observation)).text == (await local.act(observation)).text
        await remote.close()
        await asyncio.sleep(0)  # the close request is on its way; the worker drops the agent
    finally:
        stop.set()
        await task
        await hub.stop()
    assert worker.answered == 1


async def test_remote_specs_need_a_running_server(amqtt_broker, credentials):
    assert active_hub() is None
    with pytest.raises(SpecError, match="not available here"):
        check_spec(AgentSpec.parse("remote/alpha"))
    hub = RemoteHub(amqtt_broker.url, credentials.login("admin"), known_agents=credentials.agents)
    use_hub(hub)
    try:
        check_spec(AgentSpec.parse("remote/alpha"))
        with pytest.raises(SpecError, match="no identity 'gamma'"):
            check_spec(AgentSpec.parse("remote/gamma"))
        with pytest.raises(SpecError, match="reserved"):
            check_spec(AgentSpec.parse("remote/admin"))
        agent = create_agent(AgentSpec.parse("remote/alpha"), 1)
        assert agent.hub is hub and agent.timeout == hub.default_timeout
    finally:
        use_hub(None)


async def test_an_agent_error_on_the_worker_fails_the_turn_not_the_game(amqtt_broker, credentials, store):
    class Broken:
        def __init__(self, spec, seed) -> None:
            self.spec = spec

        async def act(self, observation) -> AgentResponse:
            raise RuntimeError("the GPU caught fire")

        async def close(self) -> None:
            return None

    url = amqtt_broker.url
    hub = RemoteHub(url, credentials.login("admin"), known_agents=credentials.agents)
    await hub.start(wait=10)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(AgentWorker(AgentSpec.parse("scripted"), name, url, credentials.login(name),
                                             agent_factory=Broken).run(stop)) for name in ("alpha", "beta")]
    try:
        assert await hub.wait_online(["alpha", "beta"], 10) == []
        remote = hub.agent_factory(10)
        config = CONFIG.model_copy(update={"rounds": 1})
        result = await run_session(
            ReverseTuring(), config, 3, store=store, run_id="remote", session_id="broken",
            agent_factory=lambda spec, seed: PatientJudge(spec) if spec.kind == "scripted" else remote(spec, seed))
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await hub.stop()
    assert result.status == "finished"
    replies = [e.payload for e in await store.events("broken")
               if e.type == "agent.reply" and e.payload["player"] != "judge"]
    assert len(replies) == 2
    assert all(r["failure"].startswith("RemoteAgentError: worker ") and "the GPU caught fire" in r["failure"]
               for r in replies)
