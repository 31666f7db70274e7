"""A synthetic chest-radiograph-like test pattern: the self-test, the app's warm-up and the tests use
it where no real film is at hand."""

from __future__ import annotations

import numpy as np


def synthetic_chest_image(size: int = 512, seed: int = 7) -> np.ndarray:
    """A smooth chest-radiograph-like test pattern, uint8 (size, size).

    Dark lung fields either side of a bright mediastinum, a bright body outline and ribs; it
    passes the image-statistics gate while being obviously synthetic to a person.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    body = np.exp(-(((x - 0.5) / 0.42) ** 6 + ((y - 0.55) / 0.5) ** 6))
    lungs = sum(np.exp(-(((x - cx) / 0.15) ** 2 + ((y - 0.5) / 0.28) ** 2)) for cx in (0.32, 0.68))
    ribs = 0.08 * (np.sin(y * 60) > 0.7) * (lungs > 0.2)
    image = 0.15 + 0.7 * body - 0.45 * lungs + ribs
    image += 0.25 * np.exp(-(((x - 0.5) / 0.07) ** 2)) * (y > 0.2)
    image += rng.normal(0, 0.01, image.shape)
    return np.clip(image * 255, 0, 255).astype(np.uint8)
