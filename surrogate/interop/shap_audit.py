"""SHAP audited as the LIME audit audits LIME: the additive model that SHAP's attributions
define for a row, measured on this project's held-out neighbourhood of that row and, when
population rows are given, at the population scope its base value speaks for.

The additive model
------------------
SHAP attributes ``f(x) - phi_0`` to the features: ``phi_0`` is the mean output over a
background (the population), ``phi_j`` how far feature j moves the row from it. As a
model of the black box around ``x`` (Lundberg & Lee 2017 read it as
``g(z) = phi_0 + sum_j phi_j z_j``), the share of ``phi_j`` a row ``v`` keeps is

- for a number, ``(v_j - mean_j) / (x_j - mean_j)``, with ``mean_j`` the mean of the
  population rows given (SHAP's background), else the training mean: the attribution
  moves in a straight line from the population's mean (none of it) to the query's
  value (all of it). For a linear model with independent features this is
  the model itself (``phi_j = beta_j (x_j - mean_j)``), so its fidelity is 1;
- for a category or a flag, 1 when ``v`` has the query's value and 0 otherwise: SHAP
  says nothing of what another category would give.

``g(x) = phi_0 + sum(phi)``, which SHAP's local accuracy makes the black box at the query;
``query_gap`` reports how far from it the attributions are (a gap says they are in
another scale than the explainer's, e.g. probabilities against log-odds).

The measures
------------
``r2`` (and ``mae``) compare ``g`` with the black box, in the explainer's explained scale,
on the rows and weights the explainer's own explanation of ``x`` is measured on (its
sampler, the query's held-out seed stream, ``n_holdout`` rows, its kernel weights), so
that SHAP and the library's surrogates are scored alike. ``r2_population`` compares them
on the population rows given (unweighted); without them it is None: not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import Interval, check
from ..errors import DataError, ParameterError
from ..explain.pipeline import held_out_rows
from ..fidelity import weighted_mae, weighted_r2
from ..kernels import kernel_weights
from ..links import apply_link

#: number kinds, whose attributions are read as straight lines from the training mean
_NUMBER_KINDS = ("numeric", "integer", "datetime")


@dataclass(frozen=True)
class ShapAudit:
    """One row's SHAP attributions scored as the additive model they define (module doc).

    ``r2`` is kernel-weighted on the held-out neighbourhood (None when the black box is
    constant there); ``query_gap`` is |black box - (base value + sum of attributions)|
    at the row; ``r2_population`` is None when no population rows were given (not
    checked); ``top_features`` ranks the attributions by magnitude.
    """

    r2: float | None
    mae: float
    query_gap: float
    r2_population: float | None
    n_holdout: int
    n_population: int
    top_features: tuple[str, ...]
    scale: str


def audit_shap(
    explainer: Any,
    shap_values: Any,
    rows: Any,
    *,
    base_values: Any = None,
    population: Any = None,
    k: int = 5,
) -> list[ShapAudit]:
    """Score SHAP's attributions of ``rows`` with this project's held-out fidelity.

    Parameters
    ----------
    explainer : TabularExplainer
        Supplies the neighbourhood, the kernel, the explained output and its scale.
    shap_values : shap.Explanation or array of shape (n_rows, n_features)
        Attributions of ``rows`` in the explainer's explained scale (log-odds for a
        classifier explained with ``link="logit"``: TreeSHAP's raw output), one column
        per feature of the explainer's schema, in its order. A third axis (one per
        class) is read at the explainer's target.
    rows : DataFrame or 2-D array
        The explained rows, as the explainer takes them.
    base_values : float or array, optional
        SHAP's base value(s); taken from ``shap_values`` when it is a ``shap.Explanation``.
    population : DataFrame, optional
        Rows of the population the base value stands for (SHAP's background, e.g. the
        training data): their means anchor the numbers' lines, and ``r2_population`` is
        measured on them. Without them the training means anchor the lines.
    k : int, default 5
        Number of features in ``top_features``.

    Examples
    --------
    >>> values = shap.TreeExplainer(model)(X.iloc[:5])  # doctest: +SKIP
    >>> audits = audit_shap(explainer, values, X.iloc[:5], population=X)  # doctest: +SKIP
    >>> [a.r2 for a in audits]  # doctest: +SKIP
    """
    k = check("k", k, Interval(int, 1))
    schema = explainer.schema
    values = schema.encode(schema.to_frame(rows, what="rows"), what="rows")
    phi, base = _attributions(explainer, shap_values, base_values, len(values))
    target = explainer.target.index
    if target is None:
        raise ParameterError(
            "The explainer explains the class predicted at each row (multiclass, no target); "
            "build it with target= the class SHAP's values are for."
        )
    numbers = np.array([f.kind in _NUMBER_KINDS for f in schema.features])
    means = np.array(
        [
            f.mean if f.kind in _NUMBER_KINDS and f.mean is not None else np.nan
            for f in schema.features
        ]
    )
    scale = "log-odds" if explainer.link == "logit" else "output"
    pop_values = pop_y = None
    if population is not None:
        pop_values = schema.encode(
            schema.to_frame(population, what="population"), what="population"
        )
        pop_y = _outputs(explainer, pop_values, target)
        with np.errstate(invalid="ignore"):
            means = np.where(numbers, np.nanmean(pop_values, axis=0), np.nan)
    audits = []
    for x, phi_x, base_x in zip(values, phi, base, strict=True):
        hold = held_out_rows(explainer, x, schema.readable(x), explainer.n_holdout)
        both = np.concatenate([x[None, :], hold.values])
        y_all = _outputs(explainer, both, target)
        pred_all = _additive(both, x, phi_x, base_x, means, numbers)
        w = kernel_weights(explainer.kernel, hold.distance, explainer.kernel_width)
        r2_population = None
        if pop_values is not None and pop_y is not None:
            pop_pred = _additive(pop_values, x, phi_x, base_x, means, numbers)
            r2_population = weighted_r2(pop_y, pop_pred, np.ones(len(pop_y)))
        order = sorted(range(len(phi_x)), key=lambda j: (-abs(phi_x[j]), j))[:k]
        audits.append(
            ShapAudit(
                r2=weighted_r2(y_all[1:], pred_all[1:], w),
                mae=weighted_mae(y_all[1:], pred_all[1:], w),
                query_gap=float(abs(y_all[0] - pred_all[0])),
                r2_population=r2_population,
                n_holdout=len(hold.values),
                n_population=0 if pop_values is None else len(pop_values),
                top_features=tuple(schema.names[j] for j in order),
                scale=scale,
            )
        )
    return audits


def _additive(
    rows: np.ndarray,
    x: np.ndarray,
    phi: np.ndarray,
    base: float,
    means: np.ndarray,
    numbers: np.ndarray,
) -> np.ndarray:
    """``phi_0 + sum_j phi_j * share_j(v)`` for each row ``v`` (module doc)."""
    span = x - means
    flat = ~(np.abs(span) > 1e-12 * np.maximum(1.0, np.abs(means)))  # query at the mean
    with np.errstate(invalid="ignore", divide="ignore"):
        line = np.where(numbers & ~flat, (rows - means) / np.where(flat, 1.0, span), 0.0)
    same = (rows == x[None, :]).astype(float)
    share = np.where(numbers, line, same)
    share = np.nan_to_num(share, nan=0.0)  # a missing value keeps none of the attribution
    return base + share @ phi


def _outputs(explainer: Any, values: np.ndarray, target: int) -> np.ndarray:
    out = explainer.blackbox.predict(explainer.schema.decode(values))
    return apply_link(out[:, target], explainer.link)


def _attributions(
    explainer: Any, shap_values: Any, base_values: Any, n: int
) -> tuple[np.ndarray, np.ndarray]:
    names = list(explainer.schema.names)
    given = getattr(shap_values, "feature_names", None)
    if given is not None and list(given) != names:
        raise DataError(
            f"The SHAP values are for the features {list(given)}; the explainer's are {names} "
            "(same names, same order)."
        )
    phi = np.asarray(getattr(shap_values, "values", shap_values), dtype=np.float64)
    if base_values is None:
        base_values = getattr(shap_values, "base_values", None)
    if base_values is None:
        raise ParameterError("base_values is needed with an array of SHAP values.")
    base = np.asarray(base_values, dtype=np.float64)
    if phi.ndim == 3:  # one slice per output: the explainer's target
        phi = phi[:, :, explainer.target.index]
        base = base[:, explainer.target.index] if base.ndim == 2 else base
    if phi.ndim == 1:
        phi = phi[None, :]
    if phi.shape != (n, len(names)):
        raise DataError(
            f"The SHAP values have shape {phi.shape}; expected ({n}, {len(names)}): one row per "
            "explained row, one column per feature."
        )
    base = np.broadcast_to(base.reshape(-1) if base.ndim else base, (n,)).astype(float)
    if not (np.isfinite(phi).all() and np.isfinite(base).all()):
        raise DataError("The SHAP values or base values hold NaN or infinite numbers.")
    return phi, base


__all__ = ["ShapAudit", "audit_shap"]
