"""What every surrogate family shares: the local problem it is given, typed rules, its result.

A family (linear, tree, rules) receives, for each query, a :class:`LocalProblem`
holding the fitting sample and the held-out neighbourhood in both views — ``z``
(the interpretable representation) and ``values`` (numbers in their units,
category codes) — plus the schema's feature metadata. It returns a
:class:`LocalFit`: predictions for fidelity, the explanation's content and a
stability record. Families never see the model or the sampler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from ..fidelity import Fidelity, Stability, measure_fidelity
from ..schema import Feature

Op = Literal["<=", ">", "in", "not in", "is missing", "is not missing"]


@dataclass(frozen=True)
class Condition:
    """One test on one feature: ``duration > 24`` or ``purpose in {business, car (new)}``.

    ``value`` is a number for ``<=`` / ``>``, a sorted tuple of category labels for
    ``in`` / ``not in``, and None for the missing tests.
    """

    feature: str
    op: Op
    value: float | tuple[str, ...] | None = None

    def __str__(self) -> str:
        if self.op in ("in", "not in"):
            return f"{self.feature} {self.op} {{{', '.join(self.value)}}}"  # type: ignore[arg-type]
        if self.op in ("is missing", "is not missing"):
            return f"{self.feature} {self.op}"
        return f"{self.feature} {self.op} {_number(self.value)}"  # type: ignore[arg-type]


def _number(value: float) -> str:
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


@dataclass(frozen=True)
class ReferencePoint:
    """Where contributions are measured from: the mean of each ``z`` column over a
    reference population, for one query (``z`` being 0 at the query), and its name."""

    name: str
    z: np.ndarray


@dataclass(frozen=True)
class RuleContent:
    """A tree (``family="tree"``; ``rules`` are its leaves, ``nodes`` its drawing) or a rule list."""

    family: Literal["tree", "rules"]
    rules: tuple[Rule, ...]
    importances: dict[str, float]
    nodes: tuple[TreeNode, ...] = ()
    depth: int = 0
    n_conditions: int = 0


Content = LinearContent | RuleContent


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


@dataclass(frozen=True)
class LocalFit:
    pred_fit: np.ndarray
    pred_hold: np.ndarray
    content: Content
    ranking: tuple[str, ...]  # features, most important first
    stability: Stability
    notes: tuple[str, ...] = ()  # said in words on the explanation (e.g. what "auto" chose)


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
    )


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
