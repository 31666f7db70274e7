"""Fixtures for the core tests: a synthetic labelled folder and a tiny model trained on it.

``synthetic_folder`` (session): ``NORMAL/`` and ``PNEUMONIA/`` with 24 PNGs each (96x96), named
like the real data set: ``IM-NNNN-000J.png`` (normal, two images per patient) and
``personN_bacteria_M.png`` / ``personN_virus_M.png`` (pneumonia, two images per patient, half
bacterial and half viral patients). Pneumonia images carry bright opacities in the lung
fields, which a tiny CNN learns in a couple of epochs. Treat it as read-only; tests that need
to change a folder copy it first (``copy_folder``).

``tiny_model`` (session): ``(path, classifier)`` of a model trained on that folder for two
epochs at 64 px with widths (8, 16, 16, 16), batch size 8 (``tiny_config()``), saved as a
``.pneumo`` file and loaded back; ``tiny_training`` holds that run's events.

``synth`` (session): the helpers of this module for test modules, which cannot import a
conftest by name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from pneumo_desktop.core.synthetic import synthetic_chest_image

IMAGE_SIZE = 96
PER_CLASS = 24
IMAGES_PER_PATIENT = 2


def chest_image(seed: int, pneumonia: bool, size: int = IMAGE_SIZE) -> np.ndarray:
    """A synthetic radiograph, uint8 (size, size); ``pneumonia`` adds bright lung opacities."""
    image = synthetic_chest_image(size=size, seed=seed).astype(np.float32)
    rng = np.random.default_rng(seed + 50_000)
    # A little per-image exposure variation, so the classes differ only by the opacities.
    image = image * rng.uniform(0.9, 1.1) + rng.uniform(-8, 8)
    if pneumonia:
        y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
        for cx in (0.32, 0.68):
            cx += rng.uniform(-0.04, 0.04)
            cy = rng.uniform(0.42, 0.62)
            r = rng.uniform(0.08, 0.12)
            image += 110.0 * np.exp(-(((x - cx) / r) ** 2 + ((y - cy) / r) ** 2))
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def write_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def build_synthetic_folder(root: Path, per_class: int = PER_CLASS, size: int = IMAGE_SIZE, seed0: int = 1000) -> Path:
    """Write the labelled folder described in the module docstring under ``root``.

    ``seed0`` picks the images: folders built with different seeds hold different images.
    """
    n_patients = per_class // IMAGES_PER_PATIENT
    for p in range(n_patients):
        for j in range(IMAGES_PER_PATIENT):
            seed = seed0 + p * IMAGES_PER_PATIENT + j
            write_png(root / "NORMAL" / f"IM-{100 + p:04d}-{j + 1:04d}.png", chest_image(seed, False, size))
            kind = "bacteria" if p % 2 == 0 else "virus"
            number = 10 * p + j
            write_png(root / "PNEUMONIA" / f"person{p + 1}_{kind}_{number}.png",
                      chest_image(seed + 7000, True, size))
    return root


def copy_folder(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def tiny_config(**overrides):
    from pneumo_desktop.core.training import TrainingConfig

    # Two detector epochs (48 steps) are enough for synthetic chests; the default 8 would make
    # every tiny training run take half a minute.
    values = dict(epochs=2, input_size=64, widths=(8, 16, 16, 16), batch_size=8, val_fraction=0.25,
                  learning_rate=5e-3, bf16=False, detector_epochs=2)
    values.update(overrides)
    return TrainingConfig(**values)


def run_training(data_dir: Path, config, cache_dir: Path | None = None):
    """Run training to completion; return (every event in order, the TrainingFinished event)."""
    from pneumo_desktop.core.training import TrainingFinished, prepare_tables, train_model

    table = prepare_tables(data_dir, config)
    events = list(train_model(table, config, cache_dir=cache_dir, command="pytest", name="tiny"))
    finished = [e for e in events if isinstance(e, TrainingFinished)]
    assert len(finished) == 1, "training must end with exactly one TrainingFinished event"
    return events, finished[0]


@contextlib.contextmanager
def one_torch_thread():
    """Run torch on one thread, here and in the CLI (``PNEUMO_DESKTOP_THREADS``); restore after.

    The models here are tiny, so extra threads buy nothing, and on a machine shared with other
    work a second spinning thread makes a tiny training run many times slower.
    """
    import torch

    threads = torch.get_num_threads()
    saved_env = os.environ.get("PNEUMO_DESKTOP_THREADS")
    torch.set_num_threads(1)
    os.environ["PNEUMO_DESKTOP_THREADS"] = "1"
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        if saved_env is None:
            os.environ.pop("PNEUMO_DESKTOP_THREADS", None)
        else:
            os.environ["PNEUMO_DESKTOP_THREADS"] = saved_env


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Every core test module runs with one torch thread. Module-scoped, so the setting is
    restored before any test outside tests/core runs."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="session")
def synthetic_folder(tmp_path_factory) -> Path:
    return build_synthetic_folder(tmp_path_factory.mktemp("synthetic") / "data")


@pytest.fixture(scope="session")
def tiny_training(synthetic_folder):
    """(events, TrainingFinished) of the session's tiny training run (``tiny_config()``)."""
    # Session fixtures are set up before the module-scoped thread setting applies.
    with one_torch_thread():
        return run_training(synthetic_folder, tiny_config())


@pytest.fixture(scope="session")
def tiny_model(tiny_training, tmp_path_factory):
    """(path, Classifier) of the tiny model trained on ``synthetic_folder``, saved and reloaded."""
    from pneumo_desktop.core.classifier import Classifier

    path = tmp_path_factory.mktemp("tiny-model") / "tiny.pneumo"
    tiny_training[1].classifier.save(path)
    return path, Classifier.load(path)


@pytest.fixture(scope="session")
def tiny_model_path(tiny_model) -> Path:
    return tiny_model[0]


@pytest.fixture(scope="session")
def tiny_classifier(tiny_model):
    return tiny_model[1]


@pytest.fixture(scope="session")
def synth():
    """The helpers above, for test modules (the test folders are not packages, so they cannot
    import this conftest by name)."""
    return SimpleNamespace(
        chest_image=chest_image, write_png=write_png, copy_folder=copy_folder,
        build_folder=build_synthetic_folder, tiny_config=tiny_config, run_training=run_training,
        PER_CLASS=PER_CLASS, IMAGE_SIZE=IMAGE_SIZE,
    )
