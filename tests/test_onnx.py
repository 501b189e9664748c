"""ONNX models: scored with ONNX Runtime, explained and reviewed as the scikit-learn model
they were converted from, and loaded by the review without the trust flag."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import surrogate as sg
from surrogate import cli
from surrogate.errors import ModelError

pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")
skops_io = pytest.importorskip("skops.io")

#: float32 kernels against scikit-learn's float64
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def converted(german_credit, tmp_path_factory):
    """A German credit pipeline (one-hot categories, scaled numbers, logistic regression),
    saved with skops and converted to ONNX with skl2onnx; and the data as a CSV file.

    The demo pipeline's own imputer of text (missing marked by NaN) has no skl2onnx
    converter, so this pipeline encodes the same columns without it (German credit has
    no missing values)."""
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = german_credit
    categories = [c for c in X.columns if X[c].dtype == "category"]
    numbers = [c for c in X.columns if c not in categories]
    encode = ColumnTransformer(
        [
            ("c", OneHotEncoder(handle_unknown="ignore"), categories),
            ("n", StandardScaler(), numbers),
        ]
    )
    model = Pipeline([("encode", encode), ("model", LogisticRegression(max_iter=1000))]).fit(X, y)
    inputs = [
        (
            c,
            StringTensorType([None, 1])
            if c in categories
            else Int64TensorType([None, 1])
            if pd.api.types.is_integer_dtype(X[c])
            else FloatTensorType([None, 1]),
        )
        for c in X.columns
    ]
    folder = tmp_path_factory.mktemp("onnx")
    (folder / "model.onnx").write_bytes(
        skl2onnx.to_onnx(model, initial_types=inputs).SerializeToString()
    )
    skops_io.dump(model, folder / "model.skops")
    X.assign(risk=y).to_csv(folder / "credit.csv", index=False)
    return model, X, folder


def test_an_onnx_model_is_explained_as_the_model_it_was_converted_from(converted):
    model, X, folder = converted
    box = sg.onnx_model(folder / "model.onnx")
    assert box.mode == "classification" and box.output_names == tuple(model.classes_)
    assert np.abs(box.predict(X.iloc[:50]) - model.predict_proba(X.iloc[:50])).max() < TOLERANCE
    onnx = sg.TabularExplainer(box, X, target="bad", n_samples=600)
    sklearn = sg.TabularExplainer(model, X, target="bad", n_samples=600)
    for position in (0, 7):
        a, b = onnx.explain(X.iloc[position]), sklearn.explain(X.iloc[position])
        assert a.prediction == pytest.approx(b.prediction, abs=TOLERANCE)
        assert a.top_features() == b.top_features()
        assert a.contributions == pytest.approx(b.contributions, abs=1e-3)
        assert a.fidelity.r2 == pytest.approx(b.fidelity.r2, abs=1e-3)


def test_an_onnx_model_travels_to_workers_without_its_session(converted):
    import pickle

    _, X, folder = converted
    box = sg.onnx_model(folder / "model.onnx")
    again = pickle.loads(pickle.dumps(box))
    assert np.array_equal(again.predict(X.iloc[:5]), box.predict(X.iloc[:5]))


def test_an_onnx_file_that_is_not_a_graph_is_refused(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not an onnx graph")
    with pytest.raises(ModelError, match="ONNX Runtime cannot load 'model.onnx'"):
        sg.onnx_model(path)


@pytest.mark.timeout(300)
def test_an_onnx_review_needs_no_trust_flag_and_shows_the_skops_reviews_figures(converted, capsys):
    """Models many validation teams receive as ONNX could not be reviewed at all."""
    _, _, folder = converted
    small = folder / "small.toml"  # the analyses at a size that keeps each review to seconds
    small.write_text(
        "[analysis]\nfidelity_survey = 24\nsensitivity_cases = 1\nsensitivity_widths = [2.0]\n"
        "sensitivity_n_samples = [200]\nreason_seeds = 1\nglobal_augment = 0\n",
        encoding="utf-8",
    )
    reports = {}
    for kind in ("onnx", "skops"):
        argv = ["report", "--config", str(small), "--data", str(folder / "credit.csv")]
        argv += ["--target", "risk", "--adverse-class", "bad"]
        argv += ["--model", str(folder / f"model.{kind}")]
        argv += ["--n-samples", "500", "--max-cases", "2", "--out", str(folder / kind)]
        assert cli.main(argv) == 0, capsys.readouterr().err
        reports[kind] = json.loads((folder / kind / "report.json").read_text(encoding="utf-8"))
    onnx, skops = reports["onnx"], reports["skops"]
    for figure in ("auc", "brier", "log_loss"):
        assert onnx["performance"]["held_out"][figure] == pytest.approx(
            skops["performance"]["held_out"][figure], abs=TOLERANCE
        )
    assert (
        onnx["performance"]["held_out"]["confusion"]
        == skops["performance"]["held_out"]["confusion"]
    )
    cases = [[c["case_id"] for c in r["local"]["cases"]] for r in (onnx, skops)]
    assert cases[0] == cases[1] and len(cases[0]) == 2
    for a, b in zip(onnx["local"]["cases"], skops["local"]["cases"], strict=True):
        assert a["top_features"] == b["top_features"]
        assert a["fidelity"]["r2"] == pytest.approx(b["fidelity"]["r2"], abs=1e-3)
    assert onnx["fidelity"]["mean"] == pytest.approx(skops["fidelity"]["mean"], abs=1e-3)
    assert onnx["reproducibility"]["rerun_check"]["passed"]
