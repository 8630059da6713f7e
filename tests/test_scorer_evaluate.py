"""Reliability figures: hand-checked precision, recall, F1 and Cohen's kappa; gold-file errors."""

import json

import pytest

from persona_arena.scoring.evaluate import GoldError, compare, read_gold, sample

A, E, T = "claim:ai", "claim:experience", "tactic:threat"


def test_per_label_figures_and_pooled_kappa_match_a_hand_computation():
    gold = [frozenset({A}), frozenset({A}), frozenset(), frozenset()]
    predicted = [frozenset({A}), frozenset(), frozenset({A}), frozenset()]
    result = compare(gold, predicted, [None] * 4)
    ai = result["labels"][A]
    assert (ai["support"], ai["predicted"], ai["precision"], ai["recall"], ai["f1"]) == (2, 2, 0.5, 0.5, 0.5)
    assert ai["kappa"] == 0.0  # agreement 0.5, chance 0.5
    # pooled over 4 utterances x 33 labels: agreement 130/132, chance (2/132)^2 + (130/132)^2,
    # so kappa = (17160 - 16904) / (17424 - 16904) = 256/520
    assert result["kappa"] == pytest.approx(256 / 520, abs=1e-4)
    assert result["macro_f1"] == 0.5  # only labels with gold support count
    assert result["labels"][E]["f1"] is None and result["labels"][E]["kappa"] is None


def test_perfect_agreement_is_kappa_one():
    gold = [frozenset({A, E}), frozenset(), frozenset({E})]
    result = compare(gold, gold, [None] * 3)
    assert result["kappa"] == 1.0 and result["macro_f1"] == 1.0 and result["exact_match"] == 1.0


def test_labels_out_of_scope_for_a_kind_are_neither_predictions_nor_agreements():
    gold = [frozenset(), frozenset({T})]
    predicted = [frozenset({T}), frozenset({T})]
    result = compare(gold, predicted, ["candidate.reply", "party.message"])
    assert result["labels"][T]["predicted"] == 1  # the candidate reply's tactic is out of scope
    assert result["labels"][T]["precision"] == 1.0


def _write(tmp_path, rows):
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


@pytest.mark.parametrize("row, field", [
    ('{"id": "a", "text": "x", "labels": ["claim:robot"]}', "labels"),
    ('{"id": "a", "text": 3, "labels": []}', "text"),
    ('{"text": "x", "labels": []}', "id"),
    ('{"id": "a", "text": "x", "labels": "claim:ai"}', "labels"),
    ('{"id": "a", "text": "x", "labels": [], "kind": 7}', "kind"),
    ("not json", "not JSON"),
])
def test_a_bad_gold_line_is_an_error_naming_the_line_and_field(tmp_path, row, field):
    path = _write(tmp_path, ['{"id": "ok", "text": "fine", "labels": []}', row])
    with pytest.raises(GoldError, match=field) as err:
        read_gold(path)
    assert ":2:" in str(err.value)


def test_repeated_ids_are_rejected(tmp_path):
    path = _write(tmp_path, [{"id": "a", "text": "x", "labels": []}, {"id": "a", "text": "y", "labels": []}])
    with pytest.raises(GoldError, match="repeated"):
        read_gold(path)


def test_split_and_sample_select_deterministically(tmp_path):
    rows = [{"id": str(i), "text": "t", "labels": [], "split": "dev" if i % 2 else "heldout"} for i in range(10)]
    path = _write(tmp_path, rows)
    assert [i.id for i in read_gold(path, split="heldout")] == ["0", "2", "4", "6", "8"]
    assert [i.id for i in sample(read_gold(path), 4)] == ["0", "2", "5", "7"]
    assert len(sample(read_gold(path), 50)) == 10
