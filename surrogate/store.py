"""Explanations streamed to disk part by part, checked whenever they are read back.

:func:`explain_many_to` splits the queries into parts by row position, explains each
with the explainer's public ``explain_many`` and writes one part file per part. What
is on disk records what it is, so that a part can never be taken for another:

``run.json``
    Written first: the explainer's :meth:`identity`, the surrogate, the input's
    digest, the part size, the format, and the **run id** (the SHA-256 of all that),
    so ``resume=True`` only ever continues the very same run.
``part-00000.jsonl`` (or ``.parquet``)
    The explanations of one part, written under a hidden temporary name, flushed to
    disk and renamed into place, so a reader never sees half a part.
``part-00000.info.json``
    Written after its part: the run id, the part's row span, the SHA-256 of the rows
    it explains, the file's SHA-256 and line count, and its failures.
``manifest.json``
    Written last, once every part is on disk: the run id and every part's record.

Resuming verifies every finished part (digest, line count, run id, rows) and refuses,
naming the part, on any mismatch; :func:`read_parts` verifies each part before it
yields any of its explanations. A run holds an exclusive lock on its output folder
(``.surrogate.lock``, released when the run ends or its process dies): a second run
into the same folder is refused while the first is running. Temporary files left by
a killed run are removed by the next run into the folder.

The store needs no Dask; a ``client`` sends the parts to a cluster through
:mod:`surrogate.explain.dask`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from . import _version
from .errors import (
    DataError,
    IntegrityError,
    ParameterError,
    UnknownOptionError,
    require,
)
from .explain.parts import (
    check_on_error,
    check_partition_rows,
    is_dask_frame,
    merge_parts,
    rows_sha256,
    split_piece,
)
from .explain.progress import progress_bar
from .explanation import Explanation, ExplanationSet, Failure, canonical_json

#: queries per part file written by :func:`explain_many_to`, unless told otherwise
DEFAULT_STREAM_PARTITION_ROWS = 1000
#: part files are named ``part-00000.jsonl``, ``part-00001.jsonl``, ... in row order
PART_TEMPLATE = "part-{number:05d}.{ext}"
#: written last, once every part is on disk: rows, parts and failures of the whole run
MANIFEST_NAME = "manifest.json"
#: written first: what this run is, so ``resume=True`` only ever continues the same run
RUN_NAME = "run.json"
#: beside each part, written after it: its row span, digests, counts and failures
INFO_TEMPLATE = "part-{number:05d}.info.json"
#: held (``flock``) by the run writing into the folder; removed when it ends
LOCK_NAME = ".surrogate.lock"
#: version of the files' layout; a folder of another layout is not read
STORE_VERSION = 2
FORMATS = ("jsonl", "parquet")

#: one part as explained: its explanations (positions local to it), its rows, their digest
_PartResult = tuple[ExplanationSet, int, str]
#: temporary names: ``.part-00003.jsonl.tmp-1234``
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.tmp-\d+$")


# ---- public API ------------------------------------------------------------------------------
def explain_many_to(
    explainer: Any,
    X: Any,
    surrogate: Any = "linear",
    *,
    output: str | os.PathLike,
    format: Literal["jsonl", "parquet"] = "jsonl",
    client: Any = None,
    partition_rows: int | None = None,
    on_error: Literal["raise", "record"] = "raise",
    overwrite: bool = False,
    resume: bool = False,
    n_jobs: int | None = None,
    progress: bool | None = None,
    **params: Any,
) -> WrittenParts:
    """Explain every row of ``X`` and write the explanations to ``output``, part by part.

    Only a few parts are held in memory at a time, so more queries can be explained
    than their explanations would fill. See the module documentation for the files
    and how they are checked. A run stopped by an error leaves its finished parts
    and no manifest.

    Parameters
    ----------
    explainer : TabularExplainer
        Each part is explained by its public ``explain_many``; the run record is
        built from its ``identity()``.
    X : DataFrame, 2-D array or dask DataFrame
        A dask DataFrame is read one of its partitions at a time (on the workers
        when a ``client`` is given).
    surrogate : str or surrogate family object, default "linear"
    output : path
        Folder for ``part-00000.jsonl`` (or ``.parquet``), ``part-00001...`` and the manifest.
    format : {"jsonl", "parquet"}
        jsonl: one canonical JSON explanation per line (``ExplanationSet.to_jsonl``);
        parquet: the summary frame plus each explanation's JSON (``ExplanationSet.to_parquet``),
        with ``query_index`` the row's position in the whole input.
    client : distributed.Client, optional
        Run the parts on a Dask cluster (a few in flight at a time); results are
        written here, in row order.
    partition_rows : int, optional
        Queries per part file (default :data:`DEFAULT_STREAM_PARTITION_ROWS`; for a dask
        DataFrame, default one part per partition of its own).
    on_error : {"raise", "record"}
        As in ``explain_many``; recorded failures go into the manifest, with global positions.
    overwrite : bool, default False
        Replace part files and the manifest left in ``output`` by an earlier run
        (other files are never touched); without it such files are an error.
    resume : bool, default False
        Continue a run that was stopped (even killed): parts already on disk are
        verified and kept, the rest are written. ``run.json`` must describe the same
        run, and every finished part must match its record, otherwise resuming is
        refused. In-memory inputs only (not a dask DataFrame).
    n_jobs : int, optional
        Passed to ``explain_many`` for each part (local runs only).
    progress : bool, optional
        A progress bar (``tqdm.auto``) over the rows, advanced per part. None: shown for
        more than one row when stderr is a terminal or in a Jupyter kernel. Local runs only.
    **params
        Surrogate parameters, as in ``explain_many`` (``max_features=5``...).

    Returns
    -------
    WrittenParts

    Examples
    --------
    >>> written = explain_many_to(explainer, X_queries, output="explanations")  # doctest: +SKIP
    >>> sum(1 for _ in read_parts("explanations")) == written.n_explained  # doctest: +SKIP
    True
    """
    from .surrogates import make_surrogate

    check_on_error(on_error)
    _check_format(format)
    _check_local_options(client, n_jobs, progress)
    if client is not None:
        from .explain.dask import check_client

        check_client(client)
    family = make_surrogate(surrogate, **params)  # a bad family is refused before any file
    dask_input = is_dask_frame(X)
    if resume and (overwrite or dask_input):
        raise ParameterError(
            "resume=True continues an earlier run of in-memory rows; it cannot be combined with "
            "overwrite=True nor with a dask DataFrame input."
        )
    plan = _plan(explainer, X, partition_rows)
    record = run_record(explainer, plan, family, format, on_error)
    run_id = record["run_id"]
    folder = _output_folder(output)
    with lock_folder(folder):
        remove_stale_temporaries(folder)
        if resume:
            done = _resumable(folder, record, plan, format)
        else:
            _prepare_output(folder, overwrite)
            done = {}
            atomic_write(folder / RUN_NAME, _json_bytes(record, indent=1))
        with progress_bar(_bar_wanted(explainer, client, progress), plan.n_rows) as bar:
            if client is None:
                results = _explain_local(explainer, plan, surrogate, on_error, n_jobs, params, done)
            else:
                from .explain.dask import explain_pieces_remote

                pieces = (None if i in done else p for i, p in enumerate(plan.pieces()))
                results = explain_pieces_remote(
                    client, explainer, pieces, family, on_error, plan.chunk_rows
                )
            written = _write_parts(folder, format, run_id, results, done, bar)
        if written.n_rows == 0:
            raise DataError("The query set is empty: there is nothing to explain.")
        _write_manifest(folder, written)
    return written


@dataclass(frozen=True)
class PartInfo:
    """One part file: its name, its row span in the input, its counts and digests.

    ``n_lines`` counts the file's records (lines of a jsonl part, rows of a parquet
    part); ``sha256`` is the file's digest and ``input_sha256`` that of the rows it
    explains (:func:`rows_sha256`).
    """

    file: str
    first_row: int
    n_rows: int
    n_explained: int
    n_lines: int
    sha256: str
    input_sha256: str


@dataclass(frozen=True)
class WrittenParts:
    """What :func:`explain_many_to` wrote: the parts in row order, counts, failures (global positions)."""

    output: str
    format: str
    parts: tuple[PartInfo, ...]
    n_rows: int
    n_explained: int
    failures: tuple[Failure, ...]
    run_id: str

    @property
    def files(self) -> list[Path]:
        """Paths of the part files, in row order (concatenated, they hold every explanation)."""
        return [Path(self.output) / part.file for part in self.parts]


def read_parts(output: str | os.PathLike) -> Iterator[Explanation]:
    """Read back, in row order, the explanations :func:`explain_many_to` wrote to ``output``.

    Each part is checked against the manifest (run id, digest, line count, row span)
    before any of its explanations is yielded; a mismatch raises
    :class:`~surrogate.errors.IntegrityError` naming the part.
    """
    folder = Path(output)
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        raise DataError(
            f"{folder} holds no {MANIFEST_NAME}: it is not a finished explain_many_to output "
            "(the run may have stopped part-way)."
        )
    manifest = _read_json(manifest_path)
    _check_manifest(folder, manifest)
    n_rows = 0
    for entry in manifest["parts"]:
        info = _part_info(entry, manifest_path)
        if info.first_row != n_rows:
            raise IntegrityError(
                f"{info.file} starts at row {info.first_row} in {manifest_path}, but the parts "
                f"before it end at row {n_rows}: parts are missing or out of order."
            )
        data = _verified_part(folder, info, manifest["format"], MANIFEST_NAME)
        yield from _explanations(data, manifest["format"])
        n_rows += info.n_rows


@contextmanager
def lock_folder(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (see module doc); a held one is refused at once."""
    with hold_lock(folder / LOCK_NAME, what=f"The output folder {str(folder)!r}"):
        yield


@contextmanager
def hold_lock(path: Path, *, what: str) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created, and removed when released).

    Another process or thread holding it is refused at once, with a
    :class:`~surrogate.errors.ParameterError` that names ``what`` is in use and by whom.
    The operating system releases the lock of a process that dies, so a killed run
    never blocks the next one.
    """
    fd = _acquire(path, what)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        try:
            yield
        finally:
            path.unlink(missing_ok=True)  # before the lock is released: see _same_file
    finally:
        os.close(fd)


def _acquire(path: Path, what: str) -> int:
    for _attempt in range(3):
        fd = _open_lock_file(path, what)
        if not _try_lock(fd):
            holder = _holder(fd)
            os.close(fd)
            raise ParameterError(
                f"{what} is in use by another run ({holder}); wait for it to finish or choose "
                "another folder."
            )
        if _same_file(fd, path):
            return fd
        os.close(fd)  # won on a lock file its holder had just removed: try the new one
    raise ParameterError(f"{what} is being taken by other runs; try again.")


#: open flags that never follow a symbolic link (where the system has them)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _open_lock_file(path: Path, what: str) -> int:
    """The lock file, created new, or the one a killed run left: never through a link.

    A lock path that is a symbolic link, a hard link to another file or not a plain file is
    refused, so its target is never truncated or written.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
    except FileExistsError:  # left by a run that was killed, or held by a running one
        try:
            fd = os.open(path, os.O_RDWR | _NOFOLLOW)
        except OSError as exc:
            raise _not_a_lock(path, what, exc) from None
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode) or status.st_nlink != 1:
        os.close(fd)
        raise _not_a_lock(path, what, None)
    return fd


def _not_a_lock(path: Path, what: str, exc: OSError | None) -> ParameterError:
    kind = "a symbolic link" if path.is_symlink() else "not a plain file of its own"
    return ParameterError(
        f"{what} cannot be locked: its lock file {str(path)!r} is {kind}"
        + (f" ({exc.strerror})" if exc is not None and exc.strerror else "")
        + ", so writing it could change another file. Remove it and run again."
    )


def open_new(path: Path) -> int:
    """A file descriptor of the new file ``path``, created here: never an existing file, and
    never through a symbolic link; otherwise a ParameterError naming it."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
    except FileExistsError:
        raise ParameterError(
            f"{str(path)!r} already exists (a file, folder or link this run did not create); "
            "refusing to write through it. Remove it and run again."
        ) from None


def remove_stale_temporaries(folder: Path) -> list[str]:
    """Remove the temporary files a killed run left in ``folder`` (call with the lock held):
    plain files named exactly as :func:`atomic_write` names a store file's temporary."""
    removed = []
    for path in sorted(folder.iterdir()):
        match = _TEMPORARY.match(path.name)
        if match and is_store_file(match["name"]) and _is_plain_file(path):
            path.unlink()
            removed.append(path.name)
    return removed


def _is_plain_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return False


def is_store_file(name: str) -> bool:
    """Whether ``name`` is one of the files :func:`explain_many_to` writes (lock excepted)."""
    stem, _, ext = name.partition(".")
    return name in (MANIFEST_NAME, RUN_NAME) or (
        stem.startswith("part-") and stem[5:].isdigit() and ext in (*FORMATS, "info.json")
    )


# ---- the plan: parts by row position ---------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """The input cut into parts: in-memory rows (``frame``) or a dask frame's partitions."""

    frame: Any
    dask_frame: Any
    size: int | None
    spans: tuple[tuple[int, int], ...]
    digests: tuple[str, ...]

    @property
    def n_rows(self) -> int | None:
        return None if self.frame is None else len(self.frame)

    @property
    def chunk_rows(self) -> int | None:
        """Rows per part within a dask partition (None: the partition is one part)."""
        return self.size if self.frame is None else None

    def pieces(self) -> Iterator[Any]:
        """In-memory parts as frames, or the dask frame's partitions as delayed objects."""
        if self.frame is None:
            yield from self.dask_frame.to_delayed()
            return
        for first, n in self.spans:
            yield self.frame.iloc[first : first + n]


def _plan(explainer: Any, X: Any, partition_rows: int | None) -> _Plan:
    if is_dask_frame(X):
        size = None if partition_rows is None else check_partition_rows(partition_rows)
        return _Plan(frame=None, dask_frame=X, size=size, spans=(), digests=())
    size = check_partition_rows(
        DEFAULT_STREAM_PARTITION_ROWS if partition_rows is None else partition_rows
    )
    frame = explainer.schema.to_frame(X)
    if len(frame) == 0:
        raise DataError("The query set is empty: there is nothing to explain.")
    spans = tuple((s, min(size, len(frame) - s)) for s in range(0, len(frame), size))
    digests = tuple(rows_sha256(frame.iloc[s : s + n]) for s, n in spans)
    return _Plan(frame=frame, dask_frame=None, size=size, spans=spans, digests=digests)


def run_record(explainer: Any, plan: _Plan, family: Any, format: str, on_error: str) -> dict:
    """What identifies a streamed run (resuming is allowed only into the same one) and its id."""
    in_memory = plan.frame is not None
    record = {
        **explainer.identity(),
        "store_version": STORE_VERSION,
        "format": format,
        "partition_rows": plan.size,
        "on_error": on_error,
        "n_rows": plan.n_rows,
        "input_sha256": _digest_of_digests(plan.digests) if in_memory else None,
        "surrogate": {"family": family.name, **family.params()},
    }
    record = json.loads(json.dumps(record, allow_nan=False))  # as run.json will read back
    return {**record, "run_id": _run_id(record)}


def _run_id(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "run_id"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()[:32]


def _digest_of_digests(digests: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()


# ---- explaining ------------------------------------------------------------------------------
def _explain_local(
    explainer: Any,
    plan: _Plan,
    surrogate: Any,
    on_error: str,
    n_jobs: int | None,
    params: dict[str, Any],
    done: dict[int, dict],
) -> Iterator[list[_PartResult] | None]:
    """Each piece's parts, explained here by ``explainer.explain_many``; None where done."""
    options = _local_options(explainer, n_jobs)
    for number, piece in enumerate(plan.pieces()):
        if number in done:
            yield None
            continue
        frame = piece.compute() if hasattr(piece, "compute") else piece
        yield [
            (explainer.explain_many(chunk, surrogate, on_error=on_error, **options, **params), n, d)
            for chunk, n, d in split_piece(explainer, frame, plan.chunk_rows)
        ]


def _local_options(explainer: Any, n_jobs: int | None) -> dict[str, Any]:
    """``n_jobs`` for each part's call, and no bar of its own (the store shows one per run).

    An explainer whose ``explain_many`` takes neither (a proxy that manages both
    itself) is called without them.
    """
    import inspect

    accepted = inspect.signature(explainer.explain_many).parameters
    return {
        name: value for name, value in (("n_jobs", n_jobs), ("progress", False)) if name in accepted
    }


def _bar_wanted(explainer: Any, client: Any, progress: bool | None) -> bool | None:
    """``progress``, but no bar of the store's beside an explainer that draws its own."""
    if client is None and progress is None and "progress" not in _local_options(explainer, None):
        return False
    return progress


# ---- writing ---------------------------------------------------------------------------------
def _output_folder(output: Any) -> Path:
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"output must be a folder, got the existing file {str(folder)!r}.")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _prepare_output(folder: Path, overwrite: bool) -> None:
    leftovers = sorted(p for p in folder.iterdir() if is_store_file(p.name))
    if leftovers and not overwrite:
        shown = [p.name for p in leftovers[:5]] + (["..."] if len(leftovers) > 5 else [])
        raise ParameterError(
            f"output folder {str(folder)!r} already holds part files from an earlier run ({shown}); "
            "choose an empty folder or pass overwrite=True to replace them."
        )
    for path in leftovers:
        path.unlink()


def _write_parts(
    folder: Path,
    format: str,
    run_id: str,
    results: Iterable[list[_PartResult] | None],
    done: dict[int, dict],
    bar: Any,
) -> WrittenParts:
    """Write each piece's parts in row order; a piece given as None was finished earlier."""
    infos: list[PartInfo] = []
    failures: list[Failure] = []
    n_rows = 0
    for parts in results:
        if parts is None:  # resumed: this part is on disk, verified, with its info
            record = done[len(infos)]
            infos.append(PartInfo(**record["part"]))
            failures += [Failure(**f) for f in record["failures"]]
            n_rows += infos[-1].n_rows
            bar.update(infos[-1].n_rows)
            continue
        for part, rows, input_sha in parts:
            if rows == 0:
                continue
            placed = merge_parts([(n_rows, part)])
            info = _write_part(folder, len(infos), format, placed, n_rows, rows, input_sha)
            atomic_write(
                folder / INFO_TEMPLATE.format(number=len(infos)),
                _json_bytes(
                    {
                        "run_id": run_id,
                        "part": dataclasses.asdict(info),
                        "failures": [dataclasses.asdict(f) for f in placed.failures],
                    }
                ),
            )
            infos.append(info)
            failures += placed.failures
            n_rows += rows
            bar.update(rows)
    return WrittenParts(
        output=str(folder),
        format=format,
        parts=tuple(infos),
        n_rows=n_rows,
        n_explained=sum(p.n_explained for p in infos),
        failures=tuple(failures),
        run_id=run_id,
    )


def _write_part(
    folder: Path,
    number: int,
    format: str,
    placed: ExplanationSet,
    first_row: int,
    rows: int,
    input_sha: str,
) -> PartInfo:
    name = PART_TEMPLATE.format(number=number, ext=format)
    data = _part_bytes(placed, format)
    atomic_write(folder / name, data)
    return PartInfo(
        file=name,
        first_row=first_row,
        n_rows=rows,
        n_explained=len(placed),
        n_lines=len(placed),
        sha256=hashlib.sha256(data).hexdigest(),
        input_sha256=input_sha,
    )


def _part_bytes(part: ExplanationSet, format: str) -> bytes:
    if format == "jsonl":
        return (part.to_jsonl() or "").encode("utf-8")
    buffer = io.BytesIO()
    part.to_parquet(buffer)
    return buffer.getvalue()


def _write_manifest(folder: Path, written: WrittenParts) -> None:
    document = {
        "library_version": _version.__version__,
        "store_version": STORE_VERSION,
        "run_id": written.run_id,
        "format": written.format,
        "n_rows": written.n_rows,
        "n_explained": written.n_explained,
        "parts": [dataclasses.asdict(p) for p in written.parts],
        "failures": [dataclasses.asdict(f) for f in written.failures],
    }
    atomic_write(folder / MANIFEST_NAME, _json_bytes(document, indent=1))


def _json_bytes(document: Any, indent: int | None = None) -> bytes:
    return json.dumps(document, indent=indent, sort_keys=True, allow_nan=False).encode("utf-8")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` under a hidden temporary name beside ``path``, flush it to disk, rename.

    A failed write (a full disk) leaves ``path`` as it was and no temporary behind. The
    temporary is created new (:func:`open_new`): an existing file or link of that name is
    refused, never written through.
    """
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = open_new(temporary)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)  # created above: ours to remove
        raise


# ---- resuming and reading: every part verified -----------------------------------------------
def _resumable(folder: Path, record: dict[str, Any], plan: _Plan, format: str) -> dict[int, dict]:
    """The finished parts of a stopped run into ``folder``, each verified to be this run's."""
    run_path = folder / RUN_NAME
    if not run_path.is_file():
        raise ParameterError(
            f"Cannot resume: {str(folder)!r} holds no {RUN_NAME} from an earlier run."
        )
    earlier = _read_json(run_path)
    if not isinstance(earlier, dict):
        raise IntegrityError(f"{run_path} is not a run record (expected a JSON object).")
    differing = sorted(k for k in set(earlier) | set(record) if earlier.get(k) != record.get(k))
    differing = [k for k in differing if k != "run_id"] or differing
    if differing:
        raise ParameterError(
            f"Cannot resume into {str(folder)!r}: the earlier run differs in {differing}; "
            "resume with exactly the same explainer, surrogate, rows and part size, or start afresh."
        )
    done: dict[int, dict] = {}
    for number, (first_row, n) in enumerate(plan.spans):
        info_path = folder / INFO_TEMPLATE.format(number=number)
        if not info_path.is_file():
            break
        info = _read_json(info_path)
        _check_info(info, info_path, record["run_id"], number, format, first_row, n, plan)
        _verified_part(folder, PartInfo(**info["part"]), format, info_path.name)
        done[number] = info
    _refuse_strays(folder, len(done), len(plan.spans))
    return done


def _check_info(
    info: Any, path: Path, run_id: str, number: int, format: str, first_row: int, n: int, plan
) -> None:
    """A finished part's record must be this run's record of this very part."""
    expected = {
        "file": PART_TEMPLATE.format(number=number, ext=format),
        "first_row": first_row,
        "n_rows": n,
        "input_sha256": plan.digests[number],
    }
    if not isinstance(info, dict) or "part" not in info or "failures" not in info:
        raise IntegrityError(f"{path.name} is not a part record (expected 'part' and 'failures').")
    if info.get("run_id") != run_id:
        raise IntegrityError(
            f"{path.name} belongs to run {info.get('run_id')!r}, not to this run ({run_id!r}): "
            "the folder mixes parts of different runs. Start afresh (overwrite=True)."
        )
    part = _part_info(info["part"], path)
    wrong = {k: getattr(part, k) for k, v in expected.items() if getattr(part, k) != v}
    if wrong:
        raise IntegrityError(
            f"{path.name} does not describe part {number} of this run: it records {wrong}, "
            f"expected { {k: expected[k] for k in wrong} }. Start afresh (overwrite=True)."
        )


def _refuse_strays(folder: Path, n_done: int, n_parts: int) -> None:
    """Past the finished parts, only the part being written when the run stopped may remain
    (without its record): it is removed and written again. Anything else was not left by a
    stopped run, and is refused."""
    for path in sorted(folder.iterdir()):
        number = _part_number(path.name)
        if not is_store_file(path.name) or number < n_done:  # run.json, manifest, finished parts
            continue
        if path.name.endswith(".info.json") or number != n_done or number >= n_parts:
            raise IntegrityError(
                f"Cannot resume: {path.name} lies past the finished parts (0 to {n_done - 1}) "
                f"of the run in {str(folder)!r}; a stopped run never leaves it. "
                "Start afresh (overwrite=True)."
            )
        path.unlink()
    (folder / MANIFEST_NAME).unlink(missing_ok=True)


def _part_number(name: str) -> int:
    digits = name[5:10]
    return int(digits) if name.startswith("part-") and digits.isdigit() else -1


def _verified_part(folder: Path, info: PartInfo, format: str, record_name: str) -> bytes:
    """The part file's bytes, after checking them against its record."""
    path = folder / info.file
    if Path(info.file).name != info.file or _part_number(info.file) < 0:
        raise IntegrityError(f"{record_name} names {info.file!r}, which is not a part file name.")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IntegrityError(
            f"{info.file} is missing from {str(folder)!r}, but {record_name} records it."
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != info.sha256:
        raise IntegrityError(
            f"{info.file} in {str(folder)!r} has changed since it was written: its SHA-256 is "
            f"{digest}, {record_name} records {info.sha256} (the part was edited, truncated or "
            "replaced). Rewrite the output (overwrite=True)."
        )
    n_lines = _record_count(data, format, info.file)
    if n_lines != info.n_lines or info.n_lines != info.n_explained:
        raise IntegrityError(
            f"{info.file} holds {n_lines} explanations, but {record_name} records "
            f"{info.n_lines} lines and {info.n_explained} explained rows."
        )
    return data


def _record_count(data: bytes, format: str, name: str) -> int:
    if format == "jsonl":
        if data and not data.endswith(b"\n"):
            raise IntegrityError(f"{name} ends in the middle of a line: it was cut off.")
        return data.count(b"\n")
    pq = require("pyarrow.parquet", "report")
    try:
        return int(pq.ParquetFile(io.BytesIO(data)).metadata.num_rows)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise IntegrityError(f"{name} is not a readable Parquet file: {exc}") from exc


def _explanations(data: bytes, format: str) -> Iterator[Explanation]:
    if format == "jsonl":
        for line in data.decode("utf-8").splitlines():
            yield Explanation.from_json(line)
        return
    import pandas as pd

    for text in pd.read_parquet(io.BytesIO(data), columns=["explanation_json"])["explanation_json"]:
        yield Explanation.from_json(text)


def _check_manifest(folder: Path, manifest: Any) -> None:
    """The manifest is this layout's, lists its parts, and belongs to the folder's run."""
    keys = ("store_version", "run_id", "format", "parts", "n_rows", "n_explained")
    if not isinstance(manifest, dict) or any(k not in manifest for k in keys):
        version = manifest.get("library_version") if isinstance(manifest, dict) else None
        raise IntegrityError(
            f"{folder / MANIFEST_NAME} lacks the run id and part checksums this version verifies "
            f"(written by library version {version!r}, or not a manifest); write the output again."
        )
    if manifest["store_version"] != STORE_VERSION or manifest["format"] not in FORMATS:
        raise IntegrityError(
            f"{folder / MANIFEST_NAME} has store version {manifest['store_version']!r} and format "
            f"{manifest['format']!r}; this version reads store version {STORE_VERSION}, {list(FORMATS)}."
        )
    run_path = folder / RUN_NAME
    if run_path.is_file():
        run = _read_json(run_path)
        if (
            not isinstance(run, dict)
            or run.get("run_id") != manifest["run_id"]
            or (run.get("run_id") != _run_id(run))
        ):
            raise IntegrityError(
                f"{run_path} does not match {MANIFEST_NAME} (run ids "
                f"{run.get('run_id') if isinstance(run, dict) else None!r} and "
                f"{manifest['run_id']!r}): the folder mixes files of different runs."
            )
    if not isinstance(manifest["parts"], list):
        raise IntegrityError(f"{folder / MANIFEST_NAME}: 'parts' must be a list.")
    infos = [_part_info(entry, folder / MANIFEST_NAME) for entry in manifest["parts"]]
    if sum(p.n_rows for p in infos) != manifest["n_rows"] or (
        sum(p.n_explained for p in infos) != manifest["n_explained"]
    ):
        raise IntegrityError(
            f"{folder / MANIFEST_NAME}: its parts add up to {sum(p.n_rows for p in infos)} rows and "
            f"{sum(p.n_explained for p in infos)} explanations, but it records "
            f"{manifest['n_rows']} and {manifest['n_explained']}."
        )


def _part_info(entry: Any, where: Path) -> PartInfo:
    names = [f.name for f in dataclasses.fields(PartInfo)]
    if not isinstance(entry, dict) or sorted(entry) != sorted(names):
        raise IntegrityError(
            f"{where.name} holds a part record {entry!r}; expected the keys {names}."
        )
    return PartInfo(**entry)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise IntegrityError(f"{path} is not valid JSON ({exc}); it was damaged.") from None


# ---- the lock --------------------------------------------------------------------------------
def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - not tested here
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:  # a filesystem without locks (some network mounts)
        raise ParameterError(
            f"Cannot lock the output folder: its filesystem refuses file locks ({exc.strerror}); "
            "write to a local folder."
        ) from exc
    return True


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the locked file: the run that held the lock removes the
    file before releasing it, so a lock won on a removed file guards nothing."""
    try:
        here = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:  # pragma: no cover - pread missing or refused
        text = ""
    return f"process {text[4:]}" if text.startswith("pid ") else "a run starting or ending now"


def _check_format(format: Any) -> None:
    if format not in FORMATS:
        raise UnknownOptionError(f"format must be one of {list(FORMATS)}, got {format!r}.")
    if format == "parquet":
        require("pyarrow", "report")


def _check_local_options(client: Any, n_jobs: Any, progress: Any) -> None:
    from .explain.parallel import check_n_jobs

    check_n_jobs(n_jobs)
    if progress is not None and not isinstance(progress, bool):
        raise ParameterError(f"progress must be None (automatic), True or False, got {progress!r}.")
    if client is not None and (n_jobs is not None or progress):
        raise ParameterError(
            "n_jobs and progress=True apply to local runs; with client= the Dask workers spread "
            "the work. Leave them unset."
        )


__all__ = [
    "explain_many_to",
    "read_parts",
    "WrittenParts",
    "PartInfo",
    "merge_parts",
    "rows_sha256",
    "DEFAULT_STREAM_PARTITION_ROWS",
    "MANIFEST_NAME",
    "PART_TEMPLATE",
    "RUN_NAME",
    "INFO_TEMPLATE",
    "LOCK_NAME",
]
