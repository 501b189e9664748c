"""Deep-model explanations at their defaults against captum's Lime and KernelShap, at equal
model evaluations, on the same components and the same masking.

Run: ``python bench/deep_faithfulness.py [--n 30]`` (needs the ``torch`` and ``bench``
extras; captum 0.8.0 is installed with ``pip install captum==0.8.0 --no-deps``).

Cases
    digits: the demo CNN (``surrogate.demo.deep``) on the first ``n`` held-out digits,
    explained for its predicted class by ``digit_explainer()`` at its defaults (one
    segment per pixel, black baseline, 2,000 model rows, every pixel weighed, log-odds).
    sentences: the demo GRU on the first ``n`` held-out sentences, positive class, by
    ``sentence_explainer()`` at its defaults (word removal, 1,000 rows, log-odds).

How captum gets the same question
    captum is given the query's presence vector (one 1 per pixel or word) with a zero
    baseline and one feature per element, and a forward function that renders presence
    vectors exactly as the library does (pixels kept or black, words kept or removed)
    and returns the log-odds of the explained class. Lime and KernelShap draw as many
    perturbations as the library scores rows (``n_samples``), all in one batched call
    (``perturbations_per_eval=n_samples``); captum's defaults otherwise.

Metrics (per query, then averaged)
    FaithfulnessCorrelation (after Bhatt, Weller & Moura, IJCAI 2020): 100 random subsets
    of a quarter of the components (16 pixels; at least one word) are removed; the
    Pearson correlation between the attributions summed over each subset and the fall of
    the explained log-odds it causes (``fc``; ``fc_prob`` in probability).
    Pixel-flip AUC (digits): the predicted class's probability along the deletion of
    pixels one at a time in the attribution's order, most positive first; the mean over
    the 64 removal steps (the unperturbed image not counted, as Quantus's PixelFlipping
    scores it). Deletion AUC (both): the library's figure at one component per step,
    the explained output rescaled from fully masked (0) to the query (1), clipped,
    trapezoid area over the share removed. ``random``: Gaussian attributions, the floor.
    Time: seconds for all queries per method, measured in this run; the ratios are the
    comparison (the library's explain_many at its defaults, and with n_bootstrap=0, which
    leaves out the stability refits captum does not make).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from surrogate.demo.deep import (
    _digits_model,
    _sentiment_model,
    digit_explainer,
    one_thread,
    sentence_explainer,
)
from surrogate.sampling import text as txt

SUBSETS = 100


# ---- the question, as both tools see it ---------------------------------------------------------
def digit_renderer(model, image, cls):
    import torch

    def probability(keep: np.ndarray) -> np.ndarray:
        batch = np.where(keep.reshape(-1, 8, 8).astype(bool), image[None], 0.0)
        with torch.inference_mode():
            logits = model(torch.as_tensor(batch[:, None], dtype=torch.float32))
            return torch.softmax(logits, 1)[:, cls].double().numpy()

    return probability


def sentence_renderer(model, helpers, text):
    import torch

    layout = txt.text_layout(text, txt.check_tokenizer(None), "bag")

    def probability(keep: np.ndarray) -> np.ndarray:
        texts = txt.perturbed_texts(layout, np.asarray(keep, dtype=bool), txt.REMOVE)
        with torch.inference_mode():
            return torch.softmax(model(helpers.to_tensor(texts)), 1)[:, 1].double().numpy()

    return probability, layout.names


def log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


# ---- metrics -------------------------------------------------------------------------------------
def faithfulness_correlation(probability, attr: np.ndarray, seed: int) -> tuple[float, float]:
    d = len(attr)
    size = max(1, d // 4)
    rng = np.random.default_rng(seed)
    keep = np.ones((SUBSETS, d))
    sums = np.empty(SUBSETS)
    for i in range(SUBSETS):
        subset = rng.choice(d, size, replace=False)
        keep[i, subset] = 0.0
        sums[i] = attr[subset].sum()
    p = probability(np.concatenate([np.ones((1, d)), keep]))
    fc = np.corrcoef(sums, log_odds(p[:1]) - log_odds(p[1:]))[0, 1]
    fc_prob = np.corrcoef(sums, p[0] - p[1:])[0, 1]
    return float(np.nan_to_num(fc)), float(np.nan_to_num(fc_prob))


def deletion_curve(probability, attr: np.ndarray) -> np.ndarray:
    d = len(attr)
    order = np.lexsort((np.arange(d), -attr))
    keep = np.ones((d + 1, d))
    for k in range(1, d + 1):
        keep[k:, order[k - 1]] = 0.0
    return probability(keep)


def deletion_auc(curve: np.ndarray) -> float:
    scale = curve[0] - curve[-1]
    if abs(scale) < 1e-12:
        return float("nan")
    rescaled = np.clip((curve - curve[-1]) / scale, 0, 1)
    return float(np.sum(rescaled[1:] + rescaled[:-1]) / (2 * (len(curve) - 1)))


# ---- the methods ---------------------------------------------------------------------------------
def captum_attributions(method: str, probability, d: int, n_samples: int, cls_seed: int):
    import torch
    from captum.attr import KernelShap, Lime

    def forward(presence):
        p = probability(presence.detach().double().numpy())
        return torch.as_tensor(log_odds(p))[:, None]

    explainer = {"captum Lime": Lime, "captum KernelShap": KernelShap}[method](forward)
    torch.manual_seed(cls_seed)  # captum draws from torch's global generator
    attr = explainer.attribute(
        torch.ones(1, d, dtype=torch.float64),
        baselines=torch.zeros(1, d, dtype=torch.float64),
        target=0,
        n_samples=n_samples,
        perturbations_per_eval=n_samples,
    )
    return attr.detach().numpy()[0]


def library_weights(exp, names) -> np.ndarray:
    weights = {t.feature: t.weight for t in exp.content.terms}
    return np.array([weights.get(n, 0.0) for n in names])


def score(rows: list[dict], method: str, probability, attr, seed, digits: bool) -> None:
    fc, fc_prob = faithfulness_correlation(probability, attr, seed)
    curve = deletion_curve(probability, attr)
    row = {"method": method, "fc": fc, "fc_prob": fc_prob, "deletion": deletion_auc(curve)}
    if digits:
        row["pixel_flip"] = float(np.mean(curve[1:]))
    rows.append(row)


# ---- cases ---------------------------------------------------------------------------------------
def library_runs(explainer, queries) -> tuple[list, dict[str, float]]:
    """The library's explanations at its defaults, and the seconds of that run and of one
    without the stability refits (which captum does not make)."""
    times: dict[str, float] = {}
    t = time.perf_counter()
    exps = explainer.explain_many(queries)
    times["surrogate"] = time.perf_counter() - t
    t = time.perf_counter()
    explainer.explain_many(queries, "linear", n_bootstrap=0)
    times["surrogate, n_bootstrap=0"] = time.perf_counter() - t
    return list(exps), times


def digits_case(n: int) -> tuple[list[dict], dict[str, float], list[float]]:
    model, helpers = _digits_model(0)
    images = helpers.images[helpers.test_index[:n]]
    explainer = digit_explainer(0)
    n_samples = explainer.n_samples
    exps, times = library_runs(explainer, images)
    names = [f"segment {k}" for k in range(64)]
    rows: list[dict] = []
    random_floor = []
    for m in ("captum Lime", "captum KernelShap"):
        times[m] = 0.0
    for i, (image, exp) in enumerate(zip(images, exps, strict=True)):
        cls = list(exp.outputs).index(exp.meta.target)  # the explained output by name
        probability = digit_renderer(model, image, cls)
        score(rows, "surrogate", probability, library_weights(exp, names), i, True)
        for m in ("captum Lime", "captum KernelShap"):
            t = time.perf_counter()
            attr = captum_attributions(m, probability, 64, n_samples, i)
            times[m] += time.perf_counter() - t
            score(rows, m, probability, attr, i, True)
        score(rows, "random", probability, np.random.default_rng(i).normal(size=64), i, True)
        random_floor.append(exp.faithfulness.random)
    return rows, times, [e.faithfulness.deletion for e in exps] + random_floor


def sentences_case(n: int) -> tuple[list[dict], dict[str, float], list[float]]:
    model, helpers = _sentiment_model(0)
    texts = [helpers.texts[i] for i in helpers.test_index[:n]]
    explainer = sentence_explainer(0)
    n_samples = explainer.n_samples
    exps, times = library_runs(explainer, texts)
    rows: list[dict] = []
    for m in ("captum Lime", "captum KernelShap"):
        times[m] = 0.0
    for i, (text, exp) in enumerate(zip(texts, exps, strict=True)):
        probability, names = sentence_renderer(model, helpers, text)
        score(rows, "surrogate", probability, library_weights(exp, names), i, False)
        for m in ("captum Lime", "captum KernelShap"):
            t = time.perf_counter()
            attr = captum_attributions(m, probability, len(names), n_samples, i)
            times[m] += time.perf_counter() - t
            score(rows, m, probability, attr, i, False)
        score(rows, "random", probability, np.random.default_rng(i).normal(size=len(names)), i, False)
    return rows, times, []


def table(title: str, rows: list[dict], times: dict[str, float]) -> str:
    methods = list(dict.fromkeys(r["method"] for r in rows))
    metrics = [k for k in rows[0] if k != "method"]
    lines = [f"### {title}", "", "| method | " + " | ".join(metrics) + " | time (s) | time / captum Lime |"]
    lines.append("|---" * (len(metrics) + 3) + "|")
    lime = times.get("captum Lime")
    for m in methods:
        values = [np.nanmean([r[k] for r in rows if r["method"] == m]) for k in metrics]
        seconds = times.get(m)
        shown = "" if seconds is None else f"{seconds:.1f}"
        ratio = "" if seconds is None or not lime else f"{seconds / lime:.2f}"
        lines.append(f"| {m} | " + " | ".join(f"{v:.3f}" for v in values) + f" | {shown} | {ratio} |")
    for m, seconds in times.items():
        if m not in methods:
            lines.append(f"| {m} (time only) |" + " |" * len(metrics) + f" {seconds:.1f} | {seconds / lime:.2f} |")
    return "\n".join(lines)


def paired_difference(rows: list[dict], metric: str, a: str, b: str) -> str:
    """Mean of ``metric`` for method ``a`` minus ``b``, query by query, with twice its standard
    error: whether a difference between two methods on the same queries is more than noise."""
    first = np.array([r[metric] for r in rows if r["method"] == a])
    second = np.array([r[metric] for r in rows if r["method"] == b])
    diff = first - second
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    return f"{metric}, {a} minus {b} (same queries): {diff.mean():+.4f} +/- {2 * se:.4f} (2 SE)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="queries per case")
    args = parser.parse_args()
    with one_thread():
        rows, times, figures = digits_case(args.n)
        print(table(f"{args.n} digits (demo CNN, defaults)", rows, times))
        half = len(figures) // 2
        spread = [np.std(figures[half:])]
        print(
            f"\nlibrary's own figure (16 steps): deletion AUC {np.mean(figures[:half]):.3f}, "
            f"random floor {np.mean(figures[half:]):.3f} (sd over digits {spread[0]:.3f})\n"
        )
        print(paired_difference(rows, "pixel_flip", "surrogate", "captum Lime") + "\n")
        rows, times, _ = sentences_case(args.n)
        print(table(f"{args.n} sentences (demo GRU, defaults)", rows, times))
        print("\n" + paired_difference(rows, "deletion", "surrogate", "captum Lime"))


if __name__ == "__main__":
    main()
