"""What a review's reasons are made of: the reason families and their texts, the reference
population they are measured against, and the policy that ties them together (bundled
policies are TOML data in ``policies/``; a reviewer's families come from CSV or TOML)."""

from __future__ import annotations

import csv
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import Interval, check
from ..errors import DataError, ParameterError
from ..schema import encode_column
from ..surrogates.base import MIN_FIDELITY
from .reason_texts import ValueTexts, texts_from_tables

#: default lowest held-out R^2 at which automatic reasons are given: the fidelity below
#: which a surrogate's figures are not read as certified
DEFAULT_MIN_FIDELITY = MIN_FIDELITY


#: default most reasons given per case (the usual adverse-action notice practice)
DEFAULT_MAX_REASONS = 4


#: default smallest effect towards the adverse outcome that makes a family a reason, in the
#: explanation's scale (log-odds under the logit link): adverse-action practice asks for the
#: principal reasons, and an effect of a few thousandths of a log-odds is not one
DEFAULT_MIN_EFFECT = 0.05


#: how many standard errors above zero a family's model effect must be to be a reason: an
#: effect within sampling noise of the reference rows is not known to push at all
MIN_STANDARD_ERRORS = 2.0


#: smallest own effect of a member that a reason names, absolute, in the explanation's scale.
#: A member that leaves the model's output unchanged measures float64 rounding (about 1e-16
#: for log-odds averaged over at most 1000 reference rows); 1e-9 is far above that noise and
#: far below any effect a reader could be told
MEMBER_TOLERANCE = 1e-9


def _check_fraction(value: Any, name: str) -> None:
    check(f"{name} (an R^2)", value, Interval(float, -np.inf, 1, "right"))


def _check_unique_membership(families: Sequence[ReasonFamily]) -> None:
    seen: dict[str, str] = {}
    for family in families:
        for feature in family.features:
            if feature in seen and seen[feature] != family.name:
                raise ParameterError(
                    f"Feature {feature!r} is in two reason families ({seen[feature]!r} and {family.name!r}); "
                    "each feature must belong to one family so contributions add up."
                )
            seen[feature] = family.name
    names = [f.name for f in families]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ParameterError(f"Reason family names must be unique; repeated: {duplicated}.")


@dataclass(frozen=True)
class ReasonFamily:
    """Features whose contributions add up to one stated reason."""

    name: str
    features: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Reference:
    """The population contributions are measured against.

    ``means`` holds the reference mean of every numeric feature; ``scales`` the
    *training* standard deviations (the unit of the linear weights); ``shares`` the
    share of each category label (``"missing"`` included) in the population.
    ``training`` marks the training population, the one explanations state their
    own contributions against.
    """

    name: str
    means: dict[str, float]
    scales: dict[str, float]
    shares: dict[str, dict[str, float]] = field(default_factory=dict)
    training: bool = False
    #: the adverse outcome's observed rate in the population, overall and per category
    #: label of each categorical feature (none when the labels are not known)
    adverse_rate: float | None = None
    adverse_rates: dict[str, dict[str, float]] = field(default_factory=dict)

    def with_outcomes(self, frame: Any, schema: Any, adverse: np.ndarray) -> Reference:
        """The population's observed adverse rate, overall and per category, from its rows
        (``frame``) and whether each had the adverse outcome."""
        adverse = np.asarray(adverse, dtype=bool)
        if len(adverse) == 0:
            return self
        rates = {}
        for name in self.shares:
            codes = feature_codes(frame[name], schema[name])
            rates[name] = {
                schema[name].label(code): float(adverse[codes == code].mean())
                for code in np.unique(codes)
            }
        return replace(self, adverse_rate=float(adverse.mean()), adverse_rates=rates)

    @classmethod
    def from_schema(cls, schema: Any, name: str = "all training applicants") -> Reference:
        """The training population, from an explainer's schema statistics."""
        numeric = [f for f in schema.features if f.is_numeric]
        return cls(
            name=name,
            means={f.name: float(f.mean) for f in numeric if f.mean is not None},
            scales={f.name: float(f.scale or 0.0) for f in numeric},
            shares={f.name: _schema_shares(f) for f in schema.features if not f.is_numeric},
            training=True,
        )

    @classmethod
    def from_frame(cls, frame: Any, schema: Any, name: str) -> Reference:
        """A sub-population (e.g. approved applicants): its means and shares, the training scales."""
        base = cls.from_schema(schema)
        if len(frame) == 0:
            raise DataError(f"The reference population {name!r} is empty.")
        means = {f: float(np.nanmean(_numbers(frame[f], schema[f]))) for f in base.means}
        shares = {f: _frame_shares(frame[f], schema[f]) for f in base.shares}
        return cls(name=name, means=means, scales=base.scales, shares=shares)


def _numbers(column: Any, feature: Any) -> np.ndarray:
    """A number's column as floats; a date's as the days its feature holds."""
    if feature.is_datetime:
        return encode_column(column, feature, "reference population")
    return column.to_numpy(dtype=float)


def _schema_shares(feature: Any) -> dict[str, float]:
    shares = {
        str(c): float(p) for c, p in zip(feature.categories, feature.frequencies, strict=True)
    }
    shares["missing"] = float(feature.missing_rate)
    return shares


def _frame_shares(column: Any, feature: Any) -> dict[str, float]:
    codes = feature_codes(column, feature)
    return {feature.label(code): float(np.mean(codes == code)) for code in np.unique(codes)}


def feature_codes(column: Any, feature: Any) -> np.ndarray:
    """Category codes of a column (-1 for missing), as the schema labels them."""
    labels = {str(c): i for i, c in enumerate(feature.categories)}
    return np.array(
        [-1 if _is_missing(v) else labels.get(str(v), -1) for v in column], dtype=np.float64
    )


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class ReasonPolicy:
    """Families, texts, prohibited and excluded bases, thresholds: everything reasons depend on.

    ``texts`` maps a feature to its :class:`~.reason_texts.ValueTexts` (texts chosen by
    the applicant's value); a feature without one gets plain texts.
    """

    adverse_class: str
    families: tuple[ReasonFamily, ...] = ()
    prohibited: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    min_fidelity: float = DEFAULT_MIN_FIDELITY
    max_reasons: int = DEFAULT_MAX_REASONS
    texts: Mapping[str, ValueTexts] = field(default_factory=dict)
    #: smallest effect towards the adverse outcome that makes a family a reason
    min_effect: float = DEFAULT_MIN_EFFECT
    #: features an applicant cannot act on (dates, vintages, identifiers): never reasons, but
    #: their effects are still measured and reported (:mod:`.model_check`)
    non_actionable: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_fraction(self.min_fidelity, "min_fidelity")
        check("min_effect", self.min_effect, Interval(float, 0, None))
        if (
            isinstance(self.max_reasons, bool)
            or not isinstance(self.max_reasons, int)
            or self.max_reasons < 1
        ):
            raise ParameterError(
                f"max_reasons must be a positive integer, got {self.max_reasons!r}."
            )
        _check_unique_membership(self.families)

    def family_of(self, feature: str) -> ReasonFamily:
        """The family a feature belongs to; a feature in none is a family of its own."""
        for family in self.families:
            if feature in family.features:
                return family
        return ReasonFamily(name=feature, features=(feature,), text=f"Value of {feature}")

    def never_a_reason(self, feature: str) -> bool:
        return (
            feature in self.prohibited
            or feature in self.excluded
            or feature in self.non_actionable
        )

    def check_features(self, names: Iterable[str]) -> ReasonPolicy:
        """Check that every feature the policy names is in the data; returns the policy."""
        names = set(names)
        listed = (
            {f for fam in self.families for f in fam.features}
            | set(self.prohibited)
            | set(self.excluded)
            | set(self.non_actionable)
            | set(self.texts)
        )
        unknown = sorted(listed - names)
        if unknown:
            raise ParameterError(
                f"The reason-code policy names features that are not in the data: {unknown}; "
                f"the data has {sorted(names)}."
            )
        return self

    def check_schema(self, schema: Any) -> ReasonPolicy:
        """:meth:`check_features`, and that each text fits its feature: category texts
        name categories of a categorical feature, bands and directions are for numbers."""
        self.check_features(schema.names)
        for name, texts in self.texts.items():
            feature = schema[name]
            if feature.is_numeric and texts.categories:
                raise ParameterError(
                    f"The reason-code policy gives category texts for the number {name!r}; "
                    "give it bands or above/below texts."
                )
            if not feature.is_numeric and (texts.bands or texts.above or texts.below):
                raise ParameterError(
                    f"The reason-code policy gives bands or above/below texts for the category "
                    f"{name!r}; give it texts per category."
                )
            known = {str(c) for c in feature.categories} | {"missing"}
            unknown = sorted(set(texts.categories) - known)
            if unknown:
                raise ParameterError(
                    f"The reason-code policy has texts for categories of {name!r} that are not in "
                    f"the data: {unknown}; its categories are {sorted(known)}."
                )
        return self


#: bundled data set -> its policy file, beside this module
POLICY_FILES = {"german-credit": "german-credit.toml", "adult": "adult.toml"}


def bundled_policy(data: str) -> ReasonPolicy:
    """The policy shipped for a bundled data set: families, prohibited bases, exclusions."""
    from importlib.resources import files

    name = POLICY_FILES[data]
    document = tomllib.loads(files(__package__).joinpath("policies", name).read_text("utf-8"))
    return ReasonPolicy(
        adverse_class=str(document["adverse_class"]),
        families=tuple(families_from_tables(document["family"], name)),
        prohibited=tuple(document.get("prohibited", ())),
        excluded=tuple(document.get("excluded", ())),
        texts=texts_from_tables(document.get("texts", {}), name),
    )


def default_policy(data: str, *, adverse_class: str, **overrides: Any) -> ReasonPolicy:
    """The bundled data set's policy (or an empty one for other data), with overrides applied."""
    base = (
        bundled_policy(data) if data in POLICY_FILES else ReasonPolicy(adverse_class=adverse_class)
    )
    return replace(base, adverse_class=str(adverse_class), **overrides)


def load_families(path: str | Path) -> tuple[ReasonFamily, ...]:
    """Read a family mapping from CSV (columns family, features, text; features split by ';')
    or TOML (``[[family]]`` tables with ``name``, ``features`` (a list) and ``text``)."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"reason families file {str(path)!r} does not exist.")
    if path.suffix.lower() == ".toml":
        return _families_from_toml(path)
    if path.suffix.lower() == ".csv":
        return _families_from_csv(path)
    raise ParameterError(f"reason families file must be .csv or .toml, got {path.name!r}.")


def load_texts(path: str | Path) -> dict[str, ValueTexts]:
    """The ``[texts.<feature>]`` tables of a TOML family mapping (:mod:`.reason_texts`);
    none for a CSV one."""
    path = Path(path)
    if path.suffix.lower() != ".toml":
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ParameterError(f"reason families file {path.name!r} cannot be read: {exc}") from exc
    return texts_from_tables(document.get("texts", {}), path.name)


def _families_from_csv(path: Path) -> tuple[ReasonFamily, ...]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"family", "features", "text"} - set(reader.fieldnames or ())
        if missing:
            raise ParameterError(
                f"reason families CSV {path.name!r} needs columns family, features, text; "
                f"missing {sorted(missing)} (has {reader.fieldnames})."
            )
        rows = list(reader)
    return tuple(
        _family(
            row["family"],
            [f for f in (row["features"] or "").split(";")],
            row["text"],
            f"{path.name} row {i + 2}",
        )
        for i, row in enumerate(rows)
    )


def _families_from_toml(path: Path) -> tuple[ReasonFamily, ...]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(
            f"reason families file {path.name!r} is not valid TOML: {exc}"
        ) from exc
    tables = document.get("family")
    if not isinstance(tables, list):
        raise ParameterError(
            f"reason families TOML {path.name!r} needs [[family]] tables, got {sorted(document)}."
        )
    return tuple(families_from_tables(tables, path.name))


def families_from_tables(tables: Sequence[Mapping[str, Any]], where: str) -> list[ReasonFamily]:
    """Families from TOML-style tables ``{name, features, text}``."""
    out = []
    for i, table in enumerate(tables):
        if not isinstance(table, Mapping):
            raise ParameterError(f"{where}: family {i + 1} must be a table, got {table!r}.")
        features = table.get("features")
        if not isinstance(features, list):
            raise ParameterError(
                f"{where}: family {i + 1} needs 'features' as a list of names, got {features!r}."
            )
        out.append(
            _family(table.get("name"), features, table.get("text"), f"{where} family {i + 1}")
        )
    return out


def _family(name: Any, features: Sequence[Any], text: Any, where: str) -> ReasonFamily:
    if not isinstance(name, str) or not name.strip():
        raise ParameterError(f"{where}: the family name must be a non-empty string, got {name!r}.")
    names = tuple(str(f).strip() for f in features if str(f).strip())
    if not names:
        raise ParameterError(f"{where}: family {name!r} lists no features.")
    text = text if isinstance(text, str) and text.strip() else name
    return ReasonFamily(name=name.strip(), features=names, text=text.strip())
