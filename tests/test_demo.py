"""The demo trainers: names, hyper-parameters, and the overfit one kept apart."""

from __future__ import annotations

import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from surrogate.demo import (
    GBM_PARAMETERS,
    TRAINERS,
    german_credit_model,
    load_demo_problem,
    trainer_parameters,
)
from surrogate.errors import ParameterError
from surrogate.report import ReviewConfig
from surrogate.report import config as report_config
from surrogate.report.sections import _trainer_parameters


def test_the_report_offers_every_demo_trainer():
    assert report_config.TRAINERS == TRAINERS
    assert "gbm-overfit" in TRAINERS


def test_unknown_trainer_is_refused_with_the_names(german_credit):
    X, y = german_credit
    with pytest.raises(ParameterError, match="gbm-overfit"):
        german_credit_model(X, y, trainer="xgboost")


def test_an_unknown_demo_data_set_is_refused_not_read_as_another():
    # "german" once loaded Adult silently
    with pytest.raises(ParameterError, match="'german'.*adult.*german-credit"):
        load_demo_problem("german", "gbm")


@pytest.fixture(scope="module")
def german_split(german_credit):
    X, y = german_credit
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def _train_auc(model, X, y) -> float:
    return roc_auc_score(y == "bad", model.predict_proba(X)[:, list(model.classes_).index("bad")])


def test_gbm_is_regularised_and_gbm_overfit_keeps_sklearn_defaults(german_split):
    X_train, _, y_train, _ = german_split
    gbm = german_credit_model(X_train, y_train, random_state=3)
    overfit = german_credit_model(X_train, y_train, random_state=3, trainer="gbm-overfit")
    params = gbm[-1].get_params()
    assert {k: params[k] for k in GBM_PARAMETERS} == GBM_PARAMETERS
    assert params["random_state"] == 3
    assert overfit[-1].get_params() == HistGradientBoostingClassifier(random_state=3).get_params()
    # the defaults fit the 700 training applicants perfectly; the regularised one does not
    assert _train_auc(overfit, X_train, y_train) > 0.999
    assert _train_auc(gbm, X_train, y_train) < 0.95
    assert gbm[-1].n_iter_ < GBM_PARAMETERS["max_iter"]  # stopped on its inner split


def test_the_report_scope_lists_the_trainer_parameters():
    listed = _trainer_parameters(ReviewConfig(train="gbm", seed=2))
    assert {p["name"]: p["value"] for p in listed} == trainer_parameters("gbm", 2)
    mlp = {p["name"]: p["value"] for p in _trainer_parameters(ReviewConfig(train="mlp"))}
    assert mlp["hidden_layer_sizes"] == "(32, 16)"  # shown as text, not a number
    assert _trainer_parameters(ReviewConfig(model="model.skops")) == []
