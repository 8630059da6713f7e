"""Reliability of a tagger: per-label precision/recall/F1, macro-F1 and Cohen's kappa.

Utterance-level: a label counts as predicted for an utterance when the tagger returned at
least one span with it (spans are evidence, not the unit of agreement). Kappa is computed on
the pooled binary decisions (every utterance × every label in scope) and per label.
Labels a family does not apply to (tactics outside negotiation messages) are out of scope for
that utterance and are not counted as agreements. Figures are also given per family, and a
comparison can be limited to some families (e.g. `strategy` on the question-strategy gold set).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

from persona_arena.core.jsontext import json_object_lines
from persona_arena.scoring.taxonomy import FAMILIES, FAMILY_OF, LABELS, UnknownLabel, check_label, families_for


class GoldError(ValueError):
    """A gold file line that cannot be used; the message names the line and the field."""


@dataclass(frozen=True)
class GoldItem:
    id: str
    text: str
    labels: frozenset[str]
    kind: str | None = None
    split: str | None = None


def read_gold(path: Path, *, split: str | None = None) -> list[GoldItem]:
    items: list[GoldItem] = []
    seen: set[str] = set()
    for where, row in json_object_lines(path, GoldError):
        item_id, text, labels = row.get("id"), row.get("text"), row.get("labels")
        if not isinstance(item_id, str) or not item_id:
            raise GoldError(f"{where}: field 'id' must be a non-empty string")
        if item_id in seen:
            raise GoldError(f"{where}: field 'id' {item_id!r} is repeated")
        if not isinstance(text, str):
            raise GoldError(f"{where}: field 'text' must be a string")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise GoldError(f"{where}: field 'labels' must be a list of label names")
        kind = row.get("kind")
        if kind is not None and not isinstance(kind, str):
            raise GoldError(f"{where}: field 'kind' must be a string (an event type)")
        try:
            checked = frozenset(check_label(x) for x in labels)
        except UnknownLabel as err:
            raise GoldError(f"{where}: field 'labels': {err}") from None
        seen.add(item_id)
        if split is None or row.get("split") == split:
            items.append(GoldItem(item_id, text, checked, kind, row.get("split")))
    return items


def _finite(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 4)


def _indicator(label_sets: Sequence[frozenset[str]], labels: Sequence[str]) -> np.ndarray:
    return np.array([[label in found for label in labels] for found in label_sets], dtype=int).reshape(-1, len(labels))


def _in_scope(kinds: Sequence[str | None], labels: Sequence[str]) -> np.ndarray:
    return np.array([[FAMILY_OF[label] in families_for(kind) for label in labels] for kind in kinds],
                    dtype=bool).reshape(-1, len(labels))


def check_families(families: Collection[str] | None) -> tuple[str, ...]:
    """The labels of these families (all labels for None); ValueError naming an unknown family."""
    if families is None:
        return LABELS
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown label family {', '.join(map(repr, unknown))}; families are: "
                         f"{', '.join(FAMILIES)}")
    return tuple(label for label in LABELS if FAMILY_OF[label] in families)


def kappa(a: np.ndarray, b: np.ndarray) -> float | None:
    """Cohen's kappa of two binary vectors; None when undefined (both constant and equal)."""
    if len(a) == 0:
        return None
    if np.array_equal(a, b) and len(set(a.tolist())) == 1:
        return None  # no variation at all: chance agreement is 1 and kappa is 0/0
    return _finite(cohen_kappa_score(a, b))


def compare(reference: Sequence[frozenset[str]], predicted: Sequence[frozenset[str]],
            kinds: Sequence[str | None], families: Collection[str] | None = None) -> dict[str, Any]:
    """Agreement of `predicted` with `reference` (gold, or another backend), over the labels of
    `families` (all of them when None), with the pooled figures of each family too."""
    if not (len(reference) == len(predicted) == len(kinds)):
        raise ValueError("reference, predicted and kinds must have the same length")
    labels = check_families(families)
    result = _figures(reference, predicted, kinds, labels)
    result["families"] = {}
    for family in dict.fromkeys(FAMILY_OF[label] for label in labels):
        pooled = _figures(reference, predicted, kinds, check_families([family]))
        result["families"][family] = {k: pooled[k] for k in ("macro_f1", "micro_f1", "kappa", "exact_match")}
    return result


def _figures(reference: Sequence[frozenset[str]], predicted: Sequence[frozenset[str]],
             kinds: Sequence[str | None], labels: Sequence[str]) -> dict[str, Any]:
    y_true, y_pred, scope = _indicator(reference, labels), _indicator(predicted, labels), _in_scope(kinds, labels)
    y_pred = y_pred * scope  # a label out of scope for an utterance is never a prediction
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, average=None, labels=range(len(labels)), zero_division=0)
    per_label = {}
    for i, label in enumerate(labels):
        col = scope[:, i]
        predicted_n = int(y_pred[col, i].sum())
        per_label[label] = {
            "support": int(support[i]), "predicted": predicted_n,
            "precision": _finite(precision[i]) if predicted_n else None,
            "recall": _finite(recall[i]) if support[i] else None,
            "f1": _finite(f1[i]) if support[i] or predicted_n else None,
            "kappa": kappa(y_true[col, i], y_pred[col, i]),
        }
    scored = [v["f1"] for v in per_label.values() if v["support"] > 0]
    return {
        "n": len(reference),
        "macro_f1": _finite(float(np.mean([f or 0.0 for f in scored]))) if scored else None,
        "micro_f1": _finite(_micro_f1(y_true[scope], y_pred[scope])),
        "kappa": kappa(y_true[scope], y_pred[scope]),
        "exact_match": _finite(float(np.mean((y_true == y_pred).all(axis=1)))) if len(reference) else None,
        "labels": per_label,
    }


def _micro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    tp = int((y_true & y_pred).sum())
    denominator = int(y_true.sum() + y_pred.sum())
    return 2 * tp / denominator if denominator else float("nan")


def errors(items: Sequence[GoldItem], predicted: Sequence[frozenset[str]],
           families: Collection[str] | None = None) -> list[dict[str, Any]]:
    """The utterances where a backend disagrees with gold (for inspection), over `families`."""
    wanted = set(check_families(families))
    out = []
    for item, labels in zip(items, predicted, strict=True):
        scoped = frozenset(x for x in labels if FAMILY_OF[x] in families_for(item.kind) and x in wanted)
        gold = frozenset(x for x in item.labels if x in wanted)
        if scoped != gold:
            out.append({"id": item.id, "text": item.text, "missed": sorted(gold - scoped),
                        "extra": sorted(scoped - gold)})
    return out


def sample(items: Sequence[GoldItem], n: int | None) -> list[GoldItem]:
    """`n` items spread evenly over the file, in file order (all of them when n is None or larger)."""
    if n is None or n >= len(items):
        return list(items)
    if n <= 0:
        return []
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]
