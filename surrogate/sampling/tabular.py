"""Tabular samplers: draw rows around a query inside the training domain.

``gaussian``: each movable number is drawn from a normal around the query's value
with standard deviation ``scale`` training standard deviations, truncated to the
feature's bounds (integers are rounded and stay integers; a date is a number of days,
whole days for a column of dates, see :mod:`surrogate.schema`); each movable category
is, with probability ``category_change``, redrawn from its training frequencies
(missing counting as a category where the data has it); a query value outside
the training range widens that range to include it, so rows are drawn around the
query itself (and counted as extrapolation). Immutable features, and
features constant in training, never move. With ``number_change`` > 0 each movable
number is also, with that probability, redrawn from its training values (the
number's counterpart of a category's redraw; missing training values are not drawn):
the neighbourhood then holds the model's behaviour across the training population
of every feature, which contributions stated against that population need (the
review's reason codes), instead of a surrogate's extrapolation beyond the query's
surroundings. A redrawn number is a replacement, as a redrawn category is: it counts
in the distance (below) at most as a replaced category does, however far from the
query it lands, so rows redrawn far out keep some kernel weight and the surrogate
learns the model there too. ``z`` holds standardised offsets
``(x - query) / sd`` for numbers and, for categories, ``-1`` where the row's
category differs from the query's and ``0`` where it is the same. Every sampler's
``z`` is 0 at the query and an indicator is -1 where something of the query was
taken away (as for words and image segments), so a linear weight on it reads "the
effect of *having* the query's category rather than another drawn from the
training frequencies".

Point masses (``gaussian`` and ``qmc``): a number whose training values pile up on
one value (``Feature.point_masses``, e.g. ``capital_gain`` is 0 for 92% of Adult)
keeps it. Each sampled row is at the point with the point's training share (a
uniform of its own decides, so the Sobol points of ``qmc`` stay balanced in every
other dimension); otherwise the value comes from the truncated normal above with
the point's rounding cell cut out, so the point's share in the neighbourhood is
exactly its training share whatever the query. A query at the point thus keeps
its own situation in the neighbourhood, and a query away from it meets the point
as often as the training data does. ``z`` gets one more column per point, after
the features' columns, named ``"capital_gain is 0"``: ``-1`` where the row's state
(at the point or not) differs from the query's, ``0`` where it is the same, so the
linear surrogate can describe the jump a model makes at the point. The distance
is computed on the features' columns only (a point's state is already in its
feature's offset), a redrawn number's squared offset capped at 1.
``point_masses=False`` samples every number as if it had none.

``qmc``: the same scheme driven by scrambled Sobol points instead of pseudo-random
uniforms (lower variance for the same number of rows). Sobol points are balanced
in blocks of powers of two, so the sampler draws the next power of two and keeps
the first ``n``.

``lime``: LIME's default tabular scheme (discretised, quartile bins), learned once
from the training values. Each movable number is binned at the training quartiles
(bins ``x <= q25``, ``q25 < x <= q50``, ``q50 < x <= q75``, ``x > q75``); a sampled
row draws a bin from the training bin frequencies, then a value inside it from a
normal with the mean and standard deviation of the training values in that bin,
truncated to the bin (integers are drawn among the integers of the bin). Missing
numbers form a bin of their own. Each movable category is drawn from its training
frequencies, whatever the query's. ``z`` is ``-1`` where the row's bin (category)
differs from the query's and ``0`` where it is the same: LIME's own binary data
shifted by one, so that ``z`` is 0 at the query as every sampler's is; a surrogate
weight therefore reads "being in the query's bin rather than another", with the
same sign as LIME's weight.
The distance is LIME's Euclidean distance on that binary representation, divided by
the square root of the number of movable features (the library's root-mean-square
convention, see :mod:`surrogate.kernels`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from ..errors import DataError, ParameterError, UnknownOptionError
from ..schema import MISSING_CODE, Feature, FeatureSchema, format_value, point_flag_label
from .base import Neighborhood, Sampler
from .sobol import scrambled_sobol

#: below this probability mass the inverse-CDF formula loses precision: use scipy's truncnorm.
_TAIL_MASS = 1e-12
#: up to this many codes a draw counts the cdf's values below it, 2-4x faster than a binary
#: search (numpy's searchsorted), the same codes
_COUNTED_CODES = 16
#: LIME's default kernel width is this factor times sqrt(number of features).
LIME_WIDTH_FACTOR = 0.75
#: training percentiles that bound the ``lime`` sampler's bins
LIME_PERCENTILES = (25.0, 50.0, 75.0)


class GaussianSampler:
    """Truncated normal offsets for numbers, frequency redraws for categories (see module doc).

    Parameters
    ----------
    schema : FeatureSchema
    scale : float, default 0.5
        Standard deviation of the numbers' offsets, in training standard deviations.
    category_change : float, default 0.3
        Probability that a movable category is redrawn from its training frequencies.
    point_masses : bool, default True
        Keep the schema's point masses (module doc); False draws every number from the
        truncated normal alone.
    number_change : float, default 0.0
        Probability that a movable number is redrawn from its training values (module
        doc); above 0 it needs ``training_values``.
    training_values : ndarray of shape (n_rows, n_features), optional
        The training data in the values view (``schema.encode(X_train)``), from which
        ``number_change`` redraws; ``make_sampler`` passes it when ``number_change`` > 0.
    """

    name = "gaussian"

    def __init__(
        self,
        schema: FeatureSchema,
        *,
        scale: float = 0.5,
        category_change: float = 0.3,
        point_masses: bool = True,
        number_change: float = 0.0,
        training_values: np.ndarray | None = None,
    ) -> None:
        if not (isinstance(scale, int | float) and np.isfinite(scale) and scale > 0):
            raise ParameterError(
                f"sampler scale must be a positive number of standard deviations, got {scale!r}."
            )
        if not (isinstance(category_change, int | float) and 0 <= category_change <= 1):
            raise ParameterError(
                f"category_change must be a probability in [0, 1], got {category_change!r}."
            )
        if not isinstance(point_masses, bool | np.bool_):
            raise ParameterError(f"point_masses must be True or False, got {point_masses!r}.")
        if not (isinstance(number_change, int | float) and 0 <= number_change <= 1):
            raise ParameterError(
                f"number_change must be a probability in [0, 1], got {number_change!r}."
            )
        self.schema = schema
        self.scale = float(scale)
        self.category_change = float(category_change)
        self.point_masses = bool(point_masses)
        self.number_change = float(number_change)
        features = schema.features
        self._numeric = [j for j, f in enumerate(features) if f.is_numeric and not f.frozen]
        self._categorical = [j for j, f in enumerate(features) if not f.is_numeric and not f.frozen]
        self._n_movable = max(1, len(self._numeric) + len(self._categorical))
        #: movable categories' codes and cumulative training frequencies, for redraws
        self._category_cdfs = {j: _category_cdf(features[j]) for j in self._categorical}
        #: movable numbers whose point masses are kept: feature index -> (values, shares)
        self._points = {
            j: (
                np.array([v for v, _ in features[j].point_masses]),
                np.array([s for _, s in features[j].point_masses]),
            )
            for j in self._numeric
            if self.point_masses and features[j].point_masses
        }
        # movable numbers' training values and shares, for ``number_change`` redraws
        training_numbers: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if self.number_change > 0:
            values = _check_training_values(training_values, schema, "number_change")
            training_numbers = {j: _value_shares(values[:, j]) for j in self._numeric}
            empty = [features[j].name for j, (v, _) in training_numbers.items() if not len(v)]
            if empty:
                raise ParameterError(
                    f"number_change redraws numbers from their training values, but "
                    f"training_values holds none for {empty} (every value missing)."
                )
        #: hashed once: every explanation's provenance states it
        self._numbers_fingerprint = _numbers_fingerprint(training_numbers)
        #: the same values with their cumulative shares, inverted by each redraw
        self._number_cdfs = {j: (v, _cdf(shares)) for j, (v, shares) in training_numbers.items()}
        #: the flag columns of z, after the features' columns: (feature index, point value)
        self._flags = [(j, float(v)) for j, (points, _) in self._points.items() for v in points]
        self.z_names = schema.names + tuple(
            point_flag_label(features[j], v) for j, v in self._flags
        )
        _check_unique(self.z_names)
        #: which z columns are standardised offsets (weights convert to original units)
        self.z_offsets = tuple(f.is_numeric for f in features) + (False,) * len(self._flags)

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "name": self.name,
            "scale": self.scale,
            "category_change": self.category_change,
        }
        if any(self.schema.features[j].point_masses for j in self._numeric):
            params["point_masses"] = self.point_masses  # the points are in the schema fingerprint
        if self.number_change > 0:  # left out at 0, so earlier provenance stays as it was
            params["number_change"] = self.number_change
            params["training_numbers_fingerprint"] = self._numbers_fingerprint
        return params

    def sample(self, query: np.ndarray, n: int, seed: np.random.SeedSequence) -> Neighborhood:
        return self._around(query, self._uniforms(n, self._n_uniforms(), seed))

    def sample_streams(
        self, query: np.ndarray, draws: Sequence[tuple[int, np.random.SeedSequence]]
    ) -> list[Neighborhood]:
        """``sample(query, n, seed)`` for each ``(n, seed)`` of ``draws``, in one pass over the
        features: a row is drawn from its own uniforms alone, so the rows of the streams'
        uniforms stacked are the rows of separate calls."""
        d = self._n_uniforms()
        hood = self._around(query, np.concatenate([self._uniforms(n, d, seed) for n, seed in draws]))
        cuts = np.cumsum([n for n, _ in draws])[:-1]
        return [
            Neighborhood(values=values, z=z, distance=distance)
            for values, z, distance in zip(
                np.split(hood.values, cuts),
                np.split(hood.z, cuts),
                np.split(hood.distance, cuts),
                strict=True,
            )
        ]

    def sample_around(
        self, queries: np.ndarray, n: int, seed: np.random.SeedSequence
    ) -> np.ndarray:
        """``n`` rows around each of ``queries`` (values view), query after query, from one
        stream of uniforms: augmenting a data set without building a stream (for ``qmc`` a
        scrambled Sobol sequence) for every row."""
        u = self._uniforms(len(queries) * n, self._n_uniforms(), seed)
        blocks = [self._around(q, u[i * n : (i + 1) * n]).values for i, q in enumerate(queries)]
        return np.concatenate(blocks) if blocks else np.empty((0, len(self.schema)))

    def _n_uniforms(self) -> int:
        # the point-mass decisions, then the numbers' redraws take the last dimensions, so
        # a schema without point masses (a sampler without redraws) draws exactly the rows
        # it drew before they existed
        return (
            len(self._numeric)
            + 2 * len(self._categorical)
            + len(self._points)
            + 2 * len(self._number_cdfs)
        )

    def _around(self, query: np.ndarray, u: np.ndarray) -> Neighborhood:
        """The rows around ``query`` that uniforms ``u`` (one row each) stand for."""
        n, n_numeric, n_categorical = len(u), len(self._numeric), len(self._categorical)
        # drawn a feature at a time: column-major uniforms, values and z keep each feature's
        # column contiguous (a third faster), the rows are returned row-major as before
        u = np.asfortranarray(u)
        point_column = {j: n_numeric + 2 * n_categorical + k for k, j in enumerate(self._points)}
        redraw_column = {
            j: n_numeric + 2 * n_categorical + len(self._points) + 2 * k
            for k, j in enumerate(self._number_cdfs)
        }
        p = len(self.schema)
        values = np.empty((n, p), order="F")
        values[:] = query
        z = np.zeros((n, len(self.z_names)), order="F")
        redrawn: dict[int, np.ndarray] = {}
        for col, j in enumerate(self._numeric):
            u_point = u[:, point_column[j]] if j in point_column else None
            values[:, j], z[:, j] = self._draw_number(j, query[j], u[:, col], u_point)
            if j in redraw_column and not np.isnan(query[j]):  # a missing query stays missing
                c = redraw_column[j]
                values[:, j], z[:, j], redrawn[j] = self._redraw_number(
                    j, query[j], values[:, j], u[:, c : c + 2]
                )
        for k, j in enumerate(self._categorical):
            values[:, j], z[:, j] = self._draw_category(
                j, query[j], u[:, n_numeric + 2 * k], u[:, n_numeric + 2 * k + 1]
            )
        self._flag_columns(z, query, values)
        values, z = np.ascontiguousarray(values), np.ascontiguousarray(z)
        reach = z[:, :p] ** 2  # each feature's share of the squared distance
        for j, rows in redrawn.items():
            # a redrawn number is a replacement, as a redrawn category is: it counts in
            # the distance at most as a replaced category does, however far it lands
            reach[rows, j] = np.minimum(reach[rows, j], 1.0)
        distance = np.sqrt(reach.sum(axis=1) / self._n_movable)
        return Neighborhood(values=values, z=z, distance=distance)

    def z_of(self, query: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``z`` of any rows ``values`` (values view) around ``query``, as :meth:`sample`
        states it: numbers' standardised offsets (0 where either value is missing),
        categories' and point states' -1 where they differ from the query's."""
        z = np.zeros((len(values), len(self.z_names)), dtype=np.float64)
        for j in self._numeric:
            unit = float(self.schema.features[j].scale or 1.0)
            z[:, j] = np.nan_to_num((values[:, j] - query[j]) / unit, nan=0.0)
        for j in self._categorical:
            z[:, j] = -(values[:, j] != query[j]).astype(np.float64)
        self._flag_columns(z, query, values)
        return z

    def _flag_columns(self, z: np.ndarray, query: np.ndarray, values: np.ndarray) -> None:
        """Fill the point states' columns of ``z`` (after the features'): -1 where a row is
        on a point mass and the query is not, or the other way round."""
        p = len(self.schema)
        for k, (j, v) in enumerate(self._flags):
            z[:, p + k] = -((values[:, j] == v) != (query[j] == v)).astype(np.float64)

    def point_mass_notes(self, query: np.ndarray) -> tuple[str, ...]:
        """The kept point masses in words, for the explanation of ``query`` (values view).

        >>> sampler.point_mass_notes(query)  # doctest: +SKIP
        ('capital_gain is 0 for 91.7% of training rows and for this query; ...',)
        """
        notes = []
        for j, (points, shares) in self._points.items():
            feature = self.schema.features[j]
            for v, share in zip(points, shares, strict=True):
                notes.append(_point_note(feature, float(v), float(share), float(query[j])))
        return tuple(notes)

    def _uniforms(self, n: int, d: int, seed: np.random.SeedSequence) -> np.ndarray:
        return np.random.default_rng(seed).random((n, d))

    def _draw_number(
        self, j: int, q: float, u: np.ndarray, u_point: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        feature = self.schema.features[j]
        if np.isnan(q):  # missing at the query (allowed by the schema): stays missing
            return np.full(len(u), np.nan), np.zeros(len(u))
        # a movable number always has training statistics: scale > 0 and finite bounds
        unit, lo, hi = (
            float(feature.scale or 0.0),
            float(feature.lower or 0.0),
            float(feature.upper or 0.0),
        )
        # a query outside the training range is sampled around itself, on the side of the
        # range it lies on: the neighbourhood is the model's behaviour *there* (extrapolation,
        # which the explanation reports), not a distant slice of the training range
        lo, hi = min(lo, q), max(hi, q)
        sd = unit * self.scale
        integer = feature.whole  # integers, and dates without a time of day
        if u_point is None:
            t = truncated_normal_ppf(u, (lo - q) / sd, (hi - q) / sd)
        else:
            points = self._points[j][0]
            pieces = _without_cells(lo, hi, points, integer)
            t = truncated_normal_ppf_pieces(u, [((a - q) / sd, (b - q) / sd) for a, b in pieces])
        x = np.clip(q + sd * t, lo, hi)
        if integer:
            x = np.clip(np.round(x), np.ceil(lo), np.floor(hi))
        if u_point is not None:
            x = self._at_points(j, x, u_point)
        return x, (x - q) / unit

    def _redraw_number(
        self, j: int, q: float, x: np.ndarray, u: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``x`` with the rows whose ``u[:, 0]`` falls under ``number_change`` redrawn from
        the training values (inverse CDF at ``u[:, 1]``), their offsets, and which rows
        were redrawn."""
        drawn = _inverse_cdf(*self._number_cdfs[j], u[:, 1])
        redrawn = u[:, 0] < self.number_change
        x = np.where(redrawn, drawn, x)
        return x, (x - q) / float(self.schema.features[j].scale or 1.0), redrawn

    def _at_points(self, j: int, x: np.ndarray, u_point: np.ndarray) -> np.ndarray:
        """``x`` with each row put at a point with the point's training share."""
        points, shares = self._points[j]
        which = np.searchsorted(np.cumsum(shares), u_point, side="right")
        at = which < len(points)
        return np.where(at, points[np.minimum(which, len(points) - 1)], x)

    def _draw_category(
        self, j: int, q: float, u_change: np.ndarray, u_category: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        drawn = _inverse_cdf(*self._category_cdfs[j], u_category)
        x = np.where(u_change < self.category_change, drawn, q)
        return x, -(x != q).astype(np.float64)


class QMCSampler(GaussianSampler):
    """The gaussian scheme on scrambled Sobol points."""

    name = "qmc"

    def _uniforms(self, n: int, d: int, seed: np.random.SeedSequence) -> np.ndarray:
        if d == 0:
            return np.empty((n, 0))
        return scrambled_sobol(n, d, seed)


def truncated_normal_ppf(u: np.ndarray, a: float, b: float) -> np.ndarray:
    """Inverse CDF of the standard normal truncated to [a, b], evaluated at uniforms ``u``."""
    if a > 0:  # work in the lower tail, where the normal CDF keeps its precision
        return -truncated_normal_ppf(1.0 - u, -b, -a)
    lo, hi = special.ndtr(a), special.ndtr(b)
    if hi - lo < _TAIL_MASS:
        return stats.truncnorm.ppf(u, a, b)
    p = np.clip(lo + u * (hi - lo), 1e-300, 1 - 1e-16)
    return np.clip(special.ndtri(p), a, b)


def truncated_normal_ppf_pieces(u: np.ndarray, pieces: list[tuple[float, float]]) -> np.ndarray:
    """Inverse CDF of the standard normal truncated to a union of disjoint intervals.

    ``pieces`` are ``(a, b)`` with ``a < b``, in increasing order. Uniforms map
    monotonically onto the union (a piece gets the share of ``u`` its normal mass
    holds, then its own truncated inverse CDF), so balanced points stay balanced.
    """
    log_mass = np.array([_log_normal_mass(a, b) for a, b in pieces])
    mass = np.exp(log_mass - log_mass.max())
    cdf = np.cumsum(mass) / mass.sum()
    below = np.concatenate([[0.0], cdf[:-1]])
    k = np.minimum(np.searchsorted(cdf, u, side="right"), len(pieces) - 1)
    inner = np.clip((u - below[k]) / (cdf[k] - below[k]), 0.0, 1.0)
    t = np.empty(len(u))
    for i, (a, b) in enumerate(pieces):
        rows = k == i
        if rows.any():
            t[rows] = truncated_normal_ppf(inner[rows], a, b)
    return t


def _log_normal_mass(a: float, b: float) -> float:
    """log(Phi(b) - Phi(a)) for a < b, precise in either tail."""
    if a > 0:  # upper tail: the mirror image is in the lower tail, where log_ndtr is precise
        a, b = -b, -a
    upper, lower = special.log_ndtr(b), special.log_ndtr(a)
    return float(upper + np.log1p(-np.exp(lower - upper)))


def _without_cells(
    lo: float, hi: float, points: np.ndarray, integer: bool
) -> list[tuple[float, float]]:
    """``[lo, hi]`` less the values that land on a point: its rounding cell for an integer
    (reaching the bound where the bound's integer is the point), nothing for a real number
    (a point has no width there). Pieces of no width are dropped."""
    if not integer:
        return [(lo, hi)]
    first, last = np.ceil(lo), np.floor(hi)
    pieces, start = [], lo
    for v in np.sort(points):
        cut_lo = -np.inf if v <= first else v - 0.5
        cut_hi = np.inf if v >= last else v + 0.5
        if cut_lo > start:
            pieces.append((start, min(cut_lo, hi)))
        start = max(start, cut_hi)
    if start < hi:
        pieces.append((start, hi))
    pieces = [(a, b) for a, b in pieces if b > a]
    if not pieces:  # every integer in range is a point: cannot happen for a learned schema
        raise DataError(
            f"Every integer in [{lo}, {hi}] is a point mass; there is no value left to draw "
            "around the query. Learn the schema with a larger point_mass_share."
        )
    return pieces


def _point_note(feature: Feature, v: float, share: float, q: float) -> str:
    state = (
        "and for this query"
        if q == v
        else f"but not for this query ({format_value(feature, q)})"
        if not np.isnan(q)
        else "but not for this query (missing)"
    )
    return (
        f"{feature.name} is {format_value(feature, v)} for {share:.1%} of training rows {state}; "
        f"the neighbourhood keeps that share at {format_value(feature, v)}."
    )


def _numbers_fingerprint(numbers: dict[int, tuple[np.ndarray, np.ndarray]]) -> str:
    """A hash of the training numbers that redraws come from (feature -> values, shares)."""
    digest = hashlib.sha256()
    for j in sorted(numbers):
        values, shares = numbers[j]
        digest.update(repr((j, values.tolist(), shares.tolist())).encode())
    return digest.hexdigest()


def _check_unique(names: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(
                f"The column {name!r} is both a feature and the name of a point-mass state of "
                "another feature; rename the column, or sample with point_masses=False."
            )
        seen.add(name)


def _category_cdf(feature: Feature) -> tuple[np.ndarray, np.ndarray]:
    """Category codes seen in training (missing as ``MISSING_CODE``) and their cumulative
    frequencies."""
    codes = np.append(np.arange(len(feature.categories)), MISSING_CODE).astype(np.float64)
    frequencies = np.append(np.asarray(feature.frequencies, dtype=np.float64), feature.missing_rate)
    seen = frequencies > 0
    return codes[seen], _cdf(frequencies[seen])


def _value_shares(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A number's distinct training values (missing left out) and their counts."""
    values, counts = np.unique(column[~np.isnan(column)], return_counts=True)
    return values, counts.astype(np.float64)


def _cdf(frequencies: np.ndarray) -> np.ndarray:
    """The cumulative distribution of (unnormalised) frequencies, learned once per sampler."""
    return np.cumsum(frequencies) / frequencies.sum()


def _inverse_cdf(codes: np.ndarray, cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Codes drawn by inverting their cumulative distribution ``cdf`` at ``u``: a draw's code
    is the number of the cdf's values at or below its uniform (the last code at most)."""
    if len(cdf) > _COUNTED_CODES:
        return codes[np.minimum(np.searchsorted(cdf, u, side="right"), len(codes) - 1)]
    index = np.zeros(len(u), dtype=np.intp)
    for c in cdf[:-1]:
        index += u >= c
    return codes[index]


# ---- lime ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuartileBins:
    """The quartile bins of one number, learned from its training values.

    Bin ``b`` holds ``edges[b-1] < x <= edges[b]`` (open-ended at both extremes);
    ``lower``/``upper`` bound the values drawn in it (the training minimum and
    maximum close the outer bins), ``mean``/``sd`` are the training values' moments
    in it. ``codes`` are the bins a row may fall in (-1: missing) and ``cdf`` their
    cumulative training frequencies.
    """

    edges: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    codes: np.ndarray
    cdf: np.ndarray
    integer: bool

    @classmethod
    def learn(cls, column: np.ndarray, feature: Feature) -> QuartileBins:
        """Bins of one training column (NaN = missing)."""
        present = column[~np.isnan(column)]
        if len(present) == 0:
            raise DataError(
                f"Feature {feature.name!r} has no non-missing value in training_values; "
                "the lime sampler needs them to learn its quartile bins."
            )
        edges = np.percentile(present, LIME_PERCENTILES)
        index = np.searchsorted(edges, present, side="left")
        n_bins = len(edges) + 1
        counts = np.bincount(index, minlength=n_bins).astype(np.float64)
        mean = np.array([present[index == b].mean() if counts[b] else 0.0 for b in range(n_bins)])
        sd = np.array([present[index == b].std() if counts[b] else 0.0 for b in range(n_bins)])
        frequencies = np.append(counts, len(column) - len(present)) / len(column)
        codes = np.append(np.arange(n_bins), MISSING_CODE).astype(np.float64)
        keep = frequencies > 0
        return cls(
            edges=edges,
            lower=np.concatenate([[present.min()], edges]),
            upper=np.concatenate([edges, [present.max()]]),
            mean=mean,
            sd=sd,
            codes=codes[keep],
            cdf=_cdf(frequencies[keep]),
            integer=feature.whole,
        )

    def index(self, x: np.ndarray) -> np.ndarray:
        """Bin of each value (``MISSING_CODE`` for NaN)."""
        x = np.asarray(x, dtype=np.float64)
        bins = np.searchsorted(self.edges, np.where(np.isnan(x), 0.0, x), side="left")
        return np.where(np.isnan(x), MISSING_CODE, bins)

    def draw(self, u_bin: np.ndarray, u_value: np.ndarray) -> np.ndarray:
        """Values from uniforms: a bin by training frequency, then a value inside it."""
        bins = _inverse_cdf(self.codes, self.cdf, u_bin)
        x = np.full(len(u_bin), np.nan)
        for b in np.unique(bins[bins != MISSING_CODE]).astype(int):
            rows = bins == b
            x[rows] = self._value_in_bin(b, u_value[rows])
        return x

    def _value_in_bin(self, b: int, u: np.ndarray) -> np.ndarray:
        lo, hi, mean, sd = self.lower[b], self.upper[b], self.mean[b], self.sd[b]
        if sd > 0 and hi > lo:
            x = np.clip(
                mean + sd * truncated_normal_ppf(u, (lo - mean) / sd, (hi - mean) / sd), lo, hi
            )
        else:  # every training value in the bin is the same
            x = np.full(len(u), mean)
        if self.integer:  # the integers of the bin: (edges[b-1], edges[b]]
            low = np.ceil(lo) if b == 0 else np.floor(lo) + 1
            x = np.clip(np.round(x), low, np.floor(hi))
        return x

    def share(self, value: float) -> float:
        """Training share of the bin ``value`` falls in (0 for a bin no training row is in)."""
        matches = np.flatnonzero(self.codes == self.index(np.array([value]))[0])
        shares = np.diff(np.concatenate([[0.0], self.cdf]))
        return float(shares[matches[0]]) if len(matches) else 0.0

    def table(self) -> list[list[float]]:
        """The learned numbers, for fingerprints."""
        return [
            a.tolist()
            for a in (self.edges, self.lower, self.upper, self.mean, self.sd, self.codes, self.cdf)
        ]


class LimeSampler:
    """LIME's default tabular scheme: quartile bins and training frequencies (see module doc).

    Parameters
    ----------
    schema : FeatureSchema
        Kinds, categories, frequencies and immutables of the features.
    training_values : ndarray of shape (n_rows, n_features)
        The training data in the values view (``schema.encode(X_train)``); the
        numbers' quartile bins and in-bin moments are learned from it, once.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from surrogate.schema import FeatureSchema
    >>> X = pd.DataFrame({"a": np.arange(100.0), "b": ["x", "y"] * 50})
    >>> schema = FeatureSchema.infer(X)
    >>> sampler = LimeSampler(schema, training_values=schema.encode(X))
    >>> hood = sampler.sample(schema.encode(X.iloc[[3]])[0], 4, np.random.SeedSequence(0))
    >>> hood.values.shape, hood.z.shape
    ((4, 2), (4, 2))
    """

    name = "lime"
    #: ``make_sampler`` passes the training values to samplers that set this.
    needs_training_values = True
    #: every number and category is drawn from its training distribution, whatever the query's
    number_change = 1.0
    category_change = 1.0

    def __init__(self, schema: FeatureSchema, *, training_values: np.ndarray | None = None) -> None:
        self.schema = schema
        self.z_names = schema.names
        self.z_offsets = tuple(False for _ in schema.features)  # bin indicators only
        features = schema.features
        values = _check_training_values(training_values, schema, "The lime sampler's quartile bins")
        self._numeric = [j for j, f in enumerate(features) if f.is_numeric and not f.frozen]
        self._categorical = [j for j, f in enumerate(features) if not f.is_numeric and not f.frozen]
        self._n_movable = max(1, len(self._numeric) + len(self._categorical))
        self._bins = {j: QuartileBins.learn(values[:, j], features[j]) for j in self._numeric}
        self._category_cdfs = {j: _category_cdf(features[j]) for j in self._categorical}

    def params(self) -> dict[str, Any]:
        """Name, LIME's kernel width and its equivalent for this library's distances.

        LIME weighs a row by ``sqrt(exp(-d^2 / w^2))`` with ``d`` the Euclidean
        distance on its binary data and ``w = 0.75 sqrt(p)`` (``p`` features). With
        this sampler's root-mean-square distance the same weights come from the
        ``exponential`` kernel of width ``0.75 sqrt(2 p / m)`` (``m`` movable
        features): ``recommended_kernel_width``.
        """
        p = len(self.schema)
        lime_width = LIME_WIDTH_FACTOR * np.sqrt(p)
        return {
            "name": self.name,
            "lime_kernel_width": float(lime_width),
            "recommended_kernel_width": float(lime_width * np.sqrt(2.0 / self._n_movable)),
            "bins_fingerprint": self._fingerprint(),
        }

    def bin_share(self, j: int, value: float) -> float | None:
        """Training share of the quartile bin of feature ``j`` that ``value`` falls in (the
        mean of its indicator over the training data); None when ``j`` is not binned."""
        bins = self._bins.get(j)
        return None if bins is None else bins.share(value)

    def z_of(self, query: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``z`` of any rows ``values`` (values view) around ``query``, as :meth:`sample`
        states it: -1 where a row's bin (category) differs from the query's."""
        z = np.zeros((len(values), len(self.schema)), dtype=np.float64)
        for j, bins in self._bins.items():
            z[:, j] = -(bins.index(values[:, j]) != bins.index(query[j : j + 1])).astype(np.float64)
        for j in self._categorical:
            z[:, j] = -(values[:, j] != query[j]).astype(np.float64)
        return z

    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        for j in sorted(self._bins):
            digest.update(repr((j, self._bins[j].table())).encode())
        return digest.hexdigest()

    def sample(self, query: np.ndarray, n: int, seed: np.random.SeedSequence) -> Neighborhood:
        u = np.random.default_rng(seed).random((n, 2 * len(self._numeric) + len(self._categorical)))
        values = np.repeat(query[None, :].astype(np.float64), n, axis=0)
        for k, j in enumerate(self._numeric):
            values[:, j] = self._bins[j].draw(u[:, 2 * k], u[:, 2 * k + 1])
        offset = 2 * len(self._numeric)
        for k, j in enumerate(self._categorical):
            values[:, j] = _inverse_cdf(*self._category_cdfs[j], u[:, offset + k])
        z = self.z_of(query, values)
        distance = np.sqrt((z**2).sum(axis=1) / self._n_movable)
        return Neighborhood(values=values, z=z, distance=distance)


def _check_training_values(values: Any, schema: FeatureSchema, needed_by: str) -> np.ndarray:
    if values is None:
        raise ParameterError(
            f"{needed_by} learns from the training data: pass "
            "training_values=schema.encode(X_train) (the TabularExplainer does so)."
        )
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            "training_values must be the training data in the values view (schema.encode(X_train)), "
            f"a numeric array; got {type(values).__name__} that is not numeric."
        ) from exc
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] != len(schema):
        raise ParameterError(
            f"training_values must have shape (n_rows, {len(schema)}) with n_rows >= 1 (one column per "
            f"feature of the schema), got shape {array.shape}."
        )
    return array


SAMPLERS: dict[str, type] = {"gaussian": GaussianSampler, "qmc": QMCSampler, "lime": LimeSampler}


def needs_training_values(spec: Any, options: dict[str, Any] | None = None) -> bool:
    """Whether a sampler (by name or object class, with its ``options``) learns from the
    training values: ``lime`` always, ``gaussian`` and ``qmc`` when ``number_change`` > 0."""
    if not isinstance(spec, str):
        return False  # a ready sampler has learned what it needs
    cls = SAMPLERS.get(spec)
    number_change = (options or {}).get("number_change", 0)
    redraws = isinstance(number_change, int | float) and number_change > 0
    return bool(getattr(cls, "needs_training_values", False)) or (
        cls is not None and issubclass(cls, GaussianSampler) and redraws
    )


def make_sampler(
    spec: Any, schema: FeatureSchema, training_values: np.ndarray | None = None, **options: Any
) -> Sampler:
    """A sampler from its registry name (or a ready sampler object).

    ``training_values`` (the training data in the values view, ``schema.encode(X_train)``)
    reaches the samplers that learn more than the schema holds (``lime``: quartile
    bins); the others learn everything from the schema and do not need it.
    """
    if isinstance(spec, str):
        if spec not in SAMPLERS:
            raise UnknownOptionError(
                f"Unknown sampler {spec!r}; expected one of {sorted(SAMPLERS)}."
            )
        cls = SAMPLERS[spec]
        if needs_training_values(spec, options):
            options = {**options, "training_values": training_values}
        try:
            return cls(schema, **options)
        except TypeError as exc:
            raise ParameterError(f"Invalid options for sampler {spec!r}: {exc}") from exc
    if hasattr(spec, "sample") and hasattr(spec, "z_names"):
        return spec
    raise UnknownOptionError(
        f"sampler must be one of {sorted(SAMPLERS)} or a sampler object, got {type(spec).__name__}."
    )
