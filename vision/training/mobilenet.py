"""MobileNetV2 (width 1.0) in PyTorch, shaped like the int8 ONNX Model Zoo model it is loaded from.

The source model has BatchNorm folded into its convolutions, so every convolution here carries a
bias and there is no BatchNorm at all: the converted weights are then exactly the dequantised
int8 weights, and fine-tuning a folded network (no batch statistics) behaves the same with the
small batches of a 2-core CPU as with large ones.

The network is split where training splits it: :class:`MobileNetV2` ``.features`` is the list of
19 stages as in the reference implementation (stem, 17 inverted-residual blocks, final 1×1 conv);
:func:`split_point` says where the frozen trunk ends and the fine-tuned tail begins.
:class:`GroceryNet` puts the two parts and the two heads (L2-normalised embedding, cosine
classifier) together; it is what is exported to ONNX.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

# (expansion t, output channels c, repeats n, first stride s): Sandler et al. 2018, table 2.
INVERTED_RESIDUAL_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM_CHANNELS = 32
FEATURE_CHANNELS = 1280
IMAGENET_CLASSES = 1000
STAGES = 19  # stem + 17 blocks + final conv


class ConvReLU6(nn.Sequential):
    """Convolution with bias (BatchNorm folded) followed by ReLU6, or no activation."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int = 1,
        *,
        groups: int = 1,
        act: bool = True,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=True)
        ]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """Expand (1×1) → depthwise (3×3) → project (1×1, linear), with a skip when shapes allow."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = c_in * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(ConvReLU6(c_in, hidden, 1))
        layers += [
            ConvReLU6(hidden, hidden, 3, stride, groups=hidden),
            ConvReLU6(hidden, c_out, 1, act=False),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.conv(x)
        return x + out if self.residual else out


class MobileNetV2(nn.Module):
    """The ImageNet network: ``features`` (19 stages) → global average pool → ``classifier``."""

    def __init__(self, num_classes: int = IMAGENET_CLASSES) -> None:
        super().__init__()
        stages: list[nn.Module] = [ConvReLU6(3, STEM_CHANNELS, 3, 2)]
        c_in = STEM_CHANNELS
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            for i in range(n):
                stages.append(InvertedResidual(c_in, c, s if i == 0 else 1, t))
                c_in = c
        stages.append(ConvReLU6(c_in, FEATURE_CHANNELS, 1))
        self.features = nn.Sequential(*stages)
        self.classifier = nn.Linear(FEATURE_CHANNELS, num_classes)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The 1280-d globally averaged feature."""
        return torch.flatten(functional.adaptive_avg_pool2d(self.features(x), 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.classifier(self.pooled(x))
        return out


def convolutions(model: nn.Module) -> list[nn.Conv2d]:
    """Every convolution in execution order (the order of the source graph's QLinearConv)."""
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def split_point(trainable_blocks: int) -> int:
    """Index of the first fine-tuned stage when the last ``trainable_blocks`` inverted-residual
    blocks (plus the final 1×1 conv, always trained) are fine-tuned."""
    if not 0 <= trainable_blocks <= STAGES - 2:
        raise ValueError(f"trainable_blocks must lie in [0, {STAGES - 2}]")
    return STAGES - 1 - trainable_blocks


def trunk_channels(split: int) -> int:
    """Channels of the trunk's output (the cached feature map) for a split index."""
    channels = STEM_CHANNELS
    index = 1
    for _t, c, n, _s in INVERTED_RESIDUAL_SETTING:
        for _ in range(n):
            if index >= split:
                return channels
            channels = c
            index += 1
    return channels


class GroceryNet(nn.Module):
    """Trunk + tail of MobileNetV2, with an embedding head and a cosine classifier.

    ``embedding = normalise(W_e · pooled)``; ``logits = scale · normalise(W_c) · embedding``: the
    class weights live on the same sphere as the gallery's reference embeddings, so a class
    weight is in effect a learned prototype, and cosine similarities between embeddings mean the
    same thing for trained and for newly enrolled products. ``scale`` is learned (it sets how
    peaked training softmax is); calibration later fits a separate temperature on val.
    """

    def __init__(
        self, trunk: nn.Sequential, tail: nn.Sequential, embedding_dim: int, num_classes: int
    ) -> None:
        super().__init__()
        self.trunk = trunk
        self.tail = tail
        self.dropout = nn.Dropout(0.2)
        self.embed = nn.Linear(FEATURE_CHANNELS, embedding_dim)
        self.class_weights = nn.Parameter(torch.randn(num_classes, embedding_dim) * 0.01)
        self.log_scale = nn.Parameter(torch.tensor(float(torch.log(torch.tensor(16.0)))))

    def head(self, trunk_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(embedding, logits) from the trunk's feature map (what training runs on the cache)."""
        pooled = torch.flatten(functional.adaptive_avg_pool2d(self.tail(trunk_features), 1), 1)
        embedding = functional.normalize(self.embed(self.dropout(pooled)), dim=1, eps=1e-12)
        weights = functional.normalize(self.class_weights, dim=1, eps=1e-12)
        logits = self.log_scale.exp() * embedding @ weights.t()
        return embedding, logits

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.trunk(x))


def grocery_net(
    base: MobileNetV2, trainable_blocks: int, embedding_dim: int, num_classes: int
) -> GroceryNet:
    """A :class:`GroceryNet` sharing ``base``'s converted stages, split for fine-tuning."""
    split = split_point(trainable_blocks)
    stages = list(base.features.children())
    return GroceryNet(
        nn.Sequential(*stages[:split]), nn.Sequential(*stages[split:]), embedding_dim, num_classes
    )
