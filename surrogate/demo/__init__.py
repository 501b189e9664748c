"""``make demo``: train a gradient-boosted model on German credit and explain three applicants.

Run with ``python -m surrogate.demo``.
"""

from __future__ import annotations

import time
from typing import cast

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..datasets import load_german_credit
from ..errors import ParameterError
from ..explain import TabularExplainer
from ..explanation import ExplanationSet


def german_credit_model(
    X_train, y_train, *, random_state: int = 0, trainer: str = "gbm"
) -> Pipeline:
    """A pipeline that takes the raw frame: categories imputed and one-hot encoded inside.

    ``trainer`` is "gbm" (histogram gradient boosting), "mlp" (a small multi-layer
    perceptron on standardised inputs) or "logreg" (standardised logistic regression).
    """
    categorical = [c for c in X_train.columns if X_train[c].dtype == "category"]
    numeric = [c for c in X_train.columns if c not in categorical]
    categories = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    if trainer == "gbm":
        encode = ColumnTransformer(
            [("categories", categories, categorical)], remainder="passthrough"
        )
        learner = HistGradientBoostingClassifier(random_state=random_state)
    elif trainer in ("logreg", "mlp"):
        numbers = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        encode = ColumnTransformer(
            [("categories", categories, categorical), ("numbers", numbers, numeric)]
        )
        learner = (
            LogisticRegression(max_iter=2000)
            if trainer == "logreg"
            else MLPClassifier(
                hidden_layer_sizes=(32, 16), alpha=1e-2, max_iter=500, random_state=random_state
            )
        )
    else:
        raise ParameterError(f"trainer must be 'gbm', 'mlp' or 'logreg', got {trainer!r}.")
    return Pipeline([("encode", encode), ("model", learner)]).fit(X_train, y_train)


def load_demo_problem(data: str, trainer: str, *, seed: int = 0):
    """A bundled data set, split 70/30, and a demo model trained on it.

    Returns (model, X_train, X_test, adverse target label).
    """
    from ..datasets import load_adult

    X, y = load_german_credit() if data == "german-credit" else load_adult()
    target = "bad" if data == "german-credit" else ">50K"
    X_train, X_test, y_train, _ = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=y
    )
    model = german_credit_model(X_train, y_train, random_state=seed, trainer=trainer)
    return model, X_train, X_test, target


def main() -> None:
    X, y = load_german_credit()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    model = german_credit_model(X_train, y_train)
    print(
        f"Gradient-boosted model on German credit: test accuracy {model.score(X_test, y_test):.3f}"
    )
    explainer = TabularExplainer(model, X_train, target="bad", random_state=0)
    start = time.perf_counter()
    explanations = cast(ExplanationSet, explainer.explain_many(X_test.iloc[:3], max_features=5))
    seconds = time.perf_counter() - start
    for index, exp in zip(explanations.indices, explanations, strict=True):
        print(f"\n=== Applicant {X_test.index[index]} (P(bad) = {exp.prediction:.3f}) ===")
        print(exp.to_text())
    print(
        f"\nExplained {len(explanations)} applicants in {seconds:.2f} s ({explainer.n_samples} model rows each)."
    )


if __name__ == "__main__":
    main()
