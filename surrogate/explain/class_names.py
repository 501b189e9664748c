"""Class names of a text or image model's outputs: ``class_names=`` of the masking explainers.

A torch module or a callable returns bare columns, named ``"0"``, ``"1"``... by their
position. ``class_names`` gives them the names a reader knows ("negative", "positive"),
as a scikit-learn classifier's ``classes_`` names its columns. The names replace the
output names wherever the explanation states them: ``meta.target``, the ``outputs``
keys, and every rendering, so they travel in the JSON as they are read. ``target=``
then takes a name, or still a position.

The names are checked for their form when the explainer is built, and against the
model's outputs when its adapter is (the first query of a shape, for images).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from ..blackbox import BlackBox
from ..errors import ParameterError

#: a checked ``class_names``: names by position, or by the model's own output name
ClassNames = tuple[str, ...] | dict[str, str] | None


def check_class_names(class_names: Any) -> ClassNames:
    """``class_names`` as a tuple of names or a ``{output: name}`` dict; refused unless every
    name is a distinct non-empty str."""
    if class_names is None:
        return None
    if isinstance(class_names, Mapping):
        named = {str(output): name for output, name in class_names.items()}
        if len(named) != len(class_names):
            raise ParameterError(
                f"class_names names some outputs twice once its keys are read as text: "
                f"{list(class_names)!r}."
            )
        _check_names(list(named.values()))
        return named
    if isinstance(class_names, str | bytes) or not isinstance(class_names, Sequence):
        raise ParameterError(
            "class_names must be a sequence of names, one per model output (e.g. "
            "['negative', 'positive']), or a mapping {output: name}; got "
            f"{type(class_names).__name__} {class_names!r}."
        )
    names = list(class_names)
    _check_names(names)
    return tuple(names)


def _check_names(names: list[Any]) -> None:
    if not names:
        raise ParameterError("class_names must name at least one output, got an empty one.")
    bad = [name for name in names if not isinstance(name, str) or not name.strip()]
    if bad:
        raise ParameterError(
            f"class_names must be non-empty strings, got {bad[0]!r} "
            f"({type(bad[0]).__name__}) among {names!r}."
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ParameterError(
            f"class_names must be distinct (each names one output), got {repeated} more than once."
        )


def with_class_names(blackbox: BlackBox, class_names: ClassNames) -> BlackBox:
    """The adapter with its outputs named by ``class_names`` (a copy: the adapter given, which
    may be the user's own, is left as it was); the adapter itself when there are none."""
    if class_names is None:
        return blackbox
    if blackbox.mode != "classification":
        raise ParameterError(
            f"class_names names a classifier's classes, but this model is a {blackbox.mode} "
            f"model (outputs {list(blackbox.output_names)}); leave class_names out."
        )
    named = copy.copy(blackbox)
    named.output_names = _names_for(class_names, tuple(blackbox.output_names))
    return named


def _names_for(
    class_names: tuple[str, ...] | dict[str, str], outputs: tuple[str, ...]
) -> tuple[str, ...]:
    if isinstance(class_names, tuple):
        if len(class_names) != len(outputs):
            raise ParameterError(
                f"class_names gives {len(class_names)} name(s) {list(class_names)} but the model has "
                f"{len(outputs)} outputs {list(outputs)}; give one name per output, in their order."
            )
        return class_names
    missing = [o for o in outputs if o not in class_names]
    unknown = sorted(set(class_names) - set(outputs))
    if missing or unknown:
        wrong = [f"it leaves out {missing}"] if missing else []
        wrong += [f"it names outputs the model does not have: {unknown}"] if unknown else []
        raise ParameterError(
            f"class_names must name each of the model's outputs {list(outputs)}; "
            f"{' and '.join(wrong)}."
        )
    return tuple(class_names[o] for o in outputs)


__all__ = ["ClassNames", "check_class_names", "with_class_names"]
