"""Torch models: known answers, device and dtype plumbing, batch invariance, training mode."""

import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

import surrogate as sg  # noqa: E402
from surrogate.blackbox import TorchBlackBox, as_blackbox, frame_to_tensor  # noqa: E402
from surrogate.errors import DataTypeError, ModelError, ModelOutputError, ParameterError  # noqa: E402

N_FEATURES = 12
TRUE_WEIGHTS = {1: 2.0, 5: -1.5, 9: 1.0}  # the model is logistic in these three features only
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
    ),
]


@pytest.fixture(scope="module")
def numeric_world():
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        rng.normal(size=(600, N_FEATURES)), columns=[f"f{i}" for i in range(N_FEATURES)]
    )


def logistic_module(probabilities: bool) -> torch.nn.Module:
    """One linear layer with hand-set weights (zeros outside TRUE_WEIGHTS), optionally a sigmoid."""
    layer = torch.nn.Linear(N_FEATURES, 1)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.fill_(0.25)
        for j, w in TRUE_WEIGHTS.items():
            layer.weight[0, j] = w
    module = torch.nn.Sequential(layer, torch.nn.Sigmoid()) if probabilities else layer
    return module.eval()


class Recorder(torch.nn.Module):
    """Records the device and dtype of every input it gets; a fixed linear score."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(n_features, 2)
        with torch.no_grad():
            self.linear.weight.copy_(torch.linspace(-1, 1, 2 * n_features).reshape(2, n_features))
            self.linear.bias.zero_()
        self.seen: list[tuple[str, torch.dtype]] = []

    def forward(self, x):
        self.seen.append((x.device.type, x.dtype))
        return self.linear(x)


def state_of(module: torch.nn.Module) -> dict:
    return {
        k: (v.device.type, v.dtype, v.detach().cpu().clone())
        for k, v in module.state_dict().items()
    }


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k][0] == b[k][0] and a[k][1] == b[k][1] and torch.equal(a[k][2], b[k][2]) for k in a
    )


# ---- known answer --------------------------------------------------------------------------------
@pytest.mark.parametrize("output", ["logits", "probabilities"])
def test_logistic_torch_model_recovered(numeric_world, output):
    model = logistic_module(probabilities=output == "probabilities")
    explainer = sg.TabularExplainer(
        model, numeric_world, torch_output=output, link="logit", n_samples=600
    )
    many = explainer.explain_many(numeric_world.iloc[:8], max_features=3)
    expected = {f"f{j}" for j in TRUE_WEIGHTS}
    for exp in many:
        assert set(exp.top_features(3)) == expected
        signs = {t.feature: np.sign(t.weight) for t in exp.content.terms}
        assert signs == {f"f{j}": np.sign(w) for j, w in TRUE_WEIGHTS.items()}
        assert exp.fidelity.r2 == pytest.approx(1.0, abs=1e-6)
        assert exp.meta.model.endswith(f":{output}")


def test_logits_and_probabilities_give_the_same_outputs(numeric_world):
    rows = numeric_world.iloc[:20]
    logits = as_blackbox(logistic_module(False), torch_output="logits", probe_rows=rows)
    probas = as_blackbox(logistic_module(True), torch_output="probabilities", probe_rows=rows)
    assert logits.output_names == probas.output_names == ("0", "1")
    np.testing.assert_allclose(logits.predict(rows), probas.predict(rows), atol=1e-6)


def test_probabilities_declared_for_a_logit_model_is_refused(numeric_world):
    with pytest.raises(ModelOutputError, match="torch_output='logits'"):
        sg.TabularExplainer(logistic_module(False), numeric_world, torch_output="probabilities")


def test_torch_output_must_be_stated(numeric_world):
    with pytest.raises(ParameterError, match="torch_output"):
        sg.TabularExplainer(logistic_module(False), numeric_world)
    with pytest.raises(ParameterError, match="contradicts"):
        sg.TabularExplainer(
            logistic_module(False), numeric_world, mode="regression", torch_output="logits"
        )


def test_torch_options_refused_for_other_models(logistic_world):
    model, X = logistic_world
    with pytest.raises(ParameterError, match="torch_output"):
        sg.TabularExplainer(model, X, torch_output="logits")


# ---- device and dtype ----------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
def test_inputs_arrive_on_the_model_device_and_model_is_untouched(numeric_world, device):
    module = Recorder(N_FEATURES).to(device).eval()
    before = state_of(module)
    calls: list[tuple[str, torch.dtype]] = []

    def to_tensor(rows, dev, dtype):
        calls.append((torch.device(dev).type, dtype))
        return frame_to_tensor(rows, dev, dtype)

    explainer = sg.TabularExplainer(
        module, numeric_world, torch_output="logits", n_samples=200, to_tensor=to_tensor
    )
    module.seen.clear()
    explainer.explain_many(numeric_world.iloc[:3], max_features=2)
    assert module.seen == [(device, torch.float32)] * 3  # one fixed-shape call per query
    assert set(calls) == {(device, torch.float32)}
    assert same_state(before, state_of(module))
    assert not module.training
    assert all(p.device.type == device for p in module.parameters())


def test_float64_module_gets_float64_inputs(numeric_world):
    module = Recorder(N_FEATURES).double().eval()
    explainer = sg.TabularExplainer(module, numeric_world, torch_output="logits", n_samples=200)
    module.seen.clear()
    explainer.explain(numeric_world.iloc[0], max_features=2)
    assert module.seen == [("cpu", torch.float64)]
    assert all(p.dtype == torch.float64 for p in module.parameters())


def test_to_tensor_on_the_wrong_device_is_refused(numeric_world):
    module = Recorder(N_FEATURES).eval()

    def wrong_device(rows, device, dtype):
        return frame_to_tensor(rows, "meta", dtype)

    with pytest.raises(ModelError, match="lives on cpu"):
        sg.TabularExplainer(module, numeric_world, torch_output="logits", to_tensor=wrong_device)


def test_default_conversion_refuses_category_columns():
    frame = pd.DataFrame({"a": [1.0, 2.0], "job": ["x", "y"]})
    with pytest.raises(DataTypeError, match="job"):
        frame_to_tensor(frame, "cpu", torch.float32)


# ---- batch invariance (float32) --------------------------------------------------------------------
def _numbers_equal(a, b, tol=1e-9):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_numbers_equal(a[k], b[k], tol) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(
            _numbers_equal(x, y, tol) for x, y in zip(a, b, strict=True)
        )
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= tol * max(1.0, abs(a))
    return a == b


def test_float32_row_explained_identically_alone_and_in_a_batch(numeric_world):
    torch_rng = torch.Generator().manual_seed(0)  # a local generator: no global torch RNG touched
    mlp = torch.nn.Sequential(
        torch.nn.Linear(N_FEATURES, 32), torch.nn.Tanh(), torch.nn.Linear(32, 3)
    )
    with torch.no_grad():
        for p in mlp.parameters():
            p.copy_(torch.randn(p.shape, generator=torch_rng) * 0.5)
    mlp.eval()
    explainer = sg.TabularExplainer(mlp, numeric_world, torch_output="logits", n_samples=300)
    row = numeric_world.iloc[[4]]
    batch = numeric_world.iloc[[9, 2, 4, 11, 0, 7, 5]]  # the row third, among others
    alone = explainer.explain(row, max_features=4)
    inside = explainer.explain_many(batch, max_features=4)[2]
    assert alone.top_features() == inside.top_features()
    assert alone.to_json() == inside.to_json() or _numbers_equal(
        json.loads(alone.to_json()), json.loads(inside.to_json())
    )


# ---- training mode -------------------------------------------------------------------------------
def test_training_mode_is_refused(numeric_world):
    module = logistic_module(False).train()
    with pytest.raises(ModelError, match="training mode"):
        sg.TabularExplainer(module, numeric_world, torch_output="logits")
    assert module.training  # refused, not switched


def test_training_submodule_is_refused(numeric_world):
    module = logistic_module(True)
    module[0].train()
    with pytest.raises(ModelError, match="training mode"):
        sg.TabularExplainer(module, numeric_world, torch_output="probabilities")


def test_training_mode_allowed_on_request(numeric_world):
    module = logistic_module(False).train()
    explainer = sg.TabularExplainer(
        module, numeric_world, torch_output="logits", allow_training_mode=True, n_samples=200
    )
    assert explainer.explain(numeric_world.iloc[0], max_features=3).top_features(1) == ["f1"]
    assert module.training


def test_switching_to_training_after_construction_is_refused(numeric_world):
    module = logistic_module(False)
    explainer = sg.TabularExplainer(module, numeric_world, torch_output="logits", n_samples=200)
    module.train()
    try:
        with pytest.raises(ModelError, match="training mode"):
            explainer.explain(numeric_world.iloc[0])
    finally:
        module.eval()


def test_non_tensor_output_is_refused(numeric_world):
    class Listy(torch.nn.Module):
        def forward(self, x):
            return "not a tensor"

    with pytest.raises(ModelOutputError, match="expected a tensor"):
        TorchBlackBox(Listy().eval(), output="logits", row_budget=100, probe_rows=numeric_world)


def test_to_tensor_may_return_several_inputs(numeric_world):
    class TwoInputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.left = logistic_module(False)

        def forward(self, head, tail):
            return self.left(torch.cat([head, tail], dim=1))

    def split(rows, device, dtype):
        x = frame_to_tensor(rows, device, dtype)
        return x[:, :5], x[:, 5:]

    explainer = sg.TabularExplainer(
        TwoInputs().eval(), numeric_world, torch_output="logits", to_tensor=split, n_samples=300
    )
    exp = explainer.explain(numeric_world.iloc[0], max_features=3, n_bootstrap=0)
    assert set(exp.top_features()) == {f"f{j}" for j in TRUE_WEIGHTS}


def test_to_tensor_must_be_callable(numeric_world):
    with pytest.raises(ParameterError, match="to_tensor must be a callable"):
        sg.TabularExplainer(
            logistic_module(False), numeric_world, torch_output="logits", to_tensor="numpy"
        )
