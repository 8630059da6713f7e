"""The response cache: a rerun makes no model calls and records the same event log."""

import pytest

from fake_openai import FakeOpenAI
from persona_arena.agents.cache import ResponseCache, use_cache
from persona_arena.agents.registry import create_agent
from persona_arena.agents.reliability import reset_limiters
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring
from persona_arena.server.runner import run_session
from persona_arena.server.store import Store


@pytest.fixture(autouse=True)
def fake_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    reset_limiters()
    yield
    use_cache(None)
    reset_limiters()


def comparable(events):
    return [e.model_dump(exclude={"ts", "run_id"}) for e in events]


async def play_twice(tmp_path, cached: bool):
    async with FakeOpenAI(seed=1) as server:
        spec = AgentSpec.parse(f"openai/fake-model;api_base={server.api_base}")
        config = ReverseTuringConfig(judge=spec, foils=[AgentSpec.parse("eliza"), AgentSpec.parse("scripted")],
                                     rounds=2)
        if cached:
            use_cache(ResponseCache(tmp_path / "cache.sqlite"))
        logs, calls = [], []
        for attempt in ("first", "second"):
            store = await Store.open(f"sqlite:///{tmp_path / attempt}.db")
            before = server.requests_served
            result = await run_session(ReverseTuring(), config, 3, store=store, run_id=attempt,
                                       agent_factory=create_agent)
            assert result.status == "finished"
            logs.append(await store.events(result.session_id))
            calls.append(server.requests_served - before)
            await store.close()
    return logs, calls


async def test_second_run_makes_no_model_calls_and_logs_the_same(tmp_path):
    (first, second), (calls_first, calls_second) = await play_twice(tmp_path, cached=True)
    assert calls_first > 0 and calls_second == 0
    assert comparable(first) == comparable(second)


async def test_without_the_cache_every_run_calls_the_model(tmp_path):
    _, (calls_first, calls_second) = await play_twice(tmp_path, cached=False)
    assert calls_first > 0 and calls_second == calls_first


def test_key_ignores_how_a_call_is_made_but_not_what_it_asks():
    base = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "seed": 1, "timeout": 5}
    assert ResponseCache.key(base) == ResponseCache.key({**base, "timeout": 60, "num_retries": 0})
    assert ResponseCache.key(base) != ResponseCache.key({**base, "seed": 2})
    assert ResponseCache.key(base) != ResponseCache.key({**base, "temperature": 0.3})


def test_log_likelihoods_are_kept_by_content(tmp_path):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    key = cache.content_key({"model": "m", "messages": [{"role": "user", "content": "hi"}], "reply": "hello"})
    assert key == cache.content_key({"reply": "hello", "messages": [{"role": "user", "content": "hi"}],
                                     "model": "m"})  # the order of the fields does not matter
    assert key != cache.content_key({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                                     "reply": "hello!"})
    assert cache.get_logprobs(key) is None
    values = [-0.1, -2.5e-7, -13.000000000000002]
    cache.put_logprobs(key, values)
    cache.close()
    assert ResponseCache(tmp_path / "cache.sqlite").get_logprobs(key) == values  # exactly, after reopening
