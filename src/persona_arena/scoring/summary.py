"""Readable summaries of reverse-turing sessions, built from their recorded events only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from persona_arena.core.events import Event


@dataclass
class GameSummary:
    session_id: str
    judge: str
    candidates: list[dict[str, Any]]  # player, nickname, agent, is_twin
    outcome: dict[str, Any] | None
    violations: int

    @property
    def result(self) -> str:
        return (self.outcome or {}).get("result", "unfinished")

    @property
    def guessed_agent(self) -> str | None:
        guess = (self.outcome or {}).get("guess")
        return next((c["agent"] for c in self.candidates if c["nickname"] == guess), None)


def agent_label(canonical_spec: str) -> str:
    """A short display name: the model without its `local/` prefix, settings dropped."""
    return canonical_spec.split(";")[0].removeprefix("local/")


def summarise(events: list[Event]) -> GameSummary:
    setup = next(e for e in events if e.type == "game.setup").payload
    outcome = next((e.payload for e in events if e.type == "game.outcome"), None)
    return GameSummary(
        session_id=events[0].session_id,
        judge=setup["judge"],
        candidates=setup["candidates"],
        outcome=outcome,
        violations=sum(e.type == "rule.violation" for e in events),
    )
