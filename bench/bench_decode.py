"""What reading one full-size film into the model's input costs, per format, on one core.

    python bench/bench_decode.py [--size 2800] [--side 150] [--repeats 15] [--json]

Writes generated films into a temporary folder (removed afterwards): a ``--size`` px square
uncompressed 12-bit DICOM stored in 16 bits (MONOCHROME2, with a window), a 16-bit PNG, an 8-bit
PNG and a JPEG (quality 90), all of one synthetic chest with texture and pixel noise. For each,
per film (median over ``--repeats`` interleaved rounds, each timed run right after an untimed
run of the same method, as in a batch):

* **library decode**: the decoder alone (pydicom ``dcmread`` + ``pixel_array``; Pillow
  ``open`` + ``load``), the floor any reader pays;
* **old**: ``read_image`` + ``prepare_image`` (full-resolution read, then the resize);
* **new**: ``read_image_for_model`` + ``prepare_xray`` (the film reduced by an integer block
  mean before any float work), what ``decode_for_model`` and training's decode do;
* **new + gate**: ``decode_for_model`` as a whole (adds the image-statistics gate).

Wall and CPU (``time.thread_time``) milliseconds, everything on one thread (torch, OpenMP, MKL and
OpenBLAS pinned to 1). The ratio columns divide by the library decode. Targets: DICOM new <= 40 ms,
16-bit PNG new <= 1.2 x Pillow's decode.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402 - the thread variables must be set before numpy is imported
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import _common as C  # noqa: E402

TARGET_DICOM_MS = 40.0
TARGET_PNG16_RATIO = 1.2


def make_film(size: int, seed: int = 1):
    """float32 (size, size) in [0, 1]: ``core.synthetic.synthetic_film``."""
    from pneumo_desktop.core.synthetic import synthetic_film

    return synthetic_film(size, size, seed)


def write_films(folder: Path, size: int) -> dict[str, Path]:
    import numpy as np
    from PIL import Image

    from pneumo_desktop.core.synthetic import write_synthetic_dicom

    film = make_film(size)
    stored = np.round(film * 3800 + 100).astype(np.uint16)
    paths = {"DICOM 12-bit (uncompressed)": folder / "film.dcm", "PNG 16-bit": folder / "film16.png",
             "PNG 8-bit": folder / "film8.png", "JPEG (q90)": folder / "film.jpg"}
    write_synthetic_dicom(paths["DICOM 12-bit (uncompressed)"], stored, BitsStored=12, WindowCenter=2000,
                          WindowWidth=3000)
    Image.fromarray(np.round(film * 65535).astype(np.uint16)).save(paths["PNG 16-bit"])
    u8 = np.round(film * 255).astype(np.uint8)
    Image.fromarray(u8).save(paths["PNG 8-bit"])
    Image.fromarray(u8).save(paths["JPEG (q90)"], quality=90)
    return paths


def library_decode(path: Path):
    if path.suffix == ".dcm":
        import pydicom
        from pydicom.pixels import pixel_array

        return pixel_array(pydicom.dcmread(str(path), force=True, defer_size="256 KB"), index=0)
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        return im.size


def methods(side: int) -> dict:
    from pneumo_desktop.core.decode import decode_for_model
    from pneumo_desktop.core.image_preparation import Preprocessing, prepare_image, prepare_xray
    from pneumo_desktop.core.imageio import read_image, read_image_for_model

    prep = Preprocessing(input_size=side)
    return {
        "library decode": library_decode,
        "old: read_image + prepare_image": lambda p: prepare_image(read_image(p).pixels, prep),
        "new: read_image_for_model + prepare_xray": lambda p: prepare_xray(read_image_for_model(p, side), prep),
        "new + gate: decode_for_model": lambda p: decode_for_model(str(p), prep),
    }


def time_once(fn, path) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.thread_time()
    fn(path)
    return time.perf_counter() - wall, time.thread_time() - cpu


def measure(paths: dict[str, Path], side: int, repeats: int) -> dict:
    fns = methods(side)
    samples = {fmt: {name: ([], []) for name in fns} for fmt in paths}
    for fmt, path in paths.items():  # warm-up: imports, first-call costs, the page cache
        for fn in fns.values():
            fn(path)
    for _ in range(repeats):  # interleaved, so a burst of load hits every method alike
        for fmt, path in paths.items():
            for name, fn in fns.items():
                # One untimed run first: a method then runs as in a batch of films, after itself.
                # (Right after another method, it would pay for that one's freed memory: the
                # page faults of re-growing the heap count as its CPU time.)
                fn(path)
                wall, cpu = time_once(fn, path)
                samples[fmt][name][0].append(wall)
                samples[fmt][name][1].append(cpu)
    return {fmt: {name: {"wall_ms": statistics.median(w) * 1e3, "cpu_ms": statistics.median(c) * 1e3}
                  for name, (w, c) in per.items()} for fmt, per in samples.items()}


def model_input_check(paths: dict[str, Path], side: int) -> dict:
    """Largest and mean level difference of the model input, old against new (equalise hist)."""
    import numpy as np

    fns = methods(side)
    out = {}
    for fmt, path in paths.items():
        old = fns["old: read_image + prepare_image"](path).astype(int)
        new = fns["new: read_image_for_model + prepare_xray"](path).astype(int)
        diff = np.abs(old - new)
        out[fmt] = {"max": int(diff.max()), "mean": float(diff.mean()), "over_4": float((diff > 4).mean())}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2800, help="film side in pixels (default 2800)")
    parser.add_argument("--side", type=int, default=150, help="model input side (default 150, the shipped models')")
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON object")
    args = parser.parse_args()

    C.pin_threads(1)
    info = C.machine_info(1)
    print(C.header("bench_decode: one full-size film to the model's input, one thread", info,
                   {"films": f"{args.size} x {args.size} px, generated; model input {args.side} px, equalise hist",
                    "timing": f"median of {args.repeats} interleaved rounds, each timed run after an untimed one of the "
                              f"same method; CPU = time.thread_time"}))
    folder = Path(tempfile.mkdtemp(prefix="bench-decode-"))
    try:
        paths = write_films(folder, args.size)
        sizes = {fmt: path.stat().st_size / 1e6 for fmt, path in paths.items()}
        results = measure(paths, args.side, args.repeats)
        check = model_input_check(paths, args.side)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    for fmt, per in results.items():
        base = per["library decode"]
        print(f"\n{fmt}: {sizes[fmt]:.1f} MB")
        rows = [[name, r["wall_ms"], r["cpu_ms"], r["wall_ms"] / base["wall_ms"], r["cpu_ms"] / base["cpu_ms"]]
                for name, r in per.items()]
        print(C.table(["ms per film", "wall", "CPU", "wall / decode", "CPU / decode"], rows))
        c = check[fmt]
        print(f"model input, new vs old: max {c['max']} levels, mean {c['mean']:.3f}, "
              f"{100 * c['over_4']:.2f} % of pixels more than 4 levels apart")

    dicom = results["DICOM 12-bit (uncompressed)"]["new: read_image_for_model + prepare_xray"]["cpu_ms"]
    png = results["PNG 16-bit"]
    ratio = png["new: read_image_for_model + prepare_xray"]["cpu_ms"] / png["library decode"]["cpu_ms"]
    print(f"\ntargets (CPU): DICOM new {dicom:.1f} ms <= {TARGET_DICOM_MS:.0f} ms: "
          f"{'met' if dicom <= TARGET_DICOM_MS else 'MISSED'}; 16-bit PNG new / Pillow {ratio:.2f} <= "
          f"{TARGET_PNG16_RATIO}: {'met' if ratio <= TARGET_PNG16_RATIO else 'MISSED'}")
    if args.json:
        C.emit_json({"machine": info, "size": args.size, "side": args.side, "results": results,
                     "model_input_difference": check})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
