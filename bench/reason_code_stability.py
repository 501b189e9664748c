"""Reason codes across seeds: do the declined applicants of the review get the same reasons?

The German credit review (``make demo`` settings: demo gradient-boosted pipeline, cut-off
P(bad) >= 1/6, reference population = all training applicants, the "simplest" family
ladder at min_fidelity 0.7), or Adult's with ``--data adult``, is rebuilt once; then its declined held-out applicants are
explained again under ``N_SEEDS`` explainer seeds (the same explainer, only its
``random_state`` changed), their reasons computed as the review computes them, and
compared across seeds:

- *identical*: the same status (reasons / manual review) and the same top-4 reason
  families in the same order under every seed;
- *same set*: the same status and the same set of top-4 families (order aside);
- the first reason, and the first two in order, identical under every seed;
- the share of (applicant, seed) pairs where the family chosen by the ladder differs
  from the one chosen under seed 0;
- *true principal reason*: the share of applicants whose principal reason (seed 0) is
  the family with the largest effect in the model itself, measured without any
  surrogate: the model's log-odds at the applicant minus its mean when the family's
  features take each reference applicant's values in turn (the rest kept), the
  review's own check (:mod:`surrogate.report.model_check`, at most 1000 reference rows);
- the mean absolute difference, over the top-4 families, between the stated family
  contributions (seed 0) and those model effects, in log-odds.

Each row is one review setting: ``n_samples`` and the sampler's ``number_change`` (the
review's default 0.3 redraws numbers from the training values; 0 draws them only
around the applicant, so contributions against the training population extrapolate
the surrogate beyond the applicant's surroundings).

Target (issue "additive"): the top-4 reason codes identical across 10 seeds for >= 90%
of declined applicants.

    python bench/reason_code_stability.py [--data german-credit] [--cases 50]
        [--n-samples 2000 5000] [--number-change 0 0.3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from surrogate.explain.pipeline import apply_link
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
from surrogate.report.model_check import family_effects, reason_families, reference_sample
from surrogate.report.problem import load_problem
from surrogate.report.reason_codes import contributions, eligible_by_family, family_totals

N_SEEDS = 10
TOP = 4
TARGET = 0.9


def reasons_under_seeds(config: ReviewConfig, n_cases: int) -> tuple[list[list], list[dict]]:
    """Per seed, the declined applicants' (status, top families, family used, family
    totals); and per applicant the model's own effect of each family."""
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
            parts = contributions(exp, reasoning.policy, reasoning.reference)
            totals = family_totals(eligible_by_family(parts))
            cases.append((reasons.status, codes, exp.family, totals))
        runs.append(cases)
    effects = [model_effects(base, problem, reasoning, adverse, p) for p in declined]
    return runs, effects


def model_effects(explainer, problem, reasoning: ReasonInputs, adverse: int, p: int) -> dict:
    """Each family's effect in the model itself at applicant ``p`` (module doc), log-odds:
    the review's own check (:mod:`surrogate.report.model_check`)."""
    families = reason_families(reasoning.policy, list(problem.X_train.columns))

    def score(frame):
        return apply_link(explainer.blackbox.predict(frame)[:, adverse], "logit")

    population = reference_sample(problem.X_train, reasoning.config.seed)
    effects = family_effects(score, problem.X_test.iloc[[p]], population, families)
    return {family: effects.effect(family) for family in families}


def summarise(runs: list[list], effects: list[dict]) -> dict[str, float]:
    n = len(effects)
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
    true_first, errors = 0, []
    for i, effect in enumerate(effects):
        status, codes, _, totals = runs[0][i]
        largest = max(effect, key=lambda f: (effect[f], f))
        true_first += status == "reasons" and codes[:1] == (largest,)
        errors += [abs(totals.get(f, 0.0) - effect[f]) for f in codes]
    return {
        "true_first": true_first / n,
        "error": float(np.mean(errors)) if errors else float("nan"),
        "identical": identical / n,
        "same_set": same_set / n,
        "first": first_same / n,
        "first_two": two_same / n,
        "with_reasons": with_reasons,
        "family_moves": family_moves / (n * (len(runs) - 1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="german-credit", choices=["german-credit", "adult"])
    parser.add_argument("--cases", type=int, default=50, help="declined applicants (first N)")
    parser.add_argument("--n-samples", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--number-change", type=float, nargs="+", default=[0.0, 0.3])
    args = parser.parse_args()
    print(
        f"{args.data} review, declined held-out applicants (first {args.cases}), "
        f"{N_SEEDS} explainer seeds, top-{TOP} reason families\n"
    )
    print(
        "| n_samples | number_change | declined | identical (order kept) | same set "
        "| first reason identical | first two identical | with reasons (all seeds) "
        "| ladder family differs from seed 0 | true principal reason "
        "| top-4 contribution - model effect | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n_samples in args.n_samples:
        for number_change in args.number_change:
            start = time.perf_counter()
            config = ReviewConfig(
                data=args.data, n_samples=n_samples, number_change=number_change
            ).resolved()
            runs, effects = reasons_under_seeds(config, args.cases)
            s = summarise(runs, effects)
            met = "met" if s["identical"] >= TARGET else "not met"
            print(
                f"| {n_samples} | {number_change:g} | {len(effects)} "
                f"| {s['identical']:.0%} (target >= {TARGET:.0%}: {met}) "
                f"| {s['same_set']:.0%} | {s['first']:.0%} | {s['first_two']:.0%} "
                f"| {s['with_reasons']:.0%} | {s['family_moves']:.0%} | {s['true_first']:.0%} "
                f"| {s['error']:.3f} | {time.perf_counter() - start:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
