"""LIME and surrogate side by side, each at its default settings, at the same n_samples.

Cases: German credit and Adult with a scikit-learn pipeline (OneHotEncoder +
HistGradientBoostingClassifier), and Adult with a small torch MLP trained briefly
at start-up. For each case it measures, on the same queries:

- seconds per explanation: LIME one query at a time (as it works), surrogate
  through ``explain_many``;
- the black-box scoring floor: one model call over as many rows as the
  surrogate scores (queries x n_samples), and the surrogate's time over it;
- held-out fidelity of both explainers on the same held-out neighbourhoods with
  the same kernel (``surrogate.interop.audit_lime_explanation``);
- top-5 Jaccard (and VSI, CSI, sign agreement) over 10 seeds;
- peak memory (``ru_maxrss``), each tool in its own subprocess.

Then the scale run: explain_many of 20,000 Adult rows at n_samples=1000 (time,
peak memory) against 10,000 rows (time ratio).

Usage::

    python bench/bench_vs_lime.py --quick --out results.json

See bench/README.md for what each column means. Numbers are measured in one run
on this machine; ratios are the point, and they are printed next to the targets
whether or not they meet them.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

N_SAMPLES = 5000
SCALE_SAMPLES = 1000
N_SEEDS = 10
TOP_K = 5
SPLIT_SEED = 0
CASES = (("german", "hgb"), ("adult", "hgb"), ("adult", "mlp"))
TARGETS = {
    "speedup_german": 4.0,  # surrogate explanations/s over LIME's, German credit
    "floor_ratio": 1.25,  # surrogate total time over the scoring floor
    "jaccard": 0.95,  # surrogate top-5 Jaccard over 10 seeds
    "r2_lead": 0.2,  # surrogate median held-out R^2 minus LIME's
    "scale_rss_mb": 2048.0,  # peak memory of the 20k-row run
    "scale_ratio": 2.2,  # time of the 20k-row run over the 10k-row run
}


@dataclass(frozen=True)
class Sizes:
    """How much work one run does."""

    n_queries: int  # queries timed per case (both tools)
    n_stability: int  # of those, queries rerun over N_SEEDS seeds
    scale_rows: tuple[int, int]  # (large, half) for the scale run

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        return cls(4, 2, (1000, 500)) if quick else cls(100, 20, (20_000, 10_000))


# ---- models (built in the parent, loaded by every worker) ------------------------------------------
def _split(X, y):
    rng = np.random.default_rng(SPLIT_SEED)
    order = rng.permutation(len(X))
    cut = int(0.7 * len(X))
    return X.iloc[order[:cut]], y.iloc[order[:cut]], X.iloc[order[cut:]]


def _categorical(X) -> list[str]:
    from pandas.api.types import is_numeric_dtype

    return [c for c in X.columns if not is_numeric_dtype(X[c].dtype)]


def _hgb_pipeline(X_train, y_train):
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    return make_pipeline(
        make_column_transformer((encoder, _categorical(X_train)), remainder="passthrough"),
        HistGradientBoostingClassifier(random_state=0),
    ).fit(X_train, y_train)


class MLP:
    """Builds the torch module lazily so this script imports without torch."""

    @staticmethod
    def module(n_inputs: int):
        import torch

        return torch.nn.Sequential(
            torch.nn.Linear(n_inputs, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 32),
            torch.nn.ReLU(),
            torch.nn.Linear(32, 2),
        )


def _mlp_bundle(X_train, y_train, epochs: int = 3) -> dict[str, Any]:
    """Train the MLP briefly; returns what a worker needs to rebuild it."""
    import torch
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in X_train.columns if c not in _categorical(X_train)]
    pre = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), _categorical(X_train)),
        (StandardScaler(), numeric),
    ).fit(X_train)
    inputs = torch.as_tensor(pre.transform(X_train), dtype=torch.float32)
    # column 1 is ">50K", as in the pipeline's sorted classes
    labels = torch.as_tensor(
        np.array(y_train.astype(str).str.startswith(">"), dtype=np.int64), dtype=torch.long
    )
    torch.manual_seed(0)  # this script's own process: the bench's model is reproducible
    module = MLP.module(inputs.shape[1])
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-3)
    for _ in range(epochs):
        for batch in torch.randperm(len(inputs)).split(256):
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(module(inputs[batch]), labels[batch])
            loss.backward()
            optimiser.step()
    return {"pre": pre, "state": module.state_dict(), "n_inputs": int(inputs.shape[1])}


class ToTensor:
    """The MLP's input: the fitted preprocessor's matrix as a tensor (picklable)."""

    def __init__(self, pre: Any) -> None:
        self.pre = pre

    def __call__(self, rows: Any, device: Any, dtype: Any) -> Any:
        import torch

        return torch.as_tensor(self.pre.transform(rows), dtype=dtype, device=device)


def prepare(workspace: Path, sizes: Sizes) -> dict[str, float]:
    """Train every model once and pickle it with its data; returns training seconds."""
    from surrogate import datasets

    seconds = {}
    for dataset in sorted({d for d, _ in CASES}):
        X, y = getattr(datasets, f"load_{'german_credit' if dataset == 'german' else 'adult'}")()
        X_train, y_train, X_test = _split(X, y)
        for d, kind in CASES:
            if d != dataset:
                continue
            start = time.perf_counter()
            model = (
                _hgb_pipeline(X_train, y_train) if kind == "hgb" else _mlp_bundle(X_train, y_train)
            )
            seconds[f"{dataset}/{kind}"] = time.perf_counter() - start
            bundle = {
                "kind": kind,
                "model": model,
                "X_train": X_train,
                "queries": X_test.iloc[: sizes.n_queries],
            }
            if dataset == "adult" and kind == "hgb":
                bundle["scale_queries"] = X.iloc[: sizes.scale_rows[0]]
            with open(workspace / f"{dataset}-{kind}.pkl", "wb") as fh:
                pickle.dump(bundle, fh)
    return seconds


# ---- worker side ----------------------------------------------------------------------------------
class Loaded:
    """A case's model, training data and queries, as one worker sees them."""

    def __init__(self, path: str) -> None:
        with open(path, "rb") as fh:
            bundle = pickle.load(fh)
        self.kind = bundle["kind"]
        self.X_train = bundle["X_train"]
        self.queries = bundle["queries"]
        self.scale_queries = bundle.get("scale_queries")
        if self.kind == "hgb":
            self.model = bundle["model"]
            self.options: dict[str, Any] = {}
        else:
            self.model, self.options = self._torch(bundle["model"])

    @staticmethod
    def _torch(parts: dict[str, Any]):
        module = MLP.module(parts["n_inputs"])
        module.load_state_dict(parts["state"])
        module.eval()
        return module, {"torch_output": "logits", "to_tensor": ToTensor(parts["pre"])}

    def explainer(self, n_samples: int = N_SAMPLES):
        import surrogate as sg

        return sg.TabularExplainer(
            self.model, self.X_train, n_samples=n_samples, random_state=0, **self.options
        )

    def model_call(self, rows: Any) -> np.ndarray:
        """One call of the black box on rows as it eats them; class probabilities."""
        if self.kind == "hgb":
            return self.model.predict_proba(rows)
        import torch

        with torch.inference_mode():
            inputs = self.options["to_tensor"](rows, torch.device("cpu"), torch.float32)
            return torch.softmax(self.model(inputs), dim=1).double().numpy()


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB.

    Linux: ``VmHWM`` of /proc/self/status, the high-water mark of this program's own
    address space. ``ru_maxrss`` is not used there because Linux carries it across
    fork and exec, so a worker would report its (larger) parent's peak.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def work_floor(case: Loaded, n_queries: int) -> dict[str, Any]:
    """One model call over queries x n_samples rows drawn by the surrogate's sampler."""
    explainer = case.explainer()
    values = explainer.schema.encode(case.queries.iloc[:n_queries])
    seed = np.random.SeedSequence(0)
    rows = np.concatenate(
        [
            explainer.sampler.sample(v, N_SAMPLES, s).values
            for v, s in zip(values, seed.spawn(len(values)), strict=True)
        ]
    )
    frame = explainer.schema.decode(rows)
    start = time.perf_counter()
    case.model_call(frame)
    return {"seconds": time.perf_counter() - start, "rows": len(rows), "peak_rss_mb": peak_rss_mb()}


def work_ours(case: Loaded, n_queries: int, n_stability: int) -> dict[str, Any]:
    from surrogate.interop import reseeded, stability_indices

    started = time.perf_counter()
    explainer = case.explainer()
    setup = time.perf_counter() - started
    queries = case.queries.iloc[:n_queries]
    start = time.perf_counter()
    many = explainer.explain_many(queries)
    seconds = time.perf_counter() - start
    rss = peak_rss_mb()
    runs = [
        reseeded(explainer, seed).explain_many(queries.iloc[:n_stability])
        for seed in range(N_SEEDS)
    ]
    stability = [stability_indices([run[i] for run in runs], k=TOP_K) for i in range(n_stability)]
    return {
        "seconds": seconds,
        "setup_seconds": setup,
        "peak_rss_mb": rss,
        "r2": [e.fidelity.r2 for e in many],
        "query_gap": [e.fidelity.query_gap for e in many],
        "top_features": [e.top_features(TOP_K) for e in many],
        "stability": [asdict(s) for s in stability],
    }


def work_lime(case: Loaded, n_queries: int, n_stability: int) -> dict[str, Any]:
    from lime.lime_tabular import LimeTabularExplainer

    import surrogate as sg
    from surrogate.interop import audit_lime_explanation, lime_arguments

    started = time.perf_counter()
    schema = sg.FeatureSchema.infer(case.X_train)
    lime = LimeTabularExplainer(
        **lime_arguments(schema, case.X_train), mode="classification", random_state=0
    )
    setup = time.perf_counter() - started

    def predict(array: np.ndarray) -> np.ndarray:
        return case.model_call(schema.decode(np.asarray(array, dtype=np.float64)))

    queries = case.queries.iloc[:n_queries]
    values = schema.encode(queries)
    start = time.perf_counter()
    explanations = [lime.explain_instance(v, predict, num_samples=N_SAMPLES) for v in values]
    seconds = time.perf_counter() - start
    rss = peak_rss_mb()  # before the audit, which is not LIME's own work
    explainer = case.explainer()
    audits = [
        audit_lime_explanation(
            lime,
            exp,
            predict,
            explainer,
            queries.iloc[i],
            num_samples=N_SAMPLES,
            n_seeds=N_SEEDS if i < n_stability else 0,
            k=TOP_K,
        )
        for i, exp in enumerate(explanations)
    ]
    return {
        "seconds": seconds,
        "setup_seconds": setup,
        "peak_rss_mb": rss,
        "r2": [a.r2 for a in audits],
        "query_gap": [a.query_gap for a in audits],
        "r2_lime_own": [a.r2_lime_own for a in audits],
        "top_features": [list(a.top_features) for a in audits],
        "stability": [asdict(a.stability) for a in audits if a.stability is not None],
    }


def work_scale(case: Loaded, n_rows: int) -> dict[str, Any]:
    explainer = case.explainer(SCALE_SAMPLES)
    queries = case.scale_queries.iloc[:n_rows]
    start = time.perf_counter()
    many = explainer.explain_many(queries, on_error="record")
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": n_rows,
        "explained": len(many),
        "failures": len(many.failures),
        "peak_rss_mb": peak_rss_mb(),
    }


def run_worker(job: dict[str, Any]) -> None:
    threads = job.get("threads")
    if threads and job["case_kind"] == "mlp":
        import torch

        torch.set_num_threads(threads)
    case = Loaded(job["path"])
    work = {
        "floor": lambda: work_floor(case, job["n_queries"]),
        "ours": lambda: work_ours(case, job["n_queries"], job["n_stability"]),
        "lime": lambda: work_lime(case, job["n_queries"], job["n_stability"]),
        "scale": lambda: work_scale(case, job["n_rows"]),
    }[job["task"]]
    print(json.dumps(work()))


# ---- parent side ------------------------------------------------------------------------------------
def spawn(job: dict[str, Any], threads: int | None) -> dict[str, Any]:
    """Run one job in a fresh interpreter (its own peak memory); returns its JSON answer."""
    env = dict(os.environ)
    if threads:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
    job = {**job, "threads": threads}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"worker {job['task']} on {job['path']} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(workspace: Path, sizes: Sizes, threads: int | None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for dataset, kind in CASES:
        path = str(workspace / f"{dataset}-{kind}.pkl")
        base = {
            "path": path,
            "case_kind": kind,
            "n_queries": sizes.n_queries,
            "n_stability": sizes.n_stability,
        }
        case = {task: spawn({**base, "task": task}, threads) for task in ("floor", "ours", "lime")}
        results[f"{dataset}/{kind}"] = case
        print(f"  measured {dataset}/{kind}", file=sys.stderr)
    path = str(workspace / "adult-hgb.pkl")
    results["scale"] = [
        spawn({"path": path, "case_kind": "hgb", "task": "scale", "n_rows": n}, threads)
        for n in sizes.scale_rows
    ]
    return results


# ---- summary ----------------------------------------------------------------------------------------
def _median(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None]
    return float(np.median(finite)) if finite else None


def _mean_of(stability: list[dict[str, Any]], key: str) -> float | None:
    values = [s[key] for s in stability if s[key] is not None]
    return float(np.mean(values)) if values else None


def summarise(results: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for dataset, kind in CASES:
        name = f"{dataset}/{kind}"
        floor, ours, lime = (results[name][t] for t in ("floor", "ours", "lime"))
        n = sizes.n_queries
        row = {
            "lime_s_per_explanation": lime["seconds"] / n,
            "ours_s_per_explanation": ours["seconds"] / n,
            "speedup": lime["seconds"] / ours["seconds"],
            "floor_seconds": floor["seconds"],
            "ours_seconds": ours["seconds"],
            "floor_ratio": ours["seconds"] / floor["seconds"],
            "lime_median_r2": _median(lime["r2"]),
            "ours_median_r2": _median(ours["r2"]),
            "lime_undefined_r2": sum(v is None for v in lime["r2"]),
            "ours_undefined_r2": sum(v is None for v in ours["r2"]),
            "lime_median_r2_own_sample": _median(lime["r2_lime_own"]),
            "lime_median_query_gap": _median(lime["query_gap"]),
            "ours_median_query_gap": _median(ours["query_gap"]),
            "lime_peak_rss_mb": lime["peak_rss_mb"],
            "ours_peak_rss_mb": ours["peak_rss_mb"],
            "floor_peak_rss_mb": floor["peak_rss_mb"],
        }
        for key in ("top_k_jaccard", "vsi", "csi", "sign_agreement"):
            row[f"lime_{key}"] = _mean_of(lime["stability"], key)
            row[f"ours_{key}"] = _mean_of(ours["stability"], key)
        lead = (
            None
            if row["ours_median_r2"] is None or row["lime_median_r2"] is None
            else row["ours_median_r2"] - row["lime_median_r2"]
        )
        row["r2_lead"] = lead
        summary[name] = row
    large, half = results["scale"]
    summary["scale"] = {
        "rows": [large["rows"], half["rows"]],
        "seconds": [large["seconds"], half["seconds"]],
        "peak_rss_mb": [large["peak_rss_mb"], half["peak_rss_mb"]],
        "failures": [large["failures"], half["failures"]],
        "time_ratio": large["seconds"] / half["seconds"],
    }
    return summary


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def _case_rows(r: dict[str, Any], sizes: Sizes, german: bool) -> list[tuple[str, ...]]:
    """(metric, LIME, surrogate, comparison, target, met) rows of one case."""
    lead, jac = r["r2_lead"], r["ours_top_k_jaccard"]
    speed_met = _met(r["speedup"] >= TARGETS["speedup_german"]) if german else "—"
    return [
        ("s / explanation", _fmt(r["lime_s_per_explanation"]), _fmt(r["ours_s_per_explanation"]),
         f"{r['speedup']:.2f}x LIME's explanations/s", "≥ 4x" if german else "—", speed_met),
        (f"total s, {sizes.n_queries} queries", _fmt(r["lime_s_per_explanation"] * sizes.n_queries),
         _fmt(r["ours_seconds"]),
         f"floor {_fmt(r['floor_seconds'])} s; surrogate/floor {r['floor_ratio']:.2f}",
         "≤ 1.25x floor", _met(r["floor_ratio"] <= TARGETS["floor_ratio"])),
        ("median held-out R²", _fmt(r["lime_median_r2"]), _fmt(r["ours_median_r2"]),
         f"lead {_fmt(lead)} (LIME on own sample {_fmt(r['lime_median_r2_own_sample'])})",
         "lead ≥ 0.2", _met(None if lead is None else lead >= TARGETS["r2_lead"])),
        ("median \\|black box − surrogate\\| at query", _fmt(r["lime_median_query_gap"]),
         _fmt(r["ours_median_query_gap"]), "", "—", "—"),
        (f"top-{TOP_K} Jaccard, {N_SEEDS} seeds", _fmt(r["lime_top_k_jaccard"]), _fmt(jac),
         f"VSI {_fmt(r['lime_vsi'])} / {_fmt(r['ours_vsi'])}", "surrogate ≥ 0.95",
         _met(None if jac is None else jac >= TARGETS["jaccard"])),
        ("CSI; sign agreement", f"n/a; {_fmt(r['lime_sign_agreement'])}",
         f"{_fmt(r['ours_csi'])}; {_fmt(r['ours_sign_agreement'])}", "", "—", "—"),
        ("peak RSS MB", _fmt(r["lime_peak_rss_mb"]), _fmt(r["ours_peak_rss_mb"]),
         f"floor process {_fmt(r['floor_peak_rss_mb'])}", "—", "—"),
    ]  # fmt: skip


def _scale_lines(s: dict[str, Any]) -> list[str]:
    (large, half), (t_large, t_half), (m_large, m_half) = s["rows"], s["seconds"], s["peak_rss_mb"]
    ratio_met = _met(s["time_ratio"] <= TARGETS["scale_ratio"])
    rss_met = _met(m_large < TARGETS["scale_rss_mb"]) if large >= 20_000 else "n/a (not 20k rows)"
    return [
        f"| scale run (Adult/hgb, n_samples={SCALE_SAMPLES}) | {large:,} rows | {half:,} rows "
        "| ratio | target | met |",
        "|---|---|---|---|---|---|",
        f"| seconds | {_fmt(t_large)} | {_fmt(t_half)} | {s['time_ratio']:.2f} | ≤ 2.2 | {ratio_met} |",
        f"| peak RSS MB | {_fmt(m_large)} | {_fmt(m_half)} | | < 2048 at 20k rows | {rss_met} |",
        f"| failures | {s['failures'][0]} | {s['failures'][1]} | | | |",
    ]


def table(summary: dict[str, Any], sizes: Sizes) -> str:
    """The markdown tables: one row per (case, metric), then the scale run."""
    lines = [
        "| case | metric | LIME | surrogate | comparison | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset, kind in CASES:
        name = f"{dataset}/{kind}"
        rows = _case_rows(summary[name], sizes, german=dataset == "german")
        lines += [f"| {name} | " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join([*lines, "", *_scale_lines(summary["scale"])])


def settings() -> dict[str, Any]:
    """Each tool's defaults, read from its own signatures (so they are what actually ran)."""
    from lime.lime_tabular import LimeTabularExplainer

    import surrogate as sg
    from surrogate.surrogates.linear import LinearSurrogate

    def defaults(fn, names):
        params = inspect.signature(fn).parameters
        return {n: repr(params[n].default) for n in names}

    lime = defaults(
        LimeTabularExplainer.__init__,
        [
            "discretize_continuous",
            "discretizer",
            "kernel_width",
            "feature_selection",
            "sample_around_instance",
        ],
    )
    lime.update(
        defaults(
            LimeTabularExplainer.explain_instance,
            ["num_features", "distance_metric", "model_regressor"],
        )
    )
    lime["kernel_width"] += " (None = 0.75 * sqrt(n_features))"
    lime["model_regressor"] += " (None = Ridge(alpha=1))"
    ours = defaults(
        sg.TabularExplainer.__init__,
        ["sampler", "kernel", "kernel_width", "link", "holdout_share", "row_budget"],
    )
    ours["kernel_width"] += " (None = 1.0)"
    ours.update({f"linear.{k}": repr(v) for k, v in LinearSurrogate().params().items()})
    return {"n_samples (both)": N_SAMPLES, "lime": lime, "surrogate": ours}


def environment(threads: int | None) -> dict[str, Any]:
    """Versions (from installed distributions), CPUs and the load when the run started."""
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in ("surrogate", "lime", "scikit-learn", "numpy", "torch"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "versions": versions,
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "threads_per_worker": threads or "library defaults",
        "machine": platform.platform(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="few queries and a small scale run (smoke test)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="write every measurement as JSON here"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="cap BLAS/OpenMP/torch threads in workers"
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(json.loads(args.worker))
        return
    sizes = Sizes.for_mode(args.quick)
    env = environment(args.threads)
    config = settings()
    print("## Settings (each tool at its defaults)\n")
    print(
        "```json\n"
        + json.dumps({"sizes": asdict(sizes), **config, "environment": env}, indent=1)
        + "\n```\n"
    )
    with tempfile.TemporaryDirectory(prefix="bench-vs-lime-") as tmp:
        workspace = Path(tmp)
        training = prepare(workspace, sizes)
        results = measure(workspace, sizes, args.threads)
    summary = summarise(results, sizes)
    print(
        f"## Results ({'quick' if args.quick else 'full'} run: {sizes.n_queries} queries per case, "
        f"{sizes.n_stability} of them over {N_SEEDS} seeds)\n"
    )
    print(table(summary, sizes))
    if args.out:
        document = {
            "sizes": asdict(sizes),
            "settings": config,
            "environment": env,
            "training_seconds": training,
            "targets": TARGETS,
            "summary": summary,
            "raw": results,
        }
        args.out.write_text(json.dumps(document, indent=1), encoding="utf-8")
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
