"""Every ```python block of README.md and docs/*.md runs, so the docs cannot drift from the code.

Each file's blocks run in order in one namespace (a later block may use what an earlier one
made), in a temporary working directory, so a block that writes a file (the quickstart's
picture, a review folder) never touches the committed one. ```sh and ```text blocks are
shown, not run.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[str]:
    return [match.group(1) for match in BLOCK.finditer(text)]


def test_blocks_are_found():
    assert python_blocks("x\n```python\na = 1\n```\n```sh\nls\n```\n") == ["a = 1\n"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(python_blocks(readme)) >= 1


#: pages with runnable examples; the others are prose (a test holds them so)
EXAMPLES = [p for p in PAGES if python_blocks(p.read_text(encoding="utf-8"))]


def test_every_page_but_the_prose_ones_has_examples():
    prose = {p.name for p in PAGES} - {p.name for p in EXAMPLES}
    assert prose == {"development.md", "threat-model.md"}


#: pictures that a page's blocks save and that the page shows from docs/img/
PICTURES = {
    "README.md": ("quickstart.png",),
    "text-and-images.md": ("digit.png", "sentence.png"),
}


def test_the_pictures_shown_are_committed():
    for page, pictures in PICTURES.items():
        text = next(p for p in PAGES if p.name == page).read_text(encoding="utf-8")
        for picture in pictures:
            assert f"img/{picture})" in text and (ROOT / "docs" / "img" / picture).is_file()


@pytest.mark.parametrize("page", EXAMPLES, ids=[p.relative_to(ROOT).as_posix() for p in EXAMPLES])
def test_code_blocks_run(page, tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    blocks = python_blocks(page.read_text(encoding="utf-8"))
    ran = 0
    try:
        for number, code in enumerate(blocks, 1):
            name = f"{page.relative_to(ROOT).as_posix()}, python block {number}"
            exec(compile(code, name, "exec"), namespace)  # a block that fails raises here
            ran += 1
    finally:
        plt.close("all")
    assert ran == len(blocks) > 0
    for picture in PICTURES.get(page.name, ()):  # the blocks draw the pictures the page shows
        assert (tmp_path / picture).read_bytes().startswith(b"\x89PNG")


def test_links_between_pages_resolve():
    """Relative links in the docs name files that exist."""
    link = re.compile(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)")
    missing = []
    for page in PAGES:
        for target in link.findall(page.read_text(encoding="utf-8")):
            path = (page.parent / target).resolve()
            if not path.exists():
                missing.append(f"{page.name} -> {target}")
    assert not missing, missing
