"""Persistent user settings, one typed accessor per setting.

Settings live in an INI file inside the user data folder (``paths.user_data_dir()``), read and
written through ``QSettings`` (organisation ``PneumoDesktop``). Keeping them beside the user's
models, rather than in the platform registry, means ``PNEUMO_DESKTOP_HOME`` moves everything at
once: portable installs and tests get fully private settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from ..paths import user_data_dir

ORGANISATION = "PneumoDesktop"
APPLICATION = "PneumoDesktop"
MAX_RECENT = 10
DEFAULT_OPACITY = 0.5


def settings_path() -> Path:
    return user_data_dir() / "settings.ini"


class Settings:
    """Typed access to the QSettings store. Cheap to create; create one where needed."""

    def __init__(self, path: str | Path | None = None):
        self._qs = QSettings(str(path or settings_path()), QSettings.Format.IniFormat)

    def sync(self) -> None:
        self._qs.sync()

    # ----- generic helpers ---------------------------------------------------------------------
    def _str(self, key: str, default: str = "") -> str:
        value = self._qs.value(key, default)
        return default if value is None else str(value)

    def _float(self, key: str, default: float) -> float:
        try:
            return float(self._qs.value(key, default))
        except (TypeError, ValueError):
            return default

    def _list(self, key: str) -> list[str]:
        value = self._qs.value(key, [])
        if value is None or value == "":
            return []
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value]

    # ----- folders -----------------------------------------------------------------------------
    def last_folder(self, kind: str) -> str:
        """Last folder used for ``kind`` (``open``, ``export``, ``model``), else the home folder."""
        folder = self._str(f"folders/{kind}")
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    def set_last_folder(self, kind: str, folder: str | Path) -> None:
        self._qs.setValue(f"folders/{kind}", str(folder))

    # ----- recent files --------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        return self._list("recent/files")

    def add_recent(self, paths: list[str]) -> list[str]:
        """Put ``paths`` (files or folders) first in the recent list, most recent first."""
        recent = self.recent_files()
        for path in reversed([str(p) for p in paths]):
            if path in recent:
                recent.remove(path)
            recent.insert(0, path)
        recent = recent[:MAX_RECENT]
        self._qs.setValue("recent/files", recent)
        return recent

    def clear_recent(self) -> None:
        self._qs.setValue("recent/files", [])

    # ----- window ----------------------------------------------------------------------------------
    def window_geometry(self) -> QByteArray | None:
        value = self._qs.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def window_state(self) -> QByteArray | None:
        value = self._qs.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._qs.setValue("window/geometry", geometry)
        self._qs.setValue("window/state", state)

    # ----- overlay -----------------------------------------------------------------------------------
    def overlay_opacity(self) -> float:
        return min(1.0, max(0.0, self._float("overlay/opacity", DEFAULT_OPACITY)))

    def set_overlay_opacity(self, value: float) -> None:
        self._qs.setValue("overlay/opacity", float(value))

    def overlay_visible(self) -> bool:
        return self._str("overlay/visible", "false").lower() in ("true", "1")

    def set_overlay_visible(self, value: bool) -> None:
        self._qs.setValue("overlay/visible", "true" if value else "false")

    # ----- model ---------------------------------------------------------------------------------------
    def threshold_for(self, model_version: str) -> float | None:
        """The threshold the user chose for this model version, or None for the model's own."""
        value = self._qs.value(f"thresholds/{model_version}")
        try:
            return None if value in (None, "") else float(value)
        except (TypeError, ValueError):
            return None

    def set_threshold_for(self, model_version: str, threshold: float | None) -> None:
        key = f"thresholds/{model_version}"
        if threshold is None:
            self._qs.remove(key)
        else:
            self._qs.setValue(key, float(threshold))

    def active_model_path(self) -> str:
        return self._str("model/active")

    def set_active_model_path(self, path: str | Path | None) -> None:
        self._qs.setValue("model/active", "" if path is None else str(path))

    # ----- language ------------------------------------------------------------------------------------
    def language(self) -> str:
        """``""`` (follow the system), ``"en"`` or ``"es"``."""
        return self._str("ui/language")

    def set_language(self, code: str) -> None:
        self._qs.setValue("ui/language", code)
