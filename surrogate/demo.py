"""``make demo``: train a gradient-boosted model on German credit and explain three applicants.

Run with ``python -m surrogate.demo``.
"""

from __future__ import annotations

import time

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from .datasets import load_german_credit
from .explainer import TabularExplainer


def german_credit_model(X_train, y_train, *, random_state: int = 0) -> Pipeline:
    """A gradient-boosted pipeline that takes the raw frame: categories one-hot encoded inside."""
    categorical = [c for c in X_train.columns if X_train[c].dtype == "category"]
    encode = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical)],
        remainder="passthrough",
    )
    model = Pipeline([("encode", encode), ("gbm", HistGradientBoostingClassifier(random_state=random_state))])
    return model.fit(X_train, y_train)


def main() -> None:
    X, y = load_german_credit()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    model = german_credit_model(X_train, y_train)
    print(f"Gradient-boosted model on German credit: test accuracy {model.score(X_test, y_test):.3f}")
    explainer = TabularExplainer(model, X_train, target="bad", random_state=0)
    start = time.perf_counter()
    explanations = explainer.explain_many(X_test.iloc[:3], max_features=5)
    seconds = time.perf_counter() - start
    for index, exp in zip(explanations.indices, explanations, strict=True):
        print(f"\n=== Applicant {X_test.index[index]} (P(bad) = {exp.prediction:.3f}) ===")
        print(exp.to_text())
    print(f"\nExplained {len(explanations)} applicants in {seconds:.2f} s ({explainer.n_samples} model rows each).")


if __name__ == "__main__":
    main()
