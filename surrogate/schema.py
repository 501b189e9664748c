"""Features and their domains: kinds, bounds, categories, immutables, training statistics.

A :class:`FeatureSchema` is learned once from the training data. It turns rows
the model eats (a DataFrame, or an array) into the *values* view the rest of the
library works on — a float array with numbers in their own units and categories
as integer codes (``-1`` for missing) — and back again, with the original
columns and dtypes, so the black box sees exactly what it was trained on.

Point masses: a number whose training values pile up on one value (Adult's
``capital_gain`` is 0 for 92% of people) is not described by its mean and
standard deviation alone. The schema records such values with their training
shares (``Feature.point_masses``), so that samplers can keep them (see
:mod:`surrogate.sampling.tabular`). A numeric or integer feature has a point mass
at its most frequent value when

* that value holds at least ``point_mass_share`` of the training rows where the
  feature is present (default 5%), and at least two rows;
* it holds at least ``POINT_MASS_DOMINANCE`` (2) times as many rows as any other
  value: a spike that stands out, not the mode of a smooth or regularly clustered
  distribution (German credit's most frequent age, 27, holds 5.1% of applicants
  and 26 holds 5.0%; its loan durations cluster on 12, 18, 24 and 36 months, with
  24 and 12 at 18% each, which a perturbation of a few months already lands on);
* for integers, the feature has more than ``1 / point_mass_share`` distinct values
  (20 by default). An integer with fewer levels is a set of levels, each of which
  may hold the share (German credit's ``installment_rate`` 1-4, ``people_liable``
  1-2): a sampler's rounding already lands on each of them, there is no continuum
  for a point to stand out from.

So a feature has at most one point mass. On Adult they are ``capital_gain`` = 0
(92% of people), ``capital_loss`` = 0 (95%) and ``hours_per_week`` = 40 (47%, five
times the next value, 50 hours); German credit has none.

Dates and timestamps: a ``datetime64`` column (naive, or in one timezone), or a column
of Python ``datetime``/``date`` objects, is a feature of kind ``"datetime"``. Its values
are numbers: days since ``DATETIME_ORIGIN`` (1970-01-01 00:00), read on the column's
own wall clock (in its timezone), so a date at midnight is a whole number of days
even across daylight-saving changes. The origin is fixed rather than learned (not the
training minimum), so the same date is the same number in every schema and an
explanation's slope is "per day" whatever the data. ``Feature.origin``, ``unit``
(``"day"``) and ``timezone`` record this in the schema and its fingerprint. Bounds,
mean, standard deviation (in days), missing values (``NaT``) and point masses are
learned as for numbers. ``Feature.resolution`` is the coarsest step every training
value sits on: ``"day"`` (all at midnight), ``"s"``, ``"ms"``, ``"us"`` or ``"ns"``. A
column of dates (resolution ``"day"``, ``Feature.dates_only``) is sampled in whole
days, as integers are sampled in whole numbers, because the model never saw a time of
day there. Otherwise samples are continuous and decoded rows are rounded to the
resolution (a column of whole seconds gets whole seconds): float days hold about a
microsecond, so finer steps would only add rounding noise to rows the model gets.
Rows decoded for the model get the column's own dtype back (``datetime64`` with its
unit and timezone); a wall-clock time that a daylight-saving change skips is moved
forward, and one it repeats is read as standard time. A query given as ISO text
(``"2021-03-01"``) is read as a date; a query in another timezone is converted to the
column's. Explanations show such values as ISO dates (:meth:`Feature.readable`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import DataError, DataTypeError, ParameterError
from .frames import as_pandas

Kind = Literal["numeric", "integer", "datetime", "categorical", "boolean"]
MISSING_CODE = -1
#: a datetime feature's values are days since this wall-clock time, in the column's timezone
DATETIME_ORIGIN = "1970-01-01T00:00:00"
#: the unit of a datetime feature's values
DATETIME_UNIT = "day"
#: fields that only datetime features carry (left out of other features' fingerprints)
_DATETIME_FIELDS = ("origin", "unit", "timezone", "resolution")
#: steps a datetime column's values may sit on, coarsest first
RESOLUTIONS = ("day", "s", "ms", "us", "ns")
_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
#: the largest float below 2**63: datetime64 ticks past it would wrap around
_LARGEST_TICK = float(np.nextafter(2.0**63, 0.0))
#: ISO 8601 dates and timestamps, as text: 2021-03-01, 2021-03-01T10:30:00.5+01:00
ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)
#: default least training share of a value that counts as a point mass (see module doc)
DEFAULT_POINT_MASS_SHARE = 0.05
#: a point mass holds at least this many times the rows of any other value
POINT_MASS_DOMINANCE = 2.0
#: a point mass holds at least this many training rows
MIN_POINT_MASS_ROWS = 2


@dataclass(frozen=True)
class Feature:
    """One input column: its kind, domain and training statistics.

    ``categories`` holds the category values (codes are positions in it);
    ``frequencies`` their training shares, with the share of missing values in
    ``missing_rate``. ``scale`` is the training standard deviation of a number
    (the unit of the standardised offsets surrogates are fitted on).
    ``ordered`` and ``categories_dtype`` describe a pandas ``category`` column, so
    decoded rows carry exactly the dtype the model was trained on.
    ``point_masses`` holds ``(value, share)`` pairs of a number, in increasing value:
    values that hold a share of the training rows where the number is present (see
    the module doc; ``FeatureSchema.infer`` learns at most one per feature, samplers
    keep any number of them).
    A ``"datetime"`` feature's numbers are days (``unit``) since ``origin`` on the
    wall clock of ``timezone`` (None: naive); ``resolution`` is the coarsest step its
    training values sit on (``"day"``: dates, sampled in whole days; see the module doc).
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
    point_masses: tuple[tuple[float, float], ...] = ()
    origin: str | None = None
    unit: str | None = None
    timezone: str | None = None
    resolution: str | None = None

    @property
    def is_numeric(self) -> bool:
        """Numbers in the values view: numeric, integer and datetime (days) features."""
        return self.kind in ("numeric", "integer", "datetime")

    @property
    def is_datetime(self) -> bool:
        return self.kind == "datetime"

    @property
    def dates_only(self) -> bool:
        """A datetime feature whose training values are all at midnight."""
        return self.kind == "datetime" and self.resolution == "day"

    @property
    def whole(self) -> bool:
        """Samplers draw whole numbers: integers, and dates without a time of day."""
        return self.kind == "integer" or self.dates_only

    def readable(self, value: float) -> float | str | None:
        """A value as explanations show it: a number, an ISO date, a category label."""
        if self.kind == "datetime":
            return None if np.isnan(value) else format_date(self, value)
        if self.is_numeric:
            return None if np.isnan(value) else float(value)
        return self.label(value)

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

    @property
    def points(self) -> tuple[float, ...]:
        """The point-mass values, in increasing order."""
        return tuple(v for v, _ in self.point_masses)

    def point_flag_names(self) -> tuple[str, ...]:
        """Names of the "is at the point" states, e.g. ``"capital_gain is 0"``."""
        return tuple(point_flag_label(self, v) for v in self.points)


def point_flag_name(feature: str, value: float) -> str:
    """The name of the state "``feature`` is at the point ``value``": ``"capital_gain is 0"``."""
    return f"{feature} is {format_number(value)}"


def point_flag_label(feature: Feature, value: float) -> str:
    """:func:`point_flag_name` with the value as ``feature`` shows it (a date for dates)."""
    return f"{feature.name} is {format_value(feature, value)}"


def format_number(value: float) -> str:
    """A number as the data shows it: ``0``, ``40``, ``0.5``."""
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def format_value(feature: Feature, value: float) -> str:
    """A value of a number as the data shows it: ``40``, ``0.5``, or an ISO date for dates."""
    return format_date(feature, value) if feature.is_datetime else format_number(value)


def format_date(feature: Feature, days: float) -> str:
    """Days since the origin of a datetime ``feature`` as ISO text, in the column's unit and
    timezone: ``2021-03-01`` for a midnight of a column of dates, ``2021-03-01T10:30:00+01:00``
    otherwise."""
    stamp = pd.Timestamp(_wall_clock(np.array([float(days)]), feature)[0])
    if feature.dates_only and stamp == stamp.normalize():
        return stamp.date().isoformat()
    if feature.timezone is not None:
        stamp = _localize(pd.DatetimeIndex([stamp]), feature.timezone)[0]
    return stamp.isoformat()


def days_since_origin(value: Any) -> float:
    """An ISO date or timestamp (text, ``datetime``, ``Timestamp``) as days since
    ``DATETIME_ORIGIN`` on its own wall clock: how a datetime feature holds it
    (for readers that hold explanations but no schema, e.g. reason codes)."""
    stamp = pd.Timestamp(value)
    if stamp.tz is not None:
        stamp = stamp.tz_localize(None)
    return float((stamp - pd.Timestamp(DATETIME_ORIGIN)) / pd.Timedelta(days=1))


def column_days(column: pd.Series) -> np.ndarray:
    """A datetime column as days since ``DATETIME_ORIGIN`` on its own wall clock (NaT -> NaN),
    as a datetime feature holds it (for readers of raw frames, e.g. subgroup tables)."""
    return _days(column.dt.tz_localize(None) if column.dt.tz is not None else column)


def number_value(value: float | str) -> float:
    """A number feature's value as it is held: a date (ISO text, as explanations show it)
    in days since ``DATETIME_ORIGIN``, anything else as a float."""
    return days_since_origin(value) if isinstance(value, str) else float(value)


def point_flag_feature(name: str, feature_names: Iterable[str]) -> str | None:
    """The feature ``name`` is a point-mass state of, by the shape of the name alone
    (``"capital_gain is 0"`` -> ``"capital_gain"``); None when it is not such a name.

    For readers that hold names but no schema (reason codes read explanations).
    """
    for feature in sorted(feature_names, key=len, reverse=True):
        prefix = f"{feature} is "
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            if ISO_DATE.match(rest):  # a date's point: "opened is 1900-01-01"
                return feature
            try:
                if format_number(float(rest)) == rest:
                    return feature
            except ValueError:
                continue
    return None


def point_flag_owner(name: str, features: Iterable[Feature]) -> Feature | None:
    """The feature whose point-mass state ``name`` is (``"capital_gain is 0"`` -> capital_gain)."""
    for feature in features:
        if name in feature.point_flag_names():
            return feature
    return None


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
    #: the training frame's own column labels when some are not strings (``0``, ``1``...),
    #: so the model gets its columns back as it knew them; empty when all are the names
    column_labels: tuple[Any, ...] = ()

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
        point_mass_share: float | None = DEFAULT_POINT_MASS_SHARE,
    ) -> FeatureSchema:
        """Learn a schema from a DataFrame, or from a 2-D array with ``feature_names``.

        ``point_mass_share`` is the least training share of a value of a number that
        makes it a point mass (see the module doc), in (0, 1]; None learns none.
        """
        min_share = _check_point_mass_share(point_mass_share)
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
                point_mass_share=min_share,
            )
            for col, name in zip(frame.columns, names, strict=True)
        )
        labels = tuple(c.item() if isinstance(c, np.generic) else c for c in frame.columns)
        own_labels = () if all(isinstance(c, str) for c in labels) else labels
        return cls(features=features, input_kind=input_kind, column_labels=own_labels)

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
        """SHA-256 of a canonical encoding of every feature's definition and statistics.

        A feature without point masses is encoded without the (empty) field, so schemas
        that learn none keep the fingerprints they had before point masses were learned.
        """
        document: dict[str, Any] = {
            "input_kind": self.input_kind,
            "features": [_canonical(_definition(f)) for f in self.features],
        }
        if self.column_labels:  # left out when the labels are the names, as before
            document["column_labels"] = [repr(c) for c in self.column_labels]
        payload = json.dumps(document, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def point_masses(self) -> dict[str, tuple[tuple[float, float], ...]]:
        """``{feature: ((value, share), ...)}`` of the features that have point masses."""
        return {f.name: f.point_masses for f in self.features if f.point_masses}

    # ---- rows <-> values ------------------------------------------------------------
    def to_frame(self, X: Any, *, what: str = "query") -> pd.DataFrame:
        """Rows as a DataFrame in schema order; columns are checked by name."""
        X = as_pandas(X, what)
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
                f"The {what} must be a DataFrame (pandas, polars or pyarrow), Series, dict or "
                f"2-D array, got {type(X).__name__}."
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

    def encode(self, X: Any, *, what: str = "query", first_row: int = 0) -> np.ndarray:
        """Rows -> values (numbers in their units, category codes, -1 for missing).

        A refusal names the row as ``first_row`` plus its position in ``X``: rows encoded
        apart from the input they came from keep their own number.
        """
        frame = self.to_frame(X, what=what)
        out = np.empty((len(frame), len(self)), dtype=np.float64)
        for j, feature in enumerate(self.features):
            # + 0.0 folds -0.0 into 0.0: the same query gives the same seeds and JSON
            out[:, j] = _encode_column(frame.iloc[:, j], feature, what, first_row) + 0.0
        return out

    def decode(self, values: np.ndarray) -> pd.DataFrame | np.ndarray:
        """Values -> rows with the training data's columns and dtypes."""
        columns = {f.name: _decode_column(values[:, j], f) for j, f in enumerate(self.features)}
        frame = pd.DataFrame(columns, copy=False)
        if self.input_kind == "array":
            return frame.to_numpy()
        if self.column_labels:
            frame.columns = list(self.column_labels)
        return frame

    def readable(self, values: np.ndarray) -> dict[str, float | str | None]:
        """One row of values as {feature: number, ISO date or category label}."""
        return {
            feature.name: feature.readable(v)
            for feature, v in zip(self.features, values, strict=True)
        }

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
    X = as_pandas(X, "training data")
    if isinstance(X, pd.DataFrame):
        if feature_names is not None:
            raise ParameterError(
                "feature_names is only for arrays; a DataFrame names its own columns."
            )
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise DataError(f"The training data is empty (shape {X.shape}).")
        if len(set(map(str, X.columns))) != X.shape[1]:
            raise DataError(f"The training data has duplicated column names: {list(X.columns)}.")
        nested = [c for c in X.columns if isinstance(c, tuple)]
        if isinstance(X.columns, pd.MultiIndex) or nested:
            raise DataTypeError(
                f"The training data has multi-level column labels such as {nested[:3]}; expected "
                "one label per column (flatten them, e.g. '_'.join(label))."
            )
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
        "The training data must be a DataFrame (pandas, polars or pyarrow) or a 2-D numpy "
        f"array, got {type(X).__name__}."
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


def _check_point_mass_share(share: Any) -> float | None:
    if share is None:
        return None
    if (
        isinstance(share, bool)
        or not isinstance(share, int | float | np.integer | np.floating)
        or not 0 < share <= 1
    ):
        raise ParameterError(
            "point_mass_share must be a share of training rows in (0, 1] (or None for no point "
            f"masses), got {share!r}."
        )
    return float(share)


def _definition(feature: Feature) -> dict[str, Any]:
    out = asdict(feature)
    if not out["point_masses"]:
        del out["point_masses"]
    if feature.kind != "datetime":  # schemas without dates keep the fingerprints they had
        for name in _DATETIME_FIELDS:
            del out[name]
    return out


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
    point_mass_share: float | None = DEFAULT_POINT_MASS_SHARE,
) -> Feature:
    _check_scalar_cells(series, name, "training data")
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
    if not force_categorical and _holds_datetimes(series):
        return _datetime_feature(series, common, bounds, point_mass_share)
    if force_categorical or not _is_numeric_dtype(series):
        if not force_categorical and series.dtype == object:
            if series.dropna().map(lambda v: isinstance(v, bool | np.bool_)).all():
                # booleans with missing values live in object columns: still booleans, not 0/1
                return _categorical_feature(series, "boolean", common, bounds)
            numeric = pd.to_numeric(series.dropna(), errors="coerce")
            if numeric.notna().all() and not series.dropna().map(type).eq(str).any():
                return _numeric_feature(
                    numeric.astype(float), common, bounds, series, point_mass_share
                )
        return _categorical_feature(series, "categorical", common, bounds)
    return _numeric_feature(series, common, bounds, series, point_mass_share)


def _numeric_feature(
    values: pd.Series,
    common: dict,
    bounds,
    original: pd.Series,
    point_mass_share: float | None = DEFAULT_POINT_MASS_SHARE,
) -> Feature:
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
    with np.errstate(over="ignore"):
        scale = float(data.std())
    if not np.isfinite(scale):  # squares overflow past ~1e154: measure in units of the largest
        largest = float(np.abs(data).max())
        scale = largest * float((data / largest).std())
    return Feature(
        kind="integer" if integer else "numeric",
        lower=lower,
        upper=upper,
        mean=float(data.mean()),
        scale=scale,
        point_masses=_point_masses(data, scale, bool(integer), point_mass_share),
        **common,
    )


def _point_masses(
    data: np.ndarray, scale: float, integer: bool, min_share: float | None
) -> tuple[tuple[float, float], ...]:
    """The ``(value, share)`` point masses of a number's present training values (module doc)."""
    if min_share is None or not scale:  # a constant is never moved: nothing to keep
        return ()
    values, counts = np.unique(data, return_counts=True)
    if integer and len(values) <= 1.0 / min_share:
        return ()
    top = int(np.argmax(counts))  # the first of equal counts: ties never dominate anyway
    runner_up = np.max(np.delete(counts, top), initial=0)
    if (
        counts[top] < MIN_POINT_MASS_ROWS
        or counts[top] < min_share * len(data)
        or counts[top] < POINT_MASS_DOMINANCE * runner_up
    ):
        return ()
    return ((float(values[top]), float(counts[top]) / len(data)),)


# ---- dates and timestamps ------------------------------------------------------------------
def _holds_datetimes(series: pd.Series) -> bool:
    """A datetime64 column, or an object column whose every present value is a date or time."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return True
    if series.dtype != object:
        return False
    present = series.dropna()
    return len(present) > 0 and bool(
        present.map(lambda v: isinstance(v, _dt.date | np.datetime64)).all()
    )


def _datetime_feature(
    series: pd.Series, common: dict, bounds, point_mass_share: float | None
) -> Feature:
    """A date or timestamp column as days since ``DATETIME_ORIGIN`` (module doc)."""
    name = common["name"]
    stamps = _as_datetimes(series, name, "training data")
    timezone = None if stamps.dt.tz is None else str(stamps.dt.tz)
    local = stamps.dt.tz_localize(None) if timezone is not None else stamps
    data = _days(local)
    data = data[~np.isnan(data)]
    present = local.dropna()
    resolution = _resolution(present)
    lower, upper = float(data.min()), float(data.max())
    if bounds is not None:
        lower, upper = _check_bounds(name, _datetime_bounds(name, bounds), lower, upper)
        _check_datetime_range(name, common["dtype"], lower, upper)
    scale = float(data.std())
    return Feature(
        kind="datetime",
        lower=lower,
        upper=upper,
        mean=float(data.mean()),
        scale=scale,
        point_masses=_point_masses(data, scale, resolution == "day", point_mass_share),
        origin=DATETIME_ORIGIN,
        unit=DATETIME_UNIT,
        timezone=timezone,
        resolution=resolution,
        **common,
    )


def _datetime_bounds(name: str, bounds: Any) -> tuple[float, float]:
    """Bounds of a datetime feature: dates (ISO text, datetime, Timestamp) or days since the origin."""
    try:
        lo, hi = bounds
        return tuple(  # type: ignore[return-value]
            float(b)
            if isinstance(b, int | float | np.integer | np.floating) and not isinstance(b, bool)
            else days_since_origin(b)
            for b in (lo, hi)
        )
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"bounds[{name!r}] must be a pair of dates (e.g. ('2020-01-01', '2024-12-31')) or of "
            f"days since {DATETIME_ORIGIN}, got {bounds!r}."
        ) from exc


def _days_limit(dtype: str) -> float:
    """The most days from the origin a datetime dtype holds (datetime64[ns]: 1677 to 2262)."""
    return _LARGEST_TICK / _PER_DAY[_unit_of_dtype(dtype)]


def _check_datetime_range(name: str, dtype: str, lower: float, upper: float) -> None:
    """Bounds of a datetime column must fit its dtype."""
    limit = _days_limit(dtype)
    if not -limit < lower <= upper < limit:
        raise ParameterError(
            f"bounds[{name!r}] = ({lower}, {upper}) days since {DATETIME_ORIGIN} exceed what the "
            f"column's dtype {dtype} holds (about +-{limit:.0f} days); widen the unit or narrow the bounds."
        )


def _as_datetimes(series: pd.Series, name: str, what: str, first_row: int = 0) -> pd.Series:
    """A column of dates as a datetime64 Series (naive or in one timezone), refused by name
    when a value is not a date or the timezones are mixed."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        present = series.dropna()
        shown = present.iloc[0] if len(present) else None
        raise DataError(
            f"Feature {name!r} must be a date or timestamp, got values like {shown!r} in the {what} "
            f"(column dtype {series.dtype})."
        )
    values = series.to_numpy(dtype=object)
    stamps = [_timestamp(v, name, what, first_row + i) for i, v in enumerate(values)]
    zones = sorted({str(t.tz) for t in stamps if t is not pd.NaT})
    if len(zones) > 1:
        raise DataTypeError(
            f"Feature {name!r} mixes timezones in the {what}: {zones}"
            + (" ('None': no timezone)" if "None" in zones else "")
            + "; "
            "expected one timezone per column. Convert it first, e.g. "
            "pd.to_datetime(column, utc=True)."
        )
    return pd.Series(pd.DatetimeIndex(stamps), index=series.index, name=series.name)


def iso_dates(column: pd.Series, what: str) -> pd.Series | None:
    """A text column whose every present value is an ISO 8601 date or timestamp, as
    datetime64 (None for any other column, and for one with no present value); refused
    by name when its timezones are mixed (:func:`_as_datetimes`)."""
    present = column.dropna()
    if (
        len(present) == 0
        or not present.map(
            lambda v: isinstance(v, str) and ISO_DATE.match(v.strip()) is not None
        ).all()
    ):
        return None
    try:
        return _as_datetimes(column.astype(object), str(column.name), what)
    except DataError:  # e.g. 2021-02-30: looks like a date, is not one; stays text
        return None


def _timestamp(value: Any, name: str, what: str, row: int) -> Any:
    """One cell as a Timestamp (NaT for missing): dates, datetimes or ISO 8601 text."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return pd.NaT
    if isinstance(value, _dt.date | np.datetime64) or (
        isinstance(value, str) and ISO_DATE.match(value.strip())
    ):
        try:
            return pd.Timestamp(value.strip() if isinstance(value, str) else value)
        except (ValueError, OverflowError):
            pass
    raise DataError(
        f"Feature {name!r} must be a date or timestamp (a datetime, or ISO text such as "
        f"'2021-03-01'), got {value!r} in {what} row {row}."
    )


def _days(local: pd.Series) -> np.ndarray:
    """Naive (wall-clock) timestamps as days since the origin; NaT -> NaN."""
    return ((local - pd.Timestamp(DATETIME_ORIGIN)) / pd.Timedelta(days=1)).to_numpy(
        dtype=np.float64, na_value=np.nan
    )


def _unit_of_dtype(dtype: str) -> str:
    """The resolution of a datetime dtype: s, ms, us or ns (Python objects: us)."""
    if dtype == "object":
        return "us"
    resolved = pd.api.types.pandas_dtype(dtype)
    return str(getattr(resolved, "unit", None) or np.datetime_data(resolved)[0])


def _datetime_unit(feature: Feature) -> str:
    return _unit_of_dtype(feature.dtype)


def _resolution(present: pd.Series) -> str:
    """The coarsest step of ``RESOLUTIONS`` every (naive, present) timestamp sits on."""
    unit = str(np.datetime_data(present.dtype)[0])
    ticks = present.to_numpy().astype(np.int64)  # in the column's unit
    for step in RESOLUTIONS[: RESOLUTIONS.index(unit)]:
        if not (ticks % (_PER_DAY[unit] // _steps_per_day(step))).any():
            return step
    return unit


def _steps_per_day(step: str) -> int:
    return 1 if step == "day" else _PER_DAY[step]


def _wall_clock(days: np.ndarray, feature: Feature) -> np.ndarray:
    """Days since the origin as naive datetime64 in the column's unit, rounded to its
    resolution (NaN -> NaT)."""
    unit = _datetime_unit(feature)
    # never finer than the unit (objects holding nanoseconds are decoded in microseconds)
    per_day = min(_steps_per_day(feature.resolution or unit), _PER_DAY[unit])
    ticks_per_step = _PER_DAY[unit] // per_day
    missing = np.isnan(days)
    # clipped: a float past int64 would wrap around (encoded rows are checked to fit)
    bound = np.floor(_LARGEST_TICK / ticks_per_step)
    steps = np.clip(np.round(np.where(missing, 0.0, days) * per_day), -bound, bound)
    counts = steps.astype(np.int64) * ticks_per_step
    origin = np.array([DATETIME_ORIGIN], dtype=f"datetime64[{unit}]")
    out = origin + counts.astype(f"timedelta64[{unit}]")
    out[missing] = np.datetime64("NaT")
    return out


def _localize(naive: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """Wall-clock times in ``timezone``: skipped times move forward, repeated ones are standard time."""
    return naive.tz_localize(
        timezone, ambiguous=np.zeros(len(naive), dtype=bool), nonexistent="shift_forward"
    )


def _encode_datetime(
    series: pd.Series, feature: Feature, what: str, first_row: int = 0
) -> np.ndarray:
    stamps = _as_datetimes(series, feature.name, what, first_row)
    zone = None if stamps.dt.tz is None else str(stamps.dt.tz)
    if (zone is None) != (feature.timezone is None):
        raise DataError(
            f"Feature {feature.name!r} is in timezone {feature.timezone or 'none (naive)'} in the "
            f"training data, but the {what} has {zone or 'no timezone'}; expected "
            + ("naive timestamps." if feature.timezone is None else "timestamps with a timezone.")
        )
    if zone is not None:
        stamps = stamps.dt.tz_convert(feature.timezone).dt.tz_localize(None)
    days = _days(stamps)
    beyond = np.abs(days) >= _days_limit(feature.dtype)  # NaN compares False
    if beyond.any():
        i = int(np.flatnonzero(beyond)[0])
        raise DataError(
            f"Feature {feature.name!r} is {series.iloc[i]!r} in {what} row {first_row + i}, which the column's "
            f"dtype {feature.dtype} cannot hold (about {_days_limit(feature.dtype):.0f} days either "
            f"side of {DATETIME_ORIGIN}); the model could not be given it."
        )
    return days


def _decode_datetime(days: np.ndarray, feature: Feature) -> Any:
    naive = pd.DatetimeIndex(_wall_clock(days, feature))
    stamps = naive if feature.timezone is None else _localize(naive, feature.timezone)
    if feature.dtype == "object":  # dates the training frame held as Python objects stay objects
        out = np.empty(len(days), dtype=object)
        out[:] = [None if t is pd.NaT else t for t in stamps]
        return pd.Series(out, dtype=object, copy=False)
    return pd.Series(stamps, copy=False).astype(feature.dtype)


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
def _check_scalar_cells(series: pd.Series, name: str, what: str, first_row: int = 0) -> None:
    """Refuse complex numbers and cells holding containers: a feature holds one value a row."""
    if pd.api.types.is_complex_dtype(series.dtype):
        raise DataTypeError(
            f"Feature {name!r} holds complex numbers in the {what}; expected real numbers or labels."
        )
    if series.dtype != object:
        return
    for i, value in enumerate(series.to_numpy()):
        if isinstance(value, list | tuple | dict | set | np.ndarray | complex):
            raise DataTypeError(
                f"Feature {name!r} holds a {type(value).__name__} in {what} row {first_row + i} "
                f"({value!r:.60}); "
                "expected one number or label per cell."
            )


def encode_column(series: pd.Series, feature: Feature, what: str = "data") -> np.ndarray:
    """One column -> values, as :meth:`FeatureSchema.encode` reads it (days for dates)."""
    return _encode_column(series, feature, what) + 0.0


def _encode_column(
    series: pd.Series, feature: Feature, what: str, first_row: int = 0
) -> np.ndarray:
    _check_scalar_cells(series, feature.name, what, first_row)
    missing = series.isna().to_numpy()
    if missing.any() and not feature.allow_missing:
        first = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"Feature {feature.name!r} is missing in {what} row {first_row + first}, but it is never missing in the "
            "training data; expected a value."
        )
    if feature.is_datetime:
        return _encode_datetime(series, feature, what, first_row)
    if feature.is_numeric:
        return _encode_numeric(series, feature, what, first_row)
    lookup = {c: i for i, c in enumerate(feature.categories)}
    codes = np.full(len(series), MISSING_CODE, dtype=np.float64)
    for i, value in enumerate(series.to_numpy(dtype=object)):
        if missing[i]:
            continue
        code = lookup.get(_plain(value))
        if code is None:
            shown = list(feature.categories[:8]) + (["..."] if len(feature.categories) > 8 else [])
            raise DataError(
                f"Feature {feature.name!r} has the category {value!r} in {what} row {first_row + i}, which never "
                f"occurs in the training data; expected one of {shown}."
            )
        codes[i] = code
    return codes


def _encode_numeric(
    series: pd.Series, feature: Feature, what: str, first_row: int = 0
) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype):
        raise DataError(f"Feature {feature.name!r} must be numeric, got booleans in the {what}.")
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(numbers) & ~series.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"Feature {feature.name!r} must be numeric, got {series.iloc[i]!r} in {what} row {first_row + i} "
            f"(column dtype {series.dtype})."
        )
    if np.isinf(numbers).any():
        i = int(np.flatnonzero(np.isinf(numbers))[0])
        raise DataError(
            f"Feature {feature.name!r} is infinite in {what} row {first_row + i}; expected a finite number."
        )
    return numbers


def _decode_column(codes_or_numbers: np.ndarray, feature: Feature) -> Any:
    if feature.is_datetime:
        return _decode_datetime(codes_or_numbers, feature)
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
    if np.issubdtype(np.dtype(dtype), np.integer):
        # a float past the integer type's range would wrap around (2**63 - 1 -> -2**63):
        # clip to the largest floats the type holds exactly
        info = np.iinfo(np.dtype(dtype))
        high = np.nextafter(float(info.max) + 1.0, 0.0)
        numbers = np.clip(numbers, float(info.min), high)
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
