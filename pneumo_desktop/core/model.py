"""The reference study's four-layer CNN, and the inference wrapper that applies a model file.

The network is four conv blocks (3x3 conv, batch norm, ReLU, 2x2 max-pool) and a small head
(global average pool, dropout, linear). Activations are not in-place so that Grad-CAM's tensor
hooks and activation capture see unmodified block outputs.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

DEFAULT_WIDTHS: tuple[int, ...] = (32, 64, 128, 128)


class ConvBlock(nn.Module):
    """conv3x3 -> BatchNorm -> ReLU -> MaxPool(2). Maps (B, C_in, H, W) to (B, C_out, H//2, W//2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU(inplace=False)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.act(self.norm(self.conv(x))))


class FoldedConvBlock(ConvBlock):
    """A ConvBlock after ``fold_batchnorm``: conv (with the folded bias) -> MaxPool(2) -> ReLU.

    ReLU is monotonic, so max-pooling before it gives exactly the same output as after it, and
    the ReLU then touches a quarter of the values. Inference only.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu_(self.pool(self.conv(x)))


class ChestCNN(nn.Module):
    """Four-block CNN for grayscale chest X-rays.

    Input: float32 (B, 1, S, S), normalised with the model file's mean/std.
    Output: logits float32 (B, n_classes).
    """

    def __init__(self, n_classes: int = 2, widths: Sequence[int] = DEFAULT_WIDTHS, dropout: float = 0.3):
        super().__init__()
        if len(widths) != 4:
            raise ValueError("the study's design has exactly four conv blocks")
        if n_classes < 2:
            raise ValueError("a classifier needs at least two classes")
        channels = [1, *widths]
        self.blocks = nn.ModuleList(ConvBlock(channels[i], channels[i + 1]) for i in range(4))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(widths[-1], n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled last-block features, float32 (B, widths[-1])."""
        for block in self.blocks:
            x = block(x)
        return torch.flatten(self.pool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, K), pooled features (B, F)) in one pass."""
        feats = self.features(x)
        return self.head(self.dropout(feats)), feats


def fold_batchnorm(model: ChestCNN) -> ChestCNN:
    """An inference copy of ``model`` with each BatchNorm folded into its conv.

    In eval mode BatchNorm is the per-channel affine map y = (x - mean) / sqrt(var + eps) * g + b,
    so it can be merged into the preceding conv's weights and a new bias: the copy computes the
    same function (to float rounding) with one pass over each activation fewer. The returned
    model is in eval mode and must not be trained.
    """
    folded = copy.deepcopy(model).eval()
    for block in folded.blocks:
        conv, norm = block.conv, block.norm
        if isinstance(norm, nn.Identity):
            continue
        scale = norm.weight.detach() / torch.sqrt(norm.running_var + norm.eps)
        merged = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
        with torch.no_grad():
            merged.weight.copy_(conv.weight.detach() * scale.view(-1, 1, 1, 1))
            bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(scale)
            merged.bias.copy_((bias - norm.running_mean) * scale + norm.bias.detach())
        block.conv, block.norm = merged, nn.Identity()
        block.__class__ = FoldedConvBlock
    return folded.requires_grad_(False)


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU has bfloat16 matrix units (AVX512-BF16 or AMX), where bf16 inference is
    about twice as fast as float32. Elsewhere bf16 is emulated and slower, so we use float32."""
    try:
        return bool(torch.backends.mkldnn.is_available()
                    and (torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()))
    except (AttributeError, RuntimeError):
        return False
