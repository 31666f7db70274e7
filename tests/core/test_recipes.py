"""Training recipes as data (core/recipes.py): each is how its shipped file was trained, the
settings machinery behind ``train --set`` / ``--config``, and what old model files' configs mean."""

from __future__ import annotations

import dataclasses
import json
import shlex

import pytest

from pneumo_desktop import paths
from pneumo_desktop.cli import build_parser, resolve_training_config
from pneumo_desktop.core.modelfile import read_model_header
from pneumo_desktop.core.recipes import (
    DEFAULT, ENSEMBLE, RECIPES, SUBTYPE, SettingError, apply_settings, describe_values, get_recipe,
    parse_assignment, recipes_help, setting_types,
)
from pneumo_desktop.core.training import LEGACY_SETTINGS, TrainingConfig, config_from_dict

MODELS = paths.DEFAULT_MODEL_PATH.parent
SHIPPED = {"default": DEFAULT, "ensemble": ENSEMBLE, "subtype": SUBTYPE}


def _shipped(name: str) -> dict:
    path = MODELS / f"{name}.pneumo"
    if not path.is_file():
        pytest.skip(f"no shipped {name}.pneumo in this checkout")
    return read_model_header(path)["training"]


def _cli_config(argv: list[str]) -> TrainingConfig:
    args = build_parser().parse_args(argv)
    return resolve_training_config(args, get_recipe(args.recipe))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_recipe_is_how_its_shipped_file_was_trained(name):
    training = _shipped(name)
    stored = training["config"]
    recipe = json.loads(json.dumps(SHIPPED[name].config().to_dict()))  # as a file stores it
    # Every key the file records, as recorded...
    for key, value in stored.items():
        if key == "augmentation":
            for aug_key, aug_value in value.items():
                assert recipe["augmentation"][aug_key] == aug_value, (name, aug_key)
        else:
            assert recipe[key] == value, (name, key)
    # ...and every key it lacks at the value in effect when it was written.
    assert SHIPPED[name].config() == config_from_dict(stored)


def test_subtype_file_lacks_the_later_keys_and_reads_as_it_did_before_recipes():
    """subtype.pneumo was trained before augment_after_equalise, haze, raw noise, aspect jitter,
    the hidden border, mixup and the detector's epochs existed; its config must read the same as
    it did before this change (values pinned from the code of that time)."""
    stored = _shipped("subtype")["config"]
    assert not {"augment_after_equalise", "mixup_alpha", "detector_epochs", "border_mask"} & set(stored)
    assert not {"aspect_max", "haze_prob", "raw_noise_std"} & set(stored["augmentation"])
    assert config_from_dict(stored).to_dict() == {
        "augment": True, "augment_after_equalise": False,
        "augmentation": {"aspect_max": 1.0, "blur_prob": 0.5, "blur_sigma_max": 1.5, "brightness": 0.08,
                         "contrast": 0.15, "gamma_max": 1.25, "gamma_min": 0.8, "haze_max": 0.6, "haze_prob": 0.0,
                         "haze_sigma_frac": (0.03, 0.1), "hflip_prob": 0.0, "noise_std": 0.02, "raw_noise_std": 0.0,
                         "rotation_deg": 10.0, "scale_max": 1.15, "scale_min": 0.85, "sharpen_amount": 1.0,
                         "sharpen_prob": 0.2, "shift_frac": 0.06},
        "batch_size": 64, "bf16": True, "border_mask": 0.0, "class_scheme": "subtype", "detector_epochs": 8,
        "dropout": 0.3, "epochs": 10, "equalise": "hist", "input_size": 150, "label_smoothing": 0.1,
        "learning_rate": 0.002, "members": 1, "min_sensitivity": 0.95, "mixup_alpha": 0.0, "seed": 0,
        "snapshots": 1, "tta_shifts": [[0, 0]], "val_fraction": 0.1, "warmup_epochs": 1, "weight_decay": 0.0001,
        "widths": [32, 64, 128, 128],
    }


def test_a_missing_key_means_its_legacy_value_not_todays_default(monkeypatch):
    """Were the defaults to change, an old file's missing keys would still mean what they meant."""
    from pneumo_desktop.core import training

    @dataclasses.dataclass
    class NewDefaults(TrainingConfig):
        augment_after_equalise: bool = True
        detector_epochs: int = 0
        mixup_alpha: float = 0.2

    monkeypatch.setattr(training, "TrainingConfig", NewDefaults)
    config = training.config_from_dict({"epochs": 3})
    assert isinstance(config, NewDefaults)
    assert (config.augment_after_equalise, config.detector_epochs, config.mixup_alpha) == (False, 8, 0.0)


def test_every_setting_is_recorded_by_the_shipped_files_or_has_a_legacy_value():
    """A setting added later must come with the value that keeps older files' meaning."""
    oldest = _shipped("subtype")["config"]
    recorded = {k for k in oldest if k != "augmentation"} | {f"augmentation.{k}" for k in oldest["augmentation"]}
    assert set(setting_types()) <= recorded | set(LEGACY_SETTINGS)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_command_recorded_in_each_file_still_means_what_it_meant(name):
    """Before recipes, the command line's defaults were TrainingConfig's (--recipe legacy)."""
    training = _shipped(name)
    argv = shlex.split(training["command"])[1:] + ["--recipe", "legacy"]
    assert _cli_config(argv).to_dict() == config_from_dict(training["config"]).to_dict()


def test_the_plain_command_trains_the_default_recipe_and_default_s_old_command_matches_it():
    assert _cli_config(["train", "d", "--out", "m.pneumo"]) == DEFAULT.config()
    argv = shlex.split(_shipped("default")["command"])[1:]
    assert _cli_config(argv) == DEFAULT.config()
    assert _cli_config(["train", "d", "--out", "m.pneumo", "--recipe", "ensemble"]) == ENSEMBLE.config()


def test_recipe_configs_are_fresh_copies():
    config = DEFAULT.config()
    config.tta_shifts.append((4, 4))
    config.epochs = 99
    assert DEFAULT.config().tta_shifts == [(0, 0)] and DEFAULT.config().epochs == 15
    assert DEFAULT.config(epochs=3).epochs == 3 and DEFAULT.config().epochs == 15
    for recipe in RECIPES.values():
        recipe.config().validate()


def test_settings_take_dotted_keys_json_values_and_shorthands():
    config = apply_settings(TrainingConfig(), {"augmentation.haze_prob": 0.5, "epochs": 3, "widths": "8,16,16,16",
                                               "tta_shifts": "shifts5", "bf16": False, "learning_rate": 1})
    assert config.augmentation.haze_prob == 0.5 and config.epochs == 3 and config.widths == (8, 16, 16, 16)
    assert len(config.tta_shifts) == 5 and config.bf16 is False and config.learning_rate == 1.0
    nested = apply_settings(TrainingConfig(), {"augmentation": {"scale_min": 0.7}, "tta_shifts": [[0, 0], [2, 0]]})
    assert nested.augmentation.scale_min == 0.7 and nested.tta_shifts == [(0, 0), (2, 0)]
    assert parse_assignment("widths=[8, 8, 8, 8]") == ("widths", [8, 8, 8, 8])
    assert parse_assignment("equalise=clahe") == ("equalise", "clahe")
    assert parse_assignment("augment=false") == ("augment", False)


@pytest.mark.parametrize("settings, fragment", [
    ({"augmentation.haze": 0.5}, "unknown setting 'augmentation.haze'"),
    ({"haze_prob": 0.5}, "did you mean augmentation.haze_prob?"),
    ({"lerning_rate": 0.1}, "did you mean learning_rate?"),
    ({"epochs": "ten"}, "epochs must be a whole number"),
    ({"epochs": 2.5}, "epochs must be a whole number"),
    ({"bf16": "maybe"}, "bf16 must be true or false"),
    ({"widths": [8, 16]}, "widths must be 4 whole numbers"),
    ({"tta_shifts": "shifts7"}, "tta_shifts must be one of none, shifts5, shifts9"),
    ({"augmentation.haze_prob": True}, "must be a number"),
])
def test_bad_settings_are_one_line_errors(settings, fragment):
    with pytest.raises(SettingError) as info:
        apply_settings(TrainingConfig(), settings)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_help_texts_come_from_the_recipes():
    assert describe_values("epochs") == "default, ensemble 15; subtype, legacy 10"
    assert describe_values("batch_size") == "every recipe 64"
    assert describe_values("tta_shifts").endswith("ensemble shifts5")
    text = recipes_help()
    assert all(name in text for name in RECIPES) and "augmentation.haze_prob" in text
    with pytest.raises(SettingError, match="the recipes are"):
        get_recipe("fancy")
