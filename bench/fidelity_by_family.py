"""Held-out fidelity by surrogate family on German credit, locally and globally.

A gradient-boosted pipeline (the demo model) is explained on 20 test applicants
with a linear surrogate (5 features), trees of depth 3 and 4 and a rule list of 5
rules; then one global surrogate of each family is fitted on the training rows
(held-out split inside ``explain_global``). Prints a markdown table of medians.

    python bench/fidelity_by_family.py [--queries 20] [--n-samples 2000]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.model_selection import train_test_split

from surrogate import TabularExplainer
from surrogate.datasets import load_german_credit
from surrogate.demo import german_credit_model

FAMILIES = (
    ("linear, 5 features", "linear", {"max_features": 5}),
    ("tree, depth 3", "tree", {"max_depth": 3}),
    ("tree, depth 4", "tree", {"max_depth": 4}),
    ("rules, 5 rules", "rules", {"max_rules": 5}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--n-samples", type=int, default=2000)
    args = parser.parse_args()
    X, y = load_german_credit()
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    model = german_credit_model(X_train, y_train)
    explainer = TabularExplainer(model, X_train, target="bad", n_samples=args.n_samples)
    print(
        f"German credit, gradient-boosted pipeline, {args.queries} test applicants, n_samples={args.n_samples}\n"
    )
    print(
        "| surrogate | local median held-out R^2 | local IQR | local median agreement "
        "| global held-out R^2 | global agreement | global R^2, augment=5 | global complexity |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, family, params in FAMILIES:
        local = explainer.explain_many(X_test.iloc[: args.queries], family, **params)
        r2 = np.array([e.fidelity.r2 for e in local])
        agreement = np.median([e.fidelity.agreement for e in local])
        glob = explainer.explain_global(X_train, family, **params)
        augmented = explainer.explain_global(X_train, family, augment=5, **params)
        q1, q3 = np.percentile(r2, [25, 75])
        shape = ", ".join(f"{k} {v}" for k, v in sorted(glob.complexity.items()))
        print(
            f"| {label} | {np.median(r2):.3f} | {q1:.3f}-{q3:.3f} | {agreement:.3f} | "
            f"{glob.fidelity.r2:.3f} | {glob.fidelity.agreement:.3f} | {augmented.fidelity.r2:.3f} | {shape} |"
        )


if __name__ == "__main__":
    main()
