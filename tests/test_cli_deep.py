"""``surrogate explain-digit`` and ``explain-text``: the printed explanation, and the picture
files of ``--png`` and ``--html``. The demo models train once per test process (cached)."""

import io
import json

import pytest
from conftest import html_tags

from surrogate import cli

torch = pytest.importorskip("torch")


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_explain_digit_writes_a_png_and_an_html_page_and_prints_as_before(tmp_path, capsys):
    from surrogate.demo.deep import explain_digit_demo

    png, page = tmp_path / "digit.png", tmp_path / "digit.html"
    code, out, err = run(["explain-digit", "3", "--png", str(png), "--html", str(page)], capsys)
    assert code == 0, err
    assert out == explain_digit_demo(3).to_text() + "\n"
    assert out.startswith("Explanation of 'digit 3'")
    pil = pytest.importorskip("PIL.Image")
    picture = pil.open(io.BytesIO(png.read_bytes()))
    assert picture.format == "PNG" and picture.size[0] > 400
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html
    assert "Explanation of digit 3" in html and "held-out R" in html
    assert "script" not in html_tags(html) and sorted(p.name for p in tmp_path.iterdir()) == [
        "digit.html",
        "digit.png",
    ]  # no temporary left behind


def test_explain_text_writes_an_html_page_with_the_class_name(tmp_path, capsys):
    page = tmp_path / "sentence.html"
    sentence = "The food was not good at all."
    code, out, err = run(
        ["explain-text", sentence, "--html", str(page), "--format", "json"], capsys
    )
    assert code == 0, err
    assert json.loads(out)["explanation"]["meta"]["target"] == "positive"  # stdout stays JSON
    html = page.read_text(encoding="utf-8")
    assert "&#x27;positive&#x27;: probability" in html and 'title="not: -' in html
    assert "script" not in html_tags(html)


@pytest.mark.parametrize("option", ["--png", "--html"])
def test_an_output_in_a_missing_folder_is_refused(tmp_path, capsys, option):
    missing = tmp_path / "no-such-folder" / "out.file"
    code, out, err = run(["explain-digit", "3", option, str(missing)], capsys)
    assert code == 2 and out == ""
    assert f"{option} '{missing}': its folder '{missing.parent}' does not exist" in err
    assert not missing.parent.exists()


def test_a_folder_or_the_same_file_twice_is_refused(tmp_path, capsys):
    code, _, err = run(["explain-text", "good", "--html", str(tmp_path)], capsys)
    assert code == 2 and "--html must name a file, got the folder" in err
    same = str(tmp_path / "both")
    code, _, err = run(["explain-digit", "3", "--png", same, "--html", same], capsys)
    assert code == 2 and "--png and --html name the same file" in err
    assert list(tmp_path.iterdir()) == []
