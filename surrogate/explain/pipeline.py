"""The one explanation pipeline, shared by every modality and written once.

A modality (tables, text, images) prepares its queries — each a row in the
sampler's space, a readable form, how rows become model inputs, the features
of its interpretable representation — and hands them here, the way a LIME-style
explainer takes its perturb, forward and train functions. For a chunk of queries
of one size the pipeline then runs::

    seeds -> sample -> score -> link -> determinism check -> local problems
          -> weight checks -> fit -> assemble -> provenance

Row layout of one query's scored block (``n_samples`` rows in all, with the check's)::

    [query, n_fit - 1 sampled rows | n_holdout held-out rows | n_population rows | query again]

A modality may add a faithfulness check (text and images do, tables do not): after
fitting, the rows it asks for each query (``n_check``, taken out of ``n_samples``) are
scored in one more stacked call for the whole chunk (:func:`check_faithfulness`).

The fitting sample starts with the query itself; the held-out rows come from an
independent seed stream; so do the population-scope rows, when the modality states
contributions against a population (see :mod:`surrogate.sampling.population`; tables
with ``reference="training"``); the query is scored a second time, in the same call, to
detect a non-deterministic black box. The blocks of all queries of a chunk are
stacked and scored in as few model calls as the row budget allows, in calls
whose shape does not depend on the other queries
(:meth:`~surrogate.blackbox.BlackBox.predict_blocks`), so a query's explanation
never depends on its company.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from .._validation import Interval, Options, check
from ..blackbox import BlackBox, Target
from ..errors import ModelOutputError, ParameterError, SurrogateError, UnknownOptionError
from ..explanation import Explanation, Failure, NeighbourhoodSummary, Provenance, Scope
from ..fidelity import Faithfulness, Fidelity, Stability, effective_sample_size
from ..kernels import kernel_weights
from ..links import LINKS, apply_link
from ..schema import Feature
from ..surrogates.additive import NEIGHBOURHOOD
from ..surrogates.base import (
    Content,
    LocalFit,
    LocalProblem,
    ReferencePoint,
    fidelity_threshold,
    local_fidelity,
)
from .parallel import fit_problems
from .seeding import QuerySeeds, query_seeds, round_seeds

#: share of ``n_samples`` kept as the held-out neighbourhood
DEFAULT_HOLDOUT_SHARE = 0.2
#: a black box whose two scores of the same query differ by more than this is refused
DETERMINISM_TOLERANCE = 1e-6
#: most rows the black box may score for one query
MAX_SAMPLES = 10_000_000
#: fewest rows per query: a surrogate and a held-out check need some room (tables ask
#: more, 4 rows per feature plus intercept, as their width is known when built)
MIN_SAMPLES = 50
HOLDOUT_SHARE = Interval(float, 0.05, 0.5)
#: share of ``n_samples`` drawn for the population-scope check, when there is one: 500
#: rows at the default 5000 put its R^2 within a few hundredths of its value
POPULATION_SHARE = 0.1
ROW_BUDGET = Interval(int, 1)
ON_ERROR = Options(("raise", "record"))
#: fewer effective held-out rows (Kish) than this get a warning on the explanation
MIN_HOLDOUT_ESS = 10
#: what contributions may be measured against: a population (tables: the training
#: data), or the fitting neighbourhood with its kernel weights
REFERENCES = Options(("training", NEIGHBOURHOOD))


# ---- what a modality hands the pipeline ---------------------------------------------------------
@dataclass(frozen=True)
class Size:
    """Rows the black box scores for one query, and how they split."""

    n_samples: int
    n_fit: int
    n_holdout: int
    n_population: int = 0
    #: rows of the modality's faithfulness check, scored after fitting
    n_check: int = 0

    @property
    def first_block(self) -> int:
        """Rows scored before fitting (all but the check's): what model calls are sized to."""
        return self.n_samples - self.n_check

    @classmethod
    def of(
        cls,
        n_samples: int,
        holdout_share: float,
        population_share: float = 0.0,
        *,
        n_check: int = 0,
    ) -> Size:
        n_holdout = max(1, int(round(holdout_share * n_samples)))
        n_population = int(round(population_share * n_samples)) if population_share else 0
        return cls(
            n_samples=n_samples,
            n_fit=n_samples - n_holdout - n_population - 1 - n_check,
            n_holdout=n_holdout,
            n_population=n_population,
            n_check=n_check,
        )


@dataclass(frozen=True)
class Scorer:
    """One model adapter as the pipeline uses it: what is explained, in which scale."""

    blackbox: BlackBox
    target: Target
    link: str
    fingerprint: str
    #: the decision threshold asked for, in the output's scale (None: the class boundary)
    cutoff: float | None = None
    #: queries share fixed-shape calls of exactly ``row_budget`` rows (images, texts);
    #: else a fixed-shape model gets one query per call
    shared_calls: bool = False

    @property
    def threshold(self) -> float | None:
        """Decision threshold in the explained scale; None for regression without a cut-off."""
        return decision_threshold(self.blackbox, self.link, self.cutoff)

    @property
    def output_threshold(self) -> float | None:
        """The same threshold in the output's scale (a probability for probabilities)."""
        return output_threshold(self.blackbox, self.cutoff)


@dataclass(frozen=True)
class Query:
    """One query, prepared by its modality."""

    index: int  #: position in the caller's input
    row: np.ndarray  #: the query in the sampler's space (encoded values, all-ones presence)
    readable: dict[str, Any]  #: what seeds derive from and the explanation shows
    scorer: Scorer
    render: Callable[[np.ndarray], Any]  #: sampled rows -> what the model eats
    features: tuple[Feature, ...]  #: of the interpretable representation
    z_names: tuple[str, ...]
    schema_fingerprint: str
    layout: Any = None  #: what the modality needs to wrap the result (tokens, segments)


class Modality(Protocol):
    """What a modality adds around the shared steps."""

    modality: str
    sampler: Any
    kernel: str
    kernel_width: float
    root: np.random.SeedSequence

    def identity(self) -> dict[str, Any]: ...

    def finish_content(self, content: Content) -> Content: ...

    def share_outside(self, values: np.ndarray) -> float: ...

    def query_warnings(self, query: Query, size: Size) -> tuple[str, ...]: ...

    def query_notes(self, query: Query) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Run:
    """What one ``explain_many`` call fixes for all its chunks."""

    family: Any
    on_error: str = "raise"
    n_jobs: int | None = None


@dataclass(frozen=True)
class Scored:
    """One query's neighbourhood and black-box outputs (explained column, link scale)."""

    query: Query
    size: Size
    seeds: QuerySeeds
    values_fit: np.ndarray
    z_fit: np.ndarray
    d_fit: np.ndarray
    values_hold: np.ndarray
    z_hold: np.ndarray
    d_hold: np.ndarray
    outputs_query: np.ndarray
    target_index: int
    y_fit: np.ndarray
    y_hold: np.ndarray
    problem: LocalProblem | None = field(default=None, compare=False)
    #: the population-scope rows (values, z) and the black box on them; None without them
    population: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


# ---- the pipeline -------------------------------------------------------------------------------
def explain_queries(
    modality: Modality, queries: Sequence[Query], size: Size, run: Run, round_: int = 0
) -> tuple[list[tuple[int, Explanation]], list[Failure]]:
    """Explain ``queries`` at one size, in chunks whose rows fit the row budget."""
    budget = min(q.scorer.blackbox.row_budget for q in queries) if queries else 1
    per_chunk = max(1, budget // size.first_block)
    done: list[tuple[int, Explanation]] = []
    failed: list[Failure] = []
    for start in range(0, len(queries), per_chunk):
        d, f = _explain_chunk(modality, queries[start : start + per_chunk], size, run, round_)
        done += d
        failed += f
    return done, failed


def _explain_chunk(
    modality: Modality, queries: Sequence[Query], size: Size, run: Run, round_: int
) -> tuple[list[tuple[int, Explanation]], list[Failure]]:
    try:
        scored = score(modality, queries, size, round_)
        problems = [local_problem(modality, s) for s in scored]
        fits, checks = fit_and_check(modality, run, scored, problems)
        return [
            (s.query.index, assemble(modality, s, p, f, run.family, c))
            for s, p, f, c in zip(scored, problems, fits, checks, strict=True)
        ], []
    except SurrogateError as exc:
        if run.on_error == "raise":
            raise
        if len(queries) == 1:
            return [], [Failure.from_exception(queries[0].index, exc)]
    done, failed = [], []
    for query in queries:  # isolate the failing rows
        d, f = _explain_chunk(modality, [query], size, run, round_)
        done += d
        failed += f
    return done, failed


def seeds_of(modality: Modality, query: Query, round_: int = 0) -> QuerySeeds:
    """The query's seed streams: from ``random_state`` and its own values, never its position."""
    seeds = query_seeds(modality.root, query.readable)
    return seeds if round_ == 0 else round_seeds(seeds, modality.root, round_)


def held_out_rows(modality: Modality, row: np.ndarray, readable: dict[str, Any], n_holdout: int):
    """The held-out neighbourhood a query's explanation is measured on (same seed stream)."""
    return modality.sampler.sample(row, n_holdout, query_seeds(modality.root, readable).holdout)


def score(
    modality: Modality, queries: Sequence[Query], size: Size, round_: int = 0
) -> list[Scored]:
    """Sample every query's neighbourhoods and score them in as few calls as the budget allows."""
    seeds = [seeds_of(modality, q, round_) for q in queries]
    hoods = [
        neighbourhoods(modality.sampler, q.row, size, s) for q, s in zip(queries, seeds, strict=True)
    ]
    populations = [population_rows(modality, q, s, size) for q, s in zip(queries, seeds, strict=True)]
    blocks = [
        np.concatenate([q.row[None, :], fit.values, hold.values, p[0], q.row[None, :]])
        for q, (fit, hold), p in zip(queries, hoods, populations, strict=True)
    ]
    outputs = _predict(queries, blocks)
    return [
        _scored(q, s, fit, hold, p, out, size)
        for q, s, (fit, hold), p, out in zip(queries, seeds, hoods, populations, outputs, strict=True)
    ]


def neighbourhoods(sampler: Any, row: np.ndarray, size: Size, seeds: QuerySeeds) -> tuple[Any, Any]:
    """A query's fitting and held-out rows, each from its own seed stream (the held-out
    ones as :func:`held_out_rows` draws them); in one pass where the sampler can."""
    draws = [(size.n_fit - 1, seeds.fit), (size.n_holdout, seeds.holdout)]
    streams = getattr(sampler, "sample_streams", None)
    fit, hold = (
        [sampler.sample(row, n, seed) for n, seed in draws] if streams is None else streams(row, draws)
    )
    return fit, hold


def population_rows(
    modality: Modality, query: Query, seeds: QuerySeeds, size: Size
) -> tuple[np.ndarray, np.ndarray]:
    """The query's population-scope rows (values, z), from their own seed stream; none
    when the size has no room for them."""
    if not size.n_population:
        return np.empty((0, len(query.row))), np.empty((0, len(query.z_names)))
    rows = modality.population_rows  # type: ignore[attr-defined]  # a modality with a population
    return rows.sample(query.row, size.n_population, seeds.population)


def _predict(
    queries: Sequence[Query], blocks: list[np.ndarray], *, size: Size | None = None
) -> list[np.ndarray]:
    """Outputs per block; queries sharing a model adapter are scored in shared calls. With
    ``size``, the blocks are deletion checks: a call holds the check rows (``n_check``) of
    as many queries as the row budget holds first blocks (``n_samples - n_check`` rows),
    so that the calls of these small blocks are not filled up to the whole budget."""
    outputs: list[np.ndarray | None] = [None] * len(blocks)
    groups: dict[int, list[int]] = {}
    for k, q in enumerate(queries):
        groups.setdefault(id(q.scorer), []).append(k)
    for members in groups.values():
        scorer = queries[members[0]].scorer
        outs = scorer.blackbox.predict_blocks(
            [blocks[k] for k in members],
            [queries[k].render for k in members],
            shared_calls=scorer.shared_calls,
            call_rows=None
            if size is None
            else max(1, scorer.blackbox.row_budget // size.first_block)
            * size.n_check,
        )
        for k, out in zip(members, outs, strict=True):
            outputs[k] = out
    return outputs  # type: ignore[return-value]


def _scored(
    query: Query, seeds: QuerySeeds, fit, hold, population, out: np.ndarray, size: Size
) -> Scored:
    first, again = out[0], out[-1]
    check_deterministic(first, again)
    scorer = query.scorer
    target = scorer.target.index if scorer.target.index is not None else int(np.argmax(first))
    y = apply_link(out[:-1, target], scorer.link)
    zero = np.zeros((1, fit.z.shape[1]))
    return Scored(
        query=query,
        size=size,
        seeds=seeds,
        values_fit=np.concatenate([query.row[None, :], fit.values]),
        z_fit=np.concatenate([zero, fit.z]),
        d_fit=np.concatenate([[0.0], fit.distance]),
        values_hold=hold.values,
        z_hold=hold.z,
        d_hold=hold.distance,
        outputs_query=first,
        target_index=target,
        y_fit=y[: size.n_fit],
        y_hold=y[size.n_fit : size.n_fit + size.n_holdout],
        population=(*population, y[size.n_fit + size.n_holdout :]) if size.n_population else None,
    )


def local_problem(modality: Modality, s: Scored) -> LocalProblem:
    """The surrogate's data for one query, refused when the kernel leaves too few rows."""
    w_fit = kernel_weights(modality.kernel, s.d_fit, modality.kernel_width)
    values_population, z_population, y_population = s.population or (None, None, None)
    problem = LocalProblem(
        z_fit=s.z_fit,
        values_fit=s.values_fit.astype(np.float64, copy=False),
        y_fit=s.y_fit,
        w_fit=w_fit,
        z_hold=s.z_hold,
        values_hold=s.values_hold.astype(np.float64, copy=False),
        y_hold=s.y_hold,
        w_hold=kernel_weights(modality.kernel, s.d_hold, modality.kernel_width),
        threshold=s.query.scorer.threshold,
        reference=reference_point(modality, s.query, s.z_fit, w_fit),
        z_population=z_population,
        values_population=values_population,
        y_population=y_population,
    )
    ess_fit, ess_hold, need = _weight_sizes(problem, s.query)
    if ess_fit < need or ess_hold < 2:
        raise ParameterError(
            f"kernel_width={modality.kernel_width} leaves effective sample sizes of {ess_fit:.1f} "
            f"fitting rows and {ess_hold:.1f} held-out rows; expected at least {need} and 2. "
            "Widen the kernel (or sample closer to the query with a smaller sampler scale)."
        )
    return problem


def reference_point(
    modality: Modality, query: Query, z_fit: np.ndarray, w_fit: np.ndarray
) -> ReferencePoint | None:
    """Where the query's contributions are measured from, when its modality states one
    (tables: their population, or :func:`neighbourhood_reference`)."""
    stated = getattr(modality, "reference_point", None)
    return None if stated is None else stated(query.row, z_fit, w_fit)


def neighbourhood_reference(z_fit: np.ndarray, w_fit: np.ndarray) -> ReferencePoint:
    """The fitting neighbourhood with its kernel weights as the reference (its weighted
    mean of ``z``), where every family centres alike."""
    total = w_fit.sum()
    z = w_fit @ z_fit / total if total > 0 else np.zeros(z_fit.shape[1])
    return ReferencePoint(NEIGHBOURHOOD, z)


def query_sampler(modality: Modality, query: Query) -> dict[str, Any]:
    """What the sampler resolved for this query (an image's segmentation), when its
    modality states it; merged into the provenance's sampler record."""
    stated = getattr(modality, "query_sampler", None)
    return {} if stated is None else stated(query)


def _weight_sizes(problem: LocalProblem, query: Query) -> tuple[float, float, int]:
    """Kish sizes of the fitting and held-out weights, and the fewest fitting rows needed."""
    ess_fit = effective_sample_size(problem.w_fit) if problem.w_fit.sum() > 0 else 0.0
    ess_hold = effective_sample_size(problem.w_hold) if problem.w_hold.sum() > 0 else 0.0
    return ess_fit, ess_hold, len(query.z_names) + 1


def _weight_warnings(problem: LocalProblem, query: Query) -> tuple[str, ...]:
    ess_fit, ess_hold, need = _weight_sizes(problem, query)
    if ess_fit >= 2 * need and ess_hold >= MIN_HOLDOUT_ESS:
        return ()
    return (
        f"The kernel leaves few effective rows ({ess_fit:.1f} fitting, {ess_hold:.1f} held-out): "
        "the surrogate and its held-out fidelity rest on little data. Widen the kernel or raise n_samples.",
    )


def fit(run: Run, scored: Sequence[Scored], problems: Sequence[LocalProblem]) -> list[LocalFit]:
    """Fit the family to every problem; queries sharing features are fitted together."""
    groups: dict[tuple, list[int]] = {}
    for k, s in enumerate(scored):
        groups.setdefault((s.query.features, s.query.z_names), []).append(k)
    fits: list[LocalFit | None] = [None] * len(scored)
    for (features, z_names), members in groups.items():
        fitted = fit_problems(
            run.family,
            [problems[k] for k in members],
            features,
            z_names,
            [scored[k].seeds.bootstrap for k in members],
            n_jobs=run.n_jobs,
        )
        for k, one in zip(members, fitted, strict=True):
            fits[k] = one
    return fits  # type: ignore[return-value]


def fit_and_check(
    modality: Modality, run: Run, scored: Sequence[Scored], problems: Sequence[LocalProblem]
) -> tuple[list[LocalFit], list[tuple[Faithfulness | None, tuple[str, ...]]]]:
    """Fit, then run the modality's faithfulness check; ``auto`` on a modality with a check
    chooses each query's family by it (:func:`choose_by_deletion`)."""
    ladder = getattr(run.family, "checked_ladder", None)
    if ladder is None or getattr(modality, "faithfulness_check", None) is None:
        fits = fit(run, scored, problems)
        return fits, check_faithfulness(modality, scored, fits)
    return choose_by_deletion(modality, run, scored, problems, ladder())


def choose_by_deletion(
    modality: Modality,
    run: Run,
    scored: Sequence[Scored],
    problems: Sequence[LocalProblem],
    ladder: Sequence[tuple[str, dict[str, Any]]],
) -> tuple[list[LocalFit], list[tuple[Faithfulness | None, tuple[str, ...]]]]:
    """Each query's candidate whose ranking the deletion check finds most faithful.

    Every candidate is fitted without its bootstrap, all their checks are scored in one
    stacked call (each candidate's rows are counted in ``n_samples``), and each query
    keeps the lowest deletion AUC (ties within :data:`DELETION_TIE` go to the earlier
    candidate); the chosen family is then fitted with its bootstrap, which leaves its
    content, and so the ranking checked, as it was.
    """
    from ..surrogates import make_surrogate

    n = len(scored)
    trials = [
        fit(replace(run, family=make_surrogate(name, **params, n_bootstrap=0)), scored, problems)
        for name, params in ladder
    ]
    checks = check_faithfulness(modality, list(scored) * len(ladder), [f for t in trials for f in t])
    by_query = [[checks[c * n + k] for c in range(len(ladder))] for k in range(n)]
    chosen = [_least_deletion([figure for figure, _ in row]) for row in by_query]
    fits: list[LocalFit | None] = [None] * n
    for c, (name, params) in enumerate(ladder):
        members = [k for k in range(n) if chosen[k] == c]
        if not members:
            continue
        refitted = fit(
            replace(run, family=make_surrogate(name, **params)),
            [scored[k] for k in members],
            [problems[k] for k in members],
        )
        for k, one in zip(members, refitted, strict=True):
            note = _deletion_choice_note(ladder, chosen[k], [f for f, _ in by_query[k]])
            fits[k] = replace(one, notes=(note,) + one.notes)
    return fits, [by_query[k][chosen[k]] for k in range(n)]  # type: ignore[return-value]


#: deletion AUCs closer than this count as equal: the earlier candidate is kept
DELETION_TIE = 0.005


def _least_deletion(figures: Sequence[Faithfulness | None]) -> int:
    aucs = [np.inf if f is None or f.deletion is None else f.deletion for f in figures]
    best = min(aucs)
    return next(c for c, auc in enumerate(aucs) if auc <= best + DELETION_TIE)


def _deletion_choice_note(
    ladder: Sequence[tuple[str, dict[str, Any]]],
    chosen: int,
    figures: Sequence[Faithfulness | None],
) -> str:
    def shown(f: Faithfulness | None) -> str:
        return "not checked" if f is None or f.deletion is None else f"{f.deletion:.3f}"

    name, params = ladder[chosen]
    others = ", ".join(
        f"{n} {p} {shown(f)}"
        for c, ((n, p), f) in enumerate(zip(ladder, figures, strict=True))
        if c != chosen
    )
    picked = figures[chosen]
    floor = None if picked is None else picked.random
    return (
        f"auto chose {name} {params} by the deletion check: deletion AUC {shown(figures[chosen])}"
        f" (lower is better; {others}; random rankings "
        f"{'not checked' if floor is None else f'{floor:.3f}'})."
    )


def check_faithfulness(
    modality: Modality, scored: Sequence[Scored], fits: Sequence[LocalFit]
) -> list[tuple[Faithfulness | None, tuple[str, ...]]]:
    """The modality's faithfulness check of every fitted query, its rows for the whole chunk
    scored in one stacked call (per model adapter, within the row budget); none for a
    modality without one (tables)."""
    check = getattr(modality, "faithfulness_check", None)
    if check is None:
        return [(None, ())] * len(scored)
    plans = [
        check.plan(f.content, s.query.z_names, s.seeds.faithfulness)
        for s, f in zip(scored, fits, strict=True)
    ]
    outputs = _predict([s.query for s in scored], [p.rows for p in plans], size=scored[0].size)
    return [
        check.measure(float(s.outputs_query[s.target_index]), out[:, s.target_index])
        for s, out in zip(scored, outputs, strict=True)
    ]


def assemble(
    modality: Modality,
    s: Scored,
    problem: LocalProblem,
    fit: LocalFit,
    family: Any,
    check: tuple[Faithfulness | None, tuple[str, ...]] = (None, ()),
) -> Explanation:
    """The explanation of one query: content, fidelity, stability, neighbourhood, provenance."""
    names = s.query.scorer.blackbox.output_names
    fidelity = local_fidelity(problem, fit)
    constant = fidelity.r2_in_sample is None  # the black box never moved: nothing to explain
    return Explanation(
        query=s.query.readable,
        prediction=float(s.outputs_query[s.target_index]),
        outputs={names[k]: float(v) for k, v in enumerate(s.outputs_query)},
        content=modality.finish_content(fit.content),
        fidelity=fidelity,
        stability=unmeasured(fit.stability) if constant else fit.stability,
        neighbourhood=NeighbourhoodSummary(
            effective_sample_size=effective_sample_size(problem.w_fit),
            share_outside_training_range=modality.share_outside(
                np.concatenate([s.values_fit[1:], s.values_hold])
            ),
        ),
        meta=provenance(modality, s, family),
        faithfulness=check[0],
        warnings=modality.query_warnings(s.query, s.size)
        + _weight_warnings(problem, s.query)
        + population_warnings(fidelity, family)
        + check[1],
        notes=fit.notes + modality.query_notes(s.query) + ((CONSTANT_NOTE,) if constant else ()),
        scope=scope_of(modality),
    )


def scope_of(modality: Modality) -> Scope | None:
    """The question the modality's explanations answer (None when it states none)."""
    scope = getattr(modality, "scope", None)
    return None if scope is None else scope()


def population_warnings(fidelity: Fidelity, family: Any) -> tuple[str, ...]:
    """A warning when the population-scope R^2 falls below the family's fidelity threshold:
    contributions stated against the population are then not certified."""
    r2 = fidelity.r2_population
    threshold = fidelity_threshold(family)
    if r2 is None or r2 >= threshold:
        return ()
    local = "n/a" if fidelity.r2 is None else f"{fidelity.r2:.3f}"
    return (
        f"Population-scope R^2 {r2:.3f} is below {threshold:g}: on rows that take features "
        "from the training data the surrogate does not follow the black box, so its "
        f"contributions against the training data are not certified (held-out R^2 {local} "
        "holds near the query only). Read them as local, explain with "
        "reference='neighbourhood', or choose a family that follows the model there.",
    )

#: why a constant neighbourhood gets no stability figure
CONSTANT_NOTE = (
    "The black box gave the same output on every sampled row, so every bootstrap refit agrees "
    "trivially: stability is not measured (reported as none, never as a perfect 1.0)."
)


def unmeasured(stability: Stability) -> Stability:
    """A stability record that claims nothing: a constant neighbourhood's refits all agree
    because there is nothing to disagree about, which says nothing about the explanation."""
    return replace(
        stability, top_k_jaccard=None, selection_frequency={}, sign_agreement=None, intervals={}
    )


def provenance(modality: Modality, s: Scored, family: Any) -> Provenance:
    """What produced the explanation: the explainer's identity, the query's adapter and seeds."""
    identity = modality.identity()
    scorer = s.query.scorer
    return Provenance(
        library_version=identity["library_version"],
        modality=identity["modality"],
        mode=scorer.blackbox.mode,
        target=scorer.blackbox.output_names[s.target_index],
        link=scorer.link,
        sampler={**identity["sampler"], **query_sampler(modality, s.query)},
        kernel=identity["kernel"],
        surrogate={"family": family.name, **family.params()},
        random_state_entropy=identity["random_state_entropy"],
        random_state_spawn_key=identity["random_state_spawn_key"],
        query_digest=f"{s.seeds.digest:032x}",
        n_samples=s.size.n_samples,
        n_fit=s.size.n_fit,
        n_holdout=s.size.n_holdout,
        n_population=s.size.n_population,
        schema_fingerprint=s.query.schema_fingerprint,
        model_fingerprint=scorer.fingerprint,
        model=scorer.blackbox.description(),
        threshold=scorer.output_threshold,
    )


# ---- small pure steps ---------------------------------------------------------------------------
def check_deterministic(first: np.ndarray, again: np.ndarray) -> None:
    """Refuse a black box that scored the same query twice and disagreed."""
    if np.max(np.abs(first - again)) > DETERMINISM_TOLERANCE * max(
        1.0, float(np.max(np.abs(first)))
    ):
        raise ModelOutputError(
            "The black box gave two different outputs for the same query "
            f"({first.tolist()} then {again.tolist()}): it is not deterministic, so no surrogate "
            "of it can be trusted. Fix its randomness (seed, eval mode) first."
        )


def resolve_link(link: str | None, blackbox: BlackBox) -> str:
    """The link asked for, or the default: log-odds for probabilities, identity otherwise."""
    if link is None:
        return "logit" if blackbox.outputs_probabilities else "identity"
    if link not in LINKS:
        raise UnknownOptionError(f"Unknown link {link!r}; expected one of {list(LINKS)}.")
    if link == "logit" and not blackbox.outputs_probabilities:
        raise ParameterError(
            "link='logit' needs a black box that outputs probabilities (a classifier with predict_proba); "
            f"this one is {blackbox.mode} with outputs {list(blackbox.output_names)}."
        )
    return link


def decision_threshold(blackbox: BlackBox, link: str, cutoff: float | None = None) -> float | None:
    """The decision threshold in the explained scale: ``cutoff`` (in the output's scale) through
    the link, or by default the class boundary (0 in log-odds or for scores, 0.5 in probability).

    A regression has a threshold only when a cut-off is given.
    """
    threshold = output_threshold(blackbox, cutoff)
    if threshold is None:
        return None
    if link == "logit":
        return float(apply_link(np.array([threshold]), "logit")[0])
    return threshold


def output_threshold(blackbox: BlackBox, cutoff: float | None) -> float | None:
    """The decision threshold in the output's scale: ``cutoff``, or the default class boundary."""
    if cutoff is not None:
        return float(cutoff)
    if blackbox.mode != "classification":
        return None
    return 0.5 if blackbox.outputs_probabilities else 0.0


def check_cutoff(cutoff: Any, blackbox: BlackBox) -> float | None:
    """A decision threshold in the output's scale: a probability in (0, 1) for a black box
    that outputs probabilities, any finite number otherwise; None for the default."""
    if blackbox.outputs_probabilities:
        return check("threshold (a probability)", cutoff, None, Interval(float, 0, 1, "neither"))
    return check("threshold", cutoff, None, Interval(float, -np.inf, np.inf, "neither"))
