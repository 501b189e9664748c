"""Tree surrogates: a :class:`~.cart.WeightedTree` fitted to each query's neighbourhood.

The tree is fitted on the ``values`` view (numbers in their units, categories by
code; see :mod:`.cart` for how it splits) and its leaves are rendered as rules
(:mod:`.codes`), with their held-out coverage counted so that it can be recounted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .._validation import Interval
from ..schema import Feature
from .base import (
    Family,
    LocalFit,
    LocalProblem,
    Rule,
    RuleContent,
    TreeNode,
)
from .cart import WeightedTree, merge_tests
from .codes import (
    bootstrap_stability,
    capped_columns,
    categorical_mask,
    check_problems,
    domains_of,
    held_out_record,
    importance_dict,
    nullable_mask,
    ranking_of,
    to_condition,
    to_conditions,
)


# ---- the surrogate family ----------------------------------------------------------------
class TreeSurrogate(Family):
    """A weighted decision tree fitted to each query's neighbourhood, leaves read as rules.

    Parameters
    ----------
    max_depth : int
        Largest number of tests on a path. Default 3.
    min_leaf_weight : float
        Smallest share of the fitting sample's kernel weight a leaf may hold. Default 0.01.
    n_bootstrap : int
        Bootstrap refits for the stability figures. Default 10.
    max_features : int, optional
        Most features the tree may test. The tree is grown on every feature first; when
        it tests more than ``max_features`` of them, it is grown again on the
        ``max_features`` that lowered its weighted squared error most (ties to the
        first column), and every bootstrap refit does the same. None (default): any.

    Notes
    -----
    The content's ``rules`` are the leaves in the order of ``nodes`` (depth-first, the
    ``yes`` branch first); each leaf's path is merged so a feature appears at most once
    per operator. ``TreeNode.weight`` is the share of the fitting weight reaching the
    node. ``importances`` are each feature's share of the weighted squared-error
    decrease; ``n_conditions`` counts the tree's tests (internal nodes).
    """

    name = "tree"
    constraints = {
        "max_depth": (Interval(int, 1),),
        "min_leaf_weight": (Interval(float, 0, 0.5),),
        "n_bootstrap": (Interval(int, 0),),
        "max_features": (None, Interval(int, 1)),
    }
    #: recorded only when set, so explanations without it read as they always have
    unrecorded_when_unset: ClassVar[tuple[str, ...]] = ("max_features",)

    def __init__(
        self,
        *,
        max_depth: int = 3,
        min_leaf_weight: float = 0.01,
        n_bootstrap: int = 10,
        max_features: int | None = None,
    ) -> None:
        self.max_depth = max_depth
        self.min_leaf_weight = min_leaf_weight
        self.n_bootstrap = n_bootstrap
        self.max_features = max_features

    def fit_local(
        self,
        problems: Sequence[LocalProblem],
        features: tuple[Feature, ...],
        z_names: tuple[str, ...],
        seeds: Sequence[np.random.SeedSequence],
    ) -> list[LocalFit]:
        """One tree per problem, fitted on ``values_fit`` with ``w_fit``; ``z`` is not used."""
        self.check_params()
        check_problems(problems, features, seeds)
        return [self._fit_one(p, features, s) for p, s in zip(problems, seeds, strict=True)]

    def _tree(
        self, problem: LocalProblem, features: Sequence[Feature], allowed: Any = None
    ) -> WeightedTree:
        categorical = categorical_mask(features)
        return WeightedTree(
            self.max_depth,
            min_leaf_weight=self.min_leaf_weight,
            categorical=categorical,
            nullable=nullable_mask(problem, categorical),
            allowed=allowed,
        )

    def _grown(
        self, problem: LocalProblem, features: Sequence[Feature], weights: np.ndarray
    ) -> WeightedTree:
        """The tree on ``weights``, on at most ``max_features`` features (class doc)."""
        tree = self._tree(problem, features).fit(problem.values_fit, problem.y_fit, weights)
        used = sorted({node.split.column for node in tree.nodes_ if node.split is not None})
        kept = capped_columns(used, tree.gains_, self.max_features)
        if kept is None:
            return tree
        return self._tree(problem, features, allowed=kept).fit(
            problem.values_fit, problem.y_fit, weights
        )

    def _fit_one(self, problem: LocalProblem, features: Sequence[Feature], seed) -> LocalFit:
        tree = self._grown(problem, features, problem.w_fit)
        names = [f.name for f in features]
        importances = importance_dict(names, tree.feature_importances_)
        ranking = ranking_of(importances)

        def refit(weights: np.ndarray) -> np.ndarray:
            return self._grown(problem, features, weights).feature_importances_

        content = tree_content(tree, problem, features, importances)
        return LocalFit(
            pred_fit=tree.predict(problem.values_fit),
            pred_hold=tree.predict(problem.values_hold),
            pred_population=None
            if problem.values_population is None
            else tree.predict(problem.values_population),
            content=content,
            ranking=ranking,
            stability=bootstrap_stability(refit, problem, seed, self.n_bootstrap, names, ranking),
        )


def tree_content(
    tree: WeightedTree,
    problem: LocalProblem,
    features: Sequence[Feature],
    importances: dict[str, float],
) -> RuleContent:
    """The fitted tree in the schema's words: its nodes, and one rule per leaf."""
    domains = domains_of(problem, features)
    hold_leaf = tree.apply(problem.values_hold)
    query_leaf = int(tree.apply(problem.values_fit[:1])[0])
    total = tree.nodes_[0].weight
    nodes = []
    for node in tree.nodes_:
        condition = None
        if node.split is not None:
            test = node.split.yes_test()
            condition = to_condition(
                test, features[test.column], domains.get(test.column, frozenset())
            )
        nodes.append(
            TreeNode(node.id, node.value, node.weight / total, condition, node.yes, node.no)
        )
    rules = []
    for leaf in tree.leaves_:
        value = tree.nodes_[leaf].value
        record = held_out_record(hold_leaf == leaf, value, problem)
        conditions = to_conditions(merge_tests(tree.path(leaf)), features, domains)
        rules.append(
            Rule(
                conditions,
                value,
                record.coverage,
                record.n_covered,
                record.precision,
                record.error,
                leaf == query_leaf,
            )
        )
    return RuleContent(
        family="tree",
        rules=tuple(rules),
        importances=importances,
        nodes=tuple(nodes),
        depth=tree.depth_,
        n_conditions=len(tree.nodes_) - len(tree.leaves_),
    )
