"""Every error the library raises on purpose.

Each class also derives from the built-in exception a caller would expect
(``ValueError`` for bad values, ``TypeError`` for wrong types, ``ImportError``
for a missing optional dependency), so ``except ValueError`` keeps working.
Messages name the feature or argument, what was expected and what was received.
"""

from __future__ import annotations


class SurrogateError(Exception):
    """Base of every error the library raises on purpose."""


class ParameterError(SurrogateError, ValueError):
    """An argument has a value outside what it accepts."""


class UnknownOptionError(ParameterError):
    """A name chosen from a registry (sampler, surrogate, kernel...) is not known."""


class DataError(SurrogateError, ValueError):
    """Training data or queries do not fit the schema (columns, NaN, categories)."""


class SchemaError(DataError):
    """A feature's declared kind, bounds or categories cannot be honoured."""


class IntegrityError(DataError):
    """Files on disk do not match the record written with them (digest, line count, run id)."""


class DataTypeError(SurrogateError, TypeError):
    """Data of an unsupported type was passed (e.g. a dict where a frame is needed)."""


class ModelError(SurrogateError, RuntimeError):
    """The black box failed, or cannot be called the way its adapter needs."""


class ModelOutputError(ModelError, ValueError):
    """The black box answered with outputs of the wrong shape or with invalid values."""


class ExplanationFormatError(SurrogateError, ValueError):
    """Serialised explanation text cannot be read (malformed, or a newer schema version)."""


class DependencyError(SurrogateError, ImportError):
    """An optional dependency, or a system program, is missing; the message names the fix."""


def require(module: str, extra: str):
    """Import an optional dependency or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DependencyError(
            f"This feature needs the optional dependency '{module}', which is not installed. "
            f"Install it with: pip install 'surrogate[{extra}]'."
        ) from exc
