"""Dask execution and streamed output give exactly the local explanations."""

import json
import sys

import numpy as np
import pandas as pd
import pytest

import surrogate as sg
from surrogate.errors import DataTypeError, DependencyError, ParameterError
from surrogate.explain.dask import explain_many_dask
from surrogate.store import MANIFEST_NAME, explain_many_to, read_parts
from surrogate.surrogates import make_surrogate

distributed = pytest.importorskip("distributed")

N_SAMPLES = 300


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        yield dask_client


@pytest.fixture(scope="module")
def world():
    """A pipeline over numbers and one category, its explainer and 12 queries."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(400, 5)), columns=[f"f{i}" for i in range(5)])
    X["grade"] = pd.Categorical(rng.choice(["a", "b", "c"], len(X)))
    y = 2 * X["f1"] - X["f3"] + (X["grade"] == "a") > 0
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["grade"]), remainder="passthrough"),
        LogisticRegression(),
    ).fit(X, y)
    explainer = sg.TabularExplainer(model, X, n_samples=N_SAMPLES)
    return model, X, explainer, X.iloc[:12]


@pytest.fixture(scope="module")
def local(world):
    _, _, explainer, queries = world
    return explainer.explain_many(queries)


def _jsons(explanations):
    return [e.to_json() for e in explanations]


def test_dask_equals_local(world, local, client):
    _, _, explainer, queries = world
    remote = explainer.explain_many(queries, client=client)
    assert remote.indices == list(range(12))
    assert _jsons(remote) == _jsons(local)


def test_tiny_row_budget_and_partitions_change_nothing(world, local, client):
    model, X, _, queries = world
    tiny = sg.TabularExplainer(model, X, n_samples=N_SAMPLES, row_budget=2 * N_SAMPLES)
    remote = explain_many_dask(tiny, queries, tiny_family(), client=client, partition_rows=5)
    assert _jsons(remote) == _jsons(local)


def tiny_family():
    from surrogate.surrogates import make_surrogate

    return make_surrogate("linear")


def test_additive_on_dask_equals_local(world, client):
    """Additive fits are batched per block: Dask's partitions must not change a number."""
    _, _, explainer, queries = world
    local = explainer.explain_many(queries, "additive", interactions=1)
    remote = explain_many_dask(
        explainer, queries, make_surrogate("additive", interactions=1), client=client,
        partition_rows=5,
    )
    assert _jsons(remote) == _jsons(local)


def test_failures_keep_global_positions(world, client):
    _, _, explainer, queries = world
    broken = queries.copy()
    broken["grade"] = broken["grade"].astype(object)
    broken.iloc[7, broken.columns.get_loc("grade")] = "z"  # a category never seen in training
    local = explainer.explain_many(broken, on_error="record")
    remote = explain_many_dask(
        explainer, broken, tiny_family(), client=client, on_error="record", partition_rows=3
    )
    assert [f.index for f in remote.failures] == [f.index for f in local.failures] == [7]
    assert remote.indices == local.indices == [i for i in range(12) if i != 7]
    assert _jsons(remote) == _jsons(local)


def test_raise_is_reraised(world, client):
    _, _, explainer, queries = world
    broken = queries.copy()
    broken["grade"] = broken["grade"].astype(object)
    broken.iloc[4, broken.columns.get_loc("grade")] = "z"
    with pytest.raises(sg.errors.DataError, match="'z'"):
        explain_many_dask(explainer, broken, tiny_family(), client=client, partition_rows=3)


def test_stream_parts_concatenate_to_local_jsonl(world, local, client, tmp_path):
    _, _, explainer, queries = world
    written = explain_many_to(explainer, queries, output=tmp_path, partition_rows=5, client=client)
    assert [p.name for p in written.files] == [
        "part-00000.jsonl",
        "part-00001.jsonl",
        "part-00002.jsonl",
    ]
    text = "".join(path.read_text(encoding="utf-8") for path in written.files)
    assert text == local.to_jsonl()
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert [p["first_row"] for p in manifest["parts"]] == [0, 5, 10]
    assert manifest["n_rows"] == manifest["n_explained"] == 12
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_stream_dask_dataframe_locally_and_parquet(world, local, tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    _, _, explainer, queries = world
    frame = dd.from_pandas(queries, npartitions=3)
    written = explain_many_to(explainer, frame, output=tmp_path, partition_rows=3, format="parquet")
    # three partitions of 4 rows, each split into parts of 3 + 1
    assert written.n_rows == 12 and [p.n_rows for p in written.parts] == [3, 1] * 3
    assert _jsons(read_parts(tmp_path)) == _jsons(local)
    indices = pd.concat([pd.read_parquet(p) for p in written.files])["query_index"].tolist()
    assert indices == list(range(12))


def test_stream_refuses_leftovers_unless_overwrite(world, tmp_path):
    _, _, explainer, queries = world
    explain_many_to(explainer, queries.iloc[:2], output=tmp_path)
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ParameterError, match="overwrite=True"):
        explain_many_to(explainer, queries.iloc[:2], output=tmp_path)
    written = explain_many_to(explainer, queries.iloc[:3], output=tmp_path, overwrite=True)
    assert written.n_explained == 3 and (tmp_path / "notes.txt").exists()


def test_bad_client_is_refused(world):
    _, _, explainer, queries = world
    with pytest.raises(DataTypeError, match="Client"):
        explainer.explain_many(queries, client=object())


def test_missing_dask_names_the_extra(world, monkeypatch):
    _, _, explainer, queries = world
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(DependencyError, match=r"surrogate\[dask\]"):
        explainer.explain_many(queries, client=object())


def test_a_dask_dataframe_is_explained_partition_by_partition(world, local, client):
    """A dask DataFrame given to explain_many was refused."""
    dd = pytest.importorskip("dask.dataframe")
    _, _, explainer, queries = world
    frame = dd.from_pandas(queries, npartitions=4)
    remote = explainer.explain_many(frame, client=client)
    assert remote.indices == list(range(12))
    assert _jsons(remote) == _jsons(local)
    # a row that fails is named by its position in the whole frame
    broken = queries.copy()
    broken["grade"] = broken["grade"].cat.add_categories(["z"])
    broken.loc[broken.index[9], "grade"] = "z"
    recorded = explainer.explain_many(
        dd.from_pandas(broken, npartitions=4), client=client, on_error="record"
    )
    assert [f.index for f in recorded.failures] == [9] and 9 not in recorded.indices
    with pytest.raises(ParameterError, match="dask DataFrame is explained on its cluster"):
        explainer.explain_many(frame)
