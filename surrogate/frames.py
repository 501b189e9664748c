"""Tables from other libraries, read as pandas: polars and pyarrow tables, and any frame
that hands its data over as Arrow (the ``__arrow_c_stream__`` protocol).

The conversion keeps what a pandas user would hold: dictionary columns (polars
``Categorical`` and ``Enum``) become categories, dates become ``datetime64``, integer
and boolean columns with missing values become pandas' nullable ``Int64`` /
``boolean`` (not floats), text stays text. The levels of an unordered category are
sorted, as pandas sorts them when it makes categories from values (polars keeps them
in the order they were met, and only those met); an ordered one (an ordered
category, a polars ``Enum``) keeps its order and stays ordered. A polars frame made
from a pandas frame whose categories are sorted comes back as that frame, so the two
are explained alike, byte for byte.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import DataTypeError, require


def is_arrow_table(X: Any) -> bool:
    """True for a table of another library that exports Arrow (polars, pyarrow...)."""
    return (
        not isinstance(X, pd.DataFrame | pd.Series | np.ndarray)
        and not type(X).__module__.startswith("dask")  # partitioned: never gathered here
        and hasattr(X, "__arrow_c_stream__")
        and hasattr(X, "columns")
    )


def as_pandas(X: Any, what: str = "data") -> Any:
    """``X`` as a pandas DataFrame when it is another library's table; else ``X`` itself.

    A lazy frame (polars ``LazyFrame``) is refused: it has no rows until collected.
    """
    if type(X).__name__ == "LazyFrame":
        raise DataTypeError(
            f"The {what} is a lazy {type(X).__module__.split('.')[0]} frame: it holds no rows "
            "until computed; pass X.collect()."
        )
    if not is_arrow_table(X):
        return X
    pa = require("pyarrow", "polars")
    table = pa.table(X)
    return pd.DataFrame(
        {name: _column(table.column(name), pa) for name in table.column_names},
        columns=list(table.column_names),
    )


def _column(column: Any, pa: Any) -> pd.Series:
    kind = column.type
    if pa.types.is_dictionary(kind):
        series = column.to_pandas()
        if kind.ordered:  # an ordered category, or a polars Enum: the user's order
            return series
        try:
            levels = sorted(series.cat.categories)
        except TypeError:  # levels of several types: kept as they come
            return series
        return series.cat.reorder_categories(levels)
    if pa.types.is_date(kind):  # as pandas holds dates: datetime64, not datetime.date objects
        return column.to_pandas(date_as_object=False)
    if column.null_count and (pa.types.is_integer(kind) or pa.types.is_boolean(kind)):
        return column.to_pandas(types_mapper=_nullable)
    return column.to_pandas()


def _nullable(kind: Any) -> Any:
    """pandas' nullable dtype for an Arrow integer or boolean type."""
    import pyarrow as pa

    if pa.types.is_boolean(kind):
        return pd.BooleanDtype()
    return pd.api.types.pandas_dtype(str(kind).replace("int", "Int").replace("uInt", "UInt"))


__all__ = ["as_pandas", "is_arrow_table"]
