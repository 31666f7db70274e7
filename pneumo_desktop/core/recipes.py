"""Training recipes as data: the named settings the shipped model files were trained with.

A recipe is a name, a one-line summary, a description and its *settings*: the dotted keys of
``TrainingConfig`` (``epochs``, ``augmentation.scale_min`` …) in which it differs from
``TrainingConfig``'s own defaults. ``recipe.config()`` is a fresh ``TrainingConfig`` each call, so
no caller can change a recipe by changing its config.

* ``default``: how ``default.pneumo`` was trained (E15 in docs/experiments.md).
* ``ensemble``: how ``ensemble.pneumo`` was trained (E16).
* ``subtype``: how ``subtype.pneumo`` was trained (S1).
* ``legacy``: ``TrainingConfig``'s own defaults, which were the command line's defaults before
  recipes; with it, a command logged before recipes existed means what it meant then.

The same dotted keys are what ``pneumo-desktop train --set KEY=VALUE`` and ``--config FILE.json``
change (``apply_settings``), with one-line ``SettingError`` messages for an unknown key (with a
suggestion) or a value of the wrong type; ranges are checked by ``TrainingConfig.validate``.

This module imports neither torch nor ``training`` at import time (the command line reads the
recipe names before it decides whether to import torch); ``config()`` and the settings functions
import ``training`` when called.
"""

from __future__ import annotations

import difflib
import json
import math
import textwrap
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when used: the training module imports torch
    from .training import TrainingConfig

#: Test-time views stored in a model: whole-pixel (dx, dy) shifts of the input.
TTA_PRESETS: dict[str, list[tuple[int, int]]] = {
    "none": [(0, 0)],
    "shifts5": [(0, 0), (4, 0), (-4, 0), (0, 4), (0, -4)],
    "shifts9": [(0, 0), (4, 0), (-4, 0), (0, 4), (0, -4), (4, 4), (-4, -4), (4, -4), (-4, 4)],
}

# E15's framing: a wide random zoom and shifts up to a tenth of the side, so that how much of the
# child fills the image cannot stand in for the diagnosis.
_WIDE_FRAMING = {"augmentation.scale_min": 0.7, "augmentation.scale_max": 1.4, "augmentation.shift_frac": 0.1}


class SettingError(ValueError):
    """A setting that cannot be applied; the message is one line for the user."""


@dataclass(frozen=True)
class Recipe:
    """A named training recipe.

    name: its name on the command line. summary: one line for ``--help``. description: what it
    is and where it was measured. settings: ``(dotted key, value)`` pairs, where it differs from
    ``TrainingConfig``'s defaults, applied in order.
    """

    name: str
    summary: str
    description: str
    settings: tuple[tuple[str, object], ...] = ()

    def config(self, **overrides) -> TrainingConfig:
        """A new ``TrainingConfig`` with this recipe's settings, then ``overrides`` (field names)."""
        from .training import TrainingConfig

        return replace(apply_settings(TrainingConfig(), dict(self.settings), source=f"recipe {self.name}"),
                       **overrides)


DEFAULT = Recipe(
    "default", "how default.pneumo was trained (E15): one small network, wide zoom and shifts",
    "One small network of four blocks, histogram equalisation followed by the augmentations, with a "
    "wide random zoom and shifts; warm-up and cosine decay, one view (E15 in docs/experiments.md). It "
    "trained in 582 s, with its chest X-ray detector, on the full training split on a 2-core CPU. "
    "The training wizard starts from it, so a model trained in the app is made the way the shipped "
    "one was.",
    (("epochs", 15), ("widths", (16, 32, 64, 128)), ("augment_after_equalise", True),
     *_WIDE_FRAMING.items()),
)
ENSEMBLE = Recipe(
    "ensemble", "how ensemble.pneumo was trained (E16): seeds x snapshots, test-time views",
    "The default recipe's augmentation on wider networks: several seeds, each averaging its last "
    "epochs, and shifted test-time views (E16 in docs/experiments.md); about nine times the "
    "default's training time.",
    (("epochs", 15), ("members", 3), ("snapshots", 3), ("tta_shifts", TTA_PRESETS["shifts5"]),
     ("augment_after_equalise", True), *_WIDE_FRAMING.items()),
)
SUBTYPE = Recipe(
    "subtype", "how subtype.pneumo was trained (S1): NORMAL / BACTERIA / VIRUS by file name",
    "TrainingConfig's defaults (augmentation before equalisation) with PNEUMONIA split into BACTERIA "
    "and VIRUS by file name (S1 in docs/experiments.md).",
    (("class_scheme", "subtype"),),
)
LEGACY = Recipe(
    "legacy", "TrainingConfig's own defaults, the command line's before recipes",
    "TrainingConfig's defaults, which were the command line's defaults before recipes: a command "
    "logged then (docs/experiments.md) means the same with --recipe legacy.",
)

RECIPES: dict[str, Recipe] = {r.name: r for r in (DEFAULT, ENSEMBLE, SUBTYPE, LEGACY)}
RECIPE_NAMES = tuple(RECIPES)


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; SettingError naming the recipes otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise SettingError(f"unknown recipe {name!r}; the recipes are {', '.join(RECIPE_NAMES)}") from None


# ----- settings: dotted keys of TrainingConfig ----------------------------------------------------
def setting_types() -> dict[str, object]:
    """Every settable dotted key -> its declared type (``epochs`` -> int,
    ``augmentation.haze_prob`` -> float, ``widths`` -> tuple[int, int, int, int] …)."""
    from .training import TrainingConfig

    out: dict[str, object] = {}
    hints = typing.get_type_hints(TrainingConfig)
    for f in fields(TrainingConfig):
        kind = hints[f.name]
        if is_dataclass(kind):
            for key, sub in typing.get_type_hints(kind).items():
                out[f"{f.name}.{key}"] = sub
        else:
            out[f.name] = kind
    return out


def suggest(key: str, keys) -> str:
    """' (did you mean X?)' for the known key closest to ``key`` (a key with the same last part
    first: ``haze_prob`` -> ``augmentation.haze_prob``), or ''."""
    keys = list(keys)
    last = key.rsplit(".", 1)[-1]
    close = [k for k in keys if k.rsplit(".", 1)[-1] == last] or difflib.get_close_matches(key, keys, n=1)
    if not close:
        by_last = {k.rsplit(".", 1)[-1]: k for k in keys}
        close = [by_last[m] for m in difflib.get_close_matches(last, list(by_last), n=1)]
    return f" (did you mean {close[0]}?)" if close else ""


def parse_assignment(text: str) -> tuple[str, object]:
    """``"KEY=VALUE"`` -> (key, value). The value is read as JSON (``15``, ``0.5``, ``true``,
    ``[16, 32, 64, 128]``) where it is JSON, else kept as text (``clahe``, ``16,32,64,128``)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SettingError(f"--set {text!r}: give KEY=VALUE, e.g. --set augmentation.haze_prob=0.5")
    raw = raw.strip()
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


def flatten_settings(data: Mapping, prefix: str = "") -> dict[str, object]:
    """A JSON object of settings -> dotted keys; a nested object (``{"augmentation": {...}}``)
    becomes ``augmentation.KEY`` entries."""
    out: dict[str, object] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_settings(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def read_settings_file(path: str | Path) -> dict[str, object]:
    """The dotted settings of a JSON file holding one object (keys as ``--set`` takes them, or
    nested); SettingError when it cannot be read or is not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingError(f"--config {path}: cannot read it ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise SettingError(f"--config {path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise SettingError(f"--config {path}: needs a JSON object of settings, e.g. {{\"epochs\": 15}}")
    return flatten_settings(data)


def apply_settings(config, settings: Mapping[str, object], source: str = "--set"):
    """``config`` (a TrainingConfig) with the dotted ``settings`` applied, as a new config.

    Values are JSON-like (numbers, booleans, strings, lists) or already of the declared type;
    ``widths`` also takes ``"16,32,64,128"`` and ``tta_shifts`` a preset name (``"shifts5"``).
    Raises SettingError, naming ``source``, for an unknown key (with a suggestion) or a value of the
    wrong type; ranges are ``TrainingConfig.validate``'s to check.
    """
    types = setting_types()
    top: dict[str, object] = {}
    augmentation: dict[str, object] = {}
    for key, value in flatten_settings(settings).items():
        if key not in types:
            raise SettingError(f"{source}: unknown setting {key!r}{suggest(key, types)}")
        coerced = coerce_value(key, value, types[key], source)
        if key.startswith("augmentation."):
            augmentation[key.split(".", 1)[1]] = coerced
        else:
            top[key] = coerced
    if augmentation:
        top["augmentation"] = replace(config.augmentation, **augmentation)
    return replace(config, **top)


def coerce_value(key: str, value: object, kind, source: str):
    """``value`` (JSON-like) as the declared type ``kind`` of the setting ``key``; SettingError,
    naming ``source``, when it is not one."""
    given = value

    def bad(expected: str) -> SettingError:
        return SettingError(f"{source}: {key} must be {expected}, not {given!r}")

    if kind is bool:
        if isinstance(value, bool):
            return value
        raise bad("true or false")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad("a whole number")
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise bad("a number")
    if kind is str:
        if isinstance(value, str):
            return value
        raise bad("text")
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is list and key == "tta_shifts":
        if isinstance(value, str):
            if value in TTA_PRESETS:
                return list(TTA_PRESETS[value])
            raise bad(f"one of {', '.join(TTA_PRESETS)} or a list of [dx, dy] pairs")
        if isinstance(value, (list, tuple)) and value and all(
                isinstance(p, (list, tuple)) and len(p) == 2 and all(_is_int(v) for v in p) for p in value):
            return [tuple(int(v) for v in p) for p in value]
        raise bad(f"one of {', '.join(TTA_PRESETS)} or a list of [dx, dy] pairs")
    if origin is tuple:
        element = args[0]
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",")]
            try:
                value = [element(v) for v in value]
            except ValueError:
                raise bad(f"{len(args)} {'whole numbers' if element is int else 'numbers'}, comma-separated") from None
        if isinstance(value, (list, tuple)) and len(value) == len(args) and all(
                _is_int(v) if element is int else _is_number(v) for v in value):
            return tuple(element(v) for v in value)
        raise bad(f"{len(args)} {'whole numbers' if element is int else 'numbers'}, comma-separated")
    raise SettingError(f"{source}: {key} cannot be set this way")  # pragma: no cover - no such field today


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def describe_values(key: str) -> str:
    """How the recipes set ``key``, for help texts, recipes with the same value together:
    ``"default, ensemble 15; subtype, legacy 10"``, or ``"every recipe 0.002"``."""
    groups: dict[str, list[str]] = {}
    for recipe in RECIPES.values():
        value = recipe.config().to_dict()
        for part in key.split("."):
            value = value[part]
        if key == "tta_shifts":
            value = next((name for name, shifts in TTA_PRESETS.items() if [list(s) for s in shifts] == value), value)
        elif isinstance(value, list):
            value = ",".join(str(v) for v in value)
        groups.setdefault(str(value), []).append(recipe.name)
    if len(groups) == 1:
        return f"every recipe {next(iter(groups))}"
    return "; ".join(f"{', '.join(names)} {value}" for value, names in groups.items())


def recipes_help(width: int = 100) -> str:
    """The recipes and the settable keys, as a help epilog."""
    lines = ["recipes (--recipe NAME):"]
    lines += [f"  {r.name:<9} {r.summary}" for r in RECIPES.values()]
    lines += [""] + textwrap.wrap(
        "Every setting of a recipe can be changed with --set KEY=VALUE (repeatable) or --config FILE.json "
        "(a JSON object of the same keys); later ones win: the recipe, then --config, then --set, then the "
        "options above.", width) + [""]
    lines += textwrap.wrap("settings: " + ", ".join(setting_types()), width, subsequent_indent="  ")
    return "\n".join(lines)
