"""Interoperability with other explainers: auditing LIME with this project's measures
(:mod:`.lime`) and SHAP (:mod:`.shap_audit`); explanations handed to shap's plots
(:mod:`.shap_values`)."""

from .lime import (
    LimeAudit,
    SeedStability,
    audit_lime_explanation,
    lime_arguments,
    lime_predict_fn,
    lime_predict_linear,
    lime_representation,
    lime_stability,
    make_lime_explainer,
    reseeded,
    stability_across_seeds,
    stability_indices,
)
from .shap_audit import ShapAudit, audit_shap
from .shap_values import set_to_shap, to_shap

__all__ = [
    "LimeAudit",
    "SeedStability",
    "audit_lime_explanation",
    "lime_arguments",
    "lime_predict_fn",
    "lime_predict_linear",
    "lime_representation",
    "lime_stability",
    "make_lime_explainer",
    "reseeded",
    "stability_across_seeds",
    "stability_indices",
    "set_to_shap",
    "to_shap",
    "ShapAudit",
    "audit_shap",
]
