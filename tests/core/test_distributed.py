"""Training in several processes (core/distributed.py): two ranks under torchrun write one model
file, and a single process trains exactly as without the module.

One test starts ``torchrun --standalone --nproc-per-node 2 -m pneumo_desktop train`` (as
``python -m torch.distributed.run``, the same program) on the synthetic folder; the others run
in this process, where a process group of one rank is made from torchrun's environment
variables."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from pneumo_desktop.cli import main
from pneumo_desktop.core import distributed

REPO = Path(__file__).resolve().parents[2]
# A quick recipe: the synthetic films at 64 px, a tiny network, one epoch, no detector.
TINY_TRAIN = ("--set", "input_size=64", "--widths", "8,16,16,16", "--epochs", "1", "--batch-size", "8",
              "--val-fraction", "0.25", "--detector-epochs", "0", "--no-bf16")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _launched_as_one_rank(monkeypatch):
    """The environment torchrun gives the only process of ``--nproc-per-node 1``."""
    with monkeypatch.context() as patch:
        for key, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1",
                           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}.items():
            patch.setenv(key, value)
        yield


def test_helpers_without_torchrun_answer_for_one_process():
    assert (distributed.world_size(), distributed.rank(), distributed.is_main()) == (1, 0, True)
    assert distributed.rank_seed(5) == 5
    batch = torch.arange(10)
    assert distributed.shard(batch) is batch  # untouched: the same tensor, the same draws
    model = torch.nn.Linear(2, 2)
    assert distributed.wrap_model(model) is model
    assert distributed.broadcast({"a": 1}) == {"a": 1}
    assert distributed.mean_over_ranks([0.25, 0.5], 8) == [0.25, 0.5]
    distributed.barrier()  # nothing to wait for


def test_shards_are_disjoint_and_make_the_batch():
    batch = torch.randperm(64)[:13]
    shares = [distributed.shard(batch, of_rank=r, of_world=3) for r in range(3)]
    assert sorted(torch.cat(shares).tolist()) == sorted(batch.tolist())
    assert [len(s) for s in shares] == [5, 4, 4]


def test_process_group_is_made_from_torchrun_environment_and_left_on_ctrl_c(monkeypatch):
    with _launched_as_one_rank(monkeypatch):
        assert distributed.launched()
        with pytest.raises(KeyboardInterrupt):
            with distributed.process_group():
                assert dist.is_initialized() and dist.get_backend() == distributed.BACKEND
                assert distributed.world_size() == 1
                raise KeyboardInterrupt
        assert not dist.is_initialized()


def test_one_rank_under_torchrun_trains_the_same_weights_as_a_plain_process(monkeypatch, synthetic_folder, synth):
    """World size 1 takes the plain path: no DDP wrapper, the same random draws, the same weights."""
    config = synth.tiny_config(epochs=1, detector_epochs=0)
    _, plain = synth.run_training(synthetic_folder, config)
    with _launched_as_one_rank(monkeypatch), distributed.process_group():
        assert dist.is_initialized()
        _, ranked = synth.run_training(synthetic_folder, config)
    plain_state, ranked_state = plain.classifier.tensors(), ranked.classifier.tensors()  # weights, gate
    assert plain_state.keys() == ranked_state.keys()
    assert all(torch.equal(plain_state[k], ranked_state[k]) for k in plain_state)
    assert plain.history == ranked.history
    assert ranked.classifier.metadata["training"]["world_size"] == 1


def test_fine_tuning_is_refused_with_several_processes(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    code = main(["train", str(tmp_path), "--init", str(tmp_path / "parent.pneumo"), "--out", str(tmp_path / "a.pneumo")])
    err = capsys.readouterr().err
    assert code != 0
    assert err.strip() == "error: fine-tuning runs in one process; start train --init without torchrun"
    assert not (tmp_path / "a.pneumo").exists()


def test_torchrun_two_processes_write_one_model(synthetic_folder, synth, tmp_path):
    out_dir, cache = tmp_path / "out", tmp_path / "cache"
    out_dir.mkdir()
    env = {**os.environ, "PNEUMO_DESKTOP_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
            "-m", "pneumo_desktop", "train", str(synthetic_folder), "--out", str(out_dir / "two.pneumo"),
            "--cache-dir", str(cache), "--name", "two", *TINY_TRAIN]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Rank 0 alone reports and writes; every rank exits 0 (torchrun exits 0 only then).
    assert proc.stderr.count("saved ") == 1 and proc.stderr.count("Decoding images") == 1, proc.stderr[-3000:]
    assert [p.name for p in out_dir.iterdir()] == ["two.pneumo"]  # no temporary file left either
    assert [p.suffix for p in cache.iterdir()] == [".npz"]  # decoded once, no cache temporaries

    from pneumo_desktop.core.classifier import Classifier

    classifier = Classifier.load(out_dir / "two.pneumo")
    training = classifier.metadata["training"]
    assert training["world_size"] == 2
    assert training["config"]["batch_size"] == 8  # the batch over both ranks
    assert [h["epoch"] for h in training["history"]] == [1]
    image = synth.chest_image(seed=4242, pneumonia=True, size=classifier.metadata["preprocessing"]["input_size"])
    probs, _ = classifier.predict_batch(image[None])
    assert probs.shape == (1, 2) and abs(float(probs.sum()) - 1.0) < 1e-4
    json.dumps(classifier.metadata)  # the record is plain JSON
