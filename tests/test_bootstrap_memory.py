"""The bootstrap Gram matrices of the linear surrogate are formed in bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np

from surrogate.surrogates import linear


def _case(n: int, d1: int, B: int = 20):
    rng = np.random.default_rng(7)
    design = np.concatenate([np.ones((n, 1)), rng.normal(size=(n, d1 - 1))], axis=1)
    weights = rng.random((B, n)) * rng.integers(0, 3, size=(B, n))
    return design, weights


def test_blocks_assemble_every_resample_gram_matrix(monkeypatch):
    design, weights = _case(300, 40)
    monkeypatch.setattr(linear, "GRAM_BLOCK_BYTES", 300 * 8 * 7)  # blocks of 7 columns
    gram = linear._resampled_gram(design, weights)
    for b in (0, 7, 19):
        expected = (design * weights[b][:, None]).T @ design
        np.testing.assert_allclose(gram[b], expected, rtol=1e-12, atol=1e-12)
        assert np.array_equal(gram[b], gram[b].T)


def test_a_narrow_design_is_one_product_as_before():
    design, weights = _case(2000, 21)
    upper_i, upper_j = np.triu_indices(21)
    whole = weights @ (design[:, upper_i] * design[:, upper_j])
    assert np.array_equal(linear._resampled_gram(design, weights)[:, upper_i, upper_j], whole)


def test_memory_grows_with_the_block_not_with_the_square_of_the_features():
    n, d1, B = 3000, 301, 20
    design, weights = _case(n, d1, B)
    products = n * d1 * (d1 + 1) // 2 * 8  # what one product over every column would hold
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        gram = linear._resampled_gram(design, weights)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # a block's two gathered columns and their product, the triangles and the matrices
    bound = 3 * linear.GRAM_BLOCK_BYTES + 3 * gram.nbytes
    assert products > 4 * bound  # the case is wide enough to tell the two apart
    assert peak < bound, (peak, bound, products)
