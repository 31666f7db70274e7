"""Training speed: seconds per epoch for fp32 vs bf16 autocast, channels_last vs NCHW.

    python bench/bench_training.py [--data DIR] [--limit N] [--quick] [--epochs 1] [--threads 2] [--json]

Every variant runs ``train_model`` (the product's training generator) with the default
``TrainingConfig`` (batch 64, augmentation on, 150 px, widths 32-64-128-128) for ``--epochs``
epoch(s), timed from its progress events; the generator is closed after the last epoch, so
calibration and the gate fit are not included. Decoding happens once, before the first variant's
timing starts (the decoded-image cache serves the others).

``train_model`` always trains channels_last; the NCHW variants swap in (for this process only)
a ChestCNN subclass that ignores the memory-format request and makes its input contiguous.

Default data: the full training split in ``../data/train_full`` beside the repository (5,216
images); when it is absent the script says so and exits 0 unless ``--data`` names another
labelled folder. ``--quick``: 512 images, 1 epoch per variant.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import _common as C

VARIANTS = {
    "fp32, channels_last": (False, True),
    "bf16 autocast, channels_last (default)": (True, True),
    "fp32, NCHW": (False, False),
    "bf16 autocast, NCHW": (True, False),
}


def nchw_model_class(base):
    class NCHWChestCNN(base):
        """ChestCNN that stays in NCHW whatever ``train_model`` asks for."""

        def to(self, *args, **kwargs):
            kwargs.pop("memory_format", None)
            return super().to(*args, **kwargs) if args or kwargs else self

        def forward(self, x):
            return super().forward(x.contiguous())

    return NCHWChestCNN


def load_table(data: Path, limit: int | None, val_fraction: float, seed: int):
    from pneumo_desktop.core.dataset import check_trainable, grouped_split, scan_labelled_folder

    table = scan_labelled_folder(data)
    if limit and limit < len(table):
        # Stratified subset: the same fraction of every class.
        frac = limit / len(table)
        table = table.groupby("label").sample(frac=frac, random_state=seed).sort_index().reset_index(drop=True)
    check_trainable(table)
    return grouped_split(table, val_fraction, seed)


def run_variant(table, bf16: bool, channels_last: bool, epochs: int, cache_dir: Path | None) -> dict:
    from pneumo_desktop.core import training as tr

    config = tr.TrainingConfig(epochs=epochs, bf16=bf16)
    original = tr.ChestCNN
    if not channels_last:
        tr.ChestCNN = nchw_model_class(original)
    try:
        gen = tr.train_model(table, config, cache_dir=cache_dir, name="bench")
        epoch_start = None
        batch_times: list[float] = []
        last_batch_t = None
        epochs_out = []
        decode_s = None
        n_train = 0
        for event in gen:
            now = time.perf_counter()
            if isinstance(event, tr.DataReady):
                decode_s, n_train, epoch_start = event.decode_seconds, event.n_train, now
                last_batch_t = now
            elif isinstance(event, tr.BatchDone):
                batch_times.append(now - last_batch_t)
                last_batch_t = now
            elif isinstance(event, tr.EpochDone):
                train_s = last_batch_t - epoch_start
                epochs_out.append({"epoch": event.epoch, "train_s": train_s, "epoch_s": now - epoch_start,
                                   "validation_s": now - last_batch_t, "train_loss": event.train_loss,
                                   "val_auc": event.val_auc})
                epoch_start = last_batch_t = now
                if event.epoch == epochs:
                    gen.close()
                    break
    finally:
        tr.ChestCNN = original
    n_batches = max(1, n_train // config.batch_size)
    steady = batch_times[2:] if len(batch_times) > 4 else batch_times
    batch_med = statistics.median(steady)
    last = epochs_out[-1]
    return {"bf16": bf16, "channels_last": channels_last, "n_train": n_train, "n_batches_per_epoch": n_batches,
            "decode_s": decode_s, "epochs": epochs_out, "last_epoch_s": last["epoch_s"],
            "last_train_s": last["train_s"], "validation_s": last["validation_s"],
            "median_batch_s": batch_med, "steady_epoch_s": batch_med * n_batches,
            "train_images_per_s": n_batches * config.batch_size / last["train_s"],
            "train_loss": last["train_loss"], "val_auc": last["val_auc"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    C.add_common_args(parser, model=False)
    parser.add_argument("--data", help=f"labelled folder (default {C.DEFAULT_TRAIN_FULL})")
    parser.add_argument("--limit", type=int, help="use a stratified subset of N images")
    parser.add_argument("--quick", action="store_true", help="512 images (unless --limit), 1 epoch per variant")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per variant (default 1)")
    parser.add_argument("--variants", default=",".join(str(i) for i in range(len(VARIANTS))),
                        help="comma-separated indices into: " + "; ".join(f"{i}={k}" for i, k in enumerate(VARIANTS)))
    parser.add_argument("--cache-dir", help="decoded-image cache (default: the user cache folder, as the CLI)")
    args = parser.parse_args()

    data = Path(args.data) if args.data else C.DEFAULT_TRAIN_FULL
    if not data.is_dir():
        if args.data:
            sys.exit(f"data folder not found: {data}")
        print(f"bench_training: skipped: the full training split is not at {data} on this machine "
              f"(pass --data DIR, e.g. --data {C.DEFAULT_TRAIN_MINI})")
        return 0
    if args.quick:
        args.limit = args.limit or 512
        args.epochs = 1
    C.pin_threads(args.threads)
    from pneumo_desktop.core.training import TrainingConfig
    from pneumo_desktop.paths import user_cache_dir

    cache = Path(args.cache_dir) if args.cache_dir else user_cache_dir()
    defaults = TrainingConfig()
    table = load_table(data, args.limit, defaults.val_fraction, defaults.seed)
    info = C.machine_info(args.threads)
    extra = {"data": f"{data} ({len(table)} images{', stratified subset' if args.limit else ''}; "
                     f"{int((table['split'] == 'train').sum())} train / {int((table['split'] == 'val').sum())} val)",
             "config": f"default TrainingConfig: batch {defaults.batch_size}, {defaults.input_size} px, widths "
                       f"{list(defaults.widths)}, augment {defaults.augment}; {args.epochs} epoch(s) per variant",
             "decoded-image cache": str(cache)}
    print(C.header("bench_training", info, extra))
    names = [list(VARIANTS)[int(i)] for i in args.variants.split(",")]

    results = {"machine": info, **extra, "variants": {}}
    for name in names:
        bf16, cl = VARIANTS[name]
        print(f"running: {name} …", file=sys.stderr, flush=True)
        results["variants"][name] = run_variant(table, bf16, cl, args.epochs, cache)
    first = results["variants"][names[0]]
    print(f"\ndecode before the first variant: {first['decode_s']:.1f} s (cached afterwards)")
    rows = []
    base = results["variants"].get("fp32, channels_last")
    for name in names:
        r = results["variants"][name]
        rel = base["steady_epoch_s"] / r["steady_epoch_s"] if base else None
        rows.append([name, r["last_epoch_s"], r["last_train_s"], r["validation_s"], r["steady_epoch_s"],
                     r["train_images_per_s"], rel, r["train_loss"]])
    print(C.table(["variant", "epoch s", "train s", "val s", "steady s/epoch", "train img/s", "x vs fp32 CL",
                   "train loss"], rows, 2))
    print("epoch s = train + validation of the last epoch; steady s/epoch = median batch time (first 2 batches "
          "excluded) x batches per epoch")
    if args.json:
        C.emit_json(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
