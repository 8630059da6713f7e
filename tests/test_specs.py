import pytest

from persona_arena.agents.registry import check_spec
from persona_arena.core.specs import AgentSpec, SpecError


def test_kinds_and_names():
    assert AgentSpec.parse("scripted").kind == "scripted"
    local = AgentSpec.parse("local/qwen2.5-0.5b")
    assert (local.kind, local.name) == ("local", "qwen2.5-0.5b")
    assert AgentSpec.parse("openai/gpt-4o").kind == "litellm"
    assert AgentSpec.parse("remote/gpu-box").kind == "remote"


def test_settings_parse_and_canonical_form_is_order_free():
    a = AgentSpec.parse("local/qwen2.5-0.5b;temperature=0.7;system_prompt=You are Ada.")
    b = AgentSpec.parse("local/qwen2.5-0.5b;system_prompt=You are Ada.;temperature=0.7")
    assert a == b and a.canonical() == b.canonical()
    assert a.temperature == 0.7 and a.system_prompt == "You are Ada."
    assert a.canonical() != AgentSpec.parse("local/qwen2.5-0.5b").canonical()


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("local/", "needs a name"),
    ("scripted;temperature=hot", "temperature"),
    ("scripted;colour=blue", "colour"),
    ("scripted;temperature", "key=value"),
    ("has space", "not a model name"),
])
def test_bad_specs_name_the_problem(text, fragment):
    with pytest.raises(SpecError, match=fragment):
        AgentSpec.parse(text)


@pytest.mark.parametrize("text, fragment", [
    ("local/no-such-model", "unknown local model"),
    ("no-such-provider-model", "unknown agent spec"),
    ("remote/box", "not available"),
])
def test_unplayable_specs_are_refused_before_a_run(text, fragment):
    with pytest.raises(SpecError, match=fragment):
        check_spec(AgentSpec.parse(text))


def test_missing_api_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(SpecError, match="OPENAI_API_KEY"):
        check_spec(AgentSpec.parse("openai/gpt-4o"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    check_spec(AgentSpec.parse("openai/gpt-4o"))
