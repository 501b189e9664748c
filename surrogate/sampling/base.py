"""The neighbourhood every sampler produces, and the sampler protocol.

A sampler draws rows around one query in the *values* view (numbers in their own
units, category codes) and gives, for each row, its interpretable representation
``z`` and its distance to the query. The model-space rows are rebuilt from
``values`` by the schema when they are scored, so a neighbourhood stays compact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Neighborhood:
    values: np.ndarray  # (n, p): numbers in their units, category codes (-1 = missing)
    z: np.ndarray  # (n, d): interpretable representation, 0 at the query
    distance: np.ndarray  # (n,): root-mean-square standardised offset from the query

    def __len__(self) -> int:
        return len(self.values)


class Sampler(Protocol):
    name: str
    z_names: tuple[str, ...]
    z_offsets: tuple[bool, ...]  # True where z is a standardised offset (x - query) / sd

    def params(self) -> dict[str, Any]: ...

    def sample(self, query: np.ndarray, n: int, seed: np.random.SeedSequence) -> Neighborhood: ...
