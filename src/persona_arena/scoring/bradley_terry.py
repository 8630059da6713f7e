"""A Bradley–Terry refit of pairwise outcomes, with bootstrap confidence intervals.

openskill gives online ratings that depend on game order; Bradley–Terry fits all pairwise
outcomes at once (choix's iterative Luce spectral ranking, lightly regularised so agents that
never lose still get finite strengths). Strengths are log-odds, centred at 0: agent i beats
agent j with probability 1 / (1 + exp(s_j − s_i)).
"""

from __future__ import annotations

import random
from typing import Any

import choix
import numpy as np

REGULARISATION = 0.01


def bradley_terry(comparisons: list[tuple[str, str]], *, bootstrap: int = 200, seed: int = 0) -> dict[str, Any]:
    """`comparisons`: (winner, loser) pairs. CIs: 2.5/97.5 percentiles of refits on comparisons
    resampled with replacement (seeded, so the report is deterministic)."""
    agents = sorted({a for pair in comparisons for a in pair})
    result: dict[str, Any] = {"method": "Bradley-Terry (choix ILSR), 95% bootstrap CI", "comparisons": len(comparisons),
                              "bootstrap": bootstrap, "table": []}
    if len(agents) < 2:
        return result
    index = {a: i for i, a in enumerate(agents)}
    data = [(index[w], index[l]) for w, l in comparisons]
    strengths = _fit(len(agents), data)
    rng = random.Random(seed)
    samples = np.array([_fit(len(agents), [rng.choice(data) for _ in data]) for _ in range(bootstrap)]) \
        if bootstrap else np.empty((0, len(agents)))
    for a, i in index.items():
        ci = [float(np.percentile(samples[:, i], 2.5)), float(np.percentile(samples[:, i], 97.5))] \
            if bootstrap else None
        wins = sum(w == i for w, _ in data)
        losses = sum(l == i for _, l in data)
        result["table"].append({"agent": a, "strength": float(strengths[i]), "ci95": ci, "wins": wins, "losses": losses})
    result["table"].sort(key=lambda row: -row["strength"])
    return result


def _fit(n: int, data: list[tuple[int, int]]) -> np.ndarray:
    params = choix.ilsr_pairwise(n, data, alpha=REGULARISATION)
    return params - params.mean()
