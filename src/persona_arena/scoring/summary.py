"""Readable summaries of reverse-turing sessions, built from their recorded events only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
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


def agent_names(named: dict[str, str], specs: Iterable[str]) -> dict[str, str]:
    """The names a report gives a run's agent specs (canonical): a tournament's own agent id
    (`named`: id -> spec) where it has one; otherwise the short label, unless another spec of
    the run would get the same name (two settings of one model, a partial twin beside its
    plain model): then the spec whole, so no two agents are ever counted as one."""
    names = {spec: agent_id for agent_id, spec in named.items()}
    unnamed = [spec for spec in dict.fromkeys(specs) if spec not in names]
    labels = Counter(agent_label(spec) for spec in unnamed)
    taken = set(names.values())
    for spec in unnamed:
        label = agent_label(spec)
        name = label if labels[label] == 1 and label not in taken else spec.removeprefix("local/")
        base, n = name, 2
        while name in taken:  # a named id that is also another spec's whole text
            name, n = f"{base} #{n}", n + 1
        names[spec] = name
        taken.add(name)
    return names


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
