"""``--model-factory module:function`` imports code only from where the reviewer put it:
never a module that is found only in the current folder (which ``python -m`` and ``-c``
put first on the import path) unless PYTHONPATH names that folder."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from surrogate.errors import ParameterError
from surrogate.report.factory import import_factory, parse_factory

MODULE = """
from pathlib import Path
Path({marker!r}).touch()

def build():
    return "built by {name}"
"""


@pytest.fixture
def module(tmp_path, monkeypatch):
    """A uniquely named module file in its own folder, which records being run."""
    name = f"factory_{uuid.uuid4().hex[:12]}"
    folder = tmp_path / "code"
    folder.mkdir()
    marker = tmp_path / "it-ran"
    (folder / f"{name}.py").write_text(MODULE.format(marker=str(marker), name=name))
    yield name, folder, marker
    sys.modules.pop(name, None)


def _run_from(folder: Path, monkeypatch, *, pythonpath: str = "") -> None:
    """As ``python -m`` started in ``folder``: the current folder first on the path."""
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", pythonpath)


def test_a_module_found_only_in_the_current_folder_is_refused_unrun(module, monkeypatch):
    name, folder, marker = module
    _run_from(folder, monkeypatch)
    with pytest.raises(ParameterError, match="found only in the current folder"):
        import_factory(f"{name}:build")
    assert not marker.exists() and name not in sys.modules


def test_the_current_folder_named_on_pythonpath_is_searched(module, monkeypatch):
    name, folder, marker = module
    _run_from(folder, monkeypatch, pythonpath=str(folder))
    assert import_factory(f"{name}:build")() == f"built by {name}"
    assert marker.exists()


def test_a_module_on_the_path_elsewhere_is_imported(module, tmp_path, monkeypatch):
    name, folder, _ = module
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", "")
    assert import_factory(f"{name}:build")() == f"built by {name}"


def test_a_submodule_is_looked_up_inside_its_package(tmp_path, monkeypatch):
    package = f"pkg_{uuid.uuid4().hex[:12]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "nets.py").write_text("def build():\n    return 'net'\n")
    monkeypatch.chdir(tmp_path.parent)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert import_factory(f"{package}.nets:build")() == "net"
    finally:
        sys.modules.pop(f"{package}.nets", None)
        sys.modules.pop(package, None)


def test_an_imported_module_is_used_as_it_is():
    import math

    assert import_factory("math:sqrt") is math.sqrt


def test_a_missing_module_or_function_is_refused_by_name(module, tmp_path, monkeypatch):
    name, folder, _ = module
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError, match="no module named 'no_such_module_here'"):
        import_factory("no_such_module_here:build")
    monkeypatch.syspath_prepend(str(folder))
    with pytest.raises(ParameterError, match=f"module {name!r} has no function 'missing'"):
        import_factory(f"{name}:missing")


def test_a_module_that_fails_on_import_leaves_nothing_behind(tmp_path, monkeypatch):
    name = f"broken_{uuid.uuid4().hex[:12]}"
    (tmp_path / f"{name}.py").write_text("raise RuntimeError('broken on import')\n")
    monkeypatch.chdir(tmp_path.parent)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RuntimeError, match="broken on import"):
        import_factory(f"{name}:build")
    assert name not in sys.modules


@pytest.mark.parametrize("text", [None, "", "mod", "mod:", ":build", "mod:build()", "1mod:build"])
def test_a_malformed_name_is_refused(text):
    with pytest.raises(ParameterError, match="module:function"):
        parse_factory(text)
