"""Command-line interface: a thin layer over ``pneumo_desktop.core``. Imports no Qt.

Subcommands: predict, train, evaluate, info. The entry layer (:mod:`pneumo_desktop.__main__`)
sends everything else elsewhere: no arguments or image paths open the desktop app, and
``--self-test`` checks an installation.
Usage errors and unloadable models exit non-zero with one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from . import __version__
from .argtypes import fraction, fraction_or_zero, number, positive_int, threshold_value
from .core.image_preparation import EQUALISE_MODES
from .core.recipes import RECIPE_NAMES, TTA_PRESETS
from .process import configure_torch_threads, request_fast_exit

SUBCOMMANDS = ("predict", "train", "evaluate", "info")
EXIT_USAGE = 2
EXIT_MODEL = 3


class CliError(Exception):
    """A one-line message for the user and an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


def _load_classifier(path: str | None):
    from .core.classifier import Classifier
    from .core.errors import ModelFileError
    from .paths import DEFAULT_MODEL_PATH

    model_path = Path(path) if path else DEFAULT_MODEL_PATH
    try:
        return Classifier.load(model_path)
    except ModelFileError as exc:
        raise CliError(f"cannot load model: {exc}", EXIT_MODEL) from None


def _save_model(classifier, path: str | Path) -> None:
    """Write a model file atomically; a folder that cannot be written is a one-line error (the
    previous file at ``path``, if any, is left as it was)."""
    try:
        classifier.save(path)
    except OSError as exc:
        raise CliError(f"cannot write the model file {path}: {exc.strerror or exc}") from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other usage error here
        raise CliError(f"{self.prog}: {message}")


# The help of ``train`` names each recipe's value of an option, and lists the recipes and their
# settings. Both are worked out when the help is printed: they need the training module, which
# imports torch, and ``predict`` starts decoding before torch is imported.
_RECIPES_EPILOG = "(the recipes and their settings)"


class _TrainHelpFormatter(argparse.RawDescriptionHelpFormatter):
    def _get_help_string(self, action):
        text = action.help or ""
        key = getattr(action, "recipe_key", None)
        if key:
            from .core.recipes import describe_values

            text = f"{text} [{describe_values(key)}]".strip().replace("%", "%%")
        return text

    def _format_text(self, text):
        if text == _RECIPES_EPILOG:
            from .core.recipes import recipes_help

            text = recipes_help(max(60, self._width - 2))
        return super()._format_text(text)


def _recipe_option(parser: argparse.ArgumentParser, flag: str, key: str, **kwargs) -> argparse.Action:
    """An option that replaces the recipe's setting ``key``; None (not given) keeps the recipe's."""
    action = parser.add_argument(flag, default=None, **kwargs)
    action.recipe_key = key
    return action


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pneumo-desktop", description="Spot pneumonia on chest X-rays, offline. "
                     "Research use only; not a medical device.",
                     epilog="Without a command, or with image files and folders, pneumo-desktop opens the "
                     "desktop app; pneumo-desktop --self-test checks an installation and prints JSON.")
    parser.add_argument("--version", action="version", version=f"PneumoDesktop {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("predict", help="classify image files and folders")
    p.add_argument("paths", nargs="+", help="image files or folders (PNG, JPEG, BMP, TIFF, DICOM)")
    p.add_argument("--model", help="model file (default: the shipped model)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print a JSON list, one record per file")
    out.add_argument("--csv", metavar="OUT", help="write a CSV table to OUT")
    p.add_argument("--heatmaps", metavar="DIR", help="write a Grad-CAM overlay PNG per image into DIR")
    p.add_argument("--threshold", type=threshold_value, help="operating threshold on P(abnormal)")
    p.add_argument("--batch-size", type=positive_int, default=32)
    # The Ray engine's options; the module imports only the standard library until it runs.
    from .cluster.ray_predict import add_ray_arguments

    add_ray_arguments(p)

    t = sub.add_parser("train", help="train a model on a labelled folder (one sub-folder per class)",
                       formatter_class=_TrainHelpFormatter, epilog=_RECIPES_EPILOG,
                       description="Train a model on a labelled folder with a recipe: by default the shipped "
                                   "default model's.\nThe values in brackets are each recipe's; an option given "
                                   "here replaces the recipe's value.")
    t.add_argument("data_dir")
    t.add_argument("--out", required=True, help="where to write the model file (atomically)")
    t.add_argument("--recipe", choices=RECIPE_NAMES, default="default",
                   help="the recipe to start from (default: default; the recipes are listed below)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help="change one setting of the recipe, e.g. --set augmentation.haze_prob=0.5 (repeatable; "
                        "the settings are listed below)")
    t.add_argument("--config", metavar="FILE.json",
                   help="change settings of the recipe from a JSON object of the same keys as --set")
    _recipe_option(t, "--epochs", "epochs", type=positive_int, metavar="N", help="training epochs")
    _recipe_option(t, "--seed", "seed", type=int, metavar="S",
                   help="seed of the split, the initial weights and the augmentation")
    _recipe_option(t, "--batch-size", "batch_size", type=positive_int, metavar="N", help="images per update")
    _recipe_option(t, "--lr", "learning_rate", type=number, metavar="RATE", help="peak learning rate")
    _recipe_option(t, "--val-fraction", "val_fraction", type=fraction, metavar="F",
                   help="share of the patients held out for validation")
    _recipe_option(t, "--widths", "widths", metavar="W1,W2,W3,W4", help="four conv widths, comma-separated")
    _recipe_option(t, "--members", "members", type=positive_int, metavar="N", help="seed-ensemble members")
    _recipe_option(t, "--snapshots", "snapshots", type=positive_int, metavar="N",
                   help="average the last N epochs of each member (1: best epoch on validation)")
    _recipe_option(t, "--tta", "tta_shifts", choices=tuple(TTA_PRESETS), help="test-time views stored in the model")
    _recipe_option(t, "--classes", "class_scheme", metavar="SCHEME",
                   help="'folders': one class per sub-folder; 'subtype': PNEUMONIA split into BACTERIA and VIRUS "
                        "by file name")
    _recipe_option(t, "--detector-epochs", "detector_epochs", type=int, metavar="N",
                   help="epochs of the chest X-ray detector that refuses images that are not chest X-rays "
                        "(0 leaves it out)")
    _recipe_option(t, "--min-sensitivity", "min_sensitivity", type=fraction, metavar="F",
                   help="the operating threshold keeps at least this validation sensitivity")
    t.add_argument("--no-bf16", action="store_true", default=None,
                   help="train in float32 instead of bfloat16 autocast")
    t.add_argument("--name", help="model name stored in the file (default: the --out file's name)")
    t.add_argument("--test-dir", help="evaluate on this folder at the end and store the metrics")
    t.add_argument("--cache-dir", help="decoded-image cache (default: the user cache folder)")
    t.add_argument("--init", metavar="MODEL",
                   help="adapt this model to DATA_DIR's films: start from its weights, preprocessing and "
                        "architecture with a short, low-learning-rate schedule (at least 40 films, 10 per class; "
                        "--epochs, --lr, --batch-size, --val-fraction and --seed set the schedule)")
    # The options of earlier experiments, kept so that the commands logged in docs/experiments.md
    # and recorded in model files still run and mean what they meant; hidden from the help, as
    # --set reaches the same settings. (None: not given, the recipe's value stands.)
    hidden = argparse.SUPPRESS
    t.add_argument("--input-size", type=positive_int, help=hidden)
    t.add_argument("--equalise", choices=EQUALISE_MODES, help=hidden)
    t.add_argument("--label-smoothing", type=number, help=hidden)
    t.add_argument("--no-augment", action="store_true", default=None, help=hidden)
    t.add_argument("--augment-after-equalise", action="store_true", default=None, help=hidden)
    t.add_argument("--aspect-jitter", type=number, help=hidden)
    t.add_argument("--haze", type=fraction_or_zero, help=hidden)
    t.add_argument("--mixup", type=number, help=hidden)
    t.add_argument("--raw-noise", type=fraction_or_zero, help=hidden)
    t.add_argument("--zoom-range", help=hidden)
    t.add_argument("--shift", type=fraction_or_zero, help=hidden)
    t.add_argument("--border-mask", type=fraction_or_zero, help=hidden)

    e = sub.add_parser("evaluate", help="evaluate a model on a labelled folder")
    e.add_argument("data_dir")
    e.add_argument("--model")
    e.add_argument("--json", action="store_true")
    e.add_argument("--threshold", type=threshold_value)
    e.add_argument("--record", action="store_true",
                   help="store these metrics as the model file's test metrics (rewrites --model atomically)")
    e.add_argument("--figure", metavar="PNG",
                   help="also write a PNG with the confusion matrix, ROC curve and reliability diagram")

    i = sub.add_parser("info", help="show a model file's metadata")
    i.add_argument("--model")
    i.add_argument("--json", action="store_true")
    return parser


def cmd_predict(args) -> int:
    from .cluster.ray_predict import local_engine_conflict

    conflict = local_engine_conflict(args)
    if conflict:
        raise CliError(conflict)
    if args.engine == "ray":
        from .cluster.ray_predict import run_ray_predict

        return run_ray_predict(args)
    from .core.decode import DecodeQueue, can_fork
    from .core.errors import ModelFileError
    from .core.imageio import list_input_files
    from .core.image_preparation import Preprocessing
    from .core.modelfile import read_model_header
    from .paths import DEFAULT_MODEL_PATH

    # Start decoding before torch is imported: the import takes one to two seconds of one core,
    # which the decode threads use on the other. Only the model file's JSON header is needed for
    # that; the whole file is checked again when it is loaded below.
    model_path = Path(args.model) if args.model else DEFAULT_MODEL_PATH
    try:
        prep = Preprocessing.from_dict(read_model_header(model_path)["preprocessing"])
    except ModelFileError as exc:
        raise CliError(f"cannot load model: {exc}", EXIT_MODEL) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise CliError(f"cannot load model: {model_path.name}: bad preprocessing metadata ({exc})", EXIT_MODEL) from None
    paths = [str(p) for p in list_input_files(args.paths)]
    # Forked decode processes on Linux: torch's import holds the GIL, so decode threads would
    # mostly wait. Forking is only worth it (and only safe) before torch has started its thread
    # pools; elsewhere, or in a process that already holds torch (a test calling main()), threads.
    fork = can_fork() and "torch" not in sys.modules
    decoder = DecodeQueue(paths, prep, workers=2, lookahead=max(2 * args.batch_size, 1024),
                          processes=fork)
    # Idle OpenMP threads sleep instead of spinning: the decode workers need that core.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    request_fast_exit()
    try:
        configure_torch_threads()
        from .core.predict import predict_files

        classifier = _load_classifier(str(model_path))
    except BaseException:
        decoder.close()
        raise
    heat_dir = Path(args.heatmaps) if args.heatmaps else None
    if heat_dir is not None:
        heat_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for record in predict_files(classifier, paths, threshold=args.threshold, heatmaps=heat_dir is not None,
                                batch_size=args.batch_size, decoder=decoder):
        records.append(record)
        if heat_dir is not None and record.heatmap is not None:
            from .core.overlay import save_overlay_png

            save_overlay_png(record.path, record.heatmap, heat_dir / (Path(record.path).stem + "_gradcam.png"))
        if not args.json and not args.csv:
            if record.status == "ok":
                print(f"{record.path}\t{record.label}\tP(abnormal)={record.probability:.3f}")
            else:
                print(f"{record.path}\t{record.status.upper()}\t{record.message}")
    if args.json:
        json.dump([r.to_dict() for r in records], sys.stdout, indent=2)
        print()
    elif args.csv:
        from .core.results import write_results_csv

        write_results_csv(records, args.csv, classifier.classes)
        print(f"wrote {len(records)} rows to {args.csv}", file=sys.stderr)
    return 0


def cmd_train(args) -> int:
    """``train``; started by ``torchrun --nproc-per-node N``, its N processes train one model
    together (core/distributed.py) and only rank 0 reports and writes it."""
    from .core import distributed

    with distributed.process_group():  # nothing without torchrun; left on errors and Ctrl-C too
        if args.init:
            if distributed.world_size() > 1:
                raise CliError("fine-tuning runs in one process; start train --init without torchrun")
            return cmd_finetune(args)
        from .core.errors import DatasetError
        from .core.recipes import SettingError, get_recipe
        from .core.training import prepare_tables, train_model
        from .paths import user_cache_dir

        out = Path(args.out)
        if out.exists() and out.is_dir():
            raise CliError(f"--out {out} is a folder; give a file path")
        recipe = get_recipe(args.recipe)
        try:
            config = resolve_training_config(args, recipe)
            config.validate()
            table = prepare_tables(args.data_dir, config)  # the same seeded split on every rank
        except SettingError as exc:
            raise CliError(str(exc)) from None
        except DatasetError as exc:
            raise CliError(f"cannot train: {exc}") from None
        from .core.provenance import portable_command

        command = portable_command(args.argv)  # no folder of this machine goes into the model file
        cache = Path(args.cache_dir) if args.cache_dir else user_cache_dir()
        events = train_model(table, config, cache_dir=cache, command=command, name=args.name or out.stem,
                             recipe=recipe.name)
        return _finish_training(args, out, events)


# Options that set one setting of the recipe: argparse's dest -> the setting's dotted key. The
# flags that need more than a copy (--widths, --zoom-range, the switches) are in _option_settings.
_OPTION_KEYS = {
    "epochs": "epochs", "seed": "seed", "batch_size": "batch_size", "lr": "learning_rate",
    "val_fraction": "val_fraction", "members": "members", "snapshots": "snapshots", "tta": "tta_shifts",
    "classes": "class_scheme", "detector_epochs": "detector_epochs", "min_sensitivity": "min_sensitivity",
    "input_size": "input_size", "equalise": "equalise", "label_smoothing": "label_smoothing",
    "aspect_jitter": "augmentation.aspect_max", "haze": "augmentation.haze_prob", "mixup": "mixup_alpha",
    "raw_noise": "augmentation.raw_noise_std", "shift": "augmentation.shift_frac", "border_mask": "border_mask",
}


def _option_settings(args) -> dict[str, object]:
    """The settings the named options of ``train`` give (those not given are None and left out)."""
    settings = {key: getattr(args, dest) for dest, key in _OPTION_KEYS.items() if getattr(args, dest) is not None}
    if args.widths is not None:
        try:
            widths = tuple(int(w) for w in args.widths.split(","))
            if len(widths) != 4 or min(widths) < 1:
                raise ValueError
        except ValueError:
            raise CliError("--widths needs four positive whole numbers, e.g. 16,32,64,128") from None
        settings["widths"] = widths
    if args.zoom_range is not None:
        try:
            low, high = (float(v) for v in args.zoom_range.split(","))
        except ValueError:
            raise CliError("--zoom-range needs two numbers, e.g. 0.7,1.4") from None
        settings.update({"augmentation.scale_min": low, "augmentation.scale_max": high})
    for flag, key, value in ((args.no_augment, "augment", False), (args.no_bf16, "bf16", False),
                             (args.augment_after_equalise, "augment_after_equalise", True)):
        if flag:
            settings[key] = value
    return settings


def resolve_training_config(args, recipe):
    """The TrainingConfig of a ``train`` command: ``recipe``'s, then the settings of ``--config``,
    then each ``--set``, then the named options. Raises SettingError or CliError (one line)."""
    from .core.recipes import apply_settings, parse_assignment, read_settings_file

    config = recipe.config()
    if args.config:
        config = apply_settings(config, read_settings_file(args.config), source=f"--config {Path(args.config).name}")
    for text in args.settings:
        key, value = parse_assignment(text)
        config = apply_settings(config, {key: value}, source=f"--set {text}")
    return apply_settings(config, _option_settings(args), source="options")


def _finish_training(args, out: Path, events) -> int:
    """Print a training generator's progress to stderr, then write its model to ``out``
    (atomically, only once training has finished: a cancelled run writes nothing). Under
    torchrun only rank 0 prints and writes; the other ranks return 0 once their part is done."""
    from .core import distributed
    from .core.errors import DatasetError
    from .core import training as tr

    main_rank = distributed.is_main()

    def say(*values, **kwargs) -> None:  # progress and the summary: rank 0's only
        if main_rank:
            print(*values, **kwargs)

    finished = None
    try:
        for event in events:
            if isinstance(event, tr.DataReady):
                say(f"data: {event.n_train} train {event.train_counts}, {event.n_val} validation "
                    f"{event.val_counts}, {len(event.unreadable)} unreadable "
                    f"(decoded in {event.decode_seconds:.0f} s)", file=sys.stderr)
                for path, message in list(event.unreadable.items())[:10]:
                    say(f"  skipped: {message}", file=sys.stderr)
                if len(event.unreadable) > 10:
                    say(f"  … and {len(event.unreadable) - 10} more", file=sys.stderr)
            elif isinstance(event, tr.EpochDone):
                auc = "n/a" if event.val_auc is None else f"{event.val_auc:.4f}"
                val = ("val: none held out" if math.isnan(event.val_loss) else
                       f"val loss {event.val_loss:.4f} acc {event.val_accuracy:.4f} auc {auc}")
                say(f"member {event.member + 1} epoch {event.epoch}/{event.epochs}: train loss "
                    f"{event.train_loss:.4f} acc {event.train_accuracy:.4f} | {val} | lr {event.learning_rate:.2e} | "
                    f"{event.elapsed_s:.0f} s, ETA {event.eta_s:.0f} s{' *' if event.is_best else ''}",
                    file=sys.stderr, flush=True)
            elif isinstance(event, tr.StatusMessage):
                say(event.text, file=sys.stderr, flush=True)
            elif isinstance(event, tr.TrainingFinished):
                finished = event
    except DatasetError as exc:
        raise CliError(f"cannot train: {exc}") from None
    except KeyboardInterrupt:
        say("training cancelled; nothing was written", file=sys.stderr)
        return 130
    if not main_rank:
        return 0  # rank 0 calibrates and writes the model; this rank's share of training is done
    assert finished is not None
    classifier = finished.classifier
    if args.test_dir:
        report = _evaluate_folder(classifier, args.test_dir, None)
        classifier.metadata["test_metrics"] = {k: v for k, v in report.items() if k != "roc"}
    _save_model(classifier, out)
    vm = finished.validation_metrics
    if finished.comparison is not None:
        say(_comparison_lines(finished.comparison), file=sys.stderr)
    say(f"saved {out} in {finished.seconds:.0f} s: validation accuracy {vm['accuracy']:.4f}, "
        f"AUC {vm['auc']}, threshold {classifier.threshold:.3f}, temperature {classifier.temperature:.3f}",
        file=sys.stderr)
    return 0


def _comparison_lines(comparison) -> str:
    """The parent and the adapted model on the same held-out local films, as a small table."""
    def fmt(value) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    lines = [f"held-out local films ({len(comparison.paths)}): {comparison.how}",
             f"  {'model':<10} {'AUC':>6} {'accuracy':>9} {'sensitivity':>12} {'specificity':>12}"]
    for label, report in (("parent", comparison.parent_report), ("adapted", comparison.adapted_report)):
        lines.append(f"  {label:<10} {fmt(report.get('auc')):>6} {fmt(report.get('accuracy')):>9} "
                     f"{fmt(report.get('recall')):>12} {fmt(report.get('specificity')):>12}")
    return "\n".join(lines)


# Options that describe a network trained from scratch; a fine-tune takes them from --init.
_RECIPE_OPTIONS = ("--recipe", "--config", "--input-size", "--equalise", "--widths", "--members", "--snapshots",
                   "--tta", "--label-smoothing", "--no-augment", "--augment-after-equalise", "--aspect-jitter",
                   "--haze", "--mixup", "--raw-noise", "--zoom-range", "--shift", "--border-mask",
                   "--detector-epochs", "--classes", "--min-sensitivity")
# The settings a fine-tune's schedule shares with a recipe: --set KEY=VALUE with --init takes these.
_FINETUNE_SETTINGS = ("epochs", "learning_rate", "batch_size", "val_fraction", "seed", "bf16")


def _given_options(argv: list[str]) -> set[str]:
    return {a.split("=", 1)[0] for a in argv if a.startswith("--")}


def _finetune_config(args):
    """The fine-tuning schedule: FineTuneConfig's defaults, then ``--set`` of the schedule's
    settings, then --epochs, --lr, --batch-size, --val-fraction, --seed and --no-bf16."""
    import typing
    from dataclasses import replace

    from .core.finetune import FineTuneConfig
    from .core.recipes import SettingError, coerce_value, parse_assignment

    config = FineTuneConfig()
    types = typing.get_type_hints(FineTuneConfig)
    try:
        for text in args.settings:
            key, value = parse_assignment(text)
            if key not in _FINETUNE_SETTINGS:
                raise CliError(f"--set {key} cannot be used with --init: a fine-tune keeps the --init model's "
                               f"architecture, preprocessing and recipe (its schedule takes {', '.join(_FINETUNE_SETTINGS)})")
            config = replace(config, **{key: coerce_value(key, value, types[key], f"--set {text}")})
    except SettingError as exc:
        raise CliError(str(exc)) from None
    options = {"epochs": args.epochs, "learning_rate": args.lr, "batch_size": args.batch_size,
               "val_fraction": args.val_fraction, "seed": args.seed, "bf16": False if args.no_bf16 else None}
    return replace(config, **{k: v for k, v in options.items() if v is not None})


def cmd_finetune(args) -> int:
    """``train DATA --init MODEL --out FILE``: adapt MODEL to the labelled films of DATA."""
    from .core.dataset import scan_labelled_folder
    from .core.errors import DatasetError
    from .core.finetune import check_local_folder, finetune_model
    from .core.provenance import portable_command
    from .paths import user_cache_dir

    given = _given_options(args.argv)
    clash = [o for o in _RECIPE_OPTIONS if o in given]
    if clash:
        raise CliError(f"{clash[0]} cannot be used with --init: a fine-tune keeps the --init model's "
                       "architecture, preprocessing and recipe")
    config = _finetune_config(args)
    out = Path(args.out)
    if out.exists() and out.is_dir():
        raise CliError(f"--out {out} is a folder; give a file path")
    init = Path(args.init)
    if out.exists() and init.exists() and out.resolve() == init.resolve():
        raise CliError("--out is the --init model itself; write the adapted model to a new file")
    try:
        parent = _load_classifier(str(init))
    except CliError as exc:
        raise CliError(f"--init: {exc}", exc.code) from None
    try:
        config.validate()
        table = scan_labelled_folder(args.data_dir)
        check_local_folder(table, parent)
    except DatasetError as exc:
        raise CliError(f"cannot adapt: {exc}") from None
    cache = Path(args.cache_dir) if args.cache_dir else user_cache_dir()
    events = finetune_model(table, parent, config, cache_dir=cache, command=portable_command(args.argv),
                            name=args.name or out.stem)
    return _finish_training(args, out, events)


def _evaluate_folder(classifier, data_dir: str, threshold: float | None) -> dict:
    from .core.errors import DatasetError
    from .core.model_evaluation import run_evaluation

    try:
        return run_evaluation(classifier, data_dir, threshold).report
    except DatasetError as exc:
        raise CliError(f"cannot evaluate: {exc}") from None


def _write_evaluation_figure(report: dict, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display, no Qt: the CLI stays headless
    from .figures import evaluation_figure, save_figure_png

    target = Path(path)
    if target.is_dir():
        raise CliError(f"--figure {target} is a folder; give a file path ending in .png")
    try:
        save_figure_png(evaluation_figure(report, title), target)
    except OSError as exc:
        raise CliError(f"cannot write the figure {target}: {exc.strerror or exc}") from None
    print(f"wrote the figure {target}", file=sys.stderr)


def cmd_evaluate(args) -> int:
    from .core.metrics import format_metrics_table

    classifier = _load_classifier(args.model)
    report = _evaluate_folder(classifier, args.data_dir, args.threshold)
    if args.record:
        if not args.model:
            raise CliError("--record needs --model FILE; the shipped default is never rewritten in place")
        if args.threshold is not None:
            raise CliError("--record stores metrics at the model's own threshold; drop --threshold")
        classifier.metadata["test_metrics"] = {k: v for k, v in report.items() if k != "roc"}
        classifier.metadata["test_metrics"]["precision_path"] = classifier.precision
        _save_model(classifier, args.model)
        print(f"recorded the metrics in {args.model}", file=sys.stderr)
    if args.figure:
        _write_evaluation_figure(report, args.figure, f"{classifier.name} on {Path(args.data_dir).name}")
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print(format_metrics_table(report))
    return 0


def cmd_info(args) -> int:
    classifier = _load_classifier(args.model)
    meta = dict(classifier.metadata)
    meta["version_id"] = classifier.version
    meta["path"] = classifier.source_path
    if args.json:
        json.dump(meta, sys.stdout, indent=2)
        print()
        return 0
    training = meta.get("training", {})
    print(f"model:       {meta['name']} ({meta['version_id']})")
    print(f"file:        {meta['path']}")
    print(f"created:     {meta['created']} by PneumoDesktop {meta.get('app_version', '?')}")
    print(f"classes:     {', '.join(meta['classes'])} (normal: {meta['normal_class']})")
    prep = meta["preprocessing"]
    hidden = float(prep.get("border_mask", 0.0))
    print(f"input:       {prep['input_size']} px, equalisation {prep['equalise']}"
          + (f", outer {hidden:.1%} of each side hidden" if hidden > 0 else ""))
    print(f"ensemble:    {meta['architecture']['n_members']} member(s), widths {meta['architecture']['widths']}, "
          f"{len(meta['tta_shifts'])} test-time view(s)")
    print(f"threshold:   {meta['threshold']:.4f} ({meta.get('threshold_rule', '')})")
    print(f"temperature: {meta['temperature']:.4f}")
    if training:
        data = training.get("data", {})
        print(f"training:    {training.get('seconds', '?')} s, seed {training.get('seed')}, "
              f"train {data.get('train_counts')}, validation {data.get('val_counts')}")
        print(f"command:     {training.get('command', '')}")
    lineage = meta.get("lineage")
    if isinstance(lineage, dict) and isinstance(lineage.get("parent"), dict):
        parent = lineage["parent"]
        counts = lineage.get("local_counts") or {}
        print(f"adapted:     from {parent.get('name')} ({parent.get('version')}) on {sum(counts.values())} local films "
              f"{counts} on {str(lineage.get('date', '?'))[:10]}")
        comparison = lineage.get("comparison") or {}
        for who in ("parent", "adapted"):
            figures = comparison.get(who) or {}
            if figures.get("auc") is not None:
                print(f"  held-out local films, {who}: AUC {figures['auc']:.4f}, accuracy {figures['accuracy']:.4f}, "
                      f"sensitivity {figures['recall']:.4f}, specificity {figures['specificity']:.4f}, n {figures.get('n')}")
    for key in ("validation_metrics", "validation_shifted_metrics", "test_metrics"):
        metrics = meta.get(key)
        if metrics:
            def fmt(name: str) -> str:
                value = metrics.get(name)
                return "n/a" if value is None else f"{value:.4f}"

            print(f"{key.replace('_', ' ')}: accuracy {fmt('accuracy')}, AUC {fmt('auc')}, "
                  f"sensitivity {fmt('recall')}, specificity {fmt('specificity')}, n {metrics.get('n')}")
    stress = meta.get("validation_stress_metrics")  # checked when the file was read
    scored = {k: v["specificity"] for k, v in (stress or {}).get("changes", {}).items() if v.get("specificity") is not None}
    if stress and stress.get("mean_auc") is not None and scored:
        worst = min(scored, key=scored.get)
        print(f"validation stress (changes to the normals): mean AUC {stress['mean_auc']:.4f}, "
              f"mean specificity {stress['mean_specificity']:.4f}; "
              f"worst: {worst} (specificity {scored[worst]:.3f})")
    detector = meta.get("detector")  # checked when the file was read
    if detector:
        refused = detector.get("validation_refused")
        stressed = [v for v in (detector.get("validation_stress_refused") or {}).values() if v is not None]
        figures = "" if refused is None else (
            f"; refused {100 * refused:.1f}% of validation X-rays"
            + (f", at most {100 * max(stressed):.1f}% under a stress change" if stressed else ""))
        print(f"image check: chest X-ray detector ({detector['input_size']} px, widths {detector['widths']}), "
              f"refuses at P(not a frontal chest X-ray) >= {detector['refuse_at']:.2f}{figures}"
              + ("; lateral views are refused as lateral views" if len(detector.get("classes") or []) == 3 else ""))
    else:
        print("image check: no chest X-ray detector in this file (image statistics and feature distance only)")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        args.argv = argv  # recorded in model files as the command that trained them
        if args.command is None:
            parser.print_help()
            return 0
        if args.command != "predict":  # predict imports torch itself, once its decoding has started
            configure_torch_threads()
        handler = {"predict": cmd_predict, "train": cmd_train, "evaluate": cmd_evaluate, "info": cmd_info}[args.command]
        return handler(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130
