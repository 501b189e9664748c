"""When does a float32 torch row's output depend on the batch it is scored in?

For three models (the demo digits CNN, the demo sentiment GRU and the ResNet-18-sized
CNN of ``surrogate.demo.resnet``) a block ``Q`` of one query's masked rows is
scored in four ways, and its outputs (the model's raw float32 output) compared
bit for bit with the first:

* ``size``: ``Q`` alone, against ``Q`` followed by other queries' rows (a larger batch);
* ``content``: ``Q`` then rows ``A``, against ``Q`` then rows ``B`` of the same count
  (same shape, same position, other company);
* ``position``: ``Q`` then ``A``, against ``A`` then ``Q`` (same shape and company, ``Q``
  at another offset), at a few offsets;
* ``padding``: the library's rule, a call of exactly ``row_budget`` rows with ``Q`` at
  offset 0 and the rest repeats of ``Q``'s first row, against ``Q`` at a slot offset
  (a multiple of ``len(Q)``) of a call of the same shape holding other queries.

It prints, per model and torch thread count, the largest absolute difference and the
share of ``Q``'s rows that differ at all. Run: ``python bench/batch_invariance.py``
(about a minute on two cores; ``--skip-resnet`` for a few seconds).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import torch

from surrogate.demo.deep import train_digits_cnn, train_sentiment_gru
from surrogate.demo.resnet import build_resnet18, sample_photographs
from surrogate.sampling.image import compose, slic_segments, zeros_baseline
from surrogate.sampling.text import check_tokenizer, perturbed_texts, text_layout


def masks(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    return rng.random((n, d)) < 0.5


def digit_rows(images: np.ndarray, k: int, n: int, seed: int) -> torch.Tensor:
    """``n`` per-pixel masked copies of digit ``k`` (zeros baseline), as (n, 1, 8, 8)."""
    keep = masks(np.random.default_rng(seed), n, 64)
    batch = np.where(keep.reshape(n, 8, 8), images[k][None], 0.0)
    return torch.from_numpy(batch[:, None].astype(np.float32))


def text_rows(texts: list[str], k: int, n: int, seed: int, encode: Callable) -> list[str]:
    layout = text_layout(texts[k], check_tokenizer(None), "bag")
    keep = masks(np.random.default_rng(seed), n, len(layout.names))
    return perturbed_texts(layout, keep, "remove")


def photo_rows(photos: np.ndarray, k: int, n: int, seed: int) -> torch.Tensor:
    pixels = photos[k % len(photos)].astype(np.float64)
    segments = slic_segments(pixels)
    keep = masks(np.random.default_rng(seed), n, int(segments.max()) + 1)
    batch = compose(pixels, zeros_baseline(pixels, segments), segments, keep)
    return torch.from_numpy(np.moveaxis(batch, -1, 1).astype(np.float32))


def compare(a: np.ndarray, b: np.ndarray) -> str:
    differ = (a != b).any(axis=1)
    return f"max |diff| {np.abs(a - b).max():.2e}, rows differing {differ.mean():6.1%}"


def study(name: str, score: Callable, rows: Callable, q: int, slots: int) -> None:
    """``score(batch) -> (n, k) float32 numpy``; ``rows(k, n)`` the ``k``-th query's ``n`` rows."""
    query, a, b = rows(0, q), rows(1, q * (slots - 1)), rows(2, q * (slots - 1))
    join = _joiner(query)
    alone = score(query)
    with_a = score(join([query, a]))[:q]
    print(f"  {name} size     : {compare(alone, with_a)}")
    print(f"  {name} content  : {compare(with_a, score(join([query, b]))[:q])}")
    for offset in sorted({1, 3, q // 2, q}):
        moved = score(join([_take(a, offset), query, _drop(a, offset)]))[offset : offset + q]
        print(f"  {name} position {offset:4d}: {compare(with_a, moved)}")
    padded = score(join([query] + [_take(query, 1)] * (q * (slots - 1))))[:q]
    for slot in range(1, slots):
        others = join([_take(a, q * slot), query, _drop(a, q * slot)])
        print(
            f"  {name} padding, slot {slot}: {compare(padded, score(others)[q * slot : q * (slot + 1)])}"
        )


def _joiner(sample):
    if isinstance(sample, list):
        return lambda parts: [t for part in parts for t in part]
    return torch.cat


def _take(rows, n):
    return rows[:n]


def _drop(rows, n):
    return rows[n:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-resnet", action="store_true")
    args = parser.parse_args()
    cnn, digits = train_digits_cnn()
    gru, text = train_sentiment_gru()
    models = [
        ("digits CNN", cnn, lambda k, n: digit_rows(digits.images, 10 + k, n, k), 500, 4),
        (
            "GRU",
            gru,
            lambda k, n: text_rows(text.texts, 20 + k, n, k, text.to_tensor),
            300,
            4,
        ),
    ]
    if not args.skip_resnet:
        photos = sample_photographs(3)
        models.append(
            ("ResNet-18", build_resnet18(0), lambda k, n: photo_rows(photos, k, n, k), 8, 3)
        )
    for threads in (1, 2):
        torch.set_num_threads(threads)
        print(f"torch threads: {threads}")
        for name, model, rows, q, slots in models:
            encode = text.to_tensor if name == "GRU" else None

            def score(batch, model=model, encode=encode):
                with torch.inference_mode():
                    inputs = encode(batch) if encode is not None else batch
                    return model(inputs).numpy()

            study(name, score, rows, q, slots)


if __name__ == "__main__":
    main()
