"""The reference study's four-layer CNN, and the inference wrapper that applies a model file.

The network is four conv blocks (3x3 conv, batch norm, ReLU, 2x2 max-pool) and a small head
(global average pool, dropout, linear). Activations are not in-place so that Grad-CAM's tensor
hooks and activation capture see unmodified block outputs.
"""

from __future__ import annotations

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
