"""The review on other models: the MLP trainer, torch state dicts and torch.export programs."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from surrogate import cli
from surrogate.errors import ModelError, ParameterError
from surrogate.report.problem import load_model

torch = pytest.importorskip("torch")

SMALL = ["--max-cases", "2", "--n-samples", "300"]
FAST = """
[analysis]
fidelity_survey = 10
sensitivity_cases = 1
sensitivity_widths = [2.0]
sensitivity_n_samples = [200]
global_augment = 0
"""

FACTORY = textwrap.dedent(
    """
    import torch

    def build():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    """
)


@pytest.fixture()
def numeric_problem(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(400, 3)), columns=["income", "debt", "tenure"])
    frame["default"] = (
        frame["debt"] - frame["income"] + rng.normal(scale=0.5, size=400) > 0
    ).astype(int)
    data = tmp_path / "loans.csv"
    frame.to_csv(data, index=False)
    (tmp_path / "loan_net.py").write_text(FACTORY, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("loan_net", None)
    import loan_net

    module = loan_net.build().eval()
    weights = tmp_path / "net.pt"
    torch.save(module.state_dict(), weights)
    config = tmp_path / "fast.toml"
    config.write_text(FAST, encoding="utf-8")
    return data, weights, module, config


def test_torch_state_dict_with_factory(numeric_problem, tmp_path):
    data, weights, module, config = numeric_problem
    out = tmp_path / "review"
    argv = [
        "report",
        "--config",
        str(config),
        "--data",
        str(data),
        "--target",
        "default",
        "--model",
        str(weights),
        "--model-factory",
        "loan_net:build",
        "--torch-output",
        "logits",
        "--adverse-class",
        "1",
        "--threshold",
        "0.5",
        "--out",
        str(out),
        *SMALL,
    ]
    assert cli.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["scope"]["model_description"].startswith("torch:")
    assert (out / "report.html").is_file()
    # the loaded weights are the saved ones
    loaded = load_model(weights, trust=False, factory="loan_net:build")
    for a, b in zip(loaded.state_dict().values(), module.state_dict().values(), strict=True):
        assert torch.equal(a, b)


REGRESSION_FACTORY = textwrap.dedent(
    """
    import torch

    def build():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    """
)


def test_torch_regression_state_dict_is_reviewed_as_a_regression(numeric_problem, tmp_path):
    data, _, _, config = numeric_problem
    frame = pd.read_csv(data)
    frame["loss"] = 0.3 * frame["debt"] - 0.2 * frame["income"]
    frame.drop(columns=["default"]).to_csv(data, index=False)
    (tmp_path / "loss_net.py").write_text(REGRESSION_FACTORY, encoding="utf-8")
    sys.modules.pop("loss_net", None)
    import loss_net

    weights = tmp_path / "loss.pt"
    torch.save(loss_net.build().state_dict(), weights)
    out = tmp_path / "review"
    argv = ["report", "--config", str(config), "--data", str(data), "--target", "loss"]
    argv += ["--model", str(weights), "--model-factory", "loss_net:build"]
    argv += ["--torch-output", "regression", "--out", str(out), *SMALL]
    assert cli.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["scope"]["mode"] == "regression"
    assert "r2" in report["performance"]["held_out"]
    assert not (out / "reason_codes.csv").exists()


def test_state_dict_needs_a_factory(numeric_problem):
    _, weights, _, _ = numeric_problem
    with pytest.raises(ParameterError, match="--model-factory"):
        load_model(weights, trust=True)


def test_exported_program_needs_trust(numeric_problem, tmp_path):
    _, _, module, _ = numeric_problem
    batch = torch.export.Dim("batch")
    program = torch.export.export(
        module, (torch.zeros(2, 3),), dynamic_shapes={"input": {0: batch}}
    )
    path = tmp_path / "net.pt2"
    torch.export.save(program, str(path))
    with pytest.raises(ModelError, match="--trust-model-file"):
        load_model(path, trust=False)
    loaded = load_model(path, trust=True)
    x = torch.randn(4, 3)
    assert torch.allclose(loaded(x), module(x))


@pytest.mark.slow
def test_mlp_trainer_report(tmp_path):
    config = tmp_path / "fast.toml"
    config.write_text(FAST, encoding="utf-8")
    out = tmp_path / "mlp"
    assert (
        cli.main(["report", "--config", str(config), "--train", "mlp", "--out", str(out), *SMALL])
        == 0
    )
    report = json.loads((out / "report.json").read_text())
    assert "MLPClassifier" in json.dumps(report["scope"]) or "mlp" in json.dumps(report["scope"])
