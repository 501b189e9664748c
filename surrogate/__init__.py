"""surrogate: explain black-box models with interpretable surrogates, honestly.

>>> import surrogate as sg
>>> X, y = sg.datasets.load_german_credit()  # doctest: +SKIP
"""

from . import datasets, errors
from ._version import __version__
from .explain import ImageExplainer, TabularExplainer, TextExplainer
from .explanation import Explanation, ExplanationSet, Failure, GlobalExplanation
from .onnx_model import onnx_model
from .schema import Feature, FeatureSchema
from .surrogates.base import Condition, Rule

__all__ = [
    "__version__",
    "TabularExplainer",
    "TextExplainer",
    "ImageExplainer",
    "GlobalExplanation",
    "Explanation",
    "ExplanationSet",
    "Failure",
    "Feature",
    "FeatureSchema",
    "Condition",
    "Rule",
    "datasets",
    "errors",
    "onnx_model",
]
