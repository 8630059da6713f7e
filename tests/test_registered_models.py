"""`local/<name>` for GGUF files registered in a models file ($ARENA_MODELS)."""

import subprocess
import sys
from pathlib import Path

import pytest

from persona_arena.agents.local.models import LOCAL_MODELS, ModelUnavailable, model_path, resolve
from persona_arena.agents.registry import available_agents, check_spec
from persona_arena.core.specs import AgentSpec, SpecError

GEMMA = LOCAL_MODELS["gemma-3-270m"]


@pytest.fixture
def gemma_file() -> Path:
    return model_path(GEMMA)  # the shipped weights, assembled and verified


def write_models(tmp_path, monkeypatch, text: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(text)
    monkeypatch.setenv("ARENA_MODELS", str(path))
    return path


def test_a_registered_name_resolves_with_its_settings(tmp_path, monkeypatch, gemma_file):
    write_models(tmp_path, monkeypatch, f"""
[models.my-gemma]
path = "{gemma_file}"
prompt_mode = "completion"
n_ctx = 2048
sha256 = "{GEMMA.sha256}"
description = "Gemma, registered"
""")
    model = resolve("my-gemma")
    assert (model.file, model.prompt_mode, model.n_ctx, model.sha256) == (gemma_file, "completion", 2048, GEMMA.sha256)
    assert model_path(model) == gemma_file
    check_spec(AgentSpec.parse("local/my-gemma;temperature=0.5"))
    assert ("local/my-gemma", "Gemma, registered") in available_agents()


def test_a_file_that_does_not_match_its_pinned_checksum_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF not really")
    write_models(tmp_path, monkeypatch, f'[models.fake]\npath = "{fake}"\nsha256 = "{"0" * 64}"\n')
    with pytest.raises(ModelUnavailable, match="expected 0000"):
        model_path(resolve("fake"))


def test_bad_models_files_name_the_problem(tmp_path, monkeypatch):
    write_models(tmp_path, monkeypatch, '[models.x]\npath = "/nowhere.gguf"\nn_ctx = "big"\n')
    with pytest.raises(SpecError, match=r"models\.toml: models\.x\.n_ctx"):
        check_spec(AgentSpec.parse("local/x"))
    write_models(tmp_path, monkeypatch, '[models.x]\npath = "/nowhere.gguf"\n')
    with pytest.raises(SpecError, match="no such GGUF file /nowhere.gguf"):
        check_spec(AgentSpec.parse("local/x"))
    with pytest.raises(SpecError, match="unknown local model local/y; known: .*local/x"):
        check_spec(AgentSpec.parse("local/y"))
    monkeypatch.setenv("ARENA_MODELS", str(tmp_path / "missing.toml"))
    with pytest.raises(SpecError, match="ARENA_MODELS names .*missing.toml, which does not exist"):
        check_spec(AgentSpec.parse("local/x"))
    done = subprocess.run([sys.executable, "-m", "persona_arena", "play", "reverse-turing", "--judge", "scripted",
                           "--candidate", "local/x"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "missing.toml" in done.stderr


@pytest.mark.slow
def test_a_registered_model_plays(tmp_path, monkeypatch, gemma_file):
    path = write_models(tmp_path, monkeypatch, f'[models.my-gemma]\npath = "{gemma_file}"\n')
    done = subprocess.run([sys.executable, "-m", "persona_arena", "play", "reverse-turing", "--judge", "scripted",
                           "--candidate", "local/my-gemma;max_tokens=40", "--rounds", "1"],
                          capture_output=True, text=True, cwd=tmp_path, env={**__import__("os").environ,
                                                                               "ARENA_MODELS": str(path)})
    assert done.returncode == 0, done.stderr
    assert "my-gemma" in done.stdout
