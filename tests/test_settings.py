"""A review's settings are declared once (``report.config.SETTINGS``): the configuration
checks every value against the declaration when it is made, and ``surrogate report
--help`` states each flag's values and default from it, so the two cannot disagree."""

from __future__ import annotations

import argparse
import dataclasses
import re

import pytest

from surrogate._validation import Interval, ListOf, Options
from surrogate.errors import ParameterError
from surrogate.report import ReviewConfig
from surrogate.report.config import SETTINGS, default_of


def _report_flags() -> list[argparse.Action]:
    from surrogate.cli import build_parser

    commands = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    return [a for a in commands.choices["report"]._actions if a.option_strings]


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_every_setting_is_declared():
    assert set(SETTINGS) == {f.name for f in dataclasses.fields(ReviewConfig)}


def test_every_command_line_default_is_the_review_s_default():
    stated = {}
    for action in _report_flags():
        if action.dest not in SETTINGS or action.help is None:
            continue
        match = re.search(r"; default ([^)]+)\)$", " ".join(action.help.split()))
        if match:
            stated[action.dest] = match.group(1)
    assert stated, "no flag states a default"
    assert stated == {name: _shown(default_of(name)) for name in stated}
    assert stated["min_fidelity"] == _shown(ReviewConfig().min_fidelity) == "0.7"


def test_every_numeric_or_choice_flag_states_what_its_setting_accepts():
    for action in _report_flags():
        if action.dest not in SETTINGS or action.type is bool:
            continue
        declared = [c for c in SETTINGS[action.dest] if c is not None]
        if isinstance(declared[0], Interval | Options):
            assert declared[0].describe() in " ".join(action.help.split()), action.dest
            if default_of(action.dest) is not None:
                assert "; default " in action.help, action.dest


def test_no_flag_typed_gives_the_review_s_defaults():
    from surrogate.cli import build_parser
    from surrogate.cli.report import config_from_args

    args = build_parser().parse_args(["report"])
    assert config_from_args(args) == ReviewConfig()


def _outside(constraint):
    """A value the constraint refuses."""
    if isinstance(constraint, Options):
        return "none of these"
    if isinstance(constraint, ListOf):
        return [_outside(constraint.item)]
    if isinstance(constraint, Interval) and constraint.low is not None:
        return constraint.kind(constraint.low) - 1
    return object()


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_a_value_outside_its_declaration_is_refused_when_the_configuration_is_made(name):
    declared = [c for c in SETTINGS[name] if c is not None]
    with pytest.raises(ParameterError, match=re.escape(name)):
        ReviewConfig(**{name: _outside(declared[0])})


def test_a_min_fidelity_above_one_is_refused_in_python_as_in_a_review_file(tmp_path):
    with pytest.raises(ParameterError, match=r"min_fidelity must be a number in \[0, 1\]"):
        ReviewConfig(min_fidelity=1.5)
    review = tmp_path / "review.toml"
    review.write_text("[reasons]\nmin_fidelity = 1.5\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"min_fidelity must be a number in \[0, 1\]"):
        ReviewConfig.from_toml(review)


def test_values_are_normalised_as_declared():
    config = ReviewConfig(kernel_width=2, sensitivity_widths=(1, 3))
    assert config.kernel_width == 2.0 and isinstance(config.kernel_width, float)
    assert config.sensitivity_widths == [1.0, 3.0]


def test_prohibited_bases_and_the_minimum_effect_are_flags():
    from surrogate.cli import build_parser
    from surrogate.cli.report import config_from_args

    args = build_parser().parse_args(
        ["report", "--prohibited", "age, personal_status_sex,", "--min-effect", "0.1"]
    )
    config = config_from_args(args)
    assert config.prohibited == ["age", "personal_status_sex"] and config.min_effect == 0.1
    assert ReviewConfig().min_effect == 0.05
    with pytest.raises(ParameterError, match="min_effect"):
        ReviewConfig(min_effect=-0.01)
