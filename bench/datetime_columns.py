"""Date columns explained as numbers: fidelity, slope recovery and cost, measured in one run.

A loan book of ``--rows`` rows (seed 0) has an opening date (whole days over 2015-2020,
``datetime64[s]``), an income and a region. Two black boxes read the frame as it is:

- ``linear in days``: ``0.01 * days since 1970-01-01 + 0.5 * income`` (a callable);
- ``gbm pipeline``: a scikit-learn pipeline that turns the date into days itself
  (``FunctionTransformer``), one-hot encodes the region and fits a histogram gradient
  boosting classifier on a label that rises with the opening date and falls with income.

Each is explained on ``--queries`` training rows and as many *out-of-time* rows (the
same rows opened six years later: after every training date), per sampler (qmc, gaussian,
lime) and family (linear, additive, tree), with ``n_samples=--n-samples``. Printed per
combination: the median held-out R^2 (log-odds for the classifier), for the linear
black box the largest relative error of the linear slope per day against 0.01, and
the seconds per explanation (wall clock; compare the rows, not the seconds). Last, the
held-out R^2 of ``explain_global`` (linear) on held-out rows half of which are out of
time.

    python bench/datetime_columns.py [--rows 2000] [--queries 20] [--n-samples 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from surrogate import TabularExplainer
from surrogate.demo import days_since_origin

SLOPE = 0.01


def loan_book(rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    opened = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 2000, rows), unit="D")
    X = pd.DataFrame(
        {
            "opened": pd.Series(opened).astype("datetime64[s]"),
            "income": rng.normal(50, 10, rows),
            "region": pd.Categorical(rng.choice(["north", "south", "east"], rows)),
        }
    )
    days = (X["opened"] - pd.Timestamp("2015-01-01")).dt.days.to_numpy()
    logit = (days - 1000) / 300 - (X["income"].to_numpy() - 50) / 10
    y = rng.random(rows) < 1 / (1 + np.exp(-logit))
    return X, y


def linear_in_days(frame: pd.DataFrame) -> np.ndarray:
    return SLOPE * days_since_origin(frame[["opened"]])[:, 0] + 0.5 * frame["income"].to_numpy()


def gbm_pipeline(X: pd.DataFrame, y: np.ndarray):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    encode = ColumnTransformer(
        [
            ("dates", FunctionTransformer(days_since_origin), ["opened"]),
            ("region", OneHotEncoder(sparse_output=False), ["region"]),
        ],
        remainder="passthrough",
    )
    model = HistGradientBoostingClassifier(max_leaf_nodes=8, random_state=0)
    return Pipeline([("encode", encode), ("model", model)]).fit(X, y)


def measure(model, X, queries, *, mode, sampler, family, n_samples) -> tuple[float, float, float]:
    link = "logit" if mode == "classification" else "identity"
    explainer = TabularExplainer(
        model, X, mode=mode, sampler=sampler, n_samples=n_samples, link=link
    )
    start = time.perf_counter()
    many = explainer.explain_many(queries, surrogate=family)
    seconds = (time.perf_counter() - start) / len(queries)
    r2 = float(np.median([e.fidelity.r2 for e in many]))
    slope_error = float("nan")
    if family == "linear" and mode == "regression":
        slopes = [t.weight_per_unit for e in many for t in e.content.terms if t.feature == "opened"]
        if slopes and all(s is not None for s in slopes):
            slope_error = max(abs(s / SLOPE - 1.0) for s in slopes)
    return r2, slope_error, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--n-samples", type=int, default=2000)
    args = parser.parse_args()
    X, y = loan_book(args.rows)
    inside = X.iloc[: args.queries]
    later = inside.assign(opened=inside["opened"] + pd.Timedelta(days=6 * 365))
    boxes = {
        "linear in days": (linear_in_days, "regression"),
        "gbm pipeline": (gbm_pipeline(X, y), "classification"),
    }
    print(
        f"rows {args.rows}, queries {args.queries} (+{args.queries} out of time), "
        f"n_samples {args.n_samples}"
    )
    print(
        f"{'black box':<16}{'sampler':<10}{'family':<10}{'queries':<13}"
        f"{'median R2':>10}{'max slope err':>15}{'s/expl':>9}"
    )
    for box, (model, mode) in boxes.items():
        for sampler in ("qmc", "gaussian", "lime"):
            for family in ("linear", "additive", "tree"):
                for label, queries in (("in range", inside), ("out of time", later)):
                    r2, err, sec = measure(
                        model,
                        X,
                        queries,
                        mode=mode,
                        sampler=sampler,
                        family=family,
                        n_samples=args.n_samples,
                    )
                    print(
                        f"{box:<16}{sampler:<10}{family:<10}{label:<13}"
                        f"{r2:>10.4f}{err:>15.2e}{sec:>9.3f}"
                    )
    held_out = pd.concat([X.iloc[-200:-100], later.iloc[: min(100, len(later))]])
    for box, (model, mode) in boxes.items():
        link = "logit" if mode == "classification" else "identity"
        explainer = TabularExplainer(model, X, mode=mode, n_samples=args.n_samples, link=link)
        glob = explainer.explain_global(held_out, surrogate="linear")
        print(
            f"explain_global linear, {box}: held-out R2 {glob.fidelity.r2:.4f} "
            f"({len(held_out)} rows, {len(later.iloc[:100])} out of time)"
        )


if __name__ == "__main__":
    main()
