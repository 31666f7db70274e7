"""Tests for model files (pneumo_desktop.core.modelfile) and Classifier save/load.

Hostile and broken files are built here; none of them may run code, and every one must be
refused with a ModelFileError whose message says what is wrong.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save as safetensors_save

from pneumo_desktop.core import atomic, modelfile
from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.errors import ModelFileError
from pneumo_desktop.core.modelfile import FORMAT_NAME, FORMAT_VERSION, read_model_file, save_model_file


class _OpensAFile:
    """Unpickling this object calls ``open(path, "w")``: it creates ``path``."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def write_raw(path: Path, tensors: dict[str, torch.Tensor], metadata) -> Path:
    """A safetensors file with arbitrary (possibly invalid) PneumoDesktop metadata."""
    text = metadata if isinstance(metadata, str) else json.dumps(metadata)
    path.write_bytes(safetensors_save({k: v.contiguous() for k, v in tensors.items()},
                                      metadata={"pneumo_desktop": text}))
    return path


def expect_refusal(path: Path, *patterns: str) -> str:
    with pytest.raises(ModelFileError) as info:
        Classifier.load(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    for pattern in patterns:
        assert pattern.lower() in message.lower(), f"{pattern!r} not in {message!r}"
    return message


@pytest.fixture
def parts(tiny_classifier):
    """A fresh copy of the tiny model's tensors and metadata (safe to modify)."""
    return ({k: v.clone() for k, v in tiny_classifier.tensors().items()}, copy.deepcopy(tiny_classifier.metadata))


@pytest.fixture
def probe_batch(tiny_classifier, synth) -> np.ndarray:
    images = [synth.chest_image(seed, seed % 2 == 0) for seed in range(6)]
    return np.stack([tiny_classifier.prepare(img.astype(np.float32) / 255.0) for img in images])


# ----- round trip ----------------------------------------------------------------------------
def test_save_load_round_trip(tiny_classifier, probe_batch, tmp_path):
    path = tmp_path / "sub" / "copy.pneumo"
    tiny_classifier.save(path)
    loaded = Classifier.load(path)
    assert loaded.metadata == tiny_classifier.metadata
    assert loaded.classes == tiny_classifier.classes
    assert loaded.threshold == tiny_classifier.threshold
    assert loaded.temperature == tiny_classifier.temperature
    assert loaded.preprocessing == tiny_classifier.preprocessing
    assert loaded.version == tiny_classifier.version
    assert loaded.source_path == str(path)
    assert set(loaded.gate_tensors) == {"feature_mean", "feature_precision"}
    for key, value in tiny_classifier.gate_tensors.items():
        assert torch.equal(loaded.gate_tensors[key], value)
    probs_a, feats_a = tiny_classifier.predict_batch(probe_batch)
    probs_b, feats_b = loaded.predict_batch(probe_batch)
    assert np.array_equal(probs_a, probs_b)
    assert np.array_equal(feats_a, feats_b)
    assert np.allclose(probs_a.sum(1), 1.0)
    # No temporary file left beside it.
    assert sorted(p.name for p in path.parent.iterdir()) == ["copy.pneumo"]


def test_file_metadata_is_plain_json(tiny_model_path):
    tensors, metadata = read_model_file(tiny_model_path)
    assert metadata["format"] == FORMAT_NAME and metadata["format_version"] == FORMAT_VERSION
    assert all(isinstance(v, torch.Tensor) for v in tensors.values())
    assert any(k.startswith("member0.") for k in tensors) and any(k.startswith("gate.") for k in tensors)
    json.dumps(metadata)  # serialisable as is


def test_version_changes_with_weights(parts, tmp_path, tiny_classifier):
    tensors, metadata = parts
    tensors["member0.head.bias"] = tensors["member0.head.bias"] + 0.5
    other = Classifier.from_parts(tensors, metadata)
    assert other.version != tiny_classifier.version


# ----- hostile files -------------------------------------------------------------------------
def test_payload_works_when_unpickled(tmp_path):
    """Control: the payload used below really does create its file when unpickled."""
    marker = tmp_path / "control-marker"
    handle = pickle.loads(pickle.dumps(_OpensAFile(marker)))
    handle.close()
    assert marker.exists()


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_payload_is_refused_without_running(tmp_path, protocol):
    marker = tmp_path / f"pwned-{protocol}"
    path = tmp_path / "evil.pneumo"
    with open(path, "wb") as handle:
        pickle.dump({"state_dict": _OpensAFile(marker)}, handle, protocol=protocol)
    message = expect_refusal(path, "evil.pneumo")
    if protocol >= 2:
        assert "pickle" in message
    assert not marker.exists(), "the model file's pickle was executed"


@pytest.mark.parametrize("legacy", [False, True])
def test_torch_save_payload_is_refused_without_running(tmp_path, legacy):
    marker = tmp_path / "pwned-torch"
    path = tmp_path / "evil.pt"
    torch.save({"weights": torch.zeros(3), "payload": _OpensAFile(marker)}, path,
               _use_new_zipfile_serialization=not legacy)
    message = expect_refusal(path)
    assert ("zip" in message) if not legacy else ("pickle" in message)
    assert not marker.exists(), "the torch.save payload was executed"


def test_honest_torch_checkpoint_is_refused_too(tmp_path, tiny_classifier):
    path = tmp_path / "model.pth"
    torch.save(tiny_classifier.members[0].state_dict(), path)
    expect_refusal(path, "model.pth", "torch.save")


# ----- broken files --------------------------------------------------------------------------
@pytest.mark.parametrize("keep", [0, 4, 7, 8, 60, "half", "almost"])
def test_truncated_file(tiny_model_path, tmp_path, keep):
    data = tiny_model_path.read_bytes()
    n = {"half": len(data) // 2, "almost": len(data) - 7}.get(keep, keep)
    path = tmp_path / "cut.pneumo"
    path.write_bytes(data[:n])
    message = expect_refusal(path, "cut.pneumo")
    if n < 8:
        assert "empty or truncated" in message
    else:
        assert "truncated" in message or "not a PneumoDesktop model file" in message


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(tmp_path, seed):
    path = tmp_path / "noise.pneumo"
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    expect_refusal(path, "noise.pneumo")


def test_missing_empty_and_folder(tmp_path):
    expect_refusal(tmp_path / "absent.pneumo", "not found")
    (tmp_path / "empty.pneumo").write_bytes(b"")
    expect_refusal(tmp_path / "empty.pneumo", "empty")
    (tmp_path / "dir.pneumo").mkdir()
    expect_refusal(tmp_path / "dir.pneumo", "folder")


def test_oversized_file_is_refused_before_reading(tiny_model_path, tmp_path, monkeypatch):
    monkeypatch.setattr(modelfile, "MAX_MODEL_BYTES", 1024)
    read = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self) or original(self))
    expect_refusal(tiny_model_path, "larger than")
    assert read == [], "the oversized file was read into memory"


def test_safetensors_without_our_metadata(tmp_path, parts):
    tensors, _ = parts
    path = tmp_path / "foreign.safetensors"
    path.write_bytes(safetensors_save(tensors))
    expect_refusal(path, "no PneumoDesktop metadata")
    write_raw(path, tensors, "{not json")
    expect_refusal(path, "no PneumoDesktop metadata")


def test_bad_header_json(tmp_path):
    header = b"{this is not json}"
    path = tmp_path / "bad.pneumo"
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 16)
    expect_refusal(path, "bad.pneumo")


def test_damaged_tensor_data(tiny_model_path, tmp_path):
    data = bytearray(tiny_model_path.read_bytes())
    (header_len,) = np.frombuffer(bytes(data[:8]), dtype="<u8")
    header = json.loads(data[8:8 + int(header_len)])
    name = next(k for k in header if k != "__metadata__")
    begin, end = header[name]["data_offsets"]
    header[name]["data_offsets"] = [begin, end + 10_000_000]  # points past the end of the file
    raw = json.dumps(header).encode()
    path = tmp_path / "damaged.pneumo"
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(data[8 + int(header_len):]))
    expect_refusal(path, "damaged.pneumo")


# ----- metadata checks -----------------------------------------------------------------------
def test_wrong_format_version(parts, tmp_path):
    tensors, metadata = parts
    metadata["format_version"] = FORMAT_VERSION + 1
    expect_refusal(write_raw(tmp_path / "future.pneumo", tensors, metadata), "format version", "not supported")


def test_wrong_format_name(parts, tmp_path):
    tensors, metadata = parts
    metadata["format"] = "somebody-elses-model"
    expect_refusal(write_raw(tmp_path / "other.pneumo", tensors, metadata), "not a PneumoDesktop model")


@pytest.mark.parametrize("field", ["name", "classes", "normal_class", "preprocessing", "threshold",
                                   "temperature", "architecture", "tta_shifts", "training", "created"])
def test_missing_metadata_field(parts, tmp_path, field):
    tensors, metadata = parts
    del metadata[field]
    expect_refusal(write_raw(tmp_path / "m.pneumo", tensors, metadata), f"'{field}'", "missing")


@pytest.mark.parametrize("field, value", [("threshold", "0.5"), ("classes", "NORMAL,PNEUMONIA"),
                                          ("threshold", True), ("training", [])])
def test_metadata_field_of_wrong_type(parts, tmp_path, field, value):
    tensors, metadata = parts
    metadata[field] = value
    expect_refusal(write_raw(tmp_path / "m.pneumo", tensors, metadata), f"'{field}'", "wrong type")


@pytest.mark.parametrize("change, pattern", [
    ({"normal_class": "HEALTHY"}, "normal class 'HEALTHY' is not among the classes"),
    ({"classes": ["NORMAL"]}, "two or more distinct"),
    ({"classes": ["NORMAL", "NORMAL"]}, "two or more distinct"),
    ({"threshold": 1.5}, "threshold must lie between 0 and 1"),
    ({"threshold": 0.0}, "threshold must lie between 0 and 1"),
    ({"temperature": 0.0}, "temperature out of range"),
    ({"tta_shifts": []}, "test-time views"),
    ({"tta_shifts": [[0, 0.5]]}, "test-time views"),
    ({"architecture": {"type": "ResNet", "widths": [8, 16, 16, 16], "n_members": 1}}, "unsupported architecture"),
    ({"architecture": {"type": "ChestCNN", "widths": [8, 16, 16], "n_members": 1}}, "unsupported architecture"),
    ({"architecture": {"type": "ChestCNN", "widths": [8, 16, 16, 16], "n_members": 0}}, "unsupported architecture"),
    ({"preprocessing": {"input_size": 64, "equalise": "magic", "mean": 0.5, "std": 0.25}}, "preprocessing"),
    ({"preprocessing": {"input_size": 64}}, "preprocessing"),
    ({"preprocessing": {"input_size": 64, "equalise": "hist", "mean": 0.5, "std": 0.25, "border_mask": 0.45}},
     "hidden border"),
    ({"validation_stress_metrics": {"changes": {"haze 0.8": "bad"}}}, "stress-validation figures"),
    ({"validation_stress_metrics": {"changes": {"haze 0.8": {"auc": 0.9, "specificity": 2.0}}}},
     "stress-validation figures"),
    ({"validation_stress_metrics": {"changes": {}, "mean_auc": "high"}}, "stress-validation figures"),
    ({"validation_stress_metrics": [0.9]}, "stress-validation figures"),
])
def test_invalid_metadata_values(parts, tmp_path, change, pattern):
    tensors, metadata = parts
    metadata.update(change)
    expect_refusal(write_raw(tmp_path / "m.pneumo", tensors, metadata), pattern)


def test_metadata_not_an_object(parts, tmp_path):
    tensors, _ = parts
    expect_refusal(write_raw(tmp_path / "list.pneumo", tensors, [1, 2, 3]), "list.pneumo")


def test_weights_not_matching_architecture(parts, tmp_path):
    tensors, metadata = parts
    wider = copy.deepcopy(metadata)
    wider["architecture"]["widths"] = [8, 16, 16, 32]
    expect_refusal(write_raw(tmp_path / "wider.pneumo", tensors, wider), "do not match the architecture")

    three = copy.deepcopy(metadata)
    three["classes"] = ["NORMAL", "PNEUMONIA", "OTHER"]
    expect_refusal(write_raw(tmp_path / "three.pneumo", tensors, three), "do not match the architecture")

    missing = {k: v for k, v in tensors.items() if k != "member0.blocks.0.conv.weight"}
    expect_refusal(write_raw(tmp_path / "missing.pneumo", missing, metadata), "do not match the architecture")

    two_members = copy.deepcopy(metadata)
    two_members["architecture"]["n_members"] = 2
    expect_refusal(write_raw(tmp_path / "two.pneumo", tensors, two_members), "do not match the architecture")

    stray = dict(tensors, **{"member1.head.bias": torch.zeros(2)})
    expect_refusal(write_raw(tmp_path / "stray.pneumo", stray, metadata), "unexpected tensors")


def test_save_refuses_invalid_metadata_and_writes_nothing(parts, tmp_path):
    tensors, metadata = parts
    metadata["threshold"] = 2.0
    target = tmp_path / "out.pneumo"
    with pytest.raises(ModelFileError, match="threshold"):
        save_model_file(target, tensors, metadata)
    assert list(tmp_path.iterdir()) == []


# ----- atomic saves --------------------------------------------------------------------------
@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_interrupted_save_keeps_previous_file(tiny_classifier, parts, tmp_path, monkeypatch, failing):
    target = tmp_path / "model.pneumo"
    tiny_classifier.save(target)
    before = target.read_bytes()

    tensors, metadata = parts
    tensors["member0.head.bias"] = tensors["member0.head.bias"] + 1.0  # a different model
    changed = Classifier.from_parts(tensors, metadata)

    def crash(*args, **kwargs):
        raise OSError(28, "No space left on device (simulated)")

    monkeypatch.setattr(atomic.os, failing, crash)
    with pytest.raises(OSError, match="simulated"):
        changed.save(target)
    monkeypatch.undo()
    assert target.read_bytes() == before, "the previous model file was changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pneumo"], "a temporary file was left behind"
    # And with nothing in the way, the save goes through.
    changed.save(target)
    assert target.read_bytes() != before
    assert Classifier.load(target).version == changed.version


def test_interrupted_first_save_leaves_nothing(tiny_classifier, tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        tiny_classifier.save(tmp_path / "new.pneumo")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_saved_file_gets_ordinary_permissions(tiny_classifier, tmp_path):
    """A model saved to a shared folder must be readable as the umask allows, not private
    to its author (the temporary file must not keep mkstemp's 0600)."""
    import stat

    umask = os.umask(0o022)
    try:
        target = tmp_path / "shared.pneumo"
        tiny_classifier.save(target)
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        os.umask(0o077)
        private = tmp_path / "private.pneumo"
        tiny_classifier.save(private)
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    finally:
        os.umask(umask)
