"""The array-operation Sobol points are scipy's scrambled Sobol points, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

from surrogate.sampling.sobol import scrambled_sobol


def _scipy_points(n: int, d: int, seed: np.random.SeedSequence) -> np.ndarray:
    m = max(0, int(np.ceil(np.log2(max(n, 1)))))
    return qmc.Sobol(d, scramble=True, seed=np.random.default_rng(seed)).random_base2(m)[:n]


@pytest.mark.parametrize("d", [1, 2, 7, 47, 130])
@pytest.mark.parametrize("n", [1, 2, 3, 1000, 1024, 3498])
def test_points_are_scipys(n, d):
    for entropy in (0, 12345, 2**70 + 3):
        ours = scrambled_sobol(n, d, np.random.SeedSequence(entropy))
        theirs = _scipy_points(n, d, np.random.SeedSequence(entropy))
        assert ours.shape == theirs.shape == (n, d)
        assert np.array_equal(ours, theirs)


def test_seed_is_spawned_from_as_scipy_does():
    # scipy spawns a child of the seed's sequence: a second stream from the same
    # SeedSequence object is the next child, for both
    ours, theirs = np.random.SeedSequence(7), np.random.SeedSequence(7)
    for _ in range(2):
        assert np.array_equal(scrambled_sobol(64, 5, ours), _scipy_points(64, 5, theirs))
    assert ours.n_children_spawned == theirs.n_children_spawned == 2
