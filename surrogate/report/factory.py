"""``--model-factory module:function``: code the reviewer names on the command line, imported
only from where the reviewer put it.

A factory is imported and called, so it runs code. It is therefore honoured from the
command line (or a program building a :class:`~.config.ReviewConfig`) only, never from a
review file (see :mod:`.config`), and its module is looked up on the import path *without*
the current folder: ``python -m surrogate`` and ``python -c`` put the current folder first
on ``sys.path``, so a module shipped beside a review file someone sent would otherwise
shadow the one the reviewer meant. The current folder is searched only when the reviewer
names it on ``PYTHONPATH``; a module found nowhere else is refused, saying so.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ParameterError


def import_factory(text: str | None, *, model: str = "the model file") -> Callable[[], Any]:
    """The function ``text`` (``module:function``) names, imported as the module doc says."""
    module_name, function = parse_factory(text, model)
    module = import_explicitly(module_name, text)
    build = getattr(module, function, None)
    if not callable(build):
        raise ParameterError(
            f"--model-factory {text!r}: module {module_name!r} has no function {function!r}."
        )
    return build


def parse_factory(text: str | None, model: str = "the model file") -> tuple[str, str]:
    """``module:function`` split in two, each part a dotted Python name."""
    module_name, _, function = (text or "").partition(":")
    dotted = all(part.isidentifier() for part in module_name.split("."))
    if not (module_name and dotted and function.isidentifier()):
        raise ParameterError(
            f"A torch state dict ({model}) needs --model-factory module:function naming the "
            f"function that builds the module, got {text!r}."
        )
    return module_name, function


def import_explicitly(module_name: str, text: str | None) -> ModuleType:
    """``module_name`` imported from the import path less the implicit current folder."""
    if module_name in sys.modules:  # already imported by the program: nothing is looked up
        return sys.modules[module_name]
    top = module_name.partition(".")[0]
    if top not in sys.modules:
        _load_top_level(top, text)
    try:  # a submodule is looked up inside its package's own folder
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise ParameterError(f"--model-factory {text!r} cannot be imported: {exc}") from exc


def implicit_folders() -> list[Path]:
    """Folders on ``sys.path`` only because of how Python was started: the current folder
    (``''`` or its path, put first by ``python -m`` / ``-c``), unless PYTHONPATH names it."""
    cwd = Path.cwd().resolve()
    explicit = {_resolved(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    return [] if cwd in explicit else [cwd]


def searched_path() -> list[str]:
    """``sys.path`` without the implicit folders."""
    implicit = set(implicit_folders())
    return [entry for entry in sys.path if _resolved(entry or ".") not in implicit]


def _load_top_level(top: str, text: str | None) -> None:
    spec = _find_spec(top, searched_path())
    if spec is None:
        raise ParameterError(_not_found(top, text))
    origin = _folder_of(spec)
    if origin is not None and origin in implicit_folders():
        raise ParameterError(_not_found(top, text))
    if spec.loader is None:  # a namespace folder: no code to run, nothing to build from
        raise ParameterError(_not_found(top, text))
    module = importlib.util.module_from_spec(spec)
    sys.modules[top] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(top, None)
        raise


def _find_spec(name: str, path: list[str]) -> importlib.machinery.ModuleSpec | None:
    """The first import finder's spec for ``name``, the path-based finder searching ``path``."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        searched = path if finder is importlib.machinery.PathFinder else None
        spec = find(name, searched)
        if spec is not None:
            return spec
    return None


def _folder_of(spec: importlib.machinery.ModuleSpec) -> Path | None:
    """The sys.path folder a module was found in (a package's parent), None if not a file."""
    if not spec.has_location or not spec.origin:
        return None
    origin = Path(spec.origin).resolve()
    return origin.parent.parent if spec.submodule_search_locations is not None else origin.parent


def _not_found(top: str, text: str | None) -> str:
    here = [str(folder) for folder in implicit_folders()]
    beside = [f for f in here if _find_spec_in(top, f)]
    if beside:
        return (
            f"--model-factory {text!r}: module {top!r} is found only in the current folder "
            f"{beside[0]!r}, which is not searched for code unless you put it on the path: "
            f"run with PYTHONPATH={beside[0]} if you trust that module."
        )
    return (
        f"--model-factory {text!r} cannot be imported: no module named {top!r} on the import "
        "path (set PYTHONPATH to its folder)."
    )


def _find_spec_in(name: str, folder: str) -> bool:
    return importlib.machinery.PathFinder.find_spec(name, [folder]) is not None


def _resolved(entry: str) -> Path:
    try:
        return Path(entry).resolve()
    except (OSError, RuntimeError):  # an unreadable entry matches no folder
        return Path(entry)
