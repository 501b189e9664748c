"""Samplers, one file per modality."""

from .base import Neighborhood, Sampler
from .tabular import SAMPLERS, GaussianSampler, QMCSampler, make_sampler

__all__ = ["Neighborhood", "Sampler", "SAMPLERS", "GaussianSampler", "QMCSampler", "make_sampler"]
