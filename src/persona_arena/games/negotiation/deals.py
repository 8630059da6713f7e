"""Deal arithmetic the server does for the parties: acceptance rules, Pareto frontier, fairness.

Agents never compute scores; everything here works on a scenario's secret tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from persona_arena.games.negotiation.scenario import Deal, Scenario


@dataclass(frozen=True)
class AcceptanceRule:
    """A proposal passes with at least `k` acceptances (the proposer's included) that include
    every `required` (veto) party. Unanimous is k = number of parties."""

    k: int
    required: frozenset[str]

    def passes(self, accepted: set[str]) -> bool:
        return len(accepted) >= self.k and self.required <= accepted

    def describe(self, n_parties: int, names: dict[str, str]) -> str:
        if self.k >= n_parties:
            return "unanimous: every party must accept"
        text = f"{self.k} of {n_parties} parties must accept"
        if self.required:
            text += ", including " + " and ".join(sorted(names[p] for p in self.required))
        return text


def pareto_frontier(points: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """The score vectors no other vector dominates (≥ for everyone, > for someone)."""
    unique = sorted(set(points), reverse=True)
    frontier: list[tuple[int, ...]] = []
    for p in unique:
        if not any(_dominates(q, p) for q in frontier):
            frontier = [q for q in frontier if not _dominates(p, q)]
            frontier.append(p)
    return frontier


def _dominates(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(x >= y for x, y in zip(a, b)) and a != b


def pareto_distance(scenario: Scenario, deal: Deal) -> float:
    """Euclidean distance (in points) from the deal's score vector to the nearest Pareto-optimal
    vector that dominates it: how much the parties left on the table together. 0 when the deal
    is Pareto-optimal."""
    here = tuple(scenario.scores(deal))
    frontier = pareto_frontier([tuple(scenario.scores(d)) for d in scenario.deals()])
    better = [p for p in frontier if all(x >= y for x, y in zip(p, here))]
    if not better or here in better:
        return 0.0
    return min(math.dist(p, here) for p in better)


def gini(values: list[float]) -> float:
    """Gini coefficient (0 = equal, → 1 = one party has everything); 0 for all-zero scores."""
    n = len(values)
    total = sum(values)
    if n == 0 or total == 0:
        return 0.0
    diffs = sum(abs(a - b) for a in values for b in values)
    return diffs / (2 * n * total)
