"""Rows of the population-scope check: the query with features taken from training rows.

Contributions stated against a population are differences between the surrogate at
the query and its mean over that population; an interventional attribution (SHAP's,
for one) reads the model on *hybrid* rows, where some features keep the query's
values and the others take a reference row's. The surrogate certifies such
contributions only if it follows the black box on those rows, so they are what the
population-scope fidelity is measured on: each row takes one training row, chosen
uniformly, and a share of the movable features drawn uniformly in [0, 1]; each
movable feature takes that training row's value with this share as probability, so
every size of coalition is about as likely, from the query itself to a training row
whole. A number the training row lacks (missing) keeps the query's value, as the
samplers never draw a missing number; immutable features and features missing at the
query keep theirs too, as the neighbourhood never moves them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..schema import FeatureSchema


class PopulationRows:
    """Draws the population-scope check's rows for one query (see the module doc).

    Parameters
    ----------
    schema : FeatureSchema
    training_values : ndarray of shape (n_rows, n_features)
        The training data in the values view (``schema.encode(X_train)``).
    z_of : callable
        The sampler's ``z_of(query, values)``, so the rows' ``z`` reads as the
        neighbourhood's does.
    """

    def __init__(self, schema: FeatureSchema, training_values: np.ndarray, z_of: Any) -> None:
        self.training_values = np.asarray(training_values, dtype=np.float64)
        self.z_of = z_of
        self.movable = np.array(
            [j for j, f in enumerate(schema.features) if not f.frozen], dtype=np.int64
        )
        self.numeric = np.array([f.is_numeric for f in schema.features], dtype=bool)

    def sample(
        self, query: np.ndarray, n: int, seed: np.random.SeedSequence
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` rows around ``query`` (values view) and their ``z``."""
        rng = np.random.default_rng(seed)
        donors = self.training_values[rng.integers(0, len(self.training_values), n)]
        share = rng.random(n)
        taken = rng.random((n, len(self.movable))) < share[:, None]
        values = np.repeat(query[None, :].astype(np.float64), n, axis=0)
        cols = self.movable
        offered = donors[:, cols]
        keep = (self.numeric[cols] & np.isnan(offered)) | np.isnan(query[cols])
        values[:, cols] = np.where(taken & ~keep, offered, values[:, cols])
        return values, self.z_of(query, values)
