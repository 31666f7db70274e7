"""Build the PneumoDesktop one-folder bundle with PyInstaller: the one command.

    python packaging/build_bundle.py [--dist DIR] [--work DIR] [--clean] [--no-archive]

It runs PyInstaller on ``build/pyinstaller.spec`` with ``--distpath`` (default ``dist/``) and
``--workpath`` (default ``out/pyinstaller-work``, kept between builds so a rebuild is incremental),
both outside ``build/`` and git-ignored. Then:

* on Linux it writes ``<dist>/pneumo-desktop.desktop`` (a menu entry pointing at this build) and
  puts ``install-desktop-entry.sh`` into the bundle folder (it installs a menu entry for wherever
  the folder has been unpacked);
* it packs the folder into ``<dist>/pneumo-desktop-<version>-<os>-<arch>.tar.gz`` (``.zip`` on
  Windows/macOS);
* it prints the build time, the unpacked size and the archive size, and writes them to
  ``<dist>/pneumo-desktop-build.json`` (``bench/bench_bundle.py`` reads it).

Exit status: PyInstaller's on a failed build, 2 on a usage error, 0 on success.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import stat
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "build" / "pyinstaller.spec"
DESKTOP_TEMPLATE = ROOT / "packaging" / "pneumo-desktop.desktop"
ICON_REL = Path("_internal") / "pneumo_desktop" / "resources" / "icons" / "app.png"


def project_info() -> tuple[str, str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    return project["name"], project["version"]


def platform_tag() -> str:
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform)
    return f"{system}-{platform.machine().lower() or 'unknown'}"


def tree_size(path: Path) -> tuple[int, int]:
    """(bytes, files) of a folder as stored: symbolic links count as links, not their targets."""
    total = files = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            st = os.lstat(os.path.join(dirpath, name))
            total += st.st_size
            files += 1
    return total, files


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def fill_desktop_template(exec_path: str, icon_path: str, wm_class: str) -> str:
    text = DESKTOP_TEMPLATE.read_text(encoding="utf-8")
    return text.replace("@EXEC@", exec_path).replace("@ICON@", icon_path).replace("@WMCLASS@", wm_class)


def write_linux_desktop_files(dist: Path, bundle: Path, name: str) -> Path:
    """A menu entry for this build beside the folder, and an installer script inside it."""
    entry = dist / f"{name}.desktop"
    entry.write_text(fill_desktop_template(str(bundle / name), str(bundle / ICON_REL), name), encoding="utf-8")
    # The script embeds the template with $here in place of the folder, so it stays right after
    # the folder is unpacked or moved anywhere.
    body = fill_desktop_template(f"$here/{name}", f"$here/{ICON_REL.as_posix()}", name)
    script = bundle / "install-desktop-entry.sh"
    script.write_text(
        "#!/bin/sh\n"
        "# Install a desktop menu entry for this PneumoDesktop folder (run it again after moving the folder).\n"
        "set -eu\n"
        'here=$(cd "$(dirname "$0")" && pwd)\n'
        'apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"\n'
        'mkdir -p "$apps"\n'
        f'cat > "$apps/{name}.desktop" <<EOF\n{body}EOF\n'
        f'echo "installed $apps/{name}.desktop"\n',
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return entry


def make_archive(dist: Path, bundle: Path, base_name: str) -> Path:
    if sys.platform.startswith("linux"):
        archive = dist / f"{base_name}.tar.gz"
        tmp = archive.with_name(archive.name + ".part")
        with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
            tar.add(bundle, arcname=base_name)
    else:
        archive = dist / f"{base_name}.zip"
        tmp = archive.with_name(archive.name + ".part")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for path in sorted(bundle.rglob("*")):
                if path.is_file():
                    zf.write(path, Path(base_name) / path.relative_to(bundle))
    os.replace(tmp, archive)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the PneumoDesktop one-folder bundle with PyInstaller.")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "out" / "pyinstaller-work",
                        help="PyInstaller work folder (default: out/pyinstaller-work)")
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's caches first (full rebuild)")
    parser.add_argument("--no-archive", action="store_true", help="skip the .tar.gz/.zip")
    parser.add_argument("--verbose", action="store_true", help="PyInstaller log level INFO (default WARN)")
    args = parser.parse_args(argv)

    name, version = project_info()
    dist, work = args.dist.resolve(), args.work.resolve()
    for folder in (dist, work):
        if folder == ROOT / "build" or ROOT / "build" in folder.parents:
            print(f"error: {folder} lies inside build/, which holds only the committed spec", file=sys.stderr)
            return 2
    model = ROOT / "pneumo_desktop" / "resources" / "models" / "default.pneumo"
    if not model.is_file():
        print(f"error: the shipped model {model} is missing", file=sys.stderr)
        return 2
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        print(f"error: PyInstaller is not installed for {sys.executable} (pip install '.[package]')", file=sys.stderr)
        return 2

    bundle = dist / name
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "INFO" if args.verbose else "WARN",
           "--distpath", str(dist), "--workpath", str(work)]
    if args.clean:
        cmd.append("--clean")
    cmd.append(str(SPEC))
    print("+ " + " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    rc = subprocess.call(cmd, cwd=ROOT)
    build_s = time.perf_counter() - t0
    if rc != 0:
        print(f"error: PyInstaller failed (exit {rc}) after {build_s:.0f} s", file=sys.stderr)
        return rc

    summary: dict = {"name": name, "version": version, "platform": platform_tag(), "bundle": str(bundle),
                     "build_seconds": round(build_s, 1), "clean": bool(args.clean)}
    if sys.platform.startswith("linux"):
        summary["desktop_entry"] = str(write_linux_desktop_files(dist, bundle, name))
    size, files = tree_size(bundle)
    summary.update(unpacked_bytes=size, files=files)
    if not args.no_archive:
        t1 = time.perf_counter()
        archive = make_archive(dist, bundle, f"{name}-{version}-{platform_tag()}")
        summary.update(archive=str(archive), archive_bytes=archive.stat().st_size,
                       archive_seconds=round(time.perf_counter() - t1, 1))
    (dist / f"{name}-build.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")

    exe_suffix = ".exe" if sys.platform == "win32" else ""
    print(f"bundle:   {bundle} ({mib(size)} unpacked, {files} files)")
    print(f"run:      {bundle / (name + exe_suffix)}   (console: {bundle / (name + '-cli' + exe_suffix)})")
    if "archive" in summary:
        print(f"archive:  {summary['archive']} ({mib(summary['archive_bytes'])}, packed in "
              f"{summary['archive_seconds']:.0f} s)")
    if "desktop_entry" in summary:
        print(f"desktop:  {summary['desktop_entry']}  (after unpacking elsewhere: ./install-desktop-entry.sh)")
    print(f"build:    {build_s:.0f} s (PyInstaller{' --clean' if args.clean else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
