"""Decoding input files into model-ready images, in a thread pool, without torch.

``DecodeQueue`` reads, gates and prepares files in the background and hands the results back in
input order. It imports only numpy and Pillow, so the CLI can start it before it imports torch:
on a 2-core machine the first second or two of a ``predict`` run (torch's import) then overlaps
with decoding instead of preceding it. Pillow and numpy release the GIL in their heavy parts.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ImageReadError
from .gate import check_image
from .imageio import read_image_for_model
from .image_preparation import Preprocessing, prepare_xray

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_UNSUPPORTED = "unsupported"


@dataclass
class DecodedInput:
    """One input file after decoding.

    image_u8: the prepared model input, uint8 (S, S), only when status is ok. size: the film's
    (height, width) as stored, when it could be read. message: why, for error and unsupported.
    """

    path: str
    image_u8: np.ndarray | None
    size: tuple[int, int] | None
    status: str
    message: str | None
    decode_ms: float


def decode_for_model(path: str, prep: Preprocessing) -> DecodedInput:
    """Read ``path``, run the image-statistics gate and prepare it per ``prep``. Never raises.

    The file is read with ``read_image_for_model`` (reduced toward ``prep.input_size`` before
    any float work), as training's ``dataset`` reads it; ``size`` is still the film's own.
    """
    start = time.perf_counter()

    def elapsed() -> float:
        return (time.perf_counter() - start) * 1e3

    try:
        image = read_image_for_model(path, prep.input_size)
        size = (image.original_size[1], image.original_size[0])
        reason = check_image(image.pixels, image.colourfulness)
        if reason is not None:
            return DecodedInput(path, None, size, STATUS_UNSUPPORTED, f"not a chest X-ray: {reason}", elapsed())
        return DecodedInput(path, prepare_xray(image, prep), size, STATUS_OK, None, elapsed())
    except ImageReadError as exc:
        return DecodedInput(path, None, None, STATUS_ERROR, f"cannot read file: {exc}", elapsed())
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop a batch
        return DecodedInput(path, None, None, STATUS_ERROR, f"cannot read file: {Path(path).name}: {exc}", elapsed())


def _decode_many(paths: list[str], prep: Preprocessing) -> list[DecodedInput]:
    return [decode_for_model(p, prep) for p in paths]


def can_fork() -> bool:
    """Whether decode worker processes can be forked cheaply (Linux). Where only "spawn" exists
    (Windows, macOS), a worker would re-import Python and numpy, so threads are used instead."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods() and sys.platform.startswith("linux")


class DecodeQueue:
    """Decode ``paths`` in the background, at most ``lookahead`` files ahead of the reader.

    ``take(n)`` returns the next n results in input order. ``close()`` cancels what is still
    queued and waits for the running decodes (a few milliseconds each). The look-ahead bounds
    memory: each prepared image is S*S bytes (22.5 kB at 150 px).

    ``processes=False`` (the default) decodes in ``workers`` threads of this process; that is
    right for a process that has already imported torch (the GUI). ``processes=True`` forks
    ``workers`` processes, which only makes sense *before* torch is imported: the CLI does this,
    so that decoding runs on another core while this process spends a second or more importing
    torch, which holds the GIL and would starve decode threads. Files then go to the workers in
    small chunks, so that each round trip carries several images.
    """

    def __init__(self, paths: Iterable[str], prep: Preprocessing, workers: int = 2, lookahead: int = 64,
                 processes: bool = False):
        self.paths = [str(p) for p in paths]
        self.prep = prep
        self.lookahead = max(1, lookahead)
        if processes:
            import multiprocessing

            self._pool = ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("fork"))
            self._chunk = 8
        else:
            self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pneumo-decode")
            self._chunk = 1
        self._pending: deque[Future] = deque()
        self._ready: deque[DecodedInput] = deque()
        self._next = 0
        self._in_flight = 0
        self._closed = False
        self._fill()

    def __len__(self) -> int:
        return len(self.paths)

    def _fill(self) -> None:
        while not self._closed and self._next < len(self.paths) and self._in_flight < self.lookahead:
            chunk = self.paths[self._next:self._next + self._chunk]
            self._pending.append(self._pool.submit(_decode_many, chunk, self.prep))
            self._next += len(chunk)
            self._in_flight += len(chunk)

    def take(self, n: int) -> list[DecodedInput]:
        """The next ``n`` results (fewer at the end, empty when done), waiting as needed."""
        out = []
        while len(out) < n:
            if not self._ready:
                if not self._pending:
                    break
                done = self._pending.popleft().result()
                self._in_flight -= len(done)
                self._ready.extend(done)
                self._fill()
            out.append(self._ready.popleft())
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
        self._ready.clear()

    def __enter__(self) -> "DecodeQueue":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
