"""Backend name -> tagger: `rules`, or any agent spec for the LLM judge."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from persona_arena.core.specs import AgentSpec, SpecError
from persona_arena.scoring.taxonomy import Tag

RULES_BACKEND = "rules"
_NOT_JUDGES = ("scripted", "eliza", "human")


class Tagger(Protocol):
    backend: str

    async def tag_many(self, items: Sequence[tuple[str, frozenset[str]]],
                       on_progress: Callable[[int, int], None] | None = None) -> list[list[Tag]]:
        """Tags for each (text, families), in input order."""

    async def close(self) -> None: ...


def judge_spec(backend: str) -> AgentSpec:
    """The agent spec of an LLM-judge backend; SpecError (naming the problem) otherwise."""
    spec = AgentSpec.parse(backend)
    if spec.kind in _NOT_JUDGES:
        raise SpecError(f"backend {backend!r} cannot judge: use 'rules' or an LLM spec such as "
                        "local/qwen2.5-0.5b or openai/gpt-4o")
    from persona_arena.agents.registry import check_spec

    check_spec(spec)
    return spec


def make_tagger(backend: str = RULES_BACKEND) -> Tagger:
    if backend == RULES_BACKEND:
        from persona_arena.scoring.tagger_rules import RulesBackend

        return RulesBackend()
    from persona_arena.scoring.tagger_llm import LLMJudgeTagger

    return LLMJudgeTagger(judge_spec(backend))


def backend_key(backend: str) -> str:
    """How a backend is stored: `rules`, or the judge's canonical spec string."""
    return RULES_BACKEND if backend == RULES_BACKEND else AgentSpec.parse(backend).canonical()
