"""Atomic file writes: a temporary file beside the target, then one rename.

Every file the app writes for the person (model files, results tables, figures, overlays, PDF
reports) and the training cache goes through here, so an interrupted or failed write never
leaves half a file under the final name and never damages the file it was replacing.

The temporary file is created with ``O_EXCL`` and mode 0666, so the finished file gets the
permissions the umask allows, like any file the person saves (``mkstemp``'s 0600 would make
every saved model private to its author). Its name starts with a dot and ends in ``.tmp``
(plus an optional suffix, for writers such as ``numpy.savez`` that insist on their own).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_sibling(path: str | Path, suffix: str = "") -> Path:
    """Create an empty, uniquely named file in ``path``'s folder and return it.

    The caller writes to it (by name or by opening it) and then calls ``commit`` or ``discard``.
    The folder must exist (callers that want it made say so with ``mkdir``); a missing one
    raises ``FileNotFoundError`` before anything is written.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp{suffix}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    os.close(fd)
    return tmp


def commit(tmp: str | Path, path: str | Path) -> None:
    """Flush ``tmp`` to disk and rename it over ``path`` (one atomic step on the same file system)."""
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def discard(tmp: str | Path) -> None:
    """Remove a temporary file that will not be committed; a missing one is fine."""
    try:
        os.unlink(tmp)
    except OSError:
        pass


@contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """``with atomic_path(p) as tmp: write(tmp)``: ``p`` is replaced only when the block ends
    normally; on any exception (KeyboardInterrupt and GeneratorExit included) ``p`` is left as it
    was and the temporary file is removed."""
    tmp = temporary_sibling(path, suffix)
    try:
        yield tmp
        commit(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; the folder must exist."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
