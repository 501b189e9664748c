"""What the stability figures cost: linear surrogates fitted with and without bootstrap refits.

Stability is 20 bootstrap refits of the fitting sample, forward selection included.
This bench times the linear family's fit (``LinearSurrogate.fit_local``, every query
of a call at once) with ``n_bootstrap=20`` and with ``n_bootstrap=0``, on the same
neighbourhoods, and prints the ratio, with the whole explanation's time beside it:

* the demo digits CNN, per-pixel segments (64), zeros baseline, ``n_samples=2000``,
  ``max_features`` 5 and 64 (every segment kept);
* German credit, the demo gradient-boosted model, ``n_samples=5000``, ``max_features=5``.

Run: ``python bench/stability_cost.py`` (about a minute on two cores); ``--digits N``
and ``--rows N`` set how many digits and applicants are explained (10 and 10).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from surrogate import ImageExplainer, TabularExplainer
from surrogate.demo import load_demo_problem
from surrogate.demo.deep import one_thread, train_digits_cnn
from surrogate.surrogates.linear import LinearSurrogate

#: the rows compared: best of this many runs
REPEATS = 3


@contextmanager
def fit_timer() -> Any:
    """Accumulates the seconds spent in LinearSurrogate.fit_local while active."""
    spent = [0.0]
    original = LinearSurrogate.fit_local

    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    LinearSurrogate.fit_local = timed  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        LinearSurrogate.fit_local = original  # type: ignore[method-assign]


def measure(explain: Callable[[int], Any]) -> dict[int, tuple[float, float]]:
    """Best (fit seconds, whole seconds) over REPEATS, for n_bootstrap 0 and 20, interleaved."""
    best: dict[int, tuple[float, float]] = {}
    for _ in range(REPEATS):
        for n_bootstrap in (0, 20):
            with fit_timer() as spent:
                start = time.perf_counter()
                explain(n_bootstrap)
                whole = time.perf_counter() - start
            seen = best.get(n_bootstrap, (float("inf"), float("inf")))
            best[n_bootstrap] = (min(seen[0], spent[0]), min(seen[1], whole))
    return best


def report(name: str, best: dict[int, tuple[float, float]], n_queries: int) -> None:
    (fit0, whole0), (fit20, whole20) = best[0], best[20]
    print(
        f"{name:40s} fit {1e3 * fit0 / n_queries:7.1f} -> {1e3 * fit20 / n_queries:7.1f} ms/query "
        f"(x{fit20 / fit0:.2f});  whole explanation x{whole20 / whole0:.2f}; "
        f"stability {fit20 - fit0:.2f} s of {whole20:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=10)
    parser.add_argument("--rows", type=int, default=10)
    args = parser.parse_args()
    with one_thread():
        cnn, helpers = train_digits_cnn()
        explainer = ImageExplainer(
            cnn,
            torch_output="logits",
            segmentation="grid",
            grid_size=(8, 8),
            baseline="zeros",
            n_samples=2000,
            link="logit",
        )
        images = list(helpers.images[helpers.test_index[: args.digits]])
        for k in (5, 64):
            best = measure(
                lambda b, k=k: explainer.explain_many(images, max_features=k, n_bootstrap=b)
            )
            report(f"digits, 64 segments, max_features={k}", best, len(images))
    model, X_train, X_test, target = load_demo_problem("german-credit", "gbm")
    tabular = TabularExplainer(model, X_train, target=target, n_samples=5000, random_state=0)
    rows = X_test.iloc[: args.rows]
    best = measure(lambda b: tabular.explain_many(rows, max_features=5, n_bootstrap=b, n_jobs=1))
    report("German credit, max_features=5", best, len(rows))


if __name__ == "__main__":
    main()
