"""The one ``--rows`` grammar of every command: ``0,3,7``, ranges ``0-99``, or ``all``."""

from __future__ import annotations

from ..errors import ParameterError

#: most rows a command may name, checked before any range is expanded
MAX_ROWS = 10_000_000


def parse_rows(spec: str, n_rows: int | None = None) -> list[int]:
    """Row positions named by ``spec``, checked against ``n_rows`` when it is known.

    ``all`` needs ``n_rows``. Every position must lie in ``[0, n_rows)``; ranges are
    checked by their ends, so a huge range is refused at once instead of expanded.
    """
    spec = spec.strip()
    if spec == "all":
        if n_rows is None:
            raise ParameterError("--rows all is not available here; list positions or ranges.")
        return list(range(n_rows))
    spans = [_span(item, spec) for item in (r.strip() for r in spec.split(",")) if item]
    if not spans:
        raise ParameterError(f"--rows must name at least one row, got {spec!r}.")
    limit = MAX_ROWS if n_rows is None else n_rows
    outside = [(a, b) for a, b in spans if a < 0 or b >= limit]
    if outside:
        first, last = outside[0]
        named = str(first) if first == last else f"{first}-{last}"
        where = f"0 to {n_rows - 1}" if n_rows is not None else f"0 to {MAX_ROWS - 1}"
        raise ParameterError(f"--rows {named} lies outside the rows available ({where}).")
    if sum(b - a + 1 for a, b in spans) > MAX_ROWS:
        raise ParameterError(f"--rows names more than {MAX_ROWS} rows; explain fewer at a time.")
    return [r for a, b in spans for r in range(a, b + 1)]


def _span(item: str, spec: str) -> tuple[int, int]:
    first, dash, last = item.partition("-")
    try:
        a = int(first)
        b = int(last) if dash else a
    except ValueError as exc:
        raise ParameterError(
            f"--rows must be integers, ranges like 0-99 or 'all', separated by commas; got {spec!r}."
        ) from exc
    if b < a:
        raise ParameterError(f"--rows range {item!r} runs backwards; write it as {b}-{a}.")
    return a, b
