"""The ResNet-18-sized demo network: its size, seeded weights built twice alike without
touching the global torch generator, and the photographs it is fed."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from surrogate.demo.resnet import (  # noqa: E402  (needs torch)
    build_resnet18,
    sample_photographs,
    weights_digest,
)
from surrogate.errors import ParameterError  # noqa: E402


@pytest.fixture(scope="module")
def network():
    return build_resnet18(seed=0)


def test_the_network_has_resnet18s_size_and_is_ready_to_score(network):
    assert sum(p.numel() for p in network.parameters()) == 11_689_512
    assert not network.training
    with torch.inference_mode():
        logits = network(torch.zeros((1, 3, 64, 64)))
    assert logits.shape == (1, 1000)


def test_the_same_seed_builds_the_same_weights_and_leaves_the_global_generator_alone(network):
    state = torch.random.get_rng_state().clone()
    again = build_resnet18(seed=0)
    assert torch.equal(state, torch.random.get_rng_state())
    assert weights_digest(again) == weights_digest(network)
    assert weights_digest(build_resnet18(seed=1)) != weights_digest(network)


def test_photograph_crops_are_224_pixel_rgb_in_the_unit_interval():
    crops = sample_photographs(3)
    assert crops.shape == (3, 224, 224, 3) and crops.dtype == np.float32
    assert 0.0 <= crops.min() and crops.max() <= 1.0
    assert len({crop.tobytes() for crop in crops}) == 3  # every crop its own
    np.testing.assert_array_equal(sample_photographs(1)[0], crops[0])


def test_bad_arguments_are_named():
    with pytest.raises(ParameterError, match="seed"):
        build_resnet18(seed=-1)
    with pytest.raises(ParameterError, match="n"):
        sample_photographs(0)
