"""A global surrogate's explanation: one interpretable model of the black box over a data set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ExplanationFormatError
from ..surrogates.base import Content
from .codec import (
    SCHEMA_VERSION,
    canonical_json,
    check_document_keys,
    check_schema_version,
    from_data,
    load_json,
    to_data,
    too_deep,
)
from .local import top_features


@dataclass(frozen=True)
class GlobalFidelity:
    """Fidelity of a global surrogate on the held-out part of the data (and in-sample)."""

    r2: float | None
    r2_in_sample: float | None
    mae: float
    agreement: float | None
    agreement_by_class: dict[str, float]
    n_train: int
    n_test: int
    note: str | None = None


@dataclass(frozen=True, repr=False)
class GlobalExplanation:
    """One surrogate of the black box over a data set, with its held-out fidelity.

    ``print(glob)`` shows it in words (:meth:`to_text`), a notebook as a table
    (``_repr_html_``); ``meta`` holds what produced it (target, link, threshold, seeds).
    """

    content: Content
    fidelity: GlobalFidelity
    complexity: dict[str, int]
    meta: dict[str, Any]
    notes: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        return self.content.family

    def top_features(self, k: int | None = None) -> list[str]:
        return top_features(self.content, k)

    def to_json(self) -> str:
        return canonical_json(
            {"schema_version": SCHEMA_VERSION, "global_explanation": to_data(self)}
        )

    @classmethod
    def from_json(cls, text: str) -> GlobalExplanation:
        try:
            document = load_json(text)
            if not isinstance(document, dict) or "global_explanation" not in document:
                raise ExplanationFormatError(
                    "A global explanation document needs 'schema_version' and "
                    "'global_explanation' keys."
                )
            check_document_keys(document, {"schema_version", "global_explanation"})
            check_schema_version(str(document.get("schema_version")))
            return from_data(cls, document["global_explanation"], "global_explanation")
        except RecursionError:
            raise too_deep() from None
        except ExplanationFormatError:
            raise
        except (TypeError, ValueError) as exc:
            raise ExplanationFormatError(f"Not a JSON global explanation: {exc}") from exc

    def to_text(self) -> str:
        from ..render.text import global_to_text

        return global_to_text(self)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        r2 = self.fidelity.r2
        shown = "undefined" if r2 is None else f"{r2:.3f}"
        shape = ", ".join(f"{k} {v}" for k, v in sorted(self.complexity.items()))
        return (
            f"<GlobalExplanation: {self.family} surrogate of {self.meta.get('target')!r}, "
            f"held-out R^2 {shown} on {self.fidelity.n_test} rows, {shape}>"
        )

    def _repr_html_(self) -> str:
        from ..render.html import global_repr_html

        return global_repr_html(self)

    def plot(self, k: int = 10, ax: Any = None):
        """The surrogate's ``k`` weightiest features as bars, a matplotlib Figure that a
        notebook shows; drawn into ``ax`` (and ``ax`` returned) when given."""
        from ..render.figures import global_figure

        return global_figure(self, k=k, ax=ax)

    def to_dot(self) -> str:
        from ..render.dot import to_dot

        return to_dot(
            self.content,
            title=f"global {self.family} surrogate of {self.meta['target']}",
            link=str(self.meta.get("link", "identity")),
        )


__all__ = ["GlobalExplanation", "GlobalFidelity"]
