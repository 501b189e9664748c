"""Shared test set-up: one thread per native library, hypothesis profiles, demo models
trained once per test run, and small fixtures."""

import os

# Before numpy and friends load their native libraries: one thread each. Two test processes
# each spreading over every core of a small machine slow everything several-fold; the
# subprocesses the tests start inherit the same settings.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(limits=1)  # for libraries already loaded by a plugin

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


@pytest.fixture(scope="session", autouse=True)
def demo_models_trained_once():
    """The demo pipelines are deterministic in their data and settings, so each is trained
    once per test run and shared. Not copied: the library never changes a model it explains
    (shared/DESIGN.md), and a shared model would let such a change show in other tests; a copy
    would also pickle to other bytes than the model itself, and the review records that digest."""
    from surrogate import demo

    trained = {}
    train = demo.german_credit_model

    def cached(X_train, y_train, **settings):
        key = (_frame_digest(X_train), _frame_digest(y_train), tuple(sorted(settings.items())))
        if key not in trained:
            trained[key] = train(X_train, y_train, **settings)
        return trained[key]

    demo.german_credit_model = cached
    yield
    demo.german_credit_model = train


def _frame_digest(data) -> tuple:
    """What identifies training data: its columns, dtypes, index and values."""
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    values = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    return (tuple(map(str, frame.columns)), tuple(map(str, frame.dtypes)), values.tobytes())


#: settings that keep a whole German credit review (demo gradient-boosted model) to seconds
SMALL_REVIEW = dict(
    n_samples=300,
    max_cases=3,
    fidelity_survey=12,
    sensitivity_cases=1,
    sensitivity_widths=[2.0],
    sensitivity_n_samples=[200],
    global_augment=0,
)


@pytest.fixture(scope="session")
def small_review(tmp_path_factory):
    """One small review per test run, built and written once and shared by the report tests
    (its bundle; ``small_review.config.out`` is the written folder). Tests read it and never
    change it: one that edits the document edits a deep copy."""
    from surrogate.report import ReviewConfig, build_report, write_report

    out = tmp_path_factory.mktemp("small-review") / "german"
    bundle = build_report(ReviewConfig(**SMALL_REVIEW, out=str(out)))
    write_report(bundle)
    return bundle


def html_tags(page: str) -> set[str]:
    """The names of every tag that opens in an HTML page."""
    from html.parser import HTMLParser

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: set[str] = set()

        def handle_starttag(self, tag, attrs):
            self.found.add(tag)

    parser = Tags()
    parser.feed(page)
    return parser.found
