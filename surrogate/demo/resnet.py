"""A ResNet-18-sized image classifier with seeded random weights, and photographs to feed it.

The network follows the 18-layer residual network of He, Zhang, Ren and Sun,
"Deep Residual Learning for Image Recognition" (CVPR 2016, table 1): a 7 x 7
stride-2 convolution and a 3 x 3 max-pool, four stages of two basic blocks
(two 3 x 3 convolutions each, with batch normalisation and an identity or 1 x 1
projection shortcut) at 64, 128, 256 and 512 channels, global average pooling
and a linear layer to 1,000 classes: 11,689,512 parameters. It is defined here
(torchvision is not a dependency) so that benches can measure what an
explanation costs on a network of realistic size.

The weights are random, drawn from a ``torch.Generator`` seeded by ``seed``:
the network is built on the ``meta`` device (no tensor is initialised, so the
global torch random state is never read) and every tensor is then drawn from
that generator. The same seed gives the same weights, byte for byte
(:func:`weights_digest`). Batch-normalisation statistics are those of a freshly
initialised network (mean 0, variance 1), and the classifier's weights are
scaled so that the logits on the sample photographs spread over a few units
rather than saturating the softmax.

:func:`sample_photographs` cuts square crops out of the two photographs that
scikit-learn ships (``sklearn.datasets.load_sample_images``) as ``(n, 224, 224, 3)``
float32 images in [0, 1].

Needs the optional dependency torch (``pip install 'surrogate[torch]'``).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from .._validation import Interval, check
from ..errors import require

#: channels of the four stages, and their first block's stride
STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))
N_CLASSES = 1000
IMAGE_SIDE = 224
#: standard deviation of the classifier's weights: logits of a few units on the photographs
CLASSIFIER_STD = 0.01


def _resnet_class() -> type:
    torch = require("torch", "torch")
    nn = torch.nn

    class BasicBlock(nn.Module):  # type: ignore[name-defined]
        """Two 3 x 3 convolutions with batch norm; the input added back (projected when the shape changes)."""

        def __init__(self, channels_in: int, channels: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(channels_in, channels, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)
            self.shortcut = (
                nn.Sequential(
                    nn.Conv2d(channels_in, channels, 1, stride, bias=False),
                    nn.BatchNorm2d(channels),
                )
                if stride != 1 or channels_in != channels
                else nn.Identity()
            )

        def forward(self, x: Any) -> Any:
            out = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))

    class ResNet18(nn.Module):  # type: ignore[name-defined]
        """(n, 3, H, W) images -> (n, 1000) logits."""

        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, 64, 7, 2, 3, bias=False),
                nn.BatchNorm2d(64),
                nn.ReLU(),
                nn.MaxPool2d(3, 2, 1),
            )
            blocks, channels_in = [], 64
            for channels, stride in STAGES:
                blocks += [
                    BasicBlock(channels_in, channels, stride),
                    BasicBlock(channels, channels, 1),
                ]
                channels_in = channels
            self.blocks = nn.Sequential(*blocks)
            self.head = nn.Linear(channels_in, N_CLASSES)

        def forward(self, x: Any) -> Any:
            features = self.blocks(self.stem(x))
            return self.head(features.mean(dim=(2, 3)))

    return ResNet18


def build_resnet18(seed: int = 0) -> Any:
    """The ResNet-18-sized classifier with weights drawn from ``torch.Generator().manual_seed(seed)``,
    in ``eval()`` mode, on the CPU, in float32.

    Convolutions get He-normal weights (fan-out, as for ReLU networks), batch norms
    scale 1, shift 0 and fresh statistics, the classifier normal weights of standard
    deviation :data:`CLASSIFIER_STD` and zero bias.

    Examples
    --------
    >>> model = build_resnet18(seed=0)  # doctest: +SKIP
    >>> sum(p.numel() for p in model.parameters())  # doctest: +SKIP
    11689512
    """
    torch = require("torch", "torch")
    check("seed", seed, Interval(int, 0))
    with torch.device("meta"):  # shapes only: nothing is drawn from the global generator
        model = _resnet_class()()
    model = model.to_empty(device="cpu")
    _draw_weights(model, torch.Generator().manual_seed(seed))
    return model.eval()


def _draw_weights(model: Any, generator: Any) -> None:
    """Every parameter and buffer of ``model`` set from ``generator`` (or to a constant), in module order."""
    torch = require("torch", "torch")
    nn = torch.nn
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
                module.weight.normal_(0.0, math.sqrt(2.0 / fan_out), generator=generator)
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.fill_(1.0)
                module.bias.zero_()
                module.running_mean.zero_()
                module.running_var.fill_(1.0)
                module.num_batches_tracked.zero_()
            elif isinstance(module, nn.Linear):
                module.weight.normal_(0.0, CLASSIFIER_STD, generator=generator)
                module.bias.zero_()


def weights_digest(model: Any) -> str:
    """SHA-256 over every parameter and buffer (name, shape, bytes), in the module's order."""
    digest = hashlib.sha256()
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def sample_photographs(n: int = 2, side: int = IMAGE_SIDE) -> np.ndarray:
    """``n`` square crops of ``side`` pixels from scikit-learn's two sample photographs,
    as float32 ``(n, side, side, 3)`` in [0, 1].

    Crops alternate between the photographs (china.jpg, flower.jpg, 427 x 640 each)
    and walk along a fixed path over each: the first two are the central crops.

    Examples
    --------
    >>> sample_photographs(2).shape  # doctest: +SKIP
    (2, 224, 224, 3)
    """
    from sklearn.datasets import load_sample_images

    check("n", n, Interval(int, 1))
    check("side", side, Interval(int, 8, 427))
    photographs = load_sample_images().images
    crops = []
    for k in range(n):
        photo = photographs[k % len(photographs)]
        top, left = _crop_corner(k // len(photographs), photo.shape[:2], side)
        crops.append(photo[top : top + side, left : left + side])
    return (np.stack(crops).astype(np.float32) / 255.0).astype(np.float32)


def _crop_corner(step: int, shape: tuple[int, int], side: int) -> tuple[int, int]:
    """Top-left corner of the ``step``-th crop: the centre first, then a walk of
    fixed strides across the photograph (wrapping), so that every step gives a new crop."""
    height, width = shape
    spare_h, spare_w = height - side, width - side
    top = (spare_h // 2 + step * 61) % (spare_h + 1)
    left = (spare_w // 2 + step * 97) % (spare_w + 1)
    return top, left
