"""The review configuration: every choice a model-risk report depends on, in one record.

A review is configured by a TOML file (``--config review.toml``) whose sections
mirror :data:`SECTIONS`; command-line flags override it; the *effective*
configuration -- defaults for the data set filled in, paths made absolute -- is
saved next to the report (``review.toml``) so that
``surrogate report --config reports/<name>/review.toml`` reruns the review exactly.

Trust to unpickle a model file (``.joblib``, ``.pt2``, a ``.skops`` file with
untrusted types) is granted on the command line only -- ``--trust-model-file``, or
``--trust-model-sha256 <digest>`` which trusts that exact file -- or by a program
building a :class:`ReviewConfig` itself. A review file never grants it: the saved
``review.toml`` records how the model was trusted (``trusted_by``) without granting
it, and a ``trust_model_file = true`` line in a review file (written by earlier
versions) is read as such a record, not as a grant.

Settings that import and run code (:data:`CODE_FIELDS`: ``--model-factory``) are taken
the same way: from the command line or a program, never from a review file, which
refuses them in one line naming the flag. The saved ``review.toml`` leaves them out and
its header, like the report's rerun command, names the flag to give again.

Example ``review.toml``::

    [data]
    name = "german-credit"
    seed = 0

    [decision]
    task = "classification"
    adverse_class = "bad"
    threshold = 0.16666666666666666

    [cases]
    select = "declined"
    max_cases = 20

    [findings]
    calibration_high = 0.08

``[data]`` may name the held-out rows instead of splitting at random: ``test_data``
(a file, resolved like ``model``) or ``split_column`` (a column of the data holding
``train`` / ``test``), not both (see :mod:`.heldout`). ``[findings]`` holds the
severity cut-offs of the findings, ``<finding>_high`` and ``<finding>_medium``
(defaults :data:`surrogate.report.findings.ALL_CUTOFFS`).
"""

from __future__ import annotations

import json
import math
import re
import shlex
import tomllib
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .._validation import BOOLEAN, TEXT, Interval, ListOf, Options, check
from ..blackbox import MODES, TORCH_OUTPUTS
from ..datasets import TABLES
from ..demo import TRAINERS
from ..errors import ParameterError
from ..links import LINKS
from .findings import ALL_CUTOFFS, REVIEW_MIN_FIDELITY
from .reason_policy import DEFAULT_MIN_EFFECT

BUNDLED = tuple(TABLES)
#: model files a review can load (see ``report.problem`` for how each is guarded)
MODEL_SUFFIXES = (".skops", ".joblib", ".pt2", ".pt", ".pth", ".onnx")
#: most other explainer seeds the declined cases' reasons are recomputed under
MAX_REASON_SEEDS = 20
CASE_SELECTIONS = ("declined", "rows", "sample")
REFERENCES = ("training", "approved")
RANKINGS = ("model", "surrogate")
#: how each case is explained: the simplest of linear, additive and additive with three
#: pairs whose fidelity reaches min_fidelity ("simplest"), or always linear
LOCAL_FAMILIES = ("simplest", "linear")
#: what the model's output is: a class probability (a decision rule applies) or a number
TASKS = MODES
#: decision settings that a regression review refuses: it has no decline rule
DECISION_FIELDS = ("adverse_class", "threshold", "threshold_rationale")

#: German credit's cost matrix: accepting a bad applicant costs 5, declining a good one 1,
#: so declining minimises the expected cost when P(bad) >= 1 / (1 + 5).
GERMAN_THRESHOLD = 1.0 / 6.0
THRESHOLD_RATIONALES = {
    "german-credit": (
        "Cost-matrix cut-off of the German credit data's documentation: accepting a bad applicant "
        "costs 5, declining a good one costs 1, so declining minimises expected cost when "
        "P(bad) >= 1/(1+5) = 1/6."
    ),
    "adult": "Illustrative cut-off of 0.5: the Adult data set carries no cost matrix.",
}
DEFAULT_ADVERSE = {"german-credit": "bad", "adult": "<=50K"}
#: the intended use a regression review states unless one is given
REGRESSION_USE = "Illustration: predicting {target} (a number; no decision rule is applied)."

#: TOML section of every configuration field (the order in which review.toml is written)
SECTIONS: dict[str, tuple[str, ...]] = {
    "data": ("data", "target", "test_data", "split_column", "test_share", "seed"),
    "model": (
        "train",
        "model",
        "trusted_by",
        "torch_output",
        "model_id",
        "intended_use",
    ),
    "decision": ("task", "adverse_class", "threshold", "threshold_rationale"),
    "cases": ("select", "rows", "sample", "max_cases"),
    "explanation": (
        "n_samples",
        "max_features",
        "local_families",
        "link",
        "kernel_width",
        "number_change",
    ),
    "reasons": (
        "min_fidelity",
        "min_effect",
        "max_reasons",
        "ranked_by",
        "families",
        "prohibited",
        "excluded",
        "non_actionable",
        "reference",
    ),
    "analysis": (
        "fidelity_survey",
        "sensitivity_cases",
        "sensitivity_widths",
        "sensitivity_n_samples",
        "reason_seeds",
        "global_max_depth",
        "global_max_rules",
        "global_augment",
    ),
    "report": ("title", "out", "pdf"),
    # severity cut-offs of the findings: <finding>_high and <finding>_medium
    "findings": tuple(f"{kind}_{level}" for kind in ALL_CUTOFFS for level in ("high", "medium")),
}
#: TOML key of a field inside its section where it differs from the field name
_KEY_IN_SECTION = {"data": "name", "model": "path"}
#: fields holding file paths: resolved against the config file's folder when read from one
_PATH_FIELDS = ("model", "families", "out", "test_data")
#: grants of trust to unpickle a model file: set on the command line or in Python, never
#: read from nor written to a review file
TRUST_FIELDS = ("trust_model_file", "trust_model_sha256")
#: settings that import and run code: given on the command line or in Python, never read
#: from nor written to a review file (the saved review.toml names the flag in its header)
CODE_FIELDS = {"model_factory": "--model-factory"}
#: the key earlier versions wrote to review files; now read as a record of trust, not a grant
_LEGACY_TRUST_KEY = "trust_model_file"
_SHA256 = re.compile(r"[0-9a-f]{64}")


#: the seeds a review accepts: those of scikit-learn's random_state (the split and the
#: demo models take it)
MAX_SEED = 2**32 - 1
#: a positive number (kernel widths)
_POSITIVE = Interval(float, 0, None, closed="neither")

#: every review setting's accepted values, declared once: a ReviewConfig checks each value
#: against its entry whenever one is made (in Python, from a review file or from the
#: command line), and ``surrogate report --help`` states each flag's values and default
#: from the same entries. Checks that tie settings together are in ``validate``.
SETTINGS: dict[str, tuple[Any, ...]] = {
    "data": (TEXT,),
    "target": (None, TEXT),
    "test_data": (None, TEXT),
    "split_column": (None, TEXT),
    "test_share": (Interval(float, 0.05, 0.5),),
    "seed": (Interval(int, 0, MAX_SEED),),
    "train": (Options(TRAINERS),),
    "model": (None, TEXT),
    "trust_model_file": (BOOLEAN,),
    "trust_model_sha256": (None, TEXT),
    "trusted_by": (None, TEXT),
    "model_factory": (None, TEXT),
    "torch_output": (None, Options(TORCH_OUTPUTS)),
    "model_id": (None, TEXT),
    "intended_use": (TEXT,),
    "task": (None, Options(TASKS)),
    "adverse_class": (None, TEXT),
    # at 0 or below every applicant is declined, at 1 or above none is: no cut-off to examine
    "threshold": (None, Interval(float, 0, 1, closed="neither")),
    "threshold_rationale": (None, TEXT),
    "select": (None, Options(CASE_SELECTIONS)),
    "rows": (ListOf(Interval(int, 0)),),
    "sample": (None, Interval(int, 1)),
    "max_cases": (Interval(int, 1),),
    "n_samples": (Interval(int, 1),),
    "max_features": (Interval(int, 1),),
    "local_families": (Options(LOCAL_FAMILIES),),
    "link": (None, Options(LINKS)),
    "kernel_width": (_POSITIVE,),
    "number_change": (Interval(float, 0, 1),),
    # below the default it is honoured, and the report says so as a finding
    "min_fidelity": (Interval(float, 0, 1),),
    # in the explanation's scale (log-odds of the adverse class under the logit link)
    "min_effect": (Interval(float, 0, 10),),
    "max_reasons": (Interval(int, 1),),
    "ranked_by": (Options(RANKINGS),),
    "families": (None, TEXT),
    "prohibited": (None, ListOf(TEXT)),
    "excluded": (None, ListOf(TEXT)),
    "non_actionable": (None, ListOf(TEXT)),
    "reference": (Options(REFERENCES),),
    "fidelity_survey": (Interval(int, 0),),
    "sensitivity_cases": (Interval(int, 1),),
    "sensitivity_widths": (ListOf(_POSITIVE),),
    "sensitivity_n_samples": (ListOf(Interval(int, 1)),),
    "reason_seeds": (Interval(int, 0, MAX_REASON_SEEDS),),
    "global_max_depth": (Interval(int, 1),),
    "global_max_rules": (Interval(int, 1),),
    # its memory, which depends on the data, is bounded when the review is built
    "global_augment": (Interval(int, 0),),
    "title": (None, TEXT),
    "out": (None, TEXT),
    "pdf": (BOOLEAN,),
    **{
        f"{kind}_{level}": (Interval(float, 0, 1),)
        for kind in ALL_CUTOFFS
        for level in ("high", "medium")
    },
}


@dataclass(frozen=True)
class ReviewConfig:
    """Everything a review depends on (see module doc; ``None`` means "the data set's default")."""

    data: str = "german-credit"
    target: str | None = None
    test_data: str | None = None
    split_column: str | None = None
    test_share: float = 0.3
    seed: int = 0
    train: str = "gbm"
    model: str | None = None
    trust_model_file: bool = False
    trust_model_sha256: str | None = None
    trusted_by: str | None = None
    model_factory: str | None = None
    torch_output: str | None = None
    model_id: str | None = None
    intended_use: str = (
        "Illustration: consumer credit decisions (decline when the adverse-class probability "
        "reaches the threshold)."
    )
    task: str | None = None
    adverse_class: str | None = None
    threshold: float | None = None
    threshold_rationale: str | None = None
    select: str | None = None
    rows: list[int] = field(default_factory=list)
    sample: int | None = None
    max_cases: int = 20
    n_samples: int = 5000
    max_features: int = 8
    local_families: str = "simplest"
    link: str | None = None
    kernel_width: float = 1.0
    #: probability that a sampled row's number is redrawn from the training values (the
    #: sampler's ``number_change``): reasons are stated against the training population,
    #: so the neighbourhood must hold the model's behaviour across it
    number_change: float = 0.3
    min_fidelity: float = REVIEW_MIN_FIDELITY
    #: smallest model effect towards the adverse outcome that makes a family a reason (it
    #: must also be two standard errors above zero): below it a family is not a principal
    #: reason an adverse-action notice could defend
    min_effect: float = DEFAULT_MIN_EFFECT
    max_reasons: int = 4
    #: what ranks the reason families: the model's own effects against the reference
    #: population (seed-free) or the local surrogate's contributions
    ranked_by: str = "model"
    families: str | None = None
    prohibited: list[str] | None = None
    excluded: list[str] | None = None
    #: columns an applicant cannot act on, besides the data's dates (always non-actionable):
    #: never reasons, still measured and reported
    non_actionable: list[str] | None = None
    reference: str = "training"
    fidelity_survey: int = 200
    sensitivity_cases: int = 5
    sensitivity_widths: list[float] = field(default_factory=lambda: [0.5, 2.0])
    sensitivity_n_samples: list[int] = field(default_factory=lambda: [2000, 10000])
    #: other explainer seeds the declined cases' reasons are computed again under (0: none)
    reason_seeds: int = 4
    global_max_depth: int = 3
    global_max_rules: int = 6
    global_augment: int = 4
    title: str | None = None
    out: str | None = None
    pdf: bool = False
    # [findings]: severity cut-offs, by default those of report.findings.ALL_CUTOFFS
    overfitting_high: float = ALL_CUTOFFS["overfitting"][0]
    overfitting_medium: float = ALL_CUTOFFS["overfitting"][1]
    global_fidelity_high: float = ALL_CUTOFFS["global_fidelity"][0]
    global_fidelity_medium: float = ALL_CUTOFFS["global_fidelity"][1]
    local_fidelity_high: float = ALL_CUTOFFS["local_fidelity"][0]
    local_fidelity_medium: float = ALL_CUTOFFS["local_fidelity"][1]
    prohibited_bases_high: float = ALL_CUTOFFS["prohibited_bases"][0]
    prohibited_bases_medium: float = ALL_CUTOFFS["prohibited_bases"][1]
    calibration_high: float = ALL_CUTOFFS["calibration"][0]
    calibration_medium: float = ALL_CUTOFFS["calibration"][1]
    subgroup_gap_high: float = ALL_CUTOFFS["subgroup_gap"][0]
    subgroup_gap_medium: float = ALL_CUTOFFS["subgroup_gap"][1]
    unexplained_rows_high: float = ALL_CUTOFFS["unexplained_rows"][0]
    unexplained_rows_medium: float = ALL_CUTOFFS["unexplained_rows"][1]
    reason_seeds_high: float = ALL_CUTOFFS["reason_seeds"][0]
    reason_seeds_medium: float = ALL_CUTOFFS["reason_seeds"][1]
    reason_model_check_high: float = ALL_CUTOFFS["reason_model_check"][0]
    reason_model_check_medium: float = ALL_CUTOFFS["reason_model_check"][1]
    training_overlap_high: float = ALL_CUTOFFS["training_overlap"][0]
    training_overlap_medium: float = ALL_CUTOFFS["training_overlap"][1]
    reason_safer_category_high: float = ALL_CUTOFFS["reason_safer_category"][0]
    reason_safer_category_medium: float = ALL_CUTOFFS["reason_safer_category"][1]
    reason_surrogate_disagrees_high: float = ALL_CUTOFFS["reason_surrogate_disagrees"][0]
    reason_surrogate_disagrees_medium: float = ALL_CUTOFFS["reason_surrogate_disagrees"][1]
    reason_opposite_directions_high: float = ALL_CUTOFFS["reason_opposite_directions"][0]
    reason_opposite_directions_medium: float = ALL_CUTOFFS["reason_opposite_directions"][1]
    reason_non_actionable_high: float = ALL_CUTOFFS["reason_non_actionable"][0]
    reason_non_actionable_medium: float = ALL_CUTOFFS["reason_non_actionable"][1]

    def __post_init__(self) -> None:
        """Every value checked against :data:`SETTINGS` (and normalised: an integer given
        for a number becomes a float), so no configuration holds a value out of bounds."""
        for name, constraints in SETTINGS.items():
            object.__setattr__(self, name, check(name, getattr(self, name), *constraints))

    # ---- reading and writing -----------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | Path) -> ReviewConfig:
        """Read a review file; relative paths in it are taken from the file's folder."""
        path = Path(path)
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ParameterError(f"--config file {str(path)!r} does not exist.") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ParameterError(f"--config file {str(path)!r} is not valid TOML: {exc}") from exc
        values = _flatten(document, str(path))
        values.update(_trust_record(document, values, path))
        for name in _PATH_FIELDS:
            if isinstance(values.get(name), str):
                values[name] = str((path.parent / values[name]).resolve())
        if isinstance(values.get("data"), str) and values["data"] not in BUNDLED:
            values["data"] = str((path.parent / values["data"]).resolve())
        return cls().with_overrides(**values)

    def to_toml(self) -> str:
        """The configuration as TOML text that :meth:`from_toml` reads back identically,
        except the grants of trust (:data:`TRUST_FIELDS`), which a review file never holds."""
        out = [
            "# Effective configuration of this review: rerun it with",
            "#   surrogate report --config <this file>"
            + "".join(" " + shlex.quote(flag) for flag in self.code_flags()),
            "",
        ]
        for section, names in SECTIONS.items():
            out.append(f"[{section}]")
            for name in names:
                value = getattr(self, name)
                if value is not None:
                    out.append(
                        f"{_KEY_IN_SECTION.get(name, name) if _owns_key(section, name) else name} = {_toml_value(value)}"
                    )
            out.append("")
        return "\n".join(out)

    def code_flags(self) -> list[str]:
        """The command-line flags of the settings that import code (:data:`CODE_FIELDS`):
        a rerun must give them again, for a review file cannot."""
        flags = []
        for name, flag in CODE_FIELDS.items():
            if getattr(self, name) is not None:
                flags += [flag, str(getattr(self, name))]
        return flags

    def with_overrides(self, **values: Any) -> ReviewConfig:
        """A copy with the given fields replaced (each checked against :data:`SETTINGS`)."""
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ParameterError(
                f"Unknown review settings {unknown}; expected some of {sorted(known)}."
            )
        return replace(self, **values)  # each value checked as the copy is made

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # ---- defaults that depend on the data set ------------------------------------------
    @property
    def is_bundled(self) -> bool:
        return self.data in BUNDLED

    @property
    def data_name(self) -> str:
        return self.data if self.is_bundled else Path(self.data).stem

    @property
    def adverse(self) -> str:
        """The adverse class of a resolved configuration."""
        return _required(self.adverse_class, "adverse_class")

    @property
    def cutoff(self) -> float:
        """The decision threshold of a resolved configuration."""
        return _required(self.threshold, "threshold")

    @property
    def out_path(self) -> Path:
        """The output folder of a resolved configuration."""
        return Path(_required(self.out, "out"))

    def resolved(self) -> ReviewConfig:
        """Defaults for the data set filled in, paths absolute, values validated.

        The decision settings follow the task (:meth:`for_task`). With a model file they
        are filled in once the model is loaded (by :func:`.builder.build_report`): the
        task is then the model's, and a ``task`` set here that contradicts it is refused.
        """
        name = self.data_name + "-" + (Path(self.model).stem if self.model else self.train)
        sha = None if self.trust_model_sha256 is None else self.trust_model_sha256.lower()
        resolved = replace(
            self,
            model_id=self.model_id or name,
            title=self.title or f"Model-risk review: {name}",
            out=str(Path(self.out or Path("reports") / name).resolve()),
            data=self.data if self.is_bundled else str(Path(self.data).resolve()),
            model=None if self.model is None else str(Path(self.model).resolve()),
            families=None if self.families is None else str(Path(self.families).resolve()),
            test_data=None if self.test_data is None else str(Path(self.test_data).resolve()),
            trust_model_sha256=sha,
        )
        resolved = replace(resolved, trusted_by=resolved.trust_granted())
        if self.model is not None:  # decided with the model: see build_report
            resolved.validate()
            return resolved
        return resolved.for_task(self.task or "classification")

    def for_task(self, task: str) -> ReviewConfig:
        """The decision settings of ``task`` filled in and checked: a classification's adverse
        class, cut-off and declined cases; a regression's sample of cases, refusing any
        decision rule (a regression review has none)."""
        check("task", task, *SETTINGS["task"][1:])
        if self.task is not None and self.task != task:
            raise ParameterError(f"--task {self.task} contradicts the task {task!r} of the model.")
        decided = self._regression() if task == "regression" else self._classification()
        decided = replace(decided, task=task)
        decided.validate()
        return decided

    def _classification(self) -> ReviewConfig:
        adverse = self.adverse_class or DEFAULT_ADVERSE.get(self.data)
        if adverse is None:
            raise ParameterError(
                f"--adverse-class is required for the data file {self.data!r}: name the target value "
                "that is the adverse outcome (e.g. 'bad' or '1'), or give --task regression for a "
                "numeric target (e.g. a loss given default)."
            )
        threshold = self.threshold
        rationale = self.threshold_rationale
        if threshold is None:
            threshold = GERMAN_THRESHOLD if self.data == "german-credit" else 0.5
            rationale = rationale or THRESHOLD_RATIONALES.get(
                self.data, "Default cut-off of 0.5: no cost matrix was given."
            )
        elif rationale is None:
            rationale = "Cut-off set by the reviewer (--threshold or the review file)."
        return replace(
            self,
            adverse_class=str(adverse),
            threshold=float(threshold),
            threshold_rationale=rationale,
            select=self.select or "declined",
            link=self.link or "logit",
        )

    def _regression(self) -> ReviewConfig:
        """A regression's settings: no decline rule, a seeded sample of cases, identity link."""
        refused = [
            *[
                f"{name} = {getattr(self, name)!r}"
                for name in DECISION_FIELDS
                if getattr(self, name) is not None
            ],
            *(["select = 'declined' (--declined)"] if self.select == "declined" else []),
            *(["reference = 'approved'"] if self.reference == "approved" else []),
            *(["link = 'logit'"] if self.link == "logit" else []),
        ]
        if refused:
            raise ParameterError(
                f"A regression review has no decision rule (the model's output is a number, not a "
                f"class probability), so {'; '.join(refused)} cannot apply: remove "
                f"{'it' if len(refused) == 1 else 'them'} (--adverse-class, --threshold, --declined "
                "or the review file's [decision] section), or review a classifier."
            )
        intended = self.intended_use
        if intended == ReviewConfig.intended_use:
            intended = REGRESSION_USE.format(target=self.target)
        return replace(
            self,
            select=self.select or "sample",
            sample=self.max_cases if self.select is None and self.sample is None else self.sample,
            link=self.link or "identity",
            intended_use=intended,
        )

    def validate(self) -> None:
        """Check what ties settings together (each setting's own bounds are checked when
        the configuration is made: :data:`SETTINGS`)."""
        if not self.is_bundled and Path(self.data).suffix.lower() not in (".csv", ".parquet"):
            raise ParameterError(
                f"--data must be one of {list(BUNDLED)} or a .csv / .parquet file, got {self.data!r}."
            )
        if not self.is_bundled and not self.target:
            raise ParameterError(
                f"--target is required with a data file ({self.data!r}): name the label column."
            )
        self._check_held_out()
        check_cutoffs(self.finding_cutoffs())
        if self.select == "rows" and not self.rows:
            raise ParameterError(
                "--rows needs at least one row position of the held-out split, e.g. --rows 0,3."
            )
        if self.select == "sample" and self.sample is None:
            raise ParameterError("--sample needs a positive number of cases, got none.")
        if self.model_factory is not None:
            from .factory import parse_factory

            parse_factory(self.model_factory)
        self._check_trust()
        if self.model is not None and Path(self.model).suffix.lower() not in MODEL_SUFFIXES:
            raise ParameterError(
                f"--model must be a {', '.join(MODEL_SUFFIXES)} file, got {self.model!r}."
            )

    # ---- held-out data and findings ---------------------------------------------------
    def _check_held_out(self) -> None:
        if self.test_data is not None and self.split_column is not None:
            raise ParameterError(
                f"--test-data ({self.test_data!r}) and --split-column ({self.split_column!r}) both "
                "say which rows are held out; give one of them (on the command line or in the "
                "review file)."
            )
        if self.test_data is not None and Path(self.test_data).suffix.lower() not in (
            ".csv",
            ".parquet",
        ):
            raise ParameterError(
                f"--test-data must be a .csv or .parquet file, got {self.test_data!r}."
            )
        if self.split_column is not None and self.split_column == self.target:
            raise ParameterError(
                f"--split-column {self.split_column!r} is the --target column; name the column "
                "holding 'train' / 'test'."
            )

    def finding_cutoffs(self) -> dict[str, tuple[float, float, str]]:
        """Severity cut-offs of every finding: (high, medium, direction), from [findings]."""
        return {
            kind: (getattr(self, f"{kind}_high"), getattr(self, f"{kind}_medium"), direction)
            for kind, (_, _, direction) in ALL_CUTOFFS.items()
        }

    # ---- trust to unpickle a model file -----------------------------------------------
    def trust_granted(self) -> str | None:
        """How this configuration grants trust to unpickle its model file, in words; None
        when it grants none."""
        if self.model is None:
            return None
        if self.trust_model_sha256 is not None:
            return f"--trust-model-sha256 {self.trust_model_sha256.lower()} (this exact file only)"
        if self.trust_model_file:
            return "--trust-model-file"
        return None

    def _check_trust(self) -> None:
        sha = self.trust_model_sha256
        if sha is not None and not _SHA256.fullmatch(sha.lower()):
            raise ParameterError(
                f"--trust-model-sha256 must be the model file's SHA-256 as 64 hexadecimal digits, "
                f"got {sha!r}."
            )
        if (sha is not None or self.trust_model_file) and self.model is None:
            raise ParameterError(
                "--trust-model-file and --trust-model-sha256 trust a --model file, but no model file "
                "is given (the demo model is trained here and needs no trust)."
            )


def check_cutoffs(cutoffs: dict[str, tuple[float, float, str]]) -> None:
    """Refuse a cut-off outside [0, 1], or a "high" cut-off milder than the "medium" one."""
    for kind, (high, medium, direction) in cutoffs.items():
        for level, value in (("high", high), ("medium", medium)):
            if not (math.isfinite(value) and 0 <= value <= 1):
                raise ParameterError(
                    f"[findings] {kind}_{level} must be a number from 0 to 1, got {value!r}."
                )
        if direction == "above" and high < medium:
            raise ParameterError(
                f"[findings] {kind}_high ({high:g}) is below {kind}_medium ({medium:g}): a larger "
                f"{kind} figure is worse, so the high cut-off must be at least the medium one."
            )
        if direction == "below" and high > medium:
            raise ParameterError(
                f"[findings] {kind}_high ({high:g}) is above {kind}_medium ({medium:g}): a smaller "
                f"{kind} figure is worse, so the high cut-off must be at most the medium one."
            )


def default_of(name: str) -> Any:
    """The value a review uses for the setting ``name`` when nobody sets it."""
    declared = ReviewConfig.__dataclass_fields__[name]
    if declared.default_factory is not MISSING:
        return declared.default_factory()
    return declared.default


def setting_help(name: str, meaning: str) -> str:
    """A command-line flag's help for the setting ``name``: what it means, then the values
    it takes and its default, both read from :data:`SETTINGS` and :class:`ReviewConfig`."""
    values = " or ".join(c.describe() for c in SETTINGS[name] if c is not None)
    default = default_of(name)
    stated = "" if default is None else f"; default {_shown(default)}"
    return f"{meaning} ({values}{stated})"


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def threshold_argument(text: str) -> float:
    """``--threshold`` as typed on the command line: refused at parse time outside (0, 1)."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    try:
        return float(check("threshold", value, *SETTINGS["threshold"]))
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# ---- helpers ----------------------------------------------------------------------------------
def _trust_record(document: dict[str, Any], values: dict[str, Any], path: Path) -> dict[str, Any]:
    """What a review file says about trust, as a record: never a grant (module doc)."""
    model = document.get("model", {})
    legacy = model.get(_LEGACY_TRUST_KEY) if isinstance(model, dict) else None
    if legacy is None:
        return {}
    if not isinstance(legacy, bool):
        raise ParameterError(f"{path}: {_LEGACY_TRUST_KEY} must be true or false, got {legacy!r}.")
    if not legacy or values.get("trusted_by") is not None:
        return {}
    return {"trusted_by": f"{_LEGACY_TRUST_KEY} = true in {path.name} (a record, not a grant)"}


def _required(value: Any, name: str) -> Any:
    if value is None:
        raise ParameterError(
            f"Review setting {name!r} is not set; call ReviewConfig.resolved() first."
        )
    return value


def _owns_key(section: str, name: str) -> bool:
    return name in _KEY_IN_SECTION and section == name


def _flatten(document: dict[str, Any], where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    unknown_sections = sorted(set(document) - set(SECTIONS))
    if unknown_sections:
        raise ParameterError(
            f"{where}: unknown sections {unknown_sections}; expected some of {list(SECTIONS)}."
        )
    for section, table in document.items():
        if not isinstance(table, dict):
            raise ParameterError(f"{where}: [{section}] must be a table, got {table!r}.")
        keys = {(_KEY_IN_SECTION[n] if _owns_key(section, n) else n): n for n in SECTIONS[section]}
        _refuse_code(table, section, where)
        granted = sorted(set(table) & set(TRUST_FIELDS) - {_LEGACY_TRUST_KEY})
        if granted:
            raise ParameterError(
                f"{where}: {granted} cannot be set in a review file: trust to unpickle a model file "
                "is granted on the command line only (--trust-model-sha256, --trust-model-file)."
            )
        if section == "model":
            table = {k: v for k, v in table.items() if k != _LEGACY_TRUST_KEY}  # see _trust_record
        unknown = sorted(set(table) - set(keys))
        if unknown:
            raise ParameterError(
                f"{where}: unknown keys {unknown} in [{section}]; expected some of {sorted(keys)}."
            )
        for key, value in table.items():
            values[keys[key]] = value
    return values


def _refuse_code(table: dict[str, Any], section: str, where: str) -> None:
    """A review file naming code to import is refused: it may come from someone else."""
    for name, flag in CODE_FIELDS.items():
        if name in table:
            raise ParameterError(
                f"{where}: [{section}] {name} cannot be set in a review file, for it imports and "
                f"runs code; give it on the command line ({flag} module:function)."
            )


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ParameterError(f"Cannot write the non-finite number {value!r} to a review file.")
        return repr(value)
    if isinstance(value, str):
        # JSON string escapes are TOML basic-string escapes, except DEL, which TOML wants escaped
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ParameterError(f"Cannot write {value!r} ({type(value).__name__}) to a review file.")
