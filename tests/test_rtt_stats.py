"""Reverse-turing statistics against values worked out by hand (formulas in the comments)."""

import math

import pytest
from scipy.stats import binomtest

from persona_arena.scoring.rtt_analysis import GameFacts, oracle_comparison, statistics
from persona_arena.scoring.rtt_stats import (
    accuracy_summary, binomial_p, brier, log_loss, mcnemar_p, paired_difference_ci, pick_bias,
    reliability_curve, wilson_interval,
)


def test_wilson_interval_by_hand():
    # 8/10, z = 1.96: centre (0.8 + 3.8416/20) / 1.38416 = 0.716738, half-width
    # 1.96·sqrt(0.016 + 3.8416/400) / 1.38416 = 0.226581.
    low, high = wilson_interval(8, 10, z=1.96)
    assert low == pytest.approx(0.716738 - 0.226581, abs=1e-5)
    assert high == pytest.approx(0.716738 + 0.226581, abs=1e-5)
    # 0/10: the interval is [0, z²/(n + z²)] = [0, 3.8416/13.8416].
    low, high = wilson_interval(0, 10, z=1.96)
    assert low == 0 and high == pytest.approx(3.8416 / 13.8416, abs=1e-9)
    # 10/10 mirrors it.
    assert wilson_interval(10, 10, z=1.96)[0] == pytest.approx(10 / 13.8416, abs=1e-9)
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_wilson_matches_scipy():
    for k, n in [(3, 7), (1, 50), (40, 41)]:
        ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_binomial_p_by_hand():
    assert binomial_p(3, 3, 0.5) == pytest.approx(0.25)        # 2 · (1/2)³
    assert binomial_p(0, 6, 0.5) == pytest.approx(2 / 64)      # 2 · (1/2)⁶
    # 5/5 against 1/3: only P(5) = 1/243 is as unlikely as the observation.
    assert binomial_p(5, 5, 1 / 3) == pytest.approx(1 / 243)
    assert binomial_p(0, 0, 0.5) is None


def test_brier_and_log_loss_by_hand():
    forecasts = [{"A": 0.7, "B": 0.2, "C": 0.1}, {"A": 0.5, "B": 0.5}]
    truths = ["A", "B"]
    # (0.3² + 0.2² + 0.1²) = 0.14 and (0.5² + 0.5²) = 0.5; mean 0.32.
    assert brier(forecasts, truths) == pytest.approx(0.32)
    assert log_loss(forecasts, truths) == pytest.approx((-math.log(0.7) - math.log(0.5)) / 2)
    # Uniform over 4 scores 1 − 1/4.
    assert brier([{n: 0.25 for n in "ABCD"}], ["C"]) == pytest.approx(0.75)
    # A certain miss is floored, not infinite.
    assert log_loss([{"A": 1.0, "B": 0.0}], ["B"]) == pytest.approx(-math.log(1e-6))
    assert brier([], []) is None and log_loss([], []) is None


def test_reliability_curve_by_hand():
    forecasts = [{"A": 0.9, "B": 0.1}, {"A": 0.9, "B": 0.1}, {"A": 0.5, "B": 0.5}]
    truths = ["A", "B", "A"]
    bins, ece = reliability_curve(forecasts, truths, bins=2)
    # [0, 0.5): 0.1, 0.1 → mean 0.1, one of two was the truth. [0.5, 1]: 0.9, 0.9, 0.5, 0.5 →
    # mean 0.7, two of four were the truth.
    assert [b.count for b in bins] == [2, 4]
    assert bins[0].mean_probability == pytest.approx(0.1) and bins[0].frequency == pytest.approx(0.5)
    assert bins[1].mean_probability == pytest.approx(0.7) and bins[1].frequency == pytest.approx(0.5)
    assert ece == pytest.approx((2 * 0.4 + 4 * 0.2) / 6)


def test_chi_square_position_bias_by_hand():
    # 12 games with 3 seats: picks 10, 2, 0 against 4 expected each:
    # χ² = (36 + 4 + 16)/4 = 14 with 2 degrees of freedom, p = e^(−14/2).
    picks = [("1", ["1", "2", "3"])] * 10 + [("2", ["1", "2", "3"])] * 2
    result = pick_bias(picks)
    assert result.chi2 == pytest.approx(14.0)
    assert result.dof == 2
    assert result.p == pytest.approx(math.exp(-7))
    assert result.observed == {"1": 10, "2": 2, "3": 0}


def test_chi_square_with_games_of_different_sizes():
    # Expected: seat 1 gets 1/2 + 1/3, seat 2 the same, seat 3 1/3. Both picks were seat 1:
    # χ² = (2 − 5/6)²/(5/6) + 5/6 + 1/3 = 2.8, p = e^(−1.4) with 2 degrees of freedom.
    result = pick_bias([("1", ["1", "2"]), ("1", ["1", "2", "3"])])
    assert result.expected == pytest.approx({"1": 5 / 6, "2": 5 / 6, "3": 1 / 3})
    assert result.chi2 == pytest.approx(2.8)
    assert result.p == pytest.approx(math.exp(-1.4))
    assert pick_bias([]).chi2 is None
    with pytest.raises(ValueError):
        pick_bias([("4", ["1", "2"])])


def test_paired_difference_and_mcnemar():
    ci = paired_difference_ci(both=10, only_first=8, only_second=1, neither=5)
    theta = (8 - 1) / 24
    assert ci[0] < theta < ci[1] and -1 <= ci[0] and ci[1] <= 1
    # Discordant pairs balanced: the difference is 0 and the interval symmetric around it.
    low, high = paired_difference_ci(both=5, only_first=2, only_second=2, neither=5)
    assert low == pytest.approx(-high) and low < 0 < high
    assert mcnemar_p(8, 1) == pytest.approx(2 * (1 + 9) / 2**9)  # 2·P(X ≤ 1), X ~ Bin(9, 1/2)
    assert mcnemar_p(0, 0) is None


def test_accuracy_summary_keys():
    summary = accuracy_summary(3, 3, 0.5)
    assert summary == {"games": 3, "correct": 3, "accuracy": 1.0, "wilson95": list(wilson_interval(3, 3)),
                       "chance": 0.5, "binomial_p": pytest.approx(0.25)}
    assert accuracy_summary(0, 0, None)["accuracy"] is None


def facts(session, judge, twin, guess, final, kinds=None, rounds=1):
    names = list(final)
    return GameFacts(session, judge, names, twin, guess, kinds or {n: "exact" if n == twin else "other" for n in names},
                     final, [final[twin]] * rounds, rounds, "no-guess" if guess is None else
                     ("correct" if guess == twin else "wrong"))


def test_statistics_and_oracle_block():
    games = [
        facts("s1", "qwen", "A", "A", {"A": 0.6, "B": 0.4}),
        facts("s2", "qwen", "B", "A", {"A": 0.7, "B": 0.3}),
        facts("s3", "gemma", "C", None, {"A": 0.2, "B": 0.3, "C": 0.5}, rounds=2),
    ]
    stats = statistics(games)
    assert stats["games"] == 3 and stats["correct"] == 1
    assert stats["chance"] == pytest.approx((0.5 + 0.5 + 1 / 3) / 3)
    assert stats["by_judge"]["qwen"]["correct"] == 1 and stats["by_judge"]["gemma"]["no_guess"] == 1
    assert stats["brier"] == pytest.approx((0.32 + 0.98 + (0.04 + 0.09 + 0.25)) / 3)
    assert stats["position_bias"]["observed"] == {"1": 2, "2": 0}
    assert stats["confusion_identity"] == {"qwen": {"exact": 1, "other": 1}, "gemma": {"no-guess": 1}} \
        or stats["confusion_identity"] == {"gemma": {"no-guess": 1}, "qwen": {"exact": 1, "other": 1}}
    assert stats["p_twin_by_round"][1] == {"round": 2, "games": 1, "mean_p_twin": 0.5}
    oracle = oracle_comparison(games, {"s1": {"pick": "A"}, "s2": {"pick": "B"},
                                       "s3": {"pick": None, "reason": "no candidate reply to score"}})
    qwen = oracle["by_judge"]["qwen"]
    assert qwen["oracle"]["correct"] == 2 and qwen["verbal"]["correct"] == 1
    assert qwen["introspection_gap"] == pytest.approx(0.5)
    assert oracle["skipped"] == ["s3"] and "gemma" not in oracle["by_judge"]
    assert oracle["skipped_reasons"] == {"s3": "no candidate reply to score"}
