"""The figure ``plot()`` returns: a matplotlib Figure that a notebook shows as it is.

Figures are built without pyplot (no global figure state), so no backend of
pyplot's shows them; a Jupyter cell whose value is one shows this figure's PNG
(``_repr_png_``), as it shows scikit-learn's Displays. It is a matplotlib
``Figure`` in every other way (``savefig``, ``axes``). This module imports
matplotlib: :mod:`.plots` imports it only when a figure is drawn.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure


class ExplanationFigure(Figure):
    """A matplotlib Figure with a PNG for notebooks.

    ``ax_`` is the axes drawn into (the scikit-learn Display name for it).
    """

    @property
    def ax_(self):
        return self.axes[0]

    @property
    def figure_(self) -> ExplanationFigure:
        return self

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


__all__ = ["ExplanationFigure"]
