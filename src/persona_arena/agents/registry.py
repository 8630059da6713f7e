"""Agent spec string -> agent. Built-ins plus entry points in group `persona_arena.agents`.

An entry point names a factory `(spec: AgentSpec, seed: int) -> Agent`, registered under
the spec's kind or its full model string.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.metadata import entry_points

from persona_arena.agents.base import Agent
from persona_arena.core.specs import AgentSpec, SpecError

ENTRY_POINT_GROUP = "persona_arena.agents"
Factory = Callable[[AgentSpec, int], Agent]


@cache
def plugin_factories() -> dict[str, Factory]:
    return {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_agents() -> list[tuple[str, str]]:
    """(spec, description) for everything that can be named without further setup."""
    from persona_arena.agents.local.models import LOCAL_MODELS

    rows = [("scripted", "deterministic seeded baseline; plays every role legally"),
            ("eliza", "Weizenbaum's ELIZA with the 1966 DOCTOR script (deterministic candidate baseline)"),
            ("human", "a person at this terminal (structured turns are asked field by field)"),
            ("remote/<name>", "an `arena agent serve` worker, in `arena tournament run` or `arena serve` games")]
    rows += [(f"local/{m.name}", m.description) for m in LOCAL_MODELS.values()]
    try:
        from persona_arena.agents.local.registered import registered_models

        rows += [(f"local/{name}", m.description or f"registered GGUF file {m.path}")
                 for name, m in registered_models().items()]
    except ValueError as err:  # a broken models file must not hide the rest of the list
        rows.append(("local/<registered>", f"unreadable models file: {err}"))
    rows.append(("local/<path>.gguf", "any GGUF file (prompt mode from its chat template)"))
    rows.append(("<provider>/<model>", "any litellm model string, e.g. openai/gpt-4o (key from the environment)"))
    rows += [(name, "plugin") for name in sorted(plugin_factories())]
    return rows


def check_spec(spec: AgentSpec) -> None:
    """Raises SpecError when `spec` cannot be played here, before any game starts."""
    if spec.model in plugin_factories() or spec.kind in plugin_factories():
        return
    if spec.kind in ("scripted", "eliza", "human"):
        return
    if spec.kind == "remote":
        from persona_arena.agents.remote import check_remote_spec

        check_remote_spec(spec)  # a worker identity on the server's broker
        return
    if spec.kind == "local":
        from persona_arena.agents.local.models import ModelUnavailable, chunk_paths, resolve

        try:
            chunk_paths(resolve(spec.name))  # its weight packages are installed (checksum at load)
        except ModelUnavailable as err:
            raise SpecError(str(err)) from None
        return
    from persona_arena.agents.litellm_env import litellm

    try:
        litellm.get_llm_provider(spec.model, api_base=spec.api_base)
    except Exception:
        raise SpecError(
            f"unknown agent spec {spec.model!r}: not scripted, local/<name>, or a litellm model "
            "string such as openai/gpt-4o"
        ) from None
    env = litellm.validate_environment(model=spec.model, api_base=spec.api_base)
    # A missing *_API_BASE is not fatal: litellm falls back to the local server's default.
    missing = [k for k in env.get("missing_keys") or [] if not k.endswith("_API_BASE")]
    if missing:
        raise SpecError(f"{spec.model} needs {', '.join(missing)} in the environment")


def create_agent(spec: AgentSpec, seed: int) -> Agent:
    check_spec(spec)
    factory = plugin_factories().get(spec.model) or plugin_factories().get(spec.kind)
    if factory is not None:
        return factory(spec, seed)
    if spec.kind == "scripted":
        from persona_arena.agents.scripted import ScriptedAgent

        return ScriptedAgent(spec, seed)
    if spec.kind == "eliza":
        from persona_arena.agents.eliza import ElizaAgent

        return ElizaAgent(spec, seed)
    if spec.kind == "human":
        from persona_arena.agents.human import HumanAgent

        return HumanAgent(spec, seed)
    if spec.kind == "remote":
        from persona_arena.agents.remote import create_remote_agent

        return create_remote_agent(spec, seed)
    from persona_arena.agents.llm import LLMAgent

    return LLMAgent(spec, seed)
