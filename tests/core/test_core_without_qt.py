"""The core and the CLI must work on a machine without Qt (a server, a CI runner, a script)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pneumo_desktop.core

REPO = Path(__file__).resolve().parents[2]
CORE_DIR = Path(pneumo_desktop.core.__file__).parent

_CHILD = r'''
import importlib, json, pkgutil, sys

BLOCKED = ("PySide6", "shiboken6", "PyQt5", "PyQt6", "PySide2")
attempts = []


class BlockQt:
    """Refuse every Qt binding, as if none were installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            attempts.append(name)
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None


sys.meta_path.insert(0, BlockQt())

import pneumo_desktop.core as core

modules = sorted(m.name for m in pkgutil.walk_packages(core.__path__, "pneumo_desktop.core."))
for name in modules + ["pneumo_desktop", "pneumo_desktop.paths", "pneumo_desktop.selftest", "pneumo_desktop.cli", "pneumo_desktop.process"]:
    importlib.import_module(name)
attempts_after_import = list(attempts)

# Use them: the CLI's predict and info, and the self-test without its window.
from pneumo_desktop import cli, selftest

model, image = sys.argv[1], sys.argv[2]
codes = [cli.main(["predict", "--model", model, "--json", image]), cli.main(["info", "--model", model, "--json"])]
result = selftest.run_self_test(open_window=True)
window = selftest._open_and_close_window()

print("@@RESULT@@" + json.dumps({
    "modules": modules,
    "attempts_after_import": attempts_after_import,
    "qt_in_sys_modules": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED),
    "codes": codes,
    "self_test": result,
    "window": window,
}))
'''


def test_core_and_cli_import_and_run_without_qt(tiny_model_path, tmp_path, synth):
    image = synth.write_png(tmp_path / "IM-0042-0001.png", synth.chest_image(42, False))
    package_root = str(Path(pneumo_desktop.core.__file__).parents[2])  # the code under test
    env = dict(os.environ, PNEUMO_DESKTOP_HOME=str(tmp_path / "home"),
               PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    env.pop("QT_QPA_PLATFORM", None)
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    proc = subprocess.run([sys.executable, str(script), str(tiny_model_path), str(image)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    payload = proc.stdout.split("@@RESULT@@", 1)[1]
    result = json.loads(payload)

    expected = {f"pneumo_desktop.core.{p.stem}" for p in CORE_DIR.glob("*.py") if p.stem != "__init__"}
    assert set(result["modules"]) == expected
    assert len(expected) >= 14
    assert result["attempts_after_import"] == [], "importing the core or the CLI tried to import Qt"
    assert result["qt_in_sys_modules"] == []
    assert result["codes"] == [0, 0]
    assert result["self_test"]["ok"] is True, result["self_test"]
    assert result["window"].startswith("skipped"), "the self-test's window step must degrade, not crash"


def test_no_qt_in_core_sources():
    offenders = []
    for path in sorted(CORE_DIR.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"PySide\d|PyQt\d?|shiboken", line):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []
    assert len(list(CORE_DIR.glob("*.py"))) >= 15
