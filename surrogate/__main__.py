"""``python -m surrogate`` is the ``surrogate`` command."""

from .cli import main

raise SystemExit(main())
