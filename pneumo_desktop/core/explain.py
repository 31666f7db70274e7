"""Grad-CAM heatmaps, activation maps and first-layer filters.

Grad-CAM runs the network's blocks by hand and keeps the last block's pre-pooling activation
as a graph tensor, so no module hooks are registered at all: nothing can leak, and it works the
same from any thread. Gradients are switched on explicitly (``torch.enable_grad``), because a
caller inside ``no_grad`` or ``inference_mode`` would otherwise get no gradient.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .classifier import Classifier
from .model import ChestCNN


def _last_block_activation(member: ChestCNN, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(activation (B, C, h, w) before the last pooling, logits (B, K))."""
    for block in member.blocks[:-1]:
        x = block(x)
    last = member.blocks[-1]
    activation = last.act(last.norm(last.conv(x)))
    pooled = last.pool(activation)
    logits = member.head(torch.flatten(member.pool(pooled), 1))
    return activation, logits


def gradcam(classifier: Classifier, image_u8: np.ndarray, target_class: int | None = None,
            output_size: tuple[int, int] | None = None) -> tuple[np.ndarray, int]:
    """Grad-CAM of one prepared image.

    image_u8: uint8 (S, S) as from ``classifier.prepare``. target_class: class index to explain
    (default: the predicted class). output_size: (height, width) of the returned map (default
    (S, S)). Returns (heatmap float32 (H, W) in [0, 1], explained class index). The map is the
    average over ensemble members of ReLU(sum_c alpha_c A_c), normalised by its maximum.
    """
    x = classifier.to_input(image_u8[None]).contiguous()
    cams = []
    with torch.inference_mode(False), torch.enable_grad():
        x = x.clone().requires_grad_(False)
        if target_class is None:
            with torch.no_grad():
                probs = torch.softmax(sum(m(x) for m in classifier.members), 1)
            target_class = int(probs.argmax(1))
        for member in classifier.members:
            activation, logits = _last_block_activation(member, x)
            (grad,) = torch.autograd.grad(logits[0, target_class], activation)
            weights = grad.mean(dim=(2, 3), keepdim=True)
            cams.append(F.relu((weights * activation).sum(1)).detach()[0])
    cam = torch.stack(cams).mean(0).float().numpy()
    peak = float(cam.max())
    cam = cam / peak if peak > 0 else np.zeros_like(cam)
    h, w = output_size if output_size is not None else image_u8.shape
    resized = Image.fromarray(cam.astype(np.float32), mode="F").resize((w, h), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0), int(target_class)


@torch.inference_mode()
def activation_maps(classifier: Classifier, image_u8: np.ndarray, member: int = 0) -> list[np.ndarray]:
    """Each conv block's output for one image: a list of four float32 (C_i, H_i, W_i) arrays."""
    x = classifier.to_input(image_u8[None])
    maps = []
    for block in classifier.members[member].blocks:
        x = block(x)
        maps.append(x[0].float().contiguous().numpy().copy())
    return maps


def first_layer_filters(classifier: Classifier, member: int = 0) -> np.ndarray:
    """The first block's 3x3 kernels, float32 (C, 3, 3), each scaled to [-1, 1] by its max |w|."""
    weights = classifier.members[member].blocks[0].conv.weight.detach()[:, 0].float().numpy()
    scale = np.abs(weights).reshape(len(weights), -1).max(1).clip(min=1e-12)
    return (weights / scale[:, None, None]).astype(np.float32)
