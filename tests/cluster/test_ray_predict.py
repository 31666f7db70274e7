"""``predict --engine ray``: the Ray Data job against the single-machine path.

One local Ray (2 CPUs) serves the whole module, and one tiny model trained here on synthetic
chests; 20 synthetic films, one broken PNG and one blank image make the input folder. The
commands run through ``run_ray_predict`` with a parser built here (the CLI's own wiring is
tested with the CLI). Skipped where Ray is not installed (the optional ``cluster`` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ray = pytest.importorskip("ray", reason="Ray is not installed: predict --engine ray needs the 'cluster' extra")
pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (it comes with ray[data])")

from pneumo_desktop.cluster import ray_predict as rp  # noqa: E402
from pneumo_desktop.core.synthetic import synthetic_chest_image  # noqa: E402

# Ray Data sets its own deprecated context fields whenever it copies the context.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")
REPO = Path(__file__).resolve().parents[2]
RECORD_KEYS = {"path", "status", "label", "probability", "probabilities", "message", "timing_ms"}
N_FILMS = 20


def _chest(seed: int, pneumonia: bool, size: int = 96) -> np.ndarray:
    image = synthetic_chest_image(size=size, seed=seed).astype(np.float32)
    if pneumonia:  # bright opacities in both lung fields, which a tiny CNN learns at once
        y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
        for cx in (0.32, 0.68):
            image += 110.0 * np.exp(-(((x - cx) / 0.1) ** 2 + ((y - 0.52) / 0.1) ** 2))
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory) -> Path:
    """A tiny real model: one short training run on 24 synthetic chests, no detector."""
    import torch

    from pneumo_desktop.core.dataset import grouped_split, scan_labelled_folder
    from pneumo_desktop.core.training import TrainingConfig, TrainingFinished, train_model

    root = tmp_path_factory.mktemp("ray-model")
    for label, pneumonia in (("NORMAL", False), ("PNEUMONIA", True)):
        for i in range(12):
            _png(root / "data" / label / f"{label.lower()}_{i:02d}.png", _chest(3000 * (1 + pneumonia) + i, pneumonia))
    table = grouped_split(scan_labelled_folder(root / "data"), val_fraction=0.25, seed=0)
    config = TrainingConfig(epochs=2, batch_size=8, learning_rate=1e-2, widths=(8, 16, 16, 16), input_size=64,
                            augment=False, warmup_epochs=0, bf16=False, detector_epochs=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        finished = [e for e in train_model(table, config, name="ray-test", command="pytest")
                    if isinstance(e, TrainingFinished)]
    finally:
        torch.set_num_threads(threads)
    path = root / "tiny.pneumo"
    finished[0].classifier.save(path)
    return path


@pytest.fixture(scope="module")
def films(tmp_path_factory) -> Path:
    """20 synthetic films (half with opacities), a broken PNG and a blank image the gate refuses."""
    folder = tmp_path_factory.mktemp("ray-films") / "films"
    for i in range(N_FILMS):
        _png(folder / f"film_{i:02d}.png", _chest(7000 + i, i % 2 == 1))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    _png(folder / "blank.png", np.full((96, 96), 128, np.uint8))
    return folder


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray with 2 CPUs for the module; the jobs join it and leave it running."""
    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    yield ray
    ray.shutdown()


def _parser() -> argparse.ArgumentParser:
    """The options of the CLI's ``predict`` that the ray engine reads, plus add_ray_arguments."""
    parser = argparse.ArgumentParser(prog="pneumo-desktop predict")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--model")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv")
    parser.add_argument("--heatmaps")
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--batch-size", type=int, default=32)
    rp.add_ray_arguments(parser)
    return parser


def _run(*argv) -> int:
    return rp.run_ray_predict(_parser().parse_args([str(a) for a in argv]))


def _rows(out: Path) -> list[dict]:
    return pq.read_table(out).to_pylist()


def _single_machine(model_path: Path, inputs: list) -> dict[str, dict]:
    """``predict --json``'s records from the in-process single-machine path, by path."""
    from pneumo_desktop.core.classifier import Classifier
    from pneumo_desktop.core.predict import predict_files

    classifier = Classifier.load(model_path)
    return {r.path: r.to_dict() for r in predict_files(classifier, [str(p) for p in inputs], batch_size=8)}


def assert_one_row_per_file(rows: list[dict], films: Path) -> None:
    from pneumo_desktop.core.imageio import list_input_files

    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)), "a file has more than one row"
    assert sorted(paths) == sorted(str(p) for p in list_input_files([films])), "a file has no row"


# ----- tests --------------------------------------------------------------------------------------
def test_unloadable_model_is_one_line_exit_3_before_ray_starts(tmp_path, films, monkeypatch, capsys):
    def no_ray(*args, **kwargs):
        raise AssertionError("Ray was started for a model that cannot be loaded")

    monkeypatch.setattr(rp, "_start_ray", no_ray)
    bad = tmp_path / "bad.pneumo"
    bad.write_bytes(b"not a model at all" * 10)
    out = tmp_path / "out.parquet"
    assert _run(films, "--engine", "ray", "--model", bad, "--out", out) == rp.EXIT_MODEL
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot load model: "), err
    assert not out.exists(), "work began before the model was checked"
    # Usage errors are exit 2, one line, before anything starts.
    assert _run(films, "--engine", "ray", "--model", bad) == rp.EXIT_USAGE
    assert _run(films, "--engine", "ray", "--model", bad, "--out", out, "--json") == rp.EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err), err


def test_same_rows_as_the_single_machine_predict(tmp_path, local_ray, tiny_model_path, films, capsys):
    out = tmp_path / "results.parquet"
    code = _run(films, "--engine", "ray", "--model", tiny_model_path, "--out", out, "--batch-size", 8,
                "--actors", 2)
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"{N_FILMS + 2} files in " in err and f"{N_FILMS} ok, 1 refused, 1 error" in err, err
    rows = _rows(out)
    assert_one_row_per_file(rows, films)
    expected = _single_machine(tiny_model_path, [films])
    for row in rows:
        want = expected[row["path"]]
        assert set(row) == RECORD_KEYS
        assert (row["status"], row["label"], row["message"]) == (want["status"], want["label"], want["message"])
        if want["status"] == "ok":
            assert row["probability"] == pytest.approx(want["probability"], abs=1e-3)
            assert row["probabilities"] == pytest.approx(want["probabilities"], abs=1e-3)
        else:
            assert row["probability"] is None and row["probabilities"] is None
    assert {r["label"] for r in rows if r["status"] == "ok"} == {"NORMAL", "PNEUMONIA"}
    # A folder of part files that pandas reads as one table; nothing hidden is left behind.
    assert len(rp.part_files(out)) >= 2
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    import pandas as pd

    assert len(pd.read_parquet(out)) == N_FILMS + 2
    # A second run into the same folder without --resume would mix two jobs: refused.
    assert _run(films, "--engine", "ray", "--model", tiny_model_path, "--out", out) == rp.EXIT_USAGE
    assert "--resume" in capsys.readouterr().err


def test_a_worker_killed_mid_run_is_retried(tmp_path, local_ray, tiny_model_path, films, monkeypatch):
    marker = tmp_path / "worker-died"
    monkeypatch.setenv(rp.FAIL_ONCE_ENV, str(marker))
    summary = rp.predict_to_parquet([str(films)], tiny_model_path, tmp_path / "out.parquet", batch_size=8,
                                    actors=1, progress=False)
    assert marker.is_file(), "the worker was never killed"
    assert int(marker.read_text()) != os.getpid()
    rows = _rows(tmp_path / "out.parquet")
    assert_one_row_per_file(rows, films)
    assert summary.files == N_FILMS + 2


def test_resume_after_an_interrupted_job(tmp_path, local_ray, tiny_model_path, films):
    out = tmp_path / "out.parquet"
    first = sorted(films.iterdir())[: N_FILMS // 2]
    # The interrupted job: half the files finished, plus the debris of a part being written when
    # it was killed (hidden temporary name), which must never count.
    rp.predict_to_parquet([str(p) for p in first], tiny_model_path, out, batch_size=4, actors=1, progress=False)
    (out / ".part-00099-deadbeef.parquet.1.abc.tmp").write_bytes(b"PAR1 half a part")
    done = rp.read_done_paths(out)
    assert done == {str(p) for p in first}
    # And one finished part lost (deleted): its files are predicted again.
    lost = rp.part_files(out)[0]
    lost_paths = set(pq.read_table(lost).column("path").to_pylist())
    lost.unlink()
    summary = rp.predict_to_parquet([str(films)], tiny_model_path, out, resume=True, batch_size=8, actors=1,
                                    progress=False)
    assert summary.skipped == len(first) - len(lost_paths)
    assert summary.files == N_FILMS + 2 - summary.skipped
    rows = _rows(out)
    assert_one_row_per_file(rows, films)
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "the stale temporary part was left"
    # Resuming a finished job does nothing and starts nothing.
    again = rp.predict_to_parquet([str(films)], tiny_model_path, out, resume=True, progress=False)
    assert (again.files, again.skipped) == (0, N_FILMS + 2)


def test_ray_only_options_need_the_ray_engine():
    assert rp.local_engine_conflict(_parser().parse_args(["x.png"])) is None
    assert rp.local_engine_conflict(_parser().parse_args(["x.png", "--out", "o.parquet"])) == "--out needs --engine ray"
    assert rp.local_engine_conflict(_parser().parse_args(["x.png", "--resume", "--engine", "ray"])) is None


def test_the_desktop_start_up_path_does_not_import_ray():
    code = ("import argparse, json, sys\n"
            "import pneumo_desktop.cli, pneumo_desktop.gui.main_window\n"
            "from pneumo_desktop.cluster.ray_predict import add_ray_arguments\n"
            "add_ray_arguments(argparse.ArgumentParser())\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'pyarrow'))))\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
