"""Tests for pneumo_desktop.core.atomic: the one way the app replaces a file."""

import os
import stat
import sys

import numpy as np
import pytest

from pneumo_desktop.core.atomic import atomic_path, write_bytes_atomic


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_replaces_the_file_only_when_the_block_ends(tmp_path):
    target = tmp_path / "results.csv"
    target.write_text("old")
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old", "the target changed before the block ended"
        assert tmp.parent == tmp_path and tmp.name.startswith(".results.csv.")
    assert target.read_text() == "new"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, error):
    target = tmp_path / "model.pneumo"
    target.write_bytes(b"the model in use")
    with pytest.raises(type(error)):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half a mod")
            raise error
    assert target.read_bytes() == b"the model in use"
    assert _leftovers(tmp_path) == []


def test_suffix_keeps_numpy_savez_on_the_temporary_name(tmp_path):
    target = tmp_path / "decoded.npz"
    with atomic_path(target, suffix=".npz") as tmp:
        np.savez(tmp, images=np.arange(6, dtype=np.uint8))
    with np.load(target) as data:
        assert data["images"].tolist() == [0, 1, 2, 3, 4, 5]
    assert _leftovers(target.parent) == []


def test_write_bytes_into_a_missing_folder_fails_before_writing(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_bytes_atomic(tmp_path / "missing" / "out.bin", b"\x00\x01")
    assert list(tmp_path.iterdir()) == []
    write_bytes_atomic(tmp_path / "out.bin", b"\x00\x01")
    assert (tmp_path / "out.bin").read_bytes() == b"\x00\x01"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_the_file_gets_the_permissions_the_umask_allows(tmp_path):
    old = os.umask(0o022)
    try:
        write_bytes_atomic(tmp_path / "shared.pneumo", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "shared.pneumo").stat().st_mode) == 0o644
