"""Fidelity and stability figures: pure functions checked against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from surrogate.fidelity import (
    constant_variance,
    effective_sample_size,
    jaccard,
    measure_fidelity,
    summarise_bootstrap,
    weighted_agreement,
    weighted_mae,
    weighted_r2,
)


# ---- weighted R^2 ---------------------------------------------------------------------------------
def test_r2_unweighted_by_hand():
    # mean 2.5, total variance 1.25, residual 0.25: R^2 = 1 - 0.25 / 1.25
    y, pred = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 5.0])
    assert weighted_r2(y, pred, np.ones(4)) == pytest.approx(0.8)


def test_r2_weighted_by_hand():
    # normalised weights (1/2, 1/4, 1/4, 0): mean 1.75, variance 11/16, residual 1/2 -> 3/11
    y, pred = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 3.0, 40.0])
    w = np.array([2.0, 1.0, 1.0, 0.0])
    assert weighted_r2(y, pred, w) == pytest.approx(3 / 11)
    assert weighted_r2(y, pred, 7 * w) == pytest.approx(3 / 11)  # only relative weights count


def test_r2_is_one_for_a_perfect_fit_and_negative_for_a_worse_than_mean_fit():
    y = np.array([0.0, 1.0, 2.0])
    assert weighted_r2(y, y.copy(), np.ones(3)) == 1.0
    assert weighted_r2(y, y[::-1].copy(), np.ones(3)) == pytest.approx(-3.0)


@pytest.mark.parametrize(
    "y",
    [
        np.full(5, 2.0),
        np.full(5, 0.0),
        1e6 + np.array([0.0, 1e-4, -1e-4, 0.0, 0.0]),  # spread far below the magnitude
    ],
)
def test_r2_of_a_constant_target_is_none(y):
    assert weighted_r2(y, y + 1.0, np.ones(5)) is None


def test_r2_of_a_small_target_with_real_spread_is_defined():
    y = np.array([0.0, 1e-5, -1e-5, 0.0, 0.0])  # tiny, but its spread is not rounding noise
    assert weighted_r2(y, np.zeros(5), np.ones(5)) == pytest.approx(0.0)


def test_constant_variance_scales_with_the_magnitude_squared():
    assert constant_variance(0.0) == pytest.approx(1e-12)
    assert constant_variance(0.5) == pytest.approx(1e-12)  # never below the absolute floor
    assert constant_variance(1e3) == pytest.approx(1e-6)
    np.testing.assert_allclose(constant_variance(np.array([-1e3, 2.0])), [1e-6, 4e-12])


# ---- MAE, agreement, effective sample size --------------------------------------------------------
def test_mae_by_hand():
    y, pred, w = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 5.0]), np.array([1.0, 1.0, 2.0])
    assert weighted_mae(y, pred, w) == pytest.approx((1 + 0 + 2 * 2) / 4)


def test_agreement_counts_rows_on_the_same_side_of_the_threshold():
    # same side: yes, no, yes (both exactly at the threshold count as above), yes
    y = np.array([0.2, 0.6, 0.5, 0.9])
    pred = np.array([0.4, 0.4, 0.5, 0.7])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    assert weighted_agreement(y, pred, w, 0.5) == pytest.approx(8 / 10)
    assert weighted_agreement(y, pred, w, 0.3) == pytest.approx(9 / 10)  # now row 0 splits
    assert weighted_agreement(y, pred, w, 0.65) == 1.0
    assert weighted_agreement(y, pred, w, 0.0) == 1.0


def test_agreement_in_log_odds_uses_threshold_zero():
    y = np.array([-2.0, -0.1, 0.3, 1.0])
    pred = np.array([-1.0, 0.2, 0.1, -0.5])
    assert weighted_agreement(y, pred, np.ones(4), 0.0) == pytest.approx(2 / 4)


@pytest.mark.parametrize(
    ("w", "expected"),
    [
        (np.ones(10), 10.0),
        (np.array([1.0, 0.0, 0.0]), 1.0),
        (np.array([1.0, 1.0, 2.0, 2.0]), 36 / 10),
        (np.array([0.5, 0.5, 1.0, 1.0]), 36 / 10),  # scale free
        (np.array([1e-200, 1e-200, 2e-200, 2e-200]), 36 / 10),  # squares underflow: still
        (np.zeros(5), 0.0),  # no weight, no effective row (not 0 / 0)
    ],
)
def test_effective_sample_size_is_kish(w, expected):
    assert effective_sample_size(w) == pytest.approx(expected)


def test_jaccard():
    assert jaccard([], []) == 1.0
    assert jaccard(["a"], []) == 0.0
    assert jaccard(["a"], ["b"]) == 0.0
    assert jaccard(["a", "b"], ["b", "c"]) == pytest.approx(1 / 3)
    assert jaccard(["b", "a"], ["a", "b"]) == 1.0


# ---- every figure at once -------------------------------------------------------------------------
def test_measure_fidelity_reports_held_out_and_in_sample_figures():
    y_fit, pred_fit = np.array([0.1, 0.7, 0.4, 0.9]), np.array([0.2, 0.6, 0.6, 0.8])
    y_hold, pred_hold = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 3.0, 40.0])
    w_fit, w_hold = np.ones(4), np.array([2.0, 1.0, 1.0, 0.0])
    fidelity = measure_fidelity(
        y_fit=y_fit,
        pred_fit=pred_fit,
        w_fit=w_fit,
        y_hold=y_hold,
        pred_hold=pred_hold,
        w_hold=w_hold,
        y_query=0.1,
        pred_query=0.25,
        threshold=0.5,
    )
    assert fidelity.r2 == pytest.approx(3 / 11)  # held-out, as worked out above
    # in sample: mean 0.525, variance 0.091875, residual 0.0175
    assert fidelity.r2_in_sample == pytest.approx(1 - 0.0175 / 0.091875)
    assert fidelity.mae == pytest.approx(2 / 4)
    assert fidelity.mae_in_sample == pytest.approx(0.5 / 4)
    assert fidelity.agreement == pytest.approx(1.0)  # every held-out pair is above 0.5
    assert fidelity.agreement_in_sample == pytest.approx(3 / 4)  # 0.4 vs 0.6 disagree
    assert fidelity.query_gap == pytest.approx(0.15)
    assert (fidelity.n_fit, fidelity.n_holdout) == (4, 4)
    assert fidelity.note is None


def test_measure_fidelity_for_regression_has_no_agreement():
    y = np.array([1.0, 2.0, 3.0])
    fidelity = measure_fidelity(
        y_fit=y,
        pred_fit=y,
        w_fit=np.ones(3),
        y_hold=y[:2],
        pred_hold=y[:2],
        w_hold=np.ones(2),
        y_query=1.0,
        pred_query=1.0,
        threshold=None,
    )
    assert fidelity.agreement is None and fidelity.agreement_in_sample is None
    assert fidelity.r2 == 1.0 and fidelity.query_gap == 0.0
    assert (fidelity.n_fit, fidelity.n_holdout) == (3, 2)


def test_a_constant_black_box_has_no_r2_and_a_note_saying_why():
    fidelity = measure_fidelity(
        y_fit=np.full(4, 0.3),
        pred_fit=np.full(4, 0.31),
        w_fit=np.ones(4),
        y_hold=np.full(3, 0.3),
        pred_hold=np.full(3, 0.28),
        w_hold=np.ones(3),
        y_query=0.3,
        pred_query=0.31,
        threshold=0.5,
    )
    assert fidelity.r2 is None and fidelity.r2_in_sample is None
    assert "constant" in fidelity.note and "MAE" in fidelity.note
    assert fidelity.mae == pytest.approx(0.02)
    assert fidelity.agreement == 1.0


def test_the_note_appears_when_only_the_held_out_target_is_constant():
    fidelity = measure_fidelity(
        y_fit=np.array([0.0, 1.0]),
        pred_fit=np.array([0.0, 1.0]),
        w_fit=np.ones(2),
        y_hold=np.full(3, 0.3),
        pred_hold=np.full(3, 0.3),
        w_hold=np.ones(3),
        y_query=0.0,
        pred_query=0.0,
        threshold=None,
    )
    assert fidelity.r2 is None and fidelity.r2_in_sample == 1.0
    assert fidelity.note is not None


# ---- bootstrap summaries --------------------------------------------------------------------------
RESAMPLED = np.array(
    [
        [2.0, 1.0, 0.0],  # top 2 {a, b}: Jaccard 1, signs 2/2
        [2.0, 0.0, 1.0],  # {a, c} (b is zero): Jaccard 1/3, signs 1/2
        [-1.0, 3.0, 0.0],  # {b, a}: Jaccard 1, signs 1/2 (a flipped)
        [0.0, 0.0, 0.0],  # nothing selected: Jaccard 0, signs 0
    ]
)


def test_summarise_bootstrap_by_hand():
    stability = summarise_bootstrap(
        names=["a", "b", "c"],
        top=["a", "b"],
        resampled_weights=RESAMPLED,
        k=2,
        reference=np.array([2.0, 1.0, 0.0]),
        method="by hand",
    )
    assert stability.method == "by hand"
    assert stability.n_resamples == 4 and stability.k == 2
    assert stability.selection_frequency == {"a": 3 / 4, "b": 2 / 4}
    assert stability.top_k_jaccard == pytest.approx((1 + 1 / 3 + 1 + 0) / 4)
    assert stability.sign_agreement == pytest.approx((1 + 0.5 + 0.5 + 0) / 4)
    # 2.5% and 97.5% quantiles of a's weights (-1, 0, 2, 2), linearly interpolated
    assert stability.intervals["a"] == pytest.approx((-0.925, 2.0))
    assert stability.intervals["b"] == pytest.approx((0.0, 2.85))


def test_unsigned_importances_have_no_signs_or_intervals():
    stability = summarise_bootstrap(
        names=["a", "b", "c"],
        top=["a", "b"],
        resampled_weights=np.abs(RESAMPLED),
        k=2,
        reference=None,
        method="importances",
    )
    assert stability.sign_agreement is None
    assert stability.intervals == {}
    assert stability.selection_frequency == {"a": 3 / 4, "b": 2 / 4}


@pytest.mark.parametrize("names", [["c", "a", "b"], ["a", "b", "c"], ["b", "c", "a"]])
def test_equal_weights_are_selected_by_name_whatever_the_column_order(names):
    stability = summarise_bootstrap(
        names=names,
        top=["a", "c"],
        resampled_weights=np.ones((3, 3)),
        k=2,
        reference=None,
        method="ties",
    )
    assert stability.selection_frequency == {"a": 1.0, "c": 0.0}
    assert stability.top_k_jaccard == pytest.approx(1 / 3)  # {a, b} against {a, c}


def test_no_resamples_gives_an_empty_record():
    stability = summarise_bootstrap(
        names=["a", "b"],
        top=["a"],
        resampled_weights=np.empty((0, 2)),
        k=1,
        reference=np.array([1.0, 0.0]),
        method="none",
    )
    assert stability.n_resamples == 0
    assert stability.top_k_jaccard is None
    assert stability.selection_frequency == {}
    assert stability.sign_agreement is None
    assert stability.intervals == {}
