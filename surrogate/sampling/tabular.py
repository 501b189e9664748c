"""Tabular samplers: draw rows around a query inside the training domain.

``gaussian``: each movable number is drawn from a normal around the query's value
with standard deviation ``scale`` training standard deviations, truncated to the
feature's bounds (integers are rounded and stay integers); each movable category
is, with probability ``category_change``, redrawn from its training frequencies
(missing counting as a category where the data has it). Immutable features, and
features constant in training, never move. ``z`` holds standardised offsets
``(x - query) / sd`` for numbers and "differs from the query" indicators for
categories.

``qmc``: the same scheme driven by scrambled Sobol points instead of pseudo-random
uniforms (lower variance for the same number of rows). Sobol points are balanced
in blocks of powers of two, so the sampler draws the next power of two and keeps
the first ``n``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special, stats
from scipy.stats import qmc

from ..errors import ParameterError, UnknownOptionError
from ..schema import MISSING_CODE, FeatureSchema
from .base import Neighborhood, Sampler

#: below this probability mass the inverse-CDF formula loses precision: use scipy's truncnorm.
_TAIL_MASS = 1e-12


class GaussianSampler:
    """Truncated normal offsets for numbers, frequency redraws for categories (see module doc)."""

    name = "gaussian"

    def __init__(self, schema: FeatureSchema, *, scale: float = 0.5, category_change: float = 0.3) -> None:
        if not (isinstance(scale, int | float) and np.isfinite(scale) and scale > 0):
            raise ParameterError(f"sampler scale must be a positive number of standard deviations, got {scale!r}.")
        if not (isinstance(category_change, int | float) and 0 <= category_change <= 1):
            raise ParameterError(f"category_change must be a probability in [0, 1], got {category_change!r}.")
        self.schema = schema
        self.scale = float(scale)
        self.category_change = float(category_change)
        self.z_names = schema.names
        features = schema.features
        self._numeric = [j for j, f in enumerate(features) if f.is_numeric and not f.frozen]
        self._categorical = [j for j, f in enumerate(features) if not f.is_numeric and not f.frozen]
        self._n_movable = max(1, len(self._numeric) + len(self._categorical))
        self._category_cdfs = {j: _category_cdf(features[j]) for j in self._categorical}

    def params(self) -> dict[str, Any]:
        return {"name": self.name, "scale": self.scale, "category_change": self.category_change}

    def sample(self, query: np.ndarray, n: int, seed: np.random.SeedSequence) -> Neighborhood:
        u = self._uniforms(n, len(self._numeric) + 2 * len(self._categorical), seed)
        values = np.repeat(query[None, :].astype(np.float64), n, axis=0)
        z = np.zeros((n, len(self.schema)), dtype=np.float64)
        for col, j in enumerate(self._numeric):
            values[:, j], z[:, j] = self._draw_number(j, query[j], u[:, col])
        offset = len(self._numeric)
        for k, j in enumerate(self._categorical):
            change = u[:, offset + 2 * k] < self.category_change
            drawn = self._category_cdfs[j](u[:, offset + 2 * k + 1])
            values[:, j] = np.where(change, drawn, query[j])
            z[:, j] = (values[:, j] != query[j]).astype(np.float64)
        distance = np.sqrt((z**2).sum(axis=1) / self._n_movable)
        return Neighborhood(values=values, z=z, distance=distance)

    def _uniforms(self, n: int, d: int, seed: np.random.SeedSequence) -> np.ndarray:
        return np.random.default_rng(seed).random((n, d))

    def _draw_number(self, j: int, q: float, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        feature = self.schema.features[j]
        if np.isnan(q):  # missing at the query (allowed by the schema): stays missing
            return np.full(len(u), np.nan), np.zeros(len(u))
        sd = feature.scale * self.scale
        lo, hi = feature.lower, feature.upper
        t = truncated_normal_ppf(u, (lo - q) / sd, (hi - q) / sd)
        x = np.clip(q + sd * t, lo, hi)
        if feature.kind == "integer":
            x = np.clip(np.round(x), np.ceil(lo), np.floor(hi))
        return x, (x - q) / feature.scale


class QMCSampler(GaussianSampler):
    """The gaussian scheme on scrambled Sobol points."""

    name = "qmc"

    def _uniforms(self, n: int, d: int, seed: np.random.SeedSequence) -> np.ndarray:
        if d == 0:
            return np.empty((n, 0))
        m = max(0, int(np.ceil(np.log2(max(n, 1)))))
        points = qmc.Sobol(d, scramble=True, seed=np.random.default_rng(seed)).random_base2(m)
        return points[:n]


def truncated_normal_ppf(u: np.ndarray, a: float, b: float) -> np.ndarray:
    """Inverse CDF of the standard normal truncated to [a, b], evaluated at uniforms ``u``."""
    if a > 0:  # work in the lower tail, where the normal CDF keeps its precision
        return -truncated_normal_ppf(1.0 - u, -b, -a)
    lo, hi = special.ndtr(a), special.ndtr(b)
    if hi - lo < _TAIL_MASS:
        return stats.truncnorm.ppf(u, a, b)
    p = np.clip(lo + u * (hi - lo), 1e-300, 1 - 1e-16)
    return np.clip(special.ndtri(p), a, b)


def _category_cdf(feature):
    """Inverse-CDF draw of category codes from training frequencies (missing as code -1)."""
    codes = list(range(len(feature.categories)))
    probs = list(feature.frequencies)
    if feature.missing_rate > 0:
        codes.append(MISSING_CODE)
        probs.append(feature.missing_rate)
    cdf = np.cumsum(probs) / np.sum(probs)
    table = np.array(codes, dtype=np.float64)

    def draw(u: np.ndarray) -> np.ndarray:
        return table[np.minimum(np.searchsorted(cdf, u, side="right"), len(table) - 1)]

    return draw


SAMPLERS: dict[str, type] = {"gaussian": GaussianSampler, "qmc": QMCSampler}


def make_sampler(spec: Any, schema: FeatureSchema, **options: Any) -> Sampler:
    """A sampler from its registry name (or a ready sampler object)."""
    if isinstance(spec, str):
        if spec not in SAMPLERS:
            raise UnknownOptionError(f"Unknown sampler {spec!r}; expected one of {sorted(SAMPLERS)}.")
        try:
            return SAMPLERS[spec](schema, **options)
        except TypeError as exc:
            raise ParameterError(f"Invalid options for sampler {spec!r}: {exc}") from exc
    if hasattr(spec, "sample") and hasattr(spec, "z_names"):
        return spec
    raise UnknownOptionError(
        f"sampler must be one of {sorted(SAMPLERS)} or a sampler object, got {type(spec).__name__}."
    )
