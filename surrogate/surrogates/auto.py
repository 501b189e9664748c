"""``surrogate="auto"``: the simplest family and size whose fidelity reaches a target.

Candidates are tried from simplest to most complex (complexity = terms of a
linear model, splits of a tree, conditions of a rule list; an additive model, a
shape per feature, comes after them, and with pairwise terms last; see ``LADDER``).
A candidate that cannot be fitted in a neighbourhood (pairwise terms where fewer
features vary than it needs) is passed over, and the note says so. The
choice is made on an inner validation split of the *fitting* sample (a quarter
of it, drawn from the query's own seed), never on the held-out neighbourhood, so
the held-out fidelity the explanation reports is not the figure it was chosen
on. The chosen candidate is then refitted on the whole fitting sample. When no
candidate reaches the target, the most faithful one is returned and the
explanation says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..fidelity import weighted_r2
from ..schema import Feature
from .base import LocalFit, LocalProblem

#: default fidelity target: held-out-style weighted R^2 of 0.9 on the inner validation split
DEFAULT_TARGET = 0.9
VALIDATION_SHARE = 0.25

#: (family, parameters), simplest first
LADDER: tuple[tuple[str, dict[str, Any]], ...] = (
    ("linear", {"max_features": 1}),
    ("tree", {"max_depth": 1}),
    ("linear", {"max_features": 2}),
    ("rules", {"max_rules": 2, "max_conditions": 2}),
    ("linear", {"max_features": 3}),
    ("tree", {"max_depth": 2}),
    ("rules", {"max_rules": 3, "max_conditions": 2}),
    ("linear", {"max_features": 5}),
    ("tree", {"max_depth": 3}),
    ("rules", {"max_rules": 5, "max_conditions": 3}),
    ("tree", {"max_depth": 4}),
    ("additive", {}),
    ("additive", {"interactions": 3}),
)


class AutoSurrogate:
    """Choose, per query, the simplest surrogate reaching ``target_fidelity``."""

    name = "auto"

    def __init__(
        self, *, target_fidelity: float = DEFAULT_TARGET, ladder: Sequence = LADDER
    ) -> None:
        self.target_fidelity = target_fidelity
        self.ladder = ladder

    def params(self) -> dict[str, Any]:
        return {
            "target_fidelity": self.target_fidelity,
            "ladder": [[family, dict(params)] for family, params in self.ladder],
            "validation_share": VALIDATION_SHARE,
        }

    def fit_local(
        self,
        problems: Sequence[LocalProblem],
        features: tuple[Feature, ...],
        z_names: tuple[str, ...],
        seeds: Sequence[np.random.SeedSequence],
    ) -> list[LocalFit]:
        if not (isinstance(self.target_fidelity, int | float) and 0 < self.target_fidelity <= 1):
            raise ParameterError(
                f"target_fidelity must be in (0, 1], got {self.target_fidelity!r}."
            )
        if not self.ladder:
            raise ParameterError("ladder must name at least one (family, parameters) candidate.")
        fits = []
        for problem, seed in zip(problems, seeds, strict=True):
            choose_seed, refit_seed = seed.spawn(2)
            index, scores, passed_over = self._choose(problem, features, z_names, choose_seed)
            family = self._family(index, n_bootstrap=None)
            fit = family.fit_local([problem], features, z_names, [refit_seed])[0]
            note = self._note(index, scores, passed_over)
            fits.append(replace(fit, notes=(note,) + fit.notes))
        return fits

    def _family(self, index: int, *, n_bootstrap: int | None):
        from . import make_surrogate

        name, params = self.ladder[index]
        extra = {} if n_bootstrap is None else {"n_bootstrap": n_bootstrap}
        return make_surrogate(name, **params, **extra)

    def _choose(
        self, problem, features, z_names, seed
    ) -> tuple[int, list[float | None], list[str]]:
        inner = _inner_split(problem, seed)
        scores: list[float | None] = []
        passed_over: list[str] = []
        for index in range(len(self.ladder)):
            family = self._family(index, n_bootstrap=0)
            try:
                fit = family.fit_local([inner], features, z_names, [seed])[0]
            except ParameterError as exc:
                if not _may_pass_over(self.ladder[index][0]):
                    raise
                scores.append(None)
                passed_over.append(f"{self.ladder[index][0]} {self.ladder[index][1]} ({exc})")
                continue
            r2 = weighted_r2(inner.y_hold, fit.pred_hold, inner.w_hold)
            scores.append(r2)
            if r2 is not None and r2 >= self.target_fidelity:
                return index, scores, passed_over
        if len(passed_over) == len(self.ladder):
            raise ParameterError(
                "auto could fit no candidate of its ladder here: " + "; ".join(passed_over)
            )
        finite = [(s if s is not None else -np.inf) for s in scores]
        return int(np.argmax(finite)), scores, passed_over

    def _note(self, index: int, scores: list[float | None], passed_over: list[str]) -> str:
        name, params = self.ladder[index]
        score = scores[index]
        shown = "undefined (constant black box)" if score is None else f"{score:.3f}"
        chosen = f"auto chose {name} {params} with inner-validation R^2 {shown}"
        skipped = (
            " Passed over as unfit for this neighbourhood: " + "; ".join(passed_over) + "."
            if passed_over
            else ""
        )
        if score is None or score < self.target_fidelity:
            return (
                f"{chosen}: NO candidate reached the fidelity target {self.target_fidelity}; "
                "this is the most faithful one tried." + skipped
            )
        return (
            f"{chosen} (target {self.target_fidelity}, the simplest candidate reaching it)."
            + skipped
        )


def _may_pass_over(family: str) -> bool:
    """Families whose parameters can be unfit for one neighbourhood yet fine for another."""
    return family == "additive"


def _inner_split(problem: LocalProblem, seed: np.random.SeedSequence) -> LocalProblem:
    """Fitting sample split in two: the query row stays first in the inner fitting part."""
    n = len(problem.y_fit)
    order = np.random.default_rng(seed).permutation(np.arange(1, n))
    n_val = max(1, int(round(VALIDATION_SHARE * (n - 1))))
    val, fit = order[:n_val], np.concatenate([[0], np.sort(order[n_val:])])
    return LocalProblem(
        z_fit=problem.z_fit[fit],
        values_fit=problem.values_fit[fit],
        y_fit=problem.y_fit[fit],
        w_fit=problem.w_fit[fit],
        z_hold=problem.z_fit[val],
        values_hold=problem.values_fit[val],
        y_hold=problem.y_fit[val],
        w_hold=problem.w_fit[val],
        threshold=problem.threshold,
    )
