"""Fidelity and stability: pure functions on arrays, and the records they produce.

Fidelity says how closely a surrogate follows the black box; it is measured on a
held-out neighbourhood drawn from an independent seed stream, and in-sample for
comparison. Stability says how much the explanation would change if the fitting
sample had come out differently (a bootstrap of that sample: no extra model calls).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

#: Relative spread under which a black box counts as constant in a neighbourhood.
CONSTANT_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Fidelity:
    """How closely the surrogate follows the black box.

    ``r2`` is the kernel-weighted R^2 on the held-out neighbourhood, ``r2_in_sample``
    the same on the fitting sample. ``r2_population`` is the unweighted R^2 on held-out
    rows drawn as contributions against a population assume (the query with features
    replaced by a training row's values), on ``n_population`` rows; None when that check
    was not made (contributions against the neighbourhood, or an explanation made
    before it existed) or the black box was constant there. ``agreement`` (classification) is the weighted
    share of rows where surrogate and black box fall on the same side of the
    decision threshold. ``query_gap`` is |black box - surrogate| at the query.
    When the black box is constant, R^2 is undefined: it is None and ``note`` says why.
    """

    r2: float | None
    r2_in_sample: float | None
    mae: float
    mae_in_sample: float
    agreement: float | None
    agreement_in_sample: float | None
    query_gap: float
    n_holdout: int
    n_fit: int
    note: str | None = None
    r2_population: float | None = None
    mae_population: float | None = None
    n_population: int = 0


@dataclass(frozen=True)
class Stability:
    """How much the explanation moves under a bootstrap of its fitting sample.

    ``selection_frequency``: share of refits in which each feature is among the top k.
    ``top_k_jaccard``: mean Jaccard index between each refit's top k and the explanation's.
    ``sign_agreement``: mean share of refits giving each top feature the same sign (linear).
    ``intervals``: 2.5% and 97.5% quantiles of each top feature's weight over refits.
    """

    method: str
    n_resamples: int
    k: int
    top_k_jaccard: float | None
    selection_frequency: dict[str, float] = field(default_factory=dict)
    sign_agreement: float | None = None
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Faithfulness:
    """Deletion and insertion along the explanation's own ranking, against random rankings.

    Text and image explanations only (tables have none). The components are ranked by
    the surrogate's signed effect toward the query's output: the fall of the surrogate's
    value at the query when that component alone is removed, largest first, its sign read
    in the direction the query lies from the fully masked query as the surrogate
    estimates it (the sign of the falls' sum); ties in query order. The deletion curve removes them in that order, the
    insertion curve starts from the fully masked query and restores them in that order,
    at ``steps + 1`` points evenly spaced over the share of components (point ``j``
    removes or restores ``round(j * d / steps)`` of the ``d`` components).

    Each curve is the black box's output for the explained target in its own scale (a
    probability for probabilities), rescaled so that the query is 1 and the fully
    masked query is 0, clipped to [0, 1]; its AUC is the trapezoid area over the share
    of components, in [0, 1]. Deletion: lower is more faithful; insertion: higher.
    ``random`` is the mean AUC of ``random_rankings`` random rankings (drawn from the
    query's own "faithfulness" seed stream), the floor both are read against: a random
    ranking reversed is as random, so its deletion and insertion AUCs have the same
    expectation and one figure serves both.

    ``n_rows`` model rows per query were scored for it, inside ``n_samples``. When the
    fully masked query scores as the query does, nothing can be rescaled: the AUCs are
    None (not checked) and ``note`` says why.
    """

    deletion: float | None
    insertion: float | None
    random: float | None
    steps: int
    random_rankings: int
    n_rows: int
    deletion_curve: tuple[float, ...] = ()
    insertion_curve: tuple[float, ...] = ()
    random_curve: tuple[float, ...] = ()
    note: str | None = None


def weighted_r2(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float | None:
    """Weighted coefficient of determination; None when the target is constant."""
    w = w / w.sum()
    mean = np.dot(w, y)
    total = np.dot(w, (y - mean) ** 2)
    if total <= constant_variance(mean):
        return None
    return float(1.0 - np.dot(w, (y - pred) ** 2) / total)


def constant_variance(mean: float | np.ndarray) -> float | np.ndarray:
    """Weighted variance at or below which outputs around ``mean`` count as constant.

    Surrogates use the same threshold, so a black box that fidelity calls constant
    is never explained by features fitted to its rounding noise.
    """
    return CONSTANT_TOLERANCE * np.maximum(1.0, np.square(mean))


def weighted_mae(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float:
    return float(np.dot(w, np.abs(y - pred)) / w.sum())


def weighted_agreement(y: np.ndarray, pred: np.ndarray, w: np.ndarray, threshold: float) -> float:
    """Weighted share of rows on the same side of ``threshold``."""
    same = (y >= threshold) == (pred >= threshold)
    return float(np.dot(w, same) / w.sum())


def measure_fidelity(
    *,
    y_fit: np.ndarray,
    pred_fit: np.ndarray,
    w_fit: np.ndarray,
    y_hold: np.ndarray,
    pred_hold: np.ndarray,
    w_hold: np.ndarray,
    y_query: float,
    pred_query: float,
    threshold: float | None,
    y_population: np.ndarray | None = None,
    pred_population: np.ndarray | None = None,
) -> Fidelity:
    """Every fidelity figure of one local (or global) surrogate; the population-scope
    ones when ``y_population`` and ``pred_population`` are given."""
    r2 = weighted_r2(y_hold, pred_hold, w_hold)
    r2_in = weighted_r2(y_fit, pred_fit, w_fit)
    note = None
    if r2 is None or r2_in is None:
        note = (
            "The black box is constant in this neighbourhood, so R^2 is undefined; "
            "MAE shows how closely the surrogate reproduces that constant."
        )
    fidelity = Fidelity(
        r2=r2,
        r2_in_sample=r2_in,
        mae=weighted_mae(y_hold, pred_hold, w_hold),
        mae_in_sample=weighted_mae(y_fit, pred_fit, w_fit),
        agreement=None
        if threshold is None
        else weighted_agreement(y_hold, pred_hold, w_hold, threshold),
        agreement_in_sample=(
            None if threshold is None else weighted_agreement(y_fit, pred_fit, w_fit, threshold)
        ),
        query_gap=float(abs(y_query - pred_query)),
        n_holdout=int(len(y_hold)),
        n_fit=int(len(y_fit)),
        note=note,
    )
    return with_population_fidelity(fidelity, y_population, pred_population)


def with_population_fidelity(
    fidelity: Fidelity, y: np.ndarray | None, pred: np.ndarray | None
) -> Fidelity:
    """``fidelity`` with the population-scope figures (unweighted R^2 and MAE, and the rows
    they rest on) when those rows were scored; unchanged (not checked) otherwise."""
    if y is None or pred is None or not len(y):
        return fidelity
    w = np.ones(len(y))
    return replace(
        fidelity,
        r2_population=weighted_r2(y, pred, w),
        mae_population=weighted_mae(y, pred, w),
        n_population=int(len(y)),
    )


def jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def _chosen(weights: np.ndarray, names: Sequence[str], k: int) -> np.ndarray:
    """Which features each refit puts in its top k: non-zero and among the k largest
    magnitudes, ties broken by name."""
    by_name = np.argsort(np.array(names, dtype=object), kind="stable")
    magnitude = np.abs(weights[:, by_name])
    order = np.argsort(-magnitude, axis=1, kind="stable")[:, :k]
    picked = by_name[order]
    keep = np.take_along_axis(magnitude, order, axis=1) > 0
    chosen = np.zeros(weights.shape, dtype=bool)
    rows = np.broadcast_to(np.arange(len(weights))[:, None], picked.shape)
    chosen[rows[keep], picked[keep]] = True
    return chosen


def effective_sample_size(w: np.ndarray) -> float:
    """Kish's effective sample size of a weighted sample (0 when no row has weight).

    Weights so small that their squares underflow (kernel weights of 1e-200) are first
    divided by their largest: the size does not depend on their scale.
    """
    square = float(np.dot(w, w))
    if square > 0 and np.isfinite(square):
        return float(w.sum() ** 2 / square)
    top = float(np.max(w)) if len(w) else 0.0
    if top <= 0:
        return 0.0
    scaled = w / top
    return float(scaled.sum() ** 2 / np.dot(scaled, scaled))


def summarise_bootstrap(
    *,
    names: Sequence[str],
    top: Sequence[str],
    resampled_weights: np.ndarray,
    k: int,
    reference: np.ndarray | None,
    method: str,
) -> Stability:
    """Stability record from per-refit feature weights (or importances).

    ``resampled_weights`` has shape (n_resamples, n_features); ``reference`` holds the
    explanation's own signed weights (None for unsigned importances). A feature counts
    as selected in a refit when its weight is non-zero and among the refit's top k
    by magnitude (ties broken by name, so column order never matters).
    """
    names = list(names)
    weights = np.asarray(resampled_weights, dtype=np.float64).reshape(-1, len(names))
    top_idx = [names.index(t) for t in top]
    signed = reference is not None
    chosen = _chosen(weights, names, k)  # (n_resamples, n_features): in each refit's top k
    in_top = np.zeros(len(names), dtype=bool)
    in_top[top_idx] = True
    inter = (chosen & in_top).sum(axis=1)
    union = (chosen | in_top).sum(axis=1)
    # the Jaccard index of each refit's top k with the explanation's (1 when both are empty)
    jaccards = np.where(union == 0, 1.0, inter / np.maximum(union, 1))
    selected_counts = dict(zip(names, chosen.sum(axis=0).tolist(), strict=True))
    signs = (
        (np.sign(weights[:, top_idx]) == np.sign(reference[top_idx])).mean(axis=1)
        if reference is not None and top_idx
        else np.empty(0)
    )
    n = len(resampled_weights)
    intervals = {}
    if signed and n and top_idx:  # every top feature's 95% interval, in one call
        bounds = np.quantile(resampled_weights[:, top_idx], [0.025, 0.975], axis=0)  # (2, k)
        intervals = {
            name: (float(lo), float(hi)) for name, lo, hi in zip(top, *bounds, strict=True)
        }
    return Stability(
        method=method,
        n_resamples=n,
        k=k,
        top_k_jaccard=float(np.mean(jaccards)) if len(jaccards) else None,
        selection_frequency={name: selected_counts[name] / n for name in top} if n else {},
        sign_agreement=float(np.mean(signs)) if len(signs) else None,
        intervals=intervals,
    )
