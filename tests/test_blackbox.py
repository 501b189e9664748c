"""Model adapters: what the model is given, and what its outputs are checked against."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surrogate import TabularExplainer
from surrogate.blackbox import as_blackbox
from surrogate.errors import ModelOutputError


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(4)
    return pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])


def _probabilities(rows) -> np.ndarray:
    values = np.asarray(rows, dtype=float)
    p = 1 / (1 + np.exp(-(1.5 * values[:, 0] - values[:, 2])))
    return np.column_stack([1 - p, p])


def test_every_call_gets_its_own_copy(table):
    given = []

    def model(rows):
        given.append(rows)
        rows["a"] = 0.0  # edits what it was given
        return _probabilities(rows)

    box = as_blackbox(model, probe_rows=table.iloc[:5])
    before = table.copy()
    box.predict(table)
    pd.testing.assert_frame_equal(table, before)
    assert all(g is not table for g in given)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_low_precision_probabilities_are_accepted(table, dtype):
    def model(rows):
        return _probabilities(rows).astype(dtype)

    exact = TabularExplainer(_probabilities, table, n_samples=300).explain(table.iloc[0])
    coarse = TabularExplainer(model, table, n_samples=300).explain(table.iloc[0])
    assert coarse.top_features(2) == exact.top_features(2)
    assert abs(coarse.prediction - exact.prediction) < 1e-2


def test_probabilities_that_do_not_sum_to_one_are_still_refused(table):
    def model(rows):
        return (_probabilities(rows) * 0.9).astype(np.float16)  # off by far more than float16

    with pytest.raises(ModelOutputError, match="do not sum to 1"):
        TabularExplainer(model, table, mode="classification", n_samples=300)


def test_a_tensor_that_requires_grad_is_read(table):
    torch = pytest.importorskip("torch")
    weight = torch.tensor([1.5, 0.0, -1.0], dtype=torch.float64, requires_grad=True)

    def model(rows):
        x = torch.tensor(np.asarray(rows, dtype=float))
        p = torch.sigmoid(x @ weight)
        return torch.stack([1 - p, p], dim=1)  # still attached to the graph

    exact = TabularExplainer(_probabilities, table, n_samples=300).explain(table.iloc[0])
    graph = TabularExplainer(model, table, n_samples=300).explain(table.iloc[0])
    assert graph.to_json() != "" and graph.top_features(2) == exact.top_features(2)
    assert graph.prediction == pytest.approx(exact.prediction, abs=1e-12)


def test_a_half_precision_torch_module_declared_as_probabilities(table):
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
        Half().eval(), table, torch_output="probabilities", n_samples=300
    ).explain(table.iloc[0])
    assert exp.top_features(1) == ["a"]


def test_a_model_depending_on_its_batch_is_refused(table):
    def model(rows):
        values = np.asarray(rows, dtype=float)
        centred = values - values.mean(axis=0)  # batch-level normalisation
        p = 1 / (1 + np.exp(-centred[:, 0]))
        return np.column_stack([1 - p, p])

    with pytest.raises(ModelOutputError, match="the first row scored alone"):
        TabularExplainer(model, table)


def test_a_model_differing_per_call_is_refused(table):
    calls = [0]

    def model(rows):
        calls[0] += 1
        return _probabilities(rows) * (1 - 1e-3 * calls[0]) + np.array([1e-3 * calls[0], 0.0])

    with pytest.raises(ModelOutputError, match="not deterministic per row"):
        TabularExplainer(model, table)
