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


def _forward_keeping_last_activation(member: ChestCNN, x: torch.Tensor
                                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run an inference (BatchNorm-folded) member on x (B, 1, S, S).

    Returns (activation (B, C, h, w) of the last block before its pooling, as a leaf that
    requires grad; logits float32 (B, K); pooled features float32 (B, F)). Only the head and
    the last pooling are recorded for autograd: the gradient Grad-CAM needs is that of the
    logits with respect to this activation, so nothing upstream needs a graph.
    """
    with torch.no_grad():
        for block in member.blocks[:-1]:
            x = block(x)
        last = member.blocks[-1]
        pre_pool = last.act(last.norm(last.conv(x)))
    activation = pre_pool.detach().requires_grad_(True)
    feats = torch.flatten(member.pool(last.pool(activation)), 1)
    logits = member.head(member.dropout(feats))
    return activation, logits.float(), feats.float()


def _forward_members(classifier: Classifier, batch_u8: np.ndarray
                     ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    """Every inference member on uint8 (B, S, S): per member, the last block's activation (a
    leaf that requires grad), logits (B, K) and features (B, F). Call it with gradients enabled,
    outside inference mode and under ``classifier.autocast()``."""
    x = classifier.to_input(batch_u8)
    outputs = [_forward_keeping_last_activation(member, x) for member in classifier.inference_members]
    acts, logits, feats = (list(column) for column in zip(*outputs))
    return acts, logits, feats


def _cams_from(activations: list[torch.Tensor], logits: list[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
    """Grad-CAMs float32 (B, h, w), each normalised to [0, 1] by its maximum.

    The map is the average over members of ReLU(sum_c alpha_c A_c), with alpha_c the spatial mean
    of d logit[target] / d A_c. Images are independent in eval mode, so one backward pass of the
    sum of every image's target logit gives every image's gradient at once.
    """
    rows = torch.arange(len(targets))
    objective = sum(member_logits[rows, targets].sum() for member_logits in logits)
    grads = torch.autograd.grad(objective, activations)
    cams = []
    for activation, grad in zip(activations, grads):
        weights = grad.float().mean(dim=(2, 3), keepdim=True)
        cams.append(F.relu((weights * activation.detach().float()).sum(1)))
    cam = torch.stack(cams).mean(0)
    peak = cam.amax(dim=(1, 2), keepdim=True)
    return torch.where(peak > 0, cam / peak.clamp(min=1e-12), torch.zeros_like(cam))


def _resize_map(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    resized = Image.fromarray(cam.astype(np.float32), mode="F").resize((w, h), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def gradcam(classifier: Classifier, image_u8: np.ndarray, target_class: int | None = None,
            output_size: tuple[int, int] | None = None) -> tuple[np.ndarray, int]:
    """Grad-CAM of one prepared image on the last conv block (the centre view; test-time
    shifts are not applied to explanations).

    image_u8: uint8 (S, S) as from ``classifier.prepare``. target_class: class index to explain
    (default: the arg-max class). output_size: (height, width) of the returned map (default
    (S, S)). Returns (heatmap float32 (H, W) in [0, 1], explained class index).
    """
    with torch.inference_mode(False), torch.enable_grad(), classifier.autocast():
        acts, logits, _ = _forward_members(classifier, image_u8[None])
        if target_class is None:
            target_class = int(torch.stack(logits).mean(0).argmax(1)[0])
        cam = _cams_from(acts, logits, torch.tensor([int(target_class)]))[0].numpy()
    return _resize_map(cam, output_size or image_u8.shape), int(target_class)


def predict_with_gradcam(classifier: Classifier, batch_u8: np.ndarray, threshold: float | None = None,
                         output_sizes: list[tuple[int, int]] | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Prediction and the Grad-CAM of the reported label from one forward pass.

    Only for models with a single test-time view (their probabilities are then those of
    ``predict_batch``; with several views use ``predict_batch`` and ``gradcam``).
    batch_u8: uint8 (B, S, S). Returns (calibrated probabilities float64 (B, K), pooled features
    float32 (B, F), decisions int64 (B,), heatmaps: B float32 arrays in [0, 1] at
    ``output_sizes[i]`` (default (S, S))).
    """
    if not classifier.single_view:
        raise ValueError("predict_with_gradcam needs a model with one unshifted view")
    with torch.inference_mode(False), torch.enable_grad(), classifier.autocast():
        acts, logits, feats = _forward_members(classifier, batch_u8)
        mean_logits = torch.stack(logits).mean(0).detach()
        probs = torch.softmax(mean_logits / classifier.temperature, dim=1).double().numpy()
        decisions = classifier.decide(probs, threshold)
        cams = _cams_from(acts, logits, torch.from_numpy(decisions)).numpy()
    features = torch.stack(feats).mean(0).detach().numpy()
    sizes = output_sizes or [batch_u8.shape[1:]] * len(batch_u8)
    return probs, features, decisions, [_resize_map(c, size) for c, size in zip(cams, sizes)]


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
