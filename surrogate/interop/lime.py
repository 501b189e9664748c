"""LIME interop: score a LIME explanation with this project's held-out fidelity, and
measure how much any explanation moves when only the random seed changes.

Held-out fidelity of a LIME explanation
---------------------------------------
LIME's linear model does not work on the features themselves but on its own
*interpretable representation*. With ``discretize_continuous=True`` (its default)
every column becomes an indicator "falls in the same quartile bin (numbers) or has
the same category as the query"; without it, numbers are standardised with the
training mean and standard deviation and categories are still same-as-query
indicators. :func:`lime_representation` rebuilds exactly that, using the LIME
explainer's own fitted ``discretizer.discretize`` and ``scaler`` (as
``LimeTabularExplainer.explain_instance`` and its private ``__data_inverse`` do in
lime 0.2.0.1), so LIME's model ``intercept + sum(weight_j * x_j)`` can be
evaluated on rows LIME never saw.

:func:`audit_lime_explanation` evaluates it on the held-out neighbourhood this
project's explainer uses for its own explanation of the same query (the
explainer's sampler, the query's independent "holdout" seed stream, ``n_holdout``
rows) with the explainer's kernel weights, so both tools are scored on identical
rows with identical weights. LIME's predictions are compared with the black box's
output in LIME's scale (class probabilities for classifiers), whatever the
explainer's ``link``. The neighbourhood is *this* project's definition of the
locality; LIME's own in-sample score on its own sample is reported next to it.

Stability across seeds
----------------------
Rerun the explanation of one query with seeds ``0..n-1`` (nothing else changes)
and compare the runs pairwise (:class:`SeedStability`):

- ``top_k_jaccard``: mean Jaccard index of the runs' top-k feature sets;
- ``vsi`` (after the *variables stability index* of Visani et al., "Statistical
  stability indices for LIME", 2020/2022): mean share of the top-k variables two
  runs have in common, ``|A & B| / max(|A|, |B|)``;
- ``csi`` (after their *coefficients stability index*): for each feature and each
  pair of runs that both report an interval for it, whether the two coefficient
  intervals overlap (up to rounding: a relative 1e-9); the share of overlapping pairs, averaged over features. This
  project's linear explanations carry bootstrap intervals (2.5% to 97.5%); LIME
  reports none, so its ``csi`` is None;
- ``sign_agreement``: share of (pair of runs, feature in both top-k sets) where
  both runs give the feature the same sign (signed surrogates only).

All indices lie in [0, 1] (Visani et al. print them in percent).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import Interval, check
from ..errors import DataError, ParameterError, require
from ..explain.pipeline import held_out_rows
from ..explanation import Explanation
from ..fidelity import jaccard, weighted_agreement, weighted_mae, weighted_r2
from ..kernels import kernel_weights
from ..schema import FeatureSchema

#: LIME's decision threshold for class probabilities (agreement figure)
PROBABILITY_THRESHOLD = 0.5
#: relative slack under which two coefficient intervals still count as overlapping (rounding)
_OVERLAP_TOLERANCE = 1e-9


# ---- records ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeedStability:
    """How much one query's explanation moves when only the seed changes (see module doc)."""

    n_seeds: int
    k: int
    top_k_jaccard: float
    vsi: float
    csi: float | None
    sign_agreement: float | None
    #: share of runs whose top k holds each feature (features chosen at least once)
    selection_frequency: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LimeAudit:
    """A LIME explanation scored on this project's held-out neighbourhood.

    ``r2`` is the kernel-weighted R^2 of LIME's linear model against the black box
    on the held-out rows (None when the black box is constant there), ``mae`` and
    ``agreement`` (classification: same side of 0.5) likewise; ``query_gap`` is
    |black box - LIME's model| at the query itself; ``r2_lime_own`` is LIME's own
    ``score``, weighted R^2 on the sample it was fitted on.
    """

    r2: float | None
    mae: float
    agreement: float | None
    query_gap: float
    r2_lime_own: float | None
    n_holdout: int
    label: int
    top_features: tuple[str, ...]
    stability: SeedStability | None


@dataclass(frozen=True)
class _Run:
    """One seed's explanation, reduced to what the indices compare."""

    top: tuple[str, ...]
    weights: dict[str, float] | None
    intervals: dict[str, tuple[float, float]]


# ---- LIME set-up helpers -------------------------------------------------------------------------
def lime_arguments(explainer: Any, X_train: Any) -> dict[str, Any]:
    """Arguments for ``LimeTabularExplainer`` that share the explainer's encoding.

    LIME takes a numeric array with categories as integer codes; this gives it the
    explainer's *values* view (numbers in their units, category codes in the
    schema's order, ``-1`` for missing), so LIME's rows and this project's rows
    mean the same thing and :func:`lime_predict_fn` can score either. ``explainer``
    may also be a bare :class:`~surrogate.FeatureSchema`.
    """
    schema = explainer if isinstance(explainer, FeatureSchema) else explainer.schema
    categorical = [j for j, f in enumerate(schema.features) if not f.is_numeric]
    return {
        "training_data": schema.encode(X_train, what="training data"),
        "feature_names": list(schema.names),
        "categorical_features": categorical,
        # code -1 (missing) indexes the trailing label, as Python's negative indexing does
        "categorical_names": {
            j: [str(c) for c in schema.features[j].categories] + ["missing"] for j in categorical
        },
    }


def make_lime_explainer(explainer: Any, X_train: Any, **options: Any) -> Any:
    """A ``LimeTabularExplainer`` on the explainer's values view; ``options`` go to LIME."""
    lime_tabular = require("lime.lime_tabular", "lime")
    options.setdefault("mode", explainer.blackbox.mode)
    return lime_tabular.LimeTabularExplainer(**lime_arguments(explainer, X_train), **options)


class ValuesPredictor:
    """LIME's ``predict_fn`` on values-view rows: decode them, score them with the explainer's model."""

    def __init__(self, explainer: Any) -> None:
        self.explainer = explainer

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        values = np.asarray(rows, dtype=np.float64)
        return self.explainer.blackbox.predict(self.explainer.schema.decode(values))


def lime_predict_fn(explainer: Any) -> ValuesPredictor:
    """The predict function to give LIME when it was built with :func:`lime_arguments`."""
    return ValuesPredictor(explainer)


def lime_representation(lime_explainer: Any, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """LIME's interpretable representation of ``rows`` around ``query`` (both in LIME's encoding).

    Same-bin / same-category indicators (and standardised numbers when LIME does
    not discretise), scaled by LIME's fitted scaler, exactly as LIME fits its model.
    """
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    query = np.asarray(query, dtype=np.float64).ravel()
    if rows.shape[1] != query.shape[0]:
        raise DataError(f"rows have {rows.shape[1]} columns but the query has {query.shape[0]}.")
    discretizer = lime_explainer.discretizer
    if discretizer is not None:
        rows_d, query_d = discretizer.discretize(rows), discretizer.discretize(query)
        indicator_columns: Iterable[int] = range(rows.shape[1])
    else:
        rows_d, query_d = rows, query
        indicator_columns = lime_explainer.categorical_features
    data = rows.copy()
    for j in indicator_columns:
        data[:, j] = (rows_d[:, j] == query_d[j]).astype(np.float64)
    return (data - lime_explainer.scaler.mean_) / lime_explainer.scaler.scale_


def lime_predict_linear(lime_exp: Any, representation: np.ndarray, label: int) -> np.ndarray:
    """LIME's linear model for ``label`` evaluated on its representation of some rows."""
    terms = _lime_terms(lime_exp, label)
    out = np.full(len(representation), float(lime_exp.intercept[label]))
    for j, weight in terms:
        out += weight * representation[:, j]
    return out


# ---- the audit ----------------------------------------------------------------------------------
def audit_lime_explanation(
    lime_explainer: Any,
    lime_exp: Any,
    predict_fn: Callable[[np.ndarray], Any],
    explainer: Any,
    query: Any,
    *,
    label: int = 1,
    num_samples: int = 5000,
    n_seeds: int = 10,
    k: int = 5,
    to_lime: Callable[[Any], np.ndarray] | None = None,
) -> LimeAudit:
    """Score a LIME explanation with this project's held-out fidelity and its seed stability.

    Parameters
    ----------
    lime_explainer : lime.lime_tabular.LimeTabularExplainer
        Never modified: the stability reruns work on copies.
    lime_exp : lime.explanation.Explanation
        ``lime_explainer``'s explanation of ``query`` for ``label``.
    predict_fn : callable
        The function LIME was given (LIME-encoded rows -> outputs).
    explainer : TabularExplainer
        Supplies the held-out neighbourhood (its sampler, the query's holdout seed
        stream, ``n_holdout`` rows) and the kernel weights; see the module doc.
    query : Series, dict, one-row DataFrame or 1-D array
        The explained row, as the explainer takes it.
    label : int, default 1
        Output column LIME explained.
    num_samples : int, default 5000
        LIME's ``num_samples`` for the stability reruns (LIME does not record it).
    n_seeds : int, default 10
        Reruns with ``random_state`` 0..n_seeds-1 for :class:`SeedStability`; 0 skips them.
    k : int, default 5
        Size of the top-k sets compared across seeds.
    to_lime : callable, optional
        Turns rows as the model takes them (``explainer.schema.decode`` output) into
        LIME's encoding. Default: LIME was built with :func:`lime_arguments`, whose
        encoding is the explainer's values view.

    Returns
    -------
    LimeAudit

    Examples
    --------
    >>> lime_explainer = make_lime_explainer(explainer, X_train, random_state=0)  # doctest: +SKIP
    >>> predict = lime_predict_fn(explainer)  # doctest: +SKIP
    >>> lime_exp = lime_explainer.explain_instance(explainer.schema.encode(row)[0], predict)  # doctest: +SKIP
    >>> audit = audit_lime_explanation(lime_explainer, lime_exp, predict, explainer, row)  # doctest: +SKIP
    >>> audit.r2, audit.stability.top_k_jaccard  # doctest: +SKIP
    """
    terms = _lime_terms(lime_exp, label)
    _check_int(n_seeds, "n_seeds", 0)
    k = _check_int(k, "k", 1)
    values = _query_values(explainer, query)
    hold = held_out_rows(explainer, values, explainer.schema.readable(values), explainer.n_holdout)
    rows = _as_lime(hold.values, explainer, to_lime, lime_explainer, "held-out rows")
    lime_query = _as_lime(values[None, :], explainer, to_lime, lime_explainer, "query")[0]
    both = np.concatenate([lime_query[None, :], rows])  # the query rides along in the same call
    y_all = _label_output(predict_fn(both), label, lime_explainer.mode, len(both))
    pred_all = lime_predict_linear(
        lime_exp, lime_representation(lime_explainer, both, lime_query), label
    )
    y, pred = y_all[1:], pred_all[1:]
    w = kernel_weights(explainer.kernel, hold.distance, explainer.kernel_width)
    classification = lime_explainer.mode == "classification"
    stability = None
    if n_seeds:
        stability = lime_stability(
            lime_explainer,
            lime_query,
            predict_fn,
            label=label,
            seeds=range(n_seeds),
            num_features=len(terms),
            num_samples=num_samples,
            k=k,
        )
    own = getattr(lime_exp, "score", None)
    return LimeAudit(
        r2=weighted_r2(y, pred, w),
        mae=weighted_mae(y, pred, w),
        agreement=weighted_agreement(y, pred, w, PROBABILITY_THRESHOLD) if classification else None,
        query_gap=float(abs(y_all[0] - pred_all[0])),
        r2_lime_own=None if own is None else float(own),
        n_holdout=len(rows),
        label=label,
        top_features=tuple(_lime_names(lime_explainer, terms)[:k]),
        stability=stability,
    )


def lime_stability(
    lime_explainer: Any,
    data_row: np.ndarray,
    predict_fn: Callable[[np.ndarray], Any],
    *,
    label: int = 1,
    seeds: Iterable[int] = range(10),
    num_features: int = 10,
    num_samples: int = 5000,
    k: int = 5,
) -> SeedStability:
    """Rerun LIME on ``data_row`` (LIME's encoding) with each seed and compare the runs.

    Each rerun works on a deep copy of ``lime_explainer`` whose random state (shared by
    its sampler, discretizer and ridge) is ``numpy.random.RandomState(seed)``; the bins
    learned when LIME was built are kept. ``lime_explainer`` is never modified.
    """
    seeds = _check_seeds(seeds)
    k = _check_int(k, "k", 1)
    runs = []
    for seed in seeds:
        clone = _reseeded_lime(lime_explainer, seed)
        exp = clone.explain_instance(
            np.asarray(data_row, dtype=np.float64),
            predict_fn,
            labels=(label,),
            num_features=num_features,
            num_samples=num_samples,
        )
        terms = _lime_terms(exp, label)
        names = _lime_names(lime_explainer, terms)
        runs.append(
            _Run(
                top=tuple(names[:k]),
                weights={n: float(w) for n, (_, w) in zip(names, terms, strict=True)},
                intervals={},
            )
        )
    return _indices(runs, k)


def _reseeded_lime(lime_explainer: Any, seed: int) -> Any:
    clone = copy.deepcopy(lime_explainer)
    state = np.random.RandomState(
        seed
    )  # a private legacy stream, as LIME uses; never the global one
    clone.random_state = state
    clone.base.random_state = state
    if clone.discretizer is not None:
        clone.discretizer.random_state = state
    return clone


# ---- stability of this project's explanations -------------------------------------------------------
def reseeded(explainer: Any, random_state: Any) -> Any:
    """``explainer.with_random_state(random_state)``: the same explainer under another seed,
    nothing learned again (kept for callers of the function form)."""
    return explainer.with_random_state(random_state)


def stability_across_seeds(
    explainer: Any,
    query: Any,
    *,
    seeds: Iterable[int] = range(10),
    surrogate: Any = "linear",
    k: int = 5,
    make_explainer: Callable[[int], Any] | None = None,
    **params: Any,
) -> SeedStability:
    """Explain ``query`` once per seed and compare the explanations (see the module doc).

    Parameters
    ----------
    explainer : TabularExplainer
        Rebuilt per seed with :func:`reseeded` (or with ``make_explainer(seed)`` when given).
    query : Series, dict, one-row DataFrame or 1-D array
    seeds : iterable of int, default range(10)
        At least two distinct non-negative seeds.
    surrogate : str or family object, default "linear"
    k : int, default 5
    make_explainer : callable, optional
        ``make_explainer(seed) -> TabularExplainer``, for explainers built some other way.
    **params
        Surrogate parameters (``max_features=5``...).

    Returns
    -------
    SeedStability

    Examples
    --------
    >>> stability_across_seeds(explainer, X.iloc[0], seeds=range(5), k=3).top_k_jaccard  # doctest: +SKIP
    1.0
    """
    seeds = _check_seeds(seeds)
    k = _check_int(k, "k", 1)
    build = make_explainer or (lambda seed: reseeded(explainer, seed))
    return stability_indices(
        [build(seed).explain(query, surrogate, **params) for seed in seeds], k=k
    )


def stability_indices(explanations: Sequence[Explanation], *, k: int = 5) -> SeedStability:
    """Seed-stability indices of several explanations of the same query (one per seed)."""
    k = _check_int(k, "k", 1)
    if len(explanations) < 2:
        raise ParameterError(
            f"Stability needs at least two explanations to compare, got {len(explanations)}."
        )
    return _indices([_run_of(exp, k) for exp in explanations], k)


def _run_of(exp: Explanation, k: int) -> _Run:
    top = tuple(exp.top_features(k))
    terms = exp.content.linear_terms()
    if terms is not None:
        weights = {t.feature: t.weight for t in terms}
        return _Run(top=top, weights=weights, intervals=dict(exp.stability.intervals))
    return _Run(top=top, weights=None, intervals={})


def _indices(runs: Sequence[_Run], k: int) -> SeedStability:
    pairs = list(itertools.combinations(runs, 2))
    jaccards = [jaccard(a.top, b.top) for a, b in pairs]
    vsi = [_concordance(a.top, b.top) for a, b in pairs]
    counts: dict[str, int] = {}
    for run in runs:
        for name in run.top:
            counts[name] = counts.get(name, 0) + 1
    frequency = {n: counts[n] / len(runs) for n in sorted(counts, key=lambda n: (-counts[n], n))}
    return SeedStability(
        n_seeds=len(runs),
        k=k,
        top_k_jaccard=float(np.mean(jaccards)),
        vsi=float(np.mean(vsi)),
        csi=_csi(pairs),
        sign_agreement=_sign_agreement(pairs),
        selection_frequency=frequency,
    )


def _concordance(a: Sequence[str], b: Sequence[str]) -> float:
    largest = max(len(a), len(b))
    return 1.0 if largest == 0 else len(set(a) & set(b)) / largest


def _sign_agreement(pairs: list[tuple[_Run, _Run]]) -> float | None:
    same = [
        np.sign(a.weights[n]) == np.sign(b.weights[n])
        for a, b in pairs
        if a.weights is not None and b.weights is not None
        for n in set(a.top) & set(b.top)
        if n in a.weights and n in b.weights
    ]
    return float(np.mean(same)) if same else None


def _csi(pairs: list[tuple[_Run, _Run]]) -> float | None:
    overlaps: dict[str, list[bool]] = {}
    for a, b in pairs:
        for name in set(a.intervals) & set(b.intervals):
            (lo_a, hi_a), (lo_b, hi_b) = a.intervals[name], b.intervals[name]
            # exact fits give intervals of width ~1e-15: compare up to rounding
            slack = _OVERLAP_TOLERANCE * max(1.0, abs(lo_a), abs(hi_a), abs(lo_b), abs(hi_b))
            overlaps.setdefault(name, []).append(lo_a <= hi_b + slack and lo_b <= hi_a + slack)
    if not overlaps:
        return None
    return float(np.mean([np.mean(v) for v in overlaps.values()]))


# ---- small checks and conversions --------------------------------------------------------------------
def _query_values(explainer: Any, query: Any) -> np.ndarray:
    frame = explainer.schema.to_frame(query)
    if len(frame) != 1:
        raise DataError(f"The audit takes one query row, got {len(frame)}.")
    return explainer.schema.encode(frame)[0]


def _lime_terms(lime_exp: Any, label: int) -> list[tuple[int, float]]:
    local = getattr(lime_exp, "local_exp", None)
    if not isinstance(local, dict) or not hasattr(lime_exp, "intercept"):
        raise ParameterError(
            f"lime_exp must be a LIME explanation (with local_exp and intercept), got {type(lime_exp).__name__}."
        )
    if label not in local:
        raise ParameterError(
            f"The LIME explanation has no label {label!r}; it explains labels {sorted(local)}."
        )
    return [(int(j), float(w)) for j, w in local[label]]


def _lime_names(lime_explainer: Any, terms: list[tuple[int, float]]) -> list[str]:
    names = lime_explainer.feature_names
    return [str(names[j]) for j, _ in terms]


def _as_lime(
    values: np.ndarray, explainer: Any, to_lime: Callable | None, lime_explainer: Any, what: str
) -> np.ndarray:
    """Values-view rows in LIME's encoding: themselves by default, else ``to_lime`` of the decoded rows."""
    n, width = len(values), len(lime_explainer.feature_names)
    array = (
        values
        if to_lime is None
        else np.asarray(to_lime(explainer.schema.decode(values)), dtype=np.float64)
    )
    if array.shape != (n, width):
        source = (
            "to_lime turned the" if to_lime is not None else "The explainer's values view gives the"
        )
        raise DataError(
            f"{source} {what} shape {array.shape}, but the LIME explainer has {width} features: "
            f"expected ({n}, {width})."
        )
    return array


def _label_output(out: Any, label: int, mode: str, n: int) -> np.ndarray:
    array = np.asarray(out, dtype=np.float64)
    if mode != "classification":
        return array.reshape(n, -1)[:, 0]
    if array.ndim != 2 or array.shape[0] != n:
        raise DataError(
            f"predict_fn returned shape {array.shape} for {n} rows; LIME expects ({n}, n_classes)."
        )
    if not 0 <= label < array.shape[1]:
        raise ParameterError(
            f"label {label} is out of range: predict_fn returns {array.shape[1]} classes."
        )
    return array[:, label]


def _check_int(value: Any, name: str, low: int) -> int:
    return check(name, value, Interval(int, low))


def _check_seeds(seeds: Iterable[int]) -> list[int]:
    seeds = list(seeds)
    for seed in seeds:
        _check_int(seed, "each seed", 0)
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ParameterError(
            f"seeds must hold at least two distinct non-negative integers, got {seeds!r}."
        )
    return [int(s) for s in seeds]


__all__ = [
    "audit_lime_explanation",
    "lime_stability",
    "stability_across_seeds",
    "stability_indices",
    "reseeded",
    "lime_arguments",
    "make_lime_explainer",
    "lime_predict_fn",
    "lime_representation",
    "lime_predict_linear",
    "LimeAudit",
    "SeedStability",
    "ValuesPredictor",
]
