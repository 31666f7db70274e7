"""Rebuild the outside-hospital chest X-ray sets from fetched git snapshots of four public repositories.

    python scripts/build_outside_data.py [--out DIR] [--mirrors ROOT]

The model is trained and tested on one hospital's films (the Guangzhou paediatric set in
``../shared/data/chest_xray``). These sets come from elsewhere and are used only to measure how
the app behaves on films it has never seen the like of (``experiments/gate_outside.py``). Nothing is
downloaded here: the images are read from bare git mirrors under ``--mirrors`` (default
``<repo root>/../.mirror``, laid out as ``ROOT/<owner>+<name>/repo`` or ``.../repo/.git``) and
written under ``--out`` (default ``<repo root>/../data/outside``), never into the repository:

    OUT/nih/NORMAL/*.png  OUT/nih/PNEUMONIA/*.png
    OUT/hannover/PNEUMONIA/*.png
    OUT/openist/NORMAL/*.jpg
    OUT/lateral/LATERAL/*
    OUT/manifest.csv      source,path (relative to OUT),label,patient,view,sha256

Sources, with the licence and attribution as the repositories' own README and LICENSE files
state them:

* **nih** (github:muhammedtalo/COVID-19, ``X-Ray Image DataSet/No_findings`` -> NORMAL and
  ``X-Ray Image DataSet/Pneumonia`` -> PNEUMONIA, 500 PNG each). The README says these are 500
  no-findings and 500 pneumonia frontal chest X-rays drawn at random from the ChestX-ray8
  database of Wang et al. (NIH Clinical Center), used by Talo et al., "Automated detection of
  COVID-19 cases using deep neural networks with X-ray images", Computers in Biology and Medicine
  2020, doi:10.1016/j.compbiomed.2020.103792. The repository has no LICENSE file and its README
  names no licence. Patient id: the file name before the underscore (``00001280_004.png`` ->
  ``00001280``). The view (PA or AP) is not recorded in the repository, so it is left blank.
* **hannover** (github:ml-workgroup/covid-19-image-repository, ``png/*.png``: downscaled adult
  chest radiographs of COVID-19 patients from the Institute for Diagnostic and Interventional
  Radiology, Hannover Medical School). Licence: Creative Commons Attribution 3.0 Unported
  (CC BY 3.0; LICENSE file and README); the README asks that publications attribute the authors,
  doi:10.6084/m9.figshare.12275009. All are COVID-19 positive -> PNEUMONIA. Patient id and view
  (``projection``: ap/pa) come from ``data.csv``.
* **openist** (github:pi-null-mezon/OpenIST, ``Datasets/Chest_x-ray/*.jpg``; the ``*@.png``
  files beside them are lung masks and are skipped). ``Datasets/README.md`` describes them as
  "x-ray images of normal human chest without meta-information about sex and scanner",
  originally from the normal-CXR training module of chestx-ray.com. The repository has no
  LICENSE file and names no licence for the images. Label NORMAL; view PA (normal adult PA
  films; the README itself does not name the view); patient id: the file stem.
* **lateral** (github:hida6/covid-chestxray-dataset, a copy of Cohen et al.'s COVID-19 image
  data collection, github:ieee8023/covid-chestxray-dataset): only the rows of ``metadata.csv``
  with ``view == "L"`` (lateral films), label LATERAL, patient id ``patientid``. Rows whose
  ``location`` mentions Hannover are skipped so that no film can appear in two sources. The
  README says each image's licence is given in ``metadata.csv`` (its ``license`` column: for the
  lateral rows CC BY-NC-SA or CC BY-NC-SA 4.0, a few blank = unknown) and that ``metadata.csv``
  and the documents are CC BY-NC-SA 4.0; cite Cohen et al., "COVID-19 Image Data Collection:
  Prospective Predictions Are the Future", arXiv:2006.11988 (2020).

Rerunnable: each source folder is brought to exactly the files this run selects (files already
there with the same bytes are left alone, others are written atomically, stray files removed)
and the manifest is replaced atomically. Files listed in a mirror's tree whose contents the
snapshot does not hold are counted as "not in snapshot" and left out. Every written image is
read back with ``pneumo_desktop.core.imageio.read_image``; those that do not decode are listed.
Exit status: 0 on success, 1 if a written image does not decode, 2 if a mirror is missing.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT.parent / "data" / "outside"
DEFAULT_MIRRORS = REPO_ROOT.parent / ".mirror"
MANIFEST_COLUMNS = ["source", "path", "label", "patient", "view", "sha256"]

if str(REPO_ROOT) not in sys.path:  # run from anywhere without installing the package
    sys.path.insert(0, str(REPO_ROOT))

#: source folder -> the repository it is read from (owner/name, as for ``fetch github:owner/name``)
SOURCES = {
    "nih": "muhammedtalo/COVID-19",
    "hannover": "ml-workgroup/covid-19-image-repository",
    "openist": "pi-null-mezon/OpenIST",
    "lateral": "hida6/covid-chestxray-dataset",
}


class MirrorMissing(Exception):
    pass


@dataclass(frozen=True)
class Item:
    """One image to write: where it lives in the mirror and what the manifest says about it."""

    blob: str          # git object id of the file's contents
    tree_path: str     # path inside the repository (for messages)
    label: str
    name: str          # file name to write under OUT/<source>/<label>/
    patient: str
    view: str


# ----- git ------------------------------------------------------------------------------------
def find_git_dir(mirrors: Path, repo: str) -> Path:
    """The git directory of ``repo`` (owner/name) under ``mirrors``: ``ROOT/owner+name/repo``
    when it is bare, or ``ROOT/owner+name/repo/.git``. Raises MirrorMissing."""
    base = mirrors / repo.replace("/", "+") / "repo"
    for candidate in (base, base / ".git"):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    raise MirrorMissing(f"no git mirror of {repo} under {mirrors} (fetch github:{repo} first)")


class Git:
    """Read-only access to one bare git directory: tree listings and blobs through one
    long-running ``git cat-file --batch``."""

    def __init__(self, git_dir: Path):
        self.git_dir = git_dir
        self.commit = self._run("rev-parse", "HEAD").decode().strip()
        self._cat = subprocess.Popen(["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def _run(self, *args: str) -> bytes:
        return subprocess.run(["git", "--git-dir", str(self.git_dir), *args], check=True,
                              capture_output=True).stdout

    def ls_tree(self, folder: str) -> list[tuple[str, str]]:
        """(blob id, path) of the files directly in ``folder`` at HEAD, sorted by path."""
        out = self._run("ls-tree", "-z", "HEAD", "--", folder.rstrip("/") + "/")
        rows = []
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, path = entry.split(b"\t", 1)
            _mode, kind, blob = meta.decode().split()
            if kind == "blob":
                rows.append((blob, path.decode("utf-8")))
        return sorted(rows, key=lambda r: r[1])

    def read(self, blob: str) -> bytes | None:
        """The blob's bytes, or None when the snapshot does not hold them."""
        self._cat.stdin.write(blob.encode() + b"\n")
        self._cat.stdin.flush()
        header = self._cat.stdout.readline().decode().split()
        if len(header) < 3 or header[1] == "missing":
            return None
        size = int(header[2])
        data = self._cat.stdout.read(size)
        self._cat.stdout.read(1)  # the newline after the contents
        return data

    def show(self, path: str) -> bytes:
        return self._run("show", f"HEAD:{path}")

    def close(self) -> None:
        if self._cat.poll() is None:
            self._cat.stdin.close()
            self._cat.wait()


# ----- selecting the images of each source -----------------------------------------------------
def select_nih(git: Git) -> list[Item]:
    items = []
    for folder, label in (("No_findings", "NORMAL"), ("Pneumonia", "PNEUMONIA")):
        for blob, path in git.ls_tree(f"X-Ray Image DataSet/{folder}"):
            name = PurePosixPath(path).name
            if name.lower().endswith(".png"):
                items.append(Item(blob, path, label, name, name.split("_", 1)[0], ""))
    return items


def select_hannover(git: Git) -> list[Item]:
    rows = {r["image_id"]: r for r in csv.DictReader(io.StringIO(git.show("data.csv").decode("utf-8")))}
    items = []
    for blob, path in git.ls_tree("png"):
        name = PurePosixPath(path).name
        if not name.lower().endswith(".png"):
            continue
        row = rows.get(PurePosixPath(name).stem, {})
        view = (row.get("projection") or "").strip().upper()
        items.append(Item(blob, path, "PNEUMONIA", name, row.get("patient_id", ""),
                          view if view in ("AP", "PA") else ""))
    return items


def select_openist(git: Git) -> list[Item]:
    items = []
    for blob, path in git.ls_tree("Datasets/Chest_x-ray"):
        name = PurePosixPath(path).name
        if name.lower().endswith(".jpg") and not PurePosixPath(name).stem.endswith("@"):
            items.append(Item(blob, path, "NORMAL", name, PurePosixPath(name).stem, "PA"))
    return items


def select_lateral(git: Git) -> list[Item]:
    items, seen = [], set()
    trees: dict[str, dict[str, str]] = {}  # folder -> {path: blob id}
    for row in csv.DictReader(io.StringIO(git.show("metadata.csv").decode("utf-8"))):
        if (row.get("view") or "").strip() != "L":
            continue
        if "hannover" in (row.get("location") or "").lower():
            continue
        folder, filename = row["folder"].strip(), row["filename"].strip()
        path = f"{folder}/{filename}"
        if path in seen:  # one file listed under two patients (000002-29.jpg): kept once, as the first
            print(f"  lateral: {path} is listed again (patient {row['patientid']}); kept once", file=sys.stderr)
            continue
        seen.add(path)
        if folder not in trees:
            trees[folder] = {p: b for b, p in git.ls_tree(folder)}
        items.append(Item(trees[folder].get(path, ""), path, "LATERAL", filename, row["patientid"].strip(), "L"))
    return items


SELECTORS = {"nih": select_nih, "hannover": select_hannover, "openist": select_openist, "lateral": select_lateral}


# ----- writing ------------------------------------------------------------------------------------
def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically unless it already holds exactly those bytes."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def build_source(source: str, git: Git, out: Path) -> tuple[list[dict], dict]:
    """Bring OUT/<source> to exactly this run's selection; return manifest rows and counts."""
    items = SELECTORS[source](git)
    folder = out / source
    rows, counts = [], Counter()
    keep: set[Path] = set()
    for item in items:
        data = git.read(item.blob) if item.blob else None
        if data is None:
            counts["not in snapshot"] += 1
            print(f"  {source}: {item.tree_path} is listed but not held by the snapshot; skipped", file=sys.stderr)
            continue
        target = folder / item.label / item.name
        if target in keep:  # two files of one name in one label folder: never seen, but never overwrite
            counts["duplicate name"] += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        counts["written" if write_if_changed(target, data) else "unchanged"] += 1
        keep.add(target)
        counts[item.label] += 1
        rows.append({"source": source, "path": target.relative_to(out).as_posix(), "label": item.label,
                     "patient": item.patient, "view": item.view, "sha256": hashlib.sha256(data).hexdigest()})
    if folder.is_dir():  # what an earlier run (or anyone) left there that this run did not select
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_file() and path not in keep:
                path.unlink()
                counts["removed"] += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    counts["patients"] = len({r["patient"] for r in rows})
    return rows, counts


def check_decodes(out: Path, rows: list[dict]) -> list[tuple[str, str]]:
    """(relative path, reason) of every written image that ``read_image`` cannot decode."""
    from pneumo_desktop.core.errors import ImageReadError
    from pneumo_desktop.core.imageio import read_image

    bad = []
    for row in rows:
        try:
            read_image(out / row["path"])
        except ImageReadError as exc:
            bad.append((row["path"], str(exc)))
    return bad


def write_manifest(out: Path, rows: list[dict]) -> None:
    tmp = out / ".manifest.csv.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, out / "manifest.csv")


def print_table(headers: list[str], rows: list[list]) -> None:
    cells = [[str(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    for values in [headers, ["-" * w for w in widths], *cells]:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--mirrors", default=str(DEFAULT_MIRRORS),
                        help=f"folder of git mirrors, ROOT/<owner>+<name>/repo (default {DEFAULT_MIRRORS})")
    args = parser.parse_args(argv)
    out, mirrors = Path(args.out).resolve(), Path(args.mirrors)
    try:
        git_dirs = {source: find_git_dir(mirrors, repo) for source, repo in SOURCES.items()}
    except MirrorMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    out.mkdir(parents=True, exist_ok=True)
    all_rows, table = [], []
    for source, git_dir in git_dirs.items():
        git = Git(git_dir)
        try:
            rows, counts = build_source(source, git, out)
        finally:
            git.close()
        all_rows.extend(rows)
        labels = ", ".join(f"{label} {counts[label]}" for label in sorted({r["label"] for r in rows}))
        table.append([source, SOURCES[source], git.commit[:10], len(rows), labels, counts["patients"],
                      counts["written"], counts["unchanged"], counts["removed"], counts["not in snapshot"]])
    write_manifest(out, all_rows)

    bad = check_decodes(out, all_rows)
    bad_by_source = Counter(path.split("/", 1)[0] for path, _ in bad)
    for row in table:
        row.append(bad_by_source[row[0]])
    print(f"outside-hospital chest X-ray sets in {out}")
    print_table(["source", "repository", "commit", "images", "labels", "patients", "written", "unchanged",
                 "removed", "not in snapshot", "do not decode"], table)
    print(f"total: {len(all_rows)} images; manifest: {out / 'manifest.csv'}")
    for path, reason in bad:
        print(f"does not decode: {path}: {reason}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
