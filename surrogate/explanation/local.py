"""A local explanation is data: a frozen, typed record with a lossless JSON round trip.

The JSON codec and its schema versions: :mod:`.codec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ExplanationFormatError, ParameterError
from ..fidelity import Faithfulness, Fidelity, Stability
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

#: keys of a serialised explanation; a text or image explanation adds its layout's key
DOCUMENT_KEYS = frozenset({"schema_version", "explanation"})
LAYOUT_KEYS = frozenset({"tokens", "segments"})


@dataclass(frozen=True)
class Provenance:
    """What produced an explanation: enough to reproduce it exactly."""

    library_version: str
    modality: str
    mode: str
    target: str
    link: str
    sampler: dict[str, Any]
    kernel: dict[str, Any]
    surrogate: dict[str, Any]
    random_state_entropy: int | list[int]
    random_state_spawn_key: list[int]
    query_digest: str
    n_samples: int
    n_fit: int
    n_holdout: int
    schema_fingerprint: str
    model_fingerprint: str
    model: str
    #: decision threshold of agreement and rule precision, in the output's scale (a
    #: probability for probabilities; None: regression without one); schema 1.1
    threshold: float | None = None
    #: rows of the population-scope check, inside ``n_samples``; schema 1.2
    n_population: int = 0


@dataclass(frozen=True)
class Scope:
    """The question an explanation answers (schema 1.2): where its surrogate was fitted,
    and what its contributions are measured against.

    ``reference``: "training" (each contribution is the term at the query minus its
    mean over the training data, whatever the family) or "neighbourhood" (minus its
    kernel-weighted mean over the fitting neighbourhood). ``sampler`` names the
    neighbourhood's scheme; ``scale`` is its numbers' spread around the query in
    training standard deviations (None for a scheme without one, such as "lime");
    ``number_change`` the share of a number's draws taken from its training values
    instead (0: numbers stay near the query); ``category_change`` the share of a
    category's redrawn from its training frequencies (None: not stated).
    """

    reference: str
    sampler: str
    scale: float | None = None
    number_change: float = 0.0
    category_change: float | None = None

    @property
    def population_checked(self) -> bool:
        """Whether fidelity is checked at the population scope (contributions against a
        population need it; against the neighbourhood it is not checked)."""
        return self.reference == "training"


@dataclass(frozen=True)
class NeighbourhoodSummary:
    """Kish's effective sample size of the kernel weights, and extrapolation share."""

    effective_sample_size: float
    share_outside_training_range: float


@dataclass(frozen=True)
class Explanation:
    """One query's surrogate explanation, with its fidelity, stability and provenance.

    ``prediction`` is the black box's output for ``target`` at the query (a
    probability for classifiers); the surrogate is fitted in the ``link`` scale.
    """

    query: dict[str, float | str | None]
    prediction: float
    outputs: dict[str, float]
    content: Content
    fidelity: Fidelity
    stability: Stability
    neighbourhood: NeighbourhoodSummary
    meta: Provenance
    warnings: tuple[str, ...] = ()
    notes: tuple[
        str, ...
    ] = ()  # facts about how it was made, said in words (e.g. what "auto" chose)
    #: the question it answers (None: not stated, as in text and image explanations and
    #: documents before schema 1.2)
    scope: Scope | None = None
    #: deletion and insertion along the explanation's ranking against random rankings
    #: (text and images; None for tables, which have no such check); schema 1.2
    faithfulness: Faithfulness | None = None

    # ---- reading -------------------------------------------------------------------
    @property
    def family(self) -> str:
        return self.content.family

    def top_features(self, k: int | None = None) -> list[str]:
        """Feature names, most important first (linear: |weight|; tree, rules: importance;
        additive: |contribution|)."""
        return top_features(self.content, k)

    @property
    def contributions(self) -> dict[str, float]:
        """Each term's contribution at the query, in the explained scale: its value there
        minus its mean over the reference population (``content.reference``).

        With :attr:`baseline` they add up to the surrogate at the query:
        ``baseline + sum(contributions.values()) == content.intercept``. Empty for
        rules and trees, and for linear explanations without a reference.
        """
        return contributions(self.content)

    @property
    def baseline(self) -> float | None:
        """The surrogate's mean over the reference population (None when not known)."""
        return self.content.reference_mean

    def plot(self, ax: Any = None):
        """A matplotlib Figure: the waterfall of contributions from the reference to the
        surrogate at the query, the black box marked (linear, additive); the features'
        importances (tree, rules). See :mod:`surrogate.render.figures`.

        A notebook cell ending in ``exp.plot()`` shows the picture. With ``ax`` (a
        matplotlib Axes) it is drawn into those axes, and they are returned, so that
        several explanations share one figure::

            fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
            exp.plot(ax=left); other.plot(ax=right)
        """
        from ..render.figures import explanation_figure

        return explanation_figure(self, ax=ax)

    def to_shap(self):
        """This explanation as a ``shap.Explanation`` (base value, values, data), so that
        ``shap.plots.waterfall(exp.to_shap())`` draws its contributions; linear and
        additive explanations only (:mod:`surrogate.interop.shap_values`)."""
        from ..interop.shap_values import to_shap

        return to_shap(self)

    def to_frame(self):
        """The surrogate as a table: one row per linear term, or per rule (tree leaf).

        Linear: ``feature``, ``value`` (at the query), ``contribution`` (the term there
        minus its mean over the reference), ``slope`` (per training sd of a number, or
        for having the query's category), ``slope_per_unit`` (numbers), all in the
        explained scale (``meta.link``). Rules: ``rule``, ``prediction`` (explained
        scale), ``probability`` (under the logit link), ``coverage``, ``n_covered``,
        ``precision``, ``error``, ``fires``.
        """
        import pandas as pd

        return pd.DataFrame(
            self.content.frame_records(self.meta.link), columns=list(self.content.frame_columns)
        )

    # ---- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "explanation": to_data(self)}

    def to_json(self, *, indent: int | None = None) -> str:
        """Canonical JSON: sorted keys, exact floats; byte-identical for identical inputs."""
        return canonical_json(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Explanation:
        try:
            document = load_json(text)
        except RecursionError:
            raise too_deep() from None
        except ExplanationFormatError:
            raise
        except (TypeError, ValueError) as exc:
            raise ExplanationFormatError(f"Not a JSON explanation: {exc}") from exc
        try:
            return cls.from_dict(document)
        except RecursionError:
            raise too_deep() from None

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Explanation:
        if (
            not isinstance(document, dict)
            or "schema_version" not in document
            or "explanation" not in document
        ):
            raise ExplanationFormatError(
                "An explanation document needs 'schema_version' and 'explanation' keys."
            )
        # a text or image explanation's document is read here too, without its layout
        check_document_keys(document, DOCUMENT_KEYS | LAYOUT_KEYS)
        check_schema_version(str(document["schema_version"]))
        return from_data(cls, document["explanation"], "explanation")

    # ---- rendering (at the edge) -------------------------------------------------------
    def to_text(self) -> str:
        from ..render.text import explanation_to_text

        return explanation_to_text(self)

    def to_markdown(self) -> str:
        from ..render.markdown import explanation_to_markdown

        return explanation_to_markdown(self)

    def to_dot(self) -> str:
        from ..render.dot import to_dot

        return to_dot(
            self.content,
            title=f"{self.meta.target}: {self.prediction:.4g}",
            query=self.query,
            link=self.meta.link,
        )

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        from ..render.html import explanation_repr_html

        return explanation_repr_html(self)


@dataclass(frozen=True)
class Failure:
    """A query that could not be explained, and why."""

    index: int
    error: str
    message: str

    @classmethod
    def from_exception(cls, index: int, exc: Exception) -> Failure:
        return cls(index=int(index), error=type(exc).__name__, message=str(exc))


class ExplanationSet(Sequence):
    """Explanations of many queries, in query order, plus the queries that failed.

    ``indices[i]`` is the position, in the input, of the query ``self[i]`` explains.
    """

    def __init__(
        self, explanations: list[Explanation], *, indices: list[int], failures: list[Failure]
    ) -> None:
        self._explanations = list(explanations)
        self.indices = list(indices)
        self.failures = list(failures)

    def __getitem__(self, i):  # type: ignore[override]
        return self._explanations[i]

    def __len__(self) -> int:
        return len(self._explanations)

    def to_frame(self, k: int = 5, *, long: bool = False):
        """One row per explained query: prediction, fidelity, stability, rows used and top-k features.

        ``n_samples`` is the size of the sample the explanation was fitted and checked on
        (with ``n_samples="auto"``, the size it stopped at; its note lists the earlier,
        smaller rounds the black box also scored).

        Additive explanations add their ``intercept`` and a ``contribution:<term>`` column
        per term (empty where a query has no such term).

        ``long=True``: one row per term (or rule) of every explanation instead, with the
        query's position in ``row`` and the columns of :meth:`Explanation.to_frame`.
        """
        import pandas as pd

        if long:
            return self._long_frame()
        rows = []
        for index, exp in zip(self.indices, self._explanations, strict=True):
            top = exp.top_features(k)
            row = {
                "query_index": index,
                "target": exp.meta.target,
                "prediction": exp.prediction,
                "family": exp.family,
                "r2": exp.fidelity.r2,
                "r2_in_sample": exp.fidelity.r2_in_sample,
                "r2_population": exp.fidelity.r2_population,
                "reference": None if exp.scope is None else exp.scope.reference,
                "mae": exp.fidelity.mae,
                "agreement": exp.fidelity.agreement,
                "query_gap": exp.fidelity.query_gap,
                "top_k_jaccard": exp.stability.top_k_jaccard,
                "n_samples": exp.meta.n_samples,
                "warnings": len(exp.warnings),
            }
            row.update({f"feature_{r + 1}": top[r] if r < len(top) else None for r in range(k)})
            row.update(exp.content.set_frame_fields())
            rows.append(row)
        return pd.DataFrame(rows)

    def _long_frame(self) -> Any:
        import pandas as pd

        columns: list[str] = []
        records = []
        for index, exp in zip(self.indices, self._explanations, strict=True):
            columns += [c for c in exp.content.frame_columns if c not in columns]
            records += [{"row": index, **r} for r in exp.content.frame_records(exp.meta.link)]
        return pd.DataFrame(records, columns=["row", *columns])

    def plot(self, k: int = 10, ax: Any = None):
        """Importance over the explained rows (mean |contribution|, or mean importance for rules
        and trees), as a matplotlib Figure (:func:`surrogate.render.figures.importance_figure`)
        that a notebook shows; drawn into ``ax`` (and ``ax`` returned) when given."""
        from ..render.figures import importance_figure

        return importance_figure(self._explanations, k=k, ax=ax)

    def to_shap(self):
        """The set as one ``shap.Explanation`` of rows by features, so that
        ``shap.plots.beeswarm(many.to_shap())`` draws it; linear and additive only."""
        from ..interop.shap_values import set_to_shap

        return set_to_shap(self._explanations)

    def to_jsonl(self, path=None) -> str | None:
        """One canonical JSON explanation per line; written to ``path`` when given."""
        text = "".join(exp.to_json() + "\n" for exp in self._explanations)
        if path is None:
            return text
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        return None

    def to_parquet(self, path) -> None:
        """The summary frame plus each explanation's JSON, as one Parquet file."""
        frame = self.to_frame()
        frame["explanation_json"] = [exp.to_json() for exp in self._explanations]
        frame.to_parquet(path, index=False)

    def _repr_html_(self) -> str:
        from ..render.html import explanation_set_repr_html

        return explanation_set_repr_html(self)

    def __repr__(self) -> str:
        return f"ExplanationSet({len(self)} explanations, {len(self.failures)} failures)"


def top_features(content: Content, k: int | None = None) -> list[str]:
    """Features of a surrogate, most important first (linear: |weight|; tree, rules: importance;
    additive: |contribution|, features with none left out)."""
    ranking = content.ranked_features()
    if k is None:
        return ranking
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ParameterError(f"k must be a non-negative integer, got {k!r}.")
    return ranking[:k]


def contributions(content: Content) -> dict[str, float]:
    """Per-term contributions at the query, by term name (empty for trees and rule lists).

    Additive: every shape's value at the query minus its mean over ``content.reference``
    (pairs after the features, named "a × b"); linear: the terms that carry one.
    """
    return content.contributions()


__all__ = [
    "Explanation",
    "ExplanationSet",
    "Failure",
    "Provenance",
    "NeighbourhoodSummary",
    "Scope",
    "top_features",
]
