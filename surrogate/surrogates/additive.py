"""Additive surrogates: one shape function per feature, fitted jointly, plus a few pairs.

The surrogate is ``y ~ b + sum_j f_j(x_j) [+ sum_(j,k) g_jk(x_j, x_k)]``, fitted to the
black box on the fitting neighbourhood by kernel-weighted penalised least squares,
on the features' *values* (numbers in their own units, categories by code), so
every shape reads in the data's units:

- **numbers**: a height on each quantile bin of the sampled values
  (:mod:`.binning`; ``n_bins`` bins, fewer where values tie; where some values are
  atoms holding many rows, such as a capital gain of 0, the values off them get
  quantile bins of their own) plus a straight line
  in the value. The squared difference between the heights of neighbouring bins is
  penalised (``smoothing``), so steps the sample does not support shrink towards
  the line; the line is not penalised, so a linear black box gets a straight shape.
  Missing values are a level of their own.
- **categories**: one height per category sampled in at least ``min_rows`` rows
  (the query's always); the rarer ones share one ("other").
- **pairs** (``interactions=k``): after the main effects are fitted, every pair of
  features is screened on the residual by the interaction sum of squares of a
  coarse 2-D grid of its bins (at most ``COARSE_LEVELS`` per feature), as FAST does (Lou,
  Caruana, Gehrke & Hooker, KDD 2013); the ``k`` strongest pairs get a table of
  heights on that grid (ridge-penalised) and everything is refitted jointly. Each
  table is then *purified* (Lengerich et al., AISTATS 2020): its weighted row and
  column means move into the two main effects, so a pair holds only what no sum
  of shapes can.

Bins with fewer than ``min_rows`` rows are merged into a neighbour, and the
explanation says so in its notes. The penalty is ``lambda * sum (h[b+1] - h[b])^2``
with ``lambda = smoothing`` times the mean kernel weight: each difference is pulled
towards zero as strongly as ``smoothing`` rows would pull it. By default
(``smoothing="auto"``) each query's is chosen by generalised cross-validation (GCV,
Craven & Wahba 1979) among :data:`SMOOTHING_GRID`: the weighted residual sum of
squares over ``(1 - edf / n)^2``, with ``edf`` the trace of the smoother, from the
Gram matrix alone (one Cholesky inverse per candidate, no pass over the rows). A
black box that is clean beside the bins' width (steps, kinks) gets little smoothing
and sharp shapes; a noisy response (an interaction no main effect holds) gets more.
With pairs, it is chosen again once they are in (it also sets their tables' ridge): the
interaction the main effects took for noise is then fitted, and their smoothing would
shrink the tables (on the known-answer box with one interaction, ``interactions=2``:
held-out R^2 0.900 -> 0.938, contribution error 0.022 -> 0.021).
On the known-answer boxes of ``bench/known_answers.py`` (20 queries each), 32 bins
with the chosen smoothing halved the error of contributions against 16 bins at a
fixed 10 (steps and kinks 0.011 -> 0.006 log-odds, a GBM of them 0.015 -> 0.011)
and lowered it with an unmodelled interaction (0.034 -> 0.029); 32 bins at a fixed
10 did as well on the clean boxes but worse with the interaction (0.036). The chosen
value is said in the explanation's notes.

Each shape is centred on its mean over the problem's reference: a population
(the training data; main effects from each column's distinct values and counts,
pairs from its rows) when the problem carries one, else its kernel-weighted mean
over the neighbourhood. The intercept is then the surrogate's mean prediction over
that reference, and a feature's *contribution* (its shape's value at the query)
says how far that feature moves the prediction at the query from that mean;
intercept plus contributions is the prediction at the query. :func:`.contributions.with_reference` restates them
against another sample without calling the model.

``max_features`` keeps the features chosen by group forward selection (each
feature's columns enter together, the one lowering the penalised residual sum of
squares most first).

Everything is solved from weighted Gram matrices of a sparse design (one column
per level, a line per number; the Gram matrix by one symmetric rank-k update); the
penalised systems of the queries of a block are solved in batched solves (one per
system size, so a query's numbers are exactly those it gets alone), which also
return their inverses. BLAS runs on one thread inside a fit: the systems are small,
and one thread makes the numbers independent of the machine's thread settings.

Stability: ``n_bootstrap`` multinomial resamples of the fitting sample, each as
one Newton step from the full fit (``beta_b = beta + A^-1 X' (W_b - W) r``, with A
the whole sample's penalised Gram matrix: exact for the weighted least-squares
score, second-order close to a refit), with bins, selected features and pairs
held fixed; contributions are re-centred on each resample's weights. No model
calls, and one matrix product per query.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.linalg import blas, lapack

from .._validation import Interval, Options
from ..errors import ParameterError
from ..fidelity import Stability, constant_variance, summarise_bootstrap
from ..schema import MISSING_CODE, Feature
from ..threads import one_thread
from .base import (
    AdditiveContent,
    AdditiveTerm,
    CategoryShape,
    Family,
    LocalFit,
    LocalProblem,
    NumberShape,
    PairAxis,
    PairTerm,
    Population,
    bootstrap_counts,
    leave_one_out_r2,
    leave_one_out_rows,
    ridged,
)
from .binning import quantile_edges
from .codes import check_problems

DEFAULT_BINS = 32
#: penalty on neighbouring-bin differences, in rows of mean kernel weight: chosen per query
DEFAULT_SMOOTHING = "auto"
#: the smoothing values ``"auto"`` chooses among (rows of mean kernel weight), half a decade apart
SMOOTHING_GRID = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
#: rows a bin, a category or the missing values need for a height of their own
MIN_ROWS = 20
#: levels per feature on the coarse grid of a pairwise term
COARSE_LEVELS = 6
#: ``reference`` of contributions measured against the fitting neighbourhood (kernel-weighted)
NEIGHBOURHOOD = "neighbourhood"
#: features compared in the bootstrap top-k Jaccard
STABILITY_K = 5
#: a feature joins in forward selection only if it lowers the penalised residual sum of
#: squares by more than this share of the intercept-only one (smaller gains are rounding)
_MIN_GAIN = 1e-9


class AdditiveSurrogate(Family):
    """Weighted additive model: a shape per feature (steps plus a line for numbers), plus pairs.

    Parameters
    ----------
    max_features : int, optional
        Features kept (group forward selection). Default: every feature that varies.
    n_bins : int
        Quantile bins per number, at least 2. Default 32.
    interactions : int
        Pairwise terms, chosen by a residual screen. Default 0.
    smoothing : float or "auto"
        Penalty on the squared difference between neighbouring bins' heights, in rows of
        mean kernel weight (0: none). Default "auto": chosen per query by generalised
        cross-validation among :data:`SMOOTHING_GRID` (see the module doc).
    min_rows : int
        Rows a bin, category or missing level needs for a height of its own; smaller ones
        are merged (and the explanation's notes say so). Default 20.
    n_bootstrap : int
        Bootstrap resamples for the stability figures (one-step refits). Default 20.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from surrogate import TabularExplainer
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    >>> model = lambda rows: (rows["a"] > 0).to_numpy() * 2.0 + rows["b"].to_numpy()
    >>> explainer = TabularExplainer(model, X, mode="regression", n_samples=2000)
    >>> exp = explainer.explain(X.iloc[0], surrogate="additive", n_bins=8)
    >>> exp.fidelity.r2 > 0.95
    True
    """

    name = "additive"
    constraints = {
        "max_features": (None, Interval(int, 1)),
        "n_bins": (Interval(int, 2),),
        "interactions": (Interval(int, 0),),
        "smoothing": (Options(("auto",)), Interval(float, 0, np.inf, "left")),
        "min_rows": (Interval(int, 1),),
        "n_bootstrap": (Interval(int, 0),),
    }
    #: fitted in this process, not spread over a pool: a block's fits take less time
    #: than starting the workers (see :mod:`surrogate.explain.parallel`)
    fits_independently = False

    def __init__(
        self,
        *,
        max_features: int | None = None,
        n_bins: int = DEFAULT_BINS,
        interactions: int = 0,
        smoothing: float | str = DEFAULT_SMOOTHING,
        min_rows: int = MIN_ROWS,
        n_bootstrap: int = 20,
    ) -> None:
        self.max_features = max_features
        self.n_bins = n_bins
        self.interactions = interactions
        self.smoothing = smoothing
        self.min_rows = min_rows
        self.n_bootstrap = n_bootstrap

    def params(self) -> dict[str, Any]:
        return {**super().params(), "coarse_levels": COARSE_LEVELS}

    # ---- checks ------------------------------------------------------------------------------
    def _check(self, n_features: int) -> None:
        self.check_params()
        usable = n_features if self.max_features is None else min(n_features, self.max_features)
        pairs = usable * (usable - 1) // 2
        if self.interactions > pairs:
            raise ParameterError(
                f"interactions={self.interactions} asks for more feature pairs than there are: "
                f"{usable} features give {pairs} pairs."
            )

    # ---- fitting -----------------------------------------------------------------------------
    def fit_local(
        self,
        problems: Sequence[LocalProblem],
        features: tuple[Feature, ...],
        z_names: tuple[str, ...],
        seeds: Sequence[np.random.SeedSequence],
    ) -> list[LocalFit]:
        self._check(len(features))
        check_problems(problems, features, seeds)
        if not problems:
            return []
        with one_thread(user_api="blas"):  # small systems: one thread is fastest
            return self._fit(problems, features, z_names, seeds)

    def _fit(self, problems, features, z_names, seeds) -> list[LocalFit]:
        queries = self._main_effects(problems, features, z_names)
        if self.interactions:
            for q in queries:
                q.add_pairs(self._screen(q))
                self._smooth(q)
        return [
            self._local_fit(q, features, z_names, seed)
            for q, seed in zip(queries, seeds, strict=True)
        ]

    def _main_effects(
        self,
        problems: Sequence[LocalProblem],
        features: tuple[Feature, ...],
        z_names: tuple[str, ...],
    ) -> list[_Query]:
        """Each problem's main-effect fit (features selected first under ``max_features``)."""
        queries = [self._prepare(p, features, z_names) for p in problems]
        for q in queries:
            if self.max_features is not None and len(q.design.axes) > self.max_features:
                self._smooth(q)  # features are selected on the penalised system
                q.restrict(self._select(q))
            self._smooth(q)
        return queries

    def _smooth(self, q: _Query) -> None:
        """Set ``q``'s smoothing and solve its penalised system: the smoothing chosen for
        its design as it stands (main effects, then again with the pairs, whose ridge it
        also sets), or the value given."""
        if self.smoothing == "auto":
            q.choose_smoothing(SMOOTHING_GRID)
        else:
            q.smooth(float(self.smoothing))

    def fit_stages(
        self,
        problem: LocalProblem,
        features: tuple[Feature, ...],
        z_names: tuple[str, ...],
        seed: np.random.SeedSequence,
        interactions: Sequence[int],
    ) -> Iterator[tuple[int, float | None, Callable[[], LocalFit]]]:
        """``(k, leave-one-out R^2, fit)`` for each number of pairwise terms ``k``, ascending.

        ``fit()`` is the fit ``fit_local`` gives this family with ``interactions=k`` (the
        same steps and seed), assembled only when asked for; all stages share one
        main-effect fit, and a caller that stops early pays for no later stage. The
        figure is :func:`stage_r2`.
        """
        check_problems([problem], features, [seed])
        q: _Query | None = None
        for k in sorted(set(interactions)):
            family = self._with_interactions(k)
            family._check(len(features))
            with one_thread(user_api="blas"):  # small systems: one thread is fastest
                if q is None:
                    q = self._main_effects([problem], features, z_names)[0]
                staged = q
                if k:
                    staged = copy.copy(q)  # pairs replace the query's arrays, never edit them
                    staged.add_pairs(family._screen(staged))
                    family._smooth(staged)
                figure = stage_r2(staged)
            yield k, figure, functools.partial(family._assemble, staged, features, z_names, seed)

    def _assemble(
        self, q: _Query, features: tuple[Feature, ...], z_names: tuple[str, ...], seed: Any
    ) -> LocalFit:
        with one_thread(user_api="blas"):  # small systems: one thread is fastest
            return self._local_fit(q, features, z_names, seed)

    def _with_interactions(self, k: int) -> AdditiveSurrogate:
        settings = {name: getattr(self, name) for name in self.constraints}
        return AdditiveSurrogate(**{**settings, "interactions": k})

    def _prepare(
        self, problem: LocalProblem, features: tuple[Feature, ...], z_names: tuple[str, ...]
    ) -> _Query:
        y = problem.y_fit
        w = problem.w_fit
        mean = float(w @ y / w.sum())
        constant = float(w @ (y - mean) ** 2 / w.sum()) <= constant_variance(mean)
        axes: list[_Axis] = []
        notes: list[_MergeNote] = []
        if not constant:
            axes, notes = _learn_axes(
                problem.values_fit, features, z_names, self.n_bins, self.min_rows
            )
        query = _Query(problem=problem, mean=mean, notes=_merge_notes(notes, self.min_rows))
        query.build(_Design(axes=tuple(axes), pairs=()))
        return query

    def _select(self, q: _Query) -> tuple[_Axis, ...]:
        """Group forward selection of ``max_features`` axes on the penalised Gram matrix."""
        design = q.design
        a, c = q.system()
        groups = [
            design.reduced_columns(design.columns_of_axis(t)) for t in range(len(design.axes))
        ]
        names = [axis.name for axis in design.axes]
        chosen: list[int] = []
        selected = [0]
        base = float(c[0] ** 2 / a[0, 0])
        for _ in range(int(self.max_features or 0)):
            a_inv = np.linalg.inv(a[np.ix_(np.array(selected), np.array(selected))])
            k = a[:, selected] @ a_inv
            u = c - k @ c[selected]
            best, best_gain = -1, base * _MIN_GAIN
            for t in sorted(set(range(len(groups))) - set(chosen), key=lambda t: names[t]):
                cols = groups[t]
                schur = a[np.ix_(cols, cols)] - k[cols] @ a[np.ix_(np.array(selected), cols)]
                gain = float(u[cols] @ np.linalg.solve(schur, u[cols]))
                if gain > best_gain * (1 + _MIN_GAIN):
                    best, best_gain = t, gain
            if best < 0:
                break
            chosen.append(best)
            selected += list(groups[best])
        return tuple(design.axes[t] for t in sorted(chosen))

    def _screen(self, q: _Query) -> tuple[tuple[int, int], ...]:
        """The ``interactions`` pairs of axes whose coarse grids best fit the main-effect residual.

        A pair's score is its interaction sum of squares: what the cell means of its
        grid explain of the residual beyond its row and column means (FAST).
        """
        design = q.design
        n_axes = len(design.axes)
        available = n_axes * (n_axes - 1) // 2
        if self.interactions > available:
            raise ParameterError(
                f"interactions={self.interactions} asks for more feature pairs than this "
                f"neighbourhood has: {n_axes} features vary in it, giving {available} pairs."
            )
        problem = q.problem
        w = problem.w_fit
        coarse = [_coarse(axis) for axis in design.axes]
        sizes = np.array([c.n_levels for c in coarse])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        codes = np.stack([c.of_level[q.levels[:, t]] for t, c in enumerate(coarse)], axis=1)
        grid = _indicators(codes + offsets, int(sizes.sum()))
        s_cells = (grid.T.tocsr() @ _row_scaled(grid, w * q.residual())).toarray()
        # the cells' weights are the fine levels' contingency tables, added up
        fine = np.concatenate(
            [design.starts[t] + np.arange(a.n_levels) for t, a in enumerate(design.axes)]
        )
        to_coarse = np.zeros((len(fine), int(sizes.sum())))
        to_coarse[
            np.arange(len(fine)),
            np.concatenate([offsets[t] + c.of_level for t, c in enumerate(coarse)]),
        ] = 1.0
        n_cells = to_coarse.T @ q.gram[np.ix_(fine, fine)] @ to_coarse
        first, second = np.triu_indices(n_axes, 1)
        width = int(sizes.max())
        inside = np.arange(width)
        rows = offsets[first][:, None] + np.minimum(inside[None, :], sizes[first][:, None] - 1)
        cols = offsets[second][:, None] + np.minimum(inside[None, :], sizes[second][:, None] - 1)
        valid = (inside[None, :] < sizes[first][:, None])[:, :, None] & (
            inside[None, :] < sizes[second][:, None]
        )[:, None, :]
        s = np.where(valid, s_cells[rows[:, :, None], cols[:, None, :]], 0.0)
        n = np.where(valid, n_cells[rows[:, :, None], cols[:, None, :]], 0.0)
        gain = (
            _explained(s, n, (1, 2))
            - _explained(s.sum(axis=2), n.sum(axis=2), (1,))
            - _explained(s.sum(axis=1), n.sum(axis=1), (1,))
            + _explained(s.sum(axis=(1, 2)), n.sum(axis=(1, 2)), ())
        )
        names = [axis.name for axis in design.axes]
        order = sorted(
            range(len(first)),
            key=lambda p: (-gain[p], names[first[p]], names[second[p]]),
        )
        return tuple((int(first[p]), int(second[p])) for p in order[: self.interactions])

    def _local_fit(
        self,
        q: _Query,
        features: tuple[Feature, ...],
        z_names: tuple[str, ...],
        seed: np.random.SeedSequence,
    ) -> LocalFit:
        problem = q.problem
        design = q.design
        beta = q.purified(q.beta_full()[:, None])[:, 0]
        population = None if problem.reference is None else problem.reference.population
        # the reference the shapes are centred on: the population's mean design row, or
        # the fitting neighbourhood's (kernel-weighted)
        xbar = (
            q.weighted_mean_row(problem.w_fit)
            if population is None
            else _population_mean_row(design, population)
        )
        xq = q.x_query()
        contributions = design.term_sums((xq - xbar) * beta)
        name = NEIGHBOURHOOD if population is None else problem.reference.name  # type: ignore[union-attr]
        content = _content(q, beta, xbar, contributions, features, name)
        main = np.zeros(len(z_names))
        for t, axis in enumerate(design.axes):
            main[axis.column] = contributions[t]
        ranking = tuple(term.feature for term in content.terms if term.contribution != 0.0)
        k = min(STABILITY_K, max(1, len(design.axes)))
        stability = self._stability(
            q, seed, z_names, ranking, main, k, None if population is None else xbar
        )
        hold = design.matrix(problem.values_hold)
        return LocalFit(
            pred_fit=q.x @ beta,
            pred_hold=hold @ beta,
            pred_population=None
            if problem.values_population is None
            else design.matrix(problem.values_population) @ beta,
            content=content,
            ranking=ranking,
            stability=stability,
            notes=q.said(),
        )

    def _stability(self, q, seed, z_names, ranking, main, k, xbar_population) -> Stability:
        method = "one-step bootstrap of the fitting sample (bins, features and pairs fixed)"
        if self.n_bootstrap == 0:
            resampled = np.empty((0, len(z_names)))
        else:
            resampled = self._bootstrap(q, seed, len(z_names), xbar_population)
        return summarise_bootstrap(
            names=z_names,
            top=ranking[:k],
            resampled_weights=resampled,
            k=k,
            reference=main,
            method=method,
        )

    def _bootstrap(
        self,
        q: _Query,
        seed: np.random.SeedSequence,
        n_names: int,
        xbar_population: np.ndarray | None,
    ) -> np.ndarray:
        """Main-effect contributions of every resample, shape (n_bootstrap, n_names).

        Resample ``b`` reweighs the rows by ``omega_b``; its coefficients are one Newton
        step from the full fit, ``beta + delta_b`` (see the module doc). Against the
        neighbourhood its contributions are re-centred on ``omega_b``, to first order in
        ``delta_b``: ``x_q (beta + delta_b) - mean_omega_b(X beta) - mean_w(X) delta_b``
        per term; against a population, whose rows no resample changes, they are
        ``(x_q - mean_population(X)) (beta + delta_b)``.
        """
        problem = q.problem
        w = problem.w_fit
        counts = bootstrap_counts(seed, len(w), self.n_bootstrap)  # (B, n)
        resampled = w[None, :] * counts
        design = q.design
        moved = q.x.T @ ((resampled - w) * q.residual()).T  # (size, B)
        delta = q.purified(design.expand(q.inverse @ moved[design.reduced]))
        beta = q.purified(q.beta_full()[:, None])
        xq = q.x_query()[:, None]
        if xbar_population is not None:
            contributions = design.term_sums((xq - xbar_population[:, None]) * (beta + delta))
        else:
            fitted = q.term_fitted(beta[:, 0])  # (n, terms)
            means = (resampled @ fitted) / resampled.sum(axis=1)[:, None]  # (B, terms)
            xbar = q.weighted_mean_row(w)[:, None]
            contributions = design.term_sums(xq * (beta + delta) - xbar * delta) - means.T
        out = np.zeros((self.n_bootstrap, n_names))
        for t, axis in enumerate(design.axes):
            out[:, axis.column] = contributions[t]
        return out


# ---- one feature's levels ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # compared by identity (holds arrays)
class _Axis:
    """One feature's levels in one neighbourhood: bins (numbers) or categories, and a line.

    Level ``reference`` holds the query. Numbers: bins ``0 .. len(edges)`` between the
    ``edges``, then ``missing_level`` when missing values have a level of their own;
    the line's column is ``(x - origin) / spread`` (0 for a missing value), none when
    ``spread`` is None. Categories: ``codes[l]`` are the category codes of level ``l``;
    ``other_level`` is the level of the rarer ones (None when they joined the query's).
    """

    column: int
    name: str
    kind: str
    n_levels: int
    reference: int
    feature: Feature
    edges: np.ndarray = field(default_factory=lambda: np.empty(0))
    missing_level: int | None = None
    origin: float = 0.0
    spread: float | None = None
    low: float = 0.0
    high: float = 0.0
    counts: np.ndarray = field(default_factory=lambda: np.empty(0))
    codes: tuple[tuple[int, ...], ...] = ()
    other_level: int | None = None
    query_code: int = MISSING_CODE
    lookup: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def n_bins(self) -> int:
        return len(self.edges) + 1

    def levels(self, x: np.ndarray) -> np.ndarray:
        """Each value's level."""
        if self.kind == "category":
            codes = np.where(np.isnan(x), MISSING_CODE, x).astype(np.int64)
            return self.lookup[codes - MISSING_CODE]
        missing = np.isnan(x)
        levels = np.searchsorted(self.edges, np.where(missing, self.origin, x), side="right")
        if missing.any():
            levels[missing] = self.reference if self.missing_level is None else self.missing_level
        return levels

    def line(self, x: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(x), 0.0, (x - self.origin) / (self.spread or 1.0))


@dataclass(frozen=True)
class _MergeNote:
    name: str
    kind: str  # "bins", "missing", "other", "joined"
    detail: str


def _learn_axes(
    values: np.ndarray,
    features: tuple[Feature, ...],
    z_names: tuple[str, ...],
    n_bins: int,
    min_rows: int,
) -> tuple[list[_Axis], list[_MergeNote]]:
    """The levels of every feature that varies in the fitting sample, and what was merged."""
    edges = _quantile_edges(values, features, n_bins)
    axes: list[_Axis] = []
    notes: list[_MergeNote] = []
    for j, feature in enumerate(features):
        x = values[:, j]
        if feature.is_numeric:
            axis, said = _number_axis(j, z_names[j], feature, x, edges.get(j), min_rows)
        else:
            axis, said = _category_axis(j, z_names[j], feature, x, min_rows)
        if axis is not None:
            axes.append(axis)
        notes += said
    return axes, notes


def _quantile_edges(
    values: np.ndarray, features: tuple[Feature, ...], n_bins: int
) -> dict[int, np.ndarray]:
    """Each number's quantile edges over its sampled (present) values; one call for the
    columns without missing values."""
    numbers = [j for j, f in enumerate(features) if f.is_numeric]
    complete = [j for j in numbers if not np.isnan(values[:, j]).any()]
    out = {}
    if complete:
        block = quantile_edges(values[:, complete], n_bins)
        out = {j: block[:, k] for k, j in enumerate(complete)}
    for j in sorted(set(numbers) - set(complete)):
        present = values[~np.isnan(values[:, j]), j]
        if len(present):
            out[j] = quantile_edges(present[:, None], n_bins)[:, 0]
    for j, edges in out.items():
        if len(np.unique(edges)) < len(edges):  # quantiles piled up on an atom
            present = values[~np.isnan(values[:, j]), j]
            out[j] = _edges_beside_atoms(present, edges, n_bins)
    return out


def _edges_beside_atoms(present: np.ndarray, edges: np.ndarray, n_bins: int) -> np.ndarray:
    """``edges`` and the quantile edges of the values off the atoms (values holding at
    least 1/``n_bins`` of the rows each, such as a capital gain of 0).

    An atom takes several quantiles and leaves the rest of the range few bins: a
    capital gain that is 0 in 92% of rows got one bin from 1,500 to 99,999, across
    which the model first falls steeply and then levels off. The values off the atoms
    get bins of their own; bins left with too few rows are merged as any others.
    """
    distinct, counts = np.unique(present, return_counts=True)
    rest = present[~np.isin(present, distinct[counts * n_bins >= len(present)])]
    if not len(rest):
        return edges
    return np.union1d(edges, quantile_edges(rest[:, None], n_bins)[:, 0])


def _number_axis(column, name, feature, x, raw_edges, min_rows):
    missing = np.isnan(x)
    present = x[~missing]
    n_missing = int(missing.sum())
    low = float(present.min()) if len(present) else 0.0
    high = float(present.max()) if len(present) else 0.0
    varies = high > low
    if not varies and not (n_missing and len(present)):
        return None, []
    notes = []
    query_missing = bool(missing[0])
    edges = np.empty(0)
    counts = np.array([len(present)])
    if varies:
        edges = np.unique(raw_edges)
        edges = edges[edges > low]
        counts = np.bincount(
            np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1
        )
        edges, counts, merged = _merge_small_bins(edges, counts, min_rows)
        if merged:
            notes.append(
                _MergeNote(name, "bins", f"{name} ({len(counts) + merged} -> {len(counts)} bins)")
            )
    origin = float(np.median(present)) if query_missing else float(x[0])
    spread = float(np.std(present)) if varies else 0.0
    n_levels = len(edges) + 1
    missing_level = None
    if query_missing or n_missing >= min_rows:
        missing_level = n_levels
        n_levels += 1
    elif n_missing:
        notes.append(_MergeNote(name, "missing", f"{name} ({n_missing} rows)"))
    reference = (
        missing_level if query_missing else int(np.searchsorted(edges, origin, side="right"))
    )
    axis = _Axis(
        column=column,
        name=name,
        kind="number",
        n_levels=n_levels,
        reference=int(reference),  # type: ignore[arg-type]
        feature=feature,
        edges=edges,
        missing_level=missing_level,
        origin=origin,
        spread=spread if spread > 0 else None,
        low=low,
        high=high,
        counts=np.append(counts, n_missing) if missing_level is not None else counts,
    )
    return axis, notes


def _merge_small_bins(
    edges: np.ndarray, counts: np.ndarray, min_rows: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Merge each bin of fewer than ``min_rows`` rows into its smaller neighbour, smallest
    first; returns the edges and counts left and how many non-empty bins were merged."""
    cuts, rows = [float(e) for e in edges], [int(c) for c in counts]
    merged = 0
    while len(rows) > 1 and min(rows) < min_rows:
        i = int(np.argmin(rows))
        if i == 0:
            j = 1
        elif i == len(rows) - 1:
            j = i - 1
        else:
            j = i - 1 if rows[i - 1] <= rows[i + 1] else i + 1
        merged += rows[i] > 0
        low = min(i, j)
        rows[low] = rows[i] + rows[j]
        del rows[low + 1]
        del cuts[low]
    return np.array(cuts, dtype=np.float64), np.array(rows, dtype=np.int64), merged


def _category_axis(column, name, feature, x, min_rows):
    codes = np.where(np.isnan(x), MISSING_CODE, x).astype(np.int64)
    tally = np.bincount(codes - MISSING_CODE)
    present = np.flatnonzero(tally) + MISSING_CODE
    counts = tally[present - MISSING_CODE]
    if len(present) <= 1:
        return None, []
    query = int(codes[0])
    own = [int(c) for c, n in zip(present, counts, strict=True) if n >= min_rows or c == query]
    rare = [int(c) for c, n in zip(present, counts, strict=True) if n < min_rows and c != query]
    rare_rows = int(sum(tally[c - MISSING_CODE] for c in rare))
    groups = [(c,) for c in own]
    other_level = None
    notes = []
    labels = ", ".join(repr(feature.label(c)) for c in rare)
    if rare and rare_rows >= min_rows:
        other_level = len(groups)
        groups.append(tuple(rare))
        notes.append(_MergeNote(name, "other", f"{name} ({labels})"))
    elif rare:
        index = own.index(query)
        groups[index] = tuple(sorted(groups[index] + tuple(rare)))
        notes.append(_MergeNote(name, "joined", f"{name} ({labels})"))
    if len(groups) <= 1:
        return None, notes
    reference = next(level for level, group in enumerate(groups) if query in group)
    rest = reference if other_level is None else other_level
    lookup = np.full(len(feature.categories) + 1 - MISSING_CODE, rest, dtype=np.int64)
    for level, group in enumerate(groups):
        lookup[np.array(group) - MISSING_CODE] = level
    axis = _Axis(
        column=column,
        name=name,
        kind="category",
        n_levels=len(groups),
        reference=reference,
        feature=feature,
        codes=tuple(groups),
        other_level=other_level,
        query_code=query,
        lookup=lookup,
        counts=np.array([tally[np.array(g) - MISSING_CODE].sum() for g in groups]),
    )
    return axis, notes


def _merge_notes(notes: Sequence[_MergeNote], min_rows: int) -> tuple[str, ...]:
    """The merges of one neighbourhood, one sentence per kind."""
    sentences = {
        "bins": f"Additive surrogate: bins with fewer than {min_rows} rows were merged into a "
        "neighbouring bin: {}.",
        "missing": f"Additive surrogate: missing values in fewer than {min_rows} rows share the "
        "query's bin: {}.",
        "other": f"Additive surrogate: categories in fewer than {min_rows} rows each share one "
        "effect ('other'): {}.",
        "joined": f"Additive surrogate: categories in fewer than {min_rows} rows, too few even "
        "together, share the query's category's effect: {}.",
    }
    out = []
    for kind, sentence in sentences.items():
        details = [n.detail for n in notes if n.kind == kind]
        if details:
            out.append(sentence.format("; ".join(details)))
    return tuple(out)


# ---- coarse grids for pairs --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # compared by identity (holds arrays)
class _Coarse:
    """An axis's levels grouped into at most ``COARSE_LEVELS`` (+ missing) for a pair's grid."""

    axis: _Axis
    of_level: np.ndarray  # fine level -> coarse level
    n_levels: int
    edges: np.ndarray  # numbers: the fine edges kept
    other: bool  # categories: the last coarse level takes every other category


def _coarse(axis: _Axis) -> _Coarse:
    """Numbers: bins grouped at about the quartiles of the rows (missing apart). Categories:
    the query's level and the most frequent others, the rest together."""
    counts = axis.counts.astype(np.float64)
    if axis.kind == "number":
        bins = axis.n_bins
        share = np.cumsum(counts[:bins]) / counts[:bins].sum()
        starts = sorted(
            {int(np.argmax(share >= k / COARSE_LEVELS)) + 1 for k in range(1, COARSE_LEVELS)}
            - {bins}
        )
        of_bin = np.searchsorted(np.array(starts, dtype=np.int64), np.arange(bins), side="right")
        n_levels = len(starts) + 1
        of_level = of_bin
        if axis.missing_level is not None:
            of_level = np.append(of_bin, n_levels)
            n_levels += 1
        edges = axis.edges[np.array(starts, dtype=np.int64) - 1] if starts else np.empty(0)
        return _Coarse(axis, of_level.astype(np.int64), n_levels, edges, False)
    others = sorted(
        (level for level in range(axis.n_levels) if level != axis.reference),
        key=lambda level: (-counts[level], level),
    )
    own = sorted([axis.reference] + others[: COARSE_LEVELS - 2])
    rest = others[COARSE_LEVELS - 2 :]
    of_level = np.full(axis.n_levels, len(own), dtype=np.int64)
    for coarse, level in enumerate(own):
        of_level[level] = coarse
    return _Coarse(axis, of_level, len(own) + (1 if rest else 0), np.empty(0), bool(rest))


# ---- the design of one query -----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # compared by identity (holds arrays)
class _Design:
    """Columns of one query's surrogate: intercept, each axis's levels and line, each pair's cells.

    The *full* layout has every level; the *reduced* one (``reduced``, what is solved)
    leaves out each axis's reference level, so a shape is zero at the query's level
    until it is centred.
    """

    axes: tuple[_Axis, ...]
    pairs: tuple[tuple[_Coarse, _Coarse], ...]

    def __post_init__(self) -> None:
        position = 1
        starts, lines, cells = [], [], []
        for axis in self.axes:
            starts.append(position)
            position += axis.n_levels
            if axis.spread is not None:
                lines.append(position)
                position += 1
            else:
                lines.append(-1)
        for a, b in self.pairs:
            cells.append(position)
            position += a.n_levels * b.n_levels
        term = np.full(position, -1, dtype=np.int64)
        for t, axis in enumerate(self.axes):
            term[starts[t] : starts[t] + axis.n_levels] = t
            if lines[t] >= 0:
                term[lines[t]] = t
        for p, (a, b) in enumerate(self.pairs):
            term[cells[p] : cells[p] + a.n_levels * b.n_levels] = len(self.axes) + p
        dropped = [starts[t] + axis.reference for t, axis in enumerate(self.axes)]
        object.__setattr__(self, "starts", tuple(starts))
        object.__setattr__(self, "lines", tuple(lines))
        object.__setattr__(self, "cells", tuple(cells))
        object.__setattr__(self, "size", position)
        object.__setattr__(self, "term", term)
        object.__setattr__(self, "reduced", np.setdiff1d(np.arange(position), dropped))

    starts: tuple[int, ...] = field(init=False)
    lines: tuple[int, ...] = field(init=False)
    cells: tuple[int, ...] = field(init=False)
    size: int = field(init=False)
    term: np.ndarray = field(init=False)
    reduced: np.ndarray = field(init=False)

    def columns_of_axis(self, t: int) -> np.ndarray:
        return np.flatnonzero(self.term == t)

    def reduced_columns(self, full: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.reduced, np.intersect1d(full, self.reduced))

    def expand(self, reduced: np.ndarray) -> np.ndarray:
        """Reduced-layout coefficients (rows) in the full layout, zero at reference levels."""
        out = np.zeros((self.size,) + reduced.shape[1:])
        out[self.reduced] = reduced
        return out

    def term_sums(self, per_column: np.ndarray) -> np.ndarray:
        """Sum of a per-column quantity (rows: full layout) over each term's columns."""
        return self.indicator() @ per_column

    def indicator(self) -> sparse.csr_matrix:
        """(terms, size): which columns belong to each term."""
        keep = np.flatnonzero(self.term >= 0)
        return sparse.csr_matrix(
            (np.ones(len(keep)), (self.term[keep], keep)),
            shape=(len(self.axes) + len(self.pairs), self.size),
        )

    def levels(self, values: np.ndarray) -> np.ndarray:
        """Each row's level on every axis, shape (n, axes)."""
        if not self.axes:
            return np.zeros((len(values), 0), dtype=np.int64)
        return np.stack([axis.levels(values[:, axis.column]) for axis in self.axes], axis=1)

    def matrix(self, values: np.ndarray, levels: np.ndarray | None = None) -> sparse.csr_matrix:
        """The full design of rows ``values`` (sparse), their ``levels`` if already known."""
        levels = self.levels(values) if levels is None else levels
        n = len(values)
        lines = [t for t in range(len(self.axes)) if self.lines[t] >= 0]
        columns = np.concatenate(
            [
                np.zeros((n, 1), dtype=np.int64),
                levels + np.array(self.starts, dtype=np.int64),
                np.broadcast_to(
                    np.array([self.lines[t] for t in lines], dtype=np.int64), (n, len(lines))
                ),
            ],
            axis=1,
        )
        data = np.concatenate(
            [np.ones((n, 1 + len(self.axes)))]
            + [self.axes[t].line(values[:, self.axes[t].column])[:, None] for t in lines],
            axis=1,
        )
        main = _rows_matrix(columns, data, self.size)
        if not self.pairs:
            return main
        return sparse.hstack([main[:, : self.cells[0]], self.pair_matrix(levels)], format="csr")

    def pair_matrix(self, levels: np.ndarray) -> sparse.csr_matrix:
        """The pairs' cell columns of rows on ``levels`` (the last columns of the full design)."""
        index = {id(axis): t for t, axis in enumerate(self.axes)}
        columns = np.stack(
            [
                self.cells[p]
                - self.cells[0]
                + a.of_level[levels[:, index[id(a.axis)]]] * b.n_levels
                + b.of_level[levels[:, index[id(b.axis)]]]
                for p, (a, b) in enumerate(self.pairs)
            ],
            axis=1,
        )
        return _rows_matrix(columns, np.ones(columns.shape), self.size - self.cells[0])

    @functools.cached_property
    def unit_penalty(self) -> np.ndarray:
        """Full-layout penalty at smoothing 1: neighbouring-bin differences of each number,
        ridge on pair cells."""
        out = np.zeros((self.size, self.size))
        for t, axis in enumerate(self.axes):
            if axis.kind != "number" or axis.n_bins < 2:
                continue
            at = self.starts[t] + np.arange(axis.n_bins)
            diff = np.diff(np.eye(axis.n_bins), axis=0)
            out[np.ix_(at, at)] += diff.T @ diff
        for p, (a, b) in enumerate(self.pairs):
            at = self.cells[p] + np.arange(a.n_levels * b.n_levels)
            out[at, at] += 1.0
        return out


class _Query:
    """One query's fit in progress: its design, Gram matrix and solution."""

    def __init__(self, problem: LocalProblem, mean: float, notes: tuple[str, ...]) -> None:
        self.problem = problem
        self.mean = mean
        self.notes = notes

    def build(self, design: _Design) -> None:
        w = self.problem.w_fit
        self.design = design
        self.levels = design.levels(self.problem.values_fit)
        self.x = design.matrix(self.problem.values_fit, self.levels)
        self.gram = _gram(self.x, w)
        self.cross = self.x.T @ (w * (self.problem.y_fit - self.mean))
        self.smoothing = 0.0
        self.chosen_from: tuple[float, ...] = ()  # the values the smoothing was chosen among
        self.row_weight = float(w.mean())  # a smoothing of one row pulls this hard

    def smooth(self, smoothing: float) -> None:
        """Solve at ``smoothing``, as given."""
        self.smoothing = smoothing
        self.chosen_from = ()
        self.solve()

    def solve(self) -> None:
        """The penalised system at the current smoothing, solved through its inverse."""
        lhs, rhs = self.system()
        inverse = _spd_inverse(lhs)
        self.solved(inverse @ rhs, inverse)

    def said(self) -> tuple[str, ...]:
        """The notes of this fit: what was merged, and the smoothing if it was chosen."""
        if not self.chosen_from:
            return self.notes
        return self.notes + (
            f"Smoothing {self.smoothing:g} rows, chosen by generalised cross-validation "
            f"among {', '.join(f'{v:g}' for v in self.chosen_from)}.",
        )

    def choose_smoothing(self, grid: Sequence[float]) -> None:
        """Solve at the smoothing of ``grid`` (ascending) with the lowest GCV score; none to
        choose when no number has bins to smooth. The winner's inverse is kept: its system
        is not factorised again.

        The score is read as unimodal along the grid (it is a smooth function of the log
        of the smoothing): the search starts in the middle and walks downhill, stopping
        where the next value scores no lower, so about three of the values are fitted.
        """
        if not self.design.unit_penalty.any():
            self.solve()
            return
        gram, unit, cross = self.reduced()
        y = self.problem.y_fit - self.mean
        yy, n = float(self.problem.w_fit @ y**2), len(y)
        scores: dict[int, float] = {}
        inverses: dict[int, np.ndarray] = {}

        def score(i: int) -> float:
            if not 0 <= i < len(grid):
                return np.inf
            if i not in scores:
                inverses[i] = _spd_inverse(_penalised(gram, unit, grid[i] * self.row_weight))
                scores[i] = _gcv_of(gram, cross, inverses[i], yy, n)
            return scores[i]

        at = len(grid) // 2
        step = -1 if score(at - 1) < score(at) else 1
        while score(at + step) < score(at):
            at += step
        self.smoothing = float(grid[at])
        self.chosen_from = tuple(grid)
        self.solved(inverses[at] @ cross, inverses[at])

    def restrict(self, axes: tuple[_Axis, ...]) -> None:
        """Keep only ``axes``: the same Gram matrix, fewer columns."""
        old = self.design
        kept = [old.axes.index(axis) for axis in axes]
        take = np.concatenate([[0]] + [old.columns_of_axis(t) for t in kept])
        self.design = _Design(axes=axes, pairs=())
        self.levels = self.levels[:, kept]
        self.x = self.x[:, take]
        self.gram = self.gram[np.ix_(take, take)]
        self.cross = self.cross[take]

    def add_pairs(self, pairs: tuple[tuple[int, int], ...]) -> None:
        """Append the pairs' cell columns: only the Gram blocks they touch are computed."""
        axes = self.design.axes
        coarse = [_coarse(axis) for axis in axes]
        design = _Design(axes=axes, pairs=tuple((coarse[a], coarse[b]) for a, b in pairs))
        w = self.problem.w_fit
        cells = design.pair_matrix(self.levels)
        x = sparse.hstack([self.x, cells], format="csr")
        block = (_row_scaled(cells, w).T.tocsr() @ x).toarray()  # (cells, size)
        old = self.gram.shape[0]
        gram = np.empty((design.size, design.size))
        gram[:old, :old] = self.gram
        gram[old:, :] = block
        gram[:old, old:] = block[:, :old].T
        self.design = design
        self.x = x
        self.gram = gram
        self.cross = np.concatenate([self.cross, cells.T @ (w * (self.problem.y_fit - self.mean))])

    def residual(self) -> np.ndarray:
        return self.problem.y_fit - self.fitted()

    def reduced(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gram matrix, penalty at smoothing 1 and cross-products in the reduced layout."""
        r = self.design.reduced
        return self.gram[np.ix_(r, r)], self.design.unit_penalty[np.ix_(r, r)], self.cross[r]

    def system(self) -> tuple[np.ndarray, np.ndarray]:
        gram, unit, cross = self.reduced()
        return _penalised(gram, unit, self.smoothing * self.row_weight), cross

    def solved(self, beta: np.ndarray, inverse: np.ndarray) -> None:
        self.beta = beta
        self.inverse = inverse

    def beta_full(self) -> np.ndarray:
        out = self.design.expand(self.beta)
        out[0] += self.mean
        return out

    def fitted(self) -> np.ndarray:
        return self.x @ self.beta_full()

    def x_query(self) -> np.ndarray:
        row = np.zeros(self.design.size)
        start, stop = self.x.indptr[0], self.x.indptr[1]
        np.add.at(row, self.x.indices[start:stop], self.x.data[start:stop])
        return row

    def term_fitted(self, beta: np.ndarray) -> np.ndarray:
        """Every term's value (full-layout coefficients ``beta``) on every fitting row: (n, terms)."""
        design = self.design
        values = self.problem.values_fit
        fitted = [beta[self.levels + np.array(design.starts, dtype=np.int64)]]
        for t, axis in enumerate(design.axes):
            if design.lines[t] >= 0:
                fitted[0][:, t] += beta[design.lines[t]] * axis.line(values[:, axis.column])
        if design.pairs:
            cells = design.pair_matrix(self.levels).indices.reshape(len(values), -1)
            fitted.append(beta[design.cells[0] + cells])
        return np.concatenate(fitted, axis=1)

    def weighted_mean_row(self, w: np.ndarray) -> np.ndarray:
        return self.x.T @ w / w.sum()

    def purified(self, beta: np.ndarray) -> np.ndarray:
        """Coefficients (full layout, one column per coefficient vector) with each pair's
        weighted row and column means moved into its two main effects (see the module doc)."""
        design = self.design
        if not design.pairs:
            return beta
        beta = beta.copy()
        weight = np.diag(self.gram)
        for p, (a, b) in enumerate(design.pairs):
            la, lb = a.n_levels, b.n_levels
            at = design.cells[p] + np.arange(la * lb)
            table = beta[at].reshape(la, lb, -1)
            cells = weight[at].reshape(la, lb)
            rows, cols = _two_way(table, cells)
            beta[at] = (table - rows[:, None, :] - cols[None, :, :]).reshape(la * lb, -1)
            for coarse, effect in ((a, rows), (b, cols)):
                t = design.axes.index(coarse.axis)
                levels = design.starts[t] + np.arange(coarse.axis.n_levels)
                beta[levels] += effect[coarse.of_level]
        return beta


def stage_r2(q: _Query) -> float | None:
    """Weighted R^2 of a solved query's leave-one-out predictions (on
    :func:`~.base.leave_one_out_rows`), bins, features and pairs held as chosen: the fit
    is a penalised least-squares smoother, so one fit gives every row's figure."""
    rows = leave_one_out_rows(q.x.shape[0])
    x = q.x[rows][:, q.design.reduced].toarray()
    w = q.problem.w_fit[rows]
    leverage = w * np.einsum("ij,ij->i", x @ q.inverse, x)
    return leave_one_out_r2(q.problem.y_fit[rows], q.residual()[rows], leverage, w)


def _penalised(gram: np.ndarray, unit: np.ndarray, strength: float) -> np.ndarray:
    """The penalised system's matrix: Gram matrix plus ``strength`` times the unit penalty."""
    return ridged(gram + strength * unit)


def _gcv(
    gram: np.ndarray, unit: np.ndarray, cross: np.ndarray, strength: float, yy: float, n: int
) -> float:
    """GCV score of the fit at penalty ``strength`` (reduced layout; ``yy`` = y'Wy of the
    centred response, ``n`` rows): weighted RSS / (1 - edf / n)^2, from the Gram matrix
    alone (``RSS = y'Wy - 2 b'c + b'Gb``, ``edf = tr(A^-1 G)``)."""
    return _gcv_of(gram, cross, _spd_inverse(_penalised(gram, unit, strength)), yy, n)


def _gcv_of(gram: np.ndarray, cross: np.ndarray, inverse: np.ndarray, yy: float, n: int) -> float:
    """:func:`_gcv` with the penalised system's ``inverse`` given."""
    beta = inverse @ cross
    rss = max(yy - 2.0 * float(beta @ cross) + float(beta @ gram @ beta), 0.0)
    edf = float(np.sum(inverse * gram))
    return rss / max(1.0 - edf / n, 1e-12) ** 2


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive definite matrix, by Cholesky (half an LU's work)."""
    factor, info = lapack.dpotrf(matrix, lower=1)
    if info == 0:
        inverse, info = lapack.dpotri(factor, lower=1)
    if info != 0:  # not numerically positive definite: fall back on LU
        return np.linalg.inv(matrix)
    return np.tril(inverse) + np.tril(inverse, -1).T


def _rows_matrix(columns: np.ndarray, data: np.ndarray, width: int) -> sparse.csr_matrix:
    """A sparse matrix with the same number of entries in every row: ``columns``, ``data`` (n, k)."""
    n, per_row = columns.shape
    return sparse.csr_matrix(
        (data.ravel(), columns.ravel(), np.arange(0, n * per_row + 1, per_row)), shape=(n, width)
    )


def _gram(x: sparse.csr_matrix, w: np.ndarray) -> np.ndarray:
    """``X' diag(w) X`` of a sparse design, by one symmetric rank-k update (BLAS ``dsyrk``)
    on its dense, row-scaled copy: cheaper than a sparse product at these sizes."""
    n, size = x.shape
    rows = np.repeat(np.arange(n), np.diff(x.indptr))
    dense = np.zeros((n, size), order="F")
    dense[rows, x.indices] = x.data * np.sqrt(w)[rows]
    upper = blas.dsyrk(1.0, dense, trans=1)
    return np.triu(upper) + np.triu(upper, 1).T


def _row_scaled(matrix: sparse.csr_matrix, scale: np.ndarray) -> sparse.csr_matrix:
    """``diag(scale) @ matrix``, without leaving the CSR format."""
    data = matrix.data * np.repeat(scale, np.diff(matrix.indptr))
    return sparse.csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)


def _indicators(columns: np.ndarray, width: int) -> sparse.csr_matrix:
    """0/1 rows with ones at ``columns`` (n, k)."""
    return _rows_matrix(columns, np.ones(columns.shape), width)


def _two_way(table: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares fit of ``table`` (la, lb, K) by row plus column effects
    (weights ``cells``, la x lb): its residual has zero weighted mean along every row and
    column. Returns the row (la, K) and column (lb, K) effects."""
    la, lb = cells.shape
    normal = np.zeros((la + lb, la + lb))
    normal[:la, :la] = np.diag(cells.sum(axis=1))
    normal[la:, la:] = np.diag(cells.sum(axis=0))
    normal[:la, la:] = cells
    normal[la:, :la] = cells.T
    weighted = cells[:, :, None] * table
    rhs = np.concatenate([weighted.sum(axis=1), weighted.sum(axis=0)])
    effects = np.linalg.pinv(normal) @ rhs
    return effects[:la], effects[la:]


def _explained(s: np.ndarray, n: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Weighted sum of squares explained by cell means: sum of s^2 / n over cells (n > 0)."""
    ratio = np.divide(s**2, n, out=np.zeros_like(s), where=n > 0)
    return ratio.sum(axis=axes) if axes else ratio


# ---- the explanation's content ------------------------------------------------------------------------
def _population_mean_row(design: _Design, population: Population) -> np.ndarray:
    """The mean design row (full layout) over a reference population: main effects from
    each column's distinct values and counts, pairs from the rows (they need the joint)."""
    out = np.zeros(design.size)
    out[0] = 1.0
    for t, axis in enumerate(design.axes):
        distinct, counts = population.marginals[axis.column]
        share = counts / counts.sum()
        np.add.at(out, design.starts[t] + axis.levels(distinct), share)
        if design.lines[t] >= 0:
            out[design.lines[t]] = share @ axis.line(distinct)
    if design.pairs:
        cells = design.pair_matrix(design.levels(population.values))
        out[design.cells[0] :] = np.asarray(cells.mean(axis=0)).ravel()
    return out


def _content(q: _Query, beta, xbar, contributions, features, reference: str) -> AdditiveContent:
    design = q.design
    query = q.problem.values_fit[0]
    centre = design.term_sums(xbar * beta)
    terms = []
    for t, axis in enumerate(design.axes):
        levels = beta[design.starts[t] : design.starts[t] + axis.n_levels] - centre[t]
        if axis.kind == "number":
            shape: NumberShape | CategoryShape = _number_shape(axis, levels, beta, design.lines[t])
        else:
            shape = _category_shape(axis, levels)
        terms.append(
            AdditiveTerm(
                feature=axis.name,
                value=_readable(axis.feature, query[axis.column]),
                contribution=float(contributions[t]),
                shape=shape,
            )
        )
    terms.sort(key=lambda term: (-abs(term.contribution), term.feature))
    pairs = []
    for p, (a, b) in enumerate(design.pairs):
        at = design.cells[p] + np.arange(a.n_levels * b.n_levels)
        table = (beta[at] - centre[len(design.axes) + p]).reshape(a.n_levels, b.n_levels)
        pairs.append(
            PairTerm(
                features=(a.axis.name, b.axis.name),
                values=(
                    _readable(a.axis.feature, query[a.axis.column]),
                    _readable(b.axis.feature, query[b.axis.column]),
                ),
                contribution=float(contributions[len(design.axes) + p]),
                axes=(_pair_axis(a), _pair_axis(b)),
                heights=tuple(tuple(float(h) for h in row) for row in table),
            )
        )
    intercept = float(xbar @ beta)
    return AdditiveContent(
        family="additive",
        intercept=intercept,
        reference=reference,
        terms=tuple(terms),
        pairs=tuple(pairs),
    )


def _number_shape(axis: _Axis, levels: np.ndarray, beta: np.ndarray, line: int) -> NumberShape:
    slope = float(beta[line]) / axis.spread if line >= 0 and axis.spread else 0.0
    return NumberShape(
        edges=tuple(float(e) for e in axis.edges),
        heights=tuple(float(h) for h in levels[: axis.n_bins]),
        slope=slope,
        origin=axis.origin,
        low=axis.low,
        high=axis.high,
        missing=None if axis.missing_level is None else float(levels[axis.missing_level]),
    )


def _category_shape(axis: _Axis, levels: np.ndarray) -> CategoryShape:
    label = axis.feature.label
    own = [level for level in range(axis.n_levels) if level != axis.other_level]
    if axis.other_level is not None:
        rare = axis.codes[axis.other_level]
    else:  # the rare ones, if any, joined the query's level
        rare = tuple(c for c in axis.codes[axis.reference] if c != axis.query_code)
    return CategoryShape(
        categories=tuple(
            label(axis.query_code) if level == axis.reference else label(axis.codes[level][0])
            for level in own
        ),
        heights=tuple(float(levels[level]) for level in own),
        other=tuple(label(c) for c in rare),
        other_height=None if axis.other_level is None else float(levels[axis.other_level]),
    )


def _pair_axis(coarse: _Coarse) -> PairAxis:
    axis = coarse.axis
    if axis.kind == "number":
        return PairAxis(
            feature=axis.name,
            kind="number",
            edges=tuple(float(e) for e in coarse.edges),
            missing=axis.missing_level is not None,
        )
    label = axis.feature.label
    groups: list[list[str]] = [[] for _ in range(coarse.n_levels)]
    for level, codes in enumerate(axis.codes):
        groups[coarse.of_level[level]] += [label(c) for c in codes]
    return PairAxis(
        feature=axis.name,
        kind="category",
        groups=tuple(tuple(g) for g in groups),
        other=coarse.other,
    )


def _readable(feature: Feature, value: float) -> float | str | None:
    return feature.readable(value)
