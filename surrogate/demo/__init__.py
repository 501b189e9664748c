"""``make demo``: train a gradient-boosted model on German credit and explain three applicants.

Run with ``python -m surrogate.demo``.
"""

from __future__ import annotations

import time
from typing import Any, cast

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from ..datasets import load_german_credit
from ..errors import ParameterError
from ..explain import TabularExplainer
from ..explanation import ExplanationSet
from ..schema import DATETIME_ORIGIN

#: the adverse label of each bundled table, the one its demo review declines on
ADVERSE_LABELS = {"german-credit": "bad", "adult": ">50K"}
#: the demo trainers, by name
TRAINERS = ("gbm", "gbm-overfit", "mlp", "logreg")
#: each trainer's learner for a class label and, where it has one, for a numeric target
#: (its regression counterpart: the same learner with a squared-error loss; a ridge for
#: the logistic regression)
LEARNERS: dict[str, dict[str, Any]] = {
    "classification": {
        "gbm": HistGradientBoostingClassifier,
        "gbm-overfit": HistGradientBoostingClassifier,
        "mlp": MLPClassifier,
        "logreg": LogisticRegression,
    },
    "regression": {
        "gbm": HistGradientBoostingRegressor,
        "gbm-overfit": HistGradientBoostingRegressor,
        "mlp": MLPRegressor,
        "logreg": Ridge,
    },
}
#: the ridge's penalty (scikit-learn's default), on standardised inputs like the logistic one
RIDGE_PARAMETERS: dict[str, Any] = {"alpha": 1.0}

#: "gbm": small trees (8 leaves of at least 40 rows), an L2 penalty on the leaf values, and
#: as many rounds as improve the loss on an inner validation split (a fifth of the
#: training rows). On German credit it no longer fits its training data perfectly
#: (training AUC 1.000 -> 0.89) at the same held-out AUC over six splits (0.78), and its
#: local behaviour is smoother, so local surrogates describe it better (measured when
#: these settings were chosen; no bench in bench/ reproduces that figure). Monotone
#: constraints on duration and credit_amount were measured and left out: they lowered the
#: held-out AUC (0.782 -> 0.773).
GBM_PARAMETERS: dict[str, Any] = {
    "max_leaf_nodes": 8,
    "min_samples_leaf": 40,
    "l2_regularization": 10.0,
    "learning_rate": 0.1,
    "max_iter": 500,
    "early_stopping": True,
    "validation_fraction": 0.2,
    "n_iter_no_change": 20,
}
#: "gbm-overfit": scikit-learn's defaults (31 leaves of at least 20 rows, no penalty, 100
#: rounds; early stopping only above 10,000 rows), which fit German credit's training
#: split perfectly (training AUC 1.000, held-out 0.809 on the demo split).
GBM_OVERFIT_PARAMETERS: dict[str, Any] = {
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "l2_regularization": 0.0,
    "learning_rate": 0.1,
    "max_iter": 100,
    "early_stopping": "auto",
}


def trainer_parameters(
    trainer: str, random_state: int = 0, *, task: str = "classification"
) -> dict[str, Any]:
    """The hyper-parameters of a demo trainer's learner, as it is built.

    >>> trainer_parameters("gbm")["max_leaf_nodes"]
    8
    >>> trainer_parameters("logreg", task="regression")
    {'alpha': 1.0}
    """
    learner(trainer, task)  # refuses a trainer without a learner for the task
    if trainer == "logreg" and task == "regression":
        return dict(RIDGE_PARAMETERS)
    if trainer == "gbm":
        return {**GBM_PARAMETERS, "random_state": random_state}
    if trainer == "gbm-overfit":
        return {**GBM_OVERFIT_PARAMETERS, "random_state": random_state}
    if trainer == "mlp":
        return {
            "hidden_layer_sizes": (32, 16),
            "alpha": 1e-2,
            "max_iter": 500,
            "random_state": random_state,
        }
    if trainer == "logreg":
        return {"max_iter": 2000}
    raise ParameterError(f"trainer must be one of {list(TRAINERS)}, got {trainer!r}.")


def learner(trainer: str, task: str = "classification") -> Any:
    """The learner class of a demo trainer for a task, refused by name when it has none."""
    if task not in LEARNERS:
        raise ParameterError(f"task must be one of {list(LEARNERS)}, got {task!r}.")
    if trainer not in LEARNERS["classification"]:
        raise ParameterError(f"trainer must be one of {list(TRAINERS)}, got {trainer!r}.")
    if trainer not in LEARNERS[task]:
        raise ParameterError(
            f"The demo trainer {trainer!r} has no {task} counterpart; choose one of "
            f"{sorted(LEARNERS[task])}."
        )
    return LEARNERS[task][trainer]


def days_since_origin(frame: Any) -> Any:
    """Date columns as days since ``DATETIME_ORIGIN`` on their own wall clock (NaT -> NaN):
    how the demo models read dates, as the explainer's schema counts them."""
    import pandas as pd

    def days(column: Any) -> Any:
        local = column.dt.tz_localize(None) if column.dt.tz is not None else column
        return (local - pd.Timestamp(DATETIME_ORIGIN)) / pd.Timedelta(days=1)

    return frame.apply(days).to_numpy(dtype=float, na_value=float("nan"))


def german_credit_model(
    X_train, y_train, *, random_state: int = 0, trainer: str = "gbm", task: str = "classification"
) -> Pipeline:
    """A pipeline that takes the raw frame: categories imputed and one-hot encoded inside.

    ``trainer`` is "gbm" (regularised histogram gradient boosting, see
    ``GBM_PARAMETERS``), "gbm-overfit" (the same learner with scikit-learn's defaults,
    which overfits German credit), "mlp" (a small multi-layer perceptron on
    standardised inputs) or "logreg" (standardised logistic regression). With
    ``task="regression"`` each learner is its regression counterpart (:data:`LEARNERS`).
    """
    parameters = trainer_parameters(trainer, random_state, task=task)
    build = learner(trainer, task)
    import pandas as pd

    categorical = [c for c in X_train.columns if X_train[c].dtype == "category"]
    dates = [c for c in X_train.columns if pd.api.types.is_datetime64_any_dtype(X_train[c])]
    numeric = [c for c in X_train.columns if c not in categorical and c not in dates]
    # dates become days; a pipeline without date columns is built as before
    date_steps = [("dates", FunctionTransformer(days_since_origin), dates)] if dates else []
    categories = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    if trainer in ("gbm", "gbm-overfit"):
        encode = ColumnTransformer(
            [("categories", categories, categorical), *date_steps], remainder="passthrough"
        )
    else:
        numbers = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        date_steps = [
            (name, Pipeline([("days", to_days), *numbers.steps]), columns)
            for name, to_days, columns in date_steps
        ]
        encode = ColumnTransformer(
            [("categories", categories, categorical), ("numbers", numbers, numeric), *date_steps]
        )
    pipeline = Pipeline([("encode", encode), ("model", build(**parameters))])
    # one thread: parallel sums (gradient histograms, BLAS) round differently with the thread
    # count, so a model trained on another machine would differ in its last bits and digest
    with threadpool_limits(limits=1):
        return pipeline.fit(X_train, y_train)


def load_demo_problem(data: str, trainer: str, *, seed: int = 0):
    """A bundled data set, split 70/30, and a demo model trained on it.

    Returns (model, X_train, X_test, adverse target label).
    """
    from ..datasets import TABLES

    if data not in TABLES:
        raise ParameterError(
            f"data={data!r} is not a bundled data set; expected one of {sorted(TABLES)}."
        )
    X, y = TABLES[data]()
    target = ADVERSE_LABELS[data]
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
