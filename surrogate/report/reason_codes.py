"""Adverse-action reasons ("reason codes") from local explanations, in the applicant's own terms.

For each declined case the principal reasons are the **reason families** that push
the model's output furthest towards the adverse outcome, measured against a stated
reference population (default: all training applicants), and each reason says what
is true of *this* applicant: the feature, the applicant's value and its direction
("Loan duration of 48 months: longer than the average of all training applicants
(20.9 months)"; "Checking account overdrawn (balance below 0 DM)").

How a contribution is computed, per term of the local linear surrogate that the
model uses at the query (non-zero weight), in the surrogate's scale (log-odds of the
explained class under the logit link):

* a number: ``weight * (query - reference mean) / sd`` -- ``weight`` is per training
  standard deviation ``sd``, so this is the surrogate's change in output between an
  applicant at the reference mean and this applicant;
* a category: ``weight * (1 - share of the applicant's category in the reference
  population)`` -- ``weight`` is the effect of *having* the applicant's category
  rather than another, and an applicant drawn from the reference population already
  has it with that share. Against the training population this is the explanation's
  own ``contribution`` (:attr:`~surrogate.explanation.Explanation.contributions`).

A family that states its own per-term contributions against the training data
(:attr:`~surrogate.explanation.Explanation.contributions`) feeds the same steps; the
linear terms are recomputed so that another reference population can be chosen.
* the point-mass state of a number (``"capital_gain is 0"``, see
  :mod:`surrogate.sampling.tabular`): ``weight`` itself, as for a category -- the effect
  of being where the query is (at the point or not) instead of the other state, drawn
  with its training share. It belongs to its number's family, and is never a reason
  when its number is prohibited or excluded.

Contributions are signed towards the adverse outcome: when the explanation explains
the adverse class they are taken as they are; when it explains the other class of a
binary classifier they are negated. Features are grouped into families (e.g.
"Loan duration and amount" = duration + credit amount + instalment rate) whose
contributions add up; a family is a reason when its total is *material*: at least
``min_effect`` (default 0.05, in log-odds under the logit link) and, where its standard
error is known (the model's effects, below), at least two standard errors above zero.
At most ``max_reasons`` (default 4) families are given, largest first; the families
pushing towards the adverse outcome that are not material are recorded with the case
(``dropped``), and a declined case with no material family goes to manual review. A
reason's text names each member feature that pushes towards the adverse outcome by more
than :data:`MEMBER_TOLERANCE`, largest first, with a
text chosen by the applicant's value (:class:`ValueTexts`): the policy's text for
the applicant's category, or for the value band holding the applicant's number, or
its "above" / "below" text as the number lies above or below the reference mean;
a feature the policy gives no text gets a plain one ("Housing: rent"; "Age of 42:
above the average of all training applicants (35.5)"). No text is ever chosen for a
value the applicant does not have.

Never given as reasons: **prohibited bases** (defaults for German credit:
``personal_status_sex``, ``foreign_worker``, ``age``; for Adult: ``race``, ``sex``,
``native_country``, and also ``marital_status`` and ``relationship`` -- marital status
is a prohibited basis under the US Equal Credit Opportunity Act and ``relationship``
encodes husband/wife -- and ``age``, as for German credit) and *excluded* features
that describe data collection rather than the applicant (Adult's ``fnlwgt``). When
the local surrogate gives them weight, the case is flagged: the model uses them.

A case whose local held-out fidelity (weighted R^2 on the fresh neighbourhood) is
below ``min_fidelity`` (default 0.5 here, 0.7 in the review: the surrogate explains
too little of the model's local variation, so its largest terms may not be the
model's real reasons) gets no automatic reasons, only a flag for manual review.

Families can instead be ranked by the model's own effects (:class:`ModelEffects`,
measured by :mod:`.model_check` without any surrogate: a family's effect is the
model's output at the applicant minus its mean when the family's features take each
reference applicant's values), as the review does by default (``ranked_by =
"model"``). A family's total is then its effect with its features moved together, and
its text names the members whose own effect pushes towards the adverse outcome. Such
reasons do not depend on the explainer's seed; the surrogate still decides whether a
case gets reasons at all (its fidelity), and each reason carries the surrogate's
contribution for its family beside it (``surrogate_contribution``).

Examples
--------
>>> policy = default_policy("german-credit", adverse_class="bad")
>>> policy.max_reasons
4
>>> policy.texts["checking_account"].categories["< 0 DM"]
'Checking account overdrawn (balance below 0 DM)'
>>> neutralise_cell("=HYPERLINK()")
"'=HYPERLINK()"
"""

from __future__ import annotations

import csv
import io
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._validation import Interval, check
from ..errors import DataError, ParameterError
from ..schema import encode_column, number_value, point_flag_feature
from ..surrogates.base import PAIR_SEPARATOR
from .reason_texts import ValueTexts, choose_text, texts_from_tables, value_words

#: default lowest held-out R^2 at which automatic reasons are given
DEFAULT_MIN_FIDELITY = 0.5
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
#: first characters that make a spreadsheet read a cell as a formula
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: where a formula could start: the cell's start, after a separator a spreadsheet may
#: split on when importing (``;``, tab, ``|``) or after a line break inside the cell, with
#: any white space in between (a spreadsheet may trim it: a space, a non-breaking space)
_PIECE_START = re.compile(r"(^|[;\t|\r\n])([^\S\t\r\n]*)(?=[=+\-@\t\r])")

Status = Literal["reasons", "manual_review", "not_adverse"]


# ---- helpers -------------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class Contribution:
    """One feature's signed contribution towards the adverse outcome."""

    feature: str
    family: str
    value: float | str | None
    weight: float
    contribution: float
    basis: Literal[
        "numeric vs reference mean",
        "category vs reference shares",
        "point state vs training share",
        "stated by the explanation",
        "model effect against the reference population",
    ]
    eligible: bool


@dataclass(frozen=True)
class ModelEffects:
    """The model's own effects at one applicant, towards the adverse outcome
    (:mod:`.model_check`): each family's (its features moved together) and each eligible
    feature's (moved alone). Reasons ranked by the model use these instead of the
    surrogate's contributions."""

    families: Mapping[str, float]
    features: Mapping[str, float]
    #: each family's standard error (over the reference rows); none: not known
    family_errors: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DroppedFamily:
    """A family pushing towards the adverse outcome, but not materially: not a reason."""

    family: str
    effect: float
    standard_error: float | None
    why: str


@dataclass(frozen=True)
class NonActionableEffect:
    """The model's effect of a non-actionable feature at one applicant: measured and
    reported, never a reason. ``outranks`` says that it is material and larger than the
    principal reason's effect (or that the case has no reason)."""

    feature: str
    effect: float
    standard_error: float
    material: bool
    outranks: bool


@dataclass(frozen=True)
class MemberRow:
    """One member of a family in a case's table of effects: the applicant's value, its own
    effect in the model (moved alone) and its terms' contribution in the local surrogate."""

    feature: str
    value: float | str | None
    model_effect: float
    surrogate_contribution: float


@dataclass(frozen=True)
class FamilyRow:
    """One family in a case's table of effects (what decided its reasons): its effect in the
    model with the standard error, its contribution in the local surrogate, its rank as a
    reason (None: not one), and its members when it has several."""

    family: str
    model_effect: float
    standard_error: float | None
    surrogate_contribution: float
    reason_rank: int | None
    members: tuple[MemberRow, ...] = ()


@dataclass(frozen=True)
class DroppedMember:
    """A member of a reason's family whose own effect is within :data:`MEMBER_TOLERANCE`
    of zero: the reason does not name it."""

    family: str
    feature: str
    effect: float


@dataclass(frozen=True)
class ReasonPart:
    """One feature of a reason: the applicant's value, its contribution and its text.

    ``basis`` says how the text was chosen (:class:`~.reason_texts.ChosenText`):
    the applicant's category, the band holding the applicant's number, or the
    number above / below ``reference`` (the reference mean).
    """

    feature: str
    value: float | str | None
    contribution: float
    text: str
    basis: str
    reference: float | None = None
    band: tuple[float | None, float | None] | None = None


@dataclass(frozen=True)
class ReasonFlag:
    """What makes a stated reason hard to defend (:mod:`.reason_flags`): its kind and words."""

    kind: str
    text: str


@dataclass(frozen=True)
class Reason:
    """A reason family pushing towards the adverse outcome; its text is its parts' texts."""

    rank: int
    family: str
    text: str
    contribution: float
    features: tuple[str, ...]
    parts: tuple[ReasonPart, ...] = ()
    #: the family's effect in the model itself (:mod:`.model_check`), once checked
    model_effect: float | None = None
    #: the standard error of ``model_effect`` over the reference rows
    model_standard_error: float | None = None
    #: the family's contribution in the local surrogate (its eligible members' summed)
    surrogate_contribution: float | None = None
    #: what a reviewer should know before defending it (:mod:`.reason_flags`)
    flags: tuple[ReasonFlag, ...] = ()


@dataclass(frozen=True)
class CaseReasons:
    """The reasons (or the manual-review flag) of one case."""

    case_id: str
    adverse_score: float
    declined: bool
    status: Status
    reasons: tuple[Reason, ...]
    fidelity_r2: float | None
    flags: tuple[str, ...] = ()
    contributions: tuple[Contribution, ...] = ()
    prohibited_used: tuple[str, ...] = field(default=())
    #: families pushing towards the adverse outcome that are not material (never reasons)
    dropped: tuple[DroppedFamily, ...] = ()
    #: members of the reasons' families left unnamed: their own effect is nil
    members_dropped: tuple[DroppedMember, ...] = ()
    #: the model's effects of the non-actionable features, never reasons
    non_actionable: tuple[NonActionableEffect, ...] = ()
    #: every eligible family's model effect beside its surrogate contribution, ordered by
    #: the model (when the model's effects rank the reasons)
    effects: tuple[FamilyRow, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


# ---- bundled policies (data: policies/*.toml) --------------------------------------------
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


# ---- family mappings from files ---------------------------------------------------------
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


# ---- computing reasons ---------------------------------------------------------------------
def adverse_direction(exp: Any, adverse_class: str) -> float:
    """+1 when the explanation explains the adverse class, -1 when it explains the other
    class of a binary classifier; anything else cannot be read as adverse reasons."""
    target = str(exp.meta.target)
    if target == str(adverse_class):
        return 1.0
    outputs = [str(k) for k in exp.outputs]
    if len(outputs) == 2 and str(adverse_class) in outputs:
        return -1.0
    raise ParameterError(
        f"adverse_class {adverse_class!r} is neither the explained output {target!r} nor the other "
        f"class of a binary classifier (outputs {outputs})."
    )


def adverse_score(exp: Any, adverse_class: str) -> float:
    """The black box's output for the adverse class (its probability for a classifier)."""
    outputs = {str(k): v for k, v in exp.outputs.items()}
    if str(adverse_class) in outputs:
        return float(outputs[str(adverse_class)])
    return float(exp.prediction)


def contributions(exp: Any, policy: ReasonPolicy, reference: Reference) -> tuple[Contribution, ...]:
    """Every used feature's contribution towards the adverse outcome (module doc)."""
    content = exp.content
    sign = adverse_direction(exp, policy.adverse_class)
    slopes = content.linear_terms()
    if slopes is not None:  # a linear surrogate: its slopes, restated against the reference
        return tuple(
            _linear_contribution(term, policy, reference, sign)
            for term in slopes
            if term.weight != 0.0
        )
    stated = getattr(exp, "contributions", {})
    if stated and (reference.training or getattr(content, "reference", None) == reference.name):
        # a family stating its own contributions, against this reference population
        return tuple(_stated_contribution(name, c, exp, policy, sign) for name, c in stated.items())
    raise ParameterError(
        f"Reason codes need per-term contributions: a linear explanation (or one stating its "
        f"contributions against the training data); got a {content.family!r} surrogate. "
        "Explain the case with surrogate='linear'."
    )


def _stated_contribution(name: str, c: float, exp: Any, policy: ReasonPolicy, sign: float):
    """A stated term's contribution. A pairwise term ("a \u00d7 b") counts towards a family
    only when both its features belong to it, and never when either is prohibited."""
    members = name.split(PAIR_SEPARATOR)
    if len(members) == 1:
        return _contribution(
            name, exp.query.get(name), 0.0, c, "stated by the explanation", policy, sign
        )
    families = {policy.family_of(f).name for f in members}
    prohibited = [f for f in members if policy.never_a_reason(f)]
    return Contribution(
        feature=name,
        family=families.pop() if len(families) == 1 else name,
        value=", ".join(str(exp.query.get(f)) for f in members),
        weight=0.0,
        contribution=float(sign * c) + 0.0,
        basis="stated by the explanation",
        eligible=not prohibited and len({policy.family_of(f).name for f in members}) == 1,
    )


def _linear_contribution(term: Any, policy: ReasonPolicy, reference: Reference, sign: float):
    if term.feature in reference.means and term.weight_per_unit is not None:
        scale = reference.scales.get(term.feature, 0.0)
        value = term.value
        offset = (
            0.0
            if not scale or value is None
            else (number_value(value) - reference.means[term.feature]) / scale
        )
        return _contribution(
            term.feature,
            value,
            term.weight,
            term.weight * offset,
            "numeric vs reference mean",
            policy,
            sign,
            reference,
        )
    if isinstance(term.value, str) and term.feature in reference.shares:
        share = reference.shares[term.feature].get(term.value, 0.0)
        return _contribution(
            term.feature,
            term.value,
            term.weight,
            term.weight * (1.0 - share),
            "category vs reference shares",
            policy,
            sign,
            reference,
        )
    if reference.training and term.contribution is not None:  # e.g. a quartile bin
        return _contribution(
            term.feature,
            term.value,
            term.weight,
            term.contribution,
            "stated by the explanation",
            policy,
            sign,
            reference,
        )
    if _base_feature(term.feature, reference) != term.feature:  # a number's point-mass state
        return _contribution(
            term.feature,
            term.value,
            term.weight,
            term.weight,
            "point state vs training share",
            policy,
            sign,
            reference,
        )
    raise ParameterError(
        f"The contribution of {term.feature!r} against {reference.name!r} cannot be computed: the "
        "term is neither a standardised number nor a category (a binned number?). Use the "
        "training population as the reference, or the qmc/gaussian sampler."
    )


def _numbers(column: Any, feature: Any) -> np.ndarray:
    """A number's column as floats; a date's as the days its feature holds."""
    if feature.is_datetime:
        return encode_column(column, feature, "reference population")
    return column.to_numpy(dtype=float)


def _contribution(
    feature, value, weight, raw, basis, policy: ReasonPolicy, sign: float, reference=None
):
    # a point-mass state belongs to its number: same family, same prohibited status
    base = feature if reference is None else _base_feature(feature, reference)
    return Contribution(
        feature=feature,
        family=policy.family_of(base).name,
        value=value,
        weight=float(weight),
        contribution=float(sign * raw) + 0.0,
        basis=basis,
        eligible=not policy.never_a_reason(base),
    )


def _base_feature(name: str, reference: Reference) -> str:
    """The feature a term is about: itself, or the number whose point-mass state it is."""
    if name in reference.scales:
        return name
    return point_flag_feature(name, reference.scales) or name


def case_reasons(
    exp: Any,
    policy: ReasonPolicy,
    reference: Reference,
    *,
    case_id: str,
    threshold: float,
    effects: ModelEffects | None = None,
) -> CaseReasons:
    """Reasons for one case: ranked families, or a manual-review flag (see module doc).

    ``threshold`` is the decision cut-off: the case is declined when the black box's
    adverse score is at or above it. Cases not declined get no reasons. Families are
    ranked by the surrogate's contributions, or by the model's own ``effects`` when
    given; either way a case gets reasons only when its surrogate is faithful enough.
    """
    score = adverse_score(exp, policy.adverse_class)
    declined = bool(score >= threshold)
    parts = contributions(exp, policy, reference)
    used = _used_features(parts, reference)
    used_prohibited = tuple(sorted(used & set(policy.prohibited)))
    flags = _flags(used, policy, used_prohibited)
    r2 = exp.fidelity.r2
    common = dict(
        case_id=str(case_id),
        adverse_score=score,
        declined=declined,
        fidelity_r2=r2,
        contributions=parts,
        prohibited_used=used_prohibited,
    )
    if not declined:
        return CaseReasons(status="not_adverse", reasons=(), flags=flags, **common)
    if r2 is None or r2 < policy.min_fidelity:
        shown = "undefined" if r2 is None else f"{r2:.3f}"
        flag = f"low fidelity: local held-out R^2 {shown} < {policy.min_fidelity:g}; manual review"
        rows = () if effects is None else effect_rows(parts, reference, effects, exp, policy, ())
        return CaseReasons(
            status="manual_review", reasons=(), flags=(flag, *flags), effects=rows, **common
        )
    surrogate = family_totals(eligible_by_family(parts))
    if effects is None:
        ranked, totals, errors = parts, surrogate, None
    else:
        ranked = model_contributions(exp, policy, effects)
        totals, errors = dict(effects.families), effects.family_errors
    members = eligible_by_family(ranked)
    material, dropped = material_families(
        {f: totals[f] for f in members if f in totals}, errors, policy.min_effect
    )
    reasons = rank_families(ranked, policy, reference, totals=material)
    reasons = tuple(
        replace(
            r,
            surrogate_contribution=surrogate.get(r.family, 0.0),
            model_standard_error=None if errors is None else errors.get(r.family),
        )
        for r in reasons
    )
    common.update(dropped=dropped, members_dropped=unnamed_members(reasons, members))
    if effects is not None:
        common["effects"] = effect_rows(parts, reference, effects, exp, policy, reasons)
    if not reasons:
        flag = _no_reason_flag(dropped, policy.min_effect)
        return CaseReasons(status="manual_review", reasons=(), flags=(flag, *flags), **common)
    return CaseReasons(status="reasons", reasons=reasons, flags=flags, **common)


def effect_rows(
    parts: Sequence[Contribution],
    reference: Reference,
    effects: ModelEffects,
    exp: Any,
    policy: ReasonPolicy,
    reasons: Sequence[Reason],
) -> tuple[FamilyRow, ...]:
    """Each eligible family's model effect beside its surrogate contribution, largest model
    effect first, with the members of families of several (module doc)."""
    surrogate = family_totals(eligible_by_family(parts))
    by_member: dict[str, float] = {}
    for c in parts:
        if c.eligible and PAIR_SEPARATOR not in c.feature:  # a pair belongs to no one member
            base = _base_feature(c.feature, reference)
            by_member[base] = by_member.get(base, 0.0) + c.contribution
    members = eligible_by_family(model_contributions(exp, policy, effects))
    rank = {r.family: r.rank for r in reasons}
    rows = []
    for family, effect in sorted(effects.families.items(), key=lambda kv: (-kv[1], kv[0])):
        own = members.get(family, [])
        rows.append(
            FamilyRow(
                family=family,
                model_effect=float(effect),
                standard_error=effects.family_errors.get(family),
                surrogate_contribution=surrogate.get(family, 0.0),
                reason_rank=rank.get(family),
                members=tuple(
                    MemberRow(c.feature, c.value, c.contribution, by_member.get(c.feature, 0.0))
                    for c in sorted(own, key=lambda c: (-c.contribution, c.feature))
                )
                if len(own) > 1
                else (),
            )
        )
    return tuple(rows)


def surrogate_order(case: CaseReasons, policy: ReasonPolicy) -> list[str]:
    """The families the case's local surrogate would give as reasons, in its own order:
    totals of at least ``min_effect``, largest first (the order of its waterfall)."""
    totals = family_totals(eligible_by_family(case.contributions))
    material, _ = material_families(totals, None, policy.min_effect)
    return ranked_families(material, policy.max_reasons)


def why_immaterial(effect: float, standard_error: float | None, min_effect: float) -> str | None:
    """Why a family's effect towards the adverse outcome is not material, or None when it
    is: at least ``min_effect`` and at least :data:`MIN_STANDARD_ERRORS` standard errors
    above zero (where the standard error is known)."""
    if effect < min_effect:
        return f"effect {effect:.4f} below the minimum {min_effect:g}"
    if standard_error is not None and effect < MIN_STANDARD_ERRORS * standard_error:
        return (
            f"effect {effect:.4f} within {MIN_STANDARD_ERRORS:g} standard errors "
            f"({standard_error:.4f}) of zero"
        )
    return None


def material_families(
    totals: Mapping[str, float], errors: Mapping[str, float] | None, min_effect: float
) -> tuple[dict[str, float], tuple[DroppedFamily, ...]]:
    """The families that can be reasons (module doc) and those pushing towards the adverse
    outcome that are not material, largest first."""
    kept: dict[str, float] = {}
    dropped = []
    for family, effect in totals.items():
        error = None if errors is None else errors.get(family)
        why = why_immaterial(effect, error, min_effect)
        if why is None:
            kept[family] = effect
        elif effect > 0:
            dropped.append(DroppedFamily(family, float(effect), error, why))
    dropped.sort(key=lambda d: (-d.effect, d.family))
    return kept, tuple(dropped)


def unnamed_members(
    reasons: Sequence[Reason], members: Mapping[str, Sequence[Contribution]]
) -> tuple[DroppedMember, ...]:
    """The members of each reason's family that push towards the adverse outcome by no
    more than :data:`MEMBER_TOLERANCE`, and which the reason therefore does not name."""
    out = []
    for reason in reasons:
        named = {p.feature for p in reason.parts}
        for c in members.get(reason.family, ()):
            if c.feature not in named and 0 < c.contribution <= MEMBER_TOLERANCE:
                out.append(DroppedMember(reason.family, c.feature, float(c.contribution)))
    return tuple(out)


def _no_reason_flag(dropped: Sequence[DroppedFamily], min_effect: float) -> str:
    if not dropped:
        return "no eligible factor pushes towards the adverse outcome; manual review"
    largest = dropped[0]
    return (
        f"no material factor: no eligible family's effect towards the adverse outcome is at "
        f"least {min_effect:g} and {MIN_STANDARD_ERRORS:g} standard errors above zero (the "
        f"largest, {largest.family}: {largest.why}); manual review"
    )


def model_contributions(
    exp: Any, policy: ReasonPolicy, effects: ModelEffects
) -> tuple[Contribution, ...]:
    """Each eligible feature's model effect as its contribution, with the applicant's value."""
    return tuple(
        Contribution(
            feature=feature,
            family=policy.family_of(feature).name,
            value=exp.query.get(feature),
            weight=0.0,
            contribution=float(effect),
            basis="model effect against the reference population",
            eligible=True,
        )
        for feature, effect in effects.features.items()
    )


def prohibited_used(exp: Any, policy: ReasonPolicy, reference: Reference) -> tuple[str, ...]:
    """The prohibited bases an explanation gives weight to (as :func:`case_reasons` flags them)."""
    used = _used_features(contributions(exp, policy, reference), reference)
    return tuple(sorted(used & set(policy.prohibited)))


def _used_features(parts: Sequence[Contribution], reference: Reference) -> set[str]:
    """The features the contributions give weight to (each member of a pair counted)."""
    return {
        _base_feature(name, reference) for c in parts for name in c.feature.split(PAIR_SEPARATOR)
    }


def _flags(used: set[str], policy: ReasonPolicy, used_prohibited: Sequence[str]) -> tuple[str, ...]:
    flags = []
    if used_prohibited:
        flags.append(f"model uses prohibited basis: {', '.join(used_prohibited)}")
    excluded = sorted(used & set(policy.excluded))
    if excluded:
        flags.append(f"model uses excluded feature: {', '.join(excluded)}")
    return tuple(flags)


def eligible_by_family(parts: Sequence[Contribution]) -> dict[str, list[Contribution]]:
    """The eligible contributions of each family, in their order."""
    members: dict[str, list[Contribution]] = {}
    for c in parts:
        if c.eligible:
            members.setdefault(c.family, []).append(c)
    return members


def family_totals(members: dict[str, list[Contribution]]) -> dict[str, float]:
    """Each family's contribution: its eligible members' summed."""
    return {family: sum(c.contribution for c in cs) for family, cs in members.items()}


def ranked_families(totals: Mapping[str, float], max_reasons: int) -> list[str]:
    """The families with a positive total, largest first (ties by name), at most ``max_reasons``."""
    positive = sorted((f for f in totals if totals[f] > 0), key=lambda f: (-totals[f], f))
    return positive[:max_reasons]


def rank_families(
    parts: Sequence[Contribution],
    policy: ReasonPolicy,
    reference: Reference | None = None,
    *,
    totals: Mapping[str, float] | None = None,
) -> tuple[Reason, ...]:
    """Eligible contributions summed per family (or the families' given ``totals``, the
    families without one left out); positive totals, largest first, at most max_reasons. Each reason's text names its
    members that push towards the adverse outcome, with texts chosen by the applicant's
    values (:mod:`.reason_texts`)."""
    members = eligible_by_family(parts)
    totals = (
        family_totals(members)
        if totals is None
        else {f: totals[f] for f in members if f in totals}
    )
    reasons = []
    for i, family in enumerate(ranked_families(totals, policy.max_reasons)):
        # members pushing towards the adverse outcome; a family whose members push only
        # together (its given total positive, none of theirs) names them all
        ordered = sorted(members[family], key=lambda c: (-c.contribution, c.feature))
        # a member is named when its own push clears the tolerance: one that leaves the
        # model's output unchanged is not a reason, whatever rounding says
        pushing = [c for c in ordered if c.contribution > MEMBER_TOLERANCE] or [
            c for c in ordered if abs(c.contribution) > MEMBER_TOLERANCE
        ] or ordered
        said = tuple(_part(c, policy, reference) for c in pushing)
        reasons.append(
            Reason(
                rank=i + 1,
                family=family,
                text="; ".join(p.text for p in said),
                contribution=float(totals[family]),
                features=tuple(sorted(c.feature for c in members[family])),
                parts=said,
            )
        )
    return tuple(reasons)


def _part(c: Contribution, policy: ReasonPolicy, reference: Reference | None) -> ReasonPart:
    chosen = choose_text(
        c.feature,
        c.value,
        policy.texts.get(c.feature),
        reference_mean=None if reference is None else reference.means.get(c.feature),
        reference_name="the reference population" if reference is None else reference.name,
    )
    return ReasonPart(
        feature=c.feature,
        value=c.value,
        contribution=c.contribution,
        text=chosen.text,
        basis=chosen.basis,
        reference=chosen.reference,
        band=chosen.band,
    )


# ---- CSV output ------------------------------------------------------------------------------
#: the columns of ``reason_codes.csv`` (report schema 1.4: ``model_effect`` and
#: ``surrogate_contribution`` under their own names; the ``contribution`` column of earlier
#: versions, which held whichever of the two ranked the reasons, is gone)
CSV_COLUMNS = (
    "case_id",
    "adverse_score",
    "declined",
    "status",
    "rank",
    "family",
    "reason",
    "model_effect",
    "model_effect_standard_error",
    "surrogate_contribution",
    "features",
    "values",
    "fidelity_r2",
    "flags",
    "reason_flags",
)


def neutralise_cell(value: Any) -> str:
    """A cell as text that no spreadsheet runs as a formula (a ``'`` where needed).

    A spreadsheet may split a cell further when it imports the file with ``;`` (or tab
    or ``|``) as the field separator, so every piece that would start a cell then --
    the text after each such separator -- is neutralised too: ``income;=HYPERLINK(..)``
    becomes ``income;'=HYPERLINK(..)``; so is a line after a line break inside the cell,
    and white space before the formula (``" =1+1"`` becomes ``" '=1+1"``) is looked past.
    """
    text = "" if value is None else str(value)
    return _PIECE_START.sub(lambda m: m.group(1) + m.group(2) + "'", text)


def reason_rows(cases: Sequence[CaseReasons]) -> list[dict[str, Any]]:
    """One row per reason; a case without reasons gets one row stating its status."""
    rows: list[dict[str, Any]] = []
    for case in cases:
        base = {
            "case_id": case.case_id,
            "adverse_score": case.adverse_score,
            "declined": case.declined,
            "status": case.status,
            "fidelity_r2": case.fidelity_r2,
            "flags": " | ".join(case.flags),
        }
        if not case.reasons:
            rows.append(
                {
                    **base,
                    "rank": "",
                    "family": "",
                    "reason": "",
                    "model_effect": "",
                    "model_effect_standard_error": "",
                    "surrogate_contribution": "",
                    "features": "",
                    "values": "",
                    "reason_flags": "",
                }
            )
        for r in case.reasons:
            rows.append(
                {
                    **base,
                    "rank": r.rank,
                    "family": r.family,
                    "reason": r.text,
                    "model_effect": _blank_if_none(r.model_effect),
                    "model_effect_standard_error": _blank_if_none(r.model_standard_error),
                    "surrogate_contribution": _blank_if_none(r.surrogate_contribution),
                    "features": ";".join(r.features),
                    "values": ";".join(f"{p.feature}={value_words(p.value)}" for p in r.parts),
                    "reason_flags": " | ".join(f.text for f in r.flags),
                }
            )
    return rows


def reason_codes_csv(cases: Sequence[CaseReasons]) -> str:
    """The reasons as CSV text, every cell neutralised against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in reason_rows(cases):
        writer.writerow([neutralise_cell(_csv_value(row[c])) for c in CSV_COLUMNS])
    return buffer.getvalue()


def _blank_if_none(value: Any) -> Any:
    return "" if value is None else value


def _csv_value(value: Any) -> Any:
    return repr(value) if isinstance(value, float) else value


__all__ = [
    "CaseReasons",
    "Contribution",
    "DEFAULT_MAX_REASONS",
    "DEFAULT_MIN_FIDELITY",
    "POLICY_FILES",
    "bundled_policy",
    "Reason",
    "ReasonPart",
    "ReasonFamily",
    "ReasonFlag",
    "ReasonPolicy",
    "Reference",
    "case_reasons",
    "contributions",
    "default_policy",
    "load_families",
    "load_texts",
    "neutralise_cell",
    "rank_families",
    "reason_codes_csv",
    "reason_rows",
]
