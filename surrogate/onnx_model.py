"""ONNX models, scored with ONNX Runtime on its CPU execution provider.

An ONNX file is data: a graph of standard operators and their weights, which ONNX
Runtime executes with its own kernels. Loading one unpickles nothing and runs no code
from the file, so the review loads it without ``--trust-model-file``
(docs/threat-model.md).

The model is fed a DataFrame column by column when its inputs are named after the
columns (what skl2onnx makes of a pipeline with a ColumnTransformer: one ``[None, 1]``
input per column, text as strings), or as one matrix when it has a single input as
wide as the table. A classifier's class labels are read from its ZipMap output (a list
of {label: probability} per row) or from the classifier node of the graph; its outputs
are the probabilities, a regressor's its first numeric output.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from .blackbox import DEFAULT_ROW_BUDGET, BlackBox
from .errors import ModelError, ParameterError, require

#: ONNX tensor element types fed from a table's columns, by the numpy dtype they take
_TENSOR_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": object,
}


def onnx_model(model: str | Path | bytes, *, row_budget: int = DEFAULT_ROW_BUDGET) -> BlackBox:
    """A model saved as ONNX (a path, or the file's bytes), ready for an explainer.

    Examples
    --------
    >>> explainer = sg.TabularExplainer(sg.onnx_model("model.onnx"), X)  # doctest: +SKIP
    """
    if isinstance(model, bytes):
        return OnnxBlackBox(model, name="<bytes>", row_budget=row_budget)
    path = Path(model)
    if not path.is_file():
        raise ParameterError(f"The ONNX model file {str(path)!r} does not exist.")
    return OnnxBlackBox(path.read_bytes(), name=path.name, row_budget=row_budget)


class OnnxBlackBox(BlackBox):
    """An ONNX graph scored with ONNX Runtime (module doc), one query per call: its kernels
    compute in float32, whose sums may round with the batch."""

    fixed_shape = True

    def __init__(self, data: bytes, *, name: str, row_budget: int = DEFAULT_ROW_BUDGET) -> None:
        self.data = data
        self.name = name
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.row_budget = row_budget
        self._open()
        outputs = {o.name: o.type for o in self.session.get_outputs()}
        self._output, self.mode = _chosen_output(outputs, name)
        self._zipmap = outputs[self._output].startswith("seq(map(")
        self.outputs_probabilities = self.mode == "classification"
        if self.mode == "regression":
            self.output_names = ("prediction",)
        else:
            self.output_names = _graph_class_labels(data, name)

    def _open(self) -> None:
        ort = require("onnxruntime", "onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one thread: sums round alike on every machine
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                self.data, options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ONNX Runtime's own errors (invalid graph, unknown operator)
            raise ModelError(f"ONNX Runtime cannot load {self.name!r}: {exc}") from exc
        self.inputs = [(i.name, i.type, i.shape) for i in self.session.get_inputs()]

    def __getstate__(self) -> dict[str, Any]:  # the session is rebuilt from the bytes
        return {k: v for k, v in self.__dict__.items() if k != "session"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._open()

    def _call(self, rows: Any) -> Any:
        out = self.session.run([self._output], self._feed(rows))[0]
        if not self._zipmap:
            return out
        # a ZipMap: one {label: probability} per row, in the classifier's order of labels
        return np.array([list(row.values()) for row in out], dtype=np.float32).reshape(
            len(out), len(self.output_names)
        )

    def _feed(self, rows: Any) -> dict[str, np.ndarray]:
        columns = [str(c) for c in getattr(rows, "columns", [])]
        if columns and all(name in columns for name, _, _ in self.inputs):
            return {
                name: _column(rows[name], kind, name, self.name).reshape(-1, 1)
                for name, kind, _ in self.inputs
            }
        if len(self.inputs) == 1:
            name, kind, shape = self.inputs[0]
            matrix = np.asarray(rows)
            width = shape[-1] if shape and isinstance(shape[-1], int) else matrix.shape[1]
            if matrix.ndim == 2 and matrix.shape[1] == width:
                return {name: matrix.astype(_dtype(kind, name, self.name))}
        raise ModelError(
            f"The ONNX model {self.name!r} takes the inputs "
            f"{[f'{n} {k} {s}' for n, k, s in self.inputs]}; expected one input per column "
            f"named after it ({columns}) or one input as wide as the table."
        )

    def description(self) -> str:
        return f"onnx:{self.name}:sha256={self.sha256}:{self._output}"


def _column(series: Any, kind: str, name: str, model: str) -> np.ndarray:
    dtype = _dtype(kind, name, model)
    if dtype is object:  # text: categories by name, missing as the empty string
        return series.astype(object).where(series.notna(), "").astype(str).to_numpy(dtype=object)
    return series.to_numpy(dtype=dtype)


def _dtype(kind: str, name: str, model: str) -> Any:
    if kind not in _TENSOR_DTYPES:
        raise ModelError(
            f"The ONNX model {model!r} takes {name!r} as {kind}; a table can feed "
            f"{sorted(_TENSOR_DTYPES)}."
        )
    return _TENSOR_DTYPES[kind]


def _chosen_output(outputs: dict[str, str], model: str) -> tuple[str, Any]:
    """A classifier's probabilities (a ZipMap, or a tensor named for them), else the
    first numeric output (a regressor's)."""
    for name, kind in outputs.items():
        if kind.startswith("seq(map(") or "probab" in name.lower():
            return name, "classification"
    for name, kind in outputs.items():
        if kind in ("tensor(float)", "tensor(double)"):
            return name, "regression"
    raise ModelError(f"The ONNX model {model!r} has no probabilities or numeric output: {outputs}.")


def _graph_class_labels(data: bytes, model: str) -> tuple[str, ...]:
    """The class labels a classifier node of the graph (ai.onnx.ml) declares."""
    onnx = require("onnx", "onnx")
    graph = onnx.load_from_string(data).graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.name == "classlabels_strings" and attribute.strings:
                return tuple(s.decode() for s in attribute.strings)
            if attribute.name in ("classlabels_int64s", "classlabels_ints") and attribute.ints:
                return tuple(str(i) for i in attribute.ints)
    raise ModelError(
        f"The ONNX model {model!r} gives probabilities but declares no class labels "
        "(classlabels_strings or classlabels_int64s on a classifier node)."
    )


__all__ = ["OnnxBlackBox", "onnx_model"]
