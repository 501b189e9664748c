"""Global surrogates: one interpretable model of the black box over a whole data set.

``explain_global(explainer, X, surrogate=...)`` splits ``X`` (a seeded split
derived from the explainer's ``random_state`` and the data's own digest), scores
it with the black box, fits the family on the training part — optionally
augmented with ``augment`` sampled rows around each training row — and reports
fidelity on the untouched test part: R^2, agreement (overall and per black-box
class), the family's complexity, and each rule's coverage and precision there.
It is two steps, for fitting several families to one data set without scoring it
again: ``global_data`` (split, augment, score) and ``fit_global`` (one family).

For a linear global surrogate, ``z`` is each number in training standard
deviations from its training mean and, for each category, an indicator of
*differing from the most frequent category*.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .. import _version
from .._validation import Interval, check
from ..errors import DataError, ParameterError
from ..explanation.global_ import GlobalExplanation, GlobalFidelity
from ..fidelity import weighted_agreement, weighted_mae, weighted_r2
from ..links import apply_link
from ..surrogates import make_surrogate
from ..surrogates.base import (
    LocalProblem,
)
from ..surrogates.contributions import over_data_set
from .pipeline import check_cutoff
from .seeding import entropy_of

DEFAULT_TEST_SHARE = 0.3
TEST_SHARE = Interval(float, 0.05, 0.5)


def explain_global(
    explainer: Any,
    X: Any,
    surrogate: Any = "tree",
    *,
    test_share: float = DEFAULT_TEST_SHARE,
    augment: int = 0,
    threshold: float | None = None,
    **params: Any,
) -> GlobalExplanation:
    """Fit ``surrogate`` to the black box over ``X``; report held-out fidelity and complexity.

    ``threshold`` (in the output's scale, a probability for probabilities) is where
    agreement, agreement per class and rule precision are measured; default: the
    explainer's own threshold. Several families over the same data: prepare it once
    with :func:`global_data` and fit each with :func:`fit_global` (the same result).
    """
    family = make_surrogate(surrogate, **params)  # refused before any row is scored
    data = global_data(explainer, X, test_share=test_share, augment=augment, threshold=threshold)
    return fit_global(explainer, data, family)


@dataclass(frozen=True)
class GlobalData:
    """A data set split, augmented and scored by the black box once, for any number of
    global surrogate families (scoring the augmented rows is most of a global fit's cost)."""

    problem: LocalProblem
    fit_seed: np.random.SeedSequence
    split_entropy: list[int]
    test_share: float
    augment: int
    output_threshold: float | None


def global_data(
    explainer: Any,
    X: Any,
    *,
    test_share: float = DEFAULT_TEST_SHARE,
    augment: int = 0,
    threshold: float | None = None,
) -> GlobalData:
    """``X`` split (seeded by the explainer's ``random_state`` and the data's digest), its
    fitting part augmented with ``augment`` sampled rows around each row, both scored."""
    test_share = check("test_share", test_share, TEST_SHARE)
    scorer = explainer.scorer
    if threshold is not None:
        scorer = replace(scorer, cutoff=check_cutoff(threshold, explainer.blackbox))
    augment = check("augment (rows per training row)", augment, Interval(int, 0))
    if explainer.target.index is None:
        raise ParameterError(
            "A global surrogate explains one output: build the explainer with target= one of "
            f"{list(explainer.blackbox.output_names)}."
        )
    schema = explainer.schema
    values = schema.encode(X, what="global data")
    if len(values) < 20:
        raise DataError(
            f"explain_global needs at least 20 rows to split for held-out fidelity, got {len(values)}."
        )
    seed = np.random.SeedSequence([*_entropy(explainer.root), _digest(values)])
    split_seed, augment_seed, fit_seed = seed.spawn(3)
    train, test = _split(len(values), test_share, split_seed)
    check_augment_memory(len(train), values.shape[1], augment)
    fit_values = _augmented(explainer, values[train], augment, augment_seed)
    y_fit, y_test = _score(explainer, fit_values), _score(explainer, values[test])
    problem = LocalProblem(
        z_fit=_global_z(schema, fit_values),
        values_fit=fit_values,
        y_fit=y_fit,
        w_fit=np.ones(len(y_fit)),
        z_hold=_global_z(schema, values[test]),
        values_hold=values[test],
        y_hold=y_test,
        w_hold=np.ones(len(y_test)),
        threshold=scorer.threshold,
    )
    return GlobalData(
        problem=problem,
        fit_seed=fit_seed,
        split_entropy=_entropy(seed),
        test_share=float(test_share),
        augment=augment,
        output_threshold=scorer.output_threshold,
    )


def fit_global(
    explainer: Any, data: GlobalData, surrogate: Any = "tree", **params: Any
) -> GlobalExplanation:
    """Fit ``surrogate`` to prepared ``data``; held-out fidelity and complexity."""
    family = make_surrogate(surrogate, **params)
    schema, problem = explainer.schema, data.problem
    fit = family.fit_local([problem], schema.features, schema.names, [data.fit_seed])[0]
    return GlobalExplanation(
        content=over_data_set(fit.content, problem, schema.features),
        fidelity=_fidelity(problem, fit.pred_fit, fit.pred_hold, problem.threshold),
        complexity=fit.content.complexity(),
        meta={
            "library_version": _version.__version__,
            "target": explainer.blackbox.output_names[explainer.target.index],
            "link": explainer.link,
            "threshold": data.output_threshold,
            "surrogate": {"family": family.name, **family.params()},
            "test_share": data.test_share,
            "augment": data.augment,
            "split_seed_entropy": data.split_entropy,
            "schema_fingerprint": explainer.schema_fingerprint,
            "model_fingerprint": explainer.model_fingerprint,
        },
        notes=fit.notes,
    )


def _entropy(root: np.random.SeedSequence) -> list[int]:
    entropy = entropy_of(root)
    return entropy if isinstance(entropy, list) else [entropy]


def _digest(values: np.ndarray) -> int:
    return int.from_bytes(
        hashlib.sha256(np.ascontiguousarray(values).tobytes()).digest()[:16], "big"
    )


def _split(
    n: int, test_share: float, seed: np.random.SeedSequence
) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(test_share * n))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


#: most memory the augmented rows of a global fit may take (estimated before drawing them)
MAX_AUGMENT_BYTES = 2 * 1024**3
#: float64 arrays of a row's width held per augmented row at once: its values, the
#: sampler's uniforms, the surrogate's representation and a copy while concatenating
ARRAYS_PER_AUGMENTED_ROW = 4


def check_augment_memory(n_rows: int, n_features: int, augment: int) -> None:
    """Refuse an ``augment`` whose rows would take more than :data:`MAX_AUGMENT_BYTES`."""
    per_row = ARRAYS_PER_AUGMENTED_ROW * 8 * max(n_features, 1)
    needed = n_rows * (augment + 1) * per_row
    if needed <= MAX_AUGMENT_BYTES:
        return
    most = MAX_AUGMENT_BYTES // (n_rows * per_row) - 1
    raise ParameterError(
        f"augment = {augment} would draw {n_rows * augment:,} rows around the {n_rows:,} fitting "
        f"rows, about {needed / 1024**3:.1f} GiB ({ARRAYS_PER_AUGMENTED_ROW} float64 arrays of "
        f"{n_features} features per row); the bound is {MAX_AUGMENT_BYTES / 1024**3:g} GiB, so "
        f"augment can be at most {max(most, 0):,} for these data."
    )


def _augmented(
    explainer, values: np.ndarray, augment: int, seed: np.random.SeedSequence
) -> np.ndarray:
    if augment == 0:
        return values
    sample_around = getattr(explainer.sampler, "sample_around", None)
    if sample_around is not None:  # one stream of uniforms for every row: far cheaper
        return np.concatenate([values, sample_around(values, augment, seed)])
    seeds = seed.spawn(len(values))  # samplers that draw around one query at a time
    extra = [
        explainer.sampler.sample(row, augment, s).values
        for row, s in zip(values, seeds, strict=True)
    ]
    return np.concatenate([values, *extra])


def _score(explainer, values: np.ndarray) -> np.ndarray:
    out = explainer.blackbox.predict_rows(values, explainer.schema.decode)
    return apply_link(out[:, explainer.target.index], explainer.link)


def _global_z(schema, values: np.ndarray) -> np.ndarray:
    z = np.zeros_like(values)
    for j, f in enumerate(schema.features):
        if f.is_numeric:
            z[:, j] = 0.0 if not f.scale else np.nan_to_num((values[:, j] - f.mean) / f.scale)
        else:
            reference = int(np.argmax(f.frequencies)) if f.frequencies else -1
            z[:, j] = (values[:, j] != reference).astype(float)
    return z


def _fidelity(problem: LocalProblem, pred_fit, pred_hold, threshold) -> GlobalFidelity:
    y, w = problem.y_hold, problem.w_hold
    r2 = weighted_r2(y, pred_hold, w)
    by_class = {}
    if threshold is not None:
        for label, mask in (
            ("black box positive", y >= threshold),
            ("black box negative", y < threshold),
        ):
            if mask.any():
                by_class[label] = weighted_agreement(y[mask], pred_hold[mask], w[mask], threshold)
    return GlobalFidelity(
        r2=r2,
        r2_in_sample=weighted_r2(problem.y_fit, pred_fit, problem.w_fit),
        mae=weighted_mae(y, pred_hold, w),
        agreement=None if threshold is None else weighted_agreement(y, pred_hold, w, threshold),
        agreement_by_class=by_class,
        n_train=len(problem.y_fit),
        n_test=len(y),
        note=None
        if r2 is not None
        else "The black box is constant on the test rows; R^2 is undefined.",
    )
