"""Quantile bins of sampled numbers, shared by the families that fit steps.

A column is cut at its sample quantiles: ``n_bins`` bins of about equal row
counts. Bins are closed on the left, ``[edge[b - 1], edge[b])``: a row's bin is the
number of edges at or below its value. Tied values (integers, a point mass) make
repeated edges; the bins between repeated edges are empty.
"""

from __future__ import annotations

import numpy as np


def quantile_edges(x: np.ndarray, n_bins: int) -> np.ndarray:
    """The ``n_bins - 1`` inner quantile edges of each column of ``x`` (n, d): shape (n_bins - 1, d).

    The columns are sorted first: numpy partitions them around the quantiles' ranks, which
    is quick on sorted columns, and sorting costs less than partitioning unsorted ones
    (the same order statistics, so the same edges).
    """
    return np.quantile(np.sort(x, axis=0), np.linspace(0.0, 1.0, n_bins + 1)[1:-1], axis=0)


def bin_codes(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each value's bin, per column: the number of that column's edges at or below it.

    ``x`` is (n, d) and ``edges`` (n_edges, d), each column's edges ascending; a NaN
    value lands in bin 0 (callers mark missing values themselves).
    """
    return (x[:, None, :] >= edges[None, :, :]).sum(axis=1)
