"""Known answers: contributions against a population, on black boxes whose truth is known.

Four synthetic black boxes over the same 10 mixed features (7 numbers, 3 categories),
each a classifier whose log-odds are:

- ``linear``: a sum of straight lines in the numbers and one effect per category;
- ``steps+kinks``: an additive model whose shapes have steps and kinks;
- ``+interaction``: the same plus one strong pairwise product, ``n1 * (n2 - 5) / 3``;
- ``gbm``: a scikit-learn ``HistGradientBoostingRegressor`` fitted to the log-odds of
  ``steps+kinks`` on the training rows.

Truth, in log-odds, against one fixed reference of 200 training rows (the
interventional reference of SHAP's ``Independent`` masker):

- additive boxes: ``f_j(q_j) - mean_ref f_j``, feature by feature;
- ``+interaction``: the exact interventional Shapley value, by the additive
  structure: each main term as above, and the product ``g(a, b)`` split as Shapley
  splits a two-player game, ``phi_a = (g(qa, qb) - E g(ra, qb) + E g(qa, rb) -
  E g(ra, rb)) / 2`` (and symmetrically for ``b``), expectations over the reference;
- ``gbm``: the exact interventional Shapley value by enumeration of all 1,024
  coalitions, each scored on the 200 reference rows (its own code, not SHAP's).

Methods, each with its model rows per query:

- ``surrogate additive``: ``TabularExplainer`` with default settings (reference
  "training", its default sampler), ``surrogate="additive"``; its contributions,
  stated against the training data, are restated against the 200-row reference with
  :func:`surrogate.surrogates.contributions.with_reference` (the shapes do not change);
- ``surrogate additive, numbers not redrawn``: the same with ``number_change=0``
  (the sampler's default before redraws became the default against the training data);
- ``surrogate linear``: ``max_features=10``, restated against the reference as
  ``-slope * mean_ref z``;
- ``LIME``: ``LimeTabularExplainer`` (quartile discretiser, 5,000 samples) on the
  log-odds, its weight on "in the query's bin (category)" times one minus the
  reference share of that bin, which is its linear model at the query minus its mean
  over the reference;
- ``SHAP exact``: ``shap.explainers.Exact`` with an ``Independent`` masker over the 200
  reference rows, on the log-odds.

Printed: mean absolute error of contributions per method and box; top-5 recovery (the
mean share of the true top 5 by |contribution| found in a method's top 5, and the
share of queries whose top 5 is exactly the true one; and the share of a method's
top 5 whose true contribution is within ``TIE`` of the true fifth, which counts a
pick between features the truth separates by less than that either way); the
Spearman correlation
between the additive surrogate's population-scope R^2 (``fidelity.r2_population``)
and each query's mean absolute contribution error, pooled over the boxes and per box.

Usage::

    python bench/known_answers.py --queries 20
    python bench/known_answers.py --queries 5 --skip-lime --skip-shap   # a quick look
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
import warnings

import numpy as np
import pandas as pd

N_TRAIN = 5000
N_REFERENCE = 200
TOP_K = 5
#: true contributions closer than this (log-odds) count as tied in the second recovery figure:
#: the additive target's error, below which no estimate can be asked to order them
TIE = 0.02
NUMBERS = ("n1", "n2", "n3", "n4", "n5", "n6", "n7")
CATEGORIES = {
    "c1": (("a", "b", "c"), (0.5, 0.3, 0.2)),
    "c2": (("p", "q", "r", "s"), (0.4, 0.3, 0.2, 0.1)),
    "c3": (("no", "yes"), (0.6, 0.4)),
}
FEATURES = NUMBERS + tuple(CATEGORIES)
CATEGORY_EFFECTS = {
    "c1": {"a": 0.0, "b": 0.5, "c": -0.4},
    "c2": {"p": 0.0, "q": -0.3, "r": 0.2, "s": 0.6},
    "c3": {"no": 0.0, "yes": 0.3},
}
TARGETS = {"linear": 0.02, "steps+kinks": 0.02, "+interaction": 0.035}


# ---- data and boxes ------------------------------------------------------------------------------
def training_data(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = N_TRAIN
    frame = pd.DataFrame(
        {
            "n1": rng.normal(0.0, 1.0, n),
            "n2": rng.uniform(0.0, 10.0, n),
            "n3": rng.lognormal(0.0, 0.6, n),
            "n4": np.round(rng.normal(50.0, 10.0, n)),
            "n5": rng.uniform(-1.0, 1.0, n),
            "n6": rng.exponential(1.0, n),
            "n7": rng.normal(0.0, 2.0, n),
        }
    )
    for name, (levels, shares) in CATEGORIES.items():
        frame[name] = rng.choice(levels, n, p=shares)
    return frame


def linear_terms(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    x = {f: frame[f].to_numpy(dtype=float) for f in NUMBERS}
    return {
        "n1": 0.8 * x["n1"],
        "n2": 0.15 * x["n2"],
        "n3": -0.4 * x["n3"],
        "n4": 0.03 * x["n4"],
        "n5": 0.6 * x["n5"],
        "n6": -0.2 * x["n6"],
        "n7": 0.1 * x["n7"],
        **_category_terms(frame),
    }


def step_kink_terms(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    x = {f: frame[f].to_numpy(dtype=float) for f in NUMBERS}
    return {
        "n1": 1.0 * (x["n1"] > 0.5),
        "n2": 0.3 * np.maximum(x["n2"] - 4.0, 0.0),
        "n3": -0.8 * (x["n3"] > 1.5),
        "n4": -0.04 * np.abs(x["n4"] - 50.0),
        "n5": 0.6 * (x["n5"] > 0.0),
        "n6": -0.5 * np.minimum(x["n6"], 1.5),
        "n7": 0.3 * (x["n7"] > 1.0) - 0.3 * (x["n7"] < -1.0),
        **_category_terms(frame),
    }


def _category_terms(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        name: frame[name].map(effects).to_numpy(dtype=float)
        for name, effects in CATEGORY_EFFECTS.items()
    }


def pair_term(n1: np.ndarray, n2: np.ndarray) -> np.ndarray:
    return n1 * (n2 - 5.0) / 3.0


def log_odds_linear(frame: pd.DataFrame) -> np.ndarray:
    return sum(linear_terms(frame).values()) - 1.5


def log_odds_steps(frame: pd.DataFrame) -> np.ndarray:
    return sum(step_kink_terms(frame).values())


def log_odds_interaction(frame: pd.DataFrame) -> np.ndarray:
    return log_odds_steps(frame) + pair_term(
        frame["n1"].to_numpy(dtype=float), frame["n2"].to_numpy(dtype=float)
    )


def encoded(frame: pd.DataFrame) -> np.ndarray:
    """Numbers as they are, categories as their level's position (for the GBM and SHAP)."""
    columns = [frame[f].to_numpy(dtype=float) for f in NUMBERS]
    for name, (levels, _) in CATEGORIES.items():
        codes = pd.Categorical(frame[name], categories=levels).codes
        columns.append(codes.astype(float))
    return np.column_stack(columns)


def decoded(values: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(values[:, : len(NUMBERS)], columns=list(NUMBERS))
    for k, (name, (levels, _)) in enumerate(CATEGORIES.items()):
        frame[name] = np.asarray(levels, dtype=object)[values[:, len(NUMBERS) + k].astype(int)]
    return frame


def gbm_log_odds(train: pd.DataFrame):
    from sklearn.ensemble import HistGradientBoostingRegressor

    categorical = [False] * len(NUMBERS) + [True] * len(CATEGORIES)
    model = HistGradientBoostingRegressor(
        max_iter=300, learning_rate=0.1, categorical_features=categorical, random_state=0
    ).fit(encoded(train), log_odds_steps(train))
    return lambda frame: model.predict(encoded(frame))


class Box:
    """A black box: log-odds on frames, counted rows, and probabilities for the explainers."""

    def __init__(self, name: str, log_odds) -> None:
        self.name = name
        self.log_odds = log_odds
        self.rows = 0

    def logit_frame(self, frame: pd.DataFrame) -> np.ndarray:
        self.rows += len(frame)
        return np.asarray(self.log_odds(frame), dtype=float)

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit_frame(frame)))

    def logit_values(self, values: np.ndarray) -> np.ndarray:
        return self.logit_frame(decoded(values))


# ---- truth ----------------------------------------------------------------------------------------
def additive_truth(terms, queries: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
    at_query, over_reference = terms(queries), terms(reference)
    return np.column_stack([at_query[f] - over_reference[f].mean() for f in FEATURES])


def interaction_truth(queries: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
    truth = additive_truth(step_kink_terms, queries, reference)
    qa, qb = queries["n1"].to_numpy(dtype=float), queries["n2"].to_numpy(dtype=float)
    ra, rb = reference["n1"].to_numpy(dtype=float), reference["n2"].to_numpy(dtype=float)
    both = pair_term(qa, qb)
    only_a = pair_term(qa[:, None], rb[None, :]).mean(
        axis=1
    )  # a at the query, b from the reference
    only_b = pair_term(ra[None, :], qb[:, None]).mean(axis=1)
    neither = pair_term(ra, rb).mean()  # both from the same reference row
    truth[:, FEATURES.index("n1")] += 0.5 * (both - only_b + only_a - neither)
    truth[:, FEATURES.index("n2")] += 0.5 * (both - only_a + only_b - neither)
    return truth


def enumerated_shapley(box: Box, query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Exact interventional Shapley values of one query: every coalition on every reference row."""
    p = len(query)
    masks = np.array(list(itertools.product([False, True], repeat=p)))  # (2^p, p)
    rows = np.where(masks[:, None, :], query[None, None, :], reference[None, :, :])
    value = box.logit_values(rows.reshape(-1, p)).reshape(len(masks), len(reference)).mean(axis=1)
    index = {tuple(m): k for k, m in enumerate(masks)}
    phi = np.zeros(p)
    for k, mask in enumerate(masks):
        size = int(mask.sum())
        for j in np.flatnonzero(~mask):
            weight = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
            plus = mask.copy()
            plus[j] = True
            phi[j] += weight * (value[index[tuple(plus)]] - value[k])
    return phi


# ---- methods --------------------------------------------------------------------------------------
def surrogate_contributions(box, train, queries, reference, family, options):
    import surrogate as sg
    from surrogate.surrogates.contributions import with_reference

    explainer = sg.TabularExplainer(
        box.probability, train, mode="classification", random_state=0, **options
    )
    box.rows = 0
    params = {"max_features": 10} if family == "linear" else {}
    many = explainer.explain_many(queries, surrogate=family, **params)
    rows = box.rows / len(queries)
    ref_values = explainer.schema.encode(reference)
    out = np.zeros((len(queries), len(FEATURES)))
    for i, exp in enumerate(many):
        if family == "additive":
            content = with_reference(exp.content, ref_values, explainer.schema.features)
            stated = {t.feature: t.contribution for t in content.terms}
        else:
            query = explainer.schema.encode(queries.iloc[[i]])[0]
            z_ref = explainer.sampler.z_of(query, ref_values).mean(axis=0)
            names = list(explainer.sampler.z_names)
            stated = {
                t.feature: -t.weight * z_ref[names.index(t.feature)] for t in exp.content.terms
            }
        out[i] = [stated.get(f, 0.0) for f in FEATURES]
    r2_population = np.array(
        [np.nan if e.fidelity.r2_population is None else e.fidelity.r2_population for e in many]
    )
    return out, rows, r2_population


def lime_contributions(box, train, queries, reference):
    from lime.lime_tabular import LimeTabularExplainer

    categorical = list(range(len(NUMBERS), len(FEATURES)))
    names = {len(NUMBERS) + k: list(levels) for k, (levels, _) in enumerate(CATEGORIES.values())}
    explainer = LimeTabularExplainer(
        encoded(train),
        mode="regression",
        feature_names=list(FEATURES),
        categorical_features=categorical,
        categorical_names=names,
        discretize_continuous=True,
        random_state=0,
    )
    ref = encoded(reference)
    ref_bins = explainer.discretizer.discretize(ref)
    box.rows = 0
    out = np.zeros((len(queries), len(FEATURES)))
    for i, query in enumerate(encoded(queries)):
        exp = explainer.explain_instance(
            query, box.logit_values, num_features=len(FEATURES), num_samples=5000
        )
        query_bins = explainer.discretizer.discretize(query[None, :])[0]
        for j, weight in exp.local_exp[1]:  # a regression's model (key 0 holds it negated)
            share = float(np.mean(ref_bins[:, j] == query_bins[j]))
            out[i, j] = weight * (1.0 - share)
    return out, box.rows / len(queries)


def shap_contributions(box, queries, reference):
    import shap

    masker = shap.maskers.Independent(encoded(reference), max_samples=N_REFERENCE)
    explainer = shap.explainers.Exact(box.logit_values, masker)
    box.rows = 0
    values = explainer(encoded(queries), silent=True).values
    return np.asarray(values), box.rows / len(queries)


# ---- scores ---------------------------------------------------------------------------------------
def top_sets(contributions: np.ndarray) -> list[set[int]]:
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :TOP_K]
    return [set(row) for row in order]


def found_per_query(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Each query's share of the true top 5 found in the estimate's top 5."""
    pairs = zip(top_sets(estimate), top_sets(truth), strict=True)
    return np.array([len(e & t) / TOP_K for e, t in pairs])


def recovery(estimate: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    found = found_per_query(estimate, truth)
    return float(np.mean(found)), float(np.mean(found == 1.0))


def recovery_up_to_ties(estimate: np.ndarray, truth: np.ndarray, tie: float = TIE) -> float:
    """Mean share of a method's top 5 whose true |contribution| is within ``tie`` of the
    true 5th largest: a pick between features the truth itself separates by less than
    ``tie`` counts either way (what a per-feature error of that size cannot order)."""
    size = np.abs(truth)
    fifth = -np.sort(-size, axis=1)[:, TOP_K - 1]
    picks = top_sets(estimate)
    return float(
        np.mean(
            [np.mean([size[i, j] >= fifth[i] - tie for j in picks[i]]) for i in range(len(truth))]
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=20, help="queries per box (default 20)")
    parser.add_argument("--skip-lime", action="store_true")
    parser.add_argument("--skip-shap", action="store_true")
    parser.add_argument(
        "--number-change",
        type=float,
        default=None,
        help="also run the additive surrogate with this number_change (to compare with the default)",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    train = training_data(0)
    rng = np.random.default_rng(1)
    reference = train.iloc[np.sort(rng.choice(len(train), N_REFERENCE, replace=False))]
    queries = training_data(2).iloc[: args.queries].reset_index(drop=True)
    boxes = [
        Box("linear", log_odds_linear),
        Box("steps+kinks", log_odds_steps),
        Box("+interaction", log_odds_interaction),
        Box("gbm", gbm_log_odds(train)),
    ]
    started = time.perf_counter()
    truths = {
        "linear": additive_truth(linear_terms, queries, reference),
        "steps+kinks": additive_truth(step_kink_terms, queries, reference),
        "+interaction": interaction_truth(queries, reference),
        "gbm": np.array(
            [enumerated_shapley(boxes[3], q, encoded(reference)) for q in encoded(queries)]
        ),
    }
    results: dict[str, dict[str, tuple[np.ndarray, float]]] = {}
    r2_population: dict[str, np.ndarray] = {}
    for box in boxes:
        row: dict[str, tuple[np.ndarray, float]] = {}
        est, rows, r2p = surrogate_contributions(box, train, queries, reference, "additive", {})
        row["surrogate additive (default)"] = (est, rows)
        r2_population[box.name] = r2p
        est, rows, _ = surrogate_contributions(
            box, train, queries, reference, "additive", {"sampler_options": {"number_change": 0.0}}
        )
        row["surrogate additive, numbers not redrawn"] = (est, rows)
        if args.number_change is not None:
            options = {"sampler_options": {"number_change": args.number_change}}
            est, rows, _ = surrogate_contributions(
                box, train, queries, reference, "additive", options
            )
            row[f"surrogate additive, number_change={args.number_change:g}"] = (est, rows)
        est, rows, _ = surrogate_contributions(box, train, queries, reference, "linear", {})
        row["surrogate linear (10 features)"] = (est, rows)
        if not args.skip_lime:
            row["LIME (5000 samples, log-odds)"] = lime_contributions(
                box, train, queries, reference
            )
        if not args.skip_shap:
            row["SHAP exact (200-row background)"] = shap_contributions(box, queries, reference)
        results[box.name] = row
        print(f"[{box.name} done, {time.perf_counter() - started:.0f} s]", flush=True)
    report(results, truths, r2_population, args.queries)


def report(results, truths, r2_population, n_queries: int) -> None:
    from scipy.stats import spearmanr

    names = [b for b in results]
    methods = list(results[names[0]])
    print(
        f"\nKnown answers: {n_queries} queries per box, truth against a {N_REFERENCE}-row reference"
    )
    print(
        "\n| mean abs. error of contributions (log-odds) | "
        + " | ".join(names)
        + " | model rows per query |"
    )
    print("|---|" + "---|" * (len(names) + 1))
    for method in methods:
        errors = [np.abs(results[b][method][0] - truths[b]).mean() for b in names]
        rows = results[names[0]][method][1]
        print(f"| {method} | " + " | ".join(f"{e:.3f}" for e in errors) + f" | {rows:,.0f} |")
    print(
        "\n| top-5 recovered: mean share of the true top 5 (share of queries with exactly it) | "
        + " | ".join(names)
        + " |"
    )
    print("|---|" + "---|" * len(names))
    for method in methods:
        cells = [recovery(results[b][method][0], truths[b]) for b in names]
        print(f"| {method} | " + " | ".join(f"{m:.2f} ({e:.2f})" for m, e in cells) + " |")
    print(
        f"\n| top-5 recovered, true ties within {TIE} log-odds counted either way | "
        + " | ".join(names)
        + " |"
    )
    print("|---|" + "---|" * len(names))
    for method in methods:
        cells = [recovery_up_to_ties(results[b][method][0], truths[b]) for b in names]
        print(f"| {method} | " + " | ".join(f"{m:.2f}" for m in cells) + " |")
    method = methods[0]
    errors = {b: np.abs(results[b][method][0] - truths[b]).mean(axis=1) for b in names}
    pooled_r2 = np.concatenate([r2_population[b] for b in names])
    pooled_error = np.concatenate([errors[b] for b in names])
    rho = spearmanr(pooled_r2, pooled_error).statistic
    print(f"\nSpearman(population-scope R^2, per-query contribution error), {method}:")
    print(f"  pooled over the boxes: {rho:+.2f} (target <= -0.5)")
    for b in names:
        r = spearmanr(r2_population[b], errors[b]).statistic
        print(
            f"  {b}: {r:+.2f}; population R^2 median {np.nanmedian(r2_population[b]):.3f} "
            f"(min {np.nanmin(r2_population[b]):.3f})"
        )
    print("\nTargets, default additive:")
    for b, target in TARGETS.items():
        error = np.abs(results[b][method][0] - truths[b]).mean()
        print(
            f"  {b}: MAE {error:.3f} (target <= {target}) {'met' if error <= target else 'NOT met'}"
        )
    found = np.concatenate([found_per_query(results[b][method][0], truths[b]) for b in names])
    share, error = found.mean(), found.std(ddof=1) / np.sqrt(len(found))
    tied = np.mean([recovery_up_to_ties(results[b][method][0], truths[b]) for b in names])
    print(
        f"  top-5 recovered {share:.3f} of the time, standard error {error:.3f} over "
        f"{len(found)} queries (target >= 0.95) {'met' if share >= 0.95 else 'NOT met'}; "
        f"{tied:.3f} with true ties within {TIE} counted either way"
    )


if __name__ == "__main__":
    main()
