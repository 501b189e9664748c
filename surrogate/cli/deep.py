"""``surrogate explain-text`` and ``explain-digit``: the two deep-learning demos.

Both print the explanation (``--format``) and can also write its picture: ``--html FILE``
a stand-alone page (:mod:`surrogate.render.pages`), and for a digit ``--png FILE`` the
figure of ``exp.plot()``. An output whose folder does not exist is refused before the
model is trained; files are written whole or not at all (:func:`surrogate.store.atomic_write`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ParameterError

FORMATS = ("text", "markdown", "json")


def render(exp: Any, fmt: str) -> str:
    """One explanation in the ``--format`` asked for."""
    return {"text": exp.to_text, "markdown": exp.to_markdown, "json": exp.to_json}[fmt]()


def output_path(path: str | None, option: str) -> Path | None:
    """``path`` of an output option, refused when its folder does not exist or it is a folder."""
    if path is None:
        return None
    target = Path(path)
    if target.is_dir():
        raise ParameterError(f"{option} must name a file, got the folder {path!r}.")
    folder = target.parent
    if not folder.is_dir():
        raise ParameterError(
            f"{option} {path!r}: its folder {str(folder)!r} does not exist; create it first."
        )
    return target


def write_outputs(outputs: dict[Path | None, Callable[[], bytes]]) -> None:
    """Write each named output (skipping those not asked for), each file whole or not at all."""
    from ..store import atomic_write

    for path, content in outputs.items():
        if path is not None:
            atomic_write(path, content())


def run_text(args: Any) -> str:
    """``surrogate explain-text``."""
    from ..demo.deep import explain_sentence_demo
    from ..render.pages import text_page

    html = output_path(args.html, "--html")
    exp = explain_sentence_demo(args.sentence)
    write_outputs({html: lambda: text_page(exp).encode("utf-8")})
    return render(exp, args.format)


def run_digit(args: Any) -> str:
    """``surrogate explain-digit``."""
    from ..demo.deep import digit_image, explain_digit_demo
    from ..render.pages import picture_page

    png, html = output_path(args.png, "--png"), output_path(args.html, "--html")
    if png is not None and png == html:
        raise ParameterError(f"--png and --html name the same file {str(png)!r}; give two files.")
    exp = explain_digit_demo(args.index)
    image = digit_image(args.index)
    picture = functools.cache(lambda: exp.to_png(image))  # drawn once for both files
    write_outputs({png: picture, html: lambda: picture_page(exp, picture()).encode("utf-8")})
    return render(exp, args.format)
