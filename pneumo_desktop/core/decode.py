"""Decoding input files into model-ready images, in a thread pool, without torch.

``DecodeQueue`` reads, gates and prepares files in the background and hands the results back in
input order. It imports only numpy and Pillow, so the CLI can start it before it imports torch:
on a 2-core machine the first second or two of a ``predict`` run (torch's import) then overlaps
with decoding instead of preceding it. Pillow and numpy release the GIL in their heavy parts.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ImageReadError
from .gate import check_image
from .imageio import read_image
from .imageprep import Preprocessing, prepare_image

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_UNSUPPORTED = "unsupported"


@dataclass
class DecodedInput:
    """One input file after decoding.

    image_u8: the prepared model input, uint8 (S, S), only when status is ok. size: the decoded
    image's (height, width), when it could be read. message: why, for error and unsupported.
    """

    path: str
    image_u8: np.ndarray | None
    size: tuple[int, int] | None
    status: str
    message: str | None
    decode_ms: float


def decode_for_model(path: str, prep: Preprocessing) -> DecodedInput:
    """Read ``path``, run the image-statistics gate and prepare it per ``prep``. Never raises."""
    start = time.perf_counter()

    def elapsed() -> float:
        return (time.perf_counter() - start) * 1e3

    try:
        image = read_image(path)
        reason = check_image(image.pixels, image.colourfulness)
        if reason is not None:
            return DecodedInput(path, None, image.pixels.shape, STATUS_UNSUPPORTED, f"not a chest X-ray: {reason}",
                                elapsed())
        return DecodedInput(path, prepare_image(image.pixels, prep), image.pixels.shape, STATUS_OK, None, elapsed())
    except ImageReadError as exc:
        return DecodedInput(path, None, None, STATUS_ERROR, f"cannot read file: {exc}", elapsed())
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop a batch
        return DecodedInput(path, None, None, STATUS_ERROR, f"cannot read file: {Path(path).name}: {exc}", elapsed())


class DecodeQueue:
    """Decode ``paths`` in ``workers`` threads, at most ``lookahead`` files ahead of the reader.

    Iterate ``take(n)`` to get the next n results in input order. ``close()`` cancels what is
    still queued and waits for the running decodes (a few milliseconds each). The look-ahead
    bounds memory: each prepared image is S*S bytes (22.5 kB at 150 px).
    """

    def __init__(self, paths: Iterable[str], prep: Preprocessing, workers: int = 2, lookahead: int = 64):
        self.paths = [str(p) for p in paths]
        self.prep = prep
        self.lookahead = max(1, lookahead)
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pneumo-decode")
        self._pending: deque[Future] = deque()
        self._next = 0
        self._closed = False
        self._fill()

    def __len__(self) -> int:
        return len(self.paths)

    def _fill(self) -> None:
        while not self._closed and self._next < len(self.paths) and len(self._pending) < self.lookahead:
            self._pending.append(self._pool.submit(decode_for_model, self.paths[self._next], self.prep))
            self._next += 1

    def take(self, n: int) -> list[DecodedInput]:
        """The next ``n`` results (fewer at the end, empty when done), waiting as needed."""
        out = []
        while len(out) < n and self._pending:
            out.append(self._pending.popleft().result())
            self._fill()
        return out

    def batches(self, batch_size: int) -> Iterator[list[DecodedInput]]:
        while True:
            batch = self.take(batch_size)
            if not batch:
                return
            yield batch

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()

    def __enter__(self) -> "DecodeQueue":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
