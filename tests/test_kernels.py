"""Proximity kernels: the choice and its width are checked; weights have known values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from surrogate.errors import ParameterError, UnknownOptionError
from surrogate.kernels import DEFAULT_WIDTH, KERNELS, check_kernel, kernel_weights


# ---- check_kernel ---------------------------------------------------------------------------------
def test_registry_holds_the_documented_kernels():
    assert sorted(KERNELS) == ["exponential", "uniform"]


@pytest.mark.parametrize("name", ["exponential", "uniform"])
def test_no_width_means_the_default_width(name):
    assert DEFAULT_WIDTH == 1.0
    assert check_kernel(name, None) == (name, 1.0)


@pytest.mark.parametrize(
    "width", [2, 0.25, np.int64(2), np.float64(0.5), np.float32(3.0), 1e-9, 1e9]
)
def test_a_positive_finite_width_is_kept_as_a_float(width):
    name, kept = check_kernel("exponential", width)
    assert name == "exponential"
    assert type(kept) is float and kept == pytest.approx(float(width))


def test_an_unknown_kernel_is_refused_with_the_valid_names():
    with pytest.raises(UnknownOptionError, match=r"'gaussian'.*\['exponential', 'uniform'\]"):
        check_kernel("gaussian", None)


@pytest.mark.parametrize(
    "width",
    [0, 0.0, -1.0, np.int64(0), math.nan, math.inf, -math.inf, True, np.bool_(True), "1", [1.0]],
)
def test_a_bad_width_is_refused_by_name(width):
    with pytest.raises(ParameterError, match=r"kernel_width must be a positive finite number, got"):
        check_kernel("exponential", width)


def test_a_bad_width_is_refused_for_the_uniform_kernel_too():
    """The uniform kernel ignores the width, but a wrong one is still a mistake worth naming."""
    with pytest.raises(ParameterError, match="kernel_width"):
        check_kernel("uniform", -2.0)


# ---- kernel_weights -------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [0.5, 1.0, 3.0])
def test_exponential_values_at_zero_and_at_the_width(width):
    d = np.array([0.0, width, 2 * width])
    np.testing.assert_allclose(
        kernel_weights("exponential", d, width), [1.0, math.exp(-1), math.exp(-4)]
    )


def test_exponential_default_width_at_the_typical_sampler_distance():
    """The module's own figure: a row at distance 0.5 weighs about 0.78 with the default width."""
    (w,) = kernel_weights("exponential", np.array([0.5]), DEFAULT_WIDTH)
    assert w == pytest.approx(math.exp(-0.25)) and round(w, 2) == 0.78


def test_exponential_decreases_with_distance_and_stays_positive():
    d = np.linspace(0.0, 5.0, 101)
    w = kernel_weights("exponential", d, 1.5)
    assert np.all(np.diff(w) < 0)
    assert np.all((w > 0) & (w <= 1))


def test_a_wider_kernel_weighs_far_rows_more():
    d = np.array([0.3, 1.0, 2.0])
    assert np.all(kernel_weights("exponential", d, 2.0) > kernel_weights("exponential", d, 1.0))


def test_exponential_depends_on_distance_over_width_only():
    d = np.array([0.0, 0.2, 0.7, 1.9])
    np.testing.assert_allclose(
        kernel_weights("exponential", d, 2.5), kernel_weights("exponential", d / 2.5, 1.0)
    )


@pytest.mark.parametrize("width", [0.1, 1.0, 10.0])
def test_uniform_weighs_every_row_the_same(width):
    d = np.array([0.0, 0.5, 1.0, 7.0])
    w = kernel_weights("uniform", d, width)
    assert w.shape == d.shape
    np.testing.assert_array_equal(w, np.ones(4))
