"""Shared test set-up: hypothesis profiles and small fixtures."""

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

# CI: bounded and reproducible. "nightly": longer, for scheduled runs
# (HYPOTHESIS_PROFILE=nightly make test).
settings.register_profile(
    "ci", deadline=None, derandomize=True, max_examples=25, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "nightly", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def german_credit():
    from surrogate.datasets import load_german_credit

    return load_german_credit()


@pytest.fixture(scope="session")
def logistic_world():
    """A black box logistic in 3 of 10 numeric features, with its training data."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(2000, 10)), columns=[f"f{i}" for i in range(10)])
    logit = 2.0 * X["f1"] - 1.5 * X["f4"] + 1.0 * X["f7"]
    y = rng.random(len(X)) < 1 / (1 + np.exp(-logit))
    model = LogisticRegression(C=1e6, max_iter=1000).fit(X, y)
    return model, X
