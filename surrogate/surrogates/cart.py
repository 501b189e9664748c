"""A weighted CART regressor in numpy that splits numbers *and* categories.

scikit-learn's trees treat every column as a number, so a category code would be
split as if ``purpose <= 2.5`` meant something. :class:`WeightedTree` instead:

- splits numbers by ``x <= t``, with ``t`` the midpoint between two neighbouring
  distinct values. When both neighbours are whole numbers the midpoint is rounded
  down to a whole number (``<= 24`` rather than ``<= 24.5`` between 24 and 25): the
  split of the data is the same and the rule reads like the data.
- splits categories by ``x in S``: the categories present in the node are ordered
  by their weighted mean target and only the prefixes of that order are scanned,
  which finds the best of all subsets for squared loss (Breiman et al. 1984,
  CART, section 9.4). The missing code ``-1`` is just another category.
- handles NaN in a numeric column with an explicit ``is missing`` split. A column
  that may hold NaN (``nullable``) is split on a threshold only below an
  ``is not missing`` test of the same column, so every rule stays an exact AND of
  conditions — "``x <= t`` or missing" cannot be written as one — and a validator
  who re-evaluates the printed conditions on the data recounts exactly what the
  tree did. The cost: such a column spends one level on its missing values before
  its numbers can be split, so a missing split is chosen by its own gain plus that
  of the best threshold split it opens up on the present values (one level of
  look-ahead, when the depth allows); its importance counts only its own gain.
- is deterministic: among splits of (numerically) equal gain the one on the lowest
  column index wins, then the lowest threshold (or shortest category prefix).

The split search is vectorised: per node, one ``argsort`` of all numeric columns and
cumulative weighted sums give every candidate's loss at once. With the target centred
at the node's weighted mean, the decrease in weighted squared error of sending the
rows left of a cut to one child is ``S_L^2 (1/W_L + 1/W_R)``, where ``S_L`` is the
left child's weighted sum of centred targets and ``W_L, W_R`` the children's weights.

Its fitting-array checks are shared with :mod:`.rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from .._validation import Interval, check
from ..errors import DataError, ParameterError
from ..schema import MISSING_CODE

TestOp = Literal["<=", ">", "in", "not in", "is missing", "is not missing"]

#: relative gain difference under which two candidate splits count as tied
_TIE_TOLERANCE = 1e-12
#: a node whose targets spread less than this share of their magnitude counts as pure
_PURE_TOLERANCE = 1e-9


# ---- tests and splits in code space -------------------------------------------------------
@dataclass(frozen=True)
class CodedTest:
    """One test on one column, in code space: ``x[:, column] <op> value``.

    ``value`` is a threshold for ``<=`` / ``>``, a frozenset of integer category
    codes for ``in`` / ``not in`` and None for the missing tests. NaN fails both
    threshold tests, as it does in numpy.
    """

    column: int
    op: TestOp
    value: float | frozenset[int] | None = None

    def holds(self, X: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows of ``X`` passing the test."""
        x = X[:, self.column]
        if self.op == "<=":
            return x <= self.value
        if self.op == ">":
            return x > self.value
        if self.op == "is missing":
            return np.isnan(x)
        if self.op == "is not missing":
            return ~np.isnan(x)
        inside = np.isin(category_codes(x), np.fromiter(self.value, dtype=np.int64))  # type: ignore[arg-type]
        return inside if self.op == "in" else ~inside

    def __str__(self) -> str:
        if self.op in ("in", "not in"):
            return f"x{self.column} {self.op} {{{', '.join(map(str, sorted(self.value)))}}}"  # type: ignore[arg-type]
        if self.op in ("is missing", "is not missing"):
            return f"x{self.column} {self.op}"
        return f"x{self.column} {self.op} {self.value:.6g}"


@dataclass(frozen=True)
class Split:
    """How an internal node divides its rows; rows passing :meth:`yes_test` go to ``yes``."""

    column: int
    kind: Literal["threshold", "categories", "missing"]
    gain: float
    threshold: float | None = None
    codes: frozenset[int] = frozenset()
    #: what the split is chosen by: its gain, plus for a missing split the best threshold
    #: split of the present values that it opens up (one level of look-ahead)
    score: float | None = None

    @property
    def merit(self) -> float:
        return self.gain if self.score is None else self.score

    def yes_test(self) -> CodedTest:
        if self.kind == "threshold":
            return CodedTest(self.column, "<=", self.threshold)
        if self.kind == "categories":
            return CodedTest(self.column, "in", self.codes)
        return CodedTest(self.column, "is missing")

    def no_test(self) -> CodedTest:
        if self.kind == "threshold":
            return CodedTest(self.column, ">", self.threshold)
        if self.kind == "categories":
            return CodedTest(self.column, "not in", self.codes)
        return CodedTest(self.column, "is not missing")


@dataclass(frozen=True)
class Node:
    """A fitted node. ``impurity`` is the weighted squared error around ``value``."""

    id: int
    depth: int
    parent: int | None
    value: float
    weight: float
    n_samples: int
    impurity: float
    split: Split | None = None
    yes: int | None = None
    no: int | None = None

    @property
    def is_leaf(self) -> bool:
        return self.split is None


def category_codes(x: np.ndarray) -> np.ndarray:
    """Category codes as integers; NaN counts as the missing code ``-1``."""
    return np.where(np.isnan(x), MISSING_CODE, x).astype(np.int64)


def merge_tests(tests: Sequence[CodedTest]) -> tuple[CodedTest, ...]:
    """Merge the tests of a path so that each column appears at most once per operator.

    Two ``<=`` tests keep the tighter (smaller) threshold, two ``>`` tests the larger;
    category tests are intersected into one ``in`` set (or, when the path only
    excludes categories, one ``not in`` set); ``is not missing`` is dropped when a
    threshold test of the same column already implies it. Columns keep the order in
    which the path first tests them.
    """
    order: list[int] = []
    by_column: dict[int, list[CodedTest]] = {}
    for test in tests:
        if test.column not in by_column:
            order.append(test.column)
            by_column[test.column] = []
        by_column[test.column].append(test)
    merged: list[CodedTest] = []
    for column in order:
        merged.extend(_merge_column(column, by_column[column]))
    return tuple(merged)


def _merge_column(column: int, tests: list[CodedTest]) -> list[CodedTest]:
    uppers = [t.value for t in tests if t.op == "<="]
    lowers = [t.value for t in tests if t.op == ">"]
    ins = [t.value for t in tests if t.op == "in"]
    outs = [t.value for t in tests if t.op == "not in"]
    out: list[CodedTest] = []
    if any(t.op == "is missing" for t in tests):
        out.append(CodedTest(column, "is missing"))
    elif any(t.op == "is not missing" for t in tests) and not (uppers or lowers):
        out.append(CodedTest(column, "is not missing"))
    if lowers:
        out.append(CodedTest(column, ">", max(lowers)))  # type: ignore[type-var]
    if uppers:
        out.append(CodedTest(column, "<=", min(uppers)))  # type: ignore[type-var]
    excluded: frozenset[int] = frozenset().union(*outs) if outs else frozenset()  # type: ignore[arg-type]
    if ins:
        allowed = frozenset.intersection(*ins) - excluded  # type: ignore[arg-type]
        out.append(CodedTest(column, "in", allowed))
    elif outs:
        out.append(CodedTest(column, "not in", excluded))
    return out


# ---- the estimator -------------------------------------------------------------------------
class WeightedTree(RegressorMixin, BaseEstimator):
    """Weighted CART regression tree (squared loss) with numeric and categorical splits.

    Parameters
    ----------
    max_depth : int
        Largest number of tests from the root to a leaf (0 gives a single leaf).
    min_leaf_weight : float
        Smallest share of the total sample weight a leaf may hold, in [0, 0.5].
    min_samples_leaf : int
        Smallest number of rows (with positive weight) a leaf may hold.
    categorical : array-like of bool or int, optional
        Mask (or indices) of the columns holding category codes (``-1`` or NaN = missing).
    nullable : array-like of bool or int, optional
        Numeric columns that may hold NaN: they are split by threshold only below an
        ``is not missing`` test. Columns with NaN in the fitted data are always
        nullable. Give the columns that may be missing in the rows you will *predict*
        too; a NaN met at prediction time in a column not nullable is an error.
    allowed : array-like of bool or int, optional
        Mask (or indices) of the columns the tree may test; every column when None.

    Attributes
    ----------
    nodes_ : list of Node
        In depth-first order, the ``yes`` child before the ``no`` child.
    leaves_ : tuple of int
        Ids of the leaves in that same order.
    gains_ : ndarray of shape (n_features,)
        Weighted squared-error decrease of each column's splits.
    feature_importances_ : ndarray of shape (n_features,)
        ``gains_`` normalised to sum 1 (all zero for a single-leaf tree).
    depth_ : int
        Depth of the deepest leaf.

    Examples
    --------
    >>> X = np.array([[0.0, 1], [1.0, 0], [2.0, 2], [3.0, 1]])
    >>> tree = WeightedTree(max_depth=1, categorical=[False, True]).fit(X, [1.0, 0.0, 5.0, 1.0])
    >>> str(tree.nodes_[0].split.yes_test())
    'x1 in {0, 1}'
    >>> tree.predict([[9.0, 2]])
    array([5.])
    """

    def __init__(
        self,
        max_depth: int = 3,
        *,
        min_leaf_weight: float = 0.0,
        min_samples_leaf: int = 1,
        categorical: Any = None,
        nullable: Any = None,
        allowed: Any = None,
    ) -> None:
        self.max_depth = max_depth
        self.min_leaf_weight = min_leaf_weight
        self.min_samples_leaf = min_samples_leaf
        self.categorical = categorical
        self.nullable = nullable
        self.allowed = allowed

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> WeightedTree:
        """Grow the tree; rows with zero weight are ignored (as if absent)."""
        check("max_depth", self.max_depth, Interval(int, 0))
        check("min_samples_leaf", self.min_samples_leaf, Interval(int, 1))
        check("min_leaf_weight", self.min_leaf_weight, Interval(float, 0, 0.5))
        X, y, w = check_fit_arrays(X, y, sample_weight)
        categorical = column_mask(self.categorical, X.shape[1], "categorical")
        X = normalise_codes(X, categorical, "X")
        nullable = column_mask(self.nullable, X.shape[1], "nullable") & ~categorical
        nullable |= np.isnan(X).any(axis=0)
        allowed = (
            np.ones(X.shape[1], dtype=bool)
            if self.allowed is None
            else column_mask(self.allowed, X.shape[1], "allowed")
        )
        keep = w > 0
        grower = _Grower(
            X[keep],
            y[keep],
            w[keep],
            categorical,
            nullable,
            allowed,
            max_depth=self.max_depth,
            min_weight=self.min_leaf_weight * float(w.sum()),
            min_samples=self.min_samples_leaf,
        )
        self.nodes_ = grower.grow()
        self.n_features_in_ = X.shape[1]
        self.categorical_ = categorical
        self.nullable_ = nullable
        self.leaves_ = tuple(node.id for node in self.nodes_ if node.is_leaf)
        self.depth_ = max(node.depth for node in self.nodes_)
        self.gains_ = grower.gains
        total = self.gains_.sum()
        self.feature_importances_ = self.gains_ / total if total > 0 else np.zeros_like(self.gains_)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN marks a missing number: it gets its own test
        return tags

    def apply(self, X: Any) -> np.ndarray:
        """Id of the leaf each row reaches."""
        X = self._check_predict_input(X)
        leaf = np.empty(len(X), dtype=np.int64)
        stack = [(0, np.arange(len(X)))]
        while stack:
            node_id, rows = stack.pop()
            node = self.nodes_[node_id]
            if node.is_leaf:
                leaf[rows] = node_id
                continue
            passes = node.split.yes_test().holds(X[rows])  # type: ignore[union-attr]
            stack.append((node.no, rows[~passes]))  # type: ignore[arg-type]
            stack.append((node.yes, rows[passes]))  # type: ignore[arg-type]
        return leaf

    def predict(self, X: Any) -> np.ndarray:
        """Weighted mean target of the leaf each row reaches."""
        values = np.array([node.value for node in self.nodes_])
        return values[self.apply(X)]

    def path(self, node_id: int) -> tuple[CodedTest, ...]:
        """The tests a row passes on its way from the root to ``node_id``."""
        tests: list[CodedTest] = []
        node = self.nodes_[node_id]
        while node.parent is not None:
            parent = self.nodes_[node.parent]
            split = parent.split
            tests.append(split.yes_test() if parent.yes == node.id else split.no_test())  # type: ignore[union-attr]
            node = parent
        return tuple(reversed(tests))

    def _check_predict_input(self, X: Any) -> np.ndarray:
        if not hasattr(self, "nodes_"):
            raise ParameterError("This WeightedTree is not fitted yet; call fit(X, y) first.")
        X = _as_float_matrix(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ParameterError(
                f"X must have {self.n_features_in_} columns, as when the tree was fitted; got {X.shape[1]}."
            )
        X = normalise_codes(X, self.categorical_, "X")
        surprise = np.isnan(X).any(axis=0) & ~self.nullable_
        if surprise.any():
            column = int(np.flatnonzero(surprise)[0])
            raise DataError(
                f"Column {column} holds NaN, but the tree was fitted with it not nullable; "
                "pass it in `nullable` when fitting so that missing values get their own test."
            )
        return X


@dataclass
class _Grower:
    """Grows one tree depth-first; holds the (already filtered) training data."""

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    categorical: np.ndarray
    nullable: np.ndarray
    allowed: np.ndarray
    max_depth: int
    min_weight: float
    min_samples: int
    nodes: list[Node | None] = field(default_factory=list)
    gains: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.gains = np.zeros(self.X.shape[1])
        self.numeric = np.flatnonzero(~self.categorical)

    def grow(self) -> list[Node]:
        # sort every numeric column once; children inherit their rows' order by filtering
        order = np.argsort(self.X[:, self.numeric], axis=0, kind="stable")
        self._grow(np.arange(len(self.y)), order, 0, None, frozenset())
        return list(self.nodes)  # type: ignore[arg-type]

    def _grow(
        self,
        rows: np.ndarray,
        order: np.ndarray,
        depth: int,
        parent: int | None,
        present: frozenset[int],
    ) -> int:
        node_id = len(self.nodes)
        self.nodes.append(None)  # reserve the id so children number after their parent
        y, w = self.y[rows], self.w[rows]
        weight = float(w.sum())
        value = float(np.dot(w, y) / weight)
        impurity = float(np.dot(w, (y - value) ** 2))
        split = None
        if depth < self.max_depth and not _is_pure(impurity, weight, y):
            split = self._best_split(rows, order, value, present, impurity, depth)
        if split is None:
            self.nodes[node_id] = Node(node_id, depth, parent, value, weight, len(rows), impurity)
            return node_id
        self.gains[split.column] += split.gain
        passes = split.yes_test().holds(self.X[rows])
        yes_order, no_order = _divide_order(order, rows[passes], len(self.y))
        no_present = present | {split.column} if split.kind == "missing" else present
        yes = self._grow(rows[passes], yes_order, depth + 1, node_id, present)
        no = self._grow(rows[~passes], no_order, depth + 1, node_id, no_present)
        self.nodes[node_id] = Node(
            node_id, depth, parent, value, weight, len(rows), impurity, split, yes, no
        )
        return node_id

    def _best_split(
        self,
        rows: np.ndarray,
        order: np.ndarray,
        value: float,
        present: frozenset[int],
        impurity: float,
        depth: int,
    ) -> Split | None:
        Xn = self.X[rows]
        w = self.w[rows]
        centred = self.y[rows] - value
        has_nan = np.isnan(Xn).any(axis=0)
        known_present = np.zeros(Xn.shape[1], dtype=bool)
        known_present[list(present)] = True
        numeric = ~self.categorical & ~has_nan & (~self.nullable | known_present) & self.allowed
        usable = numeric[self.numeric]
        sorted_rows = order[:, usable]
        columns = self.numeric[usable]
        weighted = self.w * (self.y - value)  # centred at the node mean, indexed by global row
        candidates = self._threshold_splits(
            self.X[sorted_rows, columns[None, :]],
            self.w[sorted_rows],
            weighted[sorted_rows],
            columns,
        )
        for column in np.flatnonzero(self.categorical & self.allowed):
            candidates.append(self._category_split(Xn[:, column], int(column), centred, w))
        look_ahead = depth + 1 < self.max_depth
        for column in np.flatnonzero(has_nan & self.allowed):
            candidates.append(
                self._missing_split(Xn[:, column], int(column), centred, w, look_ahead)
            )
        return _pick(candidates, impurity)

    def _allowed(self, n_left: np.ndarray, w_left: np.ndarray, n: int, weight: float) -> np.ndarray:
        lightest = max(self.min_weight, np.finfo(float).tiny)  # both children need weight
        counts_ok = (n_left >= self.min_samples) & (n - n_left >= self.min_samples)
        return counts_ok & (w_left >= lightest) & (weight - w_left >= lightest)

    def _threshold_splits(
        self, xs: np.ndarray, ws: np.ndarray, wcs: np.ndarray, columns: np.ndarray
    ) -> list[Split | None]:
        """Best cut of each column, from its values sorted ascending (``xs``) with their
        weights (``ws``) and weighted centred targets (``wcs``) in the same order."""
        n = len(xs)
        if n < 2 or len(columns) == 0:
            return [None] * len(columns)
        weight = float(ws[:, 0].sum())
        w_left = np.cumsum(ws, axis=0)[:-1]
        s_left = np.cumsum(wcs, axis=0)[:-1]
        n_left = np.arange(1, n)[:, None]
        ok = (xs[1:] > xs[:-1]) & self._allowed(n_left, w_left, n, weight)
        gain = _cut_gain(s_left, w_left, weight, ok)
        best = gain.max(axis=0)
        # first cut within tie tolerance of each column's best: the lowest threshold wins
        position = np.argmax(gain >= (best - _TIE_TOLERANCE * np.abs(best))[None, :], axis=0)
        out: list[Split | None] = []
        for k, column in enumerate(columns):
            if not np.isfinite(best[k]):
                out.append(None)
                continue
            i = position[k]
            threshold = _threshold(xs[i, k], xs[i + 1, k])
            out.append(Split(int(column), "threshold", float(gain[i, k]), threshold=threshold))
        return out

    def _category_split(
        self, x: np.ndarray, column: int, centred: np.ndarray, w: np.ndarray
    ) -> Split | None:
        codes, inverse = np.unique(x.astype(np.int64), return_inverse=True)
        if len(codes) < 2:
            return None
        weight = np.bincount(inverse, weights=w)
        total = np.bincount(inverse, weights=w * centred)
        count = np.bincount(inverse)
        # Breiman: for squared loss the best subset is a prefix of the categories sorted by mean
        order = np.lexsort((codes, total / weight))
        w_left = np.cumsum(weight[order])[:-1]
        s_left = np.cumsum(total[order])[:-1]
        n_left = np.cumsum(count[order])[:-1]
        ok = self._allowed(n_left, w_left, len(x), float(w.sum()))
        gain = _cut_gain(s_left, w_left, float(w.sum()), ok)
        position = _first_best(gain)
        if position is None:
            return None
        chosen = frozenset(int(c) for c in codes[order[: position + 1]])
        return Split(column, "categories", float(gain[position]), codes=chosen)

    def _missing_split(
        self, x: np.ndarray, column: int, centred: np.ndarray, w: np.ndarray, look_ahead: bool
    ) -> Split | None:
        missing = np.isnan(x)
        w_left = np.array([w[missing].sum()])
        s_left = np.array([np.dot(w[missing], centred[missing])])
        ok = self._allowed(np.array([missing.sum()]), w_left, len(x), float(w.sum()))
        if not ok[0]:
            return None
        gain = float(_cut_gain(s_left, w_left, float(w.sum()), ok)[0])
        score = gain
        if look_ahead:  # a missing split is worth what it lets the present numbers do next
            present = ~missing
            wp = w[present]
            yp = centred[present] - np.dot(wp, centred[present]) / wp.sum()
            order = np.argsort(x[present], kind="stable")
            xs, ws, wcs = x[present][order], wp[order], (wp * yp)[order]
            follow = self._threshold_splits(
                xs[:, None], ws[:, None], wcs[:, None], np.array([column])
            )[0]
            score += follow.gain if follow is not None else 0.0
        return Split(column, "missing", gain, score=score)


def _divide_order(
    order: np.ndarray, yes_rows: np.ndarray, n_total: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split a node's per-column sorted row indices between its children, keeping each order."""
    in_yes = np.zeros(n_total, dtype=bool)
    in_yes[yes_rows] = True
    chosen = in_yes[order].T  # column by column, so each column keeps its own order
    n_yes, k = len(yes_rows), order.shape[1]
    yes = order.T[chosen].reshape(k, n_yes).T
    no = order.T[~chosen].reshape(k, len(order) - n_yes).T
    return yes, no


def _cut_gain(s_left: np.ndarray, w_left: np.ndarray, weight: float, ok: np.ndarray) -> np.ndarray:
    """Squared-error decrease of each cut (targets centred), -inf where the cut is not allowed."""
    with np.errstate(divide="ignore", invalid="ignore"):  # disallowed cuts may divide by 0
        gain = s_left**2 * (weight / (w_left * (weight - w_left)))
    return np.where(ok, gain, -np.inf)


def _first_best(gain: np.ndarray) -> int | None:
    """Index of the first cut within tie tolerance of the best one (lowest threshold wins)."""
    if gain.size == 0:
        return None
    best = gain.max()
    if not np.isfinite(best):
        return None
    return int(np.argmax(gain >= best - _TIE_TOLERANCE * abs(best)))


def _pick(candidates: list[Split | None], impurity: float) -> Split | None:
    """Best candidate: highest merit, ties to the lowest column; None if nothing helps."""
    real = [c for c in candidates if c is not None]
    if not real:
        return None
    best = max(c.merit for c in real)
    if best <= _TIE_TOLERANCE * impurity:  # only rounding noise left to explain
        return None
    tied = [c for c in real if c.merit >= best - _TIE_TOLERANCE * abs(best)]
    return min(tied, key=lambda c: c.column)


def _threshold(low: float, high: float) -> float:
    """Midpoint of two neighbouring values, rounded down to a whole number between whole numbers."""
    middle = low + (high - low) / 2.0
    if float(low).is_integer() and float(high).is_integer():
        middle = float(np.floor(middle))
    if not low <= middle < high:  # neighbours one float apart
        middle = low
    return float(middle)


def _is_pure(impurity: float, weight: float, y: np.ndarray) -> bool:
    scale = float(np.max(np.abs(y))) if len(y) else 0.0
    return impurity <= weight * (_PURE_TOLERANCE * scale) ** 2


# ---- input checks shared with rules.py ----------------------------------------------------
def _as_float_matrix(X: Any, argument: str) -> np.ndarray:
    _refuse_complex(X, argument)
    try:
        X = np.array(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"{argument} must be a 2-D array of numbers and category codes; {exc}."
        ) from exc
    if X.ndim != 2:
        raise ParameterError(f"{argument} must be 2-D (rows, columns), got shape {X.shape}.")
    if X.shape[1] == 0:
        raise ParameterError(
            f"{argument} has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required: "
            "a tree splits on columns."
        )
    if np.isinf(X).any():
        raise ParameterError(f"{argument} must be finite (NaN marks missing values), got infinity.")
    return X


def _refuse_complex(values: Any, argument: str) -> None:
    """Complex numbers would lose their imaginary part in the cast to float, silently."""
    if np.asarray(values).dtype.kind == "c":
        raise ParameterError(
            f"Complex data not supported: {argument} must hold real numbers, got complex values."
        )


def check_fit_arrays(
    X: Any, y: Any, sample_weight: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X``, ``y`` and weights as float arrays of matching length, weights >= 0 and not all 0."""
    X = _as_float_matrix(X, "X")
    _refuse_complex(y, "y")
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (len(X),):
        raise ParameterError(f"y must have shape ({len(X)},) to match X, got {y.shape}.")
    if not np.isfinite(y).all():
        raise ParameterError("y must be finite, got NaN or infinity.")
    return X, y, check_sample_weight(sample_weight, len(X))


def check_sample_weight(sample_weight: Any, n_rows: int) -> np.ndarray:
    """Weights as a float array of ``n_rows``, finite, >= 0 and not all zero (None: every
    row weighs 1; a number: every row weighs that)."""
    if sample_weight is None:
        sample_weight = np.ones(n_rows)
    _refuse_complex(sample_weight, "sample_weight")
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 0:
        w = np.full(n_rows, float(w))
    if w.shape != (n_rows,):
        raise ParameterError(f"sample_weight must have shape ({n_rows},) to match X, got {w.shape}.")
    if not np.isfinite(w).all() or (w < 0).any() or not (w > 0).any():
        raise ParameterError(
            "sample_weight must be finite and >= 0, with at least one weight above zero."
        )
    return w


def column_mask(spec: Any, n_columns: int, argument: str) -> np.ndarray:
    """A boolean column mask from None, a mask, or column indices."""
    mask = np.zeros(n_columns, dtype=bool)
    if spec is None:
        return mask
    values = np.asarray(spec)
    if values.dtype == bool:
        if values.shape != (n_columns,):
            raise ParameterError(
                f"{argument} as a mask must have {n_columns} entries, got shape {values.shape}."
            )
        return values.copy()
    if values.ndim != 1 or (values.size and not np.issubdtype(values.dtype, np.integer)):
        raise ParameterError(f"{argument} must be a boolean mask or column indices, got {spec!r}.")
    if ((values < 0) | (values >= n_columns)).any():
        raise ParameterError(
            f"{argument} holds column indices outside 0..{n_columns - 1}: {spec!r}."
        )
    mask[values.astype(np.int64)] = True
    return mask


def normalise_codes(X: np.ndarray, categorical: np.ndarray, argument: str) -> np.ndarray:
    """Categorical columns with NaN as ``-1``; codes must be whole numbers >= -1."""
    if not categorical.any():
        return X
    X = X.copy()
    block = X[:, categorical]
    block[np.isnan(block)] = MISSING_CODE
    bad = (block != np.round(block)) | (block < MISSING_CODE)
    if bad.any():
        column = int(np.flatnonzero(categorical)[np.flatnonzero(bad.any(axis=0))[0]])
        raise ParameterError(
            f"{argument} column {column} is categorical, so it must hold whole-number codes >= -1; "
            f"got {X[np.flatnonzero(bad.any(axis=1))[0], column]!r}."
        )
    X[:, categorical] = block
    return X
