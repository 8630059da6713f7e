"""The litellm adapter against a fake OpenAI-compatible server on loopback, through the REAL
litellm path (no mock_response): structured replies, retries, timeouts, the adaptive limiter."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from fake_openai import FakeOpenAI, fake_server, sample_from_schema  # noqa: F401 (a fixture)
from persona_arena.agents.llm import AgentError, LLMAgent, json_object_problem, structured_mode
from persona_arena.agents.registry import create_agent
from persona_arena.agents.reliability import (
    AdaptiveLimiter, Attempts, CallFailed, ReliabilitySettings, call_with_retries, is_overload, is_retryable,
    limiter_for, reset_limiters, retry_after,
)
from persona_arena.core.observations import Message, Observation
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring, verdict_schema
from persona_arena.server.runner import run_session

NAMES = ["Alice", "Bob", "Carol"]


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    """Short backoff so that fault tests take milliseconds; fresh limiters per test."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ARENA_LLM_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("ARENA_LLM_BACKOFF_MAX", "0.05")
    monkeypatch.setenv("ARENA_LLM_TIMEOUT", "10")
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture
def server(fake_server):
    return fake_server


def spec(server: FakeOpenAI, model: str = "fake-model", provider: str = "openai", **settings) -> AgentSpec:
    extra = "".join(f";{k}={v}" for k, v in settings.items())
    return AgentSpec.parse(f"{provider}/{model};api_base={server.api_base}{extra}")


async def play(store, judge: AgentSpec, foils: list[AgentSpec], *, twin: AgentSpec | None = None,
               rounds: int = 1, seed: int = 0, turn_timeout: float = 30.0, run_id: str = "r"):
    config = ReverseTuringConfig(judge=judge, foils=foils, twin=twin, rounds=rounds)
    result = await run_session(ReverseTuring(), config, seed, store=store, run_id=run_id,
                               agent_factory=create_agent, turn_timeout=turn_timeout)
    events = await store.events(result.session_id)
    return result, events


def of_type(events, kind: str, player: str | None = None) -> list[dict]:
    return [e.payload for e in events if e.type == kind and (player is None or e.payload.get("player") == player)]


def observation(schema: dict | None = None, turn: str = "verdict") -> Observation:
    return Observation(game="reverse-turing", player="judge", role="judge", turn=turn, turn_number=0,
                       instructions="Find your twin.", messages=[Message(role="user", content="Your verdict?")],
                       reply_schema=schema)


# -- complete games ----------------------------------------------------------------------------
async def test_a_game_of_fake_models_with_tool_call_replies_ends_cleanly(store, server):
    judge = spec(server)
    result, events = await play(store, judge, [spec(server, "foil-a"), spec(server, "foil-b")], rounds=2)
    assert result.status == "finished" and result.outcome["result"] in ("correct", "wrong")
    assert result.outcome["violations"] == {}
    replies = of_type(events, "agent.reply")
    assert replies and all(r["failure"] is None for r in replies)
    for r in replies:
        assert set(r["usage"]) >= {"prompt_tokens", "completion_tokens", "cost_usd", "attempts"}
        assert r["usage"]["attempts"] == 1 and r["usage"]["prompt_tokens"] > 0 and r["usage"]["cost_usd"] == 0.0
    for r in of_type(events, "agent.reply", "judge"):
        assert isinstance(json.loads(r["text"]), dict)  # the tool call's arguments, verbatim
    # The judge's requests carry one forced `reply` tool whose parameters are the game's schema.
    judge_requests = [b for b in server.requests if b.get("tools")]
    assert len(judge_requests) == len(of_type(events, "agent.reply", "judge"))
    for body in judge_requests:
        assert [t["function"]["name"] for t in body["tools"]] == ["reply"]
        assert body["tool_choice"] == {"type": "function", "function": {"name": "reply"}}
        assert "response_format" not in body
    assert any("x-sum" in json.dumps(b["tools"]) for b in judge_requests)  # the verdict schema
    # Candidates answer in free text: no tools.
    assert sum(1 for b in server.requests if not b.get("tools")) == len(replies) - len(judge_requests)
    assert result.usage["attempts"] == len(replies) == server.requests_served


async def test_a_provider_without_function_calling_gets_the_schema_in_its_prompt(store, server):
    judge = spec(server, "text-judge", provider="hosted_vllm")
    assert structured_mode(judge) == "prompt"
    result, events = await play(store, judge, [spec(server, "foil-a")], twin=spec(server, "twin"))
    assert result.status == "finished" and result.outcome["result"] in ("correct", "wrong")
    assert result.outcome["violations"] == {}
    judge_requests = [b for b in server.requests if b["model"] == "text-judge"]
    assert judge_requests and not any(b.get("tools") or b.get("response_format") for b in judge_requests)
    assert all("JSON Schema" in b["messages"][0]["content"] for b in judge_requests)


async def test_a_reply_that_is_not_json_gets_one_repair_attempt(store, server):
    server.inject("garbage", 1, model="text-judge")
    judge = spec(server, "text-judge", provider="hosted_vllm")
    result, events = await play(store, judge, [spec(server, "foil-a")], twin=spec(server, "twin"))
    assert result.status == "finished" and result.outcome["violations"] == {}
    first = of_type(events, "agent.reply", "judge")[0]
    assert first["usage"]["attempts"] == 2 and json_object_problem(first["text"]) is None
    repair = [b for b in server.requests if b["model"] == "text-judge"][1]
    assert repair["messages"][-2]["role"] == "assistant" and "Sure!" in repair["messages"][-2]["content"]
    assert "not valid JSON" in repair["messages"][-1]["content"]


async def test_a_failed_repair_hands_the_bad_reply_to_the_game(store, server):
    server.inject("garbage", 2, model="text-judge")
    judge = spec(server, "text-judge", provider="hosted_vllm")
    result, events = await play(store, judge, [spec(server, "foil-a")], twin=spec(server, "twin"))
    assert result.status == "finished"
    first = of_type(events, "agent.reply", "judge")[0]
    assert first["usage"]["attempts"] == 2 and first["failure"] is None and "Sure!" in first["text"]
    kinds = [v["kind"] for v in of_type(events, "rule.violation", "judge")]
    assert kinds[0] == "not_json"  # the game, not the agent, judges the reply


async def test_a_tool_request_answered_in_text_uses_the_text(store, server):
    server.inject("text", 1, model="fake-model")
    result, events = await play(store, spec(server), [spec(server, "foil-a")])
    assert result.status == "finished" and result.outcome["violations"] == {}
    first = of_type(events, "agent.reply", "judge")[0]
    assert isinstance(json.loads(first["text"]), dict)


async def test_cost_comes_from_litellm_when_the_model_has_cost_data(store, server):
    result, events = await play(store, spec(server, "gpt-4o"), [spec(server, "foil-a")], twin=spec(server, "twin"))
    judge = of_type(events, "agent.reply", "judge")
    assert judge and all(r["usage"]["cost_usd"] > 0 for r in judge)
    assert all(r["usage"]["cost_usd"] == 0.0 for r in of_type(events, "agent.reply") if r["player"] != "judge")


# -- faults ------------------------------------------------------------------------------------
async def test_a_burst_of_429s_is_retried_and_visible_in_usage(store, server):
    server.inject("429", 3, model="fake-model")
    result, events = await play(store, spec(server), [spec(server, "foil-a")])
    assert result.status == "finished" and result.outcome["result"] in ("correct", "wrong")
    assert result.outcome["violations"] == {}
    first = of_type(events, "agent.reply", "judge")[0]
    assert first["failure"] is None and first["usage"]["attempts"] == 4
    assert server.outcomes["429"] == 3
    limiter = limiter_for(("openai", server.api_base))
    assert limiter.cuts == 3 and limiter.limit == int(int(int(64 * 0.75) * 0.75) * 0.75)  # each retry after a cut


async def test_persistent_500s_forfeit_turns_and_the_game_still_ends(store, server, monkeypatch):
    monkeypatch.setenv("ARENA_LLM_ATTEMPTS", "3")
    server.modes["broken"] = "500"
    result, events = await play(store, spec(server, "broken"), [spec(server, "foil-a")], twin=spec(server, "twin"))
    assert result.status == "finished" and result.outcome["result"] == "no-guess"
    failures = [r["failure"] for r in of_type(events, "agent.reply", "judge")]
    assert len(failures) == 4 and all("InternalServerError" in f and "after 3 attempts" in f for f in failures)
    kinds = [v["kind"] for v in of_type(events, "rule.violation", "judge")]
    assert kinds.count("agent_failure") == 4 and kinds.count("turn_forfeited") == 2
    assert server.by_model["broken"] == 4 * 3


async def test_a_bad_request_is_not_retried(server):
    agent = LLMAgent(AgentSpec.parse(f"openai/fake-model;api_base={server.api_base}/nowhere"), 0)
    with pytest.raises(AgentError, match="NotFound") as caught:
        await agent.act(observation())
    assert "attempts" not in str(caught.value)


async def test_a_candidate_that_always_fails_forfeits_its_answers(store, server):
    server.modes["broken"] = "503"
    result, events = await play(store, spec(server), [spec(server, "broken")], rounds=3, seed=1)
    assert result.status == "finished" and result.outcome["result"] in ("correct", "wrong")
    broken = next(p for p, s in result.players.items() if s.startswith("openai/broken"))
    answers = of_type(events, "agent.reply", broken)
    assert answers and all("ServiceUnavailableError" in a["failure"] for a in answers)
    assert [v["kind"] for v in of_type(events, "rule.violation", broken)] == ["agent_failure"] * len(answers)
    assert all(a["failure"] is None for a in of_type(events, "agent.reply", "judge"))


async def test_a_hang_past_the_turn_timeout_forfeits_the_turn(store, server):
    server.modes["slow"] = "hang"
    started = time.monotonic()
    result, events = await play(store, spec(server, "slow"), [spec(server, "foil-a")], twin=spec(server, "twin"),
                                turn_timeout=0.5)
    assert time.monotonic() - started < 10
    assert result.status == "finished" and result.outcome["result"] == "no-guess"
    failures = [r["failure"] for r in of_type(events, "agent.reply", "judge")]
    assert failures and all("timeout after 0.5s" in f for f in failures)
    assert "turn_forfeited" in [v["kind"] for v in of_type(events, "rule.violation", "judge")]


async def test_a_call_that_times_out_is_retried(server, monkeypatch):
    monkeypatch.setenv("ARENA_LLM_TIMEOUT", "0.5")
    server.inject("hang", 1)
    agent = LLMAgent(spec(server), 0)
    response = await agent.act(observation(verdict_schema(NAMES, True)))
    assert response.usage["attempts"] == 2 and isinstance(json.loads(response.text), dict)


async def test_truncated_json_is_a_rule_violation_and_the_game_ends(store, server):
    server.modes["cut"] = "truncated"
    result, events = await play(store, spec(server, "cut"), [spec(server, "foil-a")], twin=spec(server, "twin"))
    assert result.status == "finished" and result.outcome["result"] == "no-guess"
    kinds = [v["kind"] for v in of_type(events, "rule.violation", "judge")]
    assert kinds.count("not_json") == 4 and kinds.count("turn_forfeited") == 2
    assert all(r["failure"] is None for r in of_type(events, "agent.reply"))


async def test_many_concurrent_games_against_an_overloaded_server_all_finish(store):
    async with FakeOpenAI(max_in_flight=20, latency=0.3) as server:
        judge, foil = spec(server), spec(server, "foil-a")
        await store.ensure_run("load")  # Store.ensure_run is check-then-insert: not safe to race
        started = time.monotonic()
        results = await asyncio.gather(*(
            run_session(ReverseTuring(), ReverseTuringConfig(judge=judge, foils=[foil], rounds=1), seed,
                        store=store, run_id="load", agent_factory=create_agent, turn_timeout=60)
            for seed in range(40)))
        elapsed = time.monotonic() - started
    assert [r.status for r in results].count("finished") == 40
    assert all(r.outcome["result"] in ("correct", "wrong") for r in results)
    sessions = await store.sessions("load")
    assert len(sessions) == 40 and {s.status for s in sessions} == {"finished"}
    failures = 0
    for r in results:
        failures += sum(1 for p in of_type(await store.events(r.session_id), "agent.reply") if p["failure"])
    assert failures == 0
    limiter = limiter_for(("openai", server.api_base))
    assert server.outcomes["429"] > 0 and limiter.cuts >= 1 and limiter.limit <= 32
    assert elapsed < 30


# -- the structured-reply routes ---------------------------------------------------------------
def test_routes_for_structured_replies():
    assert structured_mode(AgentSpec.parse("openai/my-alias;api_base=http://127.0.0.1:1/v1")) == "tools"
    assert structured_mode(AgentSpec.parse("openai/gpt-4o")) == "tools"
    assert structured_mode(AgentSpec.parse("ollama/llama3")) == "prompt"
    assert structured_mode(AgentSpec.parse("local/qwen2.5-0.5b")) == "json_schema"


def test_local_models_keep_grammar_constrained_decoding():
    agent = LLMAgent(AgentSpec.parse("local/qwen2.5-0.5b"), 0)
    params = agent.params(observation(verdict_schema(NAMES, True)))
    assert params["response_format"]["json_schema"]["schema"]["properties"]["probabilities"]["x-sum"] == 1
    assert "tools" not in params and params["num_retries"] == 0 and agent.limiter is None


def test_json_object_problem_is_as_lenient_as_the_game():
    assert json_object_problem('{"a": 1}') is None
    assert json_object_problem('```json\n{"a": 1}\n```') is None
    assert json_object_problem('Here: {"a": 1} done') is None
    assert "object" in json_object_problem("[1, 2]")
    assert "not valid JSON" in json_object_problem('{"a": ')
    assert json_object_problem("  ") == "the reply is empty"


def test_fake_server_samples_schema_valid_json():
    verdict = sample_from_schema(verdict_schema(NAMES, True))
    assert set(verdict) == {"rationale", "probabilities", "guess"}
    assert abs(sum(verdict["probabilities"].values()) - 1) < 1e-9 and verdict["guess"] in NAMES
    assert sample_from_schema({"enum": ["x"]}) == "x"


# -- reliability -------------------------------------------------------------------------------
def test_the_limiter_halves_on_429_and_recovers_slowly():
    limiter = AdaptiveLimiter(64, increase_after=5)
    assert limiter.on_overload(limiter.epoch) and limiter.limit == 32
    stale = limiter.epoch - 1
    assert not limiter.on_overload(stale) and limiter.limit == 32  # same window: one cut
    limiter.on_overload(limiter.epoch)
    assert limiter.limit == 16
    for _ in range(4):
        limiter.on_success()
    assert limiter.limit == 16
    limiter.on_success()
    assert limiter.limit == 17
    for _ in range(5 * 100):
        limiter.on_success()
    assert limiter.limit == 64  # back to the maximum, never above
    for _ in range(10):
        limiter.on_overload()
    assert limiter.limit == 1  # never below the minimum


async def test_the_limiter_bounds_concurrency_and_survives_cancellation():
    limiter = AdaptiveLimiter(2)
    running = peak = 0

    async def work():
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    await asyncio.gather(*(limiter.run(work) for _ in range(10)))
    assert peak == 2 and limiter.in_flight == 0
    hold = asyncio.Event()
    holders = [asyncio.create_task(limiter.run(hold.wait)) for _ in range(2)]
    waiter = asyncio.create_task(limiter.run(work))
    await asyncio.sleep(0.01)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    hold.set()
    await asyncio.gather(*holders)
    assert limiter.in_flight == 0 and not limiter._waiters


class _Status(Exception):
    def __init__(self, status, headers=None):
        super().__init__(f"status {status}")
        self.status_code = status
        self.litellm_response_headers = headers


def test_which_errors_are_retried():
    assert is_retryable(_Status(429)) and is_overload(_Status(429))
    assert is_retryable(_Status(500)) and is_retryable(_Status(503)) and not is_overload(_Status(503))
    assert not is_retryable(_Status(400)) and not is_retryable(_Status(401))
    assert is_retryable(TimeoutError()) and is_retryable(ConnectionResetError())
    try:  # litellm reports its own bugs (here a missing optional module) as status 500
        try:
            raise ModuleNotFoundError("No module named 'mcp'")
        except ImportError as inner:
            raise _Status(500) from inner
    except _Status as err:
        assert not is_retryable(err)
    assert retry_after(_Status(429, {"retry-after": "2"})) == 2.0
    assert retry_after(_Status(429, {"retry-after-ms": "250"})) == 0.25


async def test_call_with_retries_counts_attempts_and_gives_up():
    settings = ReliabilitySettings(attempts=3, backoff_base=0.001, backoff_max=0.01)
    calls = Attempts()
    outcomes = [_Status(502), _Status(429), "ok"]

    async def flaky():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert await call_with_retries(flaky, settings=settings, attempts=calls) == "ok" and calls.count == 3

    async def down():
        raise _Status(500)

    with pytest.raises(CallFailed, match="after 3 attempts") as caught:
        await call_with_retries(down, settings=settings)
    assert caught.value.attempts == 3


def test_settings_come_from_the_environment():
    settings = ReliabilitySettings.from_env({"ARENA_LLM_ATTEMPTS": "2", "ARENA_LLM_TIMEOUT": "1.5",
                                             "ARENA_LLM_MAX_CONCURRENCY": "8"})
    assert (settings.attempts, settings.timeout, settings.max_concurrency) == (2, 1.5, 8)
    assert ReliabilitySettings.from_env({}) == ReliabilitySettings()
    with pytest.raises(ValueError, match="ARENA_LLM_ATTEMPTS"):
        ReliabilitySettings.from_env({"ARENA_LLM_ATTEMPTS": "many"})
    with pytest.raises(ValueError, match="attempts"):
        ReliabilitySettings.from_env({"ARENA_LLM_ATTEMPTS": "0"})
