"""Small torch models trained at run time, to show text and image explanations on a CPU.

* :func:`train_sentiment_gru`: a GRU sentiment classifier on the shipped
  Sentiment Labelled Sentences (``load_sentiment("all")``, 2,000 sentences),
  with a lower-cased word vocabulary. A few seconds on one CPU core.
* :func:`train_digits_cnn`: a two-layer CNN on scikit-learn's 8 x 8 digits
  (1,797 images). A few seconds.

Training is reproducible and leaves every global random state alone: weights
are initialised inside ``torch.random.fork_rng`` (seeded there with
``torch.manual_seed``), and batches are shuffled with a local
``torch.Generator``. Each trainer holds out a fifth of the data (a seeded split)
and reports its accuracy there. Both models are returned in ``eval()`` mode.

:func:`explain_sentence_demo` and :func:`explain_digit_demo` train once per
process (cached) and explain one sentence or digit.

Needs the optional dependency torch (``pip install 'surrogate[torch]'``).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import Interval, check
from ..errors import ParameterError, require

PAD, UNKNOWN = 0, 1
#: the GRU's two outputs, in the order of the dataset's labels (0 negative, 1 positive)
SENTIMENT_CLASSES = ("negative", "positive")
#: the CNN's ten outputs: output k is the digit k (its label in ``load_digits``)
DIGIT_CLASSES = tuple(f"digit {k}" for k in range(10))
_WORD = re.compile(r"\w+(?:['’]\w+)*")


@dataclass(frozen=True)
class TextModelHelpers:
    """What goes with the sentiment GRU: its vocabulary, input hook, data and held-out accuracy."""

    vocabulary: dict[str, int]
    to_tensor: Callable[[Sequence[str], Any, Any], Any]
    texts: list[str]
    labels: np.ndarray
    test_index: np.ndarray
    test_accuracy: float


@dataclass(frozen=True)
class ImageModelHelpers:
    """What goes with the digits CNN: images in [0, 1] as ``(n, 8, 8)``, labels, held-out accuracy."""

    images: np.ndarray
    labels: np.ndarray
    test_index: np.ndarray
    test_accuracy: float


# ---- text ---------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    """Lower-cased words (the explainers' default token pattern)."""
    return [w.lower() for w in _WORD.findall(text)]


def build_vocabulary(texts: Sequence[str], min_count: int = 2) -> dict[str, int]:
    """Words seen at least ``min_count`` times -> ids from 2 (0 pads, 1 is unknown), sorted for stability."""
    counts = Counter(w for t in texts for w in words(t))
    kept = sorted(w for w, c in counts.items() if c >= min_count)
    return {w: i + 2 for i, w in enumerate(kept)}


class TextEncoder:
    """``(texts, device, dtype) -> (n, L) long tensor`` of word ids, right-padded; an empty text is one pad."""

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocabulary = dict(vocabulary)

    def __call__(self, texts: Sequence[str], device: Any = None, dtype: Any = None) -> Any:
        torch = require("torch", "torch")
        ids = [[self.vocabulary.get(w, UNKNOWN) for w in words(t)] for t in texts]
        width = max(1, max((len(row) for row in ids), default=1))
        out = torch.full((len(ids), width), PAD, dtype=torch.long)
        for i, row in enumerate(ids):
            if row:
                out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        return out.to(device) if device is not None else out


def _gru_class() -> type:
    torch = require("torch", "torch")
    nn = torch.nn

    class SentimentGRU(nn.Module):  # type: ignore[name-defined]
        """Embedding -> GRU, read at each text's last word -> linear layer giving 2 logits.

        Every text runs through every time step of the batch and is read at its own last
        word, so padding never reaches its output. Packed sequences would skip the
        padding, but give each step a batch of the texts still running: a text's kernels,
        and the last bits of its output, would then depend on the other texts of the
        batch (measured: beside a one-word text rather than a longer one, 201 of the first
        300 corpus sentences got other logits).
        """

        def __init__(self, vocabulary_size: int, embedding: int = 32, hidden: int = 32) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocabulary_size, embedding, padding_idx=PAD)
            self.gru = nn.GRU(embedding, hidden, batch_first=True)
            self.head = nn.Linear(hidden, 2)

        def forward(self, ids: Any) -> Any:
            lengths = (ids != PAD).sum(dim=1).clamp(min=1)
            steps, _ = self.gru(self.embedding(ids))
            last = steps[torch.arange(len(ids), device=ids.device), lengths - 1]
            return self.head(last)

    return SentimentGRU


def train_sentiment_gru(
    seed: int = 0, *, epochs: int = 6, batch_size: int = 32
) -> tuple[Any, TextModelHelpers]:
    """Train the GRU sentiment classifier; returns ``(model, helpers)``.

    Examples
    --------
    >>> model, helpers = train_sentiment_gru(epochs=1)  # doctest: +SKIP
    >>> model(helpers.to_tensor(["a great film"])).shape  # doctest: +SKIP
    torch.Size([1, 2])
    """
    torch = require("torch", "torch")
    from ..datasets import load_sentiment

    _check_positive(epochs=epochs, batch_size=batch_size)
    texts, y = load_sentiment("all")
    labels = y.to_numpy().copy()
    train, test = _split(len(texts), seed)
    vocabulary = build_vocabulary([texts[i] for i in train])
    encode = TextEncoder(vocabulary)
    inputs = encode(texts)
    with one_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _gru_class()(len(vocabulary) + 2)
        _fit(model, inputs, torch.as_tensor(labels), train, seed, epochs, batch_size, lr=0.01)
    with one_thread():
        accuracy = _accuracy(model, inputs, labels, test)
    return model, TextModelHelpers(vocabulary, encode, list(texts), labels, test, accuracy)


# ---- images --------------------------------------------------------------------------------
def _cnn_class() -> type:
    torch = require("torch", "torch")
    nn = torch.nn

    class DigitsCNN(nn.Module):  # type: ignore[name-defined]
        """Two 3 x 3 convolutions, a 2 x 2 max-pool and a linear layer: 10 logits from a (1, 8, 8) image."""

        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(8, 16, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )
            self.head = nn.Linear(16 * 4 * 4, 10)

        def forward(self, x: Any) -> Any:
            return self.head(self.features(x).flatten(1))

    return DigitsCNN


def train_digits_cnn(
    seed: int = 0, *, epochs: int = 8, batch_size: int = 32
) -> tuple[Any, ImageModelHelpers]:
    """Train the digits CNN; returns ``(model, helpers)``. Images are scaled to [0, 1].

    Examples
    --------
    >>> model, helpers = train_digits_cnn(epochs=1)  # doctest: +SKIP
    >>> helpers.images.shape  # doctest: +SKIP
    (1797, 8, 8)
    """
    torch = require("torch", "torch")
    from sklearn.datasets import load_digits

    _check_positive(epochs=epochs, batch_size=batch_size)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    train, test = _split(len(images), seed)
    inputs = torch.from_numpy(images[:, None].copy())
    with one_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _cnn_class()()
        _fit(model, inputs, torch.as_tensor(labels), train, seed, epochs, batch_size, lr=0.005)
    with one_thread():
        accuracy = _accuracy(model, inputs, labels, test)
    return model, ImageModelHelpers(images, labels, test, accuracy)


# ---- shared training steps ---------------------------------------------------------------------
@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread, restoring the previous count afterwards.

    Models this small gain nothing from several threads, and on a busy machine the
    threads' spin-waiting made training tens of times slower (measured: 0.15 s
    against 13.7 s per GRU epoch on two shared cores).
    """
    torch = require("torch", "torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_positive(**values: Any) -> None:
    for name, value in values.items():
        check(name, value, Interval(int, 1))


def _split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded 80 / 20 split of ``range(n)`` (local generator)."""
    order = np.random.default_rng(np.random.SeedSequence([seed, 20_240_601])).permutation(n)
    cut = int(round(0.8 * n))
    return np.sort(order[:cut]), np.sort(order[cut:])


def _fit(
    model: Any,
    inputs: Any,
    labels: Any,
    train: np.ndarray,
    seed: int,
    epochs: int,
    batch_size: int,
    lr: float,
) -> None:
    """Adam on cross-entropy, batches shuffled by a local torch.Generator; leaves the model in eval mode."""
    torch = require("torch", "torch")
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    index = torch.as_tensor(train)
    model.train()
    for _ in range(epochs):
        for batch in index[torch.randperm(len(index), generator=generator)].split(batch_size):
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(inputs[batch]), labels[batch])
            loss.backward()
            optimiser.step()
    model.eval()


def _accuracy(model: Any, inputs: Any, labels: np.ndarray, test: np.ndarray) -> float:
    torch = require("torch", "torch")
    with torch.inference_mode():
        predicted = model(inputs[torch.as_tensor(test)]).argmax(dim=1).numpy()
    return float((predicted == labels[test]).mean())


# ---- demos ---------------------------------------------------------------------------------------
@functools.cache
def _sentiment_model(seed: int) -> tuple[Any, TextModelHelpers]:
    return train_sentiment_gru(seed)


@functools.cache
def _digits_model(seed: int) -> tuple[Any, ImageModelHelpers]:
    return train_digits_cnn(seed)


def sentence_explainer(seed: int = 0, **options: Any) -> Any:
    """A :class:`~surrogate.TextExplainer` of the (cached) sentiment GRU, positive class.

    Its outputs are named "negative" and "positive" (:data:`SENTIMENT_CLASSES`).
    Explained in log-odds (``link="logit"``) by default: the GRU's probabilities
    saturate near 0 and 1, and on ten held-out sentences the median held-out R^2
    of a 5-term linear surrogate was 0.70 in log-odds against 0.50 in probability.
    """
    from ..explain.masking import TextExplainer

    model, helpers = _sentiment_model(seed)
    options = {"link": "logit", "class_names": SENTIMENT_CLASSES, **options}
    return TextExplainer(model, torch_output="logits", to_tensor=helpers.to_tensor, **options)


def digit_explainer(seed: int = 0, **options: Any) -> Any:
    """An :class:`~surrogate.ImageExplainer` of the (cached) digits CNN, predicted digit.

    Its outputs are named "digit 0" to "digit 9" (:data:`DIGIT_CLASSES`).
    The explainer's defaults, which remove information: one segment per pixel (64),
    masked pixels black (the digits' background), 2,000 model rows, every pixel weighed;
    in log-odds. On 30 held-out digits this scored a FaithfulnessCorrelation of 0.80 in
    log-odds and a pixel-flip AUC of 0.035, as captum Lime did on the same question
    (bench/deep_faithfulness.py); the earlier default, a 4 x 4 grid of cells filled with
    their own mean, scored 0.14.
    """
    from ..explain.masking import ImageExplainer

    model, _ = _digits_model(seed)
    options = {"link": "logit", "class_names": DIGIT_CLASSES, **options}
    return ImageExplainer(model, torch_output="logits", **options)


def explain_sentence_demo(
    text: str, surrogate: str = "linear", *, seed: int = 0, **params: Any
) -> Any:
    """Explain the sentiment GRU's positive class (in log-odds) for ``text``.

    Examples
    --------
    >>> exp = explain_sentence_demo("The food was not good at all.")  # doctest: +SKIP
    >>> exp.top_features(3)  # doctest: +SKIP
    """
    with one_thread():
        return sentence_explainer(seed).explain(text, surrogate, **params)


def explain_digit_demo(
    index: int, surrogate: str = "linear", *, seed: int = 0, **params: Any
) -> Any:
    """Explain the digits CNN's predicted class for image ``index`` of ``load_digits()``.

    Examples
    --------
    >>> exp = explain_digit_demo(0)  # doctest: +SKIP
    >>> exp.segments.shape  # doctest: +SKIP
    (8, 8)
    """
    image = digit_image(index, seed=seed)
    with one_thread():
        return digit_explainer(seed).explain(image, surrogate, **params)


def digit_image(index: int, *, seed: int = 0) -> np.ndarray:
    """Image ``index`` of ``load_digits()`` as the digits CNN sees it: ``(8, 8)`` in [0, 1]."""
    _, helpers = _digits_model(seed)
    if (
        isinstance(index, bool)
        or not isinstance(index, int | np.integer)
        or not 0 <= index < len(helpers.images)
    ):
        raise ParameterError(
            f"index must be an integer in [0, {len(helpers.images)}), got {index!r}."
        )
    return helpers.images[int(index)].copy()  # the cached data set stays as it is
