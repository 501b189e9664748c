"""``surrogate="auto"``: the simplest family and size whose fidelity reaches a target.

Candidates are tried from simplest to most complex (``LADDER``): linear models of
1, 2, 3 and 5 terms, then an additive model (a shape per feature), then one with
pairwise terms. Each richer candidate contains the simpler ones, so the first to
reach the target is the simplest that does. A candidate that cannot be fitted in a
neighbourhood (pairwise terms where fewer features vary than it needs) is passed
over, and the note says so. When no candidate reaches the target, the most
faithful one is returned and the explanation says so.

Candidates are compared on rows they were not fitted on, and never on the
held-out neighbourhood, so the held-out fidelity the explanation reports is not
the figure it was chosen on:

- linear and additive candidates by their exact leave-one-out R^2 on the fitting
  sample. Both are (penalised) least-squares fits, so one fit gives every row's
  leave-one-out prediction; the linear sizes are prefixes of one forward selection,
  and the additive candidates share one main-effect fit, whose fit *is* the
  explanation when chosen (nothing is fitted twice);
- candidates of other families (trees, rule lists, given through ``ladder=``) on an
  inner validation split: a quarter of the fitting sample, drawn from the query's
  own seed, then the chosen one is refitted on the whole fitting sample.

Text and images are different: their explanations carry a deletion check (does
removing what the explanation ranks first remove the output faster than removing at
random?), which answers what a user of a saliency map asks better than R^2 does.
There ``auto`` fits each candidate of :data:`CHECKED_LADDER`, checks all their
rankings in one stacked model call and keeps the lowest deletion AUC
(:func:`surrogate.explain.pipeline.choose_by_deletion`).

Trees and rule lists are not in the default ladder: on German credit and Adult
(bench/explain_cost.py) every query chose an additive model over them, and
scoring them multiplied the cost of ``auto`` several times over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..fidelity import weighted_r2
from ..schema import Feature
from ..threads import one_thread
from .base import LocalFit, LocalProblem

#: default fidelity target: weighted R^2 of 0.9 on rows the candidate was not fitted on
DEFAULT_TARGET = 0.9
VALIDATION_SHARE = 0.25
LEAVE_ONE_OUT = "leave-one-out"
INNER_SPLIT = "inner-validation"

#: (family, parameters), simplest first
LADDER: tuple[tuple[str, dict[str, Any]], ...] = (
    ("linear", {"max_features": 1}),
    ("linear", {"max_features": 2}),
    ("linear", {"max_features": 3}),
    ("linear", {"max_features": 5}),
    ("additive", {}),
    ("additive", {"interactions": 3}),
)


#: what ``auto`` compares for text and images, by the deletion check of each candidate's
#: ranking (see :func:`surrogate.explain.pipeline.choose_by_deletion`), in order of preference
CHECKED_LADDER: tuple[tuple[str, dict[str, Any]], ...] = (
    ("linear", {"max_features": None}),
    ("tree", {"max_depth": 3}),
    ("rules", {"max_rules": 5}),
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
            "choice": f"{LEAVE_ONE_OUT} R^2 (linear, additive); {INNER_SPLIT} R^2 (others)",
            "validation_share": VALIDATION_SHARE,
        }

    def checked_ladder(self) -> tuple[tuple[str, dict[str, Any]], ...]:
        """The candidates compared by a modality's faithfulness check (text, images): the
        ladder given, or by default :data:`CHECKED_LADDER`."""
        return CHECKED_LADDER if self.ladder is LADDER else tuple(self.ladder)

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
        # BLAS on one thread, as inside the linear and additive fits: the leave-one-out
        # figures are then the same in this process and in a one-thread pool worker, and
        # no BLAS thread is left spinning, after a threaded call, beside the model's own
        # threads when the next query is scored (on two cores that had the next model
        # call take up to three times as long)
        with one_thread(user_api="blas"):
            for problem, seed in zip(problems, seeds, strict=True):
                trial = _Trial(self.ladder, problem, features, z_names, seed)
                index = self._choose(trial)
                fit = trial.final_fit(index)
                fits.append(replace(fit, notes=(self._note(index, trial),) + fit.notes))
        return fits

    def _choose(self, trial: _Trial) -> int:
        """The first candidate reaching the target, else the most faithful one scored."""
        for index in range(len(self.ladder)):
            score = trial.score(index)
            if score is not None and score >= self.target_fidelity:
                return index
        if len(trial.passed_over) == len(self.ladder):
            raise ParameterError(
                "auto could fit no candidate of its ladder here: " + "; ".join(trial.passed_over)
            )
        finite = [(s if s is not None else -np.inf) for s, _ in trial.scores]
        return int(np.argmax(finite))

    def _note(self, index: int, trial: _Trial) -> str:
        name, params = self.ladder[index]
        score, kind = trial.scores[index]
        shown = "undefined (constant black box)" if score is None else f"{score:.3f}"
        chosen = f"auto chose {name} {params} with {kind} R^2 {shown}"
        skipped = (
            " Passed over as unfit for this neighbourhood: " + "; ".join(trial.passed_over) + "."
            if trial.passed_over
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


class _Trial:
    """One query's candidates as they are scored; work shared between candidates is done once."""

    def __init__(
        self,
        ladder: Sequence,
        problem: LocalProblem,
        features: tuple[Feature, ...],
        z_names: tuple[str, ...],
        seed: np.random.SeedSequence,
    ) -> None:
        self.ladder = ladder
        self.problem = problem
        self.features = features
        self.z_names = z_names
        self.choose_seed, self.refit_seed = seed.spawn(2)
        self.scores: list[tuple[float | None, str]] = []
        self.passed_over: list[str] = []
        self._linear: dict[int, float | None] | None = None
        self._stages: Iterator[tuple[int, float | None, Callable[[], LocalFit]]] | None = None
        self._staged: dict[int, tuple[float | None, Callable[[], LocalFit]]] = {}
        self._inner: LocalProblem | None = None

    def score(self, index: int) -> float | None:
        """Candidate ``index``'s figure, recorded in ``scores`` (None: constant, or passed over)."""
        name, params = self.ladder[index]
        try:
            if _on_linear_path(name, params):
                score, kind = self._linear_path()[params.get("max_features", 5)], LEAVE_ONE_OUT
            elif _on_additive_stages(name, params):
                score, kind = self._stage(params.get("interactions", 0))[0], LEAVE_ONE_OUT
            else:
                score, kind = self._inner_score(index), INNER_SPLIT
        except ParameterError as exc:
            if not _may_pass_over(name):
                raise
            self.passed_over.append(f"{name} {params} ({exc})")
            score, kind = None, LEAVE_ONE_OUT
        self.scores.append((score, kind))
        return score

    def final_fit(self, index: int) -> LocalFit:
        """The chosen candidate fitted on the whole fitting sample (reused when already fitted)."""
        name, params = self.ladder[index]
        if _on_additive_stages(name, params):
            return self._stage(params.get("interactions", 0))[1]()
        return _family(name, params).fit_local(
            [self.problem], self.features, self.z_names, [self.refit_seed]
        )[0]

    def _linear_path(self) -> dict[int, float | None]:
        if self._linear is None:
            from .linear import leave_one_out_r2_by_size

            sizes = [
                params.get("max_features", 5)
                for name, params in self.ladder
                if _on_linear_path(name, params)
            ]
            self._linear = leave_one_out_r2_by_size(self.problem, sizes)
        return self._linear

    def _stage(self, k: int) -> tuple[float | None, Callable[[], LocalFit]]:
        if self._stages is None:
            ks = [p.get("interactions", 0) for n, p in self.ladder if _on_additive_stages(n, p)]
            self._stages = _family("additive", {}).fit_stages(
                self.problem, self.features, self.z_names, self.refit_seed, ks
            )
        while k not in self._staged:
            try:
                done, score, fit = next(self._stages)
            except StopIteration:  # an earlier stage could not be fitted: nor can this one
                raise ParameterError(
                    f"interactions={k} follows a number of pairs this neighbourhood cannot give."
                ) from None
            self._staged[done] = (score, fit)
        return self._staged[k]

    def _inner_score(self, index: int) -> float | None:
        if self._inner is None:
            self._inner = _inner_split(self.problem, self.choose_seed)
        name, params = self.ladder[index]
        family = _family(name, {**params, "n_bootstrap": 0})
        fit = family.fit_local([self._inner], self.features, self.z_names, [self.choose_seed])[0]
        return weighted_r2(self._inner.y_hold, fit.pred_hold, self._inner.w_hold)


def _family(name: str, params: dict[str, Any]) -> Any:
    from . import make_surrogate

    return make_surrogate(name, **params)


def _on_linear_path(name: str, params: dict[str, Any]) -> bool:
    """A linear candidate that differs from the default one only in its size."""
    return name == "linear" and set(params) <= {"max_features"}


def _on_additive_stages(name: str, params: dict[str, Any]) -> bool:
    """An additive candidate that differs from the default one only in its pairs."""
    return name == "additive" and set(params) <= {"interactions"}


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
