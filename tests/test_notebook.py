"""The example notebook, run in a Jupyter kernel with default settings: every plot() shows."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "quickstart.ipynb"
PNG = "image/png"
WIDGET = "application/vnd.jupyter.widget-view+json"


def _outputs(cell) -> list[dict]:
    return [o for o in cell.outputs if o.get("output_type") in ("execute_result", "display_data")]


@pytest.mark.timeout(300)
def test_the_example_notebook_shows_every_plot(tmp_path, monkeypatch):
    """exp.plot() in a notebook showed only "<Figure size 640x350 with 1 Axes>"."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own default
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=240,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    errors = [o for cell in code for o in cell.outputs if o.get("output_type") == "error"]
    assert not errors, errors
    one, many, shared = code[1], code[2], code[3]
    # the waterfall and the set's importances: each cell's value is shown as a picture
    for cell in (one, many):
        (result,) = [o for o in _outputs(cell) if o["output_type"] == "execute_result"]
        assert PNG in result["data"], result["data"].get("text/plain")
    # the set's progress bar is a notebook widget (ipywidgets), not text on stderr
    assert any(WIDGET in o["data"] for o in _outputs(many))
    assert not any("IProgress not found" in o.get("text", "") for o in many.outputs)
    # two results drawn into one pyplot figure: shown once, by the notebook's backend
    pictures = [o for o in _outputs(shared) if PNG in o["data"]]
    assert len(pictures) == 1 and pictures[0]["output_type"] == "display_data"
