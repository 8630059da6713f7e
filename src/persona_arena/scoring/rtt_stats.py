"""Statistics of reverse-turing runs: interval estimates, tests against chance, calibration
and bias tests. Pure functions over plain numbers, so each can be checked by hand.

Conventions: an empty sample gives `None` (never 0 or NaN), so JSON reports say "no data"
rather than a misleading number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy.stats import binomtest, chisquare

Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal
LOG_LOSS_FLOOR = 1e-6    # a probability of 0 for the truth would make log-loss infinite


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (closed form, Wilson 1927)."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..{n}, got {successes}")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_p(successes: int, n: int, chance: float) -> float | None:
    """Two-sided exact binomial test of `successes` out of `n` against `chance`."""
    if n <= 0:
        return None
    return float(binomtest(successes, n, chance).pvalue)


def brier(forecasts: Sequence[Mapping[str, float]], truths: Sequence[str]) -> float | None:
    """Multi-class Brier score: the mean over games of Σ_candidates (p − [candidate is the
    truth])². 0 is perfect, 2 is certain and wrong; a uniform guess over N scores 1 − 1/N."""
    if not forecasts:
        return None
    total = 0.0
    for probabilities, truth in zip(forecasts, truths, strict=True):
        total += sum((p - (name == truth)) ** 2 for name, p in probabilities.items())
    return total / len(forecasts)


def log_loss(forecasts: Sequence[Mapping[str, float]], truths: Sequence[str]) -> float | None:
    """Mean −ln p(truth), with p floored at LOG_LOSS_FLOOR (a confident miss costs ≈ 13.8)."""
    if not forecasts:
        return None
    losses = [-math.log(max(probabilities.get(truth, 0.0), LOG_LOSS_FLOOR))
              for probabilities, truth in zip(forecasts, truths, strict=True)]
    return sum(losses) / len(losses)


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_probability: float | None
    frequency: float | None  # how often a candidate given a probability in this bin was the truth

    def as_dict(self) -> dict[str, float | int | None]:
        return {"low": self.low, "high": self.high, "count": self.count,
                "mean_probability": self.mean_probability, "frequency": self.frequency}


def reliability_curve(forecasts: Sequence[Mapping[str, float]], truths: Sequence[str],
                      bins: int = 5) -> tuple[list[ReliabilityBin], float | None]:
    """Every (candidate, probability) pair of every forecast, binned by probability into
    `bins` equal-width bins (the last one closed). Returns the bins and the expected
    calibration error (Σ count·|mean p − frequency| / total pairs)."""
    if bins < 1:
        raise ValueError("bins must be at least 1")
    pairs = [(p, name == truth) for probabilities, truth in zip(forecasts, truths, strict=True)
             for name, p in probabilities.items()]
    grouped: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for p, hit in pairs:
        grouped[min(int(p * bins), bins - 1)].append((p, hit))
    curve = []
    for i, group in enumerate(grouped):
        mean = sum(p for p, _ in group) / len(group) if group else None
        freq = sum(hit for _, hit in group) / len(group) if group else None
        curve.append(ReliabilityBin(i / bins, (i + 1) / bins, len(group), mean, freq))
    ece = (sum(b.count * abs(b.mean_probability - b.frequency) for b in curve if b.count) / len(pairs)
           if pairs else None)
    return curve, ece


@dataclass(frozen=True)
class ChiSquare:
    chi2: float | None
    p: float | None
    dof: int
    observed: dict[str, int]
    expected: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        return {"chi2": self.chi2, "p": self.p, "dof": self.dof, "observed": self.observed,
                "expected": self.expected}


def pick_bias(picks: Sequence[tuple[str, Sequence[str]]]) -> ChiSquare:
    """Chi-square goodness of fit of picked categories against "every option equally likely".

    Each pick is (the option picked, the options that game offered): games may offer
    different options (other nicknames, other numbers of seats), so the expected count of an
    option is the sum over games of 1/(options offered) where it was offered. Positions or
    nicknames with expected count 0 are left out; fewer than two categories leave the test
    undefined (chi2 and p are None).
    """
    observed: dict[str, int] = {}
    expected: dict[str, float] = {}
    for picked, offered in picks:
        if picked not in offered:
            raise ValueError(f"picked {picked!r} is not among the options {list(offered)}")
        for option in offered:
            expected[option] = expected.get(option, 0.0) + 1 / len(offered)
            observed.setdefault(option, 0)
        observed[picked] += 1
    keys = sorted(expected, key=_natural)
    observed = {k: observed[k] for k in keys}
    expected = {k: expected[k] for k in keys}
    if len(keys) < 2:
        return ChiSquare(None, None, 0, observed, expected)
    result = chisquare([observed[k] for k in keys], [expected[k] for k in keys])
    return ChiSquare(float(result.statistic), float(result.pvalue), len(keys) - 1, observed, expected)


def _natural(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (10**9, key)


def paired_difference_ci(both: int, only_first: int, only_second: int, neither: int,
                         z: float = Z95) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval (1998, method 10) for p1 − p2 of two proportions
    measured on the same games: p1 = (both + only_first)/n, p2 = (both + only_second)/n."""
    a, b, c, d = both, only_first, only_second, neither
    n = a + b + c + d
    if n == 0:
        return None
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n, z)  # type: ignore[misc]
    l2, u2 = wilson_interval(a + c, n, z)  # type: ignore[misc]
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(denominator) if denominator else 0.0
    delta = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    epsilon = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    theta = p1 - p2
    return max(-1.0, theta - delta), min(1.0, theta + epsilon)


def mcnemar_p(only_first: int, only_second: int) -> float | None:
    """Exact (binomial) McNemar test on the discordant pairs; None without any."""
    discordant = only_first + only_second
    if discordant == 0:
        return None
    return float(binomtest(only_first, discordant, 0.5).pvalue)


def accuracy_summary(correct: int, games: int, chance: float | None) -> dict[str, object]:
    """The block used for every group: games, correct, accuracy, Wilson 95% CI, binomial p."""
    ci = wilson_interval(correct, games)
    return {
        "games": games,
        "correct": correct,
        "accuracy": correct / games if games else None,
        "wilson95": list(ci) if ci else None,
        "chance": chance,
        "binomial_p": binomial_p(correct, games, chance) if games and chance is not None else None,
    }
