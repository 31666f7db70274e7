"""Tests for pneumo_desktop.core.dataset: scanning, patient ids, grouped splits, decode cache."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pneumo_desktop.core import dataset as ds
from pneumo_desktop.core.dataset import (
    TABLE_COLUMNS,
    check_trainable,
    class_counts,
    decode_images,
    duplicate_groups,
    grouped_split,
    manifest_sha256,
    patient_id,
    scan_labelled_folder,
)
from pneumo_desktop.core.errors import DatasetError
from pneumo_desktop.core.batch_transforms import Preprocessing

PER_CLASS = 24  # images per class in the session's synthetic folder (tests/core/conftest.py)


# ----- patient ids ---------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("person12_bacteria_45.jpeg", "person12"),
    ("person1_virus_6.png", "person1"),
    ("person123_bacteria_1.png", "person123"),
    ("IM-0115-0001.jpeg", "IM-0115"),
    ("IM-0115-0002.png", "IM-0115"),
    ("NORMAL2-IM-0591-0001.jpeg", "NORMAL2-IM-0591"),
    ("PERSON7_Virus_3.PNG", "PERSON7"),
    ("scan_of_someone.png", "scan_of_someone"),
    ("/a/b/PNEUMONIA/person3_bacteria_10.jpeg", "person3"),
])
def test_patient_id(name, expected):
    assert patient_id(name) == expected
    assert patient_id(Path(name)) == expected


def test_same_patient_different_images_share_an_id():
    assert patient_id("person128_bacteria_606.jpeg") == patient_id("person128_bacteria_607.jpeg")
    assert patient_id("person12_x.png") != patient_id("person123_x.png")


# ----- scanning ------------------------------------------------------------------------------
def test_scan_columns_and_content(synthetic_folder):
    table = scan_labelled_folder(synthetic_folder, split="train")
    assert list(table.columns) == TABLE_COLUMNS == ["path", "label", "patient", "sha256", "split"]
    assert len(table) == 2 * PER_CLASS
    assert class_counts(table) == {"NORMAL": PER_CLASS, "PNEUMONIA": PER_CLASS}
    assert set(table["split"]) == {"train"}
    # Sorted by label then path.
    assert table[["label", "path"]].values.tolist() == sorted(table[["label", "path"]].values.tolist())
    for row in table.itertuples():
        path = Path(row.path)
        assert path.is_file()
        assert path.parent.name == row.label
        assert row.patient == patient_id(path)
        assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # Two images per patient in the synthetic folder.
    assert table.groupby("patient").size().eq(2).all()
    assert scan_labelled_folder(synthetic_folder, split="eval")["split"].eq("eval").all()


def test_scan_ignores_hidden_files_keeps_nested_and_non_images(synthetic_folder, tmp_path, synth):
    root = synth.copy_folder(synthetic_folder, tmp_path / "data")
    (root / "NORMAL" / ".DS_Store").write_bytes(b"junk")
    (root / "NORMAL" / ".hidden").mkdir()
    synth.write_png(root / "NORMAL" / ".hidden" / "IM-0900-0001.png", synth.chest_image(1, False))
    synth.write_png(root / "NORMAL" / "sub" / "IM-0901-0001.png", synth.chest_image(2, False))
    (root / "NORMAL" / "notes.txt").write_text("not an image")
    (root / ".git").mkdir()  # a hidden folder is not a class
    table = scan_labelled_folder(root)
    names = set(Path(p).name for p in table["path"])
    assert ".DS_Store" not in names and "IM-0900-0001.png" not in names
    assert {"IM-0901-0001.png", "notes.txt"} <= names
    assert class_counts(table) == {"NORMAL": PER_CLASS + 2, "PNEUMONIA": PER_CLASS}


def test_scan_refuses_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="not a folder"):
        scan_labelled_folder(tmp_path / "nowhere")
    afile = tmp_path / "file.png"
    afile.write_bytes(b"x")
    with pytest.raises(DatasetError, match="not a folder"):
        scan_labelled_folder(afile)


def test_scan_refuses_one_class_folder(synthetic_folder, tmp_path):
    root = tmp_path / "one"
    shutil.copytree(synthetic_folder / "NORMAL", root / "NORMAL")
    with pytest.raises(DatasetError, match=r"found 1 class folder.*at least two"):
        scan_labelled_folder(root)
    with pytest.raises(DatasetError, match="found 0 class folder"):
        scan_labelled_folder(root / "NORMAL")


def test_scan_refuses_empty_class(synthetic_folder, tmp_path):
    root = tmp_path / "empty"
    shutil.copytree(synthetic_folder / "NORMAL", root / "NORMAL")
    (root / "PNEUMONIA").mkdir()
    (root / "PNEUMONIA" / ".DS_Store").write_bytes(b"only hidden files")
    with pytest.raises(DatasetError, match=r"PNEUMONIA/ is empty"):
        scan_labelled_folder(root)


def test_scan_refuses_unknown_scheme(synthetic_folder):
    with pytest.raises(DatasetError, match="unknown class scheme"):
        scan_labelled_folder(synthetic_folder, class_scheme="colours")


def test_subtype_scheme(synthetic_folder):
    table = scan_labelled_folder(synthetic_folder, class_scheme="subtype")
    counts = class_counts(table)
    assert counts == {"BACTERIA": PER_CLASS // 2, "NORMAL": PER_CLASS, "VIRUS": PER_CLASS // 2}
    for row in table.itertuples():
        name = Path(row.path).name
        expected = "NORMAL" if "IM-" in name else ("BACTERIA" if "bacteria" in name else "VIRUS")
        assert row.label == expected, name


def test_subtype_scheme_refuses_unnamed_pneumonia(synthetic_folder, tmp_path, synth):
    root = synth.copy_folder(synthetic_folder, tmp_path / "data")
    synth.write_png(root / "PNEUMONIA" / "person99_unknown_1.png", synth.chest_image(5, True))
    with pytest.raises(DatasetError, match="person99_unknown_1.png.*bacteria.*virus"):
        scan_labelled_folder(root, class_scheme="subtype")
    # The plain folder scheme does not care.
    assert len(scan_labelled_folder(root)) == 2 * PER_CLASS + 1


def test_check_trainable_and_manifest(synthetic_folder):
    table = scan_labelled_folder(synthetic_folder)
    check_trainable(table)
    with pytest.raises(DatasetError, match="two classes"):
        check_trainable(table[table["label"] == "NORMAL"])
    tiny = pd.concat([table[table["label"] == "NORMAL"], table[table["label"] == "PNEUMONIA"].head(1)])
    with pytest.raises(DatasetError, match=r"PNEUMONIA \(1\)"):
        check_trainable(tiny)
    # The manifest digest depends on labels and bytes, not on paths or row order.
    moved = table.sample(frac=1.0, random_state=3).assign(path=lambda t: "/elsewhere/" + t["path"].str[-12:])
    assert manifest_sha256(moved) == manifest_sha256(table)
    relabelled = table.copy()
    relabelled.loc[0, "label"] = "PNEUMONIA"
    assert manifest_sha256(relabelled) != manifest_sha256(table)


# ----- grouped split -------------------------------------------------------------------------
@pytest.fixture
def folder_with_duplicates(synthetic_folder, tmp_path, synth) -> Path:
    """The synthetic folder plus byte-identical copies filed under other patients' names.

    * ``person900_bacteria_1.png`` is a copy of ``person1_bacteria_0.png``, and patient
      person900 has a second, distinct image: person1 and person900 must travel together.
    * ``IM-0950-0001.png`` and ``IM-0951-0001.png`` are copies of ``IM-0100-0001.png``.
    """
    root = synth.copy_folder(synthetic_folder, tmp_path / "dups")
    shutil.copyfile(root / "PNEUMONIA" / "person1_bacteria_0.png", root / "PNEUMONIA" / "person900_bacteria_1.png")
    synth.write_png(root / "PNEUMONIA" / "person900_bacteria_2.png", synth.chest_image(31337, True))
    for name in ("IM-0950-0001.png", "IM-0951-0001.png"):
        shutil.copyfile(root / "NORMAL" / "IM-0100-0001.png", root / "NORMAL" / name)
    return root


def _assert_clean_split(split: pd.DataFrame) -> None:
    train = split[split["split"] == "train"]
    val = split[split["split"] == "val"]
    assert set(split["split"]) == {"train", "val"}
    assert not set(train["patient"]) & set(val["patient"]), "a patient is on both sides"
    assert not set(train["sha256"]) & set(val["sha256"]), "an identical image is on both sides"
    assert set(val["label"]) == set(split["label"]) == set(train["label"]), "split is not stratified"


def test_duplicates_are_detected(folder_with_duplicates):
    table = scan_labelled_folder(folder_with_duplicates)
    groups = sorted(sorted(Path(p).name for p in g) for g in duplicate_groups(table))
    assert groups == [
        ["IM-0100-0001.png", "IM-0950-0001.png", "IM-0951-0001.png"],
        ["person1_bacteria_0.png", "person900_bacteria_1.png"],
    ]


@pytest.mark.parametrize("seed", range(12))
def test_grouped_split_keeps_patients_and_identical_images_together(folder_with_duplicates, seed):
    table = scan_labelled_folder(folder_with_duplicates)
    split = grouped_split(table, val_fraction=0.25, seed=seed)
    assert len(split) == len(table)
    assert list(split.columns) == TABLE_COLUMNS
    assert sorted(split["path"]) == sorted(table["path"])
    _assert_clean_split(split)
    sides = dict(zip(split["path"].map(lambda p: Path(p).name), split["split"]))
    # person1's two images, its copy under person900, and person900's other image: one group.
    chain = ["person1_bacteria_0.png", "person1_bacteria_1.png", "person900_bacteria_1.png", "person900_bacteria_2.png"]
    assert len({sides[n] for n in chain}) == 1, {n: sides[n] for n in chain}
    copies = ["IM-0100-0001.png", "IM-0100-0002.png", "IM-0950-0001.png", "IM-0951-0001.png"]
    assert len({sides[n] for n in copies}) == 1, {n: sides[n] for n in copies}


def test_grouped_split_is_reproducible_and_seed_dependent(synthetic_folder):
    table = scan_labelled_folder(synthetic_folder)
    first = grouped_split(table, 0.25, seed=5)
    again = grouped_split(table.sample(frac=1.0, random_state=1).sort_values(["label", "path"]), 0.25, seed=5)
    assert first["split"].tolist() == grouped_split(table, 0.25, seed=5)["split"].tolist()
    assert dict(zip(first["path"], first["split"])) == dict(zip(again["path"], again["split"]))
    val_sets = {frozenset(grouped_split(table, 0.25, seed=s).query("split == 'val'")["path"]) for s in range(6)}
    assert len(val_sets) > 1, "the seed does not change the split"
    # The input table is not modified.
    assert table["split"].eq("train").all()


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_grouped_split_respects_val_fraction(synthetic_folder, fraction):
    table = scan_labelled_folder(synthetic_folder)
    split = grouped_split(table, fraction, seed=1)
    _assert_clean_split(split)
    largest_group = int(table.groupby("patient").size().max())
    for label, n in class_counts(table).items():
        n_val = int(((split["label"] == label) & (split["split"] == "val")).sum())
        # Whole groups are taken until the class reaches its target, so the overshoot is
        # less than one group.
        assert fraction * n <= n_val < fraction * n + largest_group, (label, n_val)
    assert abs((split["split"] == "val").mean() - fraction) < 0.1


def test_grouped_split_refusals(synthetic_folder):
    table = scan_labelled_folder(synthetic_folder)
    for bad in (0.0, 1.0, -0.2, 1.5):
        with pytest.raises(DatasetError, match="between 0 and 1"):
            grouped_split(table, bad)
    # One patient per class cannot give both splits every class.
    one_each = table[table["patient"].isin(["IM-0100", "person1"])]
    with pytest.raises(DatasetError, match="too few patients"):
        grouped_split(one_each, 0.5)


# ----- decoding and the cache ----------------------------------------------------------------
def test_decode_images_caches_to_disk_and_reloads(synthetic_folder, tmp_path, monkeypatch):
    paths = scan_labelled_folder(synthetic_folder)["path"].tolist()[::6]
    prep = Preprocessing(input_size=64)
    cache = tmp_path / "cache"
    calls = []
    first = decode_images(paths, prep, cache_dir=cache, progress=lambda d, t: calls.append((d, t)))
    assert first.images.dtype == np.uint8 and first.images.shape == (len(paths), 64, 64)
    assert first.ok.all() and first.errors == {}
    assert calls[-1] == (len(paths), len(paths))
    cached = list(cache.glob("decoded-*.npz"))
    assert len(cached) == 1
    assert not list(cache.glob("*.tmp*")), "temporary cache file left behind"
    # The stored rows are the prepared images, in input order.
    for i in (0, len(paths) - 1):
        assert np.array_equal(first.images[i], ds._decode_one(paths[i], prep))

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the cache should have been used")

    monkeypatch.setattr(ds, "_decode_one", no_decoding)
    second = decode_images(paths, prep, cache_dir=cache)
    assert np.array_equal(second.images, first.images)
    assert np.array_equal(second.ok, first.ok)
    assert second.errors == first.errors
    # Other preprocessing is another cache entry (so it decodes: our stub fires).
    with pytest.raises(AssertionError, match="decoded again"):
        decode_images(paths, Preprocessing(input_size=64, equalise="none"), cache_dir=cache)


def test_decode_cache_is_invalidated_when_a_file_changes(synthetic_folder, tmp_path, synth):
    root = synth.copy_folder(synthetic_folder, tmp_path / "data")
    paths = sorted(str(p) for p in (root / "NORMAL").glob("*.png"))[:3]
    prep = Preprocessing(input_size=64)
    first = decode_images(paths, prep, cache_dir=tmp_path / "cache")
    synth.write_png(Path(paths[1]), synth.chest_image(999, True, size=128))  # a different size too
    second = decode_images(paths, prep, cache_dir=tmp_path / "cache")
    assert np.array_equal(first.images[0], second.images[0])
    assert not np.array_equal(first.images[1], second.images[1])


def test_damaged_cache_is_rebuilt(synthetic_folder, tmp_path):
    paths = scan_labelled_folder(synthetic_folder)["path"].tolist()[:3]
    prep = Preprocessing(input_size=64)
    first = decode_images(paths, prep, cache_dir=tmp_path)
    (cache_file,) = tmp_path.glob("decoded-*.npz")
    cache_file.write_bytes(b"garbage")
    again = decode_images(paths, prep, cache_dir=tmp_path)
    assert np.array_equal(again.images, first.images)


def test_unreadable_file_is_reported_not_skipped(synthetic_folder, tmp_path, synth):
    root = synth.copy_folder(synthetic_folder, tmp_path / "data")
    bad = root / "NORMAL" / "IM-0777-0001.png"
    bad.write_text("this is not a PNG")
    table = scan_labelled_folder(root)
    assert str(bad) in set(table["path"]), "the broken file must be listed, not dropped"
    paths = table["path"].tolist()
    for cache_dir in (None, tmp_path / "cache", tmp_path / "cache"):  # fresh, written, reloaded
        decoded = decode_images(paths, Preprocessing(input_size=64), cache_dir=cache_dir)
        index = paths.index(str(bad))
        assert decoded.ok.sum() == len(paths) - 1
        assert not decoded.ok[index]
        assert not decoded.images[index].any()
        assert list(decoded.errors) == [str(bad)]
        assert "IM-0777-0001.png" in decoded.errors[str(bad)]


def test_decode_cache_sees_a_same_size_rewrite_within_the_same_second(tmp_path, synth):
    import os

    # BMP is uncompressed: the rewrite below has exactly the same size, so only the mtime differs.
    path = synth.write_png(tmp_path / "IM-0001-0001.bmp", synth.chest_image(1, False))
    size = path.stat().st_size
    prep = Preprocessing(input_size=64, equalise="none")
    stamp = 1_700_000_000_100_000_000  # ns
    os.utime(path, ns=(stamp, stamp))
    first = ds.decode_images([path], prep, cache_dir=tmp_path / "cache").images[0].copy()
    inverted = 255 - synth.chest_image(1, False)
    synth.write_png(path, inverted)
    assert path.stat().st_size == size
    os.utime(path, ns=(stamp + 400_000_000, stamp + 400_000_000))  # same whole second
    second = ds.decode_images([path], prep, cache_dir=tmp_path / "cache").images[0]
    assert not np.array_equal(first, second)
