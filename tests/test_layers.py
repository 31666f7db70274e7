"""The house's layering: entry layer above the GUI and the command line, both above the core.

``lint-imports`` checks the contracts in ``pyproject.toml``; ``scripts/check_imports.py`` walks
every import (those inside functions too) for circles, forbidden arrows and overlong modules.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_imports", REPO / "scripts" / "check_imports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lint_imports_keeps_every_contract():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("lint-imports is not installed: run scripts/setup.sh (it is in requirements.lock)")
    proc = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_package_has_no_circle_no_forbidden_arrow_and_no_module_over_800_lines():
    report = _load_checker().check(REPO / "pneumo_desktop", max_lines=800)
    assert report["circles"] == []
    assert report["bad_arrows"] == []
    assert report["too_long"] == {}
    assert report["modules"] > 50  # it really walked the package


def _write(root: Path, files: dict[str, str]) -> Path:
    package = root / "pneumo_desktop"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_checker_finds_a_circle_through_an_import_inside_a_function(tmp_path):
    package = _write(tmp_path, {
        "__init__.py": "",
        "cli.py": "def run():\n    from .gui import app\n",
        "core/__init__.py": "",
        "core/model.py": "import numpy\n",
        "gui/__init__.py": "",
        "gui/app.py": "from ..cli import run\n",
    })
    report = _load_checker().check(package)
    assert report["circles"] == [["pneumo_desktop.cli", "pneumo_desktop.gui.app"]]
    assert any("pneumo_desktop.cli -> pneumo_desktop.gui" in a for a in report["bad_arrows"])
    assert any("pneumo_desktop.gui.app -> pneumo_desktop.cli" in a for a in report["bad_arrows"])


def test_checker_finds_core_importing_qt_and_an_overlong_module(tmp_path):
    package = _write(tmp_path, {
        "__init__.py": "",
        "core/__init__.py": "",
        "core/view.py": "def show():\n    from PySide6.QtWidgets import QLabel\n" + "x = 1\n" * 30,
    })
    report = _load_checker().check(package, max_lines=20)
    assert any(a.startswith("pneumo_desktop.core.view -> PySide6.QtWidgets") for a in report["bad_arrows"])
    assert report["too_long"] == {"pneumo_desktop.core.view": 32}
    assert report["circles"] == []
