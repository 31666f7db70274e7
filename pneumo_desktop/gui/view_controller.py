"""The selected image and its Grad-CAM: decoded and explained off the GUI thread, and cached.

``ViewController`` drives the ``ImageViewer`` and the heatmap parts of the ``ResultPanel`` for
the row the person selected. The full-resolution image is decoded on demand (the last
``IMAGE_CACHE_SIZE`` are kept) and its Grad-CAM is computed per image and class, then cached,
so toggling the overlay or going back to a row is instant. Work runs through one ``LatestJob``:
selecting another row supersedes the request for the previous one.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from ..process import ensure_torch_configured
from .image_viewer import ImageViewer, heatmap_rgba, to_levels
from .latest_job import LatestJob
from .model_manager import ModelManager
from .result_panel import ResultPanel
from .results_model import STATUS_OK, ResultRow, class_display_name

HEATMAP_MAX_SIDE = 512
IMAGE_CACHE_SIZE = 8
AUTO_EXPLAIN = -1  # explain choice: the class of the verdict


def heatmap_size(image_size: tuple[int, int] | None, model_side: int) -> tuple[int, int]:
    """(h, w) for a heatmap: the image's aspect ratio, longer side at most HEATMAP_MAX_SIDE."""
    if not image_size:
        return model_side, model_side
    h, w = image_size
    scale = min(1.0, HEATMAP_MAX_SIDE / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def load_view(path: str, need_image: bool, classifier, image_u8, target: int | None, size):
    """Generator run in a worker: decode the image (if asked) and compute its Grad-CAM for
    ``target`` (if not None).

    Yields ``("image", path, pixels, levels, error)`` (pixels float32 (H, W) in [0, 1] and their
    uint8 display levels, or None and the read error) and then
    ``("heatmap", path, target, (heat, rgba))`` (heat float32 ``size`` in [0, 1], rgba uint8
    (h, w, 4)).
    """
    if need_image:
        from ..core.errors import ImageReadError
        from ..core.imageio import read_image

        try:
            pixels = read_image(path).pixels
            yield ("image", path, pixels, to_levels(pixels), "")
        except ImageReadError as exc:
            yield ("image", path, None, None, str(exc))
    if target is not None and image_u8 is not None and classifier is not None:
        ensure_torch_configured()
        from ..core.explain import gradcam

        heat, _ = gradcam(classifier, image_u8, target_class=target, output_size=size)
        yield ("heatmap", path, target, (heat, heatmap_rgba(heat)))


class ViewController(QObject):
    """Shows one result row's image and heatmap in ``viewer`` and its notes in ``panel``.

    Signals (GUI thread): ``image_shown(path)`` when the row's image (or why it cannot be
    shown) is in the viewer, ``heatmap_ready(path, class_index)`` when a heatmap is cached,
    ``failed(message)`` when the background work raised.
    """

    image_shown = Signal(str)
    heatmap_ready = Signal(str, int)
    failed = Signal(str)

    def __init__(self, viewer: ImageViewer, panel: ResultPanel, models: ModelManager,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._viewer = viewer
        self._panel = panel
        self._models = models
        self._row: ResultRow | None = None
        self._explain_choice = AUTO_EXPLAIN
        self._overlay_visible = False
        # path -> (pixels float32 (H, W), levels uint8 (H, W)), or None when it cannot be read
        self._images: OrderedDict[str, tuple[np.ndarray, np.ndarray] | None] = OrderedDict()
        self._image_errors: dict[str, str] = {}
        self._heatmaps: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {}  # path -> class -> (heat, rgba)
        self._request: tuple | None = None
        self._job = LatestJob(self, "pneumo-view")
        self._job.yielded.connect(self._on_item)
        self._job.failed.connect(self._on_failed)

    # ----- state ---------------------------------------------------------------------------------------
    def current_row(self) -> ResultRow | None:
        return self._row

    def is_busy(self) -> bool:
        """True while an image is being decoded or explained."""
        return self._job.is_busy()

    def threads_running(self) -> bool:
        return self._job.threads_running()

    def explain_target(self, row: ResultRow) -> int | None:
        """The class index the heatmap of ``row`` explains, or None when it gets none."""
        classifier = self._models.classifier
        if classifier is None or row.status != STATUS_OK or row.record.image_u8 is None:
            return None
        if self._explain_choice == AUTO_EXPLAIN:
            return classifier.classes.index(row.label) if row.label in classifier.classes else None
        return int(self._explain_choice)

    def cached_heatmap(self, path: str, target: int) -> np.ndarray | None:
        """The cached heatmap (float32 (h, w) in [0, 1]) of ``path`` for class ``target``."""
        entry = self._heatmaps.get(str(path), {}).get(target)
        return None if entry is None else entry[0]

    def heatmap_cached(self, path: str, target: int | None = None) -> bool:
        cached = self._heatmaps.get(str(path), {})
        return bool(cached) if target is None else target in cached

    # ----- inputs --------------------------------------------------------------------------------------
    @property
    def explain_choice(self) -> int:
        """The class index heatmaps explain, or ``AUTO_EXPLAIN`` for each verdict's class.
        Setting it (None means ``AUTO_EXPLAIN``) takes effect at the next ``refresh``/``show_row``."""
        return self._explain_choice

    @explain_choice.setter
    def explain_choice(self, choice: int | None) -> None:
        self._explain_choice = AUTO_EXPLAIN if choice is None else int(choice)

    def set_overlay_visible(self, visible: bool) -> None:
        self._overlay_visible = bool(visible)
        self._viewer.set_overlay_visible(self._overlay_visible)
        self._update_note()

    def show_row(self, row: ResultRow | None) -> None:
        """Show ``row`` (None: nothing selected; the viewer keeps what it shows)."""
        previous = self._row.path if self._row is not None else None
        self._row = row
        self._panel.show_row(row)
        if row is None:
            return
        if row.path != previous:
            if row.path in self._images:
                self._images.move_to_end(row.path)
                self._display_image(row.path)
            else:
                self._viewer.clear(self.tr("Loading {name}…").format(name=Path(row.path).name))
        self._request_view(row)

    def refresh(self) -> None:
        """Bring the heatmap up to date after the verdict, the explained class or the model changed."""
        if self._row is not None:
            self._request_view(self._row)
            self._apply_heatmap(self._row.path)
        self._update_legend_subject()

    def forget(self, paths: list[str]) -> None:
        """Drop the heatmaps of ``paths`` (their records were replaced)."""
        for path in paths:
            self._heatmaps.pop(path, None)

    def forget_heatmaps(self) -> None:
        """Drop every heatmap (the model changed)."""
        self._heatmaps.clear()

    def clear(self) -> None:
        """Nothing selected, the viewer empty and every heatmap gone (the results were cleared)."""
        self._heatmaps.clear()
        self._row = None
        self._viewer.clear()
        self._panel.show_row(None)

    def retranslate(self) -> None:
        self._update_note()
        self._update_legend_subject()

    def stop(self) -> None:
        """On close: cancel and wait for the worker thread."""
        self._job.stop()
        self._request = None

    # ----- work ----------------------------------------------------------------------------------------
    def _request_view(self, row: ResultRow) -> None:
        """Decode and/or explain the row's image in the background if not cached."""
        need_image = row.path not in self._images
        target = self.explain_target(row)
        if target is not None and target in self._heatmaps.get(row.path, {}):
            self._apply_heatmap(row.path)
            target_needed = None
        else:
            target_needed = target
            if not need_image:
                self._viewer.set_heatmap(None)
        if not need_image and target_needed is None:
            self._update_note()
            return
        request = (row.path, need_image, target_needed)
        if self._job.is_busy() and self._request == request:
            return
        classifier = self._models.classifier
        size = heatmap_size(row.record.image_size, classifier.preprocessing.input_size if classifier else 256)
        path, image_u8 = row.path, row.record.image_u8
        self._request = request
        self._update_note(computing=target_needed is not None)
        self._job.start(lambda: load_view(path, need_image, classifier, image_u8, target_needed, size))

    @Slot(object)
    def _on_item(self, item) -> None:
        kind, path = item[0], item[1]
        current = self._row.path if self._row is not None else None
        if kind == "image":
            pixels, levels, message = item[2], item[3], item[4]
            self._images[path] = None if pixels is None else (pixels, levels)
            if pixels is None:
                self._image_errors[path] = message
            while len(self._images) > IMAGE_CACHE_SIZE:
                self._images.popitem(last=False)
            if path == current:
                self._display_image(path)
                self.image_shown.emit(path)
        elif kind == "heatmap":
            target, heat = item[2], item[3]
            self._heatmaps.setdefault(path, {})[target] = heat
            if path == current:
                self._apply_heatmap(path)
            self.heatmap_ready.emit(path, target)

    @Slot(str, str)
    def _on_failed(self, message: str, _traceback: str) -> None:
        self.failed.emit(message)
        self._update_note()

    # ----- display -------------------------------------------------------------------------------------
    def _display_image(self, path: str) -> None:
        entry = self._images.get(path)
        if entry is None:
            reason = self._image_errors.get(path, "")
            self._viewer.clear(self.tr("Cannot display this file.") + ("\n" + reason if reason else ""))
            return
        pixels, levels = entry
        self._viewer.set_image(pixels, levels=levels)
        self._apply_heatmap(path)

    def _apply_heatmap(self, path: str) -> None:
        row = self._row
        if row is None or row.path != path or self._images.get(path) is None:
            return
        target = self.explain_target(row)
        cached = self._heatmaps.get(path, {}).get(target) if target is not None else None
        if cached is None:
            self._viewer.set_heatmap(None)
        else:
            self._viewer.set_heatmap(cached[0], rgba=cached[1])
        self._viewer.set_overlay_visible(self._overlay_visible)
        self._update_note()
        self._update_legend_subject()

    def _update_note(self, computing: bool = False) -> None:
        row = self._row
        if row is None:
            self._panel.set_heatmap_note("")
        elif row.status != STATUS_OK:
            self._panel.set_heatmap_note(self.tr("No heatmap: the model did not analyse this file."))
        elif computing:
            self._panel.set_heatmap_note(self.tr("Computing heatmap…"))
        elif not self._overlay_visible:
            self._panel.set_heatmap_note(self.tr("Press G or the Heatmap button to show the overlay."))
        else:
            self._panel.set_heatmap_note(self.tr(
                "Warm colours mark the regions that weighed most in the verdict. They show where the "
                "model looked, not where disease is."))

    def _update_legend_subject(self) -> None:
        row = self._row
        target = self.explain_target(row) if row is not None else None
        classifier = self._models.classifier
        if target is None or classifier is None:
            self._panel.legend.set_subject("")
        else:
            self._panel.legend.set_subject(class_display_name(classifier.classes[target]))
