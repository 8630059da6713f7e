"""The analysis block of a reverse-turing report: accuracy against chance, calibration,
position and nickname bias, identity-boundary confusion, p(twin) curves, and the likelihood
oracle beside the judges' verbal answers. Computed from per-game facts taken from the events.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from persona_arena.scoring.rtt_stats import (
    accuracy_summary, brier, log_loss, mcnemar_p, paired_difference_ci, pick_bias, reliability_curve,
)

RELIABILITY_BINS = 5


@dataclass(frozen=True)
class GameFacts:
    session_id: str
    judge: str                      # the judge's agent id in the report
    nicknames: list[str]            # display order (position 1 first)
    twin: str                       # the twin's nickname
    guess: str | None
    kinds: dict[str, str]           # nickname -> identity kind (exact, context, weights, persona, other)
    final: dict[str, float] | None  # the final verdict's probabilities
    p_twin_by_round: list[float]
    rounds_used: int | None
    result: str

    @property
    def chance(self) -> float:
        return 1 / len(self.nicknames)


def identity_kind_of(candidate: dict[str, Any], judge_spec: str) -> str:
    """The recorded kind, or for sessions recorded before kinds existed: exact when the spec
    is the judge's, weights when only settings differ, else other."""
    if candidate.get("kind"):
        return candidate["kind"]
    if candidate["agent"] == judge_spec:
        return "exact"
    return "weights" if candidate["agent"].split(";")[0] == judge_spec.split(";")[0] else "other"


def group_statistics(games: list[GameFacts]) -> dict[str, Any]:
    n = len(games)
    correct = sum(g.result == "correct" for g in games)
    chance = sum(g.chance for g in games) / n if n else None
    forecasts = [(g.final, g.twin) for g in games if g.final]
    guessed = [g for g in games if g.guess]
    rounds = Counter(g.rounds_used for g in guessed if g.rounds_used is not None)
    return {
        **accuracy_summary(correct, n, chance),
        "no_guess": n - len(guessed),
        "no_guess_rate": (n - len(guessed)) / n if n else None,
        "mean_p_twin": sum(g.p_twin_by_round[-1] for g in games if g.p_twin_by_round) / n if n else None,
        "brier": brier([f for f, _ in forecasts], [t for _, t in forecasts]),
        "log_loss": log_loss([f for f, _ in forecasts], [t for _, t in forecasts]),
        "p_twin_by_round": p_twin_curve(games),
        "rounds_to_guess": {
            "mean": sum(r * k for r, k in rounds.items()) / len(guessed) if guessed else None,
            "counts": {str(r): k for r, k in sorted(rounds.items())},
        },
        "picked_identity": dict(sorted(Counter(g.kinds.get(g.guess, "other") if g.guess else "no-guess"
                                               for g in games).items())),
    }


def p_twin_curve(games: Iterable[GameFacts]) -> list[dict[str, Any]]:
    """Mean p(twin) in the verdict of round r, over the games that reached round r."""
    by_round: dict[int, list[float]] = defaultdict(list)
    for g in games:
        for r, p in enumerate(g.p_twin_by_round, 1):
            by_round[r].append(p)
    return [{"round": r, "games": len(ps), "mean_p_twin": sum(ps) / len(ps)} for r, ps in sorted(by_round.items())]


def statistics(games: list[GameFacts]) -> dict[str, Any]:
    judges: dict[str, list[GameFacts]] = defaultdict(list)
    for g in games:
        judges[g.judge].append(g)
    forecasts = [(g.final, g.twin) for g in games if g.final]
    curve, ece = reliability_curve([f for f, _ in forecasts], [t for _, t in forecasts], RELIABILITY_BINS)
    guessed = [g for g in games if g.guess]
    positions = pick_bias([(str(g.nicknames.index(g.guess) + 1), [str(i + 1) for i in range(len(g.nicknames))])
                           for g in guessed])
    nicknames = pick_bias([(g.guess, g.nicknames) for g in guessed])  # type: ignore[misc]
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    similarity: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for g in games:
        confusion[g.judge][g.kinds.get(g.guess, "other") if g.guess else "no-guess"] += 1
        for nick, p in (g.final or {}).items():
            similarity[g.judge][g.kinds.get(nick, "other")].append(p)
    return {
        **group_statistics(games),
        "by_judge": {j: group_statistics(gs) for j, gs in sorted(judges.items())},
        "reliability": {"bins": [b.as_dict() for b in curve], "ece": ece},
        "position_bias": positions.as_dict(),
        "nickname_bias": nicknames.as_dict(),
        "confusion_identity": {j: dict(sorted(c.items())) for j, c in sorted(confusion.items())},
        "similarity_identity": {j: {k: sum(ps) / len(ps) for k, ps in sorted(cols.items())}
                                for j, cols in sorted(similarity.items())},
    }


def oracle_comparison(games: list[GameFacts], picks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The likelihood oracle beside the verbal answers, per judge, on the games the oracle
    scored. `picks` maps session id -> the oracle's result for it (see likelihood_oracle).
    The introspection gap is oracle accuracy − verbal accuracy on the same games, with
    Newcombe's paired 95% interval and the exact McNemar p."""
    judges: dict[str, list[tuple[GameFacts, dict[str, Any]]]] = defaultdict(list)
    for g in games:
        if g.session_id in picks and picks[g.session_id].get("pick") is not None:
            judges[g.judge].append((g, picks[g.session_id]))

    def compare(pairs: list[tuple[GameFacts, dict[str, Any]]]) -> dict[str, Any]:
        cells = Counter((o["pick"] == g.twin, g.result == "correct") for g, o in pairs)
        both, only_oracle, only_verbal, neither = (cells[(True, True)], cells[(True, False)],
                                                   cells[(False, True)], cells[(False, False)])
        n = len(pairs)
        chance = sum(g.chance for g, _ in pairs) / n if n else None
        ci = paired_difference_ci(both, only_oracle, only_verbal, neither)
        return {
            "oracle": accuracy_summary(both + only_oracle, n, chance),
            "verbal": accuracy_summary(both + only_verbal, n, chance),
            "introspection_gap": (only_oracle - only_verbal) / n if n else None,
            "gap_ci95": list(ci) if ci else None,
            "mcnemar_p": mcnemar_p(only_oracle, only_verbal),
            "agreement": {"both": both, "only_oracle": only_oracle, "only_verbal": only_verbal,
                          "neither": neither},
        }

    return {
        "method": "mean token log-likelihood of each candidate's replies under the judge's model, "
                  "in the context each reply was given; the oracle picks the most likely candidate",
        "scored_games": sum(len(p) for p in judges.values()),
        "skipped": sorted({s for s, o in picks.items() if o.get("pick") is None}),
        "skipped_reasons": {s: o.get("reason") for s, o in sorted(picks.items()) if o.get("pick") is None},
        "overall": compare([p for ps in judges.values() for p in ps]),
        "by_judge": {j: compare(ps) for j, ps in sorted(judges.items())},
    }
