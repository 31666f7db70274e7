"""Render screenshots of the app from real chest X-rays, headless.

    python -m pneumo_desktop.gui.screenshots OUTDIR [--data DIR] [--model FILE] [--count N]
        [--wizard-data DIR] [--wizard-epochs N] [--no-wizard] [--extra FILE ...]

Writes, at 1400x900 unless told otherwise:

* ``main_heatmap.png``: the main window after a batch, a pneumonia case selected, Grad-CAM on;
* ``main_table.png``: the same batch, sorted by probability, overlay off, a normal case shown;
* ``main_refused.png`` (with ``--extra``): the first extra file the app refused, selected;
* ``main_es.png``: the heatmap view in Spanish;
* ``model_info.png`` (and ``model_info_weaknesses.png``, scrolled to its end), ``threshold.png``,
  ``about.png``: the dialogs;
* ``report_pages/page_001.png`` …: the first pages of the PDF report, painted as images;
* ``inspector*.png`` and ``wizard_*.png`` when those modules are present (the wizard really
  trains, one epoch, on ``--wizard-data``: by default ``train_mini`` beside the data folder;
  ``--no-wizard`` skips it).

Data: ``DIR/NORMAL`` and ``DIR/PNEUMONIA`` (default ``../shared/data/chest_xray/test`` beside
the repository); ``--count`` images, half of each class. A private, temporary settings folder
is used, so the person's own settings are never touched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "chest_xray" / "test"
SIZE = (1400, 900)


def wait_until(condition, timeout_s: float) -> bool:
    """Process events until ``condition()`` is true; False on time-out."""
    from PySide6.QtCore import QCoreApplication, QThread

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        QCoreApplication.processEvents()
        QThread.msleep(15)
    QCoreApplication.processEvents()
    return True


def settle(ms: int = 150) -> None:
    from PySide6.QtCore import QCoreApplication, QThread

    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        QThread.msleep(10)


def pick_images(data: Path, count: int) -> list[Path]:
    """``count`` images, alternating NORMAL / PNEUMONIA, in a fixed order."""
    from ..core.imageio import IMAGE_SUFFIXES

    per_class = []
    for label in ("NORMAL", "PNEUMONIA"):
        folder = data / label
        files = sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
        per_class.append(files)
    if not any(per_class):
        files = sorted(p for p in data.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        return files[:count]
    picked: list[Path] = []
    i = 0
    while len(picked) < count and any(i < len(f) for f in per_class):
        for files in per_class:
            if i < len(files) and len(picked) < count:
                picked.append(files[i])
        i += 1
    return picked


def grab(widget, path: Path) -> Path:
    settle(120)
    widget.grab().save(str(path))
    print(f"wrote {path}")
    return path


def render(outdir: Path, data: Path, model: Path | None, count: int, wizard_data: Path | None,
           wizard_epochs: int, size: tuple[int, int] = SIZE, extra: list[Path] | None = None) -> list[Path]:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from . import i18n
    from .app import create_application
    from .main_window import MainWindow
    from .model_info_dialog import ModelInfoDialog
    from .threshold_dialog import ThresholdDialog
    from .about_dialog import AboutDialog
    from ..paths import DEFAULT_MODEL_PATH

    outdir.mkdir(parents=True, exist_ok=True)
    app = create_application()  # noqa: F841 - held so the application lives while we render
    i18n.install_language("en")
    written: list[Path] = []
    images = pick_images(data, count)
    if not images:
        raise SystemExit(f"no images found under {data}")
    model = model or DEFAULT_MODEL_PATH

    window = MainWindow(load_default_model=False)
    window.resize(*size)
    window.show()
    settle()
    window.load_model(model)
    if not wait_until(lambda: window.models.classifier is not None or not window.models.is_loading(), 120):
        raise SystemExit("the model did not load in time")
    if window.models.classifier is None:
        raise SystemExit(f"cannot load model {model}")
    classifier = window.models.classifier
    finished: list[str] = []
    window.prediction_finished.connect(finished.append)
    window.open_paths([str(p) for p in images] + [str(p) for p in extra or []])
    if not wait_until(lambda: bool(finished), 600):
        raise SystemExit("prediction did not finish in time")

    rows = window.results.rows()
    positives = [r for r in rows if r.status == "ok" and r.positive and not r.borderline]
    positives = positives or [r for r in rows if r.status == "ok" and r.positive]
    case = max(positives, key=lambda r: r.probability) if positives else rows[0]
    window.select_path(case.path)
    window.set_overlay_visible(True)
    wait_until(lambda: window.viewer.has_image() and (case.status != "ok" or window.viewer.has_heatmap()), 120)
    written.append(grab(window, outdir / "main_heatmap.png"))

    i18n.install_language("es")
    settle(200)
    written.append(grab(window, outdir / "main_es.png"))
    i18n.install_language("en")
    settle(200)

    window.set_overlay_visible(False)
    window.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    negatives = [r for r in rows if r.status == "ok" and not r.positive]
    if negatives:
        window.select_path(min(negatives, key=lambda r: r.probability).path)
        wait_until(lambda: window.viewer.has_image(), 60)
    written.append(grab(window, outdir / "main_table.png"))

    extra_names = {Path(p).name for p in extra or []}
    refused = [r for r in rows if Path(r.path).name in extra_names and r.status != "ok"]
    if refused:
        window.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)  # status: the refused rows first
        window.select_path(refused[0].path)
        wait_until(lambda: window.viewer.has_image(), 60)
        written.append(grab(window, outdir / "main_refused.png"))

    pages: list = []
    window.report_finished.connect(lambda path, ok: pages.append(ok))
    if window.export_report(outdir / "report_pages", show_progress=False, image_pages=True):
        wait_until(lambda: bool(pages), 300)
        for page in sorted((outdir / "report_pages").glob("page_*.png"))[:3]:
            print(f"wrote {page}")
            written.append(page)

    info = ModelInfoDialog(classifier, window.models.version, window.models.threshold(), window)
    info.show()
    written.append(grab(info, outdir / "model_info.png"))
    bar = info.browser.verticalScrollBar()
    bar.setValue(bar.maximum())
    settle(100)
    written.append(grab(info, outdir / "model_info_weaknesses.png"))
    info.close()
    threshold = ThresholdDialog(window.models.threshold(), classifier.threshold, window)
    threshold.show()
    written.append(grab(threshold, outdir / "threshold.png"))
    threshold.close()
    about = AboutDialog(classifier.name, window.models.version, window)
    about.show()
    written.append(grab(about, outdir / "about.png"))
    about.close()

    try:
        from .model_inspector import render_inspector
    except Exception as exc:  # noqa: BLE001 - the inspector is optional here
        print(f"skipped the model inspector: {exc}")
    else:
        image_u8 = case.record.image_u8 if case.record.image_u8 is not None else None
        if image_u8 is not None:
            written.append(render_inspector(outdir, classifier, image_u8, path=case.path))
            print(f"wrote {outdir / 'inspector.png'} (and its tabs)")

    if wizard_data is not None:
        try:
            from .training_wizard import render_wizard_pages
        except Exception as exc:  # noqa: BLE001 - the wizard is optional here
            print(f"skipped the training wizard: {exc}")
        else:
            pages = render_wizard_pages(outdir, wizard_data, epochs=wizard_epochs, active_classifier=classifier)
            written.extend(pages)
            for page in pages:
                print(f"wrote {page}")
    else:
        print("skipped the training wizard pages (no labelled folder to train on; see --wizard-data)")

    window.close()
    window.deleteLater()
    settle(100)
    QApplication.processEvents()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pneumo_desktop.gui.screenshots",
                                     description="Render PneumoDesktop screenshots from real X-rays.")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder with NORMAL/ and PNEUMONIA/ (default: %(default)s)")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: the built-in model)")
    parser.add_argument("--count", type=int, default=20, help="images to analyse (default: %(default)s)")
    parser.add_argument("--wizard-data", type=Path, default=None,
                        help="labelled folder the wizard trains on for its pages (default: train_mini beside "
                             "the data folder, when present)")
    parser.add_argument("--wizard-epochs", type=int, default=1)
    parser.add_argument("--no-wizard", action="store_true", help="skip the training wizard pages")
    parser.add_argument("--extra", type=Path, nargs="*", default=[],
                        help="more files to open with the batch, e.g. images that are not chest X-rays: the "
                             "first one refused is shown as main_refused.png")
    args = parser.parse_args(argv)
    if args.no_wizard:
        args.wizard_data = None
    elif args.wizard_data is None and (args.data.parent / "train_mini").is_dir():
        args.wizard_data = args.data.parent / "train_mini"
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="pneumo-shots-")
    os.environ["PNEUMO_DESKTOP_HOME"] = home
    if not args.data.is_dir():
        print(f"data folder not found: {args.data}", file=sys.stderr)
        return 2
    render(args.outdir, args.data, args.model, args.count, args.wizard_data, args.wizard_epochs, extra=args.extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
