"""The chest X-ray detector: the gate's third stage, a small CNN that tells frontal chest
radiographs from every other kind of image.

Why it exists: after histogram equalisation every image has the same intensity histogram, and
a network trained only to tell normal from pneumonia has no reason to encode "this is a chest".
Grayscale photographs, MRI slices and terrain maps passed the image statistics and the feature
distance and got verdicts (docs/experiments.md, G1). This detector is trained for that one
question.

* **Positives**: the model's own training images (raw, at the model's input size), with strong
  acquisition augmentation, so real X-rays from other machines stay positive.
* **Negatives**, generated afresh for every batch from seeded random numbers and from the
  positives themselves; no outside data: smooth random fields, "dead leaves" (overlapping
  random discs, a standard model of natural-image statistics), rectangles on gradients,
  gratings, mosaics of four X-rays, X-rays rotated by 90° or 270°, upside down, inverted, or
  cut down to a small patch, textured ovals on a dark background (as CT or MRI slices look) and
  speckled fans (as ultrasound images look).
* **Real films of other hospitals** (optional, ``outside_u8``): adult, portable, supine films with
  lines, tubes and markers, drawn for half of each batch's positives, so the detector learns what
  a chest film is rather than what one hospital's films look like.
* **Lateral views** (optional, ``lateral_u8``): a third class, so a lateral film is refused with
  its own reason ("lateral view: this model reads frontal films only").
* **Input**: what the classifier sees (the prepared uint8 image), shrunk to ``DETECTOR_SIZE``
  px by area averaging and histogram-equalised again, so the detector reads layout, not
  exposure or fine texture.

It is stored in the model file (tensors ``detector.*``, metadata ``detector``) and refuses an
image when its P(not a chest X-ray) is at least ``meta["refuse_at"]``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .errors import ModelFileError
from .model import ChestCNN, fold_batchnorm
from .modelfile import DETECTOR_INPUT_SIZE
from .batch_transforms import AugmentConfig, acquire_batch, augment_batch, equalise_batch
from .stress import STRESSES, apply_stress

DETECTOR_SIZE = DETECTOR_INPUT_SIZE
DETECTOR_WIDTHS = (8, 16, 32, 64)
REFUSE_AT = 0.5
#: The detector's outputs, in order. Files made before lateral views were a class of their own
#: have the first two only.
FRONTAL, NOT_XRAY, LATERAL = 0, 1, 2
CLASSES_WITH_LATERAL = ["frontal chest X-ray", "not a chest X-ray", "lateral chest X-ray"]
CLASSES_WITHOUT_LATERAL = CLASSES_WITH_LATERAL[:2]
LATERAL_MESSAGE = "lateral view: this model reads frontal films only"
#: Share of each batch's positives drawn from real films of other hospitals, when given: half,
#: whatever their number, so that a few hundred outside films weigh as much as the home split.
OUTSIDE_SHARE = 0.5
#: Lateral views per batch, as a share of the positives.
LATERAL_SHARE = 0.25
# Equalised images are close to uniform on [0, 1]: mean 0.5, standard deviation 1/sqrt(12).
_MEAN, _STD = 0.5, 0.29

#: Strong acquisition changes for the positives: wider than the classifier's own augmentation,
#: because the detector must accept any real chest X-ray, however it was taken.
POSITIVE_AUGMENTATION = AugmentConfig(
    rotation_deg=15.0, scale_min=0.7, scale_max=1.35, shift_frac=0.1, aspect_max=1.3,
    gamma_min=0.7, gamma_max=1.4, contrast=0.3, brightness=0.1, blur_prob=0.5, blur_sigma_max=2.0,
    noise_std=0.03, haze_prob=0.3, haze_max=0.8, raw_noise_std=0.05,
)
#: Light geometry and intensity changes for the generated negatives.
NEGATIVE_AUGMENTATION = AugmentConfig(rotation_deg=15.0, scale_min=0.8, scale_max=1.25)

# A small training folder still gets this many updates per epoch (its images are cycled).
MIN_STEPS_PER_EPOCH = 24
PEAK_LEARNING_RATE = 3e-3  # reached after a linear warm-up over the first tenth of the steps, then cosine decay

NEGATIVE_KINDS = ("smooth field", "dead leaves", "shapes", "grating", "changed x-ray", "mosaic",
                  "cross-section", "sector scan")


# ----- input --------------------------------------------------------------------------------------
def detector_input(prepared_u8: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (B, S, S) images as the classifier sees them -> float32 (B, 1, 64, 64), normalised."""
    x = torch.as_tensor(prepared_u8).to(torch.float32).unsqueeze(1)
    if x.shape[-1] != DETECTOR_SIZE or x.shape[-2] != DETECTOR_SIZE:
        x = F.interpolate(x, size=(DETECTOR_SIZE, DETECTOR_SIZE), mode="area")
    small = torch.round(x.squeeze(1)).clamp(0, 255).to(torch.uint8)
    equalised = equalise_batch(small, "hist").to(torch.float32) / 255.0
    return ((equalised - _MEAN) / _STD).unsqueeze(1).contiguous()


# ----- negatives ----------------------------------------------------------------------------------
def _uniform(n: int, lo: float, hi: float, generator: torch.Generator) -> torch.Tensor:
    return (lo + (hi - lo) * torch.rand(n, generator=generator)).view(n, 1, 1, 1)


def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")


def _smooth_field(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """Sums of upsampled random noise over five octaves: clouds, terrain, soft textures."""
    x = torch.zeros(n, 1, size, size)
    for octave in range(1, 6):
        side = 2 ** octave
        noise = torch.randn(n, 1, side, side, generator=g)
        x += F.interpolate(noise, size=(size, size), mode="bicubic", align_corners=False) \
            * _uniform(n, 0.0, 1.0, g) / octave
    return x


def _dead_leaves(n: int, size: int, g: torch.Generator, discs: int = 60) -> torch.Tensor:
    """Overlapping opaque ellipses of random size and grey level, drawn one over another."""
    yy, xx = _grid(size)
    x = torch.rand(n, 1, 1, 1, generator=g).expand(n, 1, size, size).clone()
    for _ in range(discs):
        cx, cy = _uniform(n, -0.1, 1.1, g), _uniform(n, -0.1, 1.1, g)
        radius = _uniform(n, 0.02, 0.35, g) ** 1.5
        stretch = _uniform(n, 0.5, 2.0, g)
        inside = ((xx - cx) ** 2 * stretch + (yy - cy) ** 2 / stretch) < radius ** 2
        x = torch.where(inside, _uniform(n, 0.0, 1.0, g), x)
    return x


def _shapes(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """Rectangles of random grey levels on a linear gradient: graphics, documents, screens."""
    yy, xx = _grid(size)
    angle = _uniform(n, 0.0, 2 * math.pi, g)
    x = (torch.cos(angle) * xx + torch.sin(angle) * yy) * _uniform(n, 0.0, 1.0, g) + _uniform(n, 0.0, 0.5, g)
    for _ in range(8):
        x0, y0 = _uniform(n, 0.0, 1.0, g), _uniform(n, 0.0, 1.0, g)
        w, h = _uniform(n, 0.05, 0.5, g), _uniform(n, 0.05, 0.5, g)
        inside = ((xx - x0).abs() < w / 2) & ((yy - y0).abs() < h / 2)
        x = torch.where(inside, _uniform(n, 0.0, 1.0, g), x)
    return x


def _grating(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """Sinusoidal gratings of random frequency and orientation."""
    yy, xx = _grid(size)
    frequency, angle = _uniform(n, 1.0, 12.0, g), _uniform(n, 0.0, math.pi, g)
    return 0.5 + 0.5 * torch.sin(2 * math.pi * frequency * (torch.cos(angle) * xx + torch.sin(angle) * yy))


def _texture(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """A textured fill in [0, 1]: a smooth field or dead leaves, half and half."""
    field = _smooth_field(n, size, g)
    lo, hi = field.amin((2, 3), keepdim=True), field.amax((2, 3), keepdim=True)
    field = (field - lo) / (hi - lo + 1e-6)
    leaves = _dead_leaves(n, size, g, discs=30)
    return torch.where(torch.rand(n, 1, 1, 1, generator=g) < 0.5, field, leaves)


def _cross_section(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """A textured oval with a bright rim of random width on a dark background, as CT and MRI
    slices, microscopy and photographs of single objects look."""
    yy, xx = _grid(size)
    cx, cy = _uniform(n, 0.35, 0.65, g), _uniform(n, 0.35, 0.65, g)
    rx, ry = _uniform(n, 0.2, 0.48, g), _uniform(n, 0.2, 0.48, g)
    r = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    inside = r < 1.0
    rim = inside & (r > (1.0 - _uniform(n, 0.0, 0.15, g)) ** 2)
    x = torch.where(inside, 0.2 + 0.8 * _texture(n, size, g), _uniform(n, 0.0, 0.1, g))
    return torch.where(rim, _uniform(n, 0.6, 1.0, g), x)


def _sector_scan(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """A fan of speckled texture on black with its apex near the top edge, as an ultrasound image."""
    yy, xx = _grid(size)
    ax, ay = _uniform(n, 0.4, 0.6, g), _uniform(n, -0.15, 0.05, g)
    angle = torch.atan2(xx - ax, yy - ay)
    radius = torch.sqrt((xx - ax) ** 2 + (yy - ay) ** 2)
    inside = (angle.abs() < _uniform(n, 0.4, 0.9, g)) & (radius > _uniform(n, 0.0, 0.2, g)) \
        & (radius < _uniform(n, 0.7, 1.1, g))
    speckle = _texture(n, size, g) * -torch.log(torch.rand(n, 1, size, size, generator=g).clamp(min=1e-6))
    return torch.where(inside, speckle.clamp(0.0, 3.0) / 3.0, torch.zeros(1))


def _changed_xray(xrays: torch.Tensor, n: int, g: torch.Generator) -> torch.Tensor:
    """Real X-rays that are no longer a frontal chest view as the model knows it: rotated by 90°
    or 270°, upside down, inverted, or cut down to a small patch and blown up."""
    size = xrays.shape[-1]
    x = xrays[torch.randint(len(xrays), (n,), generator=g)].to(torch.float32).unsqueeze(1) / 255.0
    kind = torch.randint(5, (n,), generator=g)
    out = x.clone()
    out[kind == 0] = torch.rot90(x[kind == 0], 1, (2, 3))
    out[kind == 1] = torch.rot90(x[kind == 1], 3, (2, 3))
    out[kind == 2] = torch.flip(x[kind == 2], (2,))
    out[kind == 3] = 1.0 - x[kind == 3]
    patch = kind == 4
    k = int(patch.sum())
    if k:
        scale = 0.2 + 0.25 * torch.rand(k, generator=g)
        theta = torch.zeros(k, 2, 3)
        theta[:, 0, 0] = theta[:, 1, 1] = scale
        theta[:, 0, 2] = (2 * torch.rand(k, generator=g) - 1) * (1 - scale)
        theta[:, 1, 2] = (2 * torch.rand(k, generator=g) - 1) * (1 - scale)
        grid = F.affine_grid(theta, [k, 1, size, size], align_corners=False)
        out[patch] = F.grid_sample(x[patch], grid, mode="bilinear", align_corners=False)
    return out


def _mosaic(xrays: torch.Tensor, n: int, g: torch.Generator) -> torch.Tensor:
    """Four X-rays at half size in a 2x2 grid (a contact sheet or a screenshot of a viewer)."""
    size = xrays.shape[-1]
    half = size // 2
    x = xrays[torch.randint(len(xrays), (n * 4,), generator=g)].to(torch.float32).unsqueeze(1) / 255.0
    small = F.interpolate(x, size=(half, half), mode="area").view(n, 4, half, half)
    top = torch.cat([small[:, 0], small[:, 1]], 2)
    bottom = torch.cat([small[:, 2], small[:, 3]], 2)
    tiled = torch.cat([top, bottom], 1).unsqueeze(1)
    return F.interpolate(tiled, size=(size, size), mode="bilinear", align_corners=False)


def generate_negatives(xrays_u8: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` images that are not frontal chest X-rays, in equal shares of ``NEGATIVE_KINDS``.

    xrays_u8: uint8 (N, S, S) raw chest X-rays (the changed X-rays and mosaics are made from
    them). Returns uint8 (n, S, S), each image stretched to the full range, with a little noise.
    """
    size = xrays_u8.shape[-1]
    makers = [
        lambda k: _smooth_field(k, size, generator),
        lambda k: _dead_leaves(k, size, generator),
        lambda k: _shapes(k, size, generator),
        lambda k: _grating(k, size, generator),
        lambda k: _changed_xray(xrays_u8, k, generator),
        lambda k: _mosaic(xrays_u8, k, generator),
        lambda k: _cross_section(k, size, generator),
        lambda k: _sector_scan(k, size, generator),
    ]
    shares = [n // len(makers)] * len(makers)
    for i in range(n - sum(shares)):
        shares[i] += 1
    parts = []
    for make, k in zip(makers, shares):
        if k == 0:
            continue
        x = make(k)
        lo, hi = x.amin((2, 3), keepdim=True), x.amax((2, 3), keepdim=True)
        parts.append((x - lo) / (hi - lo + 1e-6))
    x = torch.cat(parts)
    x = x + _uniform(len(x), 0.0, 0.03, generator) * torch.randn(x.shape, generator=generator)
    return torch.round(x.clamp(0.0, 1.0).squeeze(1) * 255.0).to(torch.uint8)


# ----- training -----------------------------------------------------------------------------------
def _as_prepared(batch: torch.Tensor, equalise: str) -> torch.Tensor:
    """float32 [0, 1] or uint8 (B, S, S) -> uint8 (B, S, S) as ``Classifier.prepare`` makes them."""
    if batch.dtype != torch.uint8:
        batch = torch.round(batch.clamp(0.0, 1.0) * 255.0).to(torch.uint8)
    return equalise_batch(batch, equalise)


def add_devices(raw_u8: torch.Tensor, g: torch.Generator, share: float = 0.5) -> torch.Tensor:
    """uint8 (B, S, S) chest films -> uint8 (B, S, S) with, on ``share`` of them, what bedside and
    intensive-care films carry: radiopaque tubes and lines (bright curves entering from an edge),
    ECG electrodes (bright discs) and side markers or text (bright blocks near a corner)."""
    out = raw_u8.clone()
    b, size = out.shape[0], out.shape[-1]
    chosen = torch.nonzero(torch.rand(b, generator=g) < share).flatten().tolist()
    t = torch.linspace(0, 1, 4 * size).view(-1, 1)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    for i in chosen:
        image = out[i].to(torch.float32)
        level = float(torch.quantile(image, 0.98))
        # Tubes and lines: quadratic curves from a point on an edge to a point inside the chest.
        for _ in range(int(torch.randint(0, 4, (1,), generator=g))):
            start = torch.rand(2, generator=g) * (size - 1)
            start[int(torch.randint(2, (1,), generator=g))] = float(torch.randint(2, (1,), generator=g)) * (size - 1)
            end = (0.25 + 0.5 * torch.rand(2, generator=g)) * (size - 1)
            bend = torch.rand(2, generator=g) * (size - 1)
            points = (1 - t) ** 2 * start + 2 * (1 - t) * t * bend + t ** 2 * end
            width = int(torch.randint(1, 3, (1,), generator=g))
            brightness = level * (0.8 + 0.2 * float(torch.rand(1, generator=g)))
            for dy in range(width):
                for dx in range(width):
                    rows = (points[:, 0].round().long() + dy).clamp(0, size - 1)
                    cols = (points[:, 1].round().long() + dx).clamp(0, size - 1)
                    image[rows, cols] = brightness
        # Electrodes: small bright discs.
        for _ in range(int(torch.randint(0, 5, (1,), generator=g))):
            cy, cx = (torch.rand(2, generator=g) * (size - 1)).tolist()
            radius = 1.5 + 2.5 * float(torch.rand(1, generator=g))
            image[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = level
        # A side marker or a line of text: a bright block, often hollow, near a corner.
        if float(torch.rand(1, generator=g)) < 0.6:
            h, w = int(torch.randint(4, size // 10, (1,), generator=g)), int(torch.randint(6, size // 5, (1,), generator=g))
            top = int(torch.randint(0, size // 6, (1,), generator=g))
            left = int(torch.randint(0, size // 6, (1,), generator=g))
            if float(torch.rand(1, generator=g)) < 0.5:
                top = size - h - top
            if float(torch.rand(1, generator=g)) < 0.5:
                left = size - w - left
            block = image[top:top + h, left:left + w]
            pattern = torch.rand(block.shape, generator=g) < 0.5
            image[top:top + h, left:left + w] = torch.where(pattern, torch.full_like(block, level), block)
        out[i] = image.round().clamp(0, 255).to(torch.uint8)
    return out


def _mix_in_outside(home_u8: torch.Tensor, outside: dict[str, torch.Tensor], g: torch.Generator) -> torch.Tensor:
    """uint8 (B, S, S) home films -> uint8 (B, S, S) with ``OUTSIDE_SHARE`` of the rows replaced
    by films drawn from ``outside`` (a source chosen uniformly, then a film within it)."""
    out = home_u8.clone()
    n = round(OUTSIDE_SHARE * len(out))
    if n == 0:
        return out
    names = sorted(outside)
    source = torch.randint(len(names), (n,), generator=g)
    for k, name in enumerate(names):
        rows = torch.nonzero(source == k).flatten()
        if len(rows):
            out[rows] = outside[name][torch.randint(len(outside[name]), (len(rows),), generator=g)]
    return out


@dataclass(frozen=True)
class DetectorStep:
    """A progress step of ``train_detector``: epoch ``epoch`` (1-based) of ``epochs`` done, with
    its mean training loss; or, with ``epoch`` 0 and no loss, the final check on the validation
    split. ``str()`` gives the English line the CLI prints."""

    epoch: int
    epochs: int
    loss: float | None = None

    @property
    def is_check(self) -> bool:
        return self.epoch == 0

    def __str__(self) -> str:
        if self.is_check:
            return "checking the validation split"
        return f"epoch {self.epoch}/{self.epochs}, loss {self.loss:.4f}"


def train_detector(raw_train_u8: torch.Tensor, raw_val_u8: torch.Tensor, equalise: str, epochs: int, seed: int,
                   batch_size: int = 128, outside_u8: dict[str, torch.Tensor] | None = None,
                   lateral_u8: torch.Tensor | None = None, devices: bool = False,
                   ) -> Generator[DetectorStep, None, tuple[dict[str, torch.Tensor], dict]]:
    """Train the detector; a generator that yields a ``DetectorStep`` per epoch and one for the
    final check, and returns (tensors for the model file, metadata). Closing it stops the training.

    raw_train_u8, raw_val_u8: uint8 (N, S, S) un-equalised images at the model's input size;
    ``equalise``: the model's equalisation mode, applied as in prediction.
    outside_u8: optional real frontal chest films of other hospitals, by source name, uint8
    (N_k, S, S) un-equalised: more positives, drawn for ``OUTSIDE_SHARE`` of each batch's positives
    (each source equally often) so that portable, adult and device-laden films count as chest
    films. lateral_u8: optional lateral chest views, uint8 (N, S, S): with them the detector has a
    third class, so a lateral view is refused as a lateral view, not as "not a chest X-ray".
    devices: draw tubes, lines, electrodes and markers on half of the positives (``add_devices``),
    as bedside films carry them. Without these three, training is exactly that of earlier versions.
    """
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(20_000 + seed)
    torch.manual_seed(20_000 + seed)
    outside = {name: images for name, images in (outside_u8 or {}).items() if len(images)}
    has_lateral = lateral_u8 is not None and len(lateral_u8) > 0
    classes = CLASSES_WITH_LATERAL if has_lateral else CLASSES_WITHOUT_LATERAL
    model = ChestCNN(len(classes), DETECTOR_WIDTHS, dropout=0.2)
    optimiser = torch.optim.AdamW(model.parameters(), lr=PEAK_LEARNING_RATE, weight_decay=1e-4)
    half = max(1, batch_size // 2)
    steps_per_epoch = max(MIN_STEPS_PER_EPOCH, math.ceil(len(raw_train_u8) / half))
    per_epoch = steps_per_epoch * half
    total = epochs * steps_per_epoch
    warmup = max(1, total // 10)
    step = 0
    for epoch in range(epochs):
        model.train()
        rounds = math.ceil(per_epoch / len(raw_train_u8))
        order = torch.cat([torch.randperm(len(raw_train_u8), generator=generator) for _ in range(rounds)])
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            lr = PEAK_LEARNING_RATE * (step + 1) / warmup if step < warmup else \
                PEAK_LEARNING_RATE * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
            for group in optimiser.param_groups:
                group["lr"] = lr
            idx = order[b * half:(b + 1) * half]
            raw_positives = raw_train_u8[idx]
            if outside:
                raw_positives = _mix_in_outside(raw_positives, outside, generator)
            if devices:
                raw_positives = add_devices(raw_positives, generator)
            positives = acquire_batch(raw_positives, POSITIVE_AUGMENTATION, generator)
            positives = augment_batch(positives, POSITIVE_AUGMENTATION, generator)
            negatives = generate_negatives(raw_train_u8, len(idx), generator)
            negatives = augment_batch(negatives, NEGATIVE_AUGMENTATION, generator)
            parts = [_as_prepared(positives, equalise), _as_prepared(negatives, equalise)]
            labels = [torch.full((len(idx),), FRONTAL), torch.full((len(idx),), NOT_XRAY)]
            if has_lateral:
                n_lateral = max(1, round(LATERAL_SHARE * len(idx)))
                pick = torch.randint(len(lateral_u8), (n_lateral,), generator=generator)
                laterals = acquire_batch(lateral_u8[pick], POSITIVE_AUGMENTATION, generator)
                # Either side may face the detector: a left and a right lateral are mirror images.
                flip = torch.rand(n_lateral, generator=generator) < 0.5
                laterals = torch.where(flip.view(-1, 1, 1), torch.flip(laterals, (2,)), laterals)
                laterals = augment_batch(laterals, POSITIVE_AUGMENTATION, generator)
                parts.append(_as_prepared(laterals, equalise))
                labels.append(torch.full((n_lateral,), LATERAL))
            x = detector_input(torch.cat(parts))
            y = torch.cat(labels).long()
            loss = F.cross_entropy(model(x), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            loss_sum += loss.item()
            step += 1
        yield DetectorStep(epoch + 1, epochs, loss_sum / steps_per_epoch)
    model.eval()
    tensors = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    detector = XrayDetector(tensors, {"refuse_at": REFUSE_AT, "classes": classes})

    # What it costs on real X-rays the model never trained on: the validation split, as it is
    # and under each stress change (core/stress.py). Reported, never used to choose anything.
    yield DetectorStep(0, epochs)
    val_prepared = _as_prepared(raw_val_u8, equalise)
    refused = float((detector.p_not_xray(val_prepared) >= REFUSE_AT).mean()) if len(val_prepared) else 0.0
    stress_refused = {}
    for name in STRESSES:
        p = detector.p_not_xray(apply_stress(raw_val_u8, name, equalise))
        stress_refused[name] = float((p >= REFUSE_AT).mean()) if len(p) else 0.0
    meta = {
        "input_size": DETECTOR_SIZE,
        "widths": list(DETECTOR_WIDTHS),
        "refuse_at": REFUSE_AT,
        "epochs": epochs,
        "n_positive": int(len(raw_train_u8)),
        "classes": classes,
        "n_outside_positive": {name: int(len(images)) for name, images in outside.items()},
        "n_lateral": int(len(lateral_u8)) if has_lateral else 0,
        "devices": bool(devices),
        "negative_kinds": list(NEGATIVE_KINDS),
        "validation_refused": refused,
        "validation_stress_refused": stress_refused,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return tensors, meta


# ----- inference ----------------------------------------------------------------------------------
class XrayDetector:
    """A trained detector. ``tensors``: the ``detector.*`` tensors of a model file without the
    prefix; ``meta``: its ``detector`` metadata. Raises ModelFileError when they do not fit."""

    def __init__(self, tensors: dict[str, torch.Tensor], meta: dict, name: str = "model"):
        widths = meta.get("widths", list(DETECTOR_WIDTHS))
        self.classes = list(meta.get("classes", CLASSES_WITHOUT_LATERAL))
        network = ChestCNN(len(self.classes), widths, dropout=0.0)
        try:
            network.load_state_dict(tensors, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise ModelFileError(f"{name}: the chest X-ray detector's weights do not fit ({first})") from None
        self.meta = meta
        self.refuse_at = float(meta.get("refuse_at", REFUSE_AT))
        self.network = network.eval()
        # channels_last: three times faster than the default layout for this small network.
        self._inference = fold_batchnorm(network).to(memory_format=torch.channels_last)

    @property
    def knows_laterals(self) -> bool:
        """True when lateral views are a class of their own (files made from version 0.13 on)."""
        return len(self.classes) > LATERAL

    @torch.inference_mode()
    def probabilities(self, prepared_u8: np.ndarray | torch.Tensor) -> np.ndarray:
        """float64 (B, C) rows summing to 1 over ``classes``: frontal chest X-ray, not a chest
        X-ray and, where the detector knows them, lateral view."""
        if len(prepared_u8) == 0:
            return np.zeros((0, len(self.classes)))
        logits = torch.cat([self._inference(detector_input(prepared_u8[i:i + 256])
                                            .contiguous(memory_format=torch.channels_last))
                            for i in range(0, len(prepared_u8), 256)])
        return torch.softmax(logits.float(), 1).double().numpy()

    def p_not_xray(self, prepared_u8: np.ndarray | torch.Tensor) -> np.ndarray:
        """float64 (B,) in [0, 1]: the probability that each prepared image is not a frontal chest
        X-ray (anything else, a lateral view included)."""
        return 1.0 - self.probabilities(prepared_u8)[:, FRONTAL]

    def reasons(self, prepared_u8: np.ndarray | torch.Tensor) -> list[str | None]:
        """Per image: None when it looks like a frontal chest X-ray, else the reason to refuse it:
        a lateral view (``LATERAL_MESSAGE``) when that is the likelier of the other classes."""
        out: list[str | None] = []
        for row in self.probabilities(prepared_u8):
            p_other = 1.0 - row[FRONTAL]
            if p_other < self.refuse_at:
                out.append(None)
            elif self.knows_laterals and row[LATERAL] >= row[NOT_XRAY]:
                out.append(f"{LATERAL_MESSAGE} (image check {100 * row[LATERAL]:.0f}% sure)")
            else:
                out.append(f"it does not look like a frontal chest X-ray (image check {100 * p_other:.0f}% sure)")
        return out
