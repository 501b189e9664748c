"""Model adapters: one per framework, each scoring rows in large batches on the model's own device.

Every adapter answers ``predict(rows) -> float64 array (n, n_outputs)`` and checks
what the model returned (shape, finiteness, probabilities) with exceptions, not
asserts. The user's model is never modified, moved or pickled, and it is always
handed a copy of the rows: a model that edits its input in place changes nothing
outside the call. Outputs of lower precision (float16, bfloat16, float32) are
checked within their own resolution; a tensor that requires grad is detached.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import (
    DataTypeError,
    ModelError,
    ModelOutputError,
    ParameterError,
    SurrogateError,
    UnknownOptionError,
)

Mode = Literal["classification", "regression"]
MODES = ("classification", "regression")
DEFAULT_ROW_BUDGET = 100_000
#: images and texts: queries sharing one model call under the default row budget
QUERIES_PER_CALL = 4
#: images: most numbers (pixels times channels) the default row budget puts in one call
VALUES_PER_CALL = 2**25
_PROBA_TOLERANCE = 1e-6
#: class probabilities of float64 outputs must sum to 1 within this
_SUM_TOLERANCE = 1e-4
#: outputs for the same rows, scored alone, reordered or again, must agree within this
#: (relative), or within a thousand times the outputs' resolution for low-precision ones
CONSISTENCY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class _Scores:
    """Outputs converted to float64, and the resolution of the dtype they came in."""

    values: np.ndarray
    resolution: float


class BlackBox:
    """Base adapter. Subclasses implement :meth:`_call` on one chunk of rows."""

    mode: Mode
    output_names: tuple[str, ...]
    #: True when a row's output may depend on the shape of the batch it was scored in
    #: (float32 kernels chosen per shape): :meth:`predict_blocks` then fixes each call's
    #: shape independently of the other queries.
    fixed_shape: bool = False
    row_budget: int = DEFAULT_ROW_BUDGET
    outputs_probabilities: bool = False

    def predict(self, rows: Any, *, rows_are: RowsOrigin | None = None) -> np.ndarray:
        """Score a copy of ``rows``; returns float64 ``(n, n_outputs)``.

        ``rows_are`` says where the rows come from (:class:`RowsOrigin`), so that a
        failure traced to one value names its row as the user numbers it.
        """
        return self._scores(rows, rows_are).values

    def _scores(self, rows: Any, rows_are: RowsOrigin | None = None) -> _Scores:
        """Checked float64 outputs on a copy of ``rows``, and the resolution they came in."""
        n = _n_rows(rows)
        try:
            raw = self._call(private_copy(rows))
        except SurrogateError:  # raised on purpose by the adapter: already says what is wrong
            raise
        except Exception as exc:  # the model's own failure, re-raised with context
            raise ModelError(_failure_message(exc, rows, n, rows_are)) from exc
        return self._check(raw, n)

    def predict_blocks(
        self,
        blocks: Sequence[np.ndarray],
        renders: Sequence[Callable[[np.ndarray], Any]],
        *,
        shared_calls: bool = False,
        call_rows: int | None = None,
    ) -> list[np.ndarray]:
        """Score per-query blocks of rows in calls of at most ``row_budget`` rows (or of
        ``call_rows``, when given: a smaller fixed call for small blocks, such as the rows of
        a deletion check, so that a query alone does not fill a whole budget).

        ``renders[k]`` turns rows of block ``k`` into what the model eats. Whole blocks
        share a call while the budget holds them (as many as fit the largest block); a
        block larger than the budget opens its own calls, split from its first row, rather
        than being sent whole past the limit the user set.

        A model whose outputs may depend on the shape of its batch (``fixed_shape``:
        float32 kernels, chosen per shape) is called so that a row's result never depends
        on the other queries:

        * by default, one block per call, in calls that start at the block's first row:
          each call's shape is fixed by the block alone;
        * with ``shared_calls=True`` (images and texts), blocks share calls as above, and
          every call has exactly ``row_budget`` rows: the last call of a group is padded
          with copies of its last block's first row, whose outputs are dropped. A query
          then meets the model in calls of the same shape alone or in any company.

        What stays free is the rows beside a query and its offset in the call. Measured
        on the CPU (``bench/batch_invariance.py``): the demo digits CNN, the demo GRU and
        the ResNet-18 of :mod:`surrogate.demo.resnet` give every row bit-identical outputs
        under any company and offset at a fixed shape, while the ResNet's outputs move
        with the batch size (by up to 2e-7). A model computing one row from the others
        (batch statistics) is refused by :meth:`fingerprint`; one whose internal shapes
        follow the content of the batch (sequences packed by length, so the batch size of
        each time step depends on the other texts) is outside this rule: it must read
        each row alone (the demo GRU runs every row through every step), or be given
        ``row_budget`` equal to ``n_samples`` (one query per call).
        """
        sizes = [len(b) for b in blocks]
        budget = self.row_budget if call_rows is None else min(call_rows, self.row_budget)
        share = not self.fixed_shape or shared_calls
        per_call = max(1, budget // max(sizes)) if share else 1
        pad = self.fixed_shape and shared_calls
        outputs: list[np.ndarray] = []
        for start in range(0, len(blocks), per_call):
            group = range(start, min(start + per_call, len(blocks)))
            out = self._predict_group(
                [blocks[k] for k in group], [renders[k] for k in group], pad=pad, budget=budget
            )
            bounds = np.cumsum([0] + [sizes[k] for k in group])
            outputs += [out[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return outputs

    def predict_rows(self, rows: np.ndarray, render: Callable[[np.ndarray], Any]) -> np.ndarray:
        """Score one block of rows (a data set) in calls of at most ``row_budget`` rows."""
        return self.predict_blocks([rows], [render])[0]

    def _predict_group(
        self,
        blocks: list[np.ndarray],
        renders: list[Callable],
        *,
        pad: bool = False,
        budget: int | None = None,
    ) -> np.ndarray:
        """Outputs of the blocks' rows, in calls of ``budget`` rows (default ``row_budget``);
        with ``pad``, the last call is filled up to ``budget`` rows and the outputs of the
        filling dropped."""
        budget = self.row_budget if budget is None else budget
        starts = np.cumsum([0] + [len(b) for b in blocks])
        total = int(starts[-1])
        parts = []
        for a in range(0, total, budget):
            b = min(a + budget, total)
            filling = budget - (b - a) if pad else 0
            if filling:
                blocks, renders, starts = _with_filling(blocks, renders, starts, filling)
            inputs = _render_span(blocks, starts, renders, a, b + filling)
            parts.append(self.predict(inputs)[: b - a])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _call(self, rows: Any) -> Any:  # pragma: no cover - abstract
        raise ModelError(f"{type(self).__name__} does not implement scoring.")

    def _check(self, raw: Any, n: int) -> _Scores:
        scores = raw if isinstance(raw, _Scores) else as_float64(raw)
        out = scores.values
        if out.ndim == 1:
            out = out[:, None]
        if out.ndim != 2 or out.shape[0] != n:
            raise ModelOutputError(
                f"The black box returned an array of shape {np.shape(raw)} for {n} rows; "
                f"expected ({n},) or ({n}, n_outputs)."
            )
        if hasattr(self, "output_names") and out.shape[1] != len(self.output_names):
            raise ModelOutputError(
                f"The black box returned {out.shape[1]} outputs per row; expected {len(self.output_names)} "
                f"({list(self.output_names)})."
            )
        if not np.isfinite(out).all():
            bad = int(np.flatnonzero(~np.isfinite(out).all(axis=1))[0])
            raise ModelOutputError(
                f"The black box returned NaN or infinite outputs (first at row {bad})."
            )
        if self.outputs_probabilities:
            _check_probabilities(out, scores.resolution)
        return _Scores(out, scores.resolution)

    def fingerprint(self, probe_rows: Any, *, rows_are: RowsOrigin | None = None) -> str:
        """Behavioural fingerprint: SHA-256 of the adapter's type and its outputs on probe rows.

        The probe rows are also scored in reverse order and the first one alone: a model
        whose outputs change from call to call, or with the rows' company, is refused
        (no surrogate of it could be trusted, nor reproduced).
        """
        scored = self._scores(probe_rows, rows_are)
        self._check_consistent(probe_rows, scored)
        out = np.round(scored.values, 10) + 0.0  # +0.0 folds -0.0 into 0.0
        digest = hashlib.sha256(self.description().encode())
        digest.update(np.ascontiguousarray(out).tobytes())
        return digest.hexdigest()

    def _check_consistent(self, rows: Any, scored: _Scores) -> None:
        if len(scored.values) == 0:
            return
        reordered = self._scores(_reversed(rows))
        first = self._scores(_first(rows))
        resolution = max(scored.resolution, reordered.resolution, first.resolution)
        tolerance = float(np.clip(1e3 * resolution, CONSISTENCY_TOLERANCE, 1e-2))
        scale = max(1.0, float(np.max(np.abs(scored.values))))
        for label, again, rows_compared in (
            ("the same rows scored again in reverse order", reordered.values[::-1], scored.values),
            ("the first row scored alone", first.values, scored.values[:1]),
        ):
            gap = float(np.max(np.abs(again - rows_compared)))
            if gap > tolerance * scale:
                raise ModelOutputError(
                    f"The black box is not deterministic per row: {label} gave outputs that differ "
                    f"by {gap:.3g} (tolerance {tolerance * scale:.3g}). Its output must depend only "
                    "on each row, not on the call or on the other rows of the batch (fix its "
                    "randomness, batch statistics or batch-level normalisation first)."
                )

    def description(self) -> str:
        return type(self).__name__


def shared_row_budget(
    n_samples: int, values_per_row: int | None = None, queries_per_call: int = QUERIES_PER_CALL
) -> int:
    """The default row budget of calls that queries share (images, texts): room for
    ``queries_per_call`` queries of ``n_samples`` rows (see :func:`default_shared_budget`),
    as long as a call holds at most :data:`VALUES_PER_CALL` numbers of
    ``values_per_row`` each (an image's pixels times channels; None for texts, which are
    small).

    Under that cap the budget is a whole number of queries, so that calls hold whole
    queries with no filling; a query larger than the cap is cut into the fewest equal
    calls under it (1,000 images of 224 x 224 x 3: 5 calls of 200).

    Examples
    --------
    >>> shared_row_budget(500, 64), shared_row_budget(1000, 224 * 224 * 3)
    (2000, 200)
    >>> shared_row_budget(500, 64, queries_per_call=1)
    500
    """
    cap = queries_per_call * n_samples
    if values_per_row is not None:
        cap = min(cap, max(1, VALUES_PER_CALL // max(1, values_per_row)))
    if cap >= n_samples:
        return (cap // n_samples) * n_samples
    n_calls = -(-n_samples // cap)
    return -(-n_samples // n_calls)


def default_shared_budget(
    adapter: BlackBox, n_samples: int, values_per_row: int | None = None
) -> int:
    """The row budget images and texts get when none is given (:func:`shared_row_budget`).

    A model scored in calls of a fixed shape (``fixed_shape``: torch modules, functions
    returning float32) has its last call filled up: it gets room for
    :data:`QUERIES_PER_CALL` queries on a GPU, where larger calls pay, and for one on the
    CPU, where they do not (30 demo digits took 1.62 s four per call against 1.44 s one
    per call, and a digit alone 104 ms against 47 ms). Other models are never filled, and
    share calls as tables do (:data:`DEFAULT_ROW_BUDGET` rows).
    """
    if not adapter.fixed_shape:
        per_call = max(1, DEFAULT_ROW_BUDGET // n_samples)
    else:
        device = getattr(adapter, "device", None)
        on_gpu = device is not None and getattr(device, "type", "cpu") != "cpu"
        per_call = QUERIES_PER_CALL if on_gpu else 1
    return shared_row_budget(n_samples, values_per_row, per_call)


@dataclass(frozen=True)
class RowsOrigin:
    """Where rows handed to the model come from, so that a failure traced to one value
    names its row as the user numbers it: ``RowsOrigin("training data", X.index[:64])``."""

    name: str
    #: each row's label there (a DataFrame's index); positions when not given
    labels: Sequence[Any] | None = None

    def row(self, position: int) -> str:
        label = self.labels[position] if self.labels is not None else position
        if isinstance(label, int | np.integer):
            return f"{self.name} row {int(label)}"
        return f"{self.name} row labelled {label!r}"


def _failure_message(exc: Exception, rows: Any, n: int, origin: RowsOrigin | None) -> str:
    """The model's failure in words: the column and row of the value it names, when the
    message quotes a value that one cell of the rows holds; else how many rows it had,
    and which of their columns hold text."""
    found = offending_cell(str(exc), rows)
    failed = f"The black box raised {type(exc).__name__}"
    if found is None:
        texts = [name for name, _ in _text_columns(rows)]
        hint = f" (text or categories in column {', '.join(texts)})" if texts else ""
        scored = f"{n} rows of the {origin.name}" if origin else f"{n} rows"
        return f"{failed} while scoring {scored}: {exc}{hint}"
    column, row, value = found
    where = origin.row(row) if origin else f"row {row} of the rows it was given"
    return f"{failed} on the column {column}, value {value!r} ({where}): {exc}"


#: a value quoted in an exception's message: 'mildly' or "mildly"
_QUOTED = re.compile(r"'([^'\n]{1,200})'|\"([^\"\n]{1,200})\"")


def offending_cell(message: str, rows: Any) -> tuple[str, int, str] | None:
    """``(column, row position, value)`` of the first cell of ``rows`` (a DataFrame or
    2-D array of objects) equal to a value the message quotes; None when none is found."""
    quoted = [a or b for a, b in _QUOTED.findall(message)][:5]
    if not quoted:
        return None
    columns = _text_columns(rows)
    for value in quoted:
        for name, cells in columns:
            hits = np.flatnonzero(cells == value)
            if len(hits):
                return name, int(hits[0]), value
    return None


def _text_columns(rows: Any) -> list[tuple[str, np.ndarray]]:
    """Columns of ``rows`` that may hold text, each as an array of str (missing as '')."""
    if hasattr(rows, "columns") and hasattr(rows, "iloc"):  # pandas
        return [
            (repr(str(name)), rows[name].astype(str).to_numpy(dtype=object, na_value=""))
            for name in rows.columns
            if rows[name].dtype.kind not in "biufcmM"
        ]
    if isinstance(rows, np.ndarray) and rows.ndim == 2 and rows.dtype.kind in "OUS":
        return [
            (f"at position {j}", rows[:, j].astype(str).astype(object))
            for j in range(rows.shape[1])
        ]
    return []


def _render_span(
    blocks: list[np.ndarray], starts: np.ndarray, renders: list[Callable], a: int, b: int
) -> Any:
    """Model input for rows ``a:b`` of a group whose block ``k`` starts at row ``starts[k]``.

    Consecutive blocks sharing one render (every block of a table) are rendered together;
    blocks with their own render (each text, each image layout) are rendered apart and joined.
    """
    first, last = np.searchsorted(starts, [a, b - 1], side="right") - 1
    inputs = []
    k = first
    while k <= last:
        stop = k + 1
        while stop <= last and renders[stop] == renders[k]:
            stop += 1
        rows = [
            blocks[j][max(a, starts[j]) - starts[j] : min(b, starts[j + 1]) - starts[j]]
            for j in range(k, stop)
        ]
        inputs.append(renders[k](rows[0] if len(rows) == 1 else np.concatenate(rows)))
        k = stop
    return inputs[0] if len(inputs) == 1 else join_inputs(inputs)


def _with_filling(
    blocks: list[np.ndarray], renders: list[Callable], starts: np.ndarray, n: int
) -> tuple[list[np.ndarray], list[Callable], np.ndarray]:
    """The group with ``n`` copies of its last block's first row appended, as a block of
    that block's render (a real row of a query, so the model sees nothing it would not)."""
    filling = np.repeat(blocks[-1][:1], n, axis=0)
    return [*blocks, filling], [*renders, renders[-1]], np.append(starts, starts[-1] + n)


def join_inputs(pieces: list[Any]) -> Any:
    """One model input from several (lists of texts, arrays, tensors or DataFrames), in order."""
    first = pieces[0]
    if isinstance(first, list):
        return [item for piece in pieces for item in piece]
    if isinstance(first, np.ndarray):
        return np.concatenate(pieces)
    module = type(first).__module__
    if module.startswith("torch"):
        import torch

        return torch.cat(pieces)
    if module.startswith("pandas"):
        import pandas as pd

        return pd.concat(pieces, ignore_index=True)
    raise DataTypeError(
        f"Cannot join model inputs of type {type(first).__name__} into one call; "
        "render rows as lists, numpy arrays, tensors or DataFrames."
    )


def _check_probabilities(out: np.ndarray, resolution: float = 0.0) -> None:
    """Probabilities in [0, 1] summing to 1, each within the resolution of the outputs' dtype."""
    bound = max(_PROBA_TOLERANCE, 2 * resolution)
    if (out < -bound).any() or (out > 1 + bound).any():
        raise ModelOutputError(
            f"The black box returned probabilities outside [0, 1] (range {out.min():.4g} to {out.max():.4g})."
        )
    sums = out.sum(axis=1)
    if out.shape[1] > 1 and np.abs(sums - 1).max() > max(_SUM_TOLERANCE, out.shape[1] * resolution):
        i = int(np.argmax(np.abs(sums - 1)))
        raise ModelOutputError(
            f"The black box returned class probabilities that do not sum to 1 (row {i} sums to {sums[i]:.6g})."
        )


def _n_rows(rows: Any) -> int:
    return len(rows) if not hasattr(rows, "shape") else int(rows.shape[0])


def private_copy(rows: Any) -> Any:
    """A copy of ``rows`` for the model, so that editing it in place changes nothing of ours."""
    if _is_tensor(rows):
        return rows.clone()
    if hasattr(rows, "iloc"):  # pandas
        return rows.copy(deep=True)
    if isinstance(rows, np.ndarray):
        return rows.copy()
    return copy.deepcopy(rows)


def as_float64(raw: Any) -> _Scores:
    """A model's output as float64 numbers, with the resolution of the dtype it came in."""
    if _is_tensor(raw):
        resolution = _resolution(raw.dtype)
        raw = raw.detach().to("cpu")
        raw = raw.double() if raw.is_floating_point() else raw
        raw = raw.numpy()
    else:
        resolution = _resolution(getattr(raw, "dtype", None))
    if np.iscomplexobj(raw):  # float64 would drop the imaginary part silently
        raise ModelOutputError(
            f"The black box returned complex numbers ({type(raw).__name__} of dtype "
            f"{np.asarray(raw).dtype}); expected real scores or probabilities."
        )
    try:
        values = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelOutputError(
            f"The black box returned non-numeric outputs ({type(raw).__name__})."
        ) from exc
    return _Scores(values, resolution)


def _resolution(dtype: Any) -> float:
    """Machine epsilon of a numpy or torch floating dtype; 0 for float64 and anything else."""
    if dtype is None:
        return 0.0
    if _is_torch_dtype(dtype):
        import torch

        return (
            float(torch.finfo(dtype).eps)
            if dtype.is_floating_point and dtype != torch.float64
            else 0.0
        )
    try:
        kind = np.dtype(dtype)
    except TypeError:
        return 0.0
    if kind.kind == "f" and kind.itemsize < 8:
        return float(np.finfo(kind).eps)
    return 0.0


def _is_tensor(obj: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def _is_torch_dtype(dtype: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(dtype, torch.dtype)


def _reversed(rows: Any) -> Any:
    if _is_tensor(rows):
        return rows.flip(0)
    if hasattr(rows, "iloc"):
        return rows.iloc[::-1]
    return rows[::-1]


def _first(rows: Any) -> Any:
    return rows.iloc[:1] if hasattr(rows, "iloc") else rows[:1]


# ---- scikit-learn ---------------------------------------------------------------------------
class SklearnBlackBox(BlackBox):
    """A scikit-learn estimator or pipeline: predict_proba, decision_function or predict by mode."""

    def __init__(self, model: Any, *, mode: Mode | None, row_budget: int) -> None:
        self.model = model
        self.row_budget = row_budget
        self.mode = mode or _sklearn_mode(model)
        classes = getattr(model, "classes_", None)
        if self.mode == "classification" and classes is not None and len(classes) < 2:
            raise ModelError(
                f"The classifier was trained on a single class ({list(classes)}): its output is constant, "
                "so there is nothing to explain. Train it on data holding at least two classes."
            )
        if self.mode == "classification":
            if hasattr(model, "predict_proba"):
                self._method = "predict_proba"
                self.outputs_probabilities = True
                if classes is None:
                    raise ModelError(
                        "The classifier has predict_proba but no classes_: is it fitted?"
                    )
                self.output_names = tuple(str(c) for c in classes)
            elif hasattr(model, "decision_function"):
                self._method = "decision_function"
                if classes is not None and len(classes) > 2:
                    self.output_names = tuple(str(c) for c in classes)
                else:
                    self.output_names = ("decision_function",)
            else:
                raise ModelError(
                    f"mode='classification' needs predict_proba or decision_function; "
                    f"{type(model).__name__} has neither."
                )
        else:
            if not hasattr(model, "predict"):
                raise ModelError(f"{type(model).__name__} has no predict method.")
            self._method = "predict"
            n_out = getattr(model, "n_outputs_", 1)
            self.output_names = (
                ("prediction",) if n_out == 1 else tuple(f"output_{k}" for k in range(n_out))
            )

    def _call(self, rows: Any) -> Any:
        return getattr(self.model, self._method)(rows)

    def description(self) -> str:
        return (
            f"sklearn:{type(self.model).__module__}.{type(self.model).__qualname__}:{self._method}"
        )


def _sklearn_mode(model: Any) -> Mode:
    from sklearn.base import is_classifier, is_regressor

    try:
        if is_classifier(model):
            return "classification"
        if is_regressor(model):
            return "regression"
    except AttributeError:  # duck-typed estimators without scikit-learn's tags
        pass
    return "classification" if hasattr(model, "predict_proba") else "regression"


# ---- any callable ---------------------------------------------------------------------------
class CallableBlackBox(BlackBox):
    """Any function ``f(rows) -> array``; mode inferred from a probe call when not given.

    One number per row in [0, 1] is ambiguous (a probability, or a regression on the unit
    interval) and needs ``mode``; under ``mode="classification"`` it is read as P(class '1')
    and scored as the two columns P('0'), P('1').

    A function whose outputs come in a low-precision dtype (float32, float16) probably
    computed them in it, with kernels that may round differently per batch shape: it is
    scored like a torch model (``fixed_shape``, see :meth:`BlackBox.predict_blocks`).
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        *,
        mode: Mode | None,
        row_budget: int,
        probe_rows: Any,
        output_names: tuple[str, ...] | None = None,
        probe_rows_are: RowsOrigin | None = None,
    ) -> None:
        self.fn = fn
        self.row_budget = row_budget
        self.one_probability = False
        # model failures get the same context as later calls
        scored = self._scores(probe_rows, probe_rows_are)
        probe = scored.values
        if mode is None and _one_unit_column(probe):
            raise ParameterError(
                f"The function {_name(fn)} returns one number per row, each in [0, 1] on the probe "
                "rows: a probability or a regression output? Say which: mode='classification' reads "
                "it as the probability of class '1' (explained in log-odds), mode='regression' "
                "explains it as it is."
            )
        self.mode = mode or _infer_mode(probe, scored.resolution)
        self.fixed_shape = scored.resolution > 0
        if self.mode == "classification" and _one_unit_column(probe):
            # one probability per row: widened to both classes, as predict_proba gives them
            self.one_probability = True
            probe = _both_classes(probe)
        # several columns all in [0, 1] from a classifier are read as probabilities, and then
        # checked as such (rows must sum to 1); anything else is a score
        self.outputs_probabilities = (
            self.mode == "classification"
            and probe.shape[1] >= 2
            and probe.min() >= 0
            and probe.max() <= 1
        )
        if self.outputs_probabilities:
            _check_probabilities(probe, scored.resolution)
        if output_names is not None and len(output_names) != probe.shape[1]:
            raise ParameterError(
                f"output_names has {len(output_names)} names but the model returns {probe.shape[1]} outputs."
            )
        self.output_names = output_names or (
            tuple(str(k) for k in range(probe.shape[1])) if probe.shape[1] > 1 else ("output",)
        )

    def _call(self, rows: Any) -> Any:
        raw = self.fn(rows)
        if not self.one_probability:
            return raw
        scores = as_float64(raw)
        if scores.values.ndim != 1 and scores.values.shape[1:] != (1,):
            return raw  # the shape check says what is wrong
        return _Scores(_both_classes(scores.values), scores.resolution)

    def description(self) -> str:
        return f"callable:{_name(self.fn)}"


def _name(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def _one_unit_column(out: np.ndarray) -> bool:
    return out.shape[1] == 1 and out.min() >= 0 and out.max() <= 1


def _both_classes(p: np.ndarray) -> np.ndarray:
    """P(class '1') as the two columns P('0'), P('1')."""
    p = p.reshape(len(p))
    return np.column_stack([1.0 - p, p])


def _looks_like_probabilities(out: np.ndarray, resolution: float = 0.0) -> bool:
    return (
        out.shape[1] >= 2
        and out.min() >= 0
        and out.max() <= 1
        and np.allclose(out.sum(axis=1), 1, atol=max(_SUM_TOLERANCE, out.shape[1] * resolution))
    )


def _infer_mode(out: np.ndarray, resolution: float = 0.0) -> Mode:
    return "classification" if _looks_like_probabilities(out, resolution) else "regression"


# ---- torch ---------------------------------------------------------------------------------
TorchOutput = Literal["probabilities", "logits", "regression"]
TORCH_OUTPUTS = ("logits", "probabilities", "regression")


def frame_to_tensor(rows: Any, device: Any, dtype: Any) -> Any:
    """Default table-to-tensor conversion for all-numeric tables.

    Each table row becomes one row of a 2-D tensor, columns in the schema's order,
    numbers converted to ``dtype`` (the module's floating dtype) on ``device`` (the
    module's device); booleans become 0/1 and missing values NaN. Tables with
    category columns are refused: give the explainer a ``to_tensor(rows, device,
    dtype)`` that encodes them the way the model was trained (one-hot, embedding
    indices...).

    Examples
    --------
    >>> import pandas as pd, torch
    >>> frame_to_tensor(pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]}), "cpu", torch.float32)
    tensor([[1.0000, 0.5000],
            [2.0000, 1.5000]])
    """
    import torch

    if hasattr(rows, "dtypes") and hasattr(rows, "to_numpy"):
        import pandas as pd

        bad = [
            f"{c} ({dt})" for c, dt in rows.dtypes.items() if not pd.api.types.is_numeric_dtype(dt)
        ]
        if bad:
            raise DataTypeError(
                f"The default torch input conversion needs numeric columns, got non-numeric {bad}; "
                "pass to_tensor=f(rows, device, dtype) that encodes them as the model expects."
            )
        array = rows.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            array = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataTypeError(
                "The default torch input conversion needs numeric rows, got values it cannot turn into "
                f"numbers ({exc}); pass to_tensor=f(rows, device, dtype) that encodes them."
            ) from exc
    return torch.tensor(array, dtype=dtype, device=device)  # a copy: never a view of the rows


def module_device_dtype(module: Any) -> tuple[Any, Any]:
    """The device and floating dtype the module computes in, read from its tensors.

    The device is that of the first parameter (or buffer when it has no parameters),
    where the first layer usually lives; the dtype that of the first floating one.
    A module with no tensors computes on the CPU in float32.
    """
    import torch

    tensors = [*module.parameters(), *module.buffers()]
    floats = [t for t in tensors if t.is_floating_point()]
    device = tensors[0].device if tensors else torch.device("cpu")
    dtype = floats[0].dtype if floats else torch.float32
    return device, dtype


class TorchBlackBox(BlackBox):
    """A torch ``nn.Module`` scored on its own device under ``torch.inference_mode()``.

    Parameters
    ----------
    module : torch.nn.Module
        Never moved, switched between train and eval, or otherwise modified.
    output : {"logits", "probabilities", "regression"}
        What ``forward`` returns, stated explicitly: ``"logits"`` get a softmax (a
        sigmoid for one column), ``"probabilities"`` are checked, ``"regression"``
        values are used as they are. A binary classifier with one output column is
        reported as two columns ``(1 - p, p)``. When ``forward`` returns a tuple or
        list, its first element is the output.
    row_budget : int
        Rows per call. The explainer scores one query's neighbourhood per call, in
        chunks of a fixed shape, so float32 kernels give a row the same result alone
        or in a batch (``fixed_shape``).
    to_tensor : callable, optional
        ``to_tensor(rows, device, dtype)`` -> the module's input (a tensor, a tuple
        of positional tensors or a dict of keyword tensors) on ``device``. Default
        :func:`frame_to_tensor` (all-numeric tables). ``device`` and ``dtype`` are
        read from the module's parameters or buffers at every call.
    allow_training_mode : bool, default False
        A module (or any submodule) left in training mode is refused, because
        dropout and batch statistics make it random; this lets it through.
    output_names : tuple of str, optional
        Names of the output columns; default ``"0", "1", ...`` (``"prediction"``
        for one regression output).
    probe_rows : rows, optional
        Scored once to learn the number of outputs.
    """

    fixed_shape = True

    def __init__(
        self,
        module: Any,
        *,
        output: TorchOutput | None,
        row_budget: int,
        to_tensor: Callable[[Any, Any, Any], Any] | None = None,
        allow_training_mode: bool = False,
        output_names: tuple[str, ...] | None = None,
        probe_rows: Any = None,
        probe_rows_are: RowsOrigin | None = None,
    ) -> None:
        if output not in TORCH_OUTPUTS:
            raise ParameterError(
                f"A torch model needs torch_output= one of {list(TORCH_OUTPUTS)} (what its forward "
                f"returns), got {output!r}."
            )
        if to_tensor is not None and not callable(to_tensor):
            raise ParameterError(
                f"to_tensor must be a callable f(rows, device, dtype), got {type(to_tensor).__name__}."
            )
        self.module = module
        self.output = output
        self.allow_training_mode = bool(allow_training_mode)
        self._check_eval_mode()
        self.row_budget = row_budget
        self.to_tensor = to_tensor or frame_to_tensor
        self.mode = "regression" if output == "regression" else "classification"
        self.outputs_probabilities = self.mode == "classification"
        if output_names is not None:
            self.output_names = tuple(str(name) for name in output_names)
        if probe_rows is not None:
            width = self.predict(probe_rows, rows_are=probe_rows_are).shape[1]
            if output_names is None:
                self.output_names = (
                    ("prediction",)
                    if self.mode == "regression" and width == 1
                    else tuple(str(k) for k in range(width))
                )

    @property
    def device(self) -> Any:
        """Where the module's parameters live now: inputs are built there."""
        return module_device_dtype(self.module)[0]

    @property
    def dtype(self) -> Any:
        """The module's floating dtype: inputs are built in it."""
        return module_device_dtype(self.module)[1]

    def _check_eval_mode(self) -> None:
        if self.allow_training_mode:
            return
        training = [
            name or "the model itself" for name, m in self.module.named_modules() if m.training
        ]
        if training:
            shown = training[:3] + (["..."] if len(training) > 3 else [])
            raise ModelError(
                f"The torch model is in training mode ({len(training)} module(s) training: {shown}); "
                "dropout and batch-norm would make its outputs random. Call model.eval() first, "
                "or pass allow_training_mode=True."
            )

    def _call(self, rows: Any) -> _Scores:
        import torch

        self._check_eval_mode()
        device, dtype = module_device_dtype(self.module)
        with torch.inference_mode():
            inputs = self.to_tensor(rows, device, dtype)
            _check_input_device(inputs, device)
            out = _first_output(_forward(self.module, inputs))
            resolution = _resolution(out.dtype) if self.output != "logits" else 0.0
            return _Scores(self._normalise(out).cpu().numpy(), resolution)

    def _normalise(self, out: Any) -> Any:
        """Forward's output as float64 ``(n, k)`` probabilities or values."""
        import torch

        out = _first_output(out).detach().to(torch.float64)
        if out.ndim == 1:
            out = out[:, None]
        if out.ndim != 2:
            raise ModelOutputError(
                f"The torch model returned a tensor of shape {tuple(out.shape)}; expected (n,) or (n, k)."
            )
        if self.output == "logits":
            out = torch.sigmoid(out) if out.shape[1] == 1 else torch.softmax(out, dim=1)
        if self.output != "regression" and out.shape[1] == 1:
            out = torch.cat([1 - out, out], dim=1)
        return out

    def _check(self, raw: Any, n: int) -> _Scores:
        try:
            return super()._check(raw, n)
        except ModelOutputError as exc:
            if self.output == "probabilities" and "probabilities" in str(exc):
                raise ModelOutputError(
                    f"{exc} The model was declared with torch_output='probabilities'; if its forward "
                    "returns logits, pass torch_output='logits'."
                ) from exc
            raise

    def description(self) -> str:
        return (
            f"torch:{type(self.module).__module__}.{type(self.module).__qualname__}:{self.output}"
        )


def _first_output(out: Any) -> Any:
    """Forward's output tensor (the first element of a tuple or list)."""
    if isinstance(out, tuple | list) and out:
        out = out[0]
    if not _is_tensor(out):
        raise ModelOutputError(
            f"The torch model's forward returned {type(out).__name__}; expected a tensor "
            "(or a tuple whose first element is one)."
        )
    return out


def _forward(module: Any, inputs: Any) -> Any:
    if isinstance(inputs, dict):
        return module(**inputs)
    if isinstance(inputs, tuple | list):
        return module(*inputs)
    return module(inputs)


def _check_input_device(inputs: Any, device: Any) -> None:
    import torch

    parts = (
        inputs.values()
        if isinstance(inputs, dict)
        else inputs
        if isinstance(inputs, tuple | list)
        else [inputs]
    )
    for part in parts:
        if isinstance(part, torch.Tensor) and part.device != device:
            raise ModelError(
                f"to_tensor returned a tensor on {part.device}, but the torch model lives on {device}; "
                "build the inputs on the device it is given."
            )


# ---- registry --------------------------------------------------------------------------------
def as_blackbox(
    model: Any,
    *,
    mode: Mode | None = None,
    row_budget: int = DEFAULT_ROW_BUDGET,
    probe_rows: Any = None,
    torch_output: TorchOutput | None = None,
    to_tensor: Callable | None = None,
    allow_training_mode: bool = False,
    probe_rows_are: RowsOrigin | None = None,
) -> BlackBox:
    """Wrap a model in the adapter for its framework; ``probe_rows_are`` says where the
    probe rows come from (:class:`RowsOrigin`), for messages naming a row."""
    if mode is not None and mode not in MODES:
        raise UnknownOptionError(f"mode must be one of {list(MODES)} or None, got {mode!r}.")
    if (
        not isinstance(row_budget, int | np.integer)
        or isinstance(row_budget, bool)
        or row_budget < 1
    ):
        raise ParameterError(f"row_budget must be a positive integer, got {row_budget!r}.")
    if not _is_torch_module(model):
        _refuse_torch_options(model, torch_output, to_tensor, allow_training_mode)
    if isinstance(model, BlackBox):
        return model
    if _is_torch_module(model):
        return TorchBlackBox(
            model,
            output=_torch_output_for(mode, torch_output),
            row_budget=int(row_budget),
            to_tensor=to_tensor,
            allow_training_mode=allow_training_mode,
            probe_rows=probe_rows,
            probe_rows_are=probe_rows_are,
        )
    if hasattr(model, "fit") and (hasattr(model, "predict") or hasattr(model, "predict_proba")):
        return SklearnBlackBox(model, mode=mode, row_budget=int(row_budget))
    if callable(model):
        return CallableBlackBox(
            model,
            mode=mode,
            row_budget=int(row_budget),
            probe_rows=probe_rows,
            probe_rows_are=probe_rows_are,
        )
    raise ModelError(
        f"Cannot explain a {type(model).__name__}: expected a scikit-learn estimator, a torch nn.Module "
        "or a callable returning an array."
    )


def _refuse_torch_options(
    model: Any, torch_output: Any, to_tensor: Any, allow_training_mode: bool
) -> None:
    given = [
        name
        for name, value in (
            ("torch_output", torch_output),
            ("to_tensor", to_tensor),
            ("allow_training_mode", allow_training_mode or None),
        )
        if value is not None
    ]
    if given:
        raise ParameterError(
            f"{given} apply to torch nn.Module models only, but the model is a {type(model).__name__}."
        )


def _torch_output_for(mode: Mode | None, torch_output: TorchOutput | None) -> TorchOutput | None:
    """``torch_output`` checked against ``mode``; regression may be implied by ``mode`` alone."""
    if mode == "regression" and torch_output is None:
        return "regression"
    implied = "regression" if torch_output == "regression" else "classification"
    if mode is not None and torch_output in TORCH_OUTPUTS and mode != implied:
        raise ParameterError(
            f"mode={mode!r} contradicts torch_output={torch_output!r} (which means {implied}); "
            "give one that matches, or leave mode out."
        )
    return torch_output


def _is_torch_module(model: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


@dataclass(frozen=True)
class Target:
    """Which output column is explained: a fixed index, or the class predicted at each query."""

    index: int | None
    name: str | None

    @classmethod
    def resolve(cls, target: Any, blackbox: BlackBox) -> Target:
        names = blackbox.output_names
        if target is None:
            if len(names) == 1:
                return cls(0, names[0])
            if len(names) == 2:
                return cls(1, names[1])  # the positive class, as scikit-learn orders classes
            return cls(None, None)  # multiclass: the class predicted at each query
        if (
            isinstance(target, int | np.integer)
            and not isinstance(target, bool)
            and str(target) not in names
        ):
            if not 0 <= target < len(names):
                raise ParameterError(
                    f"target index {target} is out of range for outputs {list(names)}."
                )
            return cls(int(target), names[int(target)])
        if str(target) in names:
            i = names.index(str(target))
            return cls(i, names[i])
        raise ParameterError(f"target {target!r} is not one of the model's outputs {list(names)}.")
