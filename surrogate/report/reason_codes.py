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
contributions add up; a family is a reason when its total is positive, and at most
``max_reasons`` (default 4) families are given, largest first. A reason's text names
each member feature that pushes towards the adverse outcome, largest first, with a
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

    def __post_init__(self) -> None:
        _check_fraction(self.min_fidelity, "min_fidelity")
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
        return feature in self.prohibited or feature in self.excluded

    def check_features(self, names: Iterable[str]) -> ReasonPolicy:
        """Check that every feature the policy names is in the data; returns the policy."""
        names = set(names)
        listed = (
            {f for fam in self.families for f in fam.features}
            | set(self.prohibited)
            | set(self.excluded)
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
    #: the family's contribution in the local surrogate (its eligible members' summed)
    surrogate_contribution: float | None = None


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
        return CaseReasons(status="manual_review", reasons=(), flags=(flag, *flags), **common)
    surrogate = family_totals(eligible_by_family(parts))
    if effects is None:
        reasons = rank_families(parts, policy, reference, totals=surrogate)
    else:
        ranked = model_contributions(exp, policy, effects)
        reasons = rank_families(ranked, policy, reference, totals=effects.families)
    reasons = tuple(
        replace(r, surrogate_contribution=surrogate.get(r.family, 0.0)) for r in reasons
    )
    if not reasons:
        flag = "no eligible factor pushes towards the adverse outcome; manual review"
        return CaseReasons(status="manual_review", reasons=(), flags=(flag, *flags), **common)
    return CaseReasons(status="reasons", reasons=reasons, flags=flags, **common)


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
    """Eligible contributions summed per family (or the families' given ``totals``);
    positive totals, largest first, at most max_reasons. Each reason's text names its
    members that push towards the adverse outcome, with texts chosen by the applicant's
    values (:mod:`.reason_texts`)."""
    members = eligible_by_family(parts)
    totals = family_totals(members) if totals is None else {f: totals[f] for f in members}
    reasons = []
    for i, family in enumerate(ranked_families(totals, policy.max_reasons)):
        # members pushing towards the adverse outcome; a family whose members push only
        # together (its given total positive, none of theirs) names them all
        ordered = sorted(members[family], key=lambda c: (-c.contribution, c.feature))
        pushing = [c for c in ordered if c.contribution > 0] or ordered
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
CSV_COLUMNS = (
    "case_id",
    "adverse_score",
    "declined",
    "status",
    "rank",
    "family",
    "reason",
    "contribution",
    "features",
    "values",
    "fidelity_r2",
    "flags",
    # last, in the order they were added, so positional readers keep working
    "model_effect",
    "surrogate_contribution",
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
                    "contribution": "",
                    "model_effect": "",
                    "surrogate_contribution": "",
                    "features": "",
                    "values": "",
                }
            )
        for r in case.reasons:
            rows.append(
                {
                    **base,
                    "rank": r.rank,
                    "family": r.family,
                    "reason": r.text,
                    "contribution": r.contribution,
                    "model_effect": _blank_if_none(r.model_effect),
                    "surrogate_contribution": _blank_if_none(r.surrogate_contribution),
                    "features": ";".join(r.features),
                    "values": ";".join(f"{p.feature}={value_words(p.value)}" for p in r.parts),
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
