"""Per-query surrogate fits spread over a process pool, one thread per worker.

Trees, rule lists and the ``auto`` family fit each query's neighbourhood on its
own, in Python loops that hold the interpreter lock, so threads would not help;
processes do. Linear and additive surrogates stay in the calling process: a block
of 20 German credit queries fits in about 0.16 s (linear) and 0.3 s (additive),
less than starting the workers (about 1 s the first time); once started, workers
saved nothing on linear fits and about a fifth of the additive pipeline's own cost.

A fit is a pure function of its problem, its seed and the family's parameters,
so a problem fitted in a worker gives exactly the in-process result: the
workers receive the same arrays (pickled, never memory-mapped) and return their
:class:`~surrogate.surrogates.base.LocalFit` records in problem order.

When the pool is used
---------------------
* at least two problems, a family that fits problems independently
  (:data:`POOLED_FAMILIES`, or a family object with ``fits_independently = True``),
  and more than one worker (``n_jobs``);
* with ``n_jobs=None`` (the default) only when the block's fitting work, in rows
  times refits, reaches :data:`MIN_POOL_WORK`: below that, starting and feeding
  workers costs more than it saves;
* never inside a Dask worker (Dask already spreads the work over the cluster's
  cores) nor in a daemonic process (which may not start children).

Workers come from joblib's loky backend: started once, reused by later calls,
each limited to one BLAS / OpenMP thread (environment and ``threadpoolctl``) and
one torch thread, so ``n_jobs`` workers use ``n_jobs`` cores and no more.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import Interval, Options, check
from ..schema import Feature
from ..surrogates.base import LocalFit, LocalProblem
from ..threads import one_thread

#: families whose ``fit_local`` fits each problem on its own (linear is batched in-process)
POOLED_FAMILIES = ("tree", "rules", "auto")
#: with ``n_jobs=None``, the pool is used from this much work: fitting rows x (1 + n_bootstrap).
#: A depth-3 tree on German credit (20 features) takes about 4.5 microseconds per row and
#: refit on one core, so this is about half a second of fitting.
MIN_POOL_WORK = 100_000
#: bootstrap refits assumed for a family that does not say how many it makes
_DEFAULT_REFITS = 10


def check_n_jobs(n_jobs: Any) -> int | None:
    """``n_jobs`` as given, checked: None (automatic), -1 (every core) or a positive integer."""
    return check("n_jobs", n_jobs, None, Options((-1,)), Interval(int, 1))


def available_cores() -> int:
    """Cores this process may use (CPU affinity and container quotas respected)."""
    from joblib import cpu_count

    return max(1, int(cpu_count()))


def in_dask_worker() -> bool:
    """True when running inside a ``dask.distributed`` worker (checked without importing Dask)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except ValueError:  # "No worker found": an ordinary process
        return False
    return True


def fits_independently(family: Any) -> bool:
    """Whether ``family.fit_local`` fits each problem alone, so problems may be split up."""
    declared = getattr(family, "fits_independently", None)
    if declared is not None:
        return bool(declared)
    return getattr(family, "name", None) in POOLED_FAMILIES


def fitting_work(family: Any, problems: Sequence[LocalProblem]) -> int:
    """Rough cost of fitting ``problems``: fitting rows times fits (one plus the bootstrap refits)."""
    refits = getattr(family, "n_bootstrap", _DEFAULT_REFITS)
    refits = refits if isinstance(refits, int) and refits >= 0 else _DEFAULT_REFITS
    return sum(len(p.y_fit) for p in problems) * (1 + refits)


def n_workers(family: Any, problems: Sequence[LocalProblem], n_jobs: int | None) -> int:
    """Processes to fit ``problems`` with; 1 means in the calling process."""
    if len(problems) < 2 or n_jobs == 1 or not fits_independently(family):
        return 1
    if n_jobs is None and fitting_work(family, problems) < MIN_POOL_WORK:
        return 1
    if in_dask_worker() or multiprocessing.current_process().daemon:
        return 1
    cores = available_cores()
    wanted = cores if n_jobs in (None, -1) else n_jobs
    return max(1, min(wanted, len(problems)))


def fit_problems(
    family: Any,
    problems: Sequence[LocalProblem],
    features: tuple[Feature, ...],
    z_names: tuple[str, ...],
    seeds: Sequence[np.random.SeedSequence],
    *,
    n_jobs: int | None = None,
) -> list[LocalFit]:
    """``family.fit_local(problems, ...)``, in a process pool when that pays (see the module doc).

    Parameters
    ----------
    family : surrogate family object
    problems : sequence of LocalProblem
    features, z_names : the schema's features and the sampler's z column names
    seeds : one bootstrap SeedSequence per problem
    n_jobs : int, optional
        None: automatic; 1: in this process; -1: every core; k: at most k workers.

    Returns
    -------
    list of LocalFit
        In problem order, equal to the in-process fits.
    """
    workers = n_workers(family, problems, n_jobs)
    if workers == 1:
        return family.fit_local(problems, features, z_names, seeds)
    from joblib import Parallel, delayed, parallel_config

    tasks = (
        delayed(_fit_in_worker)(family, problem, features, z_names, seed)
        for problem, seed in zip(problems, seeds, strict=True)
    )
    # max_nbytes=None: arrays are pickled, never memory-mapped read-only into the workers
    with parallel_config(backend="loky", inner_max_num_threads=1):
        return list(Parallel(n_jobs=workers, max_nbytes=None)(tasks))


def _fit_in_worker(
    family: Any,
    problem: LocalProblem,
    features: tuple[Feature, ...],
    z_names: tuple[str, ...],
    seed: np.random.SeedSequence,
) -> LocalFit:
    """One problem's fit, with every native thread pool of this worker held to one thread."""
    _one_torch_thread()
    with one_thread():
        return family.fit_local([problem], features, z_names, [seed])[0]


def _one_torch_thread() -> None:
    torch = sys.modules.get("torch")  # only if something here already imported it
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


__all__ = [
    "POOLED_FAMILIES",
    "MIN_POOL_WORK",
    "check_n_jobs",
    "available_cores",
    "in_dask_worker",
    "fits_independently",
    "fitting_work",
    "n_workers",
    "fit_problems",
]
