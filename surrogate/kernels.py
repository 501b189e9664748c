"""Proximity kernels: turn a sampled row's distance to the query into a fitting weight.

Distances are root-mean-square standardised offsets (see the samplers), so a width
means the same thing whatever the number of features. Because the samplers draw
*from* the locality (GLIME, Tan, Tian & Li 2023), the kernel only needs to be mild:
the default width of 1.0 gives a row at the sampler's typical distance (about 0.5)
a weight near 0.78, so no handful of rows dominates the fit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import ParameterError, UnknownOptionError

DEFAULT_WIDTH = 1.0


def exponential(distance: np.ndarray, width: float) -> np.ndarray:
    """``exp(-d^2 / width^2)``."""
    return np.exp(-((distance / width) ** 2))


def uniform(distance: np.ndarray, width: float) -> np.ndarray:
    """Every sampled row weighs the same (the sampler alone defines locality)."""
    return np.ones_like(distance)


KERNELS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "exponential": exponential,
    "uniform": uniform,
}


def check_kernel(name: str, width: float | None) -> tuple[str, float]:
    """Validate a kernel choice; returns (name, width) with the default width filled in."""
    if name not in KERNELS:
        raise UnknownOptionError(f"Unknown kernel {name!r}; expected one of {sorted(KERNELS)}.")
    if width is None:
        return name, DEFAULT_WIDTH
    if (
        isinstance(width, bool)
        or not isinstance(width, int | float | np.integer | np.floating)
        or not np.isfinite(width)
        or width <= 0
    ):
        raise ParameterError(f"kernel_width must be a positive finite number, got {width!r}.")
    return name, float(width)


def kernel_weights(name: str, distance: np.ndarray, width: float) -> np.ndarray:
    return KERNELS[name](distance, width)
