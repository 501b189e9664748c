"""``surrogate explain``: rows of a bundled data set explained with a bundled demo model."""

from __future__ import annotations

from typing import Any, cast

from ..datasets import TABLES
from ..errors import ParameterError
from ..explanation import ExplanationSet
from .deep import render
from .rows import parse_rows

DATASETS = tuple(TABLES)


def run_explain(args: Any) -> str:
    """``surrogate explain``: print the explanations, or stream them to part files (``--out``)."""
    from ..demo import load_demo_problem

    model, X_train, X_test, target = load_demo_problem(args.data, args.train, seed=args.seed)
    from ..explain import TabularExplainer

    explainer = TabularExplainer(
        model,
        X_train,
        target=target,
        n_samples=args.n_samples,
        threshold=args.threshold,
        random_state=args.seed,
    )
    rows = parse_rows(args.rows, len(X_test))
    if args.out:
        from ..store import explain_many_to

        written = explain_many_to(
            explainer,
            X_test.iloc[rows],
            args.surrogate,
            output=args.out,
            partition_rows=args.part_rows,
            resume=args.resume,
            on_error="record",
        )
        return (
            f"Wrote {written.n_explained} explanations of {written.n_rows} rows in {len(written.parts)} "
            f"parts to {written.output} ({len(written.failures)} failures)."
        )
    if args.resume:
        raise ParameterError("--resume needs --out (the folder of the run to continue).")
    explanations = cast(ExplanationSet, explainer.explain_many(X_test.iloc[rows], args.surrogate))
    return "\n\n".join(render(e, args.format) for e in explanations)
