"""Features and their domains: kinds, bounds, categories, immutables, training statistics.

A :class:`FeatureSchema` is learned once from the training data. It turns rows
the model eats (a DataFrame, or an array) into the *values* view the rest of the
library works on — a float array with numbers in their own units and categories
as integer codes (``-1`` for missing) — and back again, with the original
columns and dtypes, so the black box sees exactly what it was trained on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import DataError, DataTypeError, ParameterError

Kind = Literal["numeric", "integer", "categorical", "boolean"]
MISSING_CODE = -1


@dataclass(frozen=True)
class Feature:
    """One input column: its kind, domain and training statistics.

    ``categories`` holds the category values (codes are positions in it);
    ``frequencies`` their training shares, with the share of missing values in
    ``missing_rate``. ``scale`` is the training standard deviation of a number
    (the unit of the standardised offsets surrogates are fitted on).
    ``ordered`` and ``categories_dtype`` describe a pandas ``category`` column, so
    decoded rows carry exactly the dtype the model was trained on.
    """

    name: str
    kind: Kind
    dtype: str
    lower: float | None = None
    upper: float | None = None
    mean: float | None = None
    scale: float | None = None
    categories: tuple[Any, ...] = ()
    frequencies: tuple[float, ...] = ()
    missing_rate: float = 0.0
    allow_missing: bool = False
    immutable: bool = False
    ordered: bool = False
    categories_dtype: str | None = None

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("numeric", "integer")

    @property
    def is_constant(self) -> bool:
        """True when training data never varied: the feature cannot be perturbed meaningfully."""
        if self.is_numeric:
            return not self.scale
        return len(self.categories) + (self.missing_rate > 0) <= 1

    @property
    def frozen(self) -> bool:
        """Samplers never move a frozen feature (immutable, or constant in training)."""
        return self.immutable or self.is_constant

    def label(self, code: float) -> str:
        """Readable label of a category code."""
        if np.isnan(code) or int(code) == MISSING_CODE:
            return "missing"
        return str(self.categories[int(code)])


@dataclass(frozen=True)
class FeatureSchema:
    """The ordered features of a model's input, learned from training data.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [30, 40, 50], "job": ["a", "b", "a"]})
    >>> schema = FeatureSchema.infer(frame)
    >>> [f.kind for f in schema.features]
    ['integer', 'categorical']
    """

    features: tuple[Feature, ...]
    input_kind: Literal["frame", "array"] = "frame"

    # ---- construction -------------------------------------------------------------
    @classmethod
    def infer(
        cls,
        X: Any,
        *,
        feature_names: Sequence[str] | None = None,
        categorical_features: Iterable[str | int] | None = None,
        immutable_features: Iterable[str | int] | None = None,
        bounds: Mapping[str, tuple[float, float]] | None = None,
    ) -> FeatureSchema:
        """Learn a schema from a DataFrame, or from a 2-D array with ``feature_names``."""
        frame, input_kind = _as_training_frame(X, feature_names)
        names = [str(c) for c in frame.columns]
        categorical = _resolve_names(categorical_features, names, "categorical_features")
        immutable = _resolve_names(immutable_features, names, "immutable_features")
        bounds = dict(bounds or {})
        unknown = sorted(set(bounds) - set(names))
        if unknown:
            raise ParameterError(
                f"bounds names features that are not in the training data: {unknown}; "
                f"expected some of {names}."
            )
        features = tuple(
            _infer_feature(
                frame[col],
                name,
                force_categorical=name in categorical,
                immutable=name in immutable,
                bounds=bounds.get(name),
            )
            for col, name in zip(frame.columns, names, strict=True)
        )
        return cls(features=features, input_kind=input_kind)

    # ---- lookups --------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise ParameterError(f"Unknown feature {name!r}; expected one of {list(self.names)}.")

    def fingerprint(self) -> str:
        """SHA-256 of a canonical encoding of every feature's definition and statistics."""
        payload = json.dumps(
            {
                "input_kind": self.input_kind,
                "features": [_canonical(asdict(f)) for f in self.features],
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    # ---- rows <-> values ------------------------------------------------------------
    def to_frame(self, X: Any, *, what: str = "query") -> pd.DataFrame:
        """Rows as a DataFrame in schema order; columns are checked by name."""
        if isinstance(X, pd.Series):
            X = X.to_frame().T
        elif isinstance(X, Mapping):
            X = pd.DataFrame([X])
        elif isinstance(X, pd.DataFrame):
            pass
        elif isinstance(X, np.ndarray | list | tuple):
            arr = np.asarray(X, dtype=object)
            if arr.size == 0 and arr.ndim <= 2:  # an empty list is an empty set of rows
                arr = np.empty((0, len(self)), dtype=object)
            if arr.ndim == 1:
                arr = arr[None, :]
            if arr.ndim != 2 or arr.shape[1] != len(self):
                raise DataError(
                    f"The {what} must have {len(self)} columns ({list(self.names)}), "
                    f"got an array of shape {np.shape(X)}."
                )
            X = pd.DataFrame(arr, columns=list(self.names))
        else:
            raise DataTypeError(
                f"The {what} must be a DataFrame, Series, dict or 2-D array, got {type(X).__name__}."
            )
        columns = [str(c) for c in X.columns]
        missing = [n for n in self.names if n not in columns]
        extra = [c for c in columns if c not in self.names]
        if missing or extra:
            raise DataError(
                f"The {what}'s columns do not match the training data: "
                f"missing {missing}, unexpected {extra}."
            )
        if len(set(columns)) != len(columns):
            raise DataError(f"The {what} has duplicated column names: {columns}.")
        X = X.copy()
        X.columns = columns
        return X[list(self.names)]

    def encode(self, X: Any, *, what: str = "query") -> np.ndarray:
        """Rows -> values (numbers in their units, category codes, -1 for missing)."""
        frame = self.to_frame(X, what=what)
        out = np.empty((len(frame), len(self)), dtype=np.float64)
        for j, feature in enumerate(self.features):
            out[:, j] = _encode_column(frame.iloc[:, j], feature, what)
        return out

    def decode(self, values: np.ndarray) -> pd.DataFrame | np.ndarray:
        """Values -> rows with the training data's columns and dtypes."""
        columns = {f.name: _decode_column(values[:, j], f) for j, f in enumerate(self.features)}
        frame = pd.DataFrame(columns, copy=False)
        if self.input_kind == "array":
            return frame.to_numpy()
        return frame

    def readable(self, values: np.ndarray) -> dict[str, float | str | None]:
        """One row of values as {feature: number or category label}."""
        row: dict[str, float | str | None] = {}
        for feature, v in zip(self.features, values, strict=True):
            if feature.is_numeric:
                row[feature.name] = None if np.isnan(v) else float(v)
            else:
                row[feature.name] = feature.label(v)
        return row

    def with_immutable(self, names: Iterable[str]) -> FeatureSchema:
        names = set(names)
        return replace(
            self,
            features=tuple(
                replace(f, immutable=f.immutable or f.name in names) for f in self.features
            ),
        )


# ---- inference helpers -------------------------------------------------------------------
def _as_training_frame(
    X: Any, feature_names: Sequence[str] | None
) -> tuple[pd.DataFrame, Literal["frame", "array"]]:
    if isinstance(X, pd.DataFrame):
        if feature_names is not None:
            raise ParameterError(
                "feature_names is only for arrays; a DataFrame names its own columns."
            )
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise DataError(f"The training data is empty (shape {X.shape}).")
        if len(set(map(str, X.columns))) != X.shape[1]:
            raise DataError(f"The training data has duplicated column names: {list(X.columns)}.")
        return X, "frame"
    if isinstance(X, np.ndarray):
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
            raise DataError(
                f"The training data must be a non-empty 2-D array, got shape {X.shape}."
            )
        names = (
            list(feature_names)
            if feature_names is not None
            else [f"x{j}" for j in range(X.shape[1])]
        )
        if len(names) != X.shape[1]:
            raise ParameterError(
                f"feature_names has {len(names)} names but the training array has {X.shape[1]} columns."
            )
        frame = pd.DataFrame({n: X[:, j] for j, n in enumerate(names)})
        return frame, "array"
    raise DataTypeError(
        f"The training data must be a pandas DataFrame or a 2-D numpy array, got {type(X).__name__}."
    )


def _resolve_names(spec: Iterable[str | int] | None, names: list[str], argument: str) -> set[str]:
    if spec is None:
        return set()
    if isinstance(spec, str):
        spec = [spec]
    resolved = set()
    for item in spec:
        if isinstance(item, int | np.integer) and not isinstance(item, bool):
            if not 0 <= item < len(names):
                raise ParameterError(
                    f"{argument} holds column index {item}, but there are {len(names)} columns."
                )
            resolved.add(names[item])
        elif str(item) in names:
            resolved.add(str(item))
        else:
            raise ParameterError(
                f"{argument} names {item!r}, which is not a column; expected one of {names}."
            )
    return resolved


def _is_numeric_dtype(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def _infer_feature(
    series: pd.Series,
    name: str,
    *,
    force_categorical: bool,
    immutable: bool,
    bounds: tuple[float, float] | None,
) -> Feature:
    missing = series.isna().to_numpy()
    if missing.all():
        raise DataError(
            f"Feature {name!r} is missing in every training row; there is nothing to learn its "
            "domain from. Drop the column (and from the model's input) or impute it."
        )
    common = dict(
        name=name,
        dtype=str(series.dtype),
        missing_rate=float(missing.mean()),
        allow_missing=bool(missing.any()),
        immutable=immutable,
    )
    if pd.api.types.is_bool_dtype(series.dtype) and not force_categorical:
        return _categorical_feature(series, "boolean", common, bounds)
    if force_categorical or not _is_numeric_dtype(series):
        if not force_categorical and series.dtype == object:
            if series.dropna().map(lambda v: isinstance(v, bool | np.bool_)).all():
                # booleans with missing values live in object columns: still booleans, not 0/1
                return _categorical_feature(series, "boolean", common, bounds)
            numeric = pd.to_numeric(series.dropna(), errors="coerce")
            if numeric.notna().all() and not series.dropna().map(type).eq(str).any():
                return _numeric_feature(numeric.astype(float), common, bounds, series)
        return _categorical_feature(series, "categorical", common, bounds)
    return _numeric_feature(series, common, bounds, series)


def _numeric_feature(values: pd.Series, common: dict, bounds, original: pd.Series) -> Feature:
    name = common["name"]
    data = values.dropna().to_numpy(dtype=np.float64)
    if not np.isfinite(data).all():
        raise DataError(
            f"Feature {name!r} holds infinite values in the training data; expected finite numbers."
        )
    integer = pd.api.types.is_integer_dtype(original.dtype) or (
        original.dtype == object and np.all(data == np.round(data))
    )
    lower, upper = float(data.min()), float(data.max())
    if bounds is not None:
        lower, upper = _check_bounds(name, bounds, lower, upper)
        _check_dtype_range(name, original.dtype, lower, upper)
    return Feature(
        kind="integer" if integer else "numeric",
        lower=lower,
        upper=upper,
        mean=float(data.mean()),
        scale=float(data.std()),
        **common,
    )


def _check_dtype_range(name: str, dtype: Any, lower: float, upper: float) -> None:
    """Bounds of an integer column must fit its dtype, or decoded samples would wrap around."""
    try:
        info = np.iinfo(getattr(dtype, "numpy_dtype", dtype))
    except (TypeError, ValueError):  # not an integer dtype
        return
    if lower < info.min or upper > info.max:
        raise ParameterError(
            f"bounds[{name!r}] = ({lower}, {upper}) exceed what the column's dtype {dtype} holds "
            f"({info.min} to {info.max}); widen the dtype or narrow the bounds."
        )


def _check_bounds(name: str, bounds, lower: float, upper: float) -> tuple[float, float]:
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"bounds[{name!r}] must be a pair of numbers (low, high), got {bounds!r}."
        ) from exc
    if not lo <= hi:
        raise ParameterError(f"bounds[{name!r}] must have low <= high, got ({lo}, {hi}).")
    if lo > lower or hi < upper:
        raise ParameterError(
            f"bounds[{name!r}] = ({lo}, {hi}) excludes training values (seen {lower} to {upper}); "
            "bounds may only widen the observed range."
        )
    return lo, hi


def _categorical_feature(series: pd.Series, kind: Kind, common: dict, bounds) -> Feature:
    name = common["name"]
    if bounds is not None:
        raise ParameterError(
            f"bounds[{name!r}] given, but {name!r} is {kind}; bounds apply to numbers only."
        )
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = tuple(_plain(c) for c in series.dtype.categories)
        common = dict(
            common,
            ordered=bool(series.dtype.ordered),
            categories_dtype=str(series.dtype.categories.dtype),
        )
    else:
        seen = {_plain(v) for v in series.dropna().unique()}
        categories = tuple(sorted(seen, key=lambda v: (str(type(v)), v)))
    counts = series.value_counts(dropna=True)
    n = len(series)
    frequencies = tuple(float(counts.get(c, 0)) / n for c in categories)
    return Feature(kind=kind, categories=categories, frequencies=frequencies, **common)


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, so categories compare, hash and serialise simply."""
    return value.item() if isinstance(value, np.generic) else value


def _canonical(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _canonical(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if isinstance(obj, float):
        return float(obj).hex()
    if isinstance(obj, bool | int | str) or obj is None:
        return obj
    return repr(obj)


# ---- column codecs ----------------------------------------------------------------------
def _encode_column(series: pd.Series, feature: Feature, what: str) -> np.ndarray:
    missing = series.isna().to_numpy()
    if missing.any() and not feature.allow_missing:
        first = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"Feature {feature.name!r} is missing in {what} row {first}, but it is never missing in the "
            "training data; expected a value."
        )
    if feature.is_numeric:
        return _encode_numeric(series, feature, what)
    lookup = {c: i for i, c in enumerate(feature.categories)}
    codes = np.full(len(series), MISSING_CODE, dtype=np.float64)
    for i, value in enumerate(series.to_numpy(dtype=object)):
        if missing[i]:
            continue
        code = lookup.get(_plain(value))
        if code is None:
            shown = list(feature.categories[:8]) + (["..."] if len(feature.categories) > 8 else [])
            raise DataError(
                f"Feature {feature.name!r} has the category {value!r} in {what} row {i}, which never "
                f"occurs in the training data; expected one of {shown}."
            )
        codes[i] = code
    return codes


def _encode_numeric(series: pd.Series, feature: Feature, what: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype):
        raise DataError(f"Feature {feature.name!r} must be numeric, got booleans in the {what}.")
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(numbers) & ~series.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"Feature {feature.name!r} must be numeric, got {series.iloc[i]!r} in {what} row {i} "
            f"(column dtype {series.dtype})."
        )
    if np.isinf(numbers).any():
        i = int(np.flatnonzero(np.isinf(numbers))[0])
        raise DataError(
            f"Feature {feature.name!r} is infinite in {what} row {i}; expected a finite number."
        )
    return numbers


def _decode_column(codes_or_numbers: np.ndarray, feature: Feature) -> Any:
    if feature.is_numeric:
        return _decode_numeric(codes_or_numbers, feature)
    return _decode_categorical(codes_or_numbers, feature)


def _decode_numeric(numbers: np.ndarray, feature: Feature) -> Any:
    dtype = feature.dtype
    missing = np.isnan(numbers)
    if dtype == "object":  # numbers the training frame held as Python objects stay objects
        out = np.empty(len(numbers), dtype=object)
        out[~missing] = (
            numbers[~missing].astype(np.int64) if feature.kind == "integer" else numbers[~missing]
        )
        out[missing] = None
        return pd.Series(out, dtype=object, copy=False)
    if isinstance(pd.api.types.pandas_dtype(dtype), pd.api.extensions.ExtensionDtype):
        return pd.Series(numbers, copy=False).astype(dtype)  # nullable Int64 / Float64: NaN -> <NA>
    if missing.any() and np.issubdtype(np.dtype(dtype), np.integer):
        raise DataError(
            f"Feature {feature.name!r} has dtype {dtype}, which cannot hold missing values, "
            "but a row to decode has one."
        )
    return numbers.astype(dtype)


def _decode_categorical(codes_or_numbers: np.ndarray, feature: Feature) -> Any:
    dtype = feature.dtype
    codes = codes_or_numbers.astype(np.int64)
    if dtype == "category":
        categories = pd.Index(list(feature.categories), dtype=feature.categories_dtype)
        return pd.Categorical.from_codes(
            codes, dtype=pd.CategoricalDtype(categories, ordered=feature.ordered)
        )
    labels = np.empty(len(codes), dtype=object)
    table = np.array(list(feature.categories) + [None], dtype=object)
    labels[:] = table[codes]  # code -1 picks the trailing None: missing
    if dtype == "bool" and not (codes == MISSING_CODE).any():
        return labels.astype(bool)
    if dtype in ("object", "bool"):
        return pd.Series(labels, dtype=object, copy=False)  # not inferred as str (pandas >= 3)
    return pd.array(labels, dtype=dtype)
