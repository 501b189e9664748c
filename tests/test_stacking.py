"""Images and texts share model calls, and each explanation stays byte-identical to the
one it gets alone: for the demo CNN and GRU, for a function, and for a model whose
float32 kernels round differently with the batch's shape. Calls are counted."""

from __future__ import annotations

import math

import numpy as np
import pytest

from surrogate import ImageExplainer, TextExplainer
from surrogate.blackbox import (
    DEFAULT_ROW_BUDGET,
    QUERIES_PER_CALL,
    as_blackbox,
    default_shared_budget,
    shared_row_budget,
)
from surrogate.explain.faithfulness import check_rows

torch = pytest.importorskip("torch")

from surrogate.demo import deep as demo  # noqa: E402  (needs torch)


@pytest.fixture(scope="module")
def digits():
    with demo.one_thread():
        return demo.train_digits_cnn(seed=0, epochs=1)


@pytest.fixture(scope="module")
def sentiment():
    with demo.one_thread():
        return demo.train_sentiment_gru(seed=0, epochs=1)


class Counted(torch.nn.Module):
    """Wraps a module and records the number of rows of every call."""

    def __init__(self, inner) -> None:
        super().__init__()
        self.inner = inner
        self.rows: list[int] = []

    def forward(self, x):
        self.rows.append(int(x.shape[0]))
        return self.inner(x)


class ShapeRounding(torch.nn.Module):
    """A float32 'kernel' whose result moves with the batch size, as per-shape kernels do
    (by 1e-4 per 1,000 rows), but never with the other rows' content."""

    def forward(self, x):
        score = 0.1 * x.flatten(1)[:, :4].sum(dim=1) + 1e-7 * x.shape[0]
        return torch.stack([-score, score], dim=1)


def explained_three_ways(explainer, queries) -> tuple[list[str], list[str], list[str]]:
    """Each query's explanation (JSON) alone, in one batch, and in the batch reversed."""
    alone = [explainer.explain(q).to_json() for q in queries]
    together = [e.to_json() for e in explainer.explain_many(queries)]
    shuffled = [e.to_json() for e in explainer.explain_many(queries[::-1])][::-1]
    return alone, together, shuffled


@pytest.mark.parametrize("row_budget", [None, 150, 500, 800])
def test_demo_cnn_stacked_is_byte_identical(digits, row_budget):
    model, helpers = digits
    explainer = ImageExplainer(
        model, torch_output="logits", n_samples=200, baseline="zeros", row_budget=row_budget
    )
    with demo.one_thread():
        alone, together, shuffled = explained_three_ways(explainer, list(helpers.images[:5]))
    assert alone == together == shuffled
    assert len(set(alone)) == len(alone)  # each query its own explanation, not one repeated


def test_demo_gru_stacked_is_byte_identical(sentiment):
    model, helpers = sentiment
    explainer = TextExplainer(
        model, torch_output="logits", to_tensor=helpers.to_tensor, n_samples=200, row_budget=600
    )
    texts = [
        "The food was not good at all.",
        "A wonderful, warm film.",
        "Terrible service and the waiter never came back to our table.",
        "ok",
        "I would not recommend this phone to anyone who needs a battery that lasts a day.",
    ]
    with demo.one_thread():
        alone, together, shuffled = explained_three_ways(explainer, texts)
    assert alone == together == shuffled
    assert len(set(alone)) == len(alone)  # each query its own explanation, not one repeated


def test_demo_gru_reads_a_text_the_same_beside_any_other(sentiment):
    """Packed sequences failed this for 201 of 300 texts: beside a one-word text, a text's
    last steps ran in a batch of one, beside a longer text in a batch of two."""
    model, helpers = sentiment
    longest = max(helpers.texts, key=len)
    with torch.inference_mode(), demo.one_thread():
        for text in helpers.texts[:60]:
            beside_short = model(helpers.to_tensor([text, "x"]))[0]
            beside_long = model(helpers.to_tensor([text, longest]))[0]
            assert torch.equal(beside_short, beside_long), text


def test_a_function_returning_float32_is_stacked_byte_identically(digits):
    cnn, helpers = digits

    def model(images):
        with torch.inference_mode():
            return torch.softmax(cnn(torch.from_numpy(images[:, None])), dim=1).numpy()

    explainer = ImageExplainer(model, n_samples=200, baseline="zeros", row_budget=600)
    with demo.one_thread():
        alone, together, shuffled = explained_three_ways(explainer, list(helpers.images[:5]))
    assert alone == together == shuffled
    assert len(set(alone)) == len(alone)  # each query its own explanation, not one repeated


@pytest.mark.parametrize("as_function", [False, True])
def test_kernels_rounding_per_batch_shape_do_not_reach_the_explanation(as_function):
    module = ShapeRounding().eval()

    def function(images):
        return torch.softmax(module(torch.from_numpy(images)), dim=1).numpy()

    model = function if as_function else module
    options = {} if as_function else {"torch_output": "logits"}
    explainer = ImageExplainer(
        model,
        n_samples=200,
        baseline="zeros",
        segmentation="grid",
        grid_size=(2, 2),
        row_budget=400,
        **options,
    )
    images = list(np.random.default_rng(0).random((3, 4, 4)).astype(np.float32))
    alone, together, shuffled = explained_three_ways(explainer, images)
    assert alone == together == shuffled
    assert len(set(alone)) == len(alone)  # each query its own explanation, not one repeated


def test_unfilled_calls_of_a_shape_rounding_model_would_differ():
    """The check above can fail: the model's outputs do move with the batch size."""
    module = ShapeRounding().eval()
    rows = torch.rand((5, 1, 4, 4), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert not torch.equal(module(rows)[:1], module(rows[:1]))


def scoring_calls(
    rows: list[int], budget: int, check_call: int, probe: int = 3
) -> tuple[list[int], list[int]]:
    """The sample calls (``budget`` rows) and the deletion checks' calls (``check_call``
    rows) after the four probe calls, each of one fixed size."""
    probes, scoring = rows[:4], rows[4:]
    assert probes == [probe] * 3 + [1]  # the output width, then the fingerprint and its checks
    assert set(scoring) <= {budget, check_call}
    return [r for r in scoring if r == budget], [r for r in scoring if r == check_call]


@pytest.mark.parametrize("n_samples", [200, 500])
def test_thirty_digits_take_at_most_the_calls_the_budget_allows(digits, n_samples):
    """With room for four queries per call (the default on a GPU), the samples of 30 digits
    take at most ceil(30 n / budget) calls, and their deletion checks one call per four."""
    model, helpers = digits
    counted = Counted(model).eval()
    budget = shared_row_budget(n_samples, 64)
    assert budget == QUERIES_PER_CALL * n_samples
    explainer = ImageExplainer(
        counted, torch_output="logits", n_samples=n_samples, baseline="zeros", row_budget=budget
    )
    with demo.one_thread():
        explainer.explain_many(list(helpers.images[:30]), n_bootstrap=2)
    per_call = budget // (n_samples - check_rows())  # whole first blocks a call holds
    samples, checks = scoring_calls(counted.rows, budget, per_call * check_rows())
    assert len(samples) <= math.ceil(30 * n_samples / budget) == 8
    assert len(checks) == math.ceil(30 / per_call)  # as many checks per call as queries


def test_on_the_cpu_a_call_holds_one_query_and_one_check(digits):
    model, helpers = digits
    counted = Counted(model).eval()
    explainer = ImageExplainer(counted, torch_output="logits", n_samples=300, baseline="zeros")
    with demo.one_thread():
        explainer.explain_many(list(helpers.images[:3]), n_bootstrap=2)
    block = 300 - check_rows()  # a query's first block: its rows less the deletion check's
    samples, checks = scoring_calls(counted.rows, block, check_rows())
    assert len(samples) == 3 and len(checks) == 3  # n_samples rows per query, nothing filled
    adapter = as_blackbox(counted, torch_output="logits", probe_rows=np.zeros((2, 1, 8, 8)))
    assert default_shared_budget(adapter, 300, 64) == 300  # one query per call on the CPU


def test_thirty_texts_share_calls_the_same_way(sentiment):
    model, helpers = sentiment
    counted = Counted(model).eval()
    budget = QUERIES_PER_CALL * 200
    explainer = TextExplainer(
        counted,
        torch_output="logits",
        to_tensor=helpers.to_tensor,
        n_samples=200,
        row_budget=budget,
    )
    with demo.one_thread():
        explainer.explain_many(list(helpers.texts[:30]), n_bootstrap=2)
    per_call = budget // (200 - check_rows())
    samples, checks = scoring_calls(
        counted.rows,
        budget,
        per_call * check_rows(),
        probe=2,  # two probe texts
    )
    assert len(samples) <= math.ceil(30 * 200 / budget)
    assert len(checks) == math.ceil(30 / per_call)


def test_models_never_filled_share_calls_as_tables_do():
    adapter = as_blackbox(
        lambda rows: np.asarray(rows, dtype=np.float64).mean(axis=(1, 2)),
        mode="regression",
        probe_rows=np.zeros((2, 8, 8)),
    )
    assert not adapter.fixed_shape
    assert default_shared_budget(adapter, 300, 64) == (DEFAULT_ROW_BUDGET // 300) * 300


def test_default_budget_holds_whole_queries_and_cuts_large_images_evenly():
    assert shared_row_budget(2000) == QUERIES_PER_CALL * 2000
    assert shared_row_budget(500, 8 * 8) == QUERIES_PER_CALL * 500
    assert shared_row_budget(1000, 224 * 224 * 3) == 200  # 5 equal calls per query
    assert shared_row_budget(600, 100_000) == 300  # at most 335 rows fit: 2 calls of 300
    assert shared_row_budget(50, 10**9) == 1
