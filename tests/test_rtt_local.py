"""Reverse-turing research features on the real local models (llama.cpp): the likelihood
oracle and every variant. Slow: minutes on 2 cores; runs in CI."""

import json
import math
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from persona_arena.agents.registry import create_agent
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring
from persona_arena.scoring.likelihood_oracle import LOGIT_CHUNK, score_run, token_logprobs
from persona_arena.scoring.report import SessionInfo, report_for_run
from persona_arena.server.runner import run_session

pytestmark = pytest.mark.slow

GEMMA = AgentSpec.parse("local/gemma-3-270m;temperature=0.7;max_tokens=120")
QWEN = AgentSpec.parse("local/qwen2.5-0.5b;temperature=0.7;max_tokens=120")
SCRIPTED = AgentSpec(model="scripted")
MESSAGES = [{"role": "system", "content": "You are talking with an interviewer."},
            {"role": "user", "content": "Where do you live?"}]


def test_oracle_log_likelihoods_match_a_full_logits_reference():
    """The chunked decoding on the shared instance gives what a `logits_all` model gives."""
    from llama_cpp import Llama

    from persona_arena.agents.local.models import model_path, resolve
    from persona_arena.agents.local.runtime import transcript_prompt

    reply = "I live in a small town by the sea, with my two cats and a garden full of tomatoes. " * 2
    ours = token_logprobs("gemma-3-270m", MESSAGES, reply)
    assert len(ours) > 32  # more than one chunk
    gemma = resolve("gemma-3-270m")
    reference = Llama(model_path=str(model_path(gemma)), n_ctx=gemma.n_ctx, logits_all=True, verbose=False)
    try:
        prompt = reference.tokenize(transcript_prompt(MESSAGES)[0].encode(), add_bos=True, special=True)
        tokens = reference.tokenize((" " + reply).encode(), add_bos=False, special=False)
        # The same batch shapes as the oracle: llama.cpp's quantized kernels round differently
        # for other batch sizes (differences of ~0.1 nat), which is not what is checked here.
        reference.eval(prompt[:-1])
        inputs = [prompt[-1], *tokens[:-1]]
        for start in range(0, len(inputs), LOGIT_CHUNK):
            reference.eval(inputs[start:start + LOGIT_CHUNK])
        scores = reference.scores[: len(prompt) + len(tokens)].astype(np.float64)
        expected = []
        for k, token in enumerate(tokens):
            row = scores[len(prompt) + k - 1]
            expected.append(row[token] - (row.max() + math.log(np.exp(row - row.max()).sum())))
    finally:
        reference.close()
    assert ours == pytest.approx(expected, abs=2e-3)


def test_oracle_log_likelihoods_come_from_the_cache_the_second_time(tmp_path, monkeypatch):
    from persona_arena.agents.cache import ResponseCache, use_cache
    from persona_arena.scoring import likelihood_oracle

    use_cache(ResponseCache(tmp_path / "llm-cache.sqlite"))
    try:
        first = token_logprobs("gemma-3-270m", MESSAGES, "By the sea.")
        monkeypatch.setattr(likelihood_oracle, "_token_logprobs", None)  # the model is not asked again
        assert token_logprobs("gemma-3-270m", MESSAGES, "By the sea.") == first
        with pytest.raises(TypeError):  # another reply is not in the cache
            token_logprobs("gemma-3-270m", MESSAGES, "By the river.")
    finally:
        use_cache(None)


def test_a_fluent_reply_is_more_likely_than_its_words_shuffled():
    for model in ("gemma-3-270m", "qwen2.5-0.5b"):
        fluent = token_logprobs(model, MESSAGES, "I live in Paris, near the river.")
        shuffled = token_logprobs(model, MESSAGES, "river. Paris, the in live near I")
        assert sum(fluent) / len(fluent) > sum(shuffled) / len(shuffled) + 1


async def test_oracle_runs_on_local_games_and_appears_in_the_report(store, tmp_path):
    infos = []
    for seed in (0, 1):
        config = ReverseTuringConfig(judge=GEMMA, foils=[QWEN, SCRIPTED], rounds=1)
        result = await run_session(ReverseTuring(), config, seed, store=store, run_id="oracle",
                                   agent_factory=create_agent, turn_timeout=300)
        assert result.status == "finished", result.error
        infos.append(SessionInfo(result.session_id, "finished", None, await store.events(result.session_id)))
    picks = score_run({i.id: i.events for i in infos})
    for info in infos:
        pick = picks[info.id]
        setup = info.events[0].payload
        heard = {e.payload["nickname"] for e in info.events if e.type == "candidate.reply"
                 and e.payload["text"] != "(no reply)"}
        assert set(pick["scores"]) == heard
        assert all(s["mean_logprob"] < 0 and s["tokens"] > 0 for s in pick["scores"].values())
        best = max(pick["scores"], key=lambda n: pick["scores"][n]["mean_logprob"])
        assert pick["pick"] == best and best in {c["nickname"] for c in setup["candidates"]}
    report = report_for_run("oracle", {}, infos, oracle=picks)
    block = report["oracle"]["by_judge"]["gemma-3-270m"]
    assert block["oracle"]["games"] == 2 == block["verbal"]["games"]
    twins = {i.id: i.events[0].payload["twin"] for i in infos}
    assert block["oracle"]["correct"] == sum(picks[s]["pick"] == t for s, t in twins.items())
    assert block["verbal"]["correct"] == report["by_judge"]["gemma-3-270m"]["correct"]
    assert block["introspection_gap"] == pytest.approx(block["oracle"]["accuracy"] - block["verbal"]["accuracy"])
    assert block["gap_ci95"][0] <= block["introspection_gap"] <= block["gap_ci95"][1]


def test_report_oracle_flag_on_the_command_line(tmp_path):
    def arena(*args):
        return subprocess.run([sys.executable, "-m", "persona_arena", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=900)
    played = arena("play", "reverse-turing", "--judge", GEMMA.canonical(), "--candidate", "scripted",
                   "--rounds", "1", "--seed", "2", "--run", "cli-oracle", "--turn-timeout", "300")
    assert played.returncode == 0, played.stderr
    report = json.loads(arena("report", "cli-oracle", "--json", "--oracle").stdout)
    assert report["oracle"]["scored_games"] == 1
    assert "gemma-3-270m" in report["oracle"]["by_judge"]
    # the log-likelihoods are kept in transcripts/llm-cache.sqlite: the next report reads them back
    with sqlite3.connect(tmp_path / "transcripts" / "llm-cache.sqlite") as cache:
        (cached,) = cache.execute("SELECT COUNT(*) FROM logprobs").fetchone()
    assert cached >= 1
    again = json.loads(arena("report", "cli-oracle", "--json", "--oracle").stdout)
    assert again["oracle"] == report["oracle"]
    assert "likelihood oracle" in arena("report", "cli-oracle", "--oracle", "--no-cache").stdout


async def test_every_variant_runs_with_local_agents(store):
    """One game with every variant on: a local judge introduces itself (free text), is primed
    with a history, and talks in a group chat to local candidates told to hide, among them
    partial twins; replies are released on a common schedule."""
    history = [{"role": "user", "content": "Tell me about your day."},
               {"role": "assistant", "content": "I read a book about lighthouses and made soup."}]
    config = ReverseTuringConfig(
        judge=GEMMA, foils=[QWEN], rounds=1, group_chat=True, informed_candidates=True, adversarial_hiding=True,
        partial_twins=[{"kind": "weights", "system_prompt": "You are Bob, a cheerful baker."}],
        primed_judge={"messages": history, "source": QWEN.canonical()}, equalize_latency=0.5)
    seen = []

    def factory(spec, seed):
        agent = create_agent(spec, seed)
        act = agent.act

        async def recording(observation):
            seen.append(observation)
            return await act(observation)
        agent.act = recording
        return agent

    result = await run_session(ReverseTuring(), config, 3, store=store, run_id="variants", agent_factory=factory,
                               turn_timeout=300)
    assert result.status == "finished", result.error
    events = await store.events(result.session_id)
    replies = [e.payload for e in events if e.type == "agent.reply"]
    assert all(r["failure"] is None for r in replies), [r["failure"] for r in replies]
    assert all(r["released_after_s"] >= r["raw_latency_s"] for r in replies)
    intro = next(e.payload["text"] for e in events if e.type == "judge.introduction")
    assert intro and intro != "(no reply)"
    kinds = {c["kind"] for c in events[0].payload["candidates"]}
    assert kinds == {"exact", "weights", "context"}
    candidates = [o for o in seen if o.role == "candidate"]
    assert candidates and all(intro in o.instructions and "do not let it pick you" in o.instructions
                              for o in candidates)
    judge_first = next(o for o in seen if o.role == "judge")
    assert judge_first.turn == "introduce" and judge_first.messages[1].content == history[1]["content"]
    assert result.outcome["guess_kind"] in (None, "exact", "weights", "context")
