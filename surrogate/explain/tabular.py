"""Tables: the explainer that prepares rows for the one pipeline (:mod:`.pipeline`).

``explain(row)`` is ``explain_many`` of one row, so a row cannot be explained two
different ways. Queries are encoded once, then explained in blocks whose rows fit
the row budget: the pipeline samples, scores (stacking the block's neighbourhoods
into shared model calls), fits and assembles. Linear surrogates are fitted for a
block at once; trees, rule lists and ``auto`` in a process pool when that pays
(``n_jobs``; see :mod:`.parallel`). Both give exactly the fits of one query alone.

``n_samples="auto"``: see :mod:`.adaptive`. Streaming to part files:
:mod:`surrogate.store`; Dask: :mod:`.dask`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .. import _version
from .._validation import BOOLEAN, check
from ..blackbox import DEFAULT_ROW_BUDGET, BlackBox, RowsOrigin, Target, as_blackbox
from ..errors import DataError, ParameterError
from ..explanation import Explanation, ExplanationSet, Scope
from ..frames import as_pandas
from ..kernels import check_kernel
from ..sampling import make_sampler, needs_training_values
from ..sampling.population import PopulationRows
from ..schema import (
    DEFAULT_POINT_MASS_SHARE,
    MISSING_CODE,
    FeatureSchema,
    point_flag_label,
    point_flag_owner,
)
from ..surrogates import make_surrogate
from ..surrogates.additive import NEIGHBOURHOOD
from ..surrogates.base import Content, Population, ReferencePoint
from .adaptive import AdaptiveSampling, SizeLimits, explain_in_rounds, sampling_plan
from .parallel import check_n_jobs
from .parts import is_dask_frame
from .pipeline import (
    DEFAULT_HOLDOUT_SHARE,
    HOLDOUT_SHARE,
    ON_ERROR,
    POPULATION_SHARE,
    REFERENCES,
    Query,
    Run,
    Scorer,
    Size,
    check_cutoff,
    explain_queries,
    neighbourhood_reference,
    resolve_link,
)
from .progress import progress_bar
from .seeding import Reseedable, entropy_of, root_sequence
from .table_checks import encode_each, in_original_units, query_warnings, share_outside_range

if TYPE_CHECKING:
    from ..store import WrittenParts


#: what ``explain_many(output_options=...)`` may pass on to ``explain_many_to``
OUTPUT_OPTIONS = ("partition_rows", "overwrite", "resume")


class TabularExplainer(Reseedable):
    """Explain a model on tables with local surrogates (linear, tree, rule list).

    The explainer learns its training statistics once, here, and never changes
    afterwards; explaining never modifies it or the model.

    Parameters
    ----------
    model : scikit-learn estimator or pipeline, torch ``nn.Module`` or callable
        The black box. It receives rows with the training data's columns and dtypes.
    X_train : DataFrame or 2-D array
        Training data: defines the schema (kinds, bounds, categories) and scales.
    mode : {"classification", "regression"}, optional
        Inferred from the model when not given. A function returning one number per
        row, each in [0, 1], is refused without it: under "classification" that number
        is P(class '1'), explained in log-odds; under "regression" it is explained as it is.
    target : class label or output index, optional
        Output explained. Default: the positive class of a binary classifier, the
        single output of a regressor, the predicted class of each query otherwise.
    sampler : {"qmc", "gaussian", "lime"} or sampler object, default "qmc"
        "qmc" is the "gaussian" neighbourhood drawn on scrambled Sobol points: the same
        distribution with less sampling noise, so the same top features across seeds
        more often (bench/stability_by_sampler.py).
    n_samples : int or "auto", default 5000
        Every row the black box scores for one query, held-out rows included. "auto"
        chooses it per query: ``start_samples`` rows, doubled until the explanation's
        bootstrap top-k Jaccard reaches ``stability_target`` or the size reaches
        ``max_samples``. Each explanation's ``meta.n_samples`` (and ``n_fit``,
        ``n_holdout``) hold the size it stopped at, and a note in ``notes`` lists every
        round tried (the black box scored all of them).
    threshold : float, optional
        Decision threshold in the output's scale (a probability for a classifier with
        ``predict_proba``: decline at ``P(target) >= threshold``, say). Agreement, agreement
        per class and rule precision are measured at it, in the explained scale (under
        the logit link a probability ``t`` becomes ``log(t / (1 - t))``). Default: the
        class boundary (probability 0.5, or score 0); a regression has agreement only
        when given one. Recorded in every explanation's ``meta.threshold``.
    kernel : {"exponential", "uniform"}, default "exponential"
    kernel_width : float, optional
        Default 1.0 (in root-mean-square standardised distance; see ``surrogate.kernels``).
    link : {"identity", "logit"}, optional
        Scale the surrogate is fitted in. Default: "logit" (log-odds) for a classifier
        that outputs probabilities, "identity" otherwise. In log-odds a surrogate is
        both more faithful and more stable than in probability, where most of the
        neighbourhood sits near 0 or 1 and differences are squashed (on German credit
        and Adult: median held-out R^2 0.39 -> 0.45 and 0.36 -> 0.61, top-5 Jaccard
        over seeds 0.88 -> 0.90 and 0.69 -> 0.97). ``prediction`` stays a probability.
    holdout_share : float, default 0.2
        Share of ``n_samples`` drawn, from an independent stream, for held-out fidelity.
    stability_target : float, optional
        ``n_samples="auto"`` only: top-k Jaccard over the bootstrap at which a query
        stops, in (0, 1]. Default 0.95.
    max_samples : int, optional
        ``n_samples="auto"`` only: largest size tried. Default 16,000 (at most the row
        budget for a fixed-shape model, whose queries are scored one per call).
    start_samples : int, optional
        ``n_samples="auto"`` only: first size tried, at least ``min_samples()``.
        Default 500, or ``min_samples()`` when that is larger.
    reference : {"training", "neighbourhood"}, default "training"
        What every family's contributions are measured against: the training data, or the
        fitting neighbourhood (kernel-weighted); stated in each explanation's ``scope``.
        Against the training data the "qmc" and "gaussian" samplers also redraw each number
        from its training values in half the rows (``number_change``, unless
        ``sampler_options`` sets it), and a tenth of ``n_samples`` checks fidelity on rows
        that take features from training rows (``fidelity.r2_population``).
    point_mass_share : float or None, default 0.05
        Least training share of a number's most frequent value that makes it a point mass
        the samplers keep (see :mod:`surrogate.schema`); None learns none.
        ``sampler_options={"point_masses": False}`` keeps learned ones out of the neighbourhood.
    random_state : int, numpy.random.SeedSequence or None, default 0
        Root of every seed. None draws fresh entropy and records it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    >>> model = LogisticRegression().fit(X, X["a"] > 0)
    >>> exp = TabularExplainer(model, X, n_samples=500).explain(X.iloc[0], max_features=2)
    >>> exp.top_features(1)
    ['a']

    Let each query's stability decide its sample size:

    >>> auto = TabularExplainer(model, X, n_samples="auto", start_samples=200, max_samples=800)
    >>> auto.explain(X.iloc[0], max_features=2).meta.n_samples in (200, 400, 800)
    True

    Attributes
    ----------
    n_samples, n_fit, n_holdout, n_population : int
        Rows per query and their split; with ``n_samples="auto"``, those of the first round.
    adaptive : AdaptiveSampling or None
        The plan of ``n_samples="auto"``; None for a fixed size.
    """

    modality = "tabular"

    def __init__(
        self,
        model: Any,
        X_train: Any,
        *,
        mode: Literal["classification", "regression"] | None = None,
        target: Any = None,
        sampler: Any = "qmc",
        n_samples: int | Literal["auto"] = 5000,
        threshold: float | None = None,
        kernel: str = "exponential",
        kernel_width: float | None = None,
        link: str | None = None,
        holdout_share: float = DEFAULT_HOLDOUT_SHARE,
        stability_target: float | None = None,
        max_samples: int | None = None,
        start_samples: int | None = None,
        feature_names: Sequence[str] | None = None,
        categorical_features: Any = None,
        immutable_features: Any = None,
        bounds: dict[str, tuple[float, float]] | None = None,
        point_mass_share: float | None = DEFAULT_POINT_MASS_SHARE,
        reference: Literal["training", "neighbourhood"] = "training",
        sampler_options: dict[str, Any] | None = None,
        row_budget: int = DEFAULT_ROW_BUDGET,
        random_state: Any = 0,
        torch_output: Literal["probabilities", "logits", "regression"] | None = None,
        to_tensor: Any = None,
        allow_training_mode: bool = False,
    ) -> None:
        X_train = as_pandas(X_train, "training data")
        self.schema = FeatureSchema.infer(
            X_train,
            feature_names=feature_names,
            categorical_features=categorical_features,
            immutable_features=immutable_features,
            bounds=bounds,
            point_mass_share=point_mass_share,
        )
        head = _head(X_train, self.schema)
        probe = self.schema.decode(self.schema.encode(head, what="training data"))
        origin = RowsOrigin("training data", getattr(head, "index", None))
        self.blackbox: BlackBox = as_blackbox(
            model,
            mode=mode,
            row_budget=row_budget,
            probe_rows=probe,
            torch_output=torch_output,
            to_tensor=to_tensor,
            allow_training_mode=allow_training_mode,
            probe_rows_are=origin,
        )
        self.model_fingerprint = self.blackbox.fingerprint(probe, rows_are=origin)
        self.target = Target.resolve(target, self.blackbox)
        self.reference = check("reference", reference, REFERENCES)
        self.sampler, self.population_rows, self.population = build_sampler(
            sampler, self.schema, X_train, sampler_options, self.reference
        )
        self.population_share = POPULATION_SHARE if self.population_rows is not None else 0.0
        self.kernel, self.kernel_width = check_kernel(kernel, kernel_width)
        self.link = resolve_link(link, self.blackbox)
        self.threshold = check_cutoff(threshold, self.blackbox)
        self.scorer = Scorer(
            self.blackbox, self.target, self.link, self.model_fingerprint, self.threshold
        )
        self.holdout_share = check("holdout_share", holdout_share, HOLDOUT_SHARE)
        self.limits = SizeLimits.of(len(self.schema), self.blackbox)
        self.n_samples, self.adaptive = sampling_plan(
            n_samples, start_samples, stability_target, max_samples, self.limits
        )
        first = self._size(self.n_samples)
        self.n_fit, self.n_holdout, self.n_population = first.n_fit, first.n_holdout, first.n_population
        self.root = root_sequence(random_state)
        self.schema_fingerprint = self.schema.fingerprint()

    def min_samples(self) -> int:
        """Fewest rows per query: enough for a surrogate on every feature and a held-out check."""
        return self.limits.lowest

    def _size(self, n: int) -> Size:
        return Size.of(n, self.holdout_share, self.population_share)

    def identity(self) -> dict[str, Any]:
        """What fixes this explainer's explanations, besides the query and the surrogate.

        Each explanation's provenance and a streamed run's record read it, so a resumed
        run can only continue with an explainer that would explain every row the same way.
        """
        return explainer_identity(self)

    def scope(self) -> Scope:
        """The question every explanation of this explainer answers (its ``scope``)."""
        return sampler_scope(self.sampler, self.reference)

    def sampling_plan(self) -> dict[str, Any]:
        """How many rows each query gets: ``{"n_samples": 5000}`` or the "auto" plan's settings."""
        if self.adaptive is not None:
            return self.adaptive.params()
        return {"n_samples": self.n_samples}

    # ---- public API -----------------------------------------------------------------------
    def explain(self, query: Any, surrogate: Any = "linear", **params: Any) -> Explanation:
        """Explain one row (a Series, dict, one-row DataFrame or 1-D array)."""
        frame = self.schema.to_frame(query)
        if len(frame) != 1:
            raise DataError(
                f"explain() takes one row, got {len(frame)}; use explain_many() for several."
            )
        if "output" in params:
            raise ParameterError(
                "explain() returns one explanation; output= streams many to files: use explain_many()."
            )
        many = self.explain_many(frame, surrogate, **params)
        if not isinstance(many, ExplanationSet):  # pragma: no cover - output= is refused above
            raise TypeError("explain_many() returned no ExplanationSet")
        return many[0]

    def explain_many(
        self,
        X: Any,
        surrogate: Any = "linear",
        *,
        client: Any = None,
        on_error: Literal["raise", "record"] = "raise",
        n_jobs: int | None = None,
        progress: bool | None = None,
        output: Any = None,
        output_format: Literal["jsonl", "parquet"] | None = None,
        output_options: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> ExplanationSet | WrittenParts:
        """Explain every row of ``X``; each row's explanation is the one it would get alone.

        Parameters
        ----------
        X : DataFrame, 2-D array, or (with ``client`` or ``output``) a dask DataFrame
            The queries, one per row; a dask DataFrame is explained partition by partition.
        surrogate : {"linear", "tree", "rules", "auto"} or surrogate family object
        client : distributed.Client, optional
            Explain on a Dask cluster (see :mod:`.dask`); the
            explanations equal the local ones.
        on_error : {"raise", "record"}, default "raise"
            "record" goes on past a row that cannot be explained and lists it in
            ``.failures`` with the reason.
        n_jobs : int, optional
            Processes fitting tree, rule-list and "auto" surrogates (linear ones are
            fitted for a whole block at once, in this process). None: as many as the
            cores and the block's queries allow, once the block's fitting work is large
            enough to repay the pool; 1: in this process; -1: every core. Results
            never depend on it. Local runs only: with ``client`` Dask spreads the work.
        progress : bool, optional
            Progress bar (``tqdm.auto``: a widget in a notebook, text on stderr) over the
            queries. None: shown for more than one query when stderr is a terminal or
            the code runs in a Jupyter kernel; True: always; False: never. Local runs only.
        output : path, optional
            Stream the explanations to part files in this folder instead of returning
            them (:func:`surrogate.store.explain_many_to`), holding only a few
            parts in memory: for more queries than their explanations would fill.
        output_format : {"jsonl", "parquet"}, optional
            With ``output``: the part files' format. Default "jsonl".
        output_options : mapping, optional
            With ``output``: ``partition_rows``, ``overwrite`` and ``resume``, passed on
            to ``explain_many_to``.
        **params
            Surrogate parameters (``max_features=5``, ``max_depth=3``, ``max_rules=5``...).

        Returns
        -------
        ExplanationSet
            In input order; or, with ``output``, the
            :class:`~surrogate.store.WrittenParts` record of the files written.

        Examples
        --------
        >>> many = explainer.explain_many(X_queries, surrogate="tree", n_jobs=2)  # doctest: +SKIP
        >>> written = explainer.explain_many(
        ...     X_queries, output="explanations/", output_format="parquet"
        ... )  # doctest: +SKIP
        >>> written.n_explained == len(X_queries)  # doctest: +SKIP
        True
        """
        check("on_error", on_error, ON_ERROR)
        n_jobs = check_n_jobs(n_jobs)
        check("progress", progress, None, BOOLEAN)
        _check_local_options(client, n_jobs, progress)
        if output is not None:
            return _stream_to_files(
                self,
                X,
                surrogate,
                output=output,
                output_format="jsonl" if output_format is None else output_format,
                output_options=_check_output_options(output_options),
                client=client,
                run=Run(None, on_error, n_jobs),
                progress=progress,
                params=params,
            )
        _check_no_output_options(output_format, output_options)
        family = _family(surrogate, params, self.adaptive)
        if is_dask_frame(X):
            return _explain_dask_frame(self, X, family, client, on_error)
        frame = self.schema.to_frame(X)
        if len(frame) == 0:
            raise DataError("The query set is empty: there is nothing to explain.")
        if client is not None:
            from .dask import explain_many_dask

            return explain_many_dask(self, frame, family, client=client, on_error=on_error)
        with progress_bar(progress, len(frame)) as bar:
            return self._explain_frame(frame, Run(family, on_error, n_jobs), bar)

    def explain_global(self, X: Any, surrogate: Any = "tree", **params: Any):
        """One surrogate of the black box over ``X`` with held-out fidelity (see :mod:`.global_`)."""
        from .global_ import explain_global

        return explain_global(self, X, surrogate, **params)

    # ---- steps ------------------------------------------------------------------------------
    def _explain_frame(self, frame: Any, run: Run, bar: Any) -> ExplanationSet:
        """Explain every row of a non-empty frame in blocks, advancing ``bar`` per block."""
        values, failures = encode_each(self.schema, frame, run.on_error)
        bar.update(len(frame) - len(values))
        explained: list[tuple[int, Explanation]] = []
        for block in self._blocks(sorted(values)):
            done, failed = self._explain_block([self._query(i, values[i]) for i in block], run)
            explained += done
            failures += failed
            bar.update(len(block))
        explained.sort(key=lambda pair: pair[0])
        return ExplanationSet(
            [e for _, e in explained],
            indices=[i for i, _ in explained],
            failures=sorted(failures, key=lambda f: f.index),
        )

    def _queries_per_block(self) -> int:
        return max(1, self.blackbox.row_budget // self.n_samples)

    def _blocks(self, indices: list[int]) -> Iterator[list[int]]:
        per_block = self._queries_per_block()
        for start in range(0, len(indices), per_block):
            yield indices[start : start + per_block]

    def prepare(self, X: Any) -> list[Query]:
        """The rows of ``X`` as the pipeline takes them (:class:`~.pipeline.Query`), in order."""
        values = self.schema.encode(self.schema.to_frame(X))
        return [self._query(i, row) for i, row in enumerate(values)]

    def _query(self, index: int, values: np.ndarray) -> Query:
        return Query(
            index=index,
            row=values,
            readable=self.schema.readable(values),
            scorer=self.scorer,
            render=self.schema.decode,
            features=self.schema.features,
            z_names=self.sampler.z_names,
            schema_fingerprint=self.schema_fingerprint,
        )

    def _explain_block(self, queries: list[Query], run: Run) -> tuple[list, list]:
        if self.adaptive is None:
            return explain_queries(self, queries, self._size(self.n_samples), run)
        return explain_in_rounds(self, queries, run, self.adaptive)

    # ---- what tables add to the pipeline ------------------------------------------------------
    def finish_content(self, content: Content) -> Content:
        return in_original_units(content, self.sampler)

    def share_outside(self, values: np.ndarray) -> float:
        return share_outside_range(values, self.schema)

    def reference_point(
        self, row: np.ndarray, z_fit: np.ndarray, w_fit: np.ndarray
    ) -> ReferencePoint | None:
        """What the contributions of ``row`` are measured from. With ``reference=
        "training"``: the training data's mean of ``z`` around ``row`` (see
        :func:`reference_z`), and its rows for families that average over them
        (additive); None when the sampler does not say how its ``z`` columns read. With
        ``reference="neighbourhood"``: the fitting rows ``z_fit`` weighted by ``w_fit``."""
        if self.reference == NEIGHBOURHOOD:
            return neighbourhood_reference(z_fit, w_fit)
        z = reference_z(self.sampler, self.schema, row)
        return None if z is None else ReferencePoint(REFERENCE, z, self.population)

    def query_warnings(self, query: Query, size: Size) -> tuple[str, ...]:
        return query_warnings(query.row, self.schema)

    def query_notes(self, query: Query) -> tuple[str, ...]:
        """The sampler's point masses in words (samplers without any say nothing)."""
        notes = getattr(self.sampler, "point_mass_notes", None)
        return tuple(notes(query.row)) if notes is not None else ()

def explainer_identity(explainer: TabularExplainer) -> dict[str, Any]:
    """:meth:`TabularExplainer.identity`; the reference only when it is not the training data,
    so the records of earlier runs read as they did."""
    reference = {} if explainer.reference == "training" else {"reference": explainer.reference}
    return {
        "library_version": _version.__version__,
        "modality": explainer.modality,
        "mode": explainer.blackbox.mode,
        "model": explainer.blackbox.description(),
        "model_fingerprint": explainer.model_fingerprint,
        "schema_fingerprint": explainer.schema_fingerprint,
        "sampler": explainer.sampler.params(),
        "kernel": {"name": explainer.kernel, "width": explainer.kernel_width},
        "link": explainer.link,
        "threshold": explainer.scorer.output_threshold,
        "holdout_share": explainer.holdout_share,
        "sampling": explainer.sampling_plan(),
        **reference,
        "random_state_entropy": entropy_of(explainer.root),
        "random_state_spawn_key": [int(k) for k in explainer.root.spawn_key],
    }


#: share of rows whose numbers the "qmc" and "gaussian" samplers redraw from their training
#: values when contributions are stated against the training data. On the known-answer
#: boxes (bench/known_answers.py, 20 queries each) the additive surrogate's mean error of
#: contributions against the truth was 0.011 / 0.042 / 0.014 (steps+kinks, +interaction,
#: gbm) at 0.3, as the review draws, and 0.011 / 0.034 / 0.015 at 0.5; 0.074 / 0.094 /
#: 0.072 without redraws
TRAINING_NUMBER_CHANGE = 0.5


def build_sampler(
    spec: Any,
    schema: FeatureSchema,
    X_train: Any,
    options: dict[str, Any] | None,
    reference: str,
) -> tuple[Any, PopulationRows | None, Population | None]:
    """The explainer's sampler and, against the training data, the rows of its
    population-scope check and the training population contributions are stated against.

    Against the training data a named gaussian-scheme sampler redraws numbers from their
    training values unless ``options`` says otherwise: contributions against the
    population rest on the model's behaviour across it, not on a surrogate's
    extrapolation beyond the query's surroundings.
    """
    options = dict(options or {})
    if reference == "training" and spec in ("qmc", "gaussian"):
        options.setdefault("number_change", TRAINING_NUMBER_CHANGE)
    sampler_learns = needs_training_values(spec, options)
    training = None
    if reference == "training" or sampler_learns:
        training = schema.encode(X_train, what="training data")
    sampler = make_sampler(
        spec, schema, training_values=training if sampler_learns else None, **options
    )
    z_of = getattr(sampler, "z_of", None)
    if training is None or reference != "training" or z_of is None:
        return sampler, None, None
    return sampler, PopulationRows(schema, training, z_of), Population.of(training)


def sampler_scope(sampler: Any, reference: str) -> Scope:
    """The question a sampler's explanations answer: its reference, scale and redraws."""
    scale = getattr(sampler, "scale", None)
    category_change = getattr(sampler, "category_change", None)
    return Scope(
        reference=reference,
        sampler=str(getattr(sampler, "name", type(sampler).__name__)),
        scale=None if scale is None else float(scale),
        number_change=float(getattr(sampler, "number_change", 0.0)),
        category_change=None if category_change is None else float(category_change),
    )


def _family(surrogate: Any, params: dict[str, Any], adaptive: AdaptiveSampling | None) -> Any:
    """The surrogate family asked for; one without a bootstrap cannot stop "auto" sampling."""
    family = make_surrogate(surrogate, **params)
    if adaptive is not None and getattr(family, "n_bootstrap", None) == 0:
        raise ParameterError(
            "n_samples='auto' stops on the bootstrap stability of each explanation, but the "
            f"{family.name!r} surrogate was given n_bootstrap=0; give it n_bootstrap >= 2 "
            "or choose a fixed n_samples."
        )
    return family


def _stream_to_files(
    explainer: TabularExplainer,
    X: Any,
    surrogate: Any,
    *,
    output: Any,
    output_format: str,
    output_options: dict[str, Any],
    client: Any,
    run: Run,
    progress: bool | None,
    params: dict[str, Any],
) -> WrittenParts:
    """Stream to part files (:mod:`surrogate.store`), which calls ``explain_many`` per part."""
    from ..store import explain_many_to

    clash = sorted(set(params) & set(OUTPUT_OPTIONS))
    if clash:
        raise ParameterError(
            f"{clash} are options of the streamed output: pass them as "
            f"output_options={{{', '.join(f'{k!r}: ...' for k in clash)}}}."
        )
    _family(surrogate, dict(params), explainer.adaptive)  # refuse a bad family before any file is written
    return explain_many_to(
        explainer,
        X,
        surrogate,
        output=output,
        format=output_format,  # type: ignore[arg-type]  # checked by the store
        on_error=run.on_error,  # type: ignore[arg-type]  # checked by explain_many
        client=client,
        n_jobs=run.n_jobs,
        progress=progress,
        **output_options,
        **params,
    )


#: the population linear contributions are measured against
REFERENCE = "the training data (numbers at their mean, categories at their training frequencies)"


def reference_z(sampler: Any, schema: FeatureSchema, row: np.ndarray) -> np.ndarray | None:
    """Mean of each ``z`` column over the training data, for the query ``row`` (see
    :meth:`TabularExplainer.reference_point`); None for a sampler whose numbers' ``z``
    is neither a declared offset nor a known quartile bin."""
    offsets = getattr(sampler, "z_offsets", None)
    names = tuple(sampler.z_names)
    if offsets is None or names[: len(schema)] != schema.names:
        return None
    bin_share = getattr(sampler, "bin_share", None)  # samplers with bin indicators
    z = np.zeros(len(names))
    for j, (feature, offset) in enumerate(
        zip(schema.features, offsets[: len(schema)], strict=True)
    ):
        q = row[j]
        if feature.frozen or np.isnan(q):
            continue  # never varied: no weight
        if feature.is_numeric and offset:
            z[j] = (float(feature.mean or 0.0) - q) / float(feature.scale or 1.0)
        elif feature.is_numeric:
            share = None if bin_share is None else bin_share(j, q)
            if share is None:
                return None
            z[j] = -(1.0 - share)
        else:
            z[j] = -(1.0 - _category_share(feature, q))
    for k, name in enumerate(names[len(schema) :], start=len(schema)):
        state = _point_state_mean(name, schema, row)
        if state is None:
            return None
        z[k] = state
    return z


def _point_state_mean(name: str, schema: FeatureSchema, row: np.ndarray) -> float | None:
    """Training mean of a point-mass state column (-1 where a row's state differs from the
    query's): minus the training share of the other state."""
    owner = point_flag_owner(name, schema.features)
    if owner is None:
        return None
    j = schema.names.index(owner.name)
    for value, share in owner.point_masses:
        if point_flag_label(owner, value) == name:
            return -(1.0 - share) if row[j] == value else -share
    return None


def _category_share(feature: Any, code: float) -> float:
    if int(code) == MISSING_CODE:
        return float(feature.missing_rate)
    return float(feature.frequencies[int(code)])


def _head(X: Any, schema: FeatureSchema) -> Any:
    rows = X.iloc[:64] if hasattr(X, "iloc") else np.asarray(X)[:64]
    if schema.input_kind == "array":
        import pandas as pd

        return pd.DataFrame(rows, columns=list(schema.names))
    return rows


def _explain_dask_frame(
    explainer: TabularExplainer, X: Any, family: Any, client: Any, on_error: Any
) -> ExplanationSet:
    """A dask DataFrame's partitions, each explained on the cluster (:mod:`.dask`)."""
    if client is None:
        raise ParameterError(
            "A dask DataFrame is explained on its cluster: pass client= (the explanations come "
            "back here), or output= to stream them to part files."
        )
    from .dask import explain_dask_frame

    return explain_dask_frame(explainer, X, family, client=client, on_error=on_error)


def _check_local_options(client: Any, n_jobs: int | None, progress: bool | None) -> None:
    """``n_jobs`` and a forced progress bar belong to local runs; Dask has its own workers."""
    if client is None:
        return
    if n_jobs is not None:
        raise ParameterError(
            f"n_jobs={n_jobs} applies to local runs; with client= the Dask workers spread the "
            "work (each fits in its own process). Leave n_jobs unset."
        )
    if progress:
        raise ParameterError(
            "progress=True applies to local runs; with client= follow the Dask dashboard. "
            "Leave progress unset."
        )


def _check_output_options(options: Any) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ParameterError(
            f"output_options must be a mapping of {list(OUTPUT_OPTIONS)}, got {type(options).__name__}."
        )
    unknown = sorted(set(options) - set(OUTPUT_OPTIONS))
    if unknown:
        raise ParameterError(
            f"output_options got unknown keys {unknown}; expected some of {list(OUTPUT_OPTIONS)}."
        )
    return dict(options)


def _check_no_output_options(output_format: Any, output_options: Any) -> None:
    given = [
        name
        for name, value in (("output_format", output_format), ("output_options", output_options))
        if value is not None
    ]
    if given:
        raise ParameterError(
            f"{given} apply only with output= (explanations streamed to files); output is None."
        )
