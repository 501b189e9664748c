"""Reason texts chosen by the applicant's own value: per category, per value band, or by direction.

A policy gives, per feature, a :class:`ValueTexts`:

* ``categories``: a text per category label (``"missing"`` for a missing value);
* ``bands``: texts for ranges of a number (``lower <= value <= upper``, either end
  open when left out), the first band holding the value wins;
* ``above`` / ``below``: texts for a number above or below the reference mean.

Texts may name ``{feature}``, ``{value}`` (the applicant's), ``{reference}`` (the
reference mean of a number) and ``{reference_name}`` (the population). A feature
or value the policy has no text for gets a plain one that is still true of the
applicant: ``"Housing: rent"``, ``"Age of 42: above the average of all training
applicants (35.5)"``. :func:`choose_text` never picks a text for a value the
applicant does not have; the chosen text records how it was chosen
(:class:`ChosenText`), so a reader (or a test) can check it against the data.

In a policy file (TOML)::

    [texts.checking_account.categories]
    "< 0 DM" = "Checking account overdrawn (balance below 0 DM)"

    [texts.duration]
    above = "Loan duration of {value} months: longer than the average of {reference_name} ({reference} months)"
    below = "Loan duration of {value} months: shorter than the average of {reference_name} ({reference} months)"

    [[texts.capital_gain.bands]]
    lower = 0
    upper = 0
    text = "No capital gains"
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ParameterError

#: what a text may name
PLACEHOLDERS = ("feature", "value", "reference", "reference_name")
#: widest field width or precision a text's format spec may ask for (``{value:>20}``): a
#: reason is one line, and a spec such as ``{value:>300000000}`` would build 300 MB
MAX_SPEC_WIDTH = 100
_SPEC_NUMBER = re.compile(r"[0-9]+")
#: keys of a feature's table in a policy file
_TEXT_KEYS = ("categories", "bands", "above", "below")

Basis = Literal["category", "band", "above", "below", "at", "value"]


@dataclass(frozen=True)
class Band:
    """A range of a number, ``lower <= value <= upper`` (None: open), and its text."""

    lower: float | None
    upper: float | None
    text: str

    def holds(self, value: float) -> bool:
        return (self.lower is None or value >= self.lower) and (
            self.upper is None or value <= self.upper
        )


@dataclass(frozen=True)
class ValueTexts:
    """One feature's reason texts, chosen by the applicant's value (module doc)."""

    categories: Mapping[str, str] = field(default_factory=dict)
    bands: tuple[Band, ...] = ()
    above: str | None = None
    below: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "categories": dict(self.categories),
            "bands": [{"lower": b.lower, "upper": b.upper, "text": b.text} for b in self.bands],
            "above": self.above,
            "below": self.below,
        }


@dataclass(frozen=True)
class ChosenText:
    """A reason text for one feature of one applicant, and how it was chosen.

    ``basis``: ``"category"`` (the text of the applicant's category), ``"band"`` (of the
    band ``band`` holding the applicant's number), ``"above"`` / ``"below"`` / ``"at"``
    (the number against ``reference``, the reference mean), ``"value"`` (a number
    without a reference mean: its value only).
    """

    text: str
    basis: Basis
    reference: float | None = None
    band: tuple[float | None, float | None] | None = None


# ---- reading ------------------------------------------------------------------------------------
def texts_from_tables(tables: Any, where: str) -> dict[str, ValueTexts]:
    """``[texts.<feature>]`` tables of a policy file, checked."""
    if not isinstance(tables, Mapping):
        raise ParameterError(f"{where}: [texts] must be a table of features, got {tables!r}.")
    return {
        str(name): _value_texts(table, f"{where} texts.{name}") for name, table in tables.items()
    }


def _value_texts(table: Any, where: str) -> ValueTexts:
    if not isinstance(table, Mapping):
        raise ParameterError(f"{where} must be a table, got {table!r}.")
    unknown = sorted(set(table) - set(_TEXT_KEYS))
    if unknown:
        raise ParameterError(
            f"{where}: unknown keys {unknown}; expected some of {list(_TEXT_KEYS)} "
            "(category texts go under .categories)."
        )
    categories = table.get("categories", {})
    if not isinstance(categories, Mapping):
        raise ParameterError(f"{where}.categories must be a table of texts, got {categories!r}.")
    bands = table.get("bands", [])
    if not isinstance(bands, list):
        raise ParameterError(f"{where}.bands must be a list of tables, got {bands!r}.")
    return ValueTexts(
        categories={str(k): _template(v, f"{where}.categories.{k}") for k, v in categories.items()},
        bands=tuple(_band(b, f"{where}.bands[{i}]") for i, b in enumerate(bands)),
        above=None if "above" not in table else _template(table["above"], f"{where}.above"),
        below=None if "below" not in table else _template(table["below"], f"{where}.below"),
    )


def _band(table: Any, where: str) -> Band:
    if not isinstance(table, Mapping) or "text" not in table:
        raise ParameterError(f"{where} must be a table with lower, upper and text, got {table!r}.")
    unknown = sorted(set(table) - {"lower", "upper", "text"})
    if unknown:
        raise ParameterError(f"{where}: unknown keys {unknown}; expected lower, upper, text.")
    bounds = [table.get("lower"), table.get("upper")]
    for bound in bounds:
        if bound is not None and (
            isinstance(bound, bool)
            or not isinstance(bound, int | float)
            or not math.isfinite(bound)
        ):
            raise ParameterError(f"{where}: band bounds must be finite numbers, got {bound!r}.")
    lower, upper = (None if b is None else float(b) for b in bounds)
    if lower is not None and upper is not None and lower > upper:
        raise ParameterError(f"{where}: lower {lower:g} is above upper {upper:g}.")
    return Band(lower=lower, upper=upper, text=_template(table["text"], f"{where}.text"))


def _template(text: Any, where: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ParameterError(f"{where} must be a non-empty text, got {text!r}.")
    try:
        fields = [(f, spec) for _, f, spec, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise ParameterError(f"{where}: {text!r} is not a valid text template: {exc}") from exc
    unknown = sorted({f for f, _ in fields} - set(PLACEHOLDERS))
    if unknown:
        raise ParameterError(
            f"{where}: {text!r} names {unknown}; a text may name {list(PLACEHOLDERS)} in braces."
        )
    for name, spec in fields:
        _check_spec(name, spec or "", where)
    try:  # every placeholder is text: a spec for numbers (".2f") cannot apply
        text.format(**{name: "x" for name in PLACEHOLDERS})
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"{where}: {text!r} cannot be filled in ({exc}); placeholders are text, so a "
            "format spec may only align or pad them (e.g. {value:>12})."
        ) from exc
    return text.strip()


def _check_spec(name: str, spec: str, where: str) -> None:
    """A format spec with no nested fields and no width or precision above the bound."""
    if "{" in spec or "}" in spec:
        raise ParameterError(f"{where}: the format spec of {{{name}}} may not hold braces.")
    widest = max((int(n) for n in _SPEC_NUMBER.findall(spec)), default=0)
    if widest > MAX_SPEC_WIDTH:
        raise ParameterError(
            f"{where}: {{{name}:{spec}}} asks for a width or precision of {widest}; at most "
            f"{MAX_SPEC_WIDTH} is allowed."
        )


# ---- choosing ------------------------------------------------------------------------------------
def choose_text(
    feature: str,
    value: float | str | None,
    texts: ValueTexts | None,
    *,
    reference_mean: float | None,
    reference_name: str,
) -> ChosenText:
    """The reason text for ``feature`` at the applicant's ``value`` (module doc).

    A string (or None: missing) is a category; a number is matched to a band, else
    compared with ``reference_mean``.
    """
    texts = texts or ValueTexts()
    fill = {
        "feature": feature,
        "value": value_words(value),
        "reference": "n/a" if reference_mean is None else number_words(reference_mean),
        "reference_name": reference_name,
    }
    if value is None or isinstance(value, str):
        label = "missing" if value is None else value
        template = texts.categories.get(label, f"{feature_label(feature)}: {{value}}")
        return ChosenText(template.format(**fill), "category")
    number = float(value)
    for band in texts.bands:
        if band.holds(number):
            return ChosenText(band.text.format(**fill), "band", band=(band.lower, band.upper))
    if reference_mean is None:
        return ChosenText(f"{feature_label(feature)} of {{value}}".format(**fill), "value")
    basis: Basis = (
        "above" if number > reference_mean else "below" if number < reference_mean else "at"
    )
    default = f"{feature_label(feature)} of {{value}}: {basis} the average of {{reference_name}} ({{reference}})"
    template = {"above": texts.above, "below": texts.below}.get(basis) or default
    return ChosenText(template.format(**fill), basis, reference=float(reference_mean))


def feature_label(name: str) -> str:
    """``credit_amount`` -> ``Credit amount``."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def value_words(value: float | str | None) -> str:
    if value is None:
        return "missing"
    if isinstance(value, str):
        return value
    return number_words(float(value))


def number_words(x: float) -> str:
    """A number as a sentence shows it: whole numbers whole, others to one decimal (or 3 digits)."""
    if float(x).is_integer():
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.1f}"
    return f"{x:.3g}"


__all__ = [
    "Band",
    "ChosenText",
    "PLACEHOLDERS",
    "ValueTexts",
    "choose_text",
    "feature_label",
    "number_words",
    "texts_from_tables",
]
