"""Tests for the command-line interface. Commands run in-process through ``cli.main``; the
self-test runs once as ``python -m pneumo_desktop --self-test`` in a subprocess."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pneumo_desktop import __version__, paths
from pneumo_desktop.cli import EXIT_MODEL, EXIT_USAGE, main
from pneumo_desktop.core.classifier import Classifier

REPO = Path(__file__).resolve().parents[2]
RECORD_KEYS = {"path", "status", "label", "probability", "probabilities", "message", "timing_ms"}
EVALUATE_KEYS = {"n", "accuracy", "precision", "recall", "specificity", "f1", "auc", "confusion_matrix",
                 "classes", "threshold", "ci"}


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """``main`` pins torch's thread count for the process; put it back after each test."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def run(capsys):
    """Run ``main(argv)``; return (exit code, stdout, stderr)."""
    def _run(*argv: str):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return _run


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), f"{fragment!r} not in {lines[0]!r}"


@pytest.fixture
def batch(tmp_path, synth) -> list[Path]:
    """Two X-rays, a missing path and a broken PNG, in that order."""
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    return [
        synth.write_png(tmp_path / "IM-6000-0001.png", synth.chest_image(6000, False)),
        tmp_path / "missing.png",
        broken,
        synth.write_png(tmp_path / "person600_virus_1.png",
                        np.asarray(Image.fromarray(synth.chest_image(6001, True, size=128)).resize((140, 110)))),
    ]


# ----- predict -------------------------------------------------------------------------------
def test_predict_json(run, tiny_model_path, batch):
    code, out, err = run("predict", "--model", tiny_model_path, "--json", *batch)
    assert code == 0, err
    records = json.loads(out)
    assert [r["path"] for r in records] == [str(p) for p in batch]
    assert [r["status"] for r in records] == ["ok", "error", "error", "ok"]
    for r in records:
        assert set(r) == RECORD_KEYS
        if r["status"] == "ok":
            assert r["label"] in ("NORMAL", "PNEUMONIA") and 0 <= r["probability"] <= 1
            assert r["probabilities"]["NORMAL"] + r["probabilities"]["PNEUMONIA"] == pytest.approx(1, abs=1e-5)
        else:
            assert r["label"] is None and r["probability"] is None and r["message"]
    assert "Traceback" not in err


def test_predict_plain_text(run, tiny_model_path, batch):
    code, out, _ = run("predict", "--model", tiny_model_path, *batch)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == len(batch)
    for line, path in zip(lines, batch):
        assert line.startswith(f"{path}\t")
    assert "P(abnormal)=" in lines[0] and "\tERROR\t" in lines[1] and "\tERROR\t" in lines[2]


def test_predict_uses_the_default_model(run, tiny_model_path, batch, monkeypatch):
    monkeypatch.setattr(paths, "DEFAULT_MODEL_PATH", tiny_model_path)
    code, out, _ = run("predict", "--json", batch[0])
    assert code == 0
    expected = json.loads(run("predict", "--model", tiny_model_path, "--json", batch[0])[1])
    assert [r["probability"] for r in json.loads(out)] == [r["probability"] for r in expected]


def test_predict_threshold_option(run, tiny_classifier, batch, tmp_path):
    import copy

    # A high temperature keeps probabilities well inside (0, 1), so thresholds on either side exist.
    metadata = copy.deepcopy(tiny_classifier.metadata)
    metadata["temperature"] = 50.0
    soft = tmp_path / "soft.pneumo"
    Classifier.from_parts(tiny_classifier.tensors(), metadata).save(soft)
    image = batch[0]
    p = json.loads(run("predict", "--model", soft, "--json", image)[1])[0]["probability"]
    assert 0.01 < p < 0.99
    below = json.loads(run("predict", "--model", soft, "--json", "--threshold", f"{p - 0.001:.6f}", image)[1])[0]
    above = json.loads(run("predict", "--model", soft, "--json", "--threshold", f"{p + 0.001:.6f}", image)[1])[0]
    assert below["label"] == "PNEUMONIA" and above["label"] == "NORMAL"
    assert below["probability"] == above["probability"] == p


def test_predict_csv(run, tiny_model_path, batch, tmp_path):
    import pandas as pd

    out_csv = tmp_path / "results" / "table.csv"
    code, out, err = run("predict", "--model", tiny_model_path, "--csv", out_csv, *batch)
    assert code == 0
    assert out == ""
    assert f"wrote {len(batch)} rows" in err
    table = pd.read_csv(out_csv)
    assert table["path"].tolist() == [str(p) for p in batch]
    assert table["status"].tolist() == ["ok", "error", "error", "ok"]
    assert {"P(NORMAL)", "P(PNEUMONIA)", "probability", "label", "message"} <= set(table.columns)


def test_predict_heatmaps(run, tiny_model_path, batch, tmp_path):
    heat_dir = tmp_path / "heat" / "maps"
    code, out, _ = run("predict", "--model", tiny_model_path, "--json", "--heatmaps", heat_dir, *batch)
    assert code == 0
    assert len(json.loads(out)) == len(batch)
    written = sorted(p.name for p in heat_dir.iterdir())
    assert written == ["IM-6000-0001_gradcam.png", "person600_virus_1_gradcam.png"]
    with Image.open(heat_dir / "person600_virus_1_gradcam.png") as im:
        assert im.mode == "RGB" and im.size == (140, 110)
        rgb = np.asarray(im)
    assert not (rgb[..., 0] == rgb[..., 1]).all(), "no colour overlay was drawn"


@pytest.mark.parametrize("value", ["1.5", "0", "1", "-0.2", "abc", "nan"])
def test_predict_bad_threshold(run, tiny_model_path, batch, value):
    code, out, err = run("predict", "--model", tiny_model_path, "--threshold", value, batch[0])
    assert code == EXIT_USAGE
    assert out == ""
    assert_one_line_error(err, "threshold")


def test_predict_missing_model(run, batch, tmp_path):
    code, out, err = run("predict", "--model", tmp_path / "nope.pneumo", batch[0])
    assert code == EXIT_MODEL and out == ""
    assert_one_line_error(err, "cannot load model", "not found")


@pytest.mark.parametrize("content", [b"", b"just text, not a model", b"\x80\x04\x95 pickle-ish"])
def test_predict_invalid_model(run, batch, tmp_path, content):
    bad = tmp_path / "bad.pneumo"
    bad.write_bytes(content)
    code, out, err = run("predict", "--model", bad, batch[0])
    assert code == EXIT_MODEL and out == ""
    assert_one_line_error(err, "cannot load model", "bad.pneumo")


def test_usage_errors_are_one_line(run):
    # (A first word that is neither a subcommand nor an option opens the app with those files,
    # so every case here starts with a subcommand or an option.)
    for argv in (["predict"], ["predict", "--frobnicate", "x.png"], ["--no-such-option"], ["train"], ["evaluate"],
                 ["predict", "x.png", "--json", "--csv", "out.csv"], ["predict", "x.png", "--batch-size", "0"]):
        code, out, err = run(*argv)
        assert code == EXIT_USAGE, argv
        assert_one_line_error(err)


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert "--threshold" in capsys.readouterr().out


# ----- train ---------------------------------------------------------------------------------
def test_train_one_class_folder(run, synthetic_folder, tmp_path):
    import shutil

    shutil.copytree(synthetic_folder / "NORMAL", tmp_path / "one" / "NORMAL")
    out_file = tmp_path / "out" / "m.pneumo"
    code, out, err = run("train", tmp_path / "one", "--out", out_file, "--epochs", "1")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "cannot train", "class folder")
    assert not out_file.exists() and not out_file.parent.exists()


def test_train_missing_folder_and_bad_options(run, tmp_path, synthetic_folder):
    code, _, err = run("train", tmp_path / "none", "--out", tmp_path / "m.pneumo")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "not a folder")
    code, _, err = run("train", synthetic_folder, "--out", tmp_path / "m.pneumo", "--widths", "8,16")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "--widths")
    code, _, err = run("train", synthetic_folder, "--out", tmp_path, "--epochs", "1")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "is a folder")
    code, _, err = run("train", synthetic_folder, "--out", tmp_path / "m.pneumo", "--epochs", "2", "--snapshots", "3")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "snapshots")
    code, _, err = run("train", synthetic_folder, "--out", tmp_path / "m.pneumo", "--haze", "1.5")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "--haze")
    code, _, err = run("train", synthetic_folder, "--out", tmp_path / "m.pneumo", "--border-mask", "0.45")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "hidden border")
    for option, value, message in (("--zoom-range", "0.3,1.4", "zoom range"), ("--zoom-range", "1.2", "--zoom-range"),
                                   ("--shift", "0.3", "shifts")):
        code, _, err = run("train", synthetic_folder, "--out", tmp_path / "m.pneumo", option, value)
        assert code == EXIT_USAGE, (option, value)
        assert_one_line_error(err, message)
    assert list(tmp_path.iterdir()) == []


def test_train_writes_exactly_out(run, synthetic_folder, synth, tmp_path, _private_user_data):
    out_dir = tmp_path / "models"
    out_dir.mkdir()
    cache = tmp_path / "cache"
    test_dir = synth.build_folder(tmp_path / "fresh", per_class=6, seed0=60_000)
    code, out, err = run("train", synthetic_folder, "--out", out_dir / "mine.pneumo", "--epochs", "2",
                         "--batch-size", "8", "--input-size", "64", "--widths", "8,16,16,16", "--lr", "0.005",
                         "--val-fraction", "0.25", "--no-bf16", "--cache-dir", cache, "--name", "my model",
                         "--test-dir", test_dir, "--tta", "shifts5", "--haze", "0.5", "--raw-noise", "0.03", "--mixup", "0.2",
                         "--detector-epochs", "1", "--zoom-range", "0.7,1.4", "--shift", "0.1",
                         "--border-mask", "0.125")
    assert code == 0, err
    assert "Traceback" not in err
    assert "saved" in err and "epoch 2/2" in err
    assert [p.name for p in out_dir.iterdir()] == ["mine.pneumo"], "exactly the --out file, no temporary files"
    assert list(cache.glob("decoded-*.npz")), "the decode cache went elsewhere"
    assert not list(Path(_private_user_data).rglob("*.pneumo"))
    clf = Classifier.load(out_dir / "mine.pneumo")
    assert clf.name == "my model"
    assert len(clf.tta_shifts) == 5
    config = clf.metadata["training"]["config"]
    assert config["epochs"] == 2 and config["widths"] == [8, 16, 16, 16] and config["bf16"] is False
    assert config["augmentation"]["haze_prob"] == 0.5 and config["augmentation"]["raw_noise_std"] == 0.03
    assert config["mixup_alpha"] == 0.2
    geometry = config["augmentation"]
    assert (geometry["scale_min"], geometry["scale_max"], geometry["shift_frac"]) == (0.7, 1.4, 0.1)
    assert config["border_mask"] == 0.125 and clf.preprocessing.border_mask == 0.125
    test_metrics = clf.metadata["test_metrics"]
    assert "data_dir" not in test_metrics, "a model file names no folder of this machine"
    assert test_metrics["n"] == 12 and 0 <= test_metrics["accuracy"] <= 1
    assert clf.metadata["training"]["command"].startswith("pneumo-desktop train DATA_DIR --out mine.pneumo --epochs 2 ")
    assert str(tmp_path) not in json.dumps(clf.metadata)


EXPERIMENT_FLAGS = ("--haze", "--raw-noise", "--mixup", "--border-mask", "--aspect-jitter", "--equalise")


def test_train_help_names_the_recipes_and_hides_the_experiment_flags(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # as one line, however the help was wrapped
    for shown in ("--recipe", "--set", "--config", "--epochs", "--seed", "--init", "default", "ensemble", "subtype",
                  "augmentation.haze_prob"):
        assert shown in text, shown
    for hidden in EXPERIMENT_FLAGS:
        assert hidden + " " not in text, f"{hidden} should not be in train --help"
    # The recipes' values come from the recipes, not from a copy in the help.
    assert "default 16,32,64,128" in text and "ensemble shifts5" in text


def test_hidden_experiment_flags_still_mean_what_they_meant():
    from pneumo_desktop.cli import build_parser, resolve_training_config
    from pneumo_desktop.core.recipes import get_recipe

    args = build_parser().parse_args(["train", "d", "--out", "m.pneumo", "--haze", "0.5", "--raw-noise", "0.04",
                                      "--mixup", "0.2", "--border-mask", "0.125", "--aspect-jitter", "1.35",
                                      "--equalise", "clahe", "--no-augment", "--input-size", "112"])
    config = resolve_training_config(args, get_recipe(args.recipe))
    assert (config.augmentation.haze_prob, config.augmentation.raw_noise_std, config.mixup_alpha) == (0.5, 0.04, 0.2)
    assert (config.border_mask, config.augmentation.aspect_max, config.equalise) == (0.125, 1.35, "clahe")
    assert config.augment is False and config.input_size == 112
    assert config.epochs == 15 and config.widths == (16, 32, 64, 128), "the rest is the default recipe's"


@pytest.mark.parametrize("extra, fragment", [
    (["--set", "augmentation.haze=0.5"], "unknown setting 'augmentation.haze' (did you mean augmentation.haze_max?)"),
    (["--set", "lerning_rate=0.01"], "did you mean learning_rate?"),
    (["--set", "epochs=ten"], "epochs must be a whole number"),
    (["--set", "epochs=0"], "epochs must be between 1 and 500"),
    (["--set", "augmentation.shift_frac=0.5"], "shifts must be between 0 and 0.25"),
    (["--set", "epochs"], "give KEY=VALUE"),
    (["--config", "missing.json"], "--config missing.json: cannot read it"),
])
def test_train_setting_errors_are_one_line_and_exit_2(run, synthetic_folder, tmp_path, monkeypatch, extra, fragment):
    monkeypatch.chdir(tmp_path)
    code, _, err = run("train", synthetic_folder, "--out", tmp_path / "m.pneumo", *extra)
    assert code == EXIT_USAGE
    assert_one_line_error(err, fragment)
    assert not (tmp_path / "m.pneumo").exists()


def test_train_config_file_must_be_a_json_object(run, synthetic_folder, tmp_path):
    for content, fragment in (("[1, 2]", "needs a JSON object"), ("{epochs: 2}", "not valid JSON"),
                              ('{"augmentation": {"haze": 0.5}}', "unknown setting 'augmentation.haze'")):
        (tmp_path / "c.json").write_text(content)
        code, _, err = run("train", synthetic_folder, "--out", tmp_path / "m.pneumo", "--config", tmp_path / "c.json")
        assert code == EXIT_USAGE, content
        assert_one_line_error(err, fragment)


def test_train_without_options_records_the_default_recipe(run, synthetic_folder, tmp_path):
    """``train DIR --out F`` trains the default recipe and records the recipe, the command and the
    resolved config. (Only to keep the test short: the detector is left out, float32 instead of
    bfloat16, which many CPUs emulate, and a smaller input.)"""
    from pneumo_desktop.core.recipes import DEFAULT

    out = tmp_path / "plain.pneumo"
    code, _, err = run("train", synthetic_folder, "--out", out, "--detector-epochs", "0", "--no-bf16",
                       "--set", "input_size=64", "--cache-dir", tmp_path / "cache")
    assert code == 0, err
    training = Classifier.load(out).metadata["training"]
    assert training["recipe"] == "default"
    assert training["command"] == ("pneumo-desktop train DATA_DIR --out plain.pneumo --detector-epochs 0 --no-bf16 "
                                   "--set input_size=64 --cache-dir CACHE_DIR")
    expected = DEFAULT.config(detector_epochs=0, bf16=False, input_size=64)
    assert training["config"] == json.loads(json.dumps(expected.to_dict()))


def test_train_recipe_ensemble_with_a_config_file_and_set(run, synthetic_folder, tmp_path):
    settings = {"epochs": 3, "widths": [8, 8, 8, 8], "input_size": 64, "augmentation": {"haze_prob": 0.5}}
    (tmp_path / "tiny.json").write_text(json.dumps(settings))
    out = tmp_path / "ens.pneumo"
    code, _, err = run("train", synthetic_folder, "--out", out, "--recipe", "ensemble", "--config",
                       tmp_path / "tiny.json", "--set", "detector_epochs=0", "--set", "augmentation.haze_prob=0.25",
                       "--batch-size", "16", "--cache-dir", tmp_path / "cache")
    assert code == 0, err
    clf = Classifier.load(out)
    training = clf.metadata["training"]
    config = training["config"]
    assert training["recipe"] == "ensemble"
    assert (config["members"], config["snapshots"], len(config["tta_shifts"])) == (3, 3, 5)
    assert len(clf.members) == 9 and len(clf.tta_shifts) == 5
    assert (config["epochs"], config["widths"], config["input_size"], config["batch_size"]) == (3, [8, 8, 8, 8], 64, 16)
    assert config["augmentation"]["haze_prob"] == 0.25, "--set comes after --config"
    assert "--config tiny.json" in training["command"] and str(tmp_path) not in training["command"]


# ----- evaluate ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def eval_folder(tmp_path_factory, synth) -> Path:
    return synth.build_folder(tmp_path_factory.mktemp("eval") / "data", per_class=8, seed0=80_000)


def test_evaluate_json(run, tiny_model_path, eval_folder):
    code, out, err = run("evaluate", eval_folder, "--model", tiny_model_path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert EVALUATE_KEYS <= set(report)
    assert report["n"] == 16
    assert report["classes"] == ["NORMAL", "PNEUMONIA"]
    assert report["threshold"] == pytest.approx(Classifier.load(tiny_model_path).threshold)
    assert np.asarray(report["confusion_matrix"]).sum() + report["n_refused"] == 16
    for key in ("accuracy", "recall", "specificity"):
        assert 0 <= report[key] <= 1
        assert len(report["ci"][key]) == 2 and report["ci"][key][0] <= report[key] <= report["ci"][key][1]


def test_evaluate_text_table_with_threshold(run, tiny_model_path, eval_folder):
    code, out, _ = run("evaluate", eval_folder, "--model", tiny_model_path, "--threshold", "0.3")
    assert code == 0
    assert "Accuracy" in out and "ROC AUC" in out
    assert re.search(r"^Threshold\s+0\.300\b", out, re.M), out


def test_evaluate_bad_folders(run, tiny_model_path, tmp_path, synth):
    code, _, err = run("evaluate", tmp_path / "none", "--model", tiny_model_path)
    assert code == EXIT_USAGE
    assert_one_line_error(err, "cannot evaluate")
    odd = tmp_path / "odd"
    synth.write_png(odd / "NORMAL" / "IM-0001-0001.png", synth.chest_image(1, False))
    synth.write_png(odd / "COVID" / "x.png", synth.chest_image(2, True))
    code, _, err = run("evaluate", odd, "--model", tiny_model_path)
    assert code == EXIT_USAGE
    assert_one_line_error(err, "COVID")


# ----- info ----------------------------------------------------------------------------------
def test_info(run, tiny_model_path, tiny_classifier, tmp_path):
    code, out, _ = run("info", "--model", tiny_model_path, "--json")
    assert code == 0
    meta = json.loads(out)
    assert meta["version_id"] == tiny_classifier.version
    assert meta["path"] == str(tiny_model_path)
    assert meta["classes"] == ["NORMAL", "PNEUMONIA"] and meta["threshold"] == tiny_classifier.threshold
    assert "training" in meta and "validation_metrics" in meta
    code, out, _ = run("info", "--model", tiny_model_path)
    assert code == 0
    assert tiny_classifier.version in out and "NORMAL, PNEUMONIA" in out
    stress = tiny_classifier.metadata["validation_stress_metrics"]
    assert f"validation stress (changes to the normals): mean AUC {stress['mean_auc']:.4f}" in out
    assert "hidden" not in out
    masked_meta = copy.deepcopy(tiny_classifier.metadata)
    masked_meta["preprocessing"]["border_mask"] = 0.125
    masked_path = tmp_path / "masked.pneumo"
    Classifier.from_parts(tiny_classifier.tensors(), masked_meta).save(masked_path)
    code, out, _ = run("info", "--model", masked_path)
    assert code == 0 and "outer 12.5% of each side hidden" in out
    code, _, err = run("info", "--model", Path(tiny_model_path).parent / "nothing.pneumo")
    assert code == EXIT_MODEL
    assert_one_line_error(err, "cannot load model")


# ----- self-test -----------------------------------------------------------------------------
def test_self_test_subprocess(tiny_model_path, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PNEUMO_DESKTOP_HOME=str(tmp_path / "home"))
    if paths.DEFAULT_MODEL_PATH.is_file():
        argv = [sys.executable, "-m", "pneumo_desktop", "--self-test"]
    else:  # no shipped model yet: run the same entry point with the tiny model as the default
        code = ("import sys, pathlib; from pneumo_desktop import paths; from pneumo_desktop.__main__ import main; "
                f"paths.DEFAULT_MODEL_PATH = pathlib.Path({str(tiny_model_path)!r}); "
                "sys.exit(main(['--self-test']))")
        argv = [sys.executable, "-c", code]
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    result = json.loads(proc.stdout)
    assert "Traceback" not in proc.stderr
    assert result["prediction"]["status"] == "ok", result
    assert result["heatmap_ok"] is True, result
    assert result["ok"] is True, result
    assert proc.returncode == 0
    assert set(result["timings_s"]) >= {"load_model", "predict_with_heatmap", "total"}
    # Nothing was left in the user data folder's temporary area.
    assert not list((tmp_path / "home").glob("pneumo-selftest-*"))


def _run_cli_process(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ, PNEUMO_DESKTOP_THREADS="1")
    return subprocess.run([sys.executable, "-m", "pneumo_desktop", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=timeout)


def test_predict_process_writes_complete_output_before_its_fast_exit(tiny_model_path, batch, tmp_path):
    """The console entry point ends ``predict`` without interpreter teardown (os._exit); every
    byte of stdout, the CSV and the heatmaps must be there, and the exit code must be kept."""
    csv_path, heat_dir = tmp_path / "out.csv", tmp_path / "heat"
    json_run = _run_cli_process("predict", *map(str, batch), "--model", str(tiny_model_path), "--json",
                                "--heatmaps", str(heat_dir))
    assert json_run.returncode == 0, json_run.stderr
    records = json.loads(json_run.stdout)
    assert [r["path"] for r in records] == [str(p) for p in batch]
    ok = [r for r in records if r["status"] == "ok"]
    assert ok and len(list(heat_dir.glob("*_gradcam.png"))) == len(ok)
    csv_run = _run_cli_process("predict", *map(str, batch), "--model", str(tiny_model_path), "--csv", str(csv_path))
    assert csv_run.returncode == 0, csv_run.stderr
    assert len(csv_path.read_text().strip().splitlines()) == len(batch) + 1
    bad = _run_cli_process("predict", str(batch[0]), "--model", str(tmp_path / "absent.pneumo"))
    assert bad.returncode == EXIT_MODEL and bad.stderr.strip().startswith("error: cannot load model")
    assert "Traceback" not in bad.stderr


def test_predict_process_matches_the_in_process_results(run, tiny_model_path, batch):
    """Forked decoding (the CLI) and threaded decoding (the library) give the same records."""
    proc = _run_cli_process("predict", *map(str, batch), "--model", str(tiny_model_path), "--json")
    code, out, _ = run("predict", *map(str, batch), "--model", str(tiny_model_path), "--json")
    assert proc.returncode == 0 and code == 0
    strip = [{k: v for k, v in r.items() if k != "timing_ms"} for r in json.loads(proc.stdout)]
    assert strip == [{k: v for k, v in r.items() if k != "timing_ms"} for r in json.loads(out)]


def test_evaluate_record_stores_the_metrics_in_the_model_file(run, tiny_model_path, eval_folder, tmp_path):
    model = tmp_path / "recorded.pneumo"
    model.write_bytes(tiny_model_path.read_bytes())
    code, out, err = run("evaluate", eval_folder, "--model", model, "--json", "--record")
    assert code == 0, err
    report = json.loads(out)
    stored = Classifier.load(model).metadata["test_metrics"]
    assert stored["n"] == report["n"] == 16
    assert stored["accuracy"] == pytest.approx(report["accuracy"])
    assert "data_dir" not in stored and str(eval_folder) not in json.dumps(stored)


@pytest.mark.parametrize("extra", [[], ["--threshold", "0.4"]])
def test_evaluate_record_refusals_leave_the_model_untouched(run, tiny_model_path, eval_folder, tmp_path, extra):
    model = tmp_path / "kept.pneumo"
    model.write_bytes(tiny_model_path.read_bytes())
    before = model.read_bytes()
    args = ["evaluate", eval_folder, "--record", *extra] + (["--model", model] if extra else [])
    code, _, err = run(*args)
    assert code == EXIT_USAGE
    assert_one_line_error(err, "--record")
    assert model.read_bytes() == before


def test_model_write_failures_are_one_line_errors(run, tiny_model_path, eval_folder, synthetic_folder, tmp_path,
                                                  monkeypatch):
    """A folder that cannot be written (read-only media, permissions) gives a message, not a
    traceback, and the model file already there is unchanged."""
    def refuse(self, path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Classifier, "save", refuse)
    model = tmp_path / "kept.pneumo"
    model.write_bytes(tiny_model_path.read_bytes())
    code, _, err = run("evaluate", eval_folder, "--model", model, "--record")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "cannot write the model file", "Permission denied")
    assert model.read_bytes() == tiny_model_path.read_bytes()
    code, _, err = run("train", synthetic_folder, "--out", tmp_path / "new.pneumo", "--epochs", "1",
                       "--input-size", "64", "--widths", "8,8,8,8", "--cache-dir", tmp_path / "cache",
                       "--detector-epochs", "1")
    assert code == EXIT_USAGE
    # Training prints its progress on stderr first; the error is the last line.
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: cannot write the model file")
    assert not (tmp_path / "new.pneumo").exists()


def test_evaluate_figure(run, tiny_model_path, eval_folder, tmp_path):
    from PIL import Image

    out_dir = tmp_path / "figs"
    out_dir.mkdir()
    target = out_dir / "eval.png"
    code, out, err = run("evaluate", eval_folder, "--model", tiny_model_path, "--figure", target)
    assert code == 0, err
    assert "Traceback" not in err and "wrote the figure" in err
    assert [p.name for p in out_dir.iterdir()] == ["eval.png"], "no temporary file is left beside the figure"
    with Image.open(target) as image:
        assert image.format == "PNG" and image.size[0] > 2 * image.size[1] > 600
    code, _, err = run("evaluate", eval_folder, "--model", tiny_model_path, "--figure", out_dir)
    assert code == EXIT_USAGE
    assert_one_line_error(err, "is a folder")
    code, _, err = run("evaluate", eval_folder, "--model", tiny_model_path, "--figure", tmp_path / "none" / "x.png")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "cannot write the figure")
