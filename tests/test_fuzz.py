"""Fuzzing: random schemas, frames, queries and model behaviours through the whole pipeline.

Only ``SurrogateError`` subclasses may escape, and every explanation returned has
finite numbers (or says in words why a figure is undefined). The CI profile keeps
this bounded; ``HYPOTHESIS_PROFILE=nightly`` runs it long.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surrogate import TabularExplainer
from surrogate.errors import SurrogateError

KINDS = ("float", "int", "category", "str", "bool")
BEHAVIOURS = (
    "linear",
    "step",
    "constant",
    "nan",
    "wrong_shape",
    "raises",
    "proba",
    "bad_proba",
    "noisy",
)


@st.composite
def frames(draw, min_rows: int = 1):
    n_rows = draw(st.integers(min_value=min_rows, max_value=40))
    n_cols = draw(st.integers(min_value=1, max_value=5))
    columns = {}
    for j in range(n_cols):
        kind = draw(st.sampled_from(KINDS))
        values = draw(st.lists(_values(kind), min_size=n_rows, max_size=n_rows))
        series = pd.Series(values)
        if kind == "category":
            series = series.astype("category")
        elif kind == "str":
            series = series.astype(object)
        columns[f"c{j}_{kind}"] = series
    return pd.DataFrame(columns)


def _values(kind: str):
    if kind == "float":
        return st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan")), st.just(float("inf"))
        )
    if kind == "int":
        return st.integers(-1000, 1000)
    if kind == "bool":
        return st.booleans()
    return st.one_of(st.sampled_from(["a", "b", "<script>", "=1+1", "ü"]), st.none())


def make_model(behaviour: str, n_features: int, seed: int):
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=n_features)

    def numeric(rows):
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        out = np.zeros((len(frame), n_features))
        for j, col in enumerate(frame.columns):
            series = frame[col]
            if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
                series.dtype
            ):
                out[:, j] = np.nan_to_num(series.to_numpy(dtype=float))
            else:
                out[:, j] = series.astype(str).map(len).to_numpy(dtype=float)
        return out

    def model(rows):
        x = numeric(rows)
        score = x @ weights
        if behaviour == "linear":
            return score
        if behaviour == "step":
            return (score > 0).astype(float)
        if behaviour == "constant":
            return np.full(len(x), 3.0)
        if behaviour == "nan":
            return np.where(score > 0, np.nan, score)
        if behaviour == "wrong_shape":
            return score[:-1] if len(score) > 1 else np.zeros((len(score), 2, 2))
        if behaviour == "raises":
            raise RuntimeError("model failure")
        if behaviour == "proba":
            p = 1 / (1 + np.exp(-np.clip(score / 100, -30, 30)))
            return np.column_stack([1 - p, p])
        if behaviour == "bad_proba":
            return np.column_stack([np.full(len(x), 0.7), np.full(len(x), 0.7)])
        if behaviour == "noisy":
            return score + np.random.default_rng().normal(size=len(score))
        raise AssertionError(behaviour)

    return model


def _finite(x) -> bool:
    return x is None or (isinstance(x, float) and math.isfinite(x))


def check_explanation(exp) -> None:
    f = exp.fidelity
    assert math.isfinite(exp.prediction)
    for value in (f.r2, f.r2_in_sample, f.mae, f.agreement, f.query_gap):
        assert _finite(value)
    if f.r2 is None:
        assert f.note, "an undefined R^2 must be explained in words"
    assert exp.to_json()


@given(
    frame=frames(),
    behaviour=st.sampled_from(BEHAVIOURS),
    surrogate=st.sampled_from(["linear", "tree", "rules"]),
    seed=st.integers(0, 3),
    query_from_training=st.booleans(),
)
def test_only_surrogate_errors_escape(frame, behaviour, surrogate, seed, query_from_training):
    model = make_model(behaviour, frame.shape[1], seed)
    try:
        explainer = TabularExplainer(model, frame, n_samples=200, random_state=seed)
        queries = frame.iloc[:3] if query_from_training else frame.iloc[:3].iloc[::-1]
        explanations = explainer.explain_many(queries, surrogate, on_error="record")
    except SurrogateError:
        return
    for exp in explanations:
        check_explanation(exp)
    assert len(explanations) + len(explanations.failures) == len(queries)
    for failure in explanations.failures:
        assert failure.message


@pytest.mark.parametrize("behaviour", ["linear", "proba"])
def test_fuzz_smoke_explains_something(behaviour):
    """The fuzz target is not vacuous: well-behaved models do get explained."""
    frame = pd.DataFrame({"a": np.arange(30.0), "b": ["x", "y", "z"] * 10, "c": np.arange(30) % 7})
    explainer = TabularExplainer(make_model(behaviour, 3, 0), frame, n_samples=200)
    explanations = explainer.explain_many(frame.iloc[:4], "linear")
    assert len(explanations) == 4
    for exp in explanations:
        check_explanation(exp)


# ---- the report ----------------------------------------------------------------------------------
REPORT_SETTINGS = {
    "max_cases": 2,
    "n_samples": 200,
    "fidelity_survey": 5,
    "sensitivity_cases": 1,
    "sensitivity_widths": [2.0],
    "sensitivity_n_samples": [200],
    "global_augment": 0,
}


@st.composite
def labelled_frames(draw):
    frame = draw(frames(min_rows=20))
    n = len(frame)
    frame["label"] = draw(
        st.lists(st.sampled_from(["yes", "no", "=cmd|' /C calc'!A0"]), min_size=n, max_size=n)
    )
    return frame


def _finite_numbers(obj) -> bool:
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(_finite_numbers(v) for v in obj.values())
    if isinstance(obj, list):
        return all(_finite_numbers(v) for v in obj)
    return True


@settings(max_examples=max(3, settings().max_examples // 3))
@given(frame=labelled_frames(), train=st.sampled_from(["logreg", "gbm"]))
def test_report_only_raises_surrogate_errors(frame, train, tmp_path_factory):
    import json

    from surrogate.report import ReviewConfig, build_report, write_report

    folder = tmp_path_factory.mktemp("fuzz")
    data = folder / "data.csv"
    frame.to_csv(data, index=False)
    config = ReviewConfig(
        data=str(data),
        target="label",
        train=train,
        adverse_class="yes",
        threshold=0.5,
        out=str(folder / "review"),
        **REPORT_SETTINGS,
    )
    try:
        write_report(build_report(config))
    except SurrogateError:
        return
    report = json.loads((folder / "review" / "report.json").read_text())
    assert _finite_numbers(report)
    assert "<script>" not in (folder / "review" / "report.html").read_text().replace(
        "&lt;script&gt;", ""
    )
