"""What every surrogate family shares: the local problem it is given, typed rules, its result.

A family (linear, tree, rules) receives, for each query, a :class:`LocalProblem`
holding the fitting sample and the held-out neighbourhood in both views — ``z``
(the interpretable representation) and ``values`` (numbers in their units,
category codes) — plus the schema's feature metadata. It returns a
:class:`LocalFit`: predictions for fidelity, the explanation's content and a
stability record. Families never see the model or the sampler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal, Protocol

import numpy as np

from .._validation import check
from ..fidelity import Fidelity, Stability, measure_fidelity, weighted_r2
from ..links import inverse_link
from ..schema import Feature

Op = Literal["<=", ">", "in", "not in", "is missing", "is not missing"]


@dataclass(frozen=True)
class Condition:
    """One test on one feature: ``duration > 24`` or ``purpose in {business, car (new)}``.

    ``value`` is a number for ``<=`` / ``>`` (a date as ISO text, ``opened <= 2021-03-01``),
    a sorted tuple of category labels for ``in`` / ``not in``, and None for the missing tests.
    """

    feature: str
    op: Op
    value: float | str | tuple[str, ...] | None = None

    def __str__(self) -> str:
        if self.op in ("in", "not in"):
            return f"{self.feature} {self.op} {{{', '.join(self.value)}}}"  # type: ignore[arg-type]
        if self.op in ("is missing", "is not missing"):
            return f"{self.feature} {self.op}"
        return f"{self.feature} {self.op} {_number(self.value)}"  # type: ignore[arg-type]


def _number(value: float | str) -> str:
    if isinstance(value, str):  # a date
        return value
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


@dataclass(frozen=True)
class Rule:
    """IF all ``conditions`` THEN ``prediction``; an empty condition list is the ELSE rule.

    ``coverage`` is the share of held-out rows the rule decides (for a rule list:
    rows no earlier rule took that satisfy this one), ``n_covered`` their count.
    ``precision`` (classification) is the share of those rows where the black box is
    on the rule's side of the decision threshold; ``error`` (regression) their mean
    absolute error. ``fires`` marks the rule that decides the query.
    """

    conditions: tuple[Condition, ...]
    prediction: float
    coverage: float
    n_covered: int
    precision: float | None
    error: float | None
    fires: bool

    def __str__(self) -> str:
        if not self.conditions:
            return f"ELSE {self.prediction:.4g}"
        return "IF " + " AND ".join(map(str, self.conditions)) + f" THEN {self.prediction:.4g}"


@dataclass(frozen=True)
class TreeNode:
    """A node of a tree surrogate; rows satisfying ``condition`` go to ``yes``."""

    id: int
    prediction: float
    weight: float
    condition: Condition | None = None
    yes: int | None = None
    no: int | None = None


@dataclass(frozen=True)
class LinearTerm:
    """One feature of a linear surrogate: its slopes, and its contribution at the query.

    ``weight`` is the slope per standardised unit of ``z``: per training standard
    deviation for numbers; for a category (or a quartile bin), the effect of *having*
    the query's category rather than another. ``weight_per_unit`` is the slope per
    original unit for numbers (None for categories). ``contribution`` is the term's
    value at the query minus its mean over the content's reference population
    (``weight * (0 - mean of z there)``, as ``z`` is 0 at the query); None when no
    reference is known (a global surrogate, or an explanation of schema 1.0).
    """

    feature: str
    value: float | str | None
    weight: float
    weight_per_unit: float | None
    contribution: float | None = None


@dataclass(frozen=True)
class LinearContent:
    """A linear surrogate: ``intercept`` is its value at the query (where ``z`` is 0).

    ``baseline`` is its mean over the ``reference`` population, so that
    ``baseline + sum(term.contribution) == intercept``; both None when no reference
    is known.
    """

    family: Literal["linear"]
    intercept: float
    terms: tuple[LinearTerm, ...]
    baseline: float | None = None
    reference: str | None = None

    #: the columns of ``Explanation.to_frame``
    frame_columns: ClassVar[tuple[str, ...]] = (
        "feature", "value", "contribution", "slope", "slope_per_unit",
    )
    #: whether the family states per-feature contributions (against its reference)
    states_contributions: ClassVar[bool] = True

    def contributions(self) -> dict[str, float]:
        """Each term's contribution at the query (terms without one are left out)."""
        return {t.feature: t.contribution for t in self.terms if t.contribution is not None}

    @property
    def reference_mean(self) -> float | None:
        """The surrogate's mean over the reference population (None when none is known)."""
        return self.baseline

    @property
    def at_query(self) -> float:
        """The surrogate's value at the query."""
        return self.intercept

    def ranked_features(self) -> list[str]:
        """Features, most important first: terms come ordered by |weight|."""
        return [t.feature for t in self.terms]

    def linear_terms(self) -> tuple[LinearTerm, ...] | None:
        """The terms of a linear surrogate, whose slopes other views restate (None for
        other families)."""
        return self.terms

    #: what :meth:`signed_weights` holds
    weight_kind: ClassVar[str] = "slope"

    def signed_weights(self) -> tuple[dict[str, float], bool]:
        """``({feature: weight}, signed)``: the slopes, which have a sign."""
        return {t.feature: t.weight for t in self.terms}, True

    def magnitudes(self) -> dict[str, float]:
        """How much each feature weighs: |contribution|, or |slope| without a reference."""
        return {
            t.feature: abs(t.contribution if t.contribution is not None else t.weight)
            for t in self.terms
        }

    @property
    def magnitude_kind(self) -> str:
        return "|contribution|" if self.baseline is not None else "|slope|"

    def complexity(self) -> dict[str, int]:
        return {"terms": len(self.terms)}

    def frame_records(self, link: str) -> list[dict[str, Any]]:
        """One row per term (:meth:`Explanation.to_frame`)."""
        return [
            {
                "feature": t.feature,
                "value": t.value,
                "contribution": t.contribution,
                "slope": t.weight,
                "slope_per_unit": t.weight_per_unit,
            }
            for t in self.terms
        ]

    def flat_fields(self) -> dict[str, float]:
        """The surrogate's numbers as named fields: intercept, weight:f, contribution:f."""
        return {
            "intercept": self.intercept,
            **{f"weight:{t.feature}": t.weight for t in self.terms},
            **{
                f"contribution:{t.feature}": t.contribution
                for t in self.terms
                if t.contribution is not None
            },
        }

    def set_frame_fields(self) -> dict[str, float]:
        """What a row of ``ExplanationSet.to_frame()`` adds for this family: nothing."""
        return {}

    def without_query(self) -> LinearContent:
        """As a global surrogate states it: no term shows a query value."""
        return replace(self, terms=tuple(replace(t, value=None) for t in self.terms))

    def removal_effects(self, components: Sequence[str]) -> dict[str, float]:
        """How far the surrogate's value at the query falls when one presence component
        (text, images) alone is removed: the component's weight (``z`` goes from 0 to -1),
        0 for components without a term."""
        weights = {t.feature: t.weight for t in self.terms}
        return {c: float(weights.get(c, 0.0)) for c in components}

    def in_units_of(self, offsets: Mapping[str, bool]) -> LinearContent:
        """Weights per original unit kept only for terms whose ``z`` is a standardised offset."""
        terms = tuple(
            t if offsets[t.feature] else replace(t, weight_per_unit=None) for t in self.terms
        )
        return replace(self, terms=terms)

@dataclass(frozen=True, eq=False)  # compared by identity (holds arrays)
class Population:
    """A reference population in the values view: its rows, and each column's distinct
    values with their counts (a missing value, NaN, counted as one value).

    Means of one-feature terms need only a column's distinct values, so they cost what
    the distinct values do, not the rows; pairwise terms read the rows.
    """

    values: np.ndarray
    marginals: tuple[tuple[np.ndarray, np.ndarray], ...]

    @classmethod
    def of(cls, values: np.ndarray) -> Population:
        values = np.asarray(values, dtype=np.float64)
        marginals = []
        for column in values.T:
            distinct, counts = np.unique(column, return_counts=True)  # NaNs collapse into one
            marginals.append((distinct, counts.astype(np.float64)))
        return cls(values=values, marginals=tuple(marginals))


@dataclass(frozen=True, eq=False)  # compared by identity (holds arrays)
class ReferencePoint:
    """Where contributions are measured from: the mean of each ``z`` column over a
    reference population, for one query (``z`` being 0 at the query), and its name.

    ``population`` holds that population's rows when it is a data set (the training
    data); None when the reference is the fitting neighbourhood with its kernel weights.
    """

    name: str
    z: np.ndarray
    population: Population | None = None


@dataclass(frozen=True)
class RuleContent:
    """A tree (``family="tree"``; ``rules`` are its leaves, ``nodes`` its drawing) or a rule list."""

    family: Literal["tree", "rules"]
    rules: tuple[Rule, ...]
    importances: dict[str, float]
    nodes: tuple[TreeNode, ...] = ()
    depth: int = 0
    n_conditions: int = 0

    frame_columns: ClassVar[tuple[str, ...]] = (
        "rule", "prediction", "probability", "coverage", "n_covered", "precision", "error",
        "fires",
    )
    #: trees and rule lists state rules: no per-feature contribution, under any reference
    states_contributions: ClassVar[bool] = False

    @property
    def ordered(self) -> bool:
        """A rule list is read in order (the first rule that holds decides); a tree's
        leaves exclude each other."""
        return self.family == "rules"

    def contributions(self) -> dict[str, float]:
        """Rules and trees state no per-feature contributions."""
        return {}

    @property
    def reference_mean(self) -> None:
        return None

    @property
    def at_query(self) -> None:
        return None

    def ranked_features(self) -> list[str]:
        """Features the rules use, by importance (ties by name)."""
        imp = self.importances
        return sorted((f for f in imp if imp[f] > 0), key=lambda f: (-imp[f], f))

    def linear_terms(self) -> None:
        return None

    weight_kind: ClassVar[str] = "importance"

    def signed_weights(self) -> tuple[dict[str, float], bool]:
        """``({feature: importance}, signed)``: importances, which have no sign."""
        return {f: v for f, v in self.importances.items() if v > 0}, False

    def magnitudes(self) -> dict[str, float]:
        return dict(self.importances)

    magnitude_kind: ClassVar[str] = "importance"

    def complexity(self) -> dict[str, int]:
        shape = {
            "rules": len(self.rules),
            "conditions": sum(len(r.conditions) for r in self.rules),
        }
        if not self.ordered:
            shape |= {"depth": self.depth, "leaves": len(self.rules)}
        return shape

    def rule_text(self, position: int) -> str:
        """A rule as it reads in a table: "IF ...", "ELSE IF ..." (in a list), "ELSE"."""
        rule = self.rules[position]
        if not rule.conditions:
            return "ELSE"
        keyword = "ELSE IF" if self.ordered and position > 0 else "IF"
        return f"{keyword} " + " AND ".join(str(c) for c in rule.conditions)

    def frame_records(self, link: str) -> list[dict[str, Any]]:
        """One row per rule (tree leaf), with its prediction as a probability under "logit"."""
        return [
            {
                "rule": self.rule_text(i),
                "prediction": r.prediction,
                "probability": inverse_link(r.prediction, link) if link == "logit" else None,
                "coverage": r.coverage,
                "n_covered": r.n_covered,
                "precision": r.precision,
                "error": r.error,
                "fires": r.fires,
            }
            for i, r in enumerate(self.rules)
        ]

    def flat_fields(self) -> dict[str, float]:
        return {}

    def set_frame_fields(self) -> dict[str, float]:
        return {}

    def without_query(self) -> RuleContent:
        """As a global surrogate states it: no rule fires."""
        return replace(self, rules=tuple(replace(r, fires=False) for r in self.rules))

    def removal_effects(self, components: Sequence[str]) -> dict[str, float]:
        """How far the surrogate's value at the query falls when one presence component
        (text, images) alone is removed: the rule deciding the query minus the rule
        deciding the query without it (0 when the same rule decides both)."""
        at_query = self._value_without(None)
        return {c: at_query - self._value_without(c) for c in components}

    def _value_without(self, removed: str | None) -> float:
        """The surrogate's value at the query with component ``removed`` absent: the first
        rule that holds (a rule list), or the leaf that holds (a tree)."""
        for rule in self.rules:
            if all(_holds_on_presence(c, c.feature != removed) for c in rule.conditions):
                return float(rule.prediction)
        return float(self.rules[-1].prediction)  # unreachable for a complete list or tree

    def in_units_of(self, offsets: Mapping[str, bool]) -> RuleContent:
        return self

@dataclass(frozen=True)
class NumberShape:
    """A number's shape function: steps on bins of its sampled values plus a straight line.

    ``f(x) = heights[b] + slope * (x - origin)`` where ``b`` is the bin of ``x``: bin 0
    below ``edges[0]``, bin ``b`` from ``edges[b - 1]`` (included) to ``edges[b]``, the last
    from ``edges[-1]`` up. ``slope`` is per unit of the feature; ``origin`` is the query's
    value (where the line is zero). ``missing`` is the height of a missing value (None
    when the neighbourhood had none: a missing value then gets the height of the bin
    holding ``origin``). ``low`` and ``high`` bound the sampled values.
    """

    edges: tuple[float, ...]
    heights: tuple[float, ...]
    slope: float
    origin: float
    low: float
    high: float
    missing: float | None = None


@dataclass(frozen=True)
class CategoryShape:
    """A category's shape function: one height per category with an effect of its own.

    ``other`` lists the sampled categories too rare for an effect of their own; they
    share ``other_height``. Any category not in ``categories`` (rare or never sampled)
    gets ``other_height``, or, when that is None (the rare ones were too few even
    together and joined the query's), the height of the query's own category.
    """

    categories: tuple[str, ...]
    heights: tuple[float, ...]
    other: tuple[str, ...] = ()
    other_height: float | None = None


@dataclass(frozen=True)
class AdditiveTerm:
    """One feature's shape in an additive surrogate, and its contribution at the query.

    Heights are centred on the surrogate's ``reference`` (their weighted mean over it is
    zero), so ``contribution``, the shape's value at the query, is that value minus its
    mean over the reference.
    """

    feature: str
    value: float | str | None
    contribution: float
    shape: NumberShape | CategoryShape


@dataclass(frozen=True)
class PairAxis:
    """One side of a pairwise term's coarse grid.

    Numbers: the bins between ``edges`` (closed on the left, as :class:`NumberShape`),
    then a level for missing values when ``missing`` (without it, a missing value
    takes the query's level). Categories: one level per group of category labels in
    ``groups``; a category in no group takes the last level when ``other`` (a level
    for every other category), else the query's.
    """

    feature: str
    kind: Literal["number", "category"]
    edges: tuple[float, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    other: bool = False
    missing: bool = False


#: joins the two features in a pairwise term's name: "a × b"
PAIR_SEPARATOR = " \u00d7 "


def pair_name(features: Sequence[str]) -> str:
    """How a pairwise term is named in every view: "a × b"."""
    return PAIR_SEPARATOR.join(features)


@dataclass(frozen=True)
class PairTerm:
    """A pairwise interaction: a table of heights on the coarse grid of two features.

    The table is purified: its weighted mean along every row and every column of the
    grid is zero over the fitting neighbourhood, so it holds only what the two shape
    functions cannot (their main effects carry the rest).
    """

    features: tuple[str, str]
    values: tuple[float | str | None, float | str | None]
    contribution: float
    axes: tuple[PairAxis, PairAxis]
    heights: tuple[tuple[float, ...], ...]  # [level of the first axis][level of the second]

    @property
    def name(self) -> str:
        return pair_name(self.features)


@dataclass(frozen=True)
class AdditiveContent:
    """An additive surrogate: intercept plus one shape per feature (plus pairwise terms).

    ``intercept`` is the surrogate's weighted mean over ``reference`` ("neighbourhood":
    the fitting sample with its kernel weights); with every term's ``contribution`` it
    sums to the surrogate's prediction at the query. ``terms`` come largest
    ``|contribution|`` first.
    """

    family: Literal["additive"]
    intercept: float
    reference: str  # "neighbourhood", a named population, or GLOBAL_REFERENCE
    terms: tuple[AdditiveTerm, ...]
    pairs: tuple[PairTerm, ...] = ()

    frame_columns: ClassVar[tuple[str, ...]] = ("feature", "value", "contribution")
    states_contributions: ClassVar[bool] = True

    def contributions(self) -> dict[str, float]:
        """Every shape's value at the query minus its mean over the reference; pairs after
        the features, named "a × b"."""
        out = {t.feature: t.contribution for t in self.terms}
        out.update({p.name: p.contribution for p in self.pairs})
        return out

    @property
    def reference_mean(self) -> float:
        return self.intercept

    @property
    def at_query(self) -> float:
        return (
            self.intercept
            + sum(t.contribution for t in self.terms)
            + sum(p.contribution for p in self.pairs)
        )

    def ranked_features(self) -> list[str]:
        """Features by |contribution| (those with none left out); a global surrogate's by
        the spread of their shape over the data."""
        if self.reference == GLOBAL_REFERENCE:
            return [t.feature for t in self.terms]
        return [t.feature for t in self.terms if t.contribution != 0.0]

    def linear_terms(self) -> None:
        return None

    weight_kind: ClassVar[str] = "contribution"

    def signed_weights(self) -> tuple[dict[str, float], bool]:
        """``({feature: contribution}, signed)``."""
        return {t.feature: t.contribution for t in self.terms}, True

    def magnitudes(self) -> dict[str, float]:
        return {name: abs(c) for name, c in self.contributions().items()}

    magnitude_kind: ClassVar[str] = "|contribution|"

    def complexity(self) -> dict[str, int]:
        return {"terms": len(self.terms), "pairs": len(self.pairs)}

    def frame_records(self, link: str) -> list[dict[str, Any]]:
        """One row per shape, then one per pair (its value a list of the two)."""
        return [
            {"feature": t.feature, "value": t.value, "contribution": t.contribution}
            for t in self.terms
        ] + [
            {"feature": p.name, "value": list(p.values), "contribution": p.contribution}
            for p in self.pairs
        ]

    def flat_fields(self) -> dict[str, float]:
        return {
            "intercept": self.intercept,
            **{f"contribution:{t.feature}": t.contribution for t in self.terms},
        }

    def set_frame_fields(self) -> dict[str, float]:
        """What a row of ``ExplanationSet.to_frame()`` adds: the intercept and every
        contribution (pairs included)."""
        return {
            "intercept": self.intercept,
            **{f"contribution:{t}": v for t, v in self.contributions().items()},
        }

    def removal_effects(self, components: Sequence[str]) -> dict[str, float]:
        """How far the surrogate's value at the query falls when one presence component
        (text, images) alone is removed: its shape's height at "present" minus at
        "absent" (0 for components without a shape). Pairwise terms are left out: this
        ranks components by their main effects."""
        shapes = {t.feature: t.shape for t in self.terms}
        return {c: _presence_effect(shapes.get(c)) for c in components}

    def in_units_of(self, offsets: Mapping[str, bool]) -> AdditiveContent:
        return self  # shapes are in the features' own units already


#: ``reference`` of a global additive surrogate: shapes over a data set, no query, so every
#: contribution is 0 and terms come largest spread over the data first
GLOBAL_REFERENCE = "data set (global surrogate: no query)"

def _holds_on_presence(condition: Condition, present: bool) -> bool:
    """Whether a condition on a presence feature (categories "absent", "present", codes
    0 and 1) holds for a component that is present or not."""
    label, code = ("present", 1.0) if present else ("absent", 0.0)
    if condition.op == "in":
        return label in condition.value  # type: ignore[operator]
    if condition.op == "not in":
        return label not in condition.value  # type: ignore[operator]
    if condition.op == "<=":
        return code <= float(condition.value)  # type: ignore[arg-type]
    if condition.op == ">":
        return code > float(condition.value)  # type: ignore[arg-type]
    return condition.op == "is not missing"  # a presence is never missing


def _presence_effect(shape: NumberShape | CategoryShape | None) -> float:
    """A presence feature's shape: height at "present" minus height at "absent"."""
    if not isinstance(shape, CategoryShape):
        return 0.0
    heights = dict(zip(shape.categories, shape.heights, strict=True))
    fallback = shape.other_height if shape.other_height is not None else heights.get("present", 0.0)
    return float(heights.get("present", fallback) - heights.get("absent", fallback))


Content = LinearContent | RuleContent | AdditiveContent


@dataclass(frozen=True)
class LocalProblem:
    """One query's data for a surrogate: fitting sample (row 0 is the query) and held-out rows."""

    z_fit: np.ndarray
    values_fit: np.ndarray
    y_fit: np.ndarray
    w_fit: np.ndarray
    z_hold: np.ndarray
    values_hold: np.ndarray
    y_hold: np.ndarray
    w_hold: np.ndarray
    #: decision threshold in the explained scale (0.5 for probabilities, 0 for log-odds), None for regression
    threshold: float | None
    #: the reference population's mean of z, for contributions (None: not known)
    reference: ReferencePoint | None = None
    #: held-out rows of the population-scope check, in both views, and the black box on
    #: them (None: not checked); unweighted, as the population counts every row alike
    z_population: np.ndarray | None = None
    values_population: np.ndarray | None = None
    y_population: np.ndarray | None = None


@dataclass(frozen=True)
class LocalFit:
    pred_fit: np.ndarray
    pred_hold: np.ndarray
    content: Content
    ranking: tuple[str, ...]  # features, most important first
    stability: Stability
    notes: tuple[str, ...] = ()  # said in words on the explanation (e.g. what "auto" chose)
    #: the surrogate on the problem's population-scope rows (None when it has none)
    pred_population: np.ndarray | None = None


def local_fidelity(problem: LocalProblem, fit: LocalFit) -> Fidelity:
    """Every fidelity figure of a fitted surrogate; row 0 of the fitting sample is the query."""
    return measure_fidelity(
        y_fit=problem.y_fit,
        pred_fit=fit.pred_fit,
        w_fit=problem.w_fit,
        y_hold=problem.y_hold,
        pred_hold=fit.pred_hold,
        w_hold=problem.w_hold,
        y_query=float(problem.y_fit[0]),
        pred_query=float(fit.pred_fit[0]),
        threshold=problem.threshold,
        y_population=problem.y_population,
        pred_population=fit.pred_population,
    )


#: most fitting rows a leave-one-out figure is computed on: rows are independent draws of
#: the neighbourhood, so evenly spaced ones estimate the whole sample's figure, for less
LEAVE_ONE_OUT_ROWS = 1000


def leave_one_out_rows(n: int) -> np.ndarray:
    """Which of ``n`` fitting rows a leave-one-out figure is computed on (all, up to the cap)."""
    return np.unique(np.linspace(0, n - 1, min(n, LEAVE_ONE_OUT_ROWS)).astype(np.int64))


def leave_one_out_r2(
    y: np.ndarray, residual: np.ndarray, leverage: np.ndarray, w: np.ndarray
) -> float | None:
    """Weighted R^2 of leave-one-out predictions, from a linear smoother's residuals and
    leverages (leaving a row out moves its prediction by ``residual * h / (1 - h)``)."""
    return weighted_r2(y, y - residual / (1.0 - leverage), w)


#: ridge added to the Gram diagonal (scaled by its mean) so all-zero columns stay solvable
RIDGE = 1e-10


def ridged(gram: np.ndarray) -> np.ndarray:
    """Gram matrices (stacked on leading axes; column 0 the intercept) with a tiny ridge
    on every diagonal entry but the intercept's."""
    scale = np.trace(gram, axis1=-2, axis2=-1)[..., None, None] / gram.shape[-1]
    eye = np.eye(gram.shape[-1])
    eye[0, 0] = 0.0  # never shrink the intercept
    return gram + RIDGE * np.maximum(scale, 1e-300) * eye


def bootstrap_counts(seed: np.random.SeedSequence, n: int, n_resamples: int) -> np.ndarray:
    """How often each of ``n`` rows is drawn in each of ``n_resamples`` bootstrap resamples.

    Multinomial(n, uniform) counts, drawn as ``n`` row indices with replacement and
    counted (the same distribution as ``Generator.multinomial``, several times faster).
    """
    draws = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    flat = (draws + n * np.arange(n_resamples)[:, None]).ravel()
    return np.bincount(flat, minlength=n_resamples * n).reshape(n_resamples, n)


#: held-out R^2 below which a surrogate's figures are not read as certified (a family may
#: set its own ``min_fidelity``); also the reason policy's default minimum
MIN_FIDELITY = 0.5


def fidelity_threshold(family: Any) -> float:
    """The fidelity a family's explanations must reach to be read as certified."""
    return float(getattr(family, "min_fidelity", MIN_FIDELITY))


class Family:
    """What every family shares: keyword parameters declared once, with their constraints.

    ``constraints`` maps each parameter to the constraints of :func:`surrogate._validation.check`
    it must meet; :meth:`params` (recorded in provenance) and :meth:`check_params` read it,
    so a parameter is named, recorded and checked from one line.
    """

    name: str
    #: held-out R^2 below which this family's explanations are flagged
    min_fidelity: ClassVar[float] = MIN_FIDELITY
    constraints: ClassVar[dict[str, tuple[Any, ...]]] = {}
    #: parameters added after explanations were first recorded: left out of provenance
    #: while unset (None), so earlier explanations and new ones without them read alike
    unrecorded_when_unset: ClassVar[tuple[str, ...]] = ()

    def params(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in self.constraints
            if not (name in self.unrecorded_when_unset and getattr(self, name) is None)
        }

    def check_params(self) -> None:
        for name, allowed in self.constraints.items():
            check(name, getattr(self, name), *allowed)


class SurrogateFamily(Protocol):
    """A family fits one surrogate per problem; ``params()`` is recorded in provenance."""

    name: str

    def params(self) -> dict[str, Any]: ...

    def fit_local(
        self,
        problems: Sequence[LocalProblem],
        features: tuple[Feature, ...],
        z_names: tuple[str, ...],
        seeds: Sequence[np.random.SeedSequence],
    ) -> list[LocalFit]: ...
