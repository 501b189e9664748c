"""The measurements a review reports, each a small function returning JSON-able data.

Nothing here renders: every function returns plain dicts and lists of numbers and
strings, which become ``report.json``; the HTML is rendered from that document.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SurrogateError
from ..fidelity import jaccard

#: equal-width bins of the calibration plot
CALIBRATION_BINS = 10
#: quantiles reported for the distribution of local fidelity
FIDELITY_QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
#: worst-explained cases listed
N_WORST = 5
#: top-k used to compare explanations in the sensitivity analysis
SENSITIVITY_TOP_K = 5
#: the rerun check's tolerance on every compared number
RERUN_TOLERANCE = 1e-9


# ---- black-box performance -----------------------------------------------------------------------
def performance(
    scores: np.ndarray, y: pd.Series, *, mode: str, adverse: str, threshold: float
) -> dict[str, Any]:
    """Held-out performance: classification (AUC, Brier, calibration) or regression (R^2, MAE)."""
    if mode == "regression":
        return regression_performance(scores, y.to_numpy(dtype=float))
    return classification_performance(scores, (y.astype(str) == str(adverse)).to_numpy(), threshold)


def classification_performance(
    p: np.ndarray, is_adverse: np.ndarray, threshold: float
) -> dict[str, Any]:
    from sklearn.metrics import log_loss, roc_auc_score

    both = 0 < is_adverse.sum() < len(is_adverse)
    declined = p >= threshold
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    return {
        "task": "classification",
        "n": int(len(p)),
        "base_rate": float(is_adverse.mean()),
        "auc": float(roc_auc_score(is_adverse, p)) if both else None,
        "brier": float(np.mean((p - is_adverse) ** 2)),
        "log_loss": float(log_loss(is_adverse, clipped, labels=[False, True])),
        "decline_rate": float(declined.mean()),
        "confusion": {
            "declined_adverse": int((declined & is_adverse).sum()),
            "declined_not_adverse": int((declined & ~is_adverse).sum()),
            "approved_adverse": int((~declined & is_adverse).sum()),
            "approved_not_adverse": int((~declined & ~is_adverse).sum()),
        },
        "calibration": calibration_bins(p, is_adverse),
    }


def calibration_bins(
    p: np.ndarray, is_adverse: np.ndarray, n_bins: int = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """Equal-width bins of the predicted probability; empty bins are left out."""
    index = np.minimum((p * n_bins).astype(int), n_bins - 1)
    bins = []
    for b in range(n_bins):
        rows = index == b
        if rows.any():
            bins.append(
                {
                    "lower": b / n_bins,
                    "upper": (b + 1) / n_bins,
                    "count": int(rows.sum()),
                    "mean_predicted": float(p[rows].mean()),
                    "observed": float(is_adverse[rows].mean()),
                }
            )
    return bins


def regression_performance(pred: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """R^2 (None when the target is constant), MAE, RMSE, and the means of target and prediction."""
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "task": "regression",
        "n": int(len(y)),
        "r2": None if total == 0 else float(1 - np.sum((y - pred) ** 2) / total),
        "mae": float(np.mean(np.abs(y - pred))),
        "rmse": float(np.sqrt(np.mean((y - pred) ** 2))),
        "mean_actual": float(np.mean(y)),
        "mean_predicted": float(np.mean(pred)),
    }


# ---- explanations summarised -------------------------------------------------------------------------
#: how each local family's numbers are read, as the case panel states it
FAMILY_METHODS = {
    "linear": (
        "Sparse linear surrogate. Before the slopes are fitted, each feature's non-linear main "
        "effect is removed from the response (a control variate: the slopes estimate the same "
        "thing with less sampling noise). A term's slope is per training standard deviation of "
        "a number (per unit in the next column), or, for a category, the effect of having the "
        "case's category rather than another; the interval is the 2.5% to 97.5% range of the "
        "slope over the bootstrap refits. Its contribution is the slope times the case's offset "
        "from the reference."
    ),
    "additive": (
        "Additive surrogate: a shape function per feature (and, where chosen, per pair of "
        "features), fitted to the model's output on the neighbourhood. A term's contribution is "
        "its shape at the case minus the shape's mean over the reference population; a shape "
        "has no single slope, so none is shown."
    ),
}


def top_shapes(content: Any, k: int) -> list[dict[str, Any]]:
    """The shape functions of the ``k`` terms with the largest contributions (none for a
    family without shapes), each with the applicant's value, to draw with it marked."""
    shaped = [t for t in getattr(content, "terms", ()) if getattr(t, "shape", None) is not None]
    shaped.sort(key=lambda t: (-abs(t.contribution), t.feature))
    return [
        {
            "feature": t.feature,
            "value": t.value,
            "contribution": t.contribution,
            "kind": "number" if hasattr(t.shape, "edges") else "category",
            **dataclasses.asdict(t.shape),
        }
        for t in shaped[:k]
    ]


def family_method(family: str) -> str:
    """How a local family's numbers are read (:data:`FAMILY_METHODS`)."""
    return FAMILY_METHODS.get(family, f"{family} surrogate.")


def family_counts(families: Any) -> list[dict[str, Any]]:
    """How many explanations each family gave, most first (ties by name)."""
    counts: dict[str, int] = {}
    for family in families:
        if family is not None:
            counts[family] = counts.get(family, 0) + 1
    return [
        {"family": f, "n": n} for f, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


_AUTO_NOTE = re.compile(r"^auto chose (\w+) (\{[^}]*\})")


def readable_note(note: str) -> str:
    """An explanation's note as a reader takes it: the family ``auto`` chose with its settings
    in words ("additive with interactions = 3"), not a Python mapping ("additive {}")."""
    match = _AUTO_NOTE.match(note)
    if match is None:
        return note
    try:
        params = ast.literal_eval(match.group(2))
    except (ValueError, SyntaxError):
        return note
    if not isinstance(params, dict):
        return note
    said = ", ".join(f"{k} = {v}" for k, v in params.items())
    chosen = f"auto chose {match.group(1)}" + (f" (with {said})" if said else "")
    return chosen + note[match.end() :]
def explanation_summary(
    exp: Any, *, case_id: str, position: int, k: int = SENSITIVITY_TOP_K
) -> dict[str, Any]:
    """What the report shows of one local explanation (the full record is in explanations.jsonl)."""
    from ..links import link_value
    from ..render.text import explained_scale

    f, s = exp.fidelity, exp.stability
    content = exp.content
    terms = [
        {
            "feature": t.feature,
            "value": t.value,
            "contribution": t.contribution,
            "weight": getattr(t, "weight", None),  # additive shapes have no single slope
            "weight_per_unit": getattr(t, "weight_per_unit", None),
            "selection_frequency": s.selection_frequency.get(t.feature),
            "interval": list(s.intervals[t.feature]) if t.feature in s.intervals else None,
        }
        for t in getattr(content, "terms", ())
    ]
    terms += [
        {
            "feature": p.name,
            "value": ", ".join(str(v) for v in p.values),
            "contribution": p.contribution,
            "weight": None,
            "weight_per_unit": None,
            "selection_frequency": None,
            "interval": None,
        }
        for p in getattr(content, "pairs", ())
    ]
    return {
        "case_id": case_id,
        "position": position,
        "family": exp.family,
        "method": family_method(exp.family),
        "notes": [readable_note(n) for n in exp.notes],  # the family chosen, point masses kept
        "prediction": exp.prediction,
        "unit": explained_scale(exp),
        "prediction_in_scale": link_value(exp.prediction, exp.meta.link),
        # the surrogate at the case (a linear intercept is that; an additive one is its baseline)
        "intercept": content.at_query,
        "baseline": exp.baseline,
        "reference": getattr(content, "reference", None),
        "terms": terms,
        "shapes": top_shapes(content, k),
        "top_features": exp.top_features(k),
        "fidelity": {
            "r2": f.r2,
            "r2_in_sample": f.r2_in_sample,
            "mae": f.mae,
            "agreement": f.agreement,
            "query_gap": f.query_gap,
            "n_holdout": f.n_holdout,
            "n_fit": f.n_fit,
            "note": f.note,
        },
        "stability": {
            "k": s.k,
            "n_resamples": s.n_resamples,
            "top_k_jaccard": s.top_k_jaccard,
            "sign_agreement": s.sign_agreement,
            "method": s.method,
        },
        "neighbourhood": {
            "effective_sample_size": exp.neighbourhood.effective_sample_size,
            "share_outside_training_range": exp.neighbourhood.share_outside_training_range,
        },
        "warnings": list(exp.warnings),
    }


def fidelity_distribution(rows: Sequence[dict[str, Any]], min_fidelity: float) -> dict[str, Any]:
    """Quantiles of local held-out R^2 over surveyed rows, and the worst-explained ones."""
    defined = [r for r in rows if r["r2"] is not None]
    values = np.array([r["r2"] for r in defined], dtype=float)
    worst = sorted(defined, key=lambda r: (r["r2"], r["case_id"]))[:N_WORST]
    return {
        "n": len(rows),
        "families": family_counts(r.get("family") for r in rows),
        "n_undefined": len(rows) - len(defined),
        "mean": float(values.mean()) if len(values) else None,
        "quantiles": [
            {"q": q, "r2": float(np.quantile(values, q)) if len(values) else None}
            for q in FIDELITY_QUANTILES
        ],
        "share_below_min": float(np.mean(values < min_fidelity)) if len(values) else None,
        "min_fidelity": min_fidelity,
        "rows": list(rows),
        "worst": worst,
    }


def survey_row(exp: Any, *, case_id: str, position: int, declined: bool) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "position": position,
        "prediction": exp.prediction,
        "declined": declined,
        "family": exp.family,
        "r2": exp.fidelity.r2,
        "top_k_jaccard": exp.stability.top_k_jaccard,
        "top_features": exp.top_features(3),
    }


# ---- sensitivity --------------------------------------------------------------------------------------
def sensitivity_setting(
    label: str,
    kernel_width: float,
    n_samples: int,
    explained: Sequence[Any],
    defaults: Sequence[Any],
    case_ids: Sequence[str],
) -> dict[str, Any]:
    """Fidelity and top-k Jaccard against the default explanation, for one setting."""
    cases = [
        {
            "case_id": cid,
            "r2": e.fidelity.r2,
            "jaccard_vs_default": jaccard(
                e.top_features(SENSITIVITY_TOP_K), d.top_features(SENSITIVITY_TOP_K)
            ),
        }
        for cid, e, d in zip(case_ids, explained, defaults, strict=True)
    ]
    r2 = [c["r2"] for c in cases if c["r2"] is not None]
    return {
        "label": label,
        "families": family_counts(e.family for e in explained),
        "kernel_width": kernel_width,
        "n_samples": n_samples,
        "mean_r2": float(np.mean(r2)) if r2 else None,
        "mean_jaccard_vs_default": float(np.mean([c["jaccard_vs_default"] for c in cases])),
        "cases": cases,
    }


# ---- global surrogates -----------------------------------------------------------------------------------
def global_surrogates(
    explainer: Any, X: pd.DataFrame, families: dict[str, dict[str, Any]], *, augment: int
) -> dict[str, dict[str, Any]]:
    """Each family's global surrogate (name -> parameters) over ``X``, split, augmented and
    scored once for all of them; each names the error when it cannot be fitted."""
    from ..explain.global_ import global_data

    try:
        data = global_data(explainer, X, augment=augment)
    except (SurrogateError, ImportError) as exc:
        return {family: _unavailable(family, exc) for family in families}
    return {
        family: global_surrogate(explainer, data, family, **params)
        for family, params in families.items()
    }


def _unavailable(family: str, exc: Exception) -> dict[str, Any]:
    return {"family": family, "available": False, "error": f"{type(exc).__name__}: {exc}"}


def global_surrogate(explainer: Any, data: Any, family: str, **params: Any) -> dict[str, Any]:
    """A global surrogate's held-out fidelity, complexity and rules on prepared ``data``
    (:func:`surrogate.explain.global_.global_data`); the error when it cannot be fitted."""
    from ..explain.global_ import fit_global
    from ..render.text import probability_of

    try:
        g = fit_global(explainer, data, family, **params)
    except (SurrogateError, ImportError) as exc:
        return _unavailable(family, exc)
    f = g.fidelity
    ordered = g.family == "rules"
    return {
        "family": family,
        "available": True,
        "error": None,
        "params": dict(params, augment=data.augment),
        "fidelity": {
            "r2": f.r2,
            "r2_in_sample": f.r2_in_sample,
            "mae": f.mae,
            "agreement": f.agreement,
            "agreement_by_class": [
                {"label": k, "agreement": v} for k, v in sorted(f.agreement_by_class.items())
            ],
            "n_train": f.n_train,
            "n_test": f.n_test,
            "note": f.note,
        },
        "complexity": [{"measure": k, "value": v} for k, v in g.complexity.items()],
        "rules": [
            {
                "text": rule_conditions(r, i, ordered=ordered),
                "prediction": r.prediction,
                "probability": probability_of(r.prediction, g.meta["link"]),
                "coverage": r.coverage,
                "precision": r.precision,
                "error": r.error,
            }
            for i, r in enumerate(getattr(g.content, "rules", ()))
        ],
        "top_features": g.top_features(5),
        "explanation": json.loads(g.to_json()),
    }


def rule_conditions(rule: Any, position: int, *, ordered: bool) -> str:
    """A rule's conditions in words (its numbers are reported separately): ``IF a AND b``."""
    if not rule.conditions:
        return "ELSE"
    keyword = "ELSE IF" if ordered and position > 0 else "IF"
    return f"{keyword} " + " AND ".join(str(c) for c in rule.conditions)


# ---- rerun check ---------------------------------------------------------------------------------------------
def rerun_difference(first: Any, again: Any) -> tuple[float, bool]:
    """Largest absolute difference between two explanations' numbers; whether features match."""
    a, b = _numbers(first), _numbers(again)
    same = set(a) == set(b)
    diffs = [abs(a[k] - b[k]) for k in a if k in b]
    return (max(diffs) if diffs else 0.0), same


def _numbers(exp: Any) -> dict[str, float]:
    out = {
        "prediction": exp.prediction,
        "mae": exp.fidelity.mae,
        "query_gap": exp.fidelity.query_gap,
    }
    for name in ("r2", "r2_in_sample"):
        value = getattr(exp.fidelity, name)
        if value is not None:
            out[name] = value
    out.update(exp.content.flat_fields())
    return out
