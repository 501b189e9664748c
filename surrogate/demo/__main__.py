"""``python -m surrogate.demo``: explain three German credit applicants."""

from . import main

main()
