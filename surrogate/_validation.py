"""Declarative parameter checks: each bound stated once, each refusal saying what was wrong.

A parameter is checked against constraints — an :class:`Interval`, :class:`Options`,
:data:`BOOLEAN`, :data:`TEXT`, :class:`Instance`, :class:`ListOf` or ``None`` (None
allowed) — and passes when it satisfies any of them::

    n_jobs = check("n_jobs", n_jobs, None, Options((-1,)), Interval(int, 1))

A refusal is a :class:`~surrogate.errors.ParameterError` (an
:class:`~surrogate.errors.UnknownOptionError` when only options were allowed)
naming the argument, what was expected and what came:
``"holdout_share must be a number in [0.05, 0.5], got 0.9."``
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import ParameterError, UnknownOptionError

Closed = Literal["both", "left", "right", "neither"]


@dataclass(frozen=True)
class Interval:
    """Integers (``kind=int``) or real numbers (``kind=float``, integers accepted) in a range."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: Closed = "both"

    def accepts(self, value: Any) -> bool:
        if not _is_number(value, self.kind):
            return False
        low_ok = self.low is None or (
            value >= self.low if self.closed in ("both", "left") else value > self.low
        )
        high_ok = self.high is None or (
            value <= self.high if self.closed in ("both", "right") else value < self.high
        )
        return bool(low_ok and high_ok)

    def cast(self, value: Any) -> Any:
        return int(value) if self.kind is int else float(value)

    def describe(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            left = "[" if self.closed in ("both", "left") else "("
            right = "]" if self.closed in ("both", "right") else ")"
            return f"{noun} in {left}{_show(self.low)}, {_show(self.high)}{right}"
        if self.low is not None:
            return f"{noun} {'>=' if self.closed in ('both', 'left') else '>'} {_show(self.low)}"
        if self.high is not None:
            return f"{noun} {'<=' if self.closed in ('both', 'right') else '<'} {_show(self.high)}"
        return noun


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (compared with ``==``; booleans never match numbers)."""

    values: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        return any(_same_kind(value, option) and value == option for option in self.values)

    def cast(self, value: Any) -> Any:
        return value

    def describe(self) -> str:
        return f"one of {list(self.values)}"


@dataclass(frozen=True)
class Instance:
    """An instance of a type (or tuple of types)."""

    kind: type | tuple[type, ...]
    description: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.kind) and not (
            isinstance(value, bool) and bool not in _types(self.kind)
        )

    def cast(self, value: Any) -> Any:
        return value

    def describe(self) -> str:
        return self.description


@dataclass(frozen=True)
class ListOf:
    """A list (or tuple) whose every item meets ``item``; given back as a list."""

    item: Interval | Options | Instance

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list | tuple) and all(self.item.accepts(v) for v in value)

    def cast(self, value: Any) -> Any:
        return [self.item.cast(v) for v in value]

    def describe(self) -> str:
        return f"a list of items each {self.item.describe()}"


#: True or False (never 0 or 1)
BOOLEAN = Instance(bool, "True or False")
#: any text
TEXT = Instance(str, "text")


def check(name: str, value: Any, *constraints: Any) -> Any:
    """``value``, normalised (numpy integers to int...), if it meets any constraint; else refused."""
    for constraint in constraints:
        if constraint is None:
            if value is None:
                return None
        elif constraint.accepts(value):
            return constraint.cast(value)
    expected = " or ".join("None" if c is None else c.describe() for c in constraints)
    error = (
        UnknownOptionError
        if all(isinstance(c, Options) for c in constraints if c is not None)
        else ParameterError
    )
    raise error(f"{name} must be {expected}, got {value!r}{_type_note(value)}.")


def _is_number(value: Any, kind: type) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    if kind is int:
        return isinstance(value, int | np.integer)
    return isinstance(value, int | float | np.integer | np.floating) and not math.isnan(value)


def _same_kind(value: Any, option: Any) -> bool:
    """Booleans only match booleans, so ``True`` is never taken for ``1``."""
    return isinstance(value, bool) == isinstance(option, bool)


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _show(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


def _type_note(value: Any) -> str:
    if value is None or isinstance(value, bool | int | float | str):
        return ""
    return f" ({type(value).__name__})"
