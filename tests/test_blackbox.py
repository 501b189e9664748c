"""Model adapters: what they infer, what they refuse, what the model is given, what its outputs
are checked against, and how rows are chunked into model calls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from surrogate import TabularExplainer
from surrogate.blackbox import (
    DEFAULT_ROW_BUDGET,
    BlackBox,
    CallableBlackBox,
    SklearnBlackBox,
    as_blackbox,
    join_inputs,
)
from surrogate.errors import (
    DataTypeError,
    ModelError,
    ModelOutputError,
    ParameterError,
    UnknownOptionError,
)

X_NUM, Y_BIN = make_classification(
    n_samples=120, n_features=4, n_informative=3, n_redundant=0, random_state=0
)
PROBE = np.zeros((3, 2))


class Counting:
    """A callable model recording the input of every call; output: first column times 2."""

    def __init__(self) -> None:
        self.calls: list = []

    def __call__(self, rows):
        self.calls.append(rows)
        if isinstance(rows, list):
            return np.array([float(item.split(":")[1]) for item in rows]) * 2.0
        return np.asarray(rows, dtype=float)[:, 0] * 2.0

    def sizes(self) -> list[int]:
        return [len(rows) for rows in self.calls]


def counting_box(row_budget: int, fixed_shape: bool = False) -> tuple[BlackBox, Counting]:
    model = Counting()
    box = as_blackbox(model, mode="regression", row_budget=row_budget, probe_rows=PROBE)
    box.fixed_shape = fixed_shape
    model.calls.clear()  # forget the probe call
    return box, model


def blocks_of(sizes: list[int]) -> list[np.ndarray]:
    """Blocks whose rows are numbered consecutively across blocks (first column)."""
    start = np.cumsum([0] + sizes)
    return [
        np.column_stack([np.arange(a, b), np.ones(b - a)])
        for a, b in zip(start[:-1], start[1:], strict=True)
    ]


def as_array(rows):
    return rows


# ---- scikit-learn -----------------------------------------------------------------------------
def test_a_classifier_with_probabilities():
    model = LogisticRegression().fit(X_NUM, Y_BIN)
    box = as_blackbox(model)
    assert isinstance(box, SklearnBlackBox)
    assert box.mode == "classification" and box.outputs_probabilities
    assert box.output_names == ("0", "1")
    out = box.predict(X_NUM[:5])
    assert out.dtype == np.float64 and out.shape == (5, 2)
    np.testing.assert_allclose(out, model.predict_proba(X_NUM[:5]))
    assert box.row_budget == DEFAULT_ROW_BUDGET


def test_class_labels_become_output_names():
    labels = np.where(Y_BIN == 1, "bad", "good")
    box = as_blackbox(LogisticRegression().fit(X_NUM, labels))
    assert box.output_names == ("bad", "good")


def test_a_classifier_without_probabilities_is_explained_by_its_scores():
    binary = as_blackbox(LinearSVC().fit(X_NUM, Y_BIN))
    assert binary.mode == "classification" and not binary.outputs_probabilities
    assert binary.output_names == ("decision_function",)
    y3 = np.arange(len(X_NUM)) % 3
    multi = as_blackbox(LinearSVC().fit(X_NUM, y3))
    assert multi.output_names == ("0", "1", "2")
    assert multi.predict(X_NUM[:4]).shape == (4, 3)


def test_regressors_single_and_multi_output():
    single = as_blackbox(LinearRegression().fit(X_NUM, X_NUM[:, 0]))
    assert single.mode == "regression" and single.output_names == ("prediction",)
    assert not single.outputs_probabilities
    multi = as_blackbox(DecisionTreeRegressor(max_depth=2).fit(X_NUM, X_NUM[:, :2]))
    assert multi.output_names == ("output_0", "output_1")
    assert multi.predict(X_NUM[:3]).shape == (3, 2)


def test_mode_regression_on_a_classifier_uses_predict():
    box = as_blackbox(LogisticRegression().fit(X_NUM, Y_BIN), mode="regression")
    assert box.mode == "regression" and box.output_names == ("prediction",)
    assert set(box.predict(X_NUM).ravel()) <= {0.0, 1.0}


def test_a_single_class_classifier_is_refused():
    model = DecisionTreeClassifier().fit(X_NUM, np.zeros(len(X_NUM)))
    with pytest.raises(ModelError, match="single class"):
        as_blackbox(model)


class ProbaStub:
    """A duck-typed scikit-learn classifier whose probabilities come from ``answer(rows)``."""

    classes_ = np.array(["no", "yes"])

    def __init__(self, answer):
        self.answer = answer

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return self.answer(np.asarray(X))


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            lambda X: np.full((len(X), 3), 1 / 3),
            r"3 outputs per row; expected 2 \(\['no', 'yes'\]\)",
        ),
        (lambda X: np.full((len(X) - 1, 2), 0.5), r"shape \(2, 2\) for 3 rows"),
        (lambda X: np.full((len(X), 2, 1), 0.5), r"shape \(3, 2, 1\) for 3 rows"),
        (
            lambda X: np.where(np.arange(len(X))[:, None] == 1, np.nan, 0.5) * np.ones((1, 2)),
            r"NaN or infinite outputs \(first at row 1\)",
        ),
        (lambda X: np.tile([0.7, 0.7], (len(X), 1)), r"do not sum to 1 \(row 0 sums to 1\.4\)"),
        (lambda X: np.tile([1.5, -0.5], (len(X), 1)), r"outside \[0, 1\]"),
        (lambda X: np.array([["a", "b"]] * len(X)), "non-numeric outputs"),
    ],
)
def test_bad_probabilities_are_refused_naming_the_problem(answer, message):
    box = as_blackbox(ProbaStub(answer))
    assert box.outputs_probabilities
    with pytest.raises(ModelOutputError, match=message):
        box.predict(np.zeros((3, 2)))


def test_a_model_that_raises_becomes_a_model_error_with_context():
    def fail(X):
        raise KeyError("column 'age' missing")

    box = as_blackbox(ProbaStub(fail))
    with pytest.raises(ModelError, match=r"raised KeyError while scoring 4 rows: .*'age'") as info:
        box.predict(np.zeros((4, 2)))
    assert not isinstance(info.value, ModelOutputError)
    assert isinstance(info.value.__cause__, KeyError)


def test_a_model_failing_on_a_value_names_its_column_and_training_row():
    """A model that needs numbers where the data has words: the message named neither the
    column nor the row, only the internal "64 rows" of the probe."""
    rng = np.random.default_rng(0)
    numbers = pd.DataFrame({"income": rng.normal(50, 9, 200), "savings": rng.integers(0, 3, 200)})
    model = LogisticRegression().fit(numbers, numbers["income"] > 50)
    words = numbers.assign(savings=numbers["savings"].astype(str))  # numbers written as text
    words.loc[3, "savings"] = "mildly"
    with pytest.raises(ModelError) as info:
        TabularExplainer(model, words, n_samples=200)
    message = str(info.value)
    assert "column 'savings', value 'mildly' (training data row 3)" in message
    assert "could not convert string to float: 'mildly'" in message
    assert "64 rows" not in message and isinstance(info.value.__cause__, ValueError)
    # an array names the column by position, and rows scored alone by their position
    box = as_blackbox(LogisticRegression().fit(numbers.to_numpy(), numbers["income"] > 50))
    with pytest.raises(ModelError, match=r"column at position 1, value 'high' \(row 2 of the"):
        box.predict(np.array([[50.0, 1], [40.0, 0], [45.0, "high"]], dtype=object))


# ---- callables ------------------------------------------------------------------------------------
def probabilities(rows):
    p = 1 / (1 + np.exp(-np.asarray(rows, dtype=float)[:, 0]))
    return np.column_stack([1 - p, p])


def test_a_callable_returning_probabilities_is_a_classifier():
    box = as_blackbox(probabilities, probe_rows=PROBE)
    assert isinstance(box, CallableBlackBox)
    assert box.mode == "classification" and box.outputs_probabilities
    assert box.output_names == ("0", "1")


def test_a_callable_returning_one_column_outside_the_unit_interval_is_a_regressor():
    box = as_blackbox(lambda rows: np.asarray(rows)[:, 0] + 2.0, probe_rows=PROBE)
    assert box.mode == "regression" and box.output_names == ("output",)
    np.testing.assert_array_equal(box.predict(np.array([[2.0, 0.0]])), [[4.0]])


def one_probability(rows):
    return 1 / (1 + np.exp(-np.asarray(rows, dtype=float)[:, 0]))


def test_one_number_in_the_unit_interval_needs_a_mode():
    with pytest.raises(ParameterError, match=r"one_probability returns one number per row, each in \[0, 1\]"):
        as_blackbox(one_probability, probe_rows=PROBE)
    regression = as_blackbox(one_probability, mode="regression", probe_rows=PROBE)
    assert not regression.outputs_probabilities and regression.output_names == ("output",)


def test_one_probability_under_classification_is_both_classes():
    box = as_blackbox(one_probability, mode="classification", probe_rows=PROBE)
    assert box.outputs_probabilities and box.output_names == ("0", "1")
    rows = np.array([[0.0, 0.0], [np.log(3.0), 0.0]])
    np.testing.assert_allclose(box.predict(rows), [[0.5, 0.5], [0.25, 0.75]])
    with pytest.raises(ModelOutputError, match="outside"):
        as_blackbox(lambda rows: one_probability(rows) * 3 - 1, mode="classification", probe_rows=PROBE).predict(rows)


def test_one_probability_is_explained_in_log_odds_like_predict_proba():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b"])
    model = LogisticRegression().fit(frame, y)
    wrapped = TabularExplainer(
        lambda rows: model.predict_proba(rows)[:, 1],
        frame, mode="classification", n_samples=300, random_state=1,
    )
    direct = TabularExplainer(model, frame, n_samples=300, random_state=1)
    a, b = wrapped.explain(frame.iloc[0]), direct.explain(frame.iloc[0])
    assert a.meta.link == b.meta.link == "logit"
    assert a.outputs == pytest.approx(b.outputs) and a.prediction == pytest.approx(b.prediction)
    assert a.contributions == pytest.approx(b.contributions)


def test_columns_in_unit_range_that_do_not_sum_to_one_are_scores():
    box = as_blackbox(lambda rows: np.full((len(rows), 3), 0.2), probe_rows=PROBE)
    assert box.mode == "regression" and not box.outputs_probabilities
    assert box.output_names == ("0", "1", "2")


def test_a_classifier_callable_with_scores_is_not_checked_as_probabilities():
    box = as_blackbox(
        lambda rows: np.column_stack([-np.ones(len(rows)), np.ones(len(rows))]),
        mode="classification",
        probe_rows=PROBE,
    )
    assert box.mode == "classification" and not box.outputs_probabilities


def test_a_classifier_callable_with_unit_range_columns_must_sum_to_one():
    with pytest.raises(ModelOutputError, match="do not sum to 1"):
        as_blackbox(
            lambda rows: np.full((len(rows), 2), 0.2), mode="classification", probe_rows=PROBE
        )


def test_probabilities_are_checked_on_every_later_call_too():
    def drifting(rows):
        out = probabilities(rows)
        out[np.asarray(rows)[:, 1] > 0] = [0.9, 0.9]  # rows the probe never showed
        return out

    box = as_blackbox(drifting, probe_rows=PROBE)
    box.predict(np.zeros((2, 2)))
    with pytest.raises(ModelOutputError, match=r"row 1 sums to 1\.8"):
        box.predict(np.array([[0.0, 0.0], [0.0, 1.0]]))


def test_a_callable_that_raises_at_the_probe_is_a_model_error():
    def broken(rows):
        raise RuntimeError("weights not loaded")

    with pytest.raises(
        ModelError, match=r"raised RuntimeError while scoring 3 rows: weights not loaded"
    ):
        as_blackbox(broken, probe_rows=PROBE)


def test_output_names_must_match_the_outputs():
    with pytest.raises(ParameterError, match="output_names has 3 names but the model returns 2"):
        CallableBlackBox(
            probabilities, mode=None, row_budget=10, probe_rows=PROBE, output_names=("a", "b", "c")
        )
    named = CallableBlackBox(
        probabilities, mode=None, row_budget=10, probe_rows=PROBE, output_names=("stay", "leave")
    )
    assert named.output_names == ("stay", "leave")


# ---- as_blackbox --------------------------------------------------------------------------------
def test_an_adapter_is_returned_as_it_is():
    box = as_blackbox(probabilities, probe_rows=PROBE)
    assert as_blackbox(box) is box


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"mode": "classify"},
            UnknownOptionError,
            r"mode must be one of \['classification', 'regression'\]",
        ),
        ({"row_budget": 0}, ParameterError, "row_budget must be a positive integer, got 0"),
        ({"row_budget": True}, ParameterError, "row_budget must be a positive integer, got True"),
        ({"row_budget": 2.5}, ParameterError, "row_budget must be a positive integer, got 2.5"),
        (
            {"torch_output": "logits"},
            ParameterError,
            r"\['torch_output'\] apply to torch nn.Module",
        ),
        ({"allow_training_mode": True}, ParameterError, "allow_training_mode"),
    ],
)
def test_bad_options_are_refused_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        as_blackbox(probabilities, probe_rows=PROBE, **kwargs)


def test_something_that_is_no_model_is_refused():
    with pytest.raises(ModelError, match="Cannot explain a int"):
        as_blackbox(42)


# ---- chunking: predict_blocks / predict_rows ---------------------------------------------------------
def test_whole_blocks_share_calls_while_they_fit():
    box, model = counting_box(row_budget=10)
    blocks = blocks_of([4, 4, 4])
    outs = box.predict_blocks(blocks, [as_array] * 3)
    assert model.sizes() == [8, 4]
    for block, out in zip(blocks, outs, strict=True):
        np.testing.assert_array_equal(out[:, 0], 2.0 * block[:, 0])


def test_small_blocks_are_stacked_as_many_as_the_largest_allows():
    box, model = counting_box(row_budget=10)
    box.predict_blocks(blocks_of([3, 3, 3, 3]), [as_array] * 4)
    assert model.sizes() == [9, 3]


def test_a_block_larger_than_the_budget_is_split_from_its_first_row():
    box, model = counting_box(row_budget=10)
    blocks = blocks_of([3, 25, 3])
    outs = box.predict_blocks(blocks, [as_array] * 3)
    assert model.sizes() == [3, 10, 10, 5, 3]
    firsts = [int(np.asarray(call)[0, 0]) for call in model.calls]
    assert firsts == [0, 3, 13, 23, 28]
    assert [len(o) for o in outs] == [3, 25, 3]
    np.testing.assert_array_equal(outs[1][:, 0], 2.0 * blocks[1][:, 0])


def test_predict_rows_scores_one_block_in_budget_sized_calls():
    box, model = counting_box(row_budget=10)
    rows = blocks_of([25])[0]
    out = box.predict_rows(rows, as_array)
    assert model.sizes() == [10, 10, 5]
    np.testing.assert_array_equal(out[:, 0], 2.0 * rows[:, 0])


def test_a_fixed_shape_model_gets_one_block_per_call():
    box, model = counting_box(row_budget=10, fixed_shape=True)
    box.predict_blocks(blocks_of([3, 3, 3]), [as_array] * 3)
    assert model.sizes() == [3, 3, 3]
    model.calls.clear()
    box.predict_blocks(blocks_of([4, 12]), [as_array] * 2)
    assert model.sizes() == [4, 10, 2]


def test_shared_fixed_shape_calls_have_exactly_the_budget():
    box, model = counting_box(row_budget=10, fixed_shape=True)
    blocks = blocks_of([3, 3, 3])
    outs = box.predict_blocks(blocks, [as_array] * 3, shared_calls=True)
    assert model.sizes() == [10]
    # the filling repeats the last block's first row, and its outputs are dropped
    assert np.asarray(model.calls[0])[:, 0].tolist() == list(range(9)) + [6]
    for block, out in zip(blocks, outs, strict=True):
        np.testing.assert_array_equal(out[:, 0], 2.0 * block[:, 0])


def test_a_shared_block_larger_than_the_budget_opens_its_own_filled_calls():
    box, model = counting_box(row_budget=10, fixed_shape=True)
    blocks = blocks_of([4, 12])
    outs = box.predict_blocks(blocks, [as_array] * 2, shared_calls=True)
    assert model.sizes() == [10, 10, 10]
    firsts = [int(np.asarray(call)[0, 0]) for call in model.calls]
    assert firsts == [0, 4, 14]
    assert [len(o) for o in outs] == [4, 12]
    np.testing.assert_array_equal(outs[1][:, 0], 2.0 * blocks[1][:, 0])


def test_shared_calls_leave_a_model_without_fixed_shape_unfilled():
    box, model = counting_box(row_budget=10)
    box.predict_blocks(blocks_of([3, 3, 3, 3]), [as_array] * 4, shared_calls=True)
    assert model.sizes() == [9, 3]


@given(
    sizes=st.lists(st.integers(1, 30), min_size=1, max_size=6),
    budget=st.integers(1, 40),
)
def test_shared_fixed_shape_chunking_properties(sizes, budget):
    box, model = counting_box(row_budget=budget, fixed_shape=True)
    blocks = blocks_of(sizes)
    outs = box.predict_blocks(blocks, [as_array] * len(blocks), shared_calls=True)
    calls = [np.asarray(c)[:, 0].astype(int) for c in model.calls]
    assert {len(c) for c in calls} == {budget}  # one shape, whatever the company
    for block, out in zip(blocks, outs, strict=True):
        np.testing.assert_array_equal(out[:, 0], 2.0 * block[:, 0])
        first = int(block[0, 0])
        holding = [c for c in calls if first in c]
        if len(block) > budget:  # split from its own first row
            assert int(holding[0][0]) == first
        else:  # never split
            assert any(set(block[:, 0]) <= set(c) for c in holding)
    # real rows come once each, in order; a call's filling repeats an earlier row
    real = [c[: _run_length(c)] for c in calls]
    np.testing.assert_array_equal(np.concatenate(real), np.arange(sum(sizes)))
    per_call = max(1, budget // max(sizes))
    groups = -(-len(sizes) // per_call)
    assert len(calls) == sum(
        -(-sum(sizes[g * per_call : (g + 1) * per_call]) // budget) for g in range(groups)
    )


def _run_length(numbers: np.ndarray) -> int:
    """Length of the leading run of consecutive numbers."""
    breaks = np.flatnonzero(np.diff(numbers) != 1)
    return int(breaks[0]) + 1 if len(breaks) else len(numbers)


def test_each_block_is_rendered_by_its_own_render_and_joined_in_order():
    box, model = counting_box(row_budget=100)

    def text_render(tag):
        return lambda rows: [f"{tag}:{int(r)}" for r in rows[:, 0]]

    blocks = blocks_of([2, 3, 2])
    outs = box.predict_blocks(blocks, [text_render("a"), text_render("b"), text_render("c")])
    assert model.calls == [["a:0", "a:1", "b:2", "b:3", "b:4", "c:5", "c:6"]]
    assert [o[:, 0].tolist() for o in outs] == [[0.0, 2.0], [4.0, 6.0, 8.0], [10.0, 12.0]]


def test_blocks_of_different_widths_share_a_call():
    """Each text has its own words, so its keep-mask rows have their own width."""
    box, model = counting_box(row_budget=100)
    narrow = np.column_stack([np.arange(3), np.ones(3)])
    wide = np.column_stack([np.arange(3, 5), np.ones((2, 4))])

    def text_render(tag):
        return lambda rows: [f"{tag}{rows.shape[1]}:{int(r)}" for r in rows[:, 0]]

    outs = box.predict_blocks([narrow, wide], [text_render("n"), text_render("w")])
    assert model.calls == [["n2:0", "n2:1", "n2:2", "w5:3", "w5:4"]]
    assert [o[:, 0].tolist() for o in outs] == [[0.0, 2.0, 4.0], [6.0, 8.0]]


def test_blocks_sharing_one_render_are_rendered_together():
    box, _ = counting_box(row_budget=100)
    seen = []

    def render(rows):
        seen.append(len(rows))
        return rows

    box.predict_blocks(blocks_of([2, 3, 4]), [render] * 3)
    assert seen == [9]


def test_a_split_call_renders_only_the_rows_it_holds():
    box, model = counting_box(row_budget=4)

    def text_render(tag):
        return lambda rows: [f"{tag}:{int(r)}" for r in rows[:, 0]]

    box.predict_rows(blocks_of([6])[0], text_render("q"))
    assert model.calls == [["q:0", "q:1", "q:2", "q:3"], ["q:4", "q:5"]]


def test_frames_rendered_per_block_are_joined_with_a_fresh_index():
    seen = []

    def model(frame):
        seen.append(frame)
        return frame["x"].to_numpy(float)

    box = as_blackbox(model, mode="regression", probe_rows=pd.DataFrame({"x": [0.0]}))
    seen.clear()

    def render(rows):
        return pd.DataFrame({"x": rows[:, 0]}, index=np.arange(len(rows)) + 100)

    box.predict_blocks(blocks_of([2, 2]), [render, lambda rows: render(rows)])
    (frame,) = seen
    assert frame["x"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert frame.index.tolist() == [0, 1, 2, 3]


def test_join_inputs():
    assert join_inputs([["a"], ["b", "c"]]) == ["a", "b", "c"]
    np.testing.assert_array_equal(join_inputs([np.zeros((1, 2)), np.ones((2, 2))])[:, 0], [0, 1, 1])
    with pytest.raises(DataTypeError, match="Cannot join model inputs of type dict"):
        join_inputs([{"a": 1}, {"b": 2}])


@given(
    sizes=st.lists(st.integers(1, 30), min_size=1, max_size=6),
    budget=st.integers(1, 40),
    fixed_shape=st.booleans(),
)
def test_chunking_properties(sizes, budget, fixed_shape):
    box, model = counting_box(row_budget=budget, fixed_shape=fixed_shape)
    blocks = blocks_of(sizes)
    outs = box.predict_blocks(blocks, [as_array] * len(blocks))
    calls = [np.asarray(c)[:, 0].astype(int) for c in model.calls]
    assert all(len(c) <= budget for c in calls)
    # every row scored once, in order, and handed back to its own block
    np.testing.assert_array_equal(np.concatenate(calls), np.arange(sum(sizes)))
    for block, out in zip(blocks, outs, strict=True):
        np.testing.assert_array_equal(out[:, 0], 2.0 * block[:, 0])
    starts = {int(c[0]) for c in calls}
    for block in blocks:
        if fixed_shape or len(block) > budget:
            assert int(block[0, 0]) in starts  # the block opens its own call
        if len(block) <= budget:
            assert any(set(block[:, 0]) <= set(c) for c in calls)  # and is never split
    if fixed_shape:
        owner = np.repeat(np.arange(len(sizes)), sizes)
        assert all(len(set(owner[c])) == 1 for c in calls)  # one block per call


# ---- what the model is given; outputs within their resolution ----------------------------------
@pytest.fixture(scope="module")
def frame_table():
    rng = np.random.default_rng(4)
    return pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])


def _probabilities(rows) -> np.ndarray:
    values = np.asarray(rows, dtype=float)
    p = 1 / (1 + np.exp(-(1.5 * values[:, 0] - values[:, 2])))
    return np.column_stack([1 - p, p])


def test_every_call_gets_its_own_copy(frame_table):
    given = []

    def model(rows):
        given.append(rows)
        rows["a"] = 0.0  # edits what it was given
        return _probabilities(rows)

    box = as_blackbox(model, probe_rows=frame_table.iloc[:5])
    before = frame_table.copy()
    box.predict(frame_table)
    pd.testing.assert_frame_equal(frame_table, before)
    assert all(g is not frame_table for g in given)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_low_precision_probabilities_are_accepted(frame_table, dtype):
    def model(rows):
        return _probabilities(rows).astype(dtype)

    exact = TabularExplainer(_probabilities, frame_table, n_samples=300).explain(
        frame_table.iloc[0]
    )
    coarse = TabularExplainer(model, frame_table, n_samples=300).explain(frame_table.iloc[0])
    assert coarse.top_features(2) == exact.top_features(2)
    assert abs(coarse.prediction - exact.prediction) < 1e-2


def test_probabilities_that_do_not_sum_to_one_are_still_refused(frame_table):
    def model(rows):
        return (_probabilities(rows) * 0.9).astype(np.float16)  # off by far more than float16

    with pytest.raises(ModelOutputError, match="do not sum to 1"):
        TabularExplainer(model, frame_table, mode="classification", n_samples=300)


def test_a_tensor_that_requires_grad_is_read(frame_table):
    torch = pytest.importorskip("torch")
    weight = torch.tensor([1.5, 0.0, -1.0], dtype=torch.float64, requires_grad=True)

    def model(rows):
        x = torch.tensor(np.asarray(rows, dtype=float))
        p = torch.sigmoid(x @ weight)
        return torch.stack([1 - p, p], dim=1)  # still attached to the graph

    exact = TabularExplainer(_probabilities, frame_table, n_samples=300).explain(
        frame_table.iloc[0]
    )
    graph = TabularExplainer(model, frame_table, n_samples=300).explain(frame_table.iloc[0])
    assert graph.to_json() != "" and graph.top_features(2) == exact.top_features(2)
    assert graph.prediction == pytest.approx(exact.prediction, abs=1e-12)


def test_a_half_precision_torch_module_declared_as_probabilities(frame_table):
    torch = pytest.importorskip("torch")

    class Half(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(3, 1)
            with torch.no_grad():
                self.linear.weight.copy_(torch.tensor([[1.5, 0.0, -1.0]]))
                self.linear.bias.zero_()

        def forward(self, x):
            return torch.sigmoid(self.linear(x)).half()  # probabilities in float16

    exp = TabularExplainer(
        Half().eval(), frame_table, torch_output="probabilities", n_samples=300
    ).explain(frame_table.iloc[0])
    assert exp.top_features(1) == ["a"]


def test_a_model_depending_on_its_batch_is_refused(frame_table):
    def model(rows):
        values = np.asarray(rows, dtype=float)
        centred = values - values.mean(axis=0)  # batch-level normalisation
        p = 1 / (1 + np.exp(-centred[:, 0]))
        return np.column_stack([1 - p, p])

    with pytest.raises(ModelOutputError, match="the first row scored alone"):
        TabularExplainer(model, frame_table)


def test_a_model_differing_per_call_is_refused(frame_table):
    calls = [0]

    def model(rows):
        calls[0] += 1
        return _probabilities(rows) * (1 - 1e-3 * calls[0]) + np.array([1e-3 * calls[0], 0.0])

    with pytest.raises(ModelOutputError, match="not deterministic per row"):
        TabularExplainer(model, frame_table)
