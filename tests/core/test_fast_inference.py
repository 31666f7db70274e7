"""The inference path: BatchNorm folding, precision, one-pass prediction with Grad-CAM, and the
torch-free decode queue and model header the CLI starts with before it imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.decode import DecodeQueue, decode_for_model
from pneumo_desktop.core.errors import ModelFileError
from pneumo_desktop.core.explain import gradcam, predict_with_gradcam
from pneumo_desktop.core.image_preparation import Preprocessing
from pneumo_desktop.core.model import ChestCNN, cpu_has_fast_bf16, fold_batchnorm
from pneumo_desktop.core.modelfile import read_model_file, read_model_header

REPO = Path(__file__).resolve().parents[2]


def _randomised_model(seed: int = 0) -> ChestCNN:
    """A ChestCNN with non-trivial BatchNorm statistics, so folding has something to fold."""
    torch.manual_seed(seed)
    model = ChestCNN(3, (8, 16, 16, 32)).eval()
    for block in model.blocks:
        block.norm.running_mean.uniform_(-1, 1)
        block.norm.running_var.uniform_(0.3, 3)
        block.norm.weight.data.uniform_(0.5, 1.5)
        block.norm.bias.data.uniform_(-0.5, 0.5)
    return model


def test_fold_batchnorm_computes_the_same_function_and_leaves_the_original_alone():
    model = _randomised_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = fold_batchnorm(model)
    x = torch.randn(5, 1, 64, 64)
    with torch.no_grad():
        expected, got = model(x), folded(x)
    assert torch.allclose(expected, got, atol=1e-4, rtol=1e-4)
    assert all(isinstance(b.norm, torch.nn.Identity) for b in folded.blocks)
    assert all(b.conv.bias is not None for b in folded.blocks)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(isinstance(b.norm, torch.nn.BatchNorm2d) for b in model.blocks)


def test_precision_follows_the_cpu_and_can_be_forced(tiny_model_path, monkeypatch):
    auto = Classifier.load(tiny_model_path)
    assert auto.precision == ("bf16" if cpu_has_fast_bf16() else "fp32")
    monkeypatch.setenv("PNEUMO_DESKTOP_PRECISION", "fp32")
    forced = Classifier.load(tiny_model_path)
    assert forced.precision == "fp32"
    batch = np.stack([forced.prepare(np.random.default_rng(i).random((80, 80), dtype=np.float32)) for i in range(4)])
    p_auto, _ = auto.predict_batch(batch)
    p_fp32, _ = forced.predict_batch(batch)
    # bfloat16 keeps 8 bits of mantissa: probabilities agree to about a percent.
    assert np.abs(p_auto - p_fp32).max() < 0.03


def test_fp32_inference_matches_the_unfolded_trained_members(tiny_model_path, monkeypatch):
    monkeypatch.setenv("PNEUMO_DESKTOP_PRECISION", "fp32")
    classifier = Classifier.load(tiny_model_path)
    batch = np.stack([classifier.prepare(np.random.default_rng(i).random((70, 90), dtype=np.float32))
                      for i in range(40)])  # more than one inference chunk
    x = classifier.to_input(batch)
    with torch.no_grad():
        reference = torch.stack([m(x) for m in classifier.members]).mean(0) / classifier.temperature
    probs, feats = classifier.predict_batch(batch)
    assert probs.shape == (40, len(classifier.classes)) and feats.shape[0] == 40
    assert np.allclose(probs, torch.softmax(reference, 1).numpy(), atol=1e-4)


@pytest.fixture
def single_view(tiny_model_path, monkeypatch) -> Classifier:
    monkeypatch.setenv("PNEUMO_DESKTOP_PRECISION", "fp32")
    classifier = Classifier.load(tiny_model_path)
    assert classifier.tta_shifts == [(0, 0)]
    return classifier


def test_predict_with_gradcam_agrees_with_predict_batch_and_gradcam(single_view, synth):
    c = single_view
    batch = np.stack([c.prepare(synth.chest_image(3000 + i, i % 2 == 1).astype(np.float32) / 255) for i in range(6)])
    sizes = [(96, 96), (120, 80), (64, 64), (96, 96), (200, 150), (96, 96)]
    probs, feats, decisions, cams = predict_with_gradcam(c, batch, output_sizes=sizes)
    ref_probs, ref_feats = c.predict_batch(batch)
    assert np.allclose(probs, ref_probs, atol=1e-5)
    assert np.allclose(feats, ref_feats, atol=1e-4)
    assert np.array_equal(decisions, c.decide(ref_probs))
    for i, cam in enumerate(cams):
        assert cam.shape == sizes[i] and cam.dtype == np.float32
        assert 0.0 <= cam.min() and cam.max() <= 1.0
        ref_cam, ref_class = gradcam(c, batch[i], target_class=int(decisions[i]), output_size=sizes[i])
        assert ref_class == decisions[i]
        assert np.abs(cam - ref_cam).max() < 1e-3


def test_predict_with_gradcam_follows_the_threshold(single_view, synth):
    c = single_view
    batch = np.stack([c.prepare(synth.chest_image(3100 + i, True).astype(np.float32) / 255) for i in range(3)])
    _, _, low, _ = predict_with_gradcam(c, batch, threshold=0.001)
    _, _, high, _ = predict_with_gradcam(c, batch, threshold=0.999)
    assert (low != c.normal_index).all() and (high == c.normal_index).all()


def test_predict_with_gradcam_refuses_models_with_several_views(tiny_model):
    _, classifier = tiny_model
    shifted = Classifier(classifier.members, dict(classifier.metadata, tta_shifts=[[0, 0], [2, 0]]))
    with pytest.raises(ValueError, match="one unshifted view"):
        predict_with_gradcam(shifted, np.zeros((1, 64, 64), np.uint8))


def test_decode_queue_keeps_input_order_and_reports_every_file(tmp_path, synth):
    prep = Preprocessing(input_size=64)
    paths = []
    for i in range(9):
        paths.append(str(synth.write_png(tmp_path / f"img{i}.png", synth.chest_image(i, False))))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    paths.insert(4, str(tmp_path / "broken.png"))
    paths.insert(0, str(tmp_path / "missing.png"))
    with DecodeQueue(paths, prep, workers=2, lookahead=3) as queue:
        results = [d for batch in queue.batches(4) for d in batch]
    assert [d.path for d in results] == paths
    assert [d.status for d in results].count("error") == 2
    assert results[0].message.startswith("cannot read file") and results[5].status == "error"
    ok = [d for d in results if d.status == "ok"]
    assert len(ok) == 9 and all(d.image_u8.shape == (64, 64) and d.image_u8.dtype == np.uint8 for d in ok)
    assert np.array_equal(ok[0].image_u8, decode_for_model(paths[1], prep).image_u8)


def test_decode_queue_close_cancels_the_rest(tmp_path, synth):
    paths = [str(synth.write_png(tmp_path / f"img{i}.png", synth.chest_image(i, False))) for i in range(30)]
    queue = DecodeQueue(paths, Preprocessing(input_size=64), workers=1, lookahead=30)
    first = queue.take(2)
    queue.close()
    assert len(first) == 2 and queue.take(5) == []


def test_model_header_is_read_without_torch_and_matches_the_file(tiny_model_path, tmp_path):
    child = (
        "import sys, json\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'safetensors'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from pneumo_desktop.core.modelfile import read_model_header\n"
        "from pneumo_desktop.core.decode import DecodeQueue\n"
        "from pneumo_desktop.core.image_preparation import Preprocessing\n"
        "meta = read_model_header(sys.argv[1])\n"
        "q = DecodeQueue([sys.argv[1]], Preprocessing.from_dict(meta['preprocessing']))\n"
        "print(json.dumps({'classes': meta['classes'], 'status': q.take(1)[0].status}))\n"
        "q.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", child, str(tiny_model_path)], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    _, metadata = read_model_file(tiny_model_path)
    assert result["classes"] == metadata["classes"]
    assert result["status"] == "error"  # a model file is not an image: a record, not a crash


def test_model_header_refuses_what_the_full_reader_refuses(tmp_path, tiny_model_path):
    pickle_file = tmp_path / "evil.pneumo"
    pickle_file.write_bytes(b"\x80\x04\x95" + b"\x00" * 40)
    with pytest.raises(ModelFileError, match="pickle"):
        read_model_header(pickle_file)
    truncated = tmp_path / "short.pneumo"
    truncated.write_bytes(tiny_model_path.read_bytes()[:200])
    with pytest.raises(ModelFileError, match="truncated"):
        read_model_header(truncated)
    with pytest.raises(ModelFileError, match="not found"):
        read_model_header(tmp_path / "nope.pneumo")
