"""Peak memory of a linear explanation of one row, by the number of features.

The bootstrap refits of the linear surrogate need one Gram matrix per resample. Each
case runs in its own subprocess: a table of ``d`` numeric features, a logistic black
box (a numpy callable), ``TabularExplainer(..., n_samples=N).explain(row)``; the
child reports its peak resident memory (``ru_maxrss``) before explaining (imports,
data, explainer) and after, its time, and the SHA-256 of the explanation's JSON, so
that runs of two versions can be compared row for row (same digest: same explanation).

Usage::

    python bench/bootstrap_memory.py --features 100 250 500 --n-samples 5000

Numbers are measured in one run on this machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import hashlib, json, resource, sys, time
import numpy as np
import pandas as pd
import surrogate as sg

d, n_samples = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(1000, d)), columns=[f"x{j:03d}" for j in range(d)])
w = rng.normal(size=d) / np.sqrt(d)

def model(rows):
    p = 1.0 / (1.0 + np.exp(-(np.asarray(rows, dtype=float) @ w)))
    return np.column_stack([1.0 - p, p])

explainer = sg.TabularExplainer(model, X, n_samples=n_samples, random_state=0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
exp = explainer.explain(X.iloc[0], max_features=5)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "features": d,
    "n_samples": n_samples,
    "peak_mb_before_explaining": before / 1024,
    "peak_mb": peak / 1024,
    "seconds": seconds,
    "json_sha256": hashlib.sha256(exp.to_json().encode()).hexdigest(),
    "library": sg.__file__,
}))
"""


def run(d: int, n_samples: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(d), str(n_samples)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {"features": d, "n_samples": n_samples, "error": done.stderr.strip()[-300:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, nargs="+", default=[100, 250, 500])
    parser.add_argument("--n-samples", type=int, default=5000)
    args = parser.parse_args(argv)
    rows = [run(d, args.n_samples) for d in args.features]
    print(f"library: {rows[0].get('library', '?')}")
    print(f"{'features':>8} {'n_samples':>9} {'peak MB':>9} {'before MB':>9} {'seconds':>8}  json sha256")
    for r in rows:
        if "error" in r:
            print(f"{r['features']:>8} {r['n_samples']:>9}  failed: {r['error']}")
            continue
        print(
            f"{r['features']:>8} {r['n_samples']:>9} {r['peak_mb']:>9.0f} "
            f"{r['peak_mb_before_explaining']:>9.0f} {r['seconds']:>8.2f}  {r['json_sha256'][:16]}"
        )


if __name__ == "__main__":
    main()
