"""The link between a black box's output and the scale a surrogate is fitted in.

One home for the link and its inverse: the pipeline fits in it, renderers and the
report state values in it, and every one of them clips probabilities the same way.

>>> round(float(link_value(0.5, "logit")), 6), round(inverse_link(0.0, "logit"), 6)
(0.0, 0.5)
"""

from __future__ import annotations

import math

import numpy as np

#: the scales a surrogate can be fitted in
LINKS = ("identity", "logit")
#: probabilities are clipped to [eps, 1 - eps] before the logit link
LOGIT_EPS = 1e-6


def apply_link(p: np.ndarray, link: str) -> np.ndarray:
    """The explained scale: probabilities as they are, or their log-odds."""
    if link == "identity":
        return p
    q = np.clip(p, LOGIT_EPS, 1 - LOGIT_EPS)
    return np.log(q) - np.log1p(-q)


def link_value(prediction: float, link: str) -> float:
    """One output in the explained scale (:func:`apply_link` of a single number)."""
    if link != "logit":
        return prediction
    p = min(max(prediction, LOGIT_EPS), 1 - LOGIT_EPS)
    return math.log(p / (1 - p))


def inverse_link(value: float, link: str) -> float:
    """A value of the explained scale back in the output's own scale (log-odds to a
    probability without overflow)."""
    if link != "logit":
        return value
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    return math.exp(value) / (1.0 + math.exp(value))


__all__ = ["LINKS", "LOGIT_EPS", "apply_link", "inverse_link", "link_value"]
