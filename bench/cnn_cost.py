"""What an explanation costs on a CNN of realistic size, as a ratio of the model's scoring floor.

The model is the ResNet-18-sized classifier of :mod:`surrogate.demo.resnet` (11.7M
parameters, seeded random weights); the images are 224 x 224 crops of scikit-learn's
two sample photographs. Each image is explained with SLIC segments, a zeros
baseline, ``n_samples=1000`` rows and the linear family (5 features, 20 bootstrap
refits), at the default row budget on the CPU: the 939 rows scored before fitting in 5
calls of 188 images, then the deletion check's 61 rows in one call.

The floor is the model alone scoring the same number of rows in the same batch
sizes (tensors already on its device, under ``inference_mode``). Floor and
explanation are run alternately, ``--repeats`` times each (best kept), in one
process, so the ratio compares like with like. The explanation's time is broken
down by timing the library's own steps:

* segment: SLIC and the baseline image;
* sample/compose: keep-masks drawn, masked images composed and laid out for the model;
* model: the model's forward passes inside the explanation (the probe and fingerprint
  calls too: 10 rows per call of ``explain_many``);
* to_tensor and checks: the rest of each model call (a private copy of the images,
  channels moved first, the tensor built, outputs checked);
* fit: the linear surrogate without its bootstrap; stability: the bootstrap refits;
* assemble: fidelity, stability summary and provenance into the explanation;
* other: the rest (the pipeline's own bookkeeping).

On a GPU (``torch.cuda.is_available()``) the model and the floor's tensors live on
it, and the same ratios are printed. Run: ``python bench/cnn_cost.py`` (about four
minutes on two CPU cores with the defaults); ``--images N``, ``--n-samples N``.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import torch

import surrogate.explain.pipeline as pipeline
import surrogate.sampling.image as image_sampling
from surrogate import ImageExplainer
from surrogate.blackbox import TorchBlackBox, shared_row_budget
from surrogate.demo.resnet import IMAGE_SIDE, build_resnet18, sample_photographs
from surrogate.explain.faithfulness import check_rows
from surrogate.sampling.text import KeepMaskSampler
from surrogate.surrogates.linear import LinearSurrogate

#: (owner, attribute, step): what is timed, and the step its time is booked to
TIMED = (
    (image_sampling, "segment", "segment"),
    (image_sampling, "baseline_image", "segment"),
    (KeepMaskSampler, "sample", "sample/compose"),
    (image_sampling, "masked_images", "sample/compose"),
    (image_sampling, "compose", "sample/compose"),
    (image_sampling, "to_layout", "sample/compose"),
    (TorchBlackBox, "_call", "score"),
    (LinearSurrogate, "fit_local", "fit"),
    (LinearSurrogate, "_bootstrap", "stability"),
    (pipeline, "assemble", "assemble"),
)


@contextmanager
def forward_timer(model: Any, spent: dict[str, float], device: torch.device) -> Iterator[None]:
    """Books the model's forward passes to "model" (taken out of the call that runs them)."""
    started: list[float] = []

    def before(module: Any, inputs: Any) -> None:
        _synchronise(device)
        started.append(time.perf_counter())

    def after(module: Any, inputs: Any, output: Any) -> None:
        _synchronise(device)
        spent["model"] += time.perf_counter() - started.pop()

    hooks = [model.register_forward_pre_hook(before), model.register_forward_hook(after)]
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()


@contextmanager
def step_timers(device: torch.device) -> Iterator[dict[str, float]]:
    """Seconds spent in each step while active (nested steps are taken out of their caller's)."""
    spent: dict[str, float] = defaultdict(float)
    stack: list[float] = []  # time of nested steps inside the running one
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in TIMED]

    def timed(function: Callable, step: str) -> Callable:
        def run(*args: Any, **kwargs: Any) -> Any:
            stack.append(0.0)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                _synchronise(device)
                elapsed = time.perf_counter() - start
                nested = stack.pop()
                spent[step] += elapsed - nested
                if stack:
                    stack[-1] += elapsed

        return run

    for (owner, name, _), (_, _, step) in zip(originals, TIMED, strict=True):
        setattr(owner, name, timed(getattr(owner, name), step))
    try:
        yield spent
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def scoring_floor(model: Any, n_rows: int, batch: int, device: torch.device) -> float:
    """Seconds for the model alone to score ``n_rows`` images in calls of ``batch``."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand((batch, 3, IMAGE_SIDE, IMAGE_SIDE), generator=generator).to(device)
    sizes = [min(batch, n_rows - a) for a in range(0, n_rows, batch)]
    _synchronise(device)
    start = time.perf_counter()
    with torch.inference_mode():
        for size in sizes:
            model(images[:size])
    _synchronise(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--n-samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = build_resnet18(seed=0).to(device)
    photos = list(sample_photographs(args.images))
    explainer = ImageExplainer(
        model,
        torch_output="logits",
        segmentation="slic",
        baseline="zeros",
        n_samples=args.n_samples,
    )
    # as the explainer calls the model on the CPU: a query's first block (its rows less the
    # deletion check's) in calls of one fixed size, then the check's rows in a call of theirs
    block = args.n_samples - check_rows()
    budget = shared_row_budget(block, IMAGE_SIDE * IMAGE_SIDE * 3, queries_per_call=1)
    print(
        f"device {device} ({torch.get_num_threads()} torch threads), {args.images} images, "
        f"n_samples {args.n_samples}, {budget} images per call"
    )
    scoring_floor(model, budget, budget, device)  # warm-up: first-call allocations
    floors, wholes, steps = [], [], []
    for _ in range(args.repeats):
        floors.append(
            args.images * scoring_floor(model, block, budget, device)
            + args.images * scoring_floor(model, check_rows(), check_rows(), device)
        )
        with step_timers(device) as spent, forward_timer(model, spent, device):
            start = time.perf_counter()
            many = explainer.explain_many(photos)
            wholes.append(time.perf_counter() - start)
        spent["to_tensor and checks"] = spent.pop("score") - spent["model"]
        steps.append(dict(spent))
    best = int(np.argmin(wholes))
    floor, whole, spent = min(floors), wholes[best], steps[best]
    spent["other"] = whole - sum(spent.values())
    print(f"scoring floor {floor:8.2f} s  (model alone, same rows and batch sizes)")
    print(f"explanation   {whole:8.2f} s  = x{whole / floor:.3f} the floor")
    for step in (
        "segment",
        "sample/compose",
        "model",
        "to_tensor and checks",
        "fit",
        "stability",
        "assemble",
        "other",
    ):
        value = spent.get(step, 0.0)
        print(f"  {step:20s} {value:8.2f} s  x{value / floor:.3f}")
    with suppress(AttributeError):
        print(
            "segments per image:",
            [int(e.segments.max()) + 1 for e in many],
            "; held-out R^2:",
            [round(e.fidelity.r2, 3) if e.fidelity.r2 is not None else None for e in many],
        )


if __name__ == "__main__":
    main()
