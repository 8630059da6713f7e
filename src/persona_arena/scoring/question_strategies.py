"""Question strategies of reverse-turing judges, for `arena report`: how many of each judge's
messages carry each `strategy:` label (from one scorer backend's stored tags), and the accuracy
of the games in which the judge used a strategy beside its games without it.

The accuracy split is observational: a judge chooses its questions, and a strategy may be
chosen more in games that were going to be easy or hard, so a difference is an association
(Fisher's exact test on the 2×2 table), not the effect of asking that way. Only finished games
of the report count; a message counts once per label however many spans carry it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from persona_arena.scoring.rtt_stats import accuracy_summary
from persona_arena.scoring.taxonomy import STRATEGY, STRATEGY_LABELS

STRATEGIES: tuple[str, ...] = tuple(STRATEGY_LABELS)
METHOD = ("judge messages carrying each strategy label (scorer backend {backend}); accuracy of the games "
          "where the judge used the strategy vs its other games, Fisher's exact test on the 2x2 table "
          "(an association: judges choose their questions)")


class StrategyTag(Protocol):
    session_id: str
    seq: int
    label: str
    event_type: str


def judge_message_counts(events_by_session: Mapping[str, Sequence[Any]]) -> dict[str, int]:
    """session id -> the judge messages the scorer tags (the same utterances `arena score` reads)."""
    from persona_arena.scoring.utterances import utterances_of

    return {sid: sum(u.event_type == "judge.message" for u in utterances_of(list(events)))
            for sid, events in events_by_session.items()}


def fisher_p(used_correct: int, used_wrong: int, other_correct: int, other_wrong: int) -> float | None:
    """Two-sided Fisher exact p of correct/wrong by used/not used; None when a margin is empty."""
    if not (used_correct + used_wrong) or not (other_correct + other_wrong):
        return None
    from scipy.stats import fisher_exact

    return float(fisher_exact([[used_correct, used_wrong], [other_correct, other_wrong]]).pvalue)


def summarise_strategies(sessions: Sequence[Mapping[str, Any]], judge_messages: Mapping[str, int],
                         tags: Iterable[StrategyTag], backend: str) -> dict[str, Any]:
    """`sessions`: the report's session rows (`session_id`, `judge`, `result`, `chance`);
    `judge_messages`: session id -> judge messages scored; `tags`: the backend's stored tags.

    Returns the report keys `question_strategies` (judge -> label -> messages) and
    `question_strategy_accuracy` (per judge and label: the games with and without it)."""
    judge_of = {row["session_id"]: row["judge"] for row in sessions}
    carrying: dict[str, set[tuple[str, int]]] = defaultdict(set)  # label -> judge messages (session, seq)
    used: dict[str, set[str]] = defaultdict(set)  # session -> labels its judge used
    for tag in tags:
        if tag.session_id in judge_of and tag.event_type == "judge.message" and tag.label in STRATEGY_LABELS:
            carrying[tag.label].add((tag.session_id, tag.seq))
            used[tag.session_id].add(tag.label)

    by_judge_rows: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in sessions:
        by_judge_rows[row["judge"]].append(row)
    counts = {judge: dict.fromkeys(STRATEGIES, 0) for judge in sorted(by_judge_rows)}
    for label, messages in carrying.items():
        for session_id, _ in messages:
            counts[judge_of[session_id]][label] += 1

    def split(rows: Sequence[Mapping[str, Any]], label: str) -> dict[str, Any]:
        with_it = [r for r in rows if label in used[r["session_id"]]]
        without = [r for r in rows if label not in used[r["session_id"]]]

        def block(group: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
            chance = sum(r["chance"] for r in group) / len(group) if group else None
            return accuracy_summary(sum(r["result"] == "correct" for r in group), len(group), chance)

        used_block, other_block = block(with_it), block(without)
        return {"used": used_block, "not_used": other_block,
                "fisher_p": fisher_p(used_block["correct"], used_block["games"] - used_block["correct"],
                                     other_block["correct"], other_block["games"] - other_block["correct"])}

    return {
        "question_strategies": counts,
        "question_strategy_accuracy": {
            "backend": backend,
            "method": METHOD.format(backend=backend),
            "judge_messages": {judge: sum(judge_messages.get(r["session_id"], 0) for r in rows)
                               for judge, rows in sorted(by_judge_rows.items())},
            "by_judge": {judge: {label: split(rows, label) for label in STRATEGIES}
                         for judge, rows in sorted(by_judge_rows.items())},
            "overall": {label: split(list(sessions), label) for label in STRATEGIES},
        },
    }


def scored_strategies(meta: Mapping[str, Any] | None) -> bool:
    """Whether a stored tag set covered the question-strategy family (sets stored before the
    family existed did not, and their zero counts would be misleading)."""
    return bool(meta) and STRATEGY in (meta.get("families") or [])
