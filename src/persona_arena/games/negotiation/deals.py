"""Deal arithmetic the server does for the parties: acceptance rules, Pareto frontier, fairness.

Agents never compute scores; everything here works on a scenario's secret tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    return [tuple(int(x) for x in p) for p in _skyline(np.asarray(points, dtype=np.int64))]


def _skyline(points: np.ndarray) -> np.ndarray:
    """The non-dominated rows of `points` (one row per distinct vector). The row with the
    largest sum is never dominated; taking it and dropping every row it covers, until none is
    left, visits exactly the frontier (a few dozen vectors) instead of comparing all pairs."""
    remaining = np.unique(points, axis=0)
    frontier = []
    while len(remaining):
        best = remaining[np.argmax(remaining.sum(axis=1))]
        frontier.append(best)
        remaining = remaining[~(remaining <= best).all(axis=1)]
    return np.array(frontier).reshape(len(frontier), points.shape[1] if points.ndim == 2 else 0)


def score_matrix(scenario: Scenario) -> np.ndarray:
    """Every deal's score vector, one row per deal in `scenario.deals()` order, one column per party."""
    columns = []
    for party in scenario.parties:
        totals = np.zeros(1, dtype=np.int64)
        for issue in scenario.issues:  # the last issue varies fastest, as in itertools.product
            row = np.array([party.scores[issue.id][o.id] for o in issue.options], dtype=np.int64)
            totals = np.add.outer(totals, row).ravel()
        columns.append(totals)
    return np.stack(columns, axis=1)


def pareto_distance(scenario: Scenario, deal: Deal) -> float:
    """Euclidean distance (in points) from the deal's score vector to the nearest Pareto-optimal
    vector that dominates it: how much the parties left on the table together. 0 when the deal
    is Pareto-optimal."""
    here = np.array(scenario.scores(deal), dtype=np.int64)
    points = score_matrix(scenario)
    # The frontier vectors that dominate `here` are exactly the frontier of the vectors ≥ it.
    frontier = _skyline(points[(points >= here).all(axis=1)])
    if (frontier == here).all(axis=1).any():
        return 0.0
    return float(np.sqrt(((frontier - here) ** 2).sum(axis=1)).min())


def gini(values: list[float]) -> float:
    """Gini coefficient (0 = equal, → 1 = one party has everything); 0 for all-zero scores."""
    n = len(values)
    total = sum(values)
    if n == 0 or total == 0:
        return 0.0
    diffs = sum(abs(a - b) for a in values for b in values)
    return diffs / (2 * n * total)
