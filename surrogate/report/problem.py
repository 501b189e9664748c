"""The reviewed problem: data, the train/test split, and the model (trained, or loaded safely).

Loading a model file runs code from it, so it is guarded:

* ``.joblib`` files are pickles; unpickling executes arbitrary code, so they are
  refused unless trust is granted;
* ``.skops`` files are read with :func:`skops.io.load`, which only builds types it
  is told to trust; the file's untrusted types (:func:`skops.io.get_untrusted_types`)
  are listed and refused unless trust is granted;
* a ``torch.export`` program (``.pt2``) is unpickled by ``torch.export.load``, so it
  needs trust too;
* an ONNX file (``.onnx``) is a graph of standard operators and their weights, run by
  ONNX Runtime's own kernels: loading it runs no code from the file, so it needs no
  trust (:mod:`surrogate.onnx_model`);
* a torch state dict (``.pt`` / ``.pth``) is read with ``torch.load(weights_only=True)``,
  which builds tensors only, into the module that ``--model-factory module:function``
  returns (code the reviewer names on the command line; a review file cannot name it, and
  the module is not looked up in the current folder unless it is on PYTHONPATH: see
  :mod:`.factory`).

Trust is granted on the command line only (see :mod:`.config`): ``--trust-model-file``,
or ``--trust-model-sha256 <digest>``, which trusts the file only if its SHA-256 is that
digest. The file is read once; its digest is taken and the model loaded from the same
bytes, so the file checked is the file loaded.

The model only ever sees copies of the review's data (:func:`score`): a model that
edits its input in place cannot change the applicants the review shows.
"""

from __future__ import annotations

import hashlib
import io
import math
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError, ModelError, ParameterError, require
from .config import ReviewConfig
from .tables import MIN_ROWS, file_sha256, read_table

#: labels with more distinct values than this are not stratified on when splitting
_MAX_STRATA = 50


@dataclass(frozen=True)
class Problem:
    """Data split for the review, the model, and where both came from."""

    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    model: Any
    data_source: str
    data_sha256: str
    data_file_sha256: str | None
    model_source: str
    model_sha256: str
    split: dict[str, Any]
    #: "classification" (labels are class names) or "regression" (labels are numbers)
    task: str = "classification"


def load_problem(config: ReviewConfig) -> Problem:
    """Load the data, split it as configured, and train or load the model.

    The task is the configuration's, else the loaded model's (its adapter's mode), else
    classification; a regression's labels are numbers.
    """
    from . import heldout

    X, y, source, file_sha = load_data(config)
    model = model_sha = None
    if config.model is not None:
        model, model_sha = load_model_file(
            config.model,
            trust=config.trust_model_file,
            sha256=config.trust_model_sha256,
            factory=config.model_factory,
        )
    task = review_task(config, model, X)
    if task == "regression":
        y = numeric_target(y, config)
    given = heldout.select(config, X, y)  # held-out rows given by a file or a column, if any
    X_train, X_test, y_train, y_test, split = given or split_data(X, y, config)
    split = {**split, "training_overlap": heldout.training_overlap(X_train, X_test)}
    if task == "regression":  # held-out rows from a file bring their own labels
        y_test = numeric_target(y_test, config)
    check_requested_rows(config, len(X_test))  # before a model is trained for nothing
    if model is None:
        model = train_model(X_train, y_train, config)
        model_source = f"trained here: demo pipeline '{config.train}' on the training split"
        model_sha = hashlib.sha256(pickle.dumps(model, protocol=5)).hexdigest()
    else:
        model_source = f"loaded from {config.model}" + (
            f"; unpickling trusted by {config.trusted_by}" if config.trusted_by else ""
        )
    return Problem(
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
        model=model,
        data_source=source,
        data_sha256=frame_sha256(X, y),
        data_file_sha256=file_sha,
        model_source=model_source,
        model_sha256=str(model_sha),
        split=split,
        task=task,
    )


def check_requested_rows(config: ReviewConfig, n_test: int) -> None:
    """Refuse ``--rows`` positions that the held-out split does not have."""
    if config.select != "rows":
        return
    outside = [r for r in config.rows if not 0 <= r < n_test]
    if outside:
        raise ParameterError(
            f"--rows {outside} are outside the held-out split (positions 0 to {n_test - 1})."
        )


def review_task(config: ReviewConfig, model: Any, X: pd.DataFrame) -> str:
    """The review's task: the configuration's, checked against a loaded model's mode."""
    if model is None:
        return config.task or "classification"
    from ..blackbox import as_blackbox

    torch_output: Any = config.torch_output
    adapter = as_blackbox(model, probe_rows=X.head(8), torch_output=torch_output)
    if config.task is not None and config.task != adapter.mode:
        kind = "a regressor" if adapter.mode == "regression" else "a classifier"
        raise ParameterError(
            f"--task {config.task} contradicts the model file {Path(str(config.model)).name!r}, "
            f"which is {kind} ({adapter.description()}, mode {adapter.mode!r}); leave --task "
            "out or give a model of that task."
        )
    return adapter.mode


#: largest magnitude of a regression's target or prediction: squares and sums of squares of
#: such numbers (R^2, RMSE, a tree's impurity) stay finite in float64 (largest 1.8e308)
MAX_REGRESSION_MAGNITUDE = 1e100


def numeric_target(y: pd.Series, config: ReviewConfig) -> pd.Series:
    """A regression's labels as numbers; a target with other values, or with numbers too
    large to square (:data:`MAX_REGRESSION_MAGNITUDE`), is refused, naming them."""
    import numpy as np

    values = pd.to_numeric(y, errors="coerce").astype(float)
    bad = y[~np.isfinite(values.to_numpy())]
    if len(bad):
        shown = sorted(map(str, bad.unique()))[:3]
        raise DataError(
            f"A regression review needs a numeric target, but {y.name or config.target!r} of "
            f"{config.data_name!r} holds values like {shown}; use --task classification for class "
            "labels."
        )
    check_magnitude(values.to_numpy(), f"The target {y.name or config.target!r}")
    return values.rename(y.name)


def check_magnitude(values: Any, what: str) -> None:
    """Refuse numbers beyond :data:`MAX_REGRESSION_MAGNITUDE`, naming the first."""
    import numpy as np

    large = np.flatnonzero(np.abs(np.asarray(values, dtype=float)) > MAX_REGRESSION_MAGNITUDE)
    if len(large):
        first = int(large[0])
        raise DataError(
            f"{what} holds {len(large)} values beyond \u00b1{MAX_REGRESSION_MAGNITUDE:g} (the "
            f"first, in row {first}, is {float(np.asarray(values)[first]):g}): their squares "
            "overflow the review's figures. Rescale it (e.g. to thousands or millions)."
        )


# ---- data ------------------------------------------------------------------------------------
def load_data(config: ReviewConfig) -> tuple[pd.DataFrame, pd.Series, str, str | None]:
    """Features, labels, a description of the source and the file's SHA-256 (None when bundled)."""
    from .. import datasets

    if config.data == "german-credit":
        X, y = datasets.load_german_credit()
        return X, y.astype(str), "Statlog (German Credit Data), UCI, CC BY 4.0 (bundled)", None
    if config.data == "adult":
        X, y = datasets.load_adult()
        return X, y.astype(str), "Adult (Census Income), UCI, CC BY 4.0 (bundled)", None
    path = Path(config.data)
    if not path.is_file():
        raise ParameterError(f"--data file {str(path)!r} does not exist.")
    frame = read_table(path)
    return (*split_target(frame, config.target), f"file {path}", file_sha256(path))


def split_target(frame: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, pd.Series]:
    if target not in frame.columns:
        raise DataError(
            f"--target {target!r} is not a column of the data; columns are {list(map(str, frame.columns))}."
        )
    y = frame[target]
    if y.isna().any():
        raise DataError(
            f"The target column {target!r} has {int(y.isna().sum())} missing values; drop or fill them first."
        )
    return frame.drop(columns=[target]), y.astype(str)


def split_data(X: pd.DataFrame, y: pd.Series, config: ReviewConfig):
    """A seeded random split, stratified on the label when it is a class label."""
    from sklearn.model_selection import train_test_split

    if len(X) < MIN_ROWS:
        raise DataError(
            f"A review needs at least {MIN_ROWS} labelled rows to split into training and held-out "
            f"data; the data has {len(X)}."
        )
    counts = y.value_counts()
    n_test = int(math.ceil(config.test_share * len(X)))
    # stratify only when every class can appear on both sides of the split
    fits_both = counts.min() >= 2 and len(counts) <= min(n_test, len(X) - n_test)
    is_label = not pd.api.types.is_numeric_dtype(y)  # a regression's numbers are not strata
    stratify = y if is_label and len(counts) <= _MAX_STRATA and fits_both else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=config.test_share, random_state=config.seed, stratify=stratify
    )
    split = {
        "kind": "random",
        "method": "sklearn.model_selection.train_test_split, "
        + ("stratified on the label" if stratify is not None else "not stratified"),
        "test_share": config.test_share,
        "seed": config.seed,
        "n_train": len(X_train),
        "n_test": len(X_test),
    }
    return X_train, X_test, y_train, y_test, split


def frame_sha256(X: pd.DataFrame, y: pd.Series) -> str:
    """SHA-256 of the data as loaded (features and label written as CSV)."""
    text = X.assign(__label__=y.to_numpy()).to_csv(index=True, lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---- model -----------------------------------------------------------------------------------
def train_model(X_train: pd.DataFrame, y_train: pd.Series, config: ReviewConfig) -> Any:
    """The demo pipeline trained on the training split (the regression counterpart for a
    regression review); its failures are said as ModelError."""
    task = config.task or "classification"  # known when a model is trained here
    if task == "regression":
        return _train(X_train, y_train, config, task)
    classes = sorted(map(str, y_train.dropna().unique()))
    if len(classes) < 2:
        raise DataError(
            f"The label {y_train.name!r} has a single class in the training split ({classes}); "
            "a classifier needs at least two. Use more data or another split."
        )
    return _train(X_train, y_train, config, task)


def _train(X_train: pd.DataFrame, y_train: pd.Series, config: ReviewConfig, task: str) -> Any:
    from ..demo import german_credit_model

    try:
        return german_credit_model(
            X_train, y_train, random_state=config.seed, trainer=config.train, task=task
        )
    except (ValueError, TypeError) as exc:
        raise ModelError(
            f"Training the demo '{config.train}' model on the training split "
            f"({len(X_train)} rows) failed: {exc}"
        ) from exc


def load_model(
    path: str | Path, *, trust: bool, factory: str | None = None, sha256: str | None = None
) -> Any:
    """Load a model file, refusing what is not trusted (module doc)."""
    return load_model_file(path, trust=trust, factory=factory, sha256=sha256)[0]


def load_model_file(
    path: str | Path, *, trust: bool, factory: str | None = None, sha256: str | None = None
) -> tuple[Any, str]:
    """The model in a file and the file's SHA-256, read once (module doc).

    ``trust`` grants unpickling whatever the file holds; ``sha256`` grants it only if
    the file's digest is that one (a different file is refused before anything is
    unpickled).
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"--model file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    loaders = {
        ".joblib": _load_joblib,
        ".skops": _load_skops,
        ".pt2": _load_exported,
        ".onnx": _load_onnx,
    }
    if suffix not in (*loaders, ".pt", ".pth"):
        raise ParameterError(
            f"--model must be a .skops, .joblib, .pt2 (torch.export), .pt/.pth (state dict) or "
            f".onnx file, got {path.name!r}."
        )
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256.lower():
        raise ModelError(
            f"Refusing to load {path.name!r}: --trust-model-sha256 trusts the file whose SHA-256 is "
            f"{sha256.lower()}, but this file's is {digest}. It is not the file that was trusted."
        )
    if suffix in loaders:
        granted = trust or sha256 is not None
        return loaders[suffix](path, data, _Grant(granted, digest)), digest
    return _load_state_dict(path, data, factory), digest


@dataclass(frozen=True)
class _Grant:
    """Whether unpickling is trusted, and the file's digest (to say how to pin it)."""

    trusted: bool
    sha256: str

    def how(self) -> str:
        return (
            f"Trust is granted on the command line only: --trust-model-sha256 {self.sha256} "
            "trusts this exact file (--trust-model-file any file at this path); a review file "
            "cannot grant it."
        )


def _load_exported(path: Path, data: bytes, grant: _Grant) -> Any:
    if not grant.trusted:
        raise ModelError(
            f"Refusing to load {path.name!r}: torch.export.load unpickles parts of the file, which "
            "can run code. Load it only if you trust its origin, or save a state dict and give "
            f"--model-factory. {grant.how()}"
        )
    torch = require("torch", "torch")
    return torch.export.load(io.BytesIO(data)).module()


def _load_onnx(path: Path, data: bytes, grant: _Grant) -> Any:
    """An ONNX graph: data, not code, so no trust is asked for (module doc)."""
    from ..onnx_model import OnnxBlackBox

    return OnnxBlackBox(data, name=path.name)


def _load_state_dict(path: Path, data: bytes, factory: str | None) -> Any:
    from .factory import import_factory

    build = import_factory(factory, model=repr(path.name))
    torch = require("torch", "torch")
    module = build()
    module.load_state_dict(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
    return module.eval()


def _load_joblib(path: Path, data: bytes, grant: _Grant) -> Any:
    if not grant.trusted:
        raise ModelError(
            f"Refusing to load {path.name!r}: a .joblib file is a pickle, and unpickling runs any "
            "code it contains. Load it only if you trust its origin, or save the model with skops "
            f"(skops.io.dump) and pass the .skops file. {grant.how()}"
        )
    joblib = require("joblib", "report")
    try:
        return joblib.load(io.BytesIO(data))
    except ModuleNotFoundError as exc:
        raise ModelError(
            f"{path.name!r} needs the module {exc.name!r}, which cannot be imported here: run the "
            "review where that module is importable (e.g. set PYTHONPATH to its folder)."
        ) from exc


def _load_skops(path: Path, data: bytes, grant: _Grant) -> Any:
    sio = require("skops.io", "report")
    untrusted = sorted(sio.get_untrusted_types(data=data))
    if untrusted and not grant.trusted:
        raise ModelError(
            f"Refusing to load {path.name!r}: it contains types that skops does not trust by "
            f"default: {untrusted}. Inspect them before trusting the file. {grant.how()}"
        )
    return sio.load(io.BytesIO(data), trusted=untrusted)


# ---- the model only sees copies ---------------------------------------------------------------
def score(explainer: Any, rows: pd.DataFrame) -> Any:
    """The black box's outputs on a copy of ``rows``: the review's frames never reach the model."""
    return explainer.blackbox.predict(rows.copy(deep=True))
