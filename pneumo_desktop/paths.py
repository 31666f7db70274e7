"""Where things live: packaged resources (read-only) and the user's data folder (writable).

Nothing is ever written inside the installed package. ``PNEUMO_DESKTOP_HOME`` overrides the
user data folder (tests and portable installs use it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
RESOURCES_DIR = PACKAGE_DIR / "resources"
MODELS_DIR = RESOURCES_DIR / "models"
DEFAULT_MODEL_PATH = MODELS_DIR / "default.pneumo"
SUBTYPE_MODEL_PATH = MODELS_DIR / "subtype.pneumo"
# The slower seed-and-snapshot ensemble (9 networks x 5 shifted views), kept for comparison and for users
# who prefer its validation figures over the fast default's speed.
ENSEMBLE_MODEL_PATH = MODELS_DIR / "ensemble.pneumo"
BUILTIN_MODEL_PATHS = (DEFAULT_MODEL_PATH, ENSEMBLE_MODEL_PATH, SUBTYPE_MODEL_PATH)


def user_data_dir() -> Path:
    """The platform's per-user data folder for PneumoDesktop (created on first use)."""
    override = os.environ.get("PNEUMO_DESKTOP_HOME")
    if override:
        base = Path(override)
    elif sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "PneumoDesktop"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "PneumoDesktop"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "pneumo-desktop"
    base.mkdir(parents=True, exist_ok=True)
    return base


def user_models_dir() -> Path:
    path = user_data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_cache_dir() -> Path:
    path = user_data_dir() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path
