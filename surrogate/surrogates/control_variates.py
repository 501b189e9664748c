"""Main-effect control variates: less sampling noise in linear weights, same weights.

A sampler moves every feature independently of the others, so the weight the
linear surrogate estimates for a feature, ``cov(y, z_k) / var(z_k)``, is unchanged
if anything uncorrelated with ``z_k`` is subtracted from the response ``y``. Each
feature's *non-linear main effect* is such a thing: the part of how ``y`` varies
along that feature alone that a straight line misses (the step of a tree
ensemble at a threshold, which category replaced the query's). It is
uncorrelated with its own ``z`` by construction and with every other ``z`` by
independence, yet in a finite sample it adds noise to every weight. Removing it
first lowers that noise without moving what is estimated: it acts as a control
variate (the sampled rows are scored once, nothing more is asked of the model).

Indicator columns, per movable feature ``j``:

- numbers (``z`` takes more than two values): the bins between the sample's
  quantiles of ``z_j``: ``MAX_BINS`` bins, fewer in a small sample (about
  ``ROWS_PER_COLUMN`` rows per column over all features), none below two;
- categories (``z`` is a replacement indicator): which category replaced the
  query's, for categories that did so in at least ``ROWS_PER_COLUMN`` rows; the
  most frequent replacement and the rarer ones are left out (they share the
  reference: a column resting on a handful of rows would add noise, not remove it).

One weighted least-squares fit of ``y`` on ``[1, z, indicators]`` gives each
feature's step function ``m_j``; its main effect is ``m_j`` less its weighted
straight-line fit on ``1`` and ``z_j`` (the same fitted values as if the indicators
had been made orthogonal to that line first, for they span the same space).

A feature may own several ``z`` columns: its offset and the indicators of its
point masses ("capital_gain is 0", see :mod:`surrogate.sampling.tabular`), which
are not independent of each other. Its main effect is then made orthogonal to
all of them (``1``, ``z_j`` and its point columns), so that removing it leaves
the weights of every one of its columns where they were. Point columns take only
two values: they are straight lines in themselves and get no indicators. The
surrogate is fitted to ``y`` minus the main effects; its fidelity is always
measured against ``y`` itself. With fewer than ``ROWS_PER_COLUMN`` rows per column
the response is left as it is (and the explanation says so).
"""

from __future__ import annotations

import numpy as np

from ..schema import MISSING_CODE
from .base import ridged
from .binning import bin_codes, quantile_edges

#: at most this many quantile bins of a number's offsets
MAX_BINS = 8
#: rows needed per fitted column before the main effects are removed
ROWS_PER_COLUMN = 20


def without_main_effects(
    z: np.ndarray,
    values: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    categorical: np.ndarray,
    *,
    owner: np.ndarray | None = None,
) -> tuple[np.ndarray, str | None]:
    """``y`` less the features' non-linear main effects, and a note when they were kept.

    ``categorical[j]`` says whether feature ``j``'s values are category codes;
    ``owner[c]`` is the feature ``z`` column ``c`` belongs to (default: column ``c`` is
    feature ``c``; columns after the features' own are point-mass columns).
    """
    effects, note = main_effects(z, values, y, w, categorical, owner=owner)
    return y - effects.sum(axis=1), note


def main_effects(
    z: np.ndarray,
    values: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    categorical: np.ndarray,
    *,
    owner: np.ndarray | None = None,
) -> tuple[np.ndarray, str | None]:
    """Each feature's fitted non-linear main effect (n, d), weighted-orthogonal to ``1`` and
    its own ``z`` columns; zeros, and a note, when the sample is too small for the columns."""
    effects = np.zeros(z.shape)
    columns = np.arange(z.shape[1]) if owner is None else np.asarray(owner)
    indicators, owner = _indicators(z, values, categorical[columns])
    if indicators.shape[1] == 0:
        return effects, None
    n_columns = 1 + z.shape[1] + indicators.shape[1]  # the design [1, z, indicators]
    if len(y) < ROWS_PER_COLUMN * n_columns:
        return effects, (
            f"Main effects not removed: {len(y)} fitting rows are fewer than "
            f"{ROWS_PER_COLUMN} per column ({n_columns} columns)."
        )
    root = np.sqrt(w)
    # the design's rows times sqrt(w): its Gram matrix is one symmetric rank-k update
    scaled = np.concatenate([root[:, None], z * root[:, None], indicators * root[:, None]], axis=1)
    coef = np.linalg.solve(ridged(scaled.T @ scaled), scaled.T @ (root * y))[1 + z.shape[1] :]
    features = np.unique(owner)
    steps = indicators @ (coef[:, None] * (owner[:, None] == features[None, :]))  # (n, f)
    effects[:, features] = _less_own_columns(steps, z, features, columns, w / w.sum())
    return effects, None


def _indicators(
    z: np.ndarray, values: np.ndarray, categorical: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every movable feature's indicator columns, and the feature each column belongs to."""
    movable = np.any(z != 0, axis=0)
    is_number = np.any((z != 0) & (z != -1), axis=0)
    n_bins = min(MAX_BINS, len(z) // (ROWS_PER_COLUMN * max(1, int(movable.sum()))))
    blocks, owners = [], []
    numbers = np.flatnonzero(is_number)
    if n_bins >= 2 and len(numbers):
        block, owner = _bin_indicators(z[:, numbers], n_bins)
        blocks.append(block)
        owners.append(numbers[owner])
    categories = np.flatnonzero(movable & categorical & ~is_number)
    if len(categories):
        block, owner = _replacement_indicators(z[:, categories], values[:, categories])
        blocks.append(block)
        owners.append(categories[owner])
    if not blocks:
        return np.zeros((len(z), 0)), np.zeros(0, dtype=np.int64)
    return np.concatenate(blocks, axis=1), np.concatenate(owners)


def _bin_indicators(z: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Indicators of each column's quantile bins, its first non-empty bin left out, and
    the column each belongs to. A column whose offsets fall in fewer than three bins
    gets none: with two levels an indicator is a straight line in ``z``."""
    bins = bin_codes(z, quantile_edges(z, n_bins))  # (n, d)
    flat = (bins + n_bins * np.arange(z.shape[1])).ravel()
    present = (
        np.bincount(flat, minlength=n_bins * z.shape[1]).reshape(-1, n_bins) > 0
    )  # (d, n_bins)
    keep = present & (np.cumsum(present, axis=1) > 1) & (present.sum(axis=1) >= 3)[:, None]
    owner, level = np.nonzero(keep)
    return (bins[:, owner] == level).astype(np.float64), owner


def _replacement_indicators(z: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indicators of the category that replaced the query's in each column, for those that did
    in at least ``ROWS_PER_COLUMN`` rows, the most frequent left out; and the column each
    belongs to."""
    codes = values.astype(np.int64) - MISSING_CODE  # 0: missing
    n_codes = int(codes.max()) + 1
    flat = (codes + n_codes * np.arange(z.shape[1])).ravel()
    counts = np.bincount(flat, weights=(z != 0).ravel(), minlength=n_codes * z.shape[1])
    counts = counts.reshape(-1, n_codes)  # (d, n_codes): rows where each code replaced
    frequent = counts >= ROWS_PER_COLUMN
    frequent[np.arange(len(counts)), np.argmax(counts, axis=1)] = False
    owner, code = np.nonzero(frequent)
    block = (codes[:, owner] == code) & (z[:, owner] != 0)
    return block.astype(np.float64), owner


def _less_own_columns(
    steps: np.ndarray, z: np.ndarray, features: np.ndarray, owner: np.ndarray, p: np.ndarray
) -> np.ndarray:
    """Each step function less its weighted least-squares fit on ``1`` and the ``z`` columns
    its feature owns (``features[i]`` is step ``i``'s; weights ``p``, summing to 1)."""
    out = _less_own_line(steps, z[:, features], p)
    for i, j in enumerate(features):
        own = np.flatnonzero(owner == j)
        if len(own) > 1:  # an offset and its point-mass columns: a plane, not a line
            design = np.concatenate([np.ones((len(z), 1)), z[:, own]], axis=1)
            root = np.sqrt(p)[:, None]
            coef = np.linalg.lstsq(design * root, steps[:, i] * root[:, 0], rcond=None)[0]
            out[:, i] = steps[:, i] - design @ coef
    return out


def _less_own_line(columns: np.ndarray, x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Each column less its weighted least-squares fit on ``1`` and the same column of ``x``
    (weights ``p``, summing to 1)."""
    centred = columns - p @ columns
    dx = x - p @ x
    spread = p @ dx**2
    slope = np.divide(p @ (dx * centred), spread, out=np.zeros_like(spread), where=spread > 0)
    return centred - dx * slope
