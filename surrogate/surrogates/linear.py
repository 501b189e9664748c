"""Sparse weighted linear surrogates, fitted for many queries at once.

Everything is computed from weighted Gram matrices ``G = A' W A`` (``A = [1, z]``):
forward selection picks, one at a time, the feature that lowers the weighted
residual sum of squares most (ties broken by feature name, so column order never
matters), then the selected features are refitted by weighted least squares with
an intercept. Selection factorises each Gram matrix once, by sweeps (rank-one
downdates, :func:`forward_select`), rather than solving a system per candidate
and step: it chooses the same features, and keeps bootstrap refits cheap when
every one of many features is kept (64 segments). The response is centred on its weighted mean first, so a large
offset (a regression in big units) cannot drown the differences between
candidates; selection stops early when no candidate lowers the residual sum of
squares by more than rounding noise (a constant black box gets no features).
Because the Gram matrices of all queries — and of every bootstrap
resample — are stacked, one batched solve serves them all.

Before fitting, each feature's non-linear main effect is removed from the
response (``control_variates``, see :mod:`.control_variates`): the weights
estimate the same thing with less sampling noise.

Point-mass columns: a tabular sampler that keeps point masses adds, after the
features' columns, one ``z`` column per point (``"capital_gain is 0"``: -1 where
the row's state at the point differs from the query's). Such a column is a term
like any other; its value is "yes" or "no" (whether the query is at the point)
and it has no per-unit weight.

Stability: ``n_bootstrap`` multinomial resamples of the fitting sample are refitted
*including* the selection step (so it measures whether the same features would
be chosen, as S-LIME asks), with no extra model calls. They refit the response
with the main effects removed once, on the whole sample (re-estimating them per
resample would move the weights only at second order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._validation import BOOLEAN, Interval
from ..errors import ParameterError
from ..fidelity import constant_variance, summarise_bootstrap
from ..schema import Feature, point_flag_owner
from ..threads import one_thread
from .base import (
    Family,
    LinearContent,
    LinearTerm,
    LocalFit,
    LocalProblem,
    bootstrap_counts,
    leave_one_out_r2,
    leave_one_out_rows,
    ridged,
)
from .control_variates import without_main_effects

#: a candidate joins only if it lowers the residual sum of squares by more than this share
#: of the intercept-only one; smaller gains are rounding noise. Also the tie tolerance.
_MIN_GAIN = 1e-9
#: bytes of row products held at once while the bootstrap Gram matrices are formed: wide
#: tables are done in column blocks of this size (narrow ones, in one block, as before)
GRAM_BLOCK_BYTES = 64 * 2**20
#: with max_features=None, stability is read on this many top features (a top k holding
#: every feature would agree in every refit, whatever the weights)
STABILITY_TOP = 5


class LinearSurrogate(Family):
    """Weighted sparse linear model on ``z`` (standardised offsets, category-change indicators).

    Parameters
    ----------
    max_features : int or None
        Features kept in the explanation (forward selection). Default 5; None keeps
        every feature that moves (text and image explanations use None by default, so
        that every word or segment gets its weight in the map).
    n_bootstrap : int
        Bootstrap refits for the stability figures. Default 20.
    control_variates : bool
        Remove each feature's non-linear main effect from the response before
        fitting (:mod:`.control_variates`): same weights, less sampling noise.
        Default True.
    """

    name = "linear"
    constraints = {
        "max_features": (None, Interval(int, 1)),
        "n_bootstrap": (Interval(int, 0),),
        "control_variates": (BOOLEAN,),
    }

    def __init__(
        self, *, max_features: int | None = 5, n_bootstrap: int = 20, control_variates: bool = True
    ) -> None:
        self.max_features = max_features
        self.n_bootstrap = n_bootstrap
        self.control_variates = control_variates

    def _response(
        self, problem: LocalProblem, categorical: np.ndarray, layout: ZLayout
    ) -> tuple[np.ndarray, str | None]:
        """The response the weights are fitted to, and a note when it is not the one asked for."""
        if not self.control_variates:
            return problem.y_fit, None
        return without_main_effects(
            problem.z_fit,
            problem.values_fit,
            problem.y_fit,
            problem.w_fit,
            categorical,
            owner=layout.owner,
        )

    def fit_local(
        self,
        problems: Sequence[LocalProblem],
        features: tuple[Feature, ...],
        z_names: tuple[str, ...],
        seeds: Sequence[np.random.SeedSequence],
    ) -> list[LocalFit]:
        self.check_params()
        if not problems:
            return []
        # small systems, each solved on its own: on an idle machine BLAS threads save 5-10%
        # (the larger Gram products), on a busy one they contend, several-fold slower; one
        # thread also keeps every figure as single-threaded runs state it
        with one_thread(user_api="blas"):
            return self._fit(problems, features, z_names, seeds)

    def _fit(self, problems, features, z_names, seeds) -> list[LocalFit]:
        layout = z_layout(features, z_names, problems[0].z_fit.shape[1])
        z_names = layout.names
        name_rank = _name_rank(z_names)
        design = np.stack([_design(p.z_fit) for p in problems])  # (m, n, d+1)
        w = np.stack([p.w_fit for p in problems])
        categorical = np.array([not f.is_numeric for f in features], dtype=bool)
        responses = [self._response(p, categorical, layout) for p in problems]
        y_raw = np.stack([y for y, _ in responses])
        offset = np.einsum("mn,mn->m", w, y_raw) / w.sum(axis=1)
        y = y_raw - offset[:, None]  # centred: see module doc
        movable = np.stack([np.any(p.z_fit != 0, axis=0) for p in problems])  # (m, d)
        k = len(z_names) if self.max_features is None else min(self.max_features, len(z_names))
        gram, cross, total = _gram(design, y, w)
        floor = constant_variance(offset) * w.sum(axis=1)
        selected = forward_select(gram, cross, total, movable, name_rank, k, floor=floor)
        coef = _solve_selected(gram, cross, selected)
        for i in range(len(coef)):
            coef[i][0] += offset[i]
        if self.max_features is None:  # every column kept: no selection to refit
            boot = self._one_step_bootstrap(design, y + offset[:, None], w, gram, selected, coef, seeds)
        else:
            boot = self._bootstrap(design, y, w, movable, name_rank, k, seeds, offset)
        fits = []
        for i, problem in enumerate(problems):
            fits.append(
                self._local_fit(
                    problem,
                    features,
                    layout,
                    selected[i],
                    coef[i],
                    boot[i] if boot is not None else None,
                    k,
                    responses[i][1],
                )
            )
        return fits

    def _bootstrap(self, design, y, w, movable, name_rank, k, seeds, offset) -> np.ndarray | None:
        """Per-query bootstrap coefficients, shape (m, B, d): zero where not selected.

        ``y`` is centred on ``offset`` (the full sample's weighted mean), which only
        moves intercepts, so the slopes are those of the uncentred refits.
        """
        if self.n_bootstrap == 0:
            return None
        m, n, d1 = design.shape
        B = self.n_bootstrap
        variance = np.asarray(constant_variance(offset))  # (m,)
        dense = np.zeros((m, B, d1 - 1))
        # one query's resamples at a time: memory B n and B d1^2, not m times that (each
        # matrix is selected and solved on its own, so the grouping changes no number)
        for i in range(m):
            wb = w[i] * bootstrap_counts(seeds[i], n, B)  # (B, n)
            cross = (wb * y[i]) @ design[i]  # (B, d1)
            total = np.einsum("bn,n->b", wb, y[i] ** 2)
            floor = variance[i] * wb.sum(axis=1)
            gram = _resampled_gram(design[i], wb)  # (B, d1, d1)
            mov = np.repeat(movable[i : i + 1], B, axis=0)
            selected = forward_select(gram, cross, total, mov, name_rank, k, floor=floor)
            coef = _solve_selected(gram, cross, selected)
            for r in range(B):
                dense[i, r, selected[r]] = coef[r][1:]
        return dense

    def _one_step_bootstrap(self, design, y, w, gram, selected, coef, seeds) -> np.ndarray | None:
        """Per-query bootstrap coefficients (m, B, d) when every column is kept: each resample's
        weighted least squares, one Newton step from the full fit.

        With nothing to select, a resample ``b`` (weights ``w_b``) only moves the
        coefficients, by ``G^-1 A' (w_b - w) r`` to first order (``G`` the full fit's Gram
        matrix, ``r`` its residuals): one factorisation and one product serve all resamples,
        where refits would form and solve ``n_bootstrap`` Gram matrices (at 64 image
        segments, most of an explanation's time).
        """
        if self.n_bootstrap == 0:
            return None
        m, n, d1 = design.shape
        dense = np.zeros((m, self.n_bootstrap, d1 - 1))
        for i, (sel, seed) in enumerate(zip(selected, seeds, strict=True)):
            idx = np.array([0] + [j + 1 for j in sel])
            a = design[i][:, idx]
            residual = y[i] - a @ coef[i]
            moved = (w[i] * (bootstrap_counts(seed, n, self.n_bootstrap) - 1.0)) * residual  # (B, n)
            delta = np.linalg.solve(ridged(gram[i][np.ix_(idx, idx)]), (moved @ a).T)  # (k+1, B)
            dense[i][:, sel] = (coef[i][:, None] + delta)[1:].T
        return dense

    def _local_fit(self, problem, features, layout, selected, coef, boot, k, note) -> LocalFit:
        z_names = layout.names
        intercept, slopes = coef[0], coef[1:]
        pred_fit = intercept + problem.z_fit[:, selected] @ slopes
        pred_hold = intercept + problem.z_hold[:, selected] @ slopes
        order = sorted(range(len(selected)), key=lambda t: (-abs(slopes[t]), z_names[selected[t]]))
        query = problem.values_fit[0]
        z_ref = None if problem.reference is None else problem.reference.z
        terms = []
        for t in order:
            j = selected[t]
            feature = features[layout.owner[j]]
            point = layout.points[j]
            weight = float(slopes[t])
            terms.append(
                LinearTerm(
                    feature=z_names[j],
                    value=_readable(feature, query[j])
                    if point is None
                    else ("yes" if query[layout.owner[j]] == point else "no"),
                    weight=weight,
                    weight_per_unit=weight / feature.scale
                    if point is None and feature.is_numeric and feature.scale
                    else None,
                    # z is 0 at the query: its value there minus its mean over the reference
                    contribution=None if z_ref is None else -weight * float(z_ref[j]) + 0.0,
                )
            )
        ranking = tuple(term.feature for term in terms)
        reference = np.zeros(len(z_names))
        reference[list(selected)] = slopes
        # with every feature kept, a top-k over all of them agrees trivially: read the top few
        shown = k if self.max_features is not None else min(STABILITY_TOP, k)
        stability = summarise_bootstrap(
            names=z_names,
            top=ranking[:shown],
            resampled_weights=boot if boot is not None else np.empty((0, len(z_names))),
            k=shown,
            reference=reference,
            method=(
                "one-step bootstrap of the fitting sample (every column kept)"
                if self.max_features is None
                else "bootstrap of the fitting sample, selection refitted"
            ),
        )
        return LocalFit(
            pred_fit=pred_fit,
            pred_hold=pred_hold,
            pred_population=None
            if problem.z_population is None
            else intercept + problem.z_population[:, selected] @ slopes,
            content=LinearContent(
                family="linear",
                intercept=float(intercept),
                terms=tuple(terms),
                baseline=None
                if z_ref is None
                else float(intercept - sum(t.contribution or 0.0 for t in terms)),
                reference=None if problem.reference is None else problem.reference.name,
            ),
            ranking=ranking,
            stability=stability,
            notes=(note,) if note else (),
        )


@dataclass(frozen=True)
class ZLayout:
    """What each ``z`` column is: its name, the feature it belongs to (``owner``, an index
    into the features), and the point of a point-mass column (None for a feature's own)."""

    names: tuple[str, ...]
    owner: np.ndarray
    points: tuple[float | None, ...]


def z_layout(features: Sequence[Feature], z_names: Sequence[str], width: int) -> ZLayout:
    """The layout of a ``z`` of ``width`` columns: the features' columns, then point masses.

    A ``z`` of one column per feature may come with names of point-mass columns it does
    not have (a global surrogate's ``z`` of standardised values): they are left out.
    """
    p = len(features)
    names = tuple(z_names)
    if width == p and (len(names) == p or names[:p] == tuple(f.name for f in features)):
        return ZLayout(names=names[:p], owner=np.arange(p), points=(None,) * p)
    if width < p or len(names) != width:
        raise ParameterError(
            f"The local problem's z has {width} columns, but there are {p} features and "
            f"{len(names)} z column names; expected one column per feature, then one per point mass."
        )
    owner = list(range(p))
    points: list[float | None] = [None] * p
    for name in names[p:]:
        feature = point_flag_owner(name, features)
        if feature is None or not feature.is_numeric:
            raise ParameterError(
                f"z column {name!r} is neither a feature nor the point-mass state of one."
            )
        owner.append(next(i for i, f in enumerate(features) if f is feature))
        points.append(feature.points[feature.point_flag_names().index(name)])
    return ZLayout(names=names, owner=np.array(owner), points=tuple(points))


def _resampled_gram(design: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted Gram matrices of one design under many weightings, as matrix products.

    ``design`` is (n, d1), ``weights`` (B, n); the rows' outer products (their upper
    triangles: Gram matrices are symmetric) are formed and every resample's Gram
    matrix is a weighted sum of them: (B, n) @ (n, d1 (d1 + 1) / 2). The products are
    formed a block of columns at a time (:data:`GRAM_BLOCK_BYTES`), so memory grows
    with n d1 rather than n d1^2. A design whose products fit one block is one product,
    as it always was; wider ones are blocks of that size, each a full matrix product
    (on the OpenBLAS builds measured, every entry equal to the one product's). The
    products are formed from the transposed design, whole rows at a time
    (:func:`_upper_products`).
    """
    d1 = design.shape[1]
    upper_i, upper_j = np.triu_indices(d1)
    step = max(1, GRAM_BLOCK_BYTES // (design.shape[0] * design.itemsize))
    columns = np.ascontiguousarray(design.T)  # products of whole rows: 3x faster to form
    upper = np.empty((len(weights), len(upper_i)))  # (B, t)
    for start in range(0, len(upper_i), step):
        stop = min(start + step, len(upper_i))
        products = _upper_products(columns, upper_i, upper_j, start, stop)
        upper[:, start:stop] = weights @ products.T
    gram = np.empty((len(weights), d1, d1))
    gram[:, upper_i, upper_j] = upper
    gram[:, upper_j, upper_i] = upper
    return gram


def _upper_products(
    columns: np.ndarray, upper_i: np.ndarray, upper_j: np.ndarray, start: int, stop: int
) -> np.ndarray:
    """``columns[upper_i[t]] * columns[upper_j[t]]`` for ``t`` in ``start:stop``: each run of one
    ``i`` (``j`` running on to the last column) is one broadcast product of contiguous rows,
    the same numbers as gathering both factors, without the gathers (3x faster to form)."""
    products = np.empty((stop - start, columns.shape[1]))
    t = start
    while t < stop:
        i, j = upper_i[t], upper_j[t]
        end = min(stop, t + len(columns) - j)  # this i's run ends at the last column
        np.multiply(columns[i], columns[j : j + end - t], out=products[t - start : end - start])
        t = end
    return products


def _readable(feature: Feature, value: float) -> float | str | None:
    return feature.readable(value)


def _name_rank(names: Sequence[str]) -> np.ndarray:
    order = sorted(range(len(names)), key=lambda j: names[j])
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return rank


def _design(z: np.ndarray) -> np.ndarray:
    return np.concatenate([np.ones((len(z), 1)), z], axis=1)


def _gram(design: np.ndarray, y: np.ndarray, w: np.ndarray):
    weighted = design * w[:, :, None]
    gram = np.einsum("mni,mnj->mij", weighted, design, optimize=True)
    cross = np.einsum("mni,mn->mi", weighted, y)
    total = np.einsum("mn,mn->m", w, y**2)
    return gram, cross, total


def forward_select(
    gram: np.ndarray,
    cross: np.ndarray,
    total: np.ndarray,
    movable: np.ndarray,
    name_rank: np.ndarray,
    k: int,
    *,
    floor: np.ndarray | None = None,
) -> list[list[int]]:
    """Greedy forward selection on stacked Gram matrices; returns selected z-column indices.

    Each step adds the column that lowers the weighted residual sum of squares most.
    The Gram matrix is factorised once: sweeping out the intercept and then each
    selected column (a rank-one downdate of the candidates' partial Gram matrix and
    cross-products) leaves, for every candidate ``j``, its partial variance ``S_jj``
    and covariance ``c_j`` with the residual given the columns chosen so far, and adding
    ``j`` lowers the residual sum of squares by ``c_j**2 / S_jj``. A step costs
    ``O(d**2)`` per problem rather than a solve per candidate (``O(d t**3)`` at step
    ``t``), which is what makes bootstrap refits of wide problems (64 segments, all
    kept) cheap. The Gram matrix carries the tiny ridge of :func:`ridged`, so a column
    already spanned by the chosen ones has a positive ``S_jj`` and no gain. It chooses
    the columns that solving each candidate's ridged system chose (tested on resampled
    designs; the golden explanations did not move), except where the choice is decided
    by the ridge rather than the data: between columns that are exact linear
    combinations of chosen ones, where that ridge was scaled by each candidate's system
    and this one by the whole Gram matrix.

    A query stops early when fewer than ``k`` of its columns ever vary, or when the
    best candidate lowers its residual sum of squares by no more than ``_MIN_GAIN``
    of the intercept-only one. A query whose intercept-only sum of squares is at most
    ``floor`` (per query, in the same weighted units: the spread of a response that
    counts as constant) gets no feature. Ties, within ``_MIN_GAIN`` of the
    intercept-only sum of squares, go to the first name.
    """
    m, d1, _ = gram.shape
    d = d1 - 1
    partial, resid = _intercept_swept(ridged(gram), cross)
    base = np.maximum(total - cross[:, 0] ** 2 / gram[:, 0, 0], 0.0)  # intercept-only RSS
    min_gain = _MIN_GAIN * base
    if floor is not None:
        min_gain = np.where(base <= floor, np.inf, min_gain)
    tolerance = _MIN_GAIN * np.maximum(base, 1e-300)
    selected = np.full((m, min(k, d)), -1, dtype=np.int64)
    available = movable.copy()
    active = np.ones(m, dtype=bool)
    rows = np.arange(m)
    for step in range(min(k, d)):
        active &= available.any(axis=1)
        if not active.any():
            break
        spread = np.einsum("mjj->mj", partial)
        # a chosen column is swept out (its spread is 0): it is no candidate any more
        gain = np.divide(resid**2, spread, out=np.full((m, d), -np.inf), where=available)
        top = gain.max(axis=1)
        tied = gain >= (top - tolerance)[:, None]
        choice = np.argmin(np.where(tied, name_rank[None, :], np.iinfo(np.int64).max), axis=1)
        active &= top > min_gain
        _sweep(partial, resid, choice, active)
        selected[active, step] = choice[active]
        available[rows[active], choice[active]] = False
    return [[int(j) for j in row if j >= 0] for row in selected]


def leave_one_out_r2_by_size(problem: LocalProblem, sizes: Sequence[int]) -> dict[int, float | None]:
    """Weighted leave-one-out R^2 of the linear surrogate of each size, from one forward selection.

    Greedy selection is nested (the first ``k`` columns chosen for the largest size are the
    ones chosen for size ``k``), so every size is a prefix of one path; each prefix's
    leave-one-out predictions follow from its own fit through the rows' leverages (the
    selection is not redone without the row: with thousands of rows and a handful of
    columns that optimism is negligible), on :func:`~.base.leave_one_out_rows`.
    The main effects are not removed here (control variates only lower the noise of the
    same weights): this figure chooses a size; the chosen size is then fitted as usual.
    """
    design = _design(problem.z_fit)[None]
    w = problem.w_fit[None]
    offset = float(problem.w_fit @ problem.y_fit / problem.w_fit.sum())
    y = problem.y_fit[None] - offset
    gram, cross, total = _gram(design, y, w)
    movable = np.any(problem.z_fit != 0, axis=0)[None]
    names = np.arange(problem.z_fit.shape[1])  # any fixed tie order: only the figure is used
    floor = constant_variance(offset) * w.sum(axis=1)
    path = forward_select(gram, cross, total, movable, names, max(sizes), floor=floor)[0]
    rows = leave_one_out_rows(len(problem.y_fit))
    out: dict[int, float | None] = {}
    for size in sorted(set(sizes)):
        idx = np.array([0] + [j + 1 for j in path[:size]])
        inverse = np.linalg.inv(ridged(gram[0][np.ix_(idx, idx)]))
        a = design[0][np.ix_(rows, idx)]
        residual = y[0, rows] - a @ (inverse @ cross[0][idx])
        leverage = problem.w_fit[rows] * np.einsum("ni,ij,nj->n", a, inverse, a)
        out[size] = leave_one_out_r2(
            problem.y_fit[rows], residual, leverage, problem.w_fit[rows]
        )
    return out


def _intercept_swept(gram: np.ndarray, cross: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The columns' partial Gram matrices and cross-products given the intercept (column 0)."""
    pivot = gram[:, 0, 0]
    column = gram[:, 1:, 0]
    partial = gram[:, 1:, 1:] - column[:, :, None] * column[:, None, :] / pivot[:, None, None]
    resid = cross[:, 1:] - column * (cross[:, 0] / pivot)[:, None]
    return partial, resid


def _sweep(partial: np.ndarray, resid: np.ndarray, columns: np.ndarray, where: np.ndarray) -> None:
    """Sweep column ``columns[i]`` out of problem ``i`` where ``where[i]``, in place: a
    rank-one downdate of its partial Gram matrix and cross-products."""
    rows = np.arange(len(columns))
    column = partial[rows, :, columns]  # (m, d)
    pivot = partial[rows, columns, columns]
    scale = np.divide(1.0, pivot, out=np.zeros_like(pivot), where=where)
    partial -= column[:, :, None] * (column * scale[:, None])[:, None, :]
    resid -= column * (resid[rows, columns] * scale)[:, None]


def _solve_selected(
    gram: np.ndarray, cross: np.ndarray, selected: list[list[int]]
) -> list[np.ndarray]:
    """Weighted least-squares coefficients (intercept first) of each query's selected columns."""
    coefs: list[np.ndarray] = [np.empty(0)] * len(selected)
    by_size: dict[int, list[int]] = {}
    for i, sel in enumerate(selected):
        by_size.setdefault(len(sel), []).append(i)
    for members in by_size.values():
        members_arr = np.array(members)
        idx = np.array([[0] + [j + 1 for j in selected[i]] for i in members])  # (g, size + 1)
        sub = ridged(gram[members_arr[:, None, None], idx[:, :, None], idx[:, None, :]])
        rhs = cross[members_arr[:, None], idx]
        sol = np.linalg.solve(sub, rhs[..., None])[..., 0]
        for row, i in enumerate(members):
            coefs[i] = sol[row]
    return coefs
