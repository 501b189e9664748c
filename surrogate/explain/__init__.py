"""Explaining: the one pipeline (:mod:`.pipeline`) and the modalities that prepare its queries.

:mod:`.tabular` (tables), :mod:`.masking` (text and images), :mod:`.global_` (one
surrogate over a data set); per-query seeds (:mod:`.seeding`), ``n_samples="auto"``
(:mod:`.adaptive`) and process-parallel fitting (:mod:`.parallel`).
"""

from .global_ import explain_global
from .masking import ImageExplainer, TextExplainer
from .tabular import TabularExplainer

__all__ = ["TabularExplainer", "TextExplainer", "ImageExplainer", "explain_global"]
