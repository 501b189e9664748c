"""Date and timestamp columns: numbers (days since 1970-01-01) with a kind of their own."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import surrogate as sg
from surrogate import cli
from surrogate.errors import DataError, DataTypeError, ParameterError
from surrogate.report.tables import read_table
from surrogate.schema import DATETIME_ORIGIN, FeatureSchema, _definition

ORIGIN = pd.Timestamp(DATETIME_ORIGIN)
SLOPE = 0.01  # the black box's change per day


def _loans(n: int = 400, unit: str = "s") -> pd.DataFrame:
    rng = np.random.default_rng(0)
    opened = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 2000, n), unit="D")
    return pd.DataFrame(
        {"opened": pd.Series(opened).astype(f"datetime64[{unit}]"), "income": rng.normal(50, 10, n)}
    )


def _days(column: pd.Series) -> np.ndarray:
    local = column.dt.tz_localize(None) if column.dt.tz is not None else column
    return ((local - ORIGIN) / pd.Timedelta(days=1)).to_numpy(dtype=float)


class DatedModel:
    """Linear in days since the origin and in income; asserts the dtype of every row it gets."""

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype
        self.seen: list[pd.Series] = []

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        if not isinstance(frame, pd.DataFrame) or str(frame["opened"].dtype) != self.dtype:
            raise TypeError(f"expected opened as {self.dtype}, got {frame['opened'].dtype}")
        self.seen.append(frame["opened"])
        return SLOPE * _days(frame["opened"]) + 0.5 * frame["income"].to_numpy()


# ---- schema ---------------------------------------------------------------------------------
def test_a_datetime_column_is_a_number_of_days_since_the_stated_origin():
    X = _loans()
    X.loc[3, "opened"] = pd.NaT
    feature = FeatureSchema.infer(X)["opened"]
    days = _days(X["opened"])
    assert feature.kind == "datetime" and feature.is_numeric and feature.dtype == "datetime64[s]"
    assert (feature.origin, feature.unit, feature.timezone) == ("1970-01-01T00:00:00", "day", None)
    assert feature.dates_only and feature.whole  # every value at midnight: whole days
    assert feature.lower == np.nanmin(days) and feature.upper == np.nanmax(days)
    assert feature.mean == pytest.approx(np.nanmean(days))
    assert feature.scale == pytest.approx(np.nanstd(days))
    assert feature.missing_rate == 1 / len(X) and feature.allow_missing
    values = FeatureSchema.infer(X).encode(X)
    assert np.isnan(values[3, 0]) and values[0, 0] == days[0]


def test_origin_and_unit_are_in_the_fingerprint_and_other_kinds_keep_theirs():
    schema = FeatureSchema.infer(_loans())
    opened, income = schema.features
    assert {"origin", "unit", "timezone", "resolution"} <= set(_definition(opened))
    assert not {"origin", "unit", "timezone", "resolution"} & set(_definition(income))
    moved = FeatureSchema(features=(replace_origin(opened), income))
    assert moved.fingerprint() != schema.fingerprint()


def replace_origin(feature):
    from dataclasses import replace

    return replace(feature, origin="2000-01-01T00:00:00")


def test_a_timezone_aware_column_counts_days_on_its_own_wall_clock():
    # across the spring daylight-saving change in Paris: midnights stay whole days
    stamps = pd.Series(pd.date_range("2021-03-20", periods=20, freq="D", tz="Europe/Paris"))
    X = pd.DataFrame(
        {"opened": stamps.astype("datetime64[ms, Europe/Paris]"), "x": np.arange(20.0)}
    )
    schema = FeatureSchema.infer(X)
    feature = schema["opened"]
    assert feature.timezone == "Europe/Paris" and feature.resolution == "day"
    values = schema.encode(X)
    assert np.array_equal(values[:, 0], np.arange(18706.0, 18726.0))  # 2021-03-20 is day 18706
    back = schema.decode(values)
    assert str(back["opened"].dtype) == "datetime64[ms, Europe/Paris]"
    assert back["opened"].equals(X["opened"])
    # a query in another timezone is the same instant, read on the column's clock
    query = X.iloc[[0]].assign(opened=X["opened"].iloc[[0]].dt.tz_convert("UTC"))
    assert schema.encode(query)[0, 0] == 18706.0
    assert schema.readable(values[0])["opened"] == "2021-03-20"


def test_timestamps_with_a_time_of_day_are_continuous():
    X = _loans()
    X["opened"] = X["opened"] + pd.to_timedelta(np.arange(len(X)) % 24, unit="h")
    schema = FeatureSchema.infer(X)
    assert not schema["opened"].dates_only and not schema["opened"].whole
    row = schema.encode(X.iloc[[1]])[0]
    assert schema.readable(row)["opened"] == X["opened"].iloc[1].isoformat()


def test_a_date_placeholder_is_a_point_mass_named_by_its_date():
    X = _loans(400)
    X.loc[: len(X) // 4, "opened"] = pd.Timestamp("1999-01-01")
    schema = FeatureSchema.infer(X)
    assert schema["opened"].point_flag_names() == ("opened is 1999-01-01",)
    sampler = sg.sampling.make_sampler("qmc", schema)
    assert "opened is 1999-01-01" in sampler.z_names
    (note,) = sampler.point_mass_notes(schema.encode(X.iloc[[300]])[0])
    assert note.startswith("opened is 1999-01-01 for ") and "(20" in note


# ---- bad input ------------------------------------------------------------------------------
def test_mixed_timezones_are_refused_naming_the_feature():
    X = pd.DataFrame(
        {
            "opened": [
                pd.Timestamp("2021-01-01", tz="UTC"),
                pd.Timestamp("2021-01-02", tz="Asia/Tokyo"),
            ],
            "x": [1.0, 2.0],
        }
    )
    with pytest.raises(DataTypeError, match=r"'opened' mixes timezones.*Asia/Tokyo.*UTC"):
        FeatureSchema.infer(X)
    X["opened"] = [pd.Timestamp("2021-01-01", tz="UTC"), pd.Timestamp("2021-01-02")]
    with pytest.raises(DataTypeError, match=r"\['None', 'UTC'\] \('None': no timezone\)"):
        FeatureSchema.infer(X)


def test_a_datetime_column_missing_everywhere_is_refused_naming_it():
    X = pd.DataFrame({"opened": pd.Series([pd.NaT] * 3, dtype="datetime64[s]"), "x": [1.0, 2, 3]})
    with pytest.raises(DataError, match="'opened' is missing in every training row"):
        FeatureSchema.infer(X)


def test_queries_that_are_not_dates_or_in_the_wrong_timezone_are_refused():
    schema = FeatureSchema.infer(_loans())
    with pytest.raises(DataError, match=r"'opened' must be a date or timestamp.*'soon'"):
        schema.encode(pd.DataFrame({"opened": ["soon"], "income": [50.0]}))
    with pytest.raises(DataError, match=r"'opened' must be a date.*20210301"):
        schema.encode(pd.DataFrame({"opened": [20210301], "income": [50.0]}))
    with pytest.raises(DataError, match=r"'opened' is in timezone none .*has UTC"):
        schema.encode(
            pd.DataFrame({"opened": [pd.Timestamp("2021-03-01", tz="UTC")], "income": [1.0]})
        )
    nanos = FeatureSchema.infer(_loans(unit="ns"))
    with pytest.raises(DataError, match=r"'opened' is '2300-01-01' .*datetime64\[ns\] cannot hold"):
        nanos.encode(pd.DataFrame({"opened": ["2300-01-01"], "income": [50.0]}))
    # ISO text is read as a date
    text = schema.encode(pd.DataFrame({"opened": ["2021-03-01"], "income": [50.0]}))
    assert text[0, 0] == (pd.Timestamp("2021-03-01") - ORIGIN).days


def test_bounds_of_a_date_are_dates_and_may_only_widen_the_range():
    X = _loans()
    schema = FeatureSchema.infer(X, bounds={"opened": ("2010-01-01", "2030-12-31")})
    assert schema["opened"].lower == (pd.Timestamp("2010-01-01") - ORIGIN).days
    with pytest.raises(ParameterError, match="bounds may only widen"):
        FeatureSchema.infer(X, bounds={"opened": ("2016-01-01", "2030-12-31")})


# ---- samplers and explanations --------------------------------------------------------------
@pytest.mark.parametrize("sampler", ["gaussian", "qmc", "lime"])
@pytest.mark.parametrize("dtype", ["datetime64[s]", "datetime64[us, Europe/Paris]"])
def test_sampled_rows_reach_the_model_as_the_columns_own_dtype(sampler, dtype):
    X = _loans()
    if "Europe/Paris" in dtype:
        X["opened"] = X["opened"].dt.tz_localize("Europe/Paris").astype(dtype)
    model = DatedModel(dtype)
    explainer = sg.TabularExplainer(model, X, mode="regression", sampler=sampler, n_samples=300)
    explainer.explain(X.iloc[[0]])
    drawn = pd.concat(model.seen[1:])  # after the training rows scored when building
    local = drawn.dt.tz_localize(None) if drawn.dt.tz is not None else drawn
    assert (local == local.dt.normalize()).all()  # a column of dates: whole days
    assert drawn.min() >= X["opened"].min() and drawn.max() <= X["opened"].max()
    assert drawn.nunique() > 20


def test_a_black_box_linear_in_days_is_recovered_per_day():
    X = _loans()
    explainer = sg.TabularExplainer(
        DatedModel("datetime64[s]"), X, mode="regression", n_samples=1000
    )
    exp = explainer.explain(X.iloc[[7]])
    term = {t.feature: t for t in exp.content.terms}["opened"]
    assert exp.fidelity.r2 == pytest.approx(1.0, abs=1e-9)
    assert term.weight_per_unit == pytest.approx(SLOPE, rel=1e-6)
    assert term.weight == pytest.approx(SLOPE * explainer.schema["opened"].scale, rel=1e-6)
    assert term.value == X["opened"].iloc[7].date().isoformat()
    assert "per sd (+0.01 per day)" in exp.to_text()
    assert "+0.01 per day" in exp.to_markdown() and "+0.01 per day" in exp._repr_html_()


def test_additive_and_tree_surrogates_read_dates_as_numbers():
    X = _loans()
    explainer = sg.TabularExplainer(
        DatedModel("datetime64[s]"), X, mode="regression", n_samples=800
    )
    additive = explainer.explain(X.iloc[[7]], surrogate="additive")
    assert additive.fidelity.r2 > 0.99
    shown = {t.feature: t.value for t in additive.content.terms}["opened"]
    assert shown == X["opened"].iloc[7].date().isoformat()
    paired = explainer.explain(X.iloc[[7]], surrogate="additive", interactions=1)
    assert paired.content.pairs[0].values[0] == shown  # the pair's query cell is found on dates
    assert "<svg" in paired._repr_html_()
    tree = explainer.explain(X.iloc[[7]], surrogate="tree", max_depth=3)
    assert "opened" in tree.top_features()
    # thresholds on a date read as dates: the last day on the "<=" side
    thresholds = [
        c.value for r in tree.content.rules for c in r.conditions if c.feature == "opened"
    ]
    assert thresholds and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in thresholds)
    assert (
        f"opened <= {thresholds[0]}" in tree.to_text()
        or f"opened > {thresholds[0]}" in tree.to_text()
    )
    assert sg.Explanation.from_json(tree.to_json()) == tree
    rules = explainer.explain_global(X.iloc[:200], surrogate="rules")
    assert any(
        c.feature == "opened" and isinstance(c.value, str)
        for r in rules.content.rules
        for c in r.conditions
    )


def test_an_out_of_time_query_is_explained_and_flagged_as_numbers_are():
    X = _loans()
    explainer = sg.TabularExplainer(
        DatedModel("datetime64[s]"), X, mode="regression", n_samples=1000
    )
    query = X.iloc[[0]].assign(
        opened=pd.Series([pd.Timestamp("2030-06-01")], dtype="datetime64[s]", index=[0])
    )
    exp = explainer.explain(query)
    assert exp.query["opened"] == "2030-06-01"
    assert exp.fidelity.r2 == pytest.approx(1.0, abs=1e-9)
    (warning,) = exp.warnings
    assert "outside the training data's range" in warning
    assert "opened=2030-06-01 (training range 2015-01-" in warning
    # a number outside its range is treated the same way
    far = explainer.explain(X.iloc[[0]].assign(income=500.0))
    assert "outside the training data's range" in far.warnings[0]


def test_explain_global_on_held_out_rows_with_an_out_of_time_date():
    X = _loans()
    explainer = sg.TabularExplainer(
        DatedModel("datetime64[s]"), X, mode="regression", n_samples=300
    )
    later = X.iloc[:60].copy()
    later["opened"] = later["opened"] + pd.Timedelta(days=3000)  # all after the training range
    glob = explainer.explain_global(pd.concat([X.iloc[:100], later]), surrogate="linear")
    assert glob.fidelity.r2 == pytest.approx(1.0, abs=1e-9)
    term = {t.feature: t for t in glob.content.terms}["opened"]
    assert term.weight_per_unit == pytest.approx(SLOPE, rel=1e-6)


def test_an_explanation_with_a_date_round_trips_through_json():
    X = _loans()
    explainer = sg.TabularExplainer(
        DatedModel("datetime64[s]"), X, mode="regression", n_samples=300
    )
    exp = explainer.explain(X.iloc[[5]])
    text = exp.to_json()
    again = sg.Explanation.from_json(text)
    assert again == exp and again.to_json() == text
    assert (
        json.loads(text)["explanation"]["query"]["opened"] == X["opened"].iloc[5].date().isoformat()
    )
    frame = explainer.explain_many(X.iloc[[5]]).to_frame(long=True)
    assert frame.set_index("feature").loc["opened", "value"] == exp.query["opened"]
    assert explainer.explain(X.iloc[[5]]).to_json() == text  # the seed reads the ISO date


# ---- review inputs --------------------------------------------------------------------------
def _csv(tmp_path, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    opened = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 2000, n), unit="D")
    income = rng.normal(50, 10, n).round(1)
    logit = ((opened - pd.Timestamp("2015-01-01")).days - 1000) / 300 - (income - 50) / 10
    frame = pd.DataFrame(
        {
            "opened": opened.strftime("%Y-%m-%d"),
            "income": income,
            "region": rng.choice(["north", "south", "east"], n),
            "default": np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no"),
        }
    )
    frame.loc[4, "opened"] = None
    return frame


def test_read_table_reads_iso_dates_as_dates_and_still_refuses_identifiers(tmp_path):
    frame = _csv(tmp_path)
    frame["stamp"] = pd.date_range("2020-01-01", periods=len(frame), freq="h").strftime(
        "%Y-%m-%dT%H:%M:%S"
    )
    path = tmp_path / "dates.csv"
    frame.to_csv(path, index=False)
    table = read_table(path)
    assert str(table["opened"].dtype).startswith("datetime64") and table["opened"].isna().sum() == 1
    assert str(table["stamp"].dtype).startswith("datetime64")  # one level per row, yet read
    assert table["region"].dtype == "category"
    frame["customer"] = [f"C{i:06d}" for i in range(len(frame))]  # a text identifier
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="look like identifiers.*'customer' ") as refused:
        read_table(path)
    assert "'stamp'" not in str(refused.value) and "'opened'" not in str(refused.value)


def test_mixed_timezone_offsets_in_a_csv_are_refused_naming_the_column(tmp_path):
    frame = _csv(tmp_path)
    frame["opened"] = "2021-01-01T10:00:00+01:00"
    frame.loc[3, "opened"] = "2021-07-01T10:00:00+02:00"
    path = tmp_path / "offsets.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataTypeError, match="'opened' mixes timezones"):
        read_table(path)


def test_a_review_of_a_csv_with_an_iso_date_column(tmp_path, capsys):
    path = tmp_path / "loans.csv"
    _csv(tmp_path).to_csv(path, index=False)
    fast = tmp_path / "fast.toml"
    fast.write_text(
        "[analysis]\nfidelity_survey = 10\nsensitivity_cases = 1\nsensitivity_widths = [2.0]\n"
        "sensitivity_n_samples = [200]\nglobal_augment = 0\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    argv = ["report", "--config", str(fast), "--data", str(path), "--target", "default"]
    argv += ["--adverse-class", "yes", "--max-cases", "2", "--n-samples", "300", "--out", str(out)]
    assert cli.main(argv) == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    opened = {f["name"]: f for f in report["data"]["features"]}["opened"]
    assert opened["kind"] == "datetime" and opened["origin"] == DATETIME_ORIGIN
    assert opened["unit"] == "day" and opened["timezone"] is None
    training_dates = pd.to_datetime(_csv(tmp_path)["opened"]).dropna()
    assert opened["dates"]["min"] <= opened["dates"]["mean"] <= opened["dates"]["max"]
    assert opened["dates"]["max"] <= training_dates.max().date().isoformat()
    assert len(opened["dates"]["min"]) == 10 and opened["dates"]["min"] >= "2015-01-01"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"<td class=\"n\">{opened['dates']['min']}</td>" in page
    # a date is non-actionable: never a reason, but its effect is measured for every decline
    rc = report["reason_codes"]
    assert rc["policy"]["non_actionable"] == ["opened"] == rc["non_actionable"]["dates"]
    declined = [c for c in rc["cases"] if c["declined"]]
    assert declined
    for case in declined:
        assert all("opened" not in r["features"] for r in case["reasons"])
        (measured,) = case["non_actionable"]
        assert measured["feature"] == "opened" and measured["standard_error"] >= 0
        assert any("non-actionable feature opened" in f for f in case["flags"]) == measured[
            "outranks"
        ]
    assert "non-actionable" in page and "<strong>opened</strong>" in page
    explanations = [
        sg.Explanation.from_json(line)
        for line in (out / "explanations.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(explanations) == 2
    for exp in explanations:
        date = exp.query["opened"]
        assert pd.Timestamp(date).isoformat().startswith(date) and len(date) == 10


@settings(max_examples=25)
@given(
    days=st.lists(st.integers(-25_000, 45_000), min_size=2, max_size=12),
    seconds=st.lists(st.integers(0, 86_399), min_size=12, max_size=12),
    unit=st.sampled_from(["s", "ms", "us", "ns"]),
    zone=st.sampled_from([None, "UTC", "Europe/Paris", "America/New_York"]),
    dates=st.booleans(),
)
def test_rows_decode_to_the_values_and_dtype_they_were_encoded_from(
    days, seconds, unit, zone, dates
):
    stamps = pd.Series(ORIGIN + pd.to_timedelta(days, unit="D"))
    if not dates and zone is None:  # a time of day (zones: midnights, never skipped or repeated)
        stamps = stamps + pd.to_timedelta(seconds[: len(days)], unit="s")
    stamps = stamps.astype(f"datetime64[{unit}]")
    if zone is not None:
        stamps = stamps.dt.tz_localize(zone)
    X = pd.DataFrame({"opened": stamps, "x": np.arange(len(days), dtype=float)})
    schema = FeatureSchema.infer(X)
    values = schema.encode(X)
    back = schema.decode(values)
    assert str(back["opened"].dtype) == str(X["opened"].dtype)
    assert back["opened"].equals(X["opened"])
    local = X["opened"].dt.tz_localize(None) if zone else X["opened"]
    assert schema["opened"].dates_only == bool((local == local.dt.normalize()).all())
    assert np.array_equal(values[:, 0], _days(X["opened"]))


def test_subgroups_of_a_date_are_bands_between_training_quartile_days():
    from surrogate.report import findings

    days = pd.Series(pd.date_range("2020-01-01", "2020-12-31", freq="D"), name="opened")
    X_train = days.to_frame()  # 366 days: quartiles at days 91.25, 182.5, 273.75 -> 91, 182, 273
    X_test = days.iloc[::3].reset_index(drop=True).to_frame()
    X_test.iloc[0, 0] = pd.NaT
    scores = np.linspace(0, 1, len(X_test))
    (table,) = findings.subgroups(
        X_test, scores > 0.5, scores, features=["opened"], threshold=0.5, X_train=X_train
    )
    assert [g["group"] for g in table["groups"]] == [
        "opened <= 2020-04-01",
        "2020-04-01 < opened <= 2020-07-01",
        "2020-07-01 < opened <= 2020-09-30",
        "opened > 2020-09-30",
        "missing",
    ]
    assert [g["n"] for g in table["groups"]] == [30, 30, 31, 30, 1]  # days 3, 6, ... 363


def test_a_pair_on_a_date_is_restated_against_rows_with_missing_dates():
    from surrogate.surrogates.contributions import with_reference

    X = _loans()
    X.loc[3, "opened"] = pd.NaT  # the date can be missing: the pair's query level takes it

    def crossed(frame):
        days = np.nan_to_num(_days(frame["opened"]), nan=17000.0)
        return (days > 17500) * (frame["income"].to_numpy() > 50) * 2.0 + 0.001 * days

    explainer = sg.TabularExplainer(crossed, X, mode="regression", n_samples=1500)
    exp = explainer.explain(X.iloc[10], "additive", interactions=1)
    (pair,) = exp.content.pairs
    assert set(pair.features) == {"opened", "income"} and isinstance(
        pair.values[pair.features.index("opened")], str
    )
    rows = explainer.schema.encode(X)
    restated = with_reference(exp.content, rows, explainer.schema.features, reference="loan book")
    total = (
        restated.intercept
        + sum(t.contribution for t in restated.terms)
        + restated.pairs[0].contribution
    )
    assert np.isfinite(total)
    assert total == pytest.approx(exp.content.intercept + sum(exp.contributions.values()))
