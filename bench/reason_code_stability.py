"""Reason codes across seeds: do the declined applicants of the review get the same reasons?

The German credit review (``make demo`` settings: demo gradient-boosted pipeline, cut-off
P(bad) >= 1/6, reference population = all training applicants, the "simplest" family
ladder at min_fidelity 0.7) is rebuilt once; then its declined held-out applicants are
explained again under ``N_SEEDS`` explainer seeds (the same explainer, only its
``random_state`` changed), their reasons computed as the review computes them, and
compared across seeds:

- *identical*: the same status (reasons / manual review) and the same top-4 reason
  families in the same order under every seed;
- *same set*: the same status and the same set of top-4 families (order aside);
- the first reason, and the first two in order, identical under every seed;
- the share of (applicant, seed) pairs where the family chosen by the ladder differs
  from the one chosen under seed 0.

Target (issue "additive"): the top-4 reason codes identical across 10 seeds for >= 90%
of declined applicants.

    python bench/reason_code_stability.py [--cases 50] [--n-samples 2000 5000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from surrogate.interop import reseeded
from surrogate.report import ReviewConfig
from surrogate.report.builder import (
    ReasonInputs,
    explain_positions,
    make_explainer,
    make_policy,
    make_reference,
    reference_rows,
)
from surrogate.report.problem import load_problem

N_SEEDS = 10
TOP = 4
TARGET = 0.9


def reasons_under_seeds(config: ReviewConfig, n_cases: int) -> tuple[list[list], int]:
    """Per seed, the declined applicants' (status, top families, family used)."""
    problem = load_problem(config)
    base = make_explainer(problem, config)
    adverse = list(base.blackbox.output_names).index(config.adverse)
    scores_test = base.blackbox.predict(problem.X_test)[:, adverse]
    scores_train = base.blackbox.predict(problem.X_train)[:, adverse]
    declined = [int(i) for i in np.flatnonzero(scores_test >= config.cutoff)[:n_cases]]
    reasoning = ReasonInputs(
        problem=problem,
        config=config,
        policy=make_policy(config, base.schema),
        reference=make_reference(config, base, problem, scores_train),
        rows=reference_rows(config, base, problem, scores_train),
        features=base.schema.features,
        ids=[str(p) for p in range(len(problem.X_test))],
    )
    runs = []
    for seed in range(N_SEEDS):
        explained = explain_positions(reseeded(base, seed), problem, declined, config)
        cases = []
        for p in declined:
            exp = reasoning.stated(explained[p])
            reasons = reasoning.reasons(exp, p)
            codes = tuple(r.family for r in reasons.reasons[:TOP])
            cases.append((reasons.status, codes, exp.family))
        runs.append(cases)
    return runs, len(declined)


def summarise(runs: list[list], n: int) -> dict[str, float]:
    identical = same_set = first_same = two_same = 0
    family_moves = 0
    for i in range(n):
        first = runs[0][i]
        identical += all(run[i][:2] == first[:2] for run in runs)
        first_same += all(run[i][1][:1] == first[1][:1] for run in runs)
        two_same += all(run[i][1][:2] == first[1][:2] for run in runs)
        same_set += all(
            run[i][0] == first[0] and set(run[i][1]) == set(first[1]) for run in runs
        )
        family_moves += sum(run[i][2] != first[2] for run in runs[1:])
    with_reasons = float(np.mean([[run[i][0] == "reasons" for run in runs] for i in range(n)]))
    return {
        "identical": identical / n,
        "same_set": same_set / n,
        "first": first_same / n,
        "first_two": two_same / n,
        "with_reasons": with_reasons,
        "family_moves": family_moves / (n * (len(runs) - 1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=50, help="declined applicants (first N)")
    parser.add_argument("--n-samples", type=int, nargs="+", default=[2000, 5000])
    args = parser.parse_args()
    print(
        f"German credit review, declined held-out applicants (first {args.cases}), "
        f"{N_SEEDS} explainer seeds, top-{TOP} reason families\n"
    )
    print(
        "| n_samples | declined | identical (order kept) | same set | first reason identical "
        "| first two identical | with reasons (all seeds) | ladder family differs from seed 0 "
        "| seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n_samples in args.n_samples:
        start = time.perf_counter()
        config = ReviewConfig(data="german-credit", n_samples=n_samples).resolved()
        runs, n = reasons_under_seeds(config, args.cases)
        s = summarise(runs, n)
        met = "met" if s["identical"] >= TARGET else "not met"
        print(
            f"| {n_samples} | {n} | {s['identical']:.0%} (target >= {TARGET:.0%}: {met}) "
            f"| {s['same_set']:.0%} | {s['first']:.0%} | {s['first_two']:.0%} "
            f"| {s['with_reasons']:.0%} | {s['family_moves']:.0%} "
            f"| {time.perf_counter() - start:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
