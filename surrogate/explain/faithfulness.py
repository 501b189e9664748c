"""The deletion check of text and image explanations: does removing what the explanation
ranks first remove the output, faster than removing at random?

For each query, after its surrogate is fitted, one block of rows is built (keep masks
over the query's components, 1 = shown) and scored in the same stacked call as every
other query's of the chunk (:func:`surrogate.explain.pipeline.check_faithfulness`)::

    [fully masked | deletion, steps - 1 points | insertion, steps - 1 points
     | random ranking 1, steps - 1 points | ... ]

The two ends of every curve are the query (already scored) and the fully masked
query (the block's first row), so a query costs ``1 + (2 + RANDOM_RANKINGS) * (STEPS
- 1)`` rows: 61 with 16 steps and 2 random rankings. They are counted inside
``n_samples`` (they are taken from the fitting sample). What the figures mean:
:class:`surrogate.fidelity.Faithfulness`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..fidelity import Faithfulness
from ..surrogates.base import Content

#: points of each curve besides its start: a query with more components removes several
#: per step, one with fewer repeats some (the curve is a step function of the share removed)
STEPS = 16
#: random rankings averaged for the floor
RANDOM_RANKINGS = 2
#: the explanation's deletion AUC must be at least this far below the random floor, or it
#: carries a warning: a tenth of the span from the query to the fully masked query. The
#: floor is noisy: on 10 demo digits one random ranking's AUC had a standard deviation of
#: 0.13 to 0.21 (mean 0.17; 40 rankings each), so the mean of two has about 0.12, and the
#: margin only flags explanations that do about as well as chance. On the 30 bench digits
#: the explanations' AUC was 0.07 against a floor of 0.48, far from it.
WARNING_MARGIN = 0.1
#: query and fully masked outputs closer than this (relative to the larger) give no scale
SAME_OUTPUT = 1e-9


def check_rows() -> int:
    """Rows one query's deletion check scores."""
    return 1 + (2 + RANDOM_RANKINGS) * (STEPS - 1)


def removed_counts(n_components: int) -> np.ndarray:
    """Components removed (or restored) at each of the ``STEPS + 1`` points of a curve."""
    return np.floor(np.arange(STEPS + 1) * n_components / STEPS + 0.5).astype(np.int64)


def ranking(content: Content, components: Sequence[str]) -> np.ndarray:
    """Component indices, the largest signed effect toward the query's output first; ties
    in query order.

    A component's effect is the fall of the surrogate's value at the query when it alone
    is removed. Its sign is read in the direction the query's output lies from the fully
    masked query's, as the surrogate estimates it (the sign of the effects' sum): when the
    query scores below the fully masked query (a negative sentence, explained for the
    positive class), what carries it there is what lowers the output, and that comes first.
    """
    effects = content.removal_effects(components)
    fall = np.array([effects[c] for c in components], dtype=np.float64)
    toward_query = -1.0 if fall.sum() < 0 else 1.0
    return np.lexsort((np.arange(len(components)), -toward_query * fall))


def random_rankings(seed: np.random.SeedSequence, n_components: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.permutation(n_components) for _ in range(RANDOM_RANKINGS)]


def _deletion_masks(order: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Keep masks of the interior points of the deletion curve along ``order``."""
    masks = np.ones((STEPS - 1, len(order)))
    for row, k in enumerate(counts[1:-1]):
        masks[row, order[:k]] = 0.0
    return masks


@dataclass(frozen=True)
class CheckPlan:
    """One query's check rows (keep masks) and the ranking they follow."""

    rows: np.ndarray
    order: np.ndarray


def plan(content: Content, components: Sequence[str], seed: np.random.SeedSequence) -> CheckPlan:
    """The rows of one query's check, in the layout of the module docstring."""
    d = len(components)
    counts = removed_counts(d)
    order = ranking(content, components)
    deletion = _deletion_masks(order, counts)
    # the insertion curve restores, alone, what the deletion curve removes
    parts = [np.zeros((1, d)), deletion, 1.0 - deletion]
    parts += [_deletion_masks(r, counts) for r in random_rankings(seed, d)]
    return CheckPlan(rows=np.concatenate(parts), order=order)


def measure(at_query: float, outputs: np.ndarray) -> Faithfulness:
    """The figures from the explained output at the query and on the check's rows."""
    empty = float(outputs[0])
    inner = STEPS - 1
    scale = at_query - empty
    if abs(scale) <= SAME_OUTPUT * max(1.0, abs(at_query), abs(empty)):
        return _not_checked(at_query)

    def rescaled(points: np.ndarray) -> np.ndarray:
        return np.clip((points - empty) / scale, 0.0, 1.0) + 0.0  # +0.0 folds -0.0 into 0.0

    deletion = np.concatenate([[1.0], rescaled(outputs[1 : 1 + inner]), [0.0]])
    insertion = np.concatenate([[0.0], rescaled(outputs[1 + inner : 1 + 2 * inner]), [1.0]])
    randoms = [
        np.concatenate([[1.0], rescaled(outputs[a : a + inner]), [0.0]])
        for a in range(1 + 2 * inner, len(outputs), inner)
    ]
    random_curve = np.mean(randoms, axis=0)
    return Faithfulness(
        deletion=area(deletion),
        insertion=area(insertion),
        random=area(random_curve),
        steps=STEPS,
        random_rankings=RANDOM_RANKINGS,
        n_rows=check_rows(),
        deletion_curve=tuple(float(v) for v in deletion),
        insertion_curve=tuple(float(v) for v in insertion),
        random_curve=tuple(float(v) for v in random_curve),
    )


def area(curve: np.ndarray) -> float:
    """Trapezoid area under a curve sampled evenly over [0, 1]."""
    return float(np.sum(curve[1:] + curve[:-1]) / (2 * (len(curve) - 1)))


def _not_checked(at_query: float) -> Faithfulness:
    return Faithfulness(
        deletion=None,
        insertion=None,
        random=None,
        steps=STEPS,
        random_rankings=RANDOM_RANKINGS,
        n_rows=check_rows(),
        note=(
            f"The fully masked query scores as the query does ({at_query:.6g}), so the curves "
            "have no scale to be read in: deletion and insertion are not checked."
        ),
    )


def warnings_of(figure: Faithfulness) -> tuple[str, ...]:
    """A warning when deletion along the explanation's ranking does not beat random by
    :data:`WARNING_MARGIN`."""
    if figure.deletion is None or figure.random is None:
        return ()
    if figure.deletion <= figure.random - WARNING_MARGIN:
        return ()
    return (
        f"Deletion check: removing the components in the explanation's order lowers the output "
        f"little faster than removing them at random (deletion AUC {figure.deletion:.3f} against "
        f"{figure.random:.3f} for random rankings; expected at least {WARNING_MARGIN} lower): "
        "the ranking may not reflect what the model uses.",
    )


class DeletionCheck:
    """The hook a masking modality gives the pipeline: rows to score, then the figure."""

    def rows(self) -> int:
        return check_rows()

    def plan(self, content: Content, components: Sequence[str], seed) -> CheckPlan:
        return plan(content, components, seed)

    def measure(self, at_query: float, outputs: np.ndarray) -> tuple[Faithfulness, tuple[str, ...]]:
        figure = measure(at_query, outputs)
        return figure, warnings_of(figure)
