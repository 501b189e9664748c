"""What an explanation costs beyond the black box, and what ``auto`` and a single query add.

Three measurements, side by side in one run, on German credit and Adult with the
scikit-learn pipeline of ``bench_vs_lime.py`` (one-hot encoder + histogram gradient
boosting) at ``n_samples=5000``:

1. **One query alone against one query in a batch.** ``explain(row)`` for each of
   the queries, one at a time, against one ``explain_many`` of all of them; the
   ratio is seconds per query alone over seconds per query in the batch
   (target: at most 1.5).
2. **``auto`` against the family it chooses.** The fits alone (sampling and scoring
   done once and shared): ``auto`` on every query's local problem, against the
   family ``auto`` chose for that query fitted on the same problem (target: at
   most 1.5).
3. **The pipeline's own cost.** ``explain_many`` of the queries against the
   scoring floor: the same rows, drawn by the same sampler, scored by the model in
   the same calls without any explaining. The pipeline's cost is the difference,
   stated as a share of the floor (targets: 0.3 for linear, 0.4 for additive).
4. **What each costly part buys** (``--parts settings``): the pipeline's own cost of
   the families with a part turned off (control variates, the bootstrap refits, the
   smoothing choice), beside the figures that part is there for: the median held-out
   R^2 and the median bootstrap top-5 Jaccard over the queries (none without a
   bootstrap).

Every timing is the best of ``--repeats`` runs, the runs of the things compared
interleaved so that a busy machine slows both alike. Ratios are the point.

    python bench/explain_cost.py [--queries 20] [--repeats 3] [--data german adult]
                                 [--parts single auto pipeline settings]
"""

from __future__ import annotations

import argparse
import ast
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from surrogate import TabularExplainer
from surrogate.explain.pipeline import Size, local_problem, score
from surrogate.surrogates import make_surrogate

N_SAMPLES = 5000
FAMILIES = ("linear", "additive", "auto")
TARGETS = {"single": 1.5, "auto": 1.5, "linear": 0.3, "additive": 0.4}


@dataclass(frozen=True)
class Case:
    name: str
    explainer: TabularExplainer
    queries: object  # DataFrame


def _hgb_pipeline(X_train, y_train):
    from pandas.api.types import is_numeric_dtype
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    categorical = [c for c in X_train.columns if not is_numeric_dtype(X_train[c].dtype)]
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    return make_pipeline(
        make_column_transformer((encoder, categorical), remainder="passthrough"),
        HistGradientBoostingClassifier(random_state=0),
    ).fit(X_train, y_train)


def load_case(name: str, n_queries: int) -> Case:
    from surrogate import datasets

    X, y = {"german": datasets.load_german_credit, "adult": datasets.load_adult}[name]()
    order = np.random.default_rng(0).permutation(len(X))
    cut = int(0.7 * len(X))
    X_train, y_train = X.iloc[order[:cut]], y.iloc[order[:cut]]
    queries = X.iloc[order[cut : cut + n_queries]]
    explainer = TabularExplainer(_hgb_pipeline(X_train, y_train), X_train, n_samples=N_SAMPLES)
    return Case(name, explainer, queries)


def best_of(repeats: int, *tasks: Callable[[], object]) -> list[float]:
    """Best seconds of each task over ``repeats`` rounds, the tasks interleaved per round."""
    best = [np.inf] * len(tasks)
    for _ in range(repeats):
        for k, task in enumerate(tasks):
            start = time.perf_counter()
            task()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


# ---- 1. one query alone against one query in a batch ---------------------------------------------
def single_against_batch(case: Case, family: str, repeats: int) -> float:
    ex, rows = case.explainer, case.queries

    def alone() -> None:
        for i in range(len(rows)):
            ex.explain(rows.iloc[i], family)

    def batch() -> None:
        ex.explain_many(rows, family)

    seconds_alone, seconds_batch = best_of(repeats, alone, batch)
    return seconds_alone / seconds_batch


# ---- 2. auto against the family it chooses ---------------------------------------------------------
CHOSE = re.compile(r"auto chose (\w+) (\{.*?\}) with")


def auto_against_chosen(case: Case, repeats: int) -> tuple[float, dict[str, int]]:
    ex = case.explainer
    queries = ex.prepare(case.queries)
    scored = score(ex, queries, Size.of(N_SAMPLES, ex.holdout_share, ex.population_share))
    problems = [local_problem(ex, s) for s in scored]
    features, z_names = queries[0].features, queries[0].z_names
    seeds = [s.seeds.bootstrap for s in scored]
    auto = make_surrogate("auto")
    chosen = []
    for fit in auto.fit_local(problems, features, z_names, seeds):
        name, params = CHOSE.match(fit.notes[0]).groups()  # type: ignore[union-attr]
        chosen.append(make_surrogate(name, **ast.literal_eval(params)))

    def fit_auto() -> None:
        for p, s in zip(problems, seeds, strict=True):
            auto.fit_local([p], features, z_names, [s])

    def fit_chosen() -> None:
        for family, p, s in zip(chosen, problems, seeds, strict=True):
            family.fit_local([p], features, z_names, [s])

    seconds_auto, seconds_chosen = best_of(repeats, fit_auto, fit_chosen)
    counts: dict[str, int] = {}
    for family in chosen:
        label = f"{family.name} {family.params().get('interactions', '')}".strip()
        counts[label] = counts.get(label, 0) + 1
    return seconds_auto / seconds_chosen, counts


# ---- 3. the pipeline's own cost ----------------------------------------------------------------
def pipeline_share(
    case: Case, family: str, repeats: int, **params: object
) -> tuple[float, float, float]:
    """(total seconds, floor seconds, (total - floor) / floor) for ``explain_many``."""
    ex = case.explainer
    queries = ex.prepare(case.queries)
    size = Size.of(N_SAMPLES, ex.holdout_share, ex.population_share)
    blocks = [
        np.concatenate([s.values_fit, s.values_hold, *_population_values(s), s.values_fit[:1]])
        for s in score(ex, queries, size)
    ]  # the rows the pipeline scores, in its own layout (population-scope rows included)

    def floor() -> None:
        ex.blackbox.predict_blocks(blocks, [q.render for q in queries])

    def total() -> None:
        ex.explain_many(case.queries, family, **params)

    seconds_floor, seconds_total = best_of(repeats, floor, total)
    return seconds_total, seconds_floor, (seconds_total - seconds_floor) / seconds_floor


# ---- 4. what each costly part buys -----------------------------------------------------------------
SETTINGS = (
    ("linear", {}),
    ("linear", {"control_variates": False}),
    ("linear", {"n_bootstrap": 0}),
    ("linear", {"control_variates": False, "n_bootstrap": 0}),
    ("additive", {}),
    ("additive", {"smoothing": 10.0}),
    ("additive", {"n_bootstrap": 0}),
    ("additive", {"smoothing": 10.0, "n_bootstrap": 0}),
)


def setting_figures(case: Case, family: str, params: dict) -> tuple[float, float | None]:
    """Median held-out R^2 and median bootstrap top-5 Jaccard (None without a bootstrap)."""
    many = case.explainer.explain_many(case.queries, family, **params)
    r2 = float(np.median([e.fidelity.r2 for e in many]))
    jaccards = [e.stability.top_k_jaccard for e in many if e.stability.top_k_jaccard is not None]
    return r2, float(np.median(jaccards)) if jaccards else None


def _population_values(s) -> list[np.ndarray]:
    """The query's population-scope rows, which the pipeline scores in the same call."""
    return [] if s.population is None else [s.population[0]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", nargs="+", default=["german", "adult"])
    parser.add_argument("--parts", nargs="+", default=["single", "auto", "pipeline"])
    args = parser.parse_args()
    print(f"n_samples={N_SAMPLES}, {args.queries} queries, best of {args.repeats}\n")
    print("| data | measurement | value | target |")
    print("|---|---|---|---|")
    cases = {name: load_case(name, args.queries) for name in args.data}  # each model fitted once
    for name, case in cases.items():
        for family in FAMILIES if "single" in args.parts else ():
            ratio = single_against_batch(case, family, args.repeats)
            print(
                f"| {name} | {family}: s/query alone over s/query in a batch | {ratio:.2f} | <= {TARGETS['single']} |"
            )
        if "auto" in args.parts:
            ratio, counts = auto_against_chosen(case, args.repeats)
            chose = ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))
            print(
                f"| {name} | auto fits over the chosen family's fits ({chose}) | {ratio:.2f} | <= {TARGETS['auto']} |"
            )
        for family in ("linear", "additive") if "pipeline" in args.parts else ():
            total, floor, share = pipeline_share(case, family, args.repeats)
            print(
                f"| {name} | {family}: pipeline cost over the scoring floor "
                f"({total:.2f} s total, {floor:.2f} s floor) | {share:.2f} | <= {TARGETS[family]} |"
            )
    if "settings" in args.parts:
        print_settings(cases, args.repeats)


def print_settings(cases: dict[str, Case], repeats: int) -> None:
    print(
        "\n| data | family, setting | pipeline cost over the floor | held-out R^2 | top-5 Jaccard |"
    )
    print("|---|---|---|---|---|")
    for name, case in cases.items():
        for family, params in SETTINGS:
            _, _, share = pipeline_share(case, family, repeats, **params)
            r2, jaccard = setting_figures(case, family, params)
            shown = "none" if jaccard is None else f"{jaccard:.3f}"
            label = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
            print(f"| {name} | {family}, {label} | {share:.2f} | {r2:.3f} | {shown} |", flush=True)


if __name__ == "__main__":
    main()
