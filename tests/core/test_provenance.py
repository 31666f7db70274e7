"""Model files name no folder of the machine that made them (core/provenance.py, modelfile)."""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import struct

import pytest
import torch

from pneumo_desktop import paths
from pneumo_desktop.core.classifier import Classifier
from pneumo_desktop.core.modelfile import read_model_file, read_model_header, save_model_file
from pneumo_desktop.core.provenance import (
    FILE_OPTIONS, FOLDER_OPTIONS, VALUELESS_OPTIONS, find_paths, portable_command, scrub_metadata, scrub_text,
)

PATIENT = "Doe_Jane_1957"  # a folder named like a patient: it must appear nowhere in a file


# ----- portable_command ---------------------------------------------------------------------------
def test_posix_training_command_keeps_options_and_names_no_folder():
    argv = ["train", f"/home/ana/Patients/{PATIENT}/xrays", "--out", f"/home/ana/models/{PATIENT}.pneumo",
            "--epochs", "15", "--no-augment", "--test-dir", f"/mnt/share/{PATIENT}/test", "--cache-dir",
            "~/cache", "--seed", "-1", "--zoom-range", "0.7,1.4", "--name", "site a", "--init",
            "../models/base.pneumo"]
    command = portable_command(argv)
    assert command == ("pneumo-desktop train DATA_DIR --out Doe_Jane_1957.pneumo --epochs 15 --no-augment "
                       "--test-dir TEST_DIR --cache-dir CACHE_DIR --seed -1 --zoom-range 0.7,1.4 "
                       "--name 'site a' --init base.pneumo")
    # Recording it again changes nothing (scrub_metadata relies on that).
    assert portable_command(shlex.split(command)[1:]) == command


def test_windows_paths_equals_form_abbreviations_and_flags_before_the_folder():
    argv = ["train", "--no-bf16", "C:\\Users\\ana\\Doe Jane\\xrays", "--out=D:\\models\\m.pneumo",
            "--test", "\\\\server\\ward3\\Doe Jane", "--figure", "C:/reports/roc.png", "--label-smoothing", "0.1"]
    words = shlex.split(portable_command(argv))
    assert words == ["pneumo-desktop", "train", "--no-bf16", "DATA_DIR", "--out=m.pneumo", "--test", "TEST_DIR",
                     "--figure", "roc.png", "--label-smoothing", "0.1"]


def test_relative_folders_are_judged_by_position_and_separators():
    # A folder without a separator is still the labelled folder of evaluate/train.
    assert portable_command(["evaluate", PATIENT, "--model", "m.pneumo", "--json", "--record"]) == \
        "pneumo-desktop evaluate DATA_DIR --model m.pneumo --json --record"
    # predict: files keep their name, folders become a placeholder, with or without a separator.
    assert portable_command(["predict", f"/scans/{PATIENT}/a.png", PATIENT, "--heatmaps", "out", "--csv",
                             f"/x/{PATIENT}/table.csv"]) == \
        "pneumo-desktop predict a.png FOLDER --heatmaps HEATMAP_DIR --csv table.csv"
    # An unknown option's value with a separator: a file keeps its name, a folder goes.
    assert portable_command(["train", "d", "--out", "m.pneumo", "--future-option", f"/x/{PATIENT}/"]) == \
        "pneumo-desktop train DATA_DIR --out m.pneumo --future-option FOLDER"
    assert portable_command([]) == "pneumo-desktop"


def test_the_option_tables_match_the_cli_parser():
    """Every flag that takes no value must be known, or the folder after it would be read as
    its value; every path option of the parser must be classed as a file or a folder."""
    from pneumo_desktop.cli import build_parser

    parser = build_parser()
    parsers = [parser] + [p for a in parser._actions if isinstance(a, argparse._SubParsersAction)
                          for p in a.choices.values()]
    valueless, path_like = set(), set()
    for p in parsers:
        for action in p._actions:
            if action.option_strings and action.nargs == 0:
                valueless.update(action.option_strings)
            dest = action.dest.lower()
            if action.option_strings and any(w in dest for w in ("dir", "out", "model", "figure", "csv",
                                                                  "heatmap", "init")):
                path_like.update(action.option_strings)
    assert valueless <= VALUELESS_OPTIONS, f"flags missing from VALUELESS_OPTIONS: {valueless - VALUELESS_OPTIONS}"
    assert path_like <= FILE_OPTIONS | set(FOLDER_OPTIONS), path_like - FILE_OPTIONS - set(FOLDER_OPTIONS)


# ----- scrub_text / scrub_metadata / find_paths -----------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    (f"/home/ana/{PATIENT}", "<folder>"),
    ("/data/Jane Doe", "<folder>"),                        # a space in the folder name
    (f"evaluated on /data/{PATIENT}/test, twice", "evaluated on <folder>, twice"),
    (f"C:\\Users\\ana\\{PATIENT}\\m.pneumo", "m.pneumo"),
    (f"\\\\server\\ward3\\{PATIENT}", "<folder>"),
    (f"see ~/{PATIENT}/roc.png)", "see roc.png)"),
    (f"/x/{PATIENT}.Smith", "<folder>"),                  # a dotted folder name is not a file name
    ("PneumoDesktop NORMAL / BACTERIA / VIRUS", "PneumoDesktop NORMAL / BACTERIA / VIRUS"),
    ("added by bench/add_detector.py; and/or 1/2, https://example.org/a", None),
])
def test_scrub_text(text, expected):
    assert scrub_text(text) == (text if expected is None else expected)


def realistic_metadata() -> dict:
    return {
        "name": "PneumoDesktop NORMAL / BACTERIA / VIRUS",
        "threshold": 0.5,
        "training": {
            "command": (f"pneumo-desktop train /work/{PATIENT}/train --out /work/runs/e16.pneumo --epochs 15 "
                        "--cache-dir /work/cache --name ensemble"),
            "config": {"epochs": 15, "widths": [8, 16, 16, 16], "init": f"C:\\models\\{PATIENT}\\base.pneumo"},
            "data": {"train_counts": {"NORMAL": 10, "PNEUMONIA": 12}, "n_unreadable": 0},
        },
        "test_metrics": {
            "n": 624, "accuracy": 0.9, "data_dir": f"/work/shared/{PATIENT}/test",
            "command": f"pneumo-desktop evaluate <shared>/{PATIENT}/test --model subtype.pneumo --json",
        },
        "detector": {"provenance": "added after training by bench/add_detector.py"},
        "notes": [f"wizard on /home/ana/{PATIENT}", None, 3, True],
        "history": {"command": "PneumoDesktop training wizard"},  # not a command line: left as it is
    }


def test_scrub_metadata_removes_every_folder_and_keeps_everything_else():
    metadata = realistic_metadata()
    before = copy.deepcopy(metadata)
    found = find_paths(metadata)
    assert PATIENT in " ".join(found) and len(found) == 5, found
    clean = scrub_metadata(metadata)
    assert metadata == before, "the input is not modified"
    assert find_paths(clean) == []
    assert PATIENT not in json.dumps(clean)
    assert clean["training"]["command"] == ("pneumo-desktop train DATA_DIR --out e16.pneumo --epochs 15 "
                                            "--cache-dir CACHE_DIR --name ensemble")
    assert clean["training"]["config"] == {"epochs": 15, "widths": [8, 16, 16, 16], "init": "base.pneumo"}
    assert "data_dir" not in clean["test_metrics"]
    assert clean["test_metrics"]["command"] == "pneumo-desktop evaluate DATA_DIR --model subtype.pneumo --json"
    assert clean["notes"] == ["wizard on <folder>", None, 3, True]
    # Untouched: the name's slashes, relative script names, numbers, counts.
    for key in ("name", "threshold", "detector", "history"):
        assert clean[key] == metadata[key]
    assert clean["training"]["data"] == metadata["training"]["data"]
    assert scrub_metadata(clean) == clean


# ----- through the model file ----------------------------------------------------------------------
def test_save_writes_no_path_and_keeps_the_tensors(tiny_classifier, tmp_path):
    metadata = copy.deepcopy(tiny_classifier.metadata)
    metadata["training"]["command"] = f"pneumo-desktop train /home/ana/{PATIENT} --out /home/ana/m.pneumo"
    metadata["test_metrics"] = {"n": 5, "data_dir": f"/home/ana/{PATIENT}/test"}
    metadata["site_note"] = f"C:\\Users\\ana\\{PATIENT}"
    tensors = tiny_classifier.tensors()
    path = tmp_path / "shared.pneumo"
    written = save_model_file(path, tensors, metadata)
    assert PATIENT.encode() not in path.read_bytes()
    assert b"/home/ana" not in path.read_bytes()
    new_tensors, stored = read_model_file(path)
    assert stored == written and find_paths(stored) == []
    assert stored["training"]["command"] == "pneumo-desktop train DATA_DIR --out m.pneumo"
    assert stored["test_metrics"] == {"n": 5} and stored["site_note"] == "<folder>"
    assert set(new_tensors) == set(tensors)
    for name, tensor in tensors.items():
        assert new_tensors[name].dtype == tensor.dtype and torch.equal(new_tensors[name], tensor), name
    # A Classifier saved this way holds what its file holds, so its version id matches the file's.
    classifier = Classifier.from_parts(tensors, metadata)
    classifier.save(path)
    assert find_paths(classifier.metadata) == []
    assert Classifier.load(path).version == classifier.version


@pytest.mark.parametrize("name", ["default", "ensemble", "subtype"])
def test_shipped_models_name_no_folder(name):
    path = {"default": paths.DEFAULT_MODEL_PATH, "ensemble": paths.ENSEMBLE_MODEL_PATH,
            "subtype": paths.SUBTYPE_MODEL_PATH}[name]
    if not path.is_file():
        pytest.skip(f"{path.name} is not in this checkout")
    metadata = read_model_header(path)
    assert find_paths(metadata) == []
    assert "data_dir" not in (metadata.get("test_metrics") or {})
    command = metadata["training"]["command"]
    assert command.startswith("pneumo-desktop train DATA_DIR "), command
    with open(path, "rb") as handle:  # safetensors: 8-byte length, then the JSON header
        raw = handle.read(8 + struct.unpack("<Q", handle.read(8))[0])
    for fragment in (b"/work/", b"/home/", b"train_full", b"chest_xray", b"<shared>"):
        assert fragment not in raw, fragment
