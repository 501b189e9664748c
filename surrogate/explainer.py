"""Orchestration: sample around queries, score the black box in batches, fit, measure, record.

``explain(row)`` is ``explain_many`` of one row, so a row cannot be explained two
different ways. Queries are processed in blocks whose rows fit the row budget;
inside a block, the neighbourhoods of all queries are stacked and scored in as
few model calls as the budget allows, and linear surrogates are fitted for all
queries at once.

Row layout of one query's scored block (``n_samples`` rows in all)::

    [query, n_fit - 1 sampled rows | n_holdout held-out rows | query again]

The fitting sample starts with the query itself; the held-out rows come from an
independent seed stream; the query is scored a second time, in the same call, to
detect a non-deterministic black box.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from . import _version
from .blackbox import DEFAULT_ROW_BUDGET, BlackBox, Target, as_blackbox
from .errors import DataError, ModelOutputError, ParameterError, SurrogateError, UnknownOptionError
from .explanation import Explanation, ExplanationSet, Failure, NeighbourhoodSummary, Provenance
from .fidelity import effective_sample_size, measure_fidelity
from .kernels import check_kernel, kernel_weights
from .sampling import make_sampler, needs_training_values
from .schema import FeatureSchema
from .seeding import QuerySeeds, entropy_of, query_seeds, root_sequence
from .surrogates import make_surrogate
from .surrogates.base import LinearContent, LocalFit, LocalProblem

LINKS = ("identity", "logit")
#: share of ``n_samples`` kept as the held-out neighbourhood
DEFAULT_HOLDOUT_SHARE = 0.2
#: probabilities are clipped to [eps, 1 - eps] before the logit link
LOGIT_EPS = 1e-6
#: a black box whose two scores of the same query differ by more than this is refused
DETERMINISM_TOLERANCE = 1e-6
MAX_SAMPLES = 10_000_000


@dataclass(frozen=True)
class _Scored:
    """One query's neighbourhood and black-box outputs (explained column, link scale)."""

    seeds: QuerySeeds
    values_fit: np.ndarray
    z_fit: np.ndarray
    d_fit: np.ndarray
    values_hold: np.ndarray
    z_hold: np.ndarray
    d_hold: np.ndarray
    outputs_query: np.ndarray
    target_index: int
    y_fit: np.ndarray
    y_hold: np.ndarray


class TabularExplainer:
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
        Inferred from the model when not given.
    target : class label or output index, optional
        Output explained. Default: the positive class of a binary classifier, the
        single output of a regressor, the predicted class of each query otherwise.
    sampler : {"gaussian", "qmc", "lime"} or sampler object, default "gaussian"
    n_samples : int, default 5000
        Every row the black box scores for one query, held-out rows included.
    kernel : {"exponential", "uniform"}, default "exponential"
    kernel_width : float, optional
        Default 1.0 (in root-mean-square standardised distance; see ``surrogate.kernels``).
    link : {"identity", "logit"}, default "identity"
        Scale the surrogate is fitted in; "logit" explains a classifier in log-odds.
    holdout_share : float, default 0.2
        Share of ``n_samples`` drawn, from an independent stream, for held-out fidelity.
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
    """

    modality = "tabular"

    def __init__(
        self,
        model: Any,
        X_train: Any,
        *,
        mode: Literal["classification", "regression"] | None = None,
        target: Any = None,
        sampler: Any = "gaussian",
        n_samples: int = 5000,
        kernel: str = "exponential",
        kernel_width: float | None = None,
        link: str = "identity",
        holdout_share: float = DEFAULT_HOLDOUT_SHARE,
        feature_names: Sequence[str] | None = None,
        categorical_features: Any = None,
        immutable_features: Any = None,
        bounds: dict[str, tuple[float, float]] | None = None,
        sampler_options: dict[str, Any] | None = None,
        row_budget: int = DEFAULT_ROW_BUDGET,
        random_state: Any = 0,
        torch_output: str | None = None,
        to_tensor: Any = None,
        allow_training_mode: bool = False,
    ) -> None:
        self.schema = FeatureSchema.infer(
            X_train,
            feature_names=feature_names,
            categorical_features=categorical_features,
            immutable_features=immutable_features,
            bounds=bounds,
        )
        probe = self.schema.decode(
            self.schema.encode(_head(X_train, self.schema), what="training data")
        )
        self.blackbox: BlackBox = as_blackbox(
            model,
            mode=mode,
            row_budget=row_budget,
            probe_rows=probe,
            torch_output=torch_output,
            to_tensor=to_tensor,
            allow_training_mode=allow_training_mode,
        )
        self.model_fingerprint = self.blackbox.fingerprint(probe)
        self.target = Target.resolve(target, self.blackbox)
        self.sampler = make_sampler(
            sampler,
            self.schema,
            training_values=(
                self.schema.encode(X_train, what="training data") if needs_training_values(sampler) else None
            ),
            **(sampler_options or {}),
        )
        self.kernel, self.kernel_width = check_kernel(kernel, kernel_width)
        self.link = _check_link(link, self.blackbox)
        self.holdout_share = _check_share(holdout_share)
        self.n_samples = self._check_n_samples(n_samples)
        self.n_holdout = max(1, int(round(self.holdout_share * self.n_samples)))
        self.n_fit = self.n_samples - self.n_holdout - 1
        self.root = root_sequence(random_state)
        self.schema_fingerprint = self.schema.fingerprint()

    # ---- validation ---------------------------------------------------------------------
    def min_samples(self) -> int:
        """Fewest rows per query: enough for a surrogate on every feature and a held-out check."""
        return max(50, 4 * (len(self.schema) + 1))

    def _check_n_samples(self, n: Any) -> int:
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise ParameterError(f"n_samples must be an integer, got {n!r} ({type(n).__name__}).")
        n = int(n)
        low = self.min_samples()
        if n < low:
            raise ParameterError(
                f"n_samples={n} is too small for {len(self.schema)} features; expected at least {low} "
                "(4 rows per feature plus intercept, and a held-out share)."
            )
        if n > MAX_SAMPLES:
            raise ParameterError(
                f"n_samples={n} exceeds the limit of {MAX_SAMPLES} rows per query."
            )
        if self.blackbox.fixed_shape and n > self.blackbox.row_budget:
            raise ParameterError(
                f"n_samples={n} exceeds row_budget={self.blackbox.row_budget}: this model is scored one "
                "query per fixed-shape call, so one query's rows must fit the budget. Raise row_budget "
                "or lower n_samples."
            )
        return n

    # ---- public API -----------------------------------------------------------------------
    def explain(self, query: Any, surrogate: Any = "linear", **params: Any) -> Explanation:
        """Explain one row (a Series, dict, one-row DataFrame or 1-D array)."""
        frame = self.schema.to_frame(query)
        if len(frame) != 1:
            raise DataError(
                f"explain() takes one row, got {len(frame)}; use explain_many() for several."
            )
        return self.explain_many(frame, surrogate, **params)[0]

    def explain_many(
        self,
        X: Any,
        surrogate: Any = "linear",
        *,
        client: Any = None,
        on_error: Literal["raise", "record"] = "raise",
        **params: Any,
    ) -> ExplanationSet:
        """Explain every row of ``X``; each row's explanation is the one it would get alone.

        ``on_error="record"`` goes on past a row that cannot be explained and lists it
        in ``.failures`` with the reason; the default raises.
        """
        if on_error not in ("raise", "record"):
            raise UnknownOptionError(f"on_error must be 'raise' or 'record', got {on_error!r}.")
        family = make_surrogate(surrogate, **params)
        frame = self.schema.to_frame(X)
        if len(frame) == 0:
            raise DataError("The query set is empty: there is nothing to explain.")
        if client is not None:
            from .distributed import explain_many_dask

            return explain_many_dask(self, frame, family, client=client, on_error=on_error)
        values, failures = self._encode_queries(frame, on_error)
        explained: list[tuple[int, Explanation]] = []
        for block in self._blocks(sorted(values)):
            done, failed = self._explain_block([(i, values[i]) for i in block], family, on_error)
            explained += done
            failures += failed
        explained.sort(key=lambda pair: pair[0])
        return ExplanationSet(
            [e for _, e in explained],
            indices=[i for i, _ in explained],
            failures=sorted(failures, key=lambda f: f.index),
        )

    def explain_global(self, X: Any, surrogate: Any = "tree", **params: Any):
        """One surrogate of the black box over ``X`` with held-out fidelity (see ``global_surrogate``)."""
        from .global_surrogate import explain_global

        return explain_global(self, X, surrogate, **params)

    # ---- steps ------------------------------------------------------------------------------
    def _encode_queries(self, frame, on_error) -> tuple[dict[int, np.ndarray], list[Failure]]:
        try:
            encoded = self.schema.encode(frame)
            return {i: encoded[i] for i in range(len(frame))}, []
        except SurrogateError:
            if on_error == "raise":
                raise
        values, failures = {}, []
        for i in range(len(frame)):
            try:
                values[i] = self.schema.encode(frame.iloc[[i]])[0]
            except SurrogateError as exc:
                failures.append(Failure.from_exception(i, exc))
        return values, failures

    def _blocks(self, indices: list[int]) -> Iterator[list[int]]:
        per_block = max(1, self.blackbox.row_budget // self.n_samples)
        for start in range(0, len(indices), per_block):
            yield indices[start : start + per_block]

    def _explain_block(self, queries, family, on_error) -> tuple[list, list]:
        try:
            scored = self._score([v for _, v in queries])
            fits = self._fit(scored, family)
            return [
                (i, self._assemble(s, f, family))
                for (i, _), s, f in zip(queries, scored, fits, strict=True)
            ], []
        except SurrogateError as exc:
            if on_error == "raise":
                raise
            if len(queries) == 1:
                return [], [Failure.from_exception(queries[0][0], exc)]
        done, failed = [], []
        for query in queries:  # isolate the failing rows
            d, f = self._explain_block([query], family, on_error)
            done += d
            failed += f
        return done, failed

    def _score(self, queries: list[np.ndarray]) -> list[_Scored]:
        """Sample every query's neighbourhoods and score them in as few calls as the budget allows."""
        seeds = [query_seeds(self.root, self.schema.readable(q)) for q in queries]
        fits = [
            self.sampler.sample(q, self.n_fit - 1, s.fit)
            for q, s in zip(queries, seeds, strict=True)
        ]
        holds = [
            self.sampler.sample(q, self.n_holdout, s.holdout)
            for q, s in zip(queries, seeds, strict=True)
        ]
        blocks = [
            np.concatenate([q[None, :], f.values, h.values, q[None, :]])
            for q, f, h in zip(queries, fits, holds, strict=True)
        ]
        outputs = self._predict_blocks(blocks)
        return [
            self._scored(q, s, f, h, out)
            for q, s, f, h, out in zip(queries, seeds, fits, holds, outputs, strict=True)
        ]

    def _predict_blocks(self, blocks: list[np.ndarray]) -> list[np.ndarray]:
        """Score per-query blocks in calls of at most ``row_budget`` rows.

        Fixed-shape (float32) models get one whole query per call, so a row's result never
        depends on its company. Other models get whole queries per call while they fit the
        budget; a query larger than the budget is split into budget-sized calls rather than
        sent whole past the limit the user set.
        """
        per_call = (
            1 if self.blackbox.fixed_shape else max(1, self.blackbox.row_budget // self.n_samples)
        )
        outputs: list[np.ndarray] = []
        for start in range(0, len(blocks), per_call):
            group = blocks[start : start + per_call]
            out = self._predict_rows(np.concatenate(group))
            bounds = np.cumsum([0] + [len(b) for b in group])
            outputs += [out[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return outputs

    def _predict_rows(self, values: np.ndarray) -> np.ndarray:
        chunk = len(values) if self.blackbox.fixed_shape else self.blackbox.row_budget
        parts = [
            self.blackbox.predict(self.schema.decode(values[start : start + chunk]))
            for start in range(0, len(values), chunk)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _scored(self, query, seeds, fit, hold, out) -> _Scored:
        n_fit = self.n_fit
        first, again = out[0], out[-1]
        if np.max(np.abs(first - again)) > DETERMINISM_TOLERANCE * max(1.0, np.max(np.abs(first))):
            raise ModelOutputError(
                "The black box gave two different outputs for the same query "
                f"({first.tolist()} then {again.tolist()}): it is not deterministic, so no surrogate "
                "of it can be trusted. Fix its randomness (seed, eval mode) first."
            )
        target = self.target.index if self.target.index is not None else int(np.argmax(first))
        y = self._link(out[:-1, target])
        zero = np.zeros((1, fit.z.shape[1]))
        return _Scored(
            seeds=seeds,
            values_fit=np.concatenate([query[None, :], fit.values]),
            z_fit=np.concatenate([zero, fit.z]),
            d_fit=np.concatenate([[0.0], fit.distance]),
            values_hold=hold.values,
            z_hold=hold.z,
            d_hold=hold.distance,
            outputs_query=first,
            target_index=target,
            y_fit=y[:n_fit],
            y_hold=y[n_fit:],
        )

    def _link(self, p: np.ndarray) -> np.ndarray:
        if self.link == "identity":
            return p
        q = np.clip(p, LOGIT_EPS, 1 - LOGIT_EPS)
        return np.log(q) - np.log1p(-q)

    def _threshold(self) -> float | None:
        if self.blackbox.mode != "classification":
            return None
        if not self.blackbox.outputs_probabilities or self.link == "logit":
            return 0.0
        return 0.5

    def _fit(self, scored: list[_Scored], family) -> list[tuple[LocalFit, LocalProblem]]:
        threshold = self._threshold()
        problems = [
            LocalProblem(
                z_fit=s.z_fit,
                values_fit=s.values_fit,
                y_fit=s.y_fit,
                w_fit=kernel_weights(self.kernel, s.d_fit, self.kernel_width),
                z_hold=s.z_hold,
                values_hold=s.values_hold,
                y_hold=s.y_hold,
                w_hold=kernel_weights(self.kernel, s.d_hold, self.kernel_width),
                threshold=threshold,
            )
            for s in scored
        ]
        fits = family.fit_local(
            problems,
            self.schema.features,
            self.sampler.z_names,
            [s.seeds.bootstrap for s in scored],
        )
        return list(zip(fits, problems, strict=True))

    def _assemble(self, s: _Scored, fitted: tuple[LocalFit, LocalProblem], family) -> Explanation:
        fit, problem = fitted
        fidelity = measure_fidelity(
            y_fit=problem.y_fit,
            pred_fit=fit.pred_fit,
            w_fit=problem.w_fit,
            y_hold=problem.y_hold,
            pred_hold=fit.pred_hold,
            w_hold=problem.w_hold,
            y_query=float(problem.y_fit[0]),
            pred_query=float(fit.pred_fit[0]),
            threshold=problem.threshold,
        )
        names = self.blackbox.output_names
        query_readable = self.schema.readable(s.values_fit[0])
        return Explanation(
            query=query_readable,
            prediction=float(s.outputs_query[s.target_index]),
            outputs={names[k]: float(v) for k, v in enumerate(s.outputs_query)},
            content=self._in_original_units(fit.content),
            fidelity=fidelity,
            stability=fit.stability,
            neighbourhood=NeighbourhoodSummary(
                effective_sample_size=effective_sample_size(problem.w_fit),
                share_outside_training_range=self._share_outside(
                    np.concatenate([s.values_fit[1:], s.values_hold])
                ),
            ),
            meta=self._provenance(s, family),
            warnings=self._warnings(s.values_fit[0]),
            notes=fit.notes,
        )

    def _in_original_units(self, content):
        """Per-unit weights only exist where the sampler's z is a standardised offset."""
        if not isinstance(content, LinearContent):
            return content
        # a sampler that does not declare its z columns gets no per-unit conversion
        declared = getattr(self.sampler, "z_offsets", (False,) * len(self.sampler.z_names))
        offsets = dict(zip(self.sampler.z_names, declared, strict=True))
        terms = tuple(t if offsets[t.feature] else replace(t, weight_per_unit=None) for t in content.terms)
        return replace(content, terms=terms)

    def _provenance(self, s: _Scored, family) -> Provenance:
        return Provenance(
            library_version=_version.__version__,
            modality=self.modality,
            mode=self.blackbox.mode,
            target=self.blackbox.output_names[s.target_index],
            link=self.link,
            sampler=self.sampler.params(),
            kernel={"name": self.kernel, "width": self.kernel_width},
            surrogate={"family": family.name, **family.params()},
            random_state_entropy=entropy_of(self.root),
            random_state_spawn_key=[int(k) for k in self.root.spawn_key],
            query_digest=f"{s.seeds.digest:032x}",
            n_samples=self.n_samples,
            n_fit=self.n_fit,
            n_holdout=self.n_holdout,
            schema_fingerprint=self.schema_fingerprint,
            model_fingerprint=self.model_fingerprint,
            model=self.blackbox.description(),
        )

    def _share_outside(self, values: np.ndarray) -> float:
        outside = np.zeros(len(values), dtype=bool)
        for j, f in enumerate(self.schema.features):
            if f.is_numeric:
                col = values[:, j]
                outside |= (col < f.lower) | (col > f.upper)
        return float(outside.mean()) if len(values) else 0.0

    def _warnings(self, query: np.ndarray) -> tuple[str, ...]:
        warnings = []
        outside = [
            f"{f.name}={query[j]:.6g} (training range {f.lower:.6g} to {f.upper:.6g})"
            for j, f in enumerate(self.schema.features)
            if f.is_numeric and not np.isnan(query[j]) and not f.lower <= query[j] <= f.upper
        ]
        if outside:
            warnings.append(
                "The query lies outside the training data's range, so the black box is extrapolating "
                "and the explanation describes behaviour the model never learned from data: "
                + "; ".join(outside)
            )
        constant = [f.name for f in self.schema.features if f.is_constant]
        if constant:
            warnings.append(
                f"Features constant in the training data are never varied and cannot be explained: {constant}."
            )
        return tuple(warnings)


def _head(X: Any, schema: FeatureSchema) -> Any:
    rows = X.iloc[:64] if hasattr(X, "iloc") else np.asarray(X)[:64]
    if schema.input_kind == "array":
        import pandas as pd

        return pd.DataFrame(rows, columns=list(schema.names))
    return rows


def _check_link(link: str, blackbox: BlackBox) -> str:
    if link not in LINKS:
        raise UnknownOptionError(f"Unknown link {link!r}; expected one of {list(LINKS)}.")
    if link == "logit" and not blackbox.outputs_probabilities:
        raise ParameterError(
            "link='logit' needs a black box that outputs probabilities (a classifier with predict_proba); "
            f"this one is {blackbox.mode} with outputs {list(blackbox.output_names)}."
        )
    return link


def _check_share(share: Any) -> float:
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0.05 <= share <= 0.5:
        raise ParameterError(f"holdout_share must be a number between 0.05 and 0.5, got {share!r}.")
    return float(share)
