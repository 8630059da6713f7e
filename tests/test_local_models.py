"""Real games on the real local models (llama.cpp). Slow: minutes on 2 cores; runs in CI."""

import dataclasses
import subprocess
import sys

import pytest
from helpers import ListAgent

from persona_arena.agents.local import models
from persona_arena.agents.registry import create_agent
from persona_arena.core.specs import AgentSpec
from persona_arena.games.reverse_turing.config import ReverseTuringConfig
from persona_arena.games.reverse_turing.game import ReverseTuring
from persona_arena.server.runner import run_session

pytestmark = pytest.mark.slow

from persona_arena.commands.tournament import QUICKSTART
from persona_arena.server.tournament import load_tournament

QUICKSTART_FILE = load_tournament(QUICKSTART)
QWEN, GEMMA = QUICKSTART_FILE.agent("qwen").spec(), QUICKSTART_FILE.agent("gemma").spec()  # as the demo plays


async def test_qwen_judges_a_real_game_with_gemma_among_the_candidates(store):
    config = ReverseTuringConfig(judge=QWEN, foils=[GEMMA, AgentSpec(model="scripted")], rounds=2)
    result = await run_session(ReverseTuring(), config, 1, store=store, run_id="real", turn_timeout=300,
                               agent_factory=create_agent)
    assert result.status == "finished", result.error
    assert result.outcome["result"] in ("correct", "wrong", "no-guess")
    events = await store.events(result.session_id)
    replies = [e.payload for e in events if e.type == "agent.reply"]
    models_heard = {result.players[r["player"]].split(";")[0] for r in replies}
    # The judge chooses whom to ask, so not every candidate need have spoken.
    assert "local/qwen2.5-0.5b" in models_heard and len(models_heard) >= 2
    assert any(spec.startswith("local/gemma-3-270m") for spec in result.players.values())
    assert all(r["failure"] is None for r in replies), [r["failure"] for r in replies if r["failure"]]
    assert all(r["text"].strip() for r in replies if r["player"] != "judge")
    assert result.usage["completion_tokens"] > 0
    # Grammar-constrained decoding: the judge's JSON parses, so at least one verdict is its own.
    verdicts = [e.payload for e in events if e.type == "judge.verdict"]
    assert verdicts and any(not v["defaulted"] for v in verdicts)
    kinds = {e.payload["kind"] for e in events if e.type == "rule.violation"}
    assert not kinds & {"not_json", "agent_failure", "turn_forfeited"}


async def test_gemma_base_model_judges_with_grammar_constrained_json(store):
    config = ReverseTuringConfig(judge=GEMMA, foils=[AgentSpec(model="scripted")], rounds=1)
    result = await run_session(ReverseTuring(), config, 2, store=store, run_id="real", turn_timeout=300,
                               agent_factory=create_agent)
    assert result.status == "finished" and result.outcome["result"] in ("correct", "wrong")
    events = await store.events(result.session_id)
    judge_texts = [e.payload["text"] for e in events if e.type == "agent.reply" and e.payload["player"] == "judge"]
    assert judge_texts and all(t.lstrip().startswith("{") for t in judge_texts)


def test_a_model_file_with_the_wrong_checksum_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_MODEL_CACHE", str(tmp_path))
    gemma = models.LOCAL_MODELS["gemma-3-270m"]
    tampered = dataclasses.replace(gemma, sha256="0" * 64)
    with pytest.raises(models.ModelUnavailable, match="refusing"):
        models.model_path(tampered)
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left behind
    # The real checksum assembles and verifies, and a corrupted copy is rebuilt.
    path = models.model_path(gemma)
    with path.open("r+b") as f:
        f.seek(1000)
        f.write(b"corrupt")
    assert models.model_path(gemma) == path
    assert models._sha256(path) == gemma.sha256


def test_demo_command_runs_on_local_models(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "persona_arena", "demo", "--seeds", "1", "--rounds", "1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "accuracy by judge" in proc.stdout
    (run_dir,) = (tmp_path / "transcripts").glob("quickstart-*")
    assert len(list(run_dir.glob("*.jsonl"))) == 2


async def test_any_gguf_file_is_a_local_model_with_its_prompt_mode_from_the_file(store, tmp_path):
    from persona_arena.agents.local.runtime import RUNTIME

    gemma_file = models.model_path(models.LOCAL_MODELS["gemma-3-270m"])
    copy = tmp_path / "my-base-model.gguf"
    copy.symlink_to(gemma_file)
    spec = AgentSpec.parse(f"local/{copy};max_tokens=60")
    config = ReverseTuringConfig(judge=AgentSpec(model="scripted"), foils=[spec], rounds=1)

    def factory(agent_spec, seed):  # the judge asks everyone, so the file's model must answer
        if agent_spec.model == "scripted":
            return ListAgent(agent_spec, ['{"message": "What do you do on weekends?", "to": "all"}',
                                          '{"rationale": "", "probabilities": {}, "guess": null}'])
        return create_agent(agent_spec, seed)
    result = await run_session(ReverseTuring(), config, 0, store=store, run_id="file", agent_factory=factory)
    assert result.status == "finished"
    replies = [e.payload for e in await store.events(result.session_id)
               if e.type == "agent.reply" and e.payload["player"] != "judge"]
    from_file = [r for r in replies if result.players[r["player"]].startswith(f"local/{copy}")]
    assert from_file and all(r["failure"] is None and r["text"] for r in from_file)
    assert RUNTIME._get(str(copy)).prompt_mode == "completion"  # no chat template in a base model


def test_a_missing_gguf_file_is_refused_up_front():
    from persona_arena.agents.registry import check_spec
    from persona_arena.core.specs import SpecError

    with pytest.raises(SpecError, match="no such GGUF file"):
        check_spec(AgentSpec.parse("local/nowhere/model.gguf"))
