"""Samplers, one file per modality."""

from .base import Neighborhood, Sampler
from .tabular import (
    SAMPLERS,
    GaussianSampler,
    LimeSampler,
    QMCSampler,
    make_sampler,
    needs_training_values,
)

__all__ = [
    "Neighborhood",
    "Sampler",
    "SAMPLERS",
    "GaussianSampler",
    "LimeSampler",
    "QMCSampler",
    "make_sampler",
    "needs_training_values",
]
