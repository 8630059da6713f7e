"""The LLM-judge backend: reply parsing, span location, the rubric, a judge behind a fake
OpenAI-compatible server (the network edge), and the real local Qwen (slow)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fake_openai import fake_server  # noqa: F401 (a fixture)
from persona_arena.agents.cache import ResponseCache, use_cache
from persona_arena.agents.reliability import reset_limiters
from persona_arena.core.specs import AgentSpec
from persona_arena.scoring.tagger_llm import (
    CONFIDENCE_EXACT, CONFIDENCE_FUZZY, CONFIDENCE_UNLOCATED, JudgeStats, LLMJudgeTagger, locate, observation,
    parse_reply, rubric,
)
from persona_arena.scoring.taxonomy import FAMILIES, families_for

GOLD = Path(__file__).parent / "data" / "gold_tags.jsonl"
TEXT = "Honestly, I'm an AI language model. I don't have feelings."


@pytest.fixture(autouse=True)
def quick_and_isolated(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ARENA_LLM_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("ARENA_LLM_TIMEOUT", "10")
    reset_limiters()
    yield
    use_cache(None)
    reset_limiters()


def test_evidence_is_located_exactly_loosely_fuzzily_or_not_at_all():
    assert locate(TEXT, "I'm an AI language model") == (10, 34, CONFIDENCE_EXACT)
    assert locate(TEXT, '"i\'m   an AI language model"') == (10, 34, CONFIDENCE_EXACT)
    start, end, confidence = locate(TEXT, "I am an AI language model")
    assert confidence == CONFIDENCE_FUZZY and TEXT[start:end].endswith("an AI language model")
    assert locate(TEXT, "something else entirely") == (0, len(TEXT), CONFIDENCE_UNLOCATED)


@pytest.mark.parametrize("reply, tags, failures", [
    ('{"tags": [{"label": "claim:ai", "evidence": "I\'m an AI language model"}]}', ["claim:ai"], 0),
    ('```json\n{"tags": []}\n```', [], 0),
    ('{"tags": [{"label": "claim:ai", "evidence": "AI"}, {"label": "claim:ai", "evidence": "x"}]}', ["claim:ai"], 0),
    ('{"tags": [{"label": "tactic:threat", "evidence": "x"}]}', [], 0),  # not of this family: dropped
    ("I think it's claim:ai", [], 1),
    ('{"labels": ["claim:ai"]}', [], 1),
    ('{"tags": ["claim:ai"]}', [], 1),
    ("", [], 1),
])
def test_malformed_judge_replies_are_counted_never_raised(reply, tags, failures):
    stats = JudgeStats()
    assert [t.label for t in parse_reply("self-concept", TEXT, reply, stats)] == tags
    assert stats.failures == failures


def test_the_judge_sees_the_rubric_and_the_utterance_only():
    obs = observation("self-concept", "I'm Qwen.")
    assert [m.content for m in obs.messages] == ["Utterance:\n<<<\nI'm Qwen.\n>>>"]
    for word in ("monitored", "unmonitored", "twin", "foil", "scratchpad", "hidden"):
        assert word not in obs.instructions.lower()
    assert all(label in rubric("boundary") for label in FAMILIES["boundary"])
    assert "tactic" not in rubric("self-concept").lower()  # tactic rules stay in the tactic rubric
    item = obs.reply_schema["properties"]["tags"]["items"]
    assert item["properties"]["label"]["enum"] == list(FAMILIES["self-concept"])


async def test_a_judge_over_an_openai_compatible_server_is_cached(fake_server, tmp_path):  # noqa: F811
    spec = AgentSpec.parse(f"openai/fake-judge;api_base={fake_server.api_base}")
    items = [(TEXT, families_for("candidate.reply")), ("This is my final offer.", families_for("party.message"))]
    use_cache(ResponseCache(tmp_path / "cache.sqlite"))
    first = LLMJudgeTagger(spec)
    tags = await first.tag_many(items)
    served = fake_server.requests_served
    assert served == first.stats.calls == 2 + 3  # one call per family in scope
    assert first.backend == spec.canonical() and first.judge_spec.temperature == 0.0
    for (text, families), found in zip(items, tags):
        for t in found:
            assert t.label in {label for family in families for label in FAMILIES[family]}
            assert 0 <= t.start <= t.end <= len(text)
    again = await LLMJudgeTagger(spec).tag_many(items)
    assert fake_server.requests_served == served and again == tags  # every reply came from the cache


async def test_a_failing_judge_yields_no_tags_and_a_count(fake_server):  # noqa: F811
    fake_server.default_mode = "garbage"
    tagger = LLMJudgeTagger(AgentSpec.parse(f"openai/fake-judge;api_base={fake_server.api_base}"))
    assert await tagger.tag_many([(TEXT, families_for("candidate.reply"))]) == [[]]
    assert tagger.stats.failures == tagger.stats.calls == 2


@pytest.mark.slow
def test_local_qwen_judges_a_gold_sample_and_its_kappa_with_rules_is_reported(tmp_path):
    args = [sys.executable, "-m", "persona_arena", "score", "--evaluate", str(GOLD), "--sample", "4",
            "--backend", "local/qwen2.5-0.5b", "--compare", "rules", "--json", "--out", str(tmp_path)]
    first = subprocess.run(args, capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["backend"] == "local/qwen2.5-0.5b" and result["n"] == 4
    assert result["judge"]["calls"] >= 8  # at least two families per utterance
    agreement = result["other"]["agreement"]
    assert agreement["kappa"] is None or -1.0 <= agreement["kappa"] <= 1.0
    assert (tmp_path / "llm-cache.sqlite").is_file()
    second = subprocess.run(args, capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert json.loads(second.stdout)["vs_gold"] == result["vs_gold"]  # replayed from the cache
