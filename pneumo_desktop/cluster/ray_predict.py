"""``predict PATH... --engine ray --out OUT.parquet``: batch prediction as a Ray Data job.

The pipeline, for the files ``list_input_files`` finds (exactly those ``predict`` would read):

1. the model file is loaded once on the driver, before Ray starts: an unloadable model is the
   CLI's one-line ``error: cannot load model: …`` and exit 3, and no work begins;
2. Ray Data tasks (``map_batches`` with a function) read, gate and prepare each file with the
   core's own ``decode.decode_for_model`` and the model's stored ``Preprocessing`` (DICOM
   included); a broken or unsupported file becomes a row with its status and message, never a
   failed task;
3. an actor pool (``map_batches`` with a callable class, ``concurrency=--actors``) holds one
   ``Classifier`` per actor, loaded once, and runs ``core.predict.predict_decoded`` on each
   decoded batch: the same batch inference, gates and threshold rule as the single-machine
   ``predict``. A worker that dies is restarted and its batch retried (Ray Data's defaults for
   actor pools: ``max_restarts`` and ``max_task_retries`` unlimited);
4. the driver writes each batch that comes back as its own Parquet part file, atomically.

**OUT layout.** ``OUT`` (e.g. ``results.parquet``) is a folder of part files
``part-NNNNN-XXXXXXXX.parquet``, one per finished batch; ``pandas.read_parquet(OUT)`` and
``pyarrow.parquet.read_table(OUT)`` read it as one table. A part is written under a hidden
temporary name (``.part-….tmp``) and renamed when complete, so a killed job never leaves a
partial part under a counted name, and readers skip the temporary files (names starting with a
dot). The driver writes the parts, not the workers: ``OUT`` is on the machine that runs the
command, while the input files (and the model file) must be readable by every worker under the
same paths (a shared file system on a real cluster; relative paths are made absolute first).

**Engine.** Without ``--address`` the command starts a local Ray on this machine's usable cores
(no dashboard, no usage reports) and shuts it down at the end; ``--address auto`` or
``--address HOST:PORT`` joins a running cluster from one of its nodes, and
``--address ray://HOST:PORT`` through Ray Client (which needs ``ray[client]``, i.e. grpcio).

**Columns** are those of ``predict --json`` (``PredictionRecord.to_dict``), one row per file, in
no particular order: ``path`` (as given or found, like ``predict``), ``status`` (ok, error,
unsupported), ``label``, ``probability`` (P(not normal)), ``probabilities`` (a struct with one
field per class), ``message`` and ``timing_ms`` (struct of ``decode`` and ``inference``). The
schema's metadata names the model (``pneumo_desktop.model_version``).

**Resume.** ``--resume`` reads the paths already in ``OUT`` and predicts only the others, so a
killed job continues without duplicates or gaps. Without it, an ``OUT`` that already holds
parts is a usage error (nothing is overwritten or mixed). Resuming with another model is refused.

**CPU shares.** A decode task reserves ``DECODE_CPUS`` (0.75 of a CPU: it is single-threaded
Pillow and numpy work, with some waiting on the disk); an actor reserves at most ``ACTOR_CPUS``
(a quarter: one torch thread that waits for decoded batches much of the time), less where the
actors would otherwise leave no room for a decode task. With the default ``--actors`` (one per
CPU Ray has) the actors reserve a quarter of the CPUs and about as many decode tasks as CPUs run
at once. The two reservations differ on purpose: Ray Data fuses a task map into the following
actor map when their resources match, and decoding would then run inside the actors, no wider
than the pool; a full-size film costs far more to decode than to classify.

Nothing here imports Ray, pyarrow or torch at module level: the command line imports this
module to add the options, and the desktop app never imports it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import math
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..argtypes import positive_int as _positive_int

__all__ = ["add_ray_arguments", "run_ray_predict", "predict_to_parquet", "read_done_paths", "part_files",
           "local_engine_conflict", "actor_cpu_share", "RayPredictError", "JobSummary", "ENGINES"]

ENGINES = ("local", "ray")
EXIT_USAGE = 2
EXIT_MODEL = 3
DEFAULT_BATCH_SIZE = 32
ACTOR_CPUS = 0.25
DECODE_CPUS = 0.75
PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"
MODEL_VERSION_KEY = b"pneumo_desktop.model_version"
CLASSES_KEY = b"pneumo_desktop.classes"
# Test hook: when set to a file path that does not exist yet, the first actor batch creates the
# file and kills its worker process (os._exit), to prove that Ray restarts it and retries.
FAIL_ONCE_ENV = "PNEUMO_DESKTOP_RAY_FAIL_ONCE"
RAY_ONLY_OPTIONS = ("address", "out", "resume", "actors")


class RayPredictError(Exception):
    """A one-line message for the user and the CLI's exit code (2 usage, 3 model)."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--engine``, ``--address``, ``--out``, ``--resume`` and ``--actors`` to the ``predict``
    sub-parser (which already has ``--batch-size``, ``--json`` and ``--csv``)."""
    group = parser.add_argument_group("cluster engine (needs the 'cluster' extra: Ray)")
    group.add_argument("--engine", choices=ENGINES, default="local",
                       help="local: this process (default); ray: a Ray Data job that writes --out")
    group.add_argument("--address", metavar="ADDR",
                       help="with --engine ray: join this Ray cluster ('auto', host:port or ray://host:port); "
                            "default: start a local Ray on this machine")
    group.add_argument("--out", metavar="OUT.parquet",
                       help="with --engine ray: a folder of Parquet part files, one row per input file "
                            "(pandas.read_parquet reads it as one table)")
    group.add_argument("--resume", action="store_true",
                       help="with --engine ray: skip the files already in --out (continue a stopped job)")
    group.add_argument("--actors", type=_positive_int, metavar="N",
                       help="with --engine ray: classifier actors (default: one per CPU Ray has)")


def local_engine_conflict(args) -> str | None:
    """A usage message when a ray-only option is given without ``--engine ray``, else None."""
    if getattr(args, "engine", "local") == "ray":
        return None
    given = [f"--{name}" for name in RAY_ONLY_OPTIONS if getattr(args, name, None) not in (None, False)]
    return f"{given[0]} needs --engine ray" if given else None


# ----- the job ------------------------------------------------------------------------------------
@dataclass
class JobSummary:
    """What a job did. ``files``: rows written by this run; ``skipped``: inputs already in OUT.

    Times in seconds: ``seconds`` the whole job (start-up included); ``ready_seconds`` until Ray
    was ready (model check, file listing, resume, Ray's start); ``init_seconds`` Ray's start-up or
    connection alone; ``decode_seconds`` and ``inference_seconds`` summed over the files
    inside the tasks and actors (work, not wall time: parallel workers add up); ``write_seconds``
    the driver's Parquet writes.
    """

    out: Path
    files: int = 0
    skipped: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"ok": 0, "unsupported": 0, "error": 0})
    parts: int = 0
    seconds: float = 0.0
    ready_seconds: float = 0.0
    init_seconds: float = 0.0
    decode_seconds: float = 0.0
    inference_seconds: float = 0.0
    write_seconds: float = 0.0
    actors: int = 0

    @property
    def films_per_second(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        skipped = f", {self.skipped} already in {self.out}" if self.skipped else ""
        return (f"{self.files} files in {self.seconds:.1f} s ({self.films_per_second:.1f} films/s, "
                f"{self.actors} actors): {self.counts.get('ok', 0)} ok, {self.counts.get('unsupported', 0)} refused, "
                f"{self.counts.get('error', 0)} error{skipped}; {self.parts} part file{'' if self.parts == 1 else 's'} "
                f"in {self.out}")


def part_files(out: Path) -> list[Path]:
    """The finished part files in ``out`` (temporary files and anything else left out), sorted."""
    if not out.is_dir():
        return []
    return sorted(p for p in out.iterdir() if p.name.startswith(PART_PREFIX) and p.name.endswith(PART_SUFFIX))


def read_done_paths(out: str | Path, model_version: str | None = None) -> set[str]:
    """The ``path`` values already in ``out``'s part files. ``model_version``: refuse parts written
    with another model (RayPredictError). A part that cannot be read is a RayPredictError too."""
    import pyarrow.parquet as pq

    done: set[str] = set()
    for part in part_files(Path(out)):
        try:
            parquet = pq.ParquetFile(part)
            meta = parquet.schema_arrow.metadata or {}
            paths = parquet.read(columns=["path"]).column("path").to_pylist()
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a damaged file
            raise RayPredictError(f"cannot read {part}: {exc}; remove that part and resume") from None
        written_with = meta.get(MODEL_VERSION_KEY, b"").decode() or None
        if model_version is not None and written_with not in (None, model_version):
            raise RayPredictError(f"{out} holds results of another model ({written_with}, not {model_version}); "
                                  "write to a new --out")
        done.update(paths)
    return done


def _schema(classes: list[str], model_version: str):
    import pyarrow as pa

    return pa.schema([
        ("path", pa.string()),
        ("status", pa.string()),
        ("label", pa.string()),
        ("probability", pa.float64()),
        ("probabilities", pa.struct([(c, pa.float64()) for c in classes])),
        ("message", pa.string()),
        ("timing_ms", pa.struct([("decode", pa.float64()), ("inference", pa.float64())])),
    ], metadata={MODEL_VERSION_KEY: model_version.encode(), CLASSES_KEY: json.dumps(classes).encode()})


def _decode_batch(batch, prep: dict):
    """Ray Data task: read, gate and prepare each file of ``batch`` (pyarrow table with ``path``,
    the path as given, and ``read_from``, the absolute path). Returns a pyarrow table with the
    DecodedInput fields; the prepared image is ``image``, S*S bytes (empty unless status is ok)."""
    import pyarrow as pa

    from ..core.decode import decode_for_model
    from ..core.image_preparation import Preprocessing

    preprocessing = Preprocessing.from_dict(prep)
    rows = {"path": [], "status": [], "message": [], "height": [], "width": [], "decode_ms": [], "image": []}
    for given, read_from in zip(batch.column("path").to_pylist(), batch.column("read_from").to_pylist()):
        d = decode_for_model(read_from, preprocessing)
        rows["path"].append(given)
        rows["status"].append(d.status)
        rows["message"].append(d.message)
        rows["height"].append(-1 if d.size is None else int(d.size[0]))
        rows["width"].append(-1 if d.size is None else int(d.size[1]))
        rows["decode_ms"].append(float(d.decode_ms))
        rows["image"].append(b"" if d.image_u8 is None else d.image_u8.tobytes())
    return pa.table({
        "path": pa.array(rows["path"], pa.string()), "status": pa.array(rows["status"], pa.string()),
        "message": pa.array(rows["message"], pa.string()), "height": pa.array(rows["height"], pa.int32()),
        "width": pa.array(rows["width"], pa.int32()), "decode_ms": pa.array(rows["decode_ms"], pa.float64()),
        "image": pa.array(rows["image"], pa.binary()),
    })


class _ClassifyBatch:
    """Ray Data actor: one Classifier, loaded once; each call classifies one decoded batch."""

    def __init__(self, model_path: str, threshold: float | None, model_version: str, fail_once: str | None = None):
        import torch

        from ..process import THREADS_ENV

        wanted = os.environ.get(THREADS_ENV, "")
        torch.set_num_threads(int(wanted) if wanted.isdigit() and int(wanted) > 0 else 1)
        from ..core.classifier import Classifier

        self.classifier = Classifier.load(model_path)
        self.threshold = threshold
        self.schema = _schema(self.classifier.classes, model_version)
        self.fail_once = fail_once

    def __call__(self, batch):
        import numpy as np
        import pyarrow as pa

        from ..core.decode import STATUS_OK, DecodedInput
        from ..core.predict import predict_decoded

        if self.fail_once and not os.path.exists(self.fail_once):
            Path(self.fail_once).write_text(str(os.getpid()))
            os._exit(17)  # the test of worker failure: die mid-job, once
        size = self.classifier.preprocessing.input_size
        items = []
        columns = {name: batch.column(name).to_pylist() for name in batch.column_names}
        for path, status, message, h, w, ms, image in zip(columns["path"], columns["status"], columns["message"],
                                                          columns["height"], columns["width"], columns["decode_ms"],
                                                          columns["image"]):
            pixels = np.frombuffer(image, dtype=np.uint8).reshape(size, size) if status == STATUS_OK else None
            items.append(DecodedInput(path, pixels, None if h < 0 else (h, w), status, message, ms))
        records = predict_decoded(self.classifier, items, threshold=self.threshold)
        return pa.Table.from_pylist([r.to_dict() for r in records], schema=self.schema)


def actor_cpu_share(cpus: float, actors: int) -> float:
    """The CPUs each of ``actors`` actors reserves on a cluster of ``cpus``: ``ACTOR_CPUS``, less
    where that would leave less than one decode task's share (never below zero)."""
    return round(max(0.0, min(ACTOR_CPUS, (cpus - DECODE_CPUS) / max(1, actors))), 4)


def _usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _start_ray(address: str | None, num_cpus: int | None):
    """Join ``address`` or start a local Ray; returns (ray, started_here). A Ray already
    initialised in this process (a test, a notebook) is used as it is."""
    import ray

    if ray.is_initialized():
        return ray, False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # an offline tool: no usage reports
    if address:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=True)
    else:
        ray.init(num_cpus=num_cpus or _usable_cpus(), include_dashboard=False, logging_level=logging.WARNING,
                 log_to_driver=True)
    return ray, True


def _write_part(table, out: Path, number: int) -> Path:
    import pyarrow.parquet as pq

    from ..core.atomic import atomic_path

    target = out / f"{PART_PREFIX}{number:05d}-{secrets.token_hex(4)}{PART_SUFFIX}"
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp)
    return target


def _remove_stale_temporaries(out: Path) -> None:
    """Temporary parts of a killed run (hidden ``.part-….tmp`` files): never counted, removed."""
    for p in out.iterdir():
        if p.name.startswith("." + PART_PREFIX) and ".tmp" in p.name:
            try:
                p.unlink()
            except OSError:
                pass


def predict_to_parquet(inputs: list[str], model_path: str | Path, out: str | Path, *, threshold: float | None = None,
                       resume: bool = False, actors: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                       address: str | None = None, num_cpus: int | None = None,
                       progress: bool = True) -> JobSummary:
    """Predict every file under ``inputs`` on Ray and write the rows to the folder ``out``.

    Raises RayPredictError (usage: 2, model: 3) before Ray starts when the options, ``out`` or the
    model file are wrong. ``num_cpus``: CPUs of a local Ray (default: this machine's usable cores);
    ``progress``: Ray Data's progress bars (on stderr).
    """
    start = time.perf_counter()
    out = Path(out)
    summary = JobSummary(out=out)
    if out.exists() and not out.is_dir():
        raise RayPredictError(f"--out {out} is a file; give a folder name such as results.parquet")
    if part_files(out) and not resume:
        raise RayPredictError(f"--out {out} already holds results; add --resume to continue that job, "
                              "or give a new folder")
    missing = [name for name in ("ray", "pyarrow") if importlib.util.find_spec(name) is None]
    if missing:
        raise RayPredictError(f"--engine ray needs Ray ({missing[0]} is not installed): "
                              "pip install 'pneumo-desktop[cluster]'")

    # The model first: a file that cannot be loaded stops here, before Ray starts.
    from ..core.classifier import Classifier
    from ..core.errors import ModelFileError
    from ..core.imageio import list_input_files

    model_path = Path(model_path)
    try:
        classifier = Classifier.load(model_path)
    except ModelFileError as exc:
        raise RayPredictError(f"cannot load model: {exc}", EXIT_MODEL) from None
    schema = _schema(classifier.classes, classifier.version)
    prep = classifier.preprocessing.to_dict()
    del classifier

    paths = [str(p) for p in list_input_files(inputs)]
    done = read_done_paths(out, schema.metadata[MODEL_VERSION_KEY].decode()) if resume else set()
    todo = [p for p in paths if p not in done]
    summary.skipped = len(paths) - len(todo)
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out)
    number = len(part_files(out))
    if not todo:
        summary.seconds = time.perf_counter() - start
        return summary

    t0 = time.perf_counter()
    try:
        ray, started = _start_ray(address, num_cpus)
    except Exception as exc:  # noqa: BLE001 - ConnectionError, RuntimeError, ValueError, grpc errors
        where = f"join the Ray cluster at {address}" if address else "start a local Ray"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RayPredictError(f"cannot {where}: {first}") from None
    summary.init_seconds = time.perf_counter() - t0
    summary.ready_seconds = time.perf_counter() - start
    try:
        import pyarrow.compute as pc
        import ray.data

        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = progress
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        cpus = float(ray.cluster_resources().get("CPU", 1))
        summary.actors = int(actors or max(1, int(cpus)))
        batch_size = max(1, batch_size)
        rows = [{"path": p, "read_from": os.path.abspath(p)} for p in todo]
        ds = ray.data.from_items(rows, override_num_blocks=math.ceil(len(rows) / batch_size))
        ds = ds.map_batches(_decode_batch, fn_kwargs={"prep": prep}, batch_size=batch_size, batch_format="pyarrow",
                            num_cpus=DECODE_CPUS)
        # Ray Data restarts a dead actor and retries its batch by default (max_restarts and
        # max_task_retries -1); setting them goes through ray_remote_args, deprecated in Ray 2.60.
        ds = ds.map_batches(
            _ClassifyBatch, batch_size=batch_size, batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=summary.actors),
            num_cpus=actor_cpu_share(cpus, summary.actors),
            fn_constructor_kwargs={"model_path": str(model_path.resolve()), "threshold": threshold,
                                   "model_version": schema.metadata[MODEL_VERSION_KEY].decode(),
                                   "fail_once": os.environ.get(FAIL_ONCE_ENV) or None})
        for table in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            if table.num_rows == 0:
                continue
            table = table.cast(schema)  # the schema's metadata travels with the table's own
            t1 = time.perf_counter()
            _write_part(table, out, number)
            summary.write_seconds += time.perf_counter() - t1
            number += 1
            summary.parts += 1
            summary.files += table.num_rows
            for status, n in zip(*pc.value_counts(table.column("status")).flatten()):
                summary.counts[status.as_py()] = summary.counts.get(status.as_py(), 0) + n.as_py()
            timing = table.column("timing_ms").combine_chunks()
            summary.decode_seconds += (pc.sum(timing.field("decode")).as_py() or 0.0) / 1e3
            summary.inference_seconds += (pc.sum(timing.field("inference")).as_py() or 0.0) / 1e3
    finally:
        if started:
            ray.shutdown()
    summary.seconds = time.perf_counter() - start
    return summary


def run_ray_predict(args) -> int:
    """The ``predict --engine ray`` command: returns the exit code (0, 2 usage, 3 model); an
    error is one line on stderr (``error: …``), like every other CLI error."""
    from ..paths import DEFAULT_MODEL_PATH

    try:
        if not args.out:
            raise RayPredictError("--engine ray needs --out OUT.parquet (a folder of Parquet part files)")
        for flag, given in (("--json", getattr(args, "json", False)), ("--csv", getattr(args, "csv", None)),
                            ("--heatmaps", getattr(args, "heatmaps", None))):
            if given:
                raise RayPredictError(f"{flag} cannot be used with --engine ray; the results go to --out")
        summary = predict_to_parquet(
            args.paths, Path(args.model) if getattr(args, "model", None) else DEFAULT_MODEL_PATH, args.out,
            threshold=getattr(args, "threshold", None), resume=args.resume, actors=args.actors,
            batch_size=getattr(args, "batch_size", DEFAULT_BATCH_SIZE), address=args.address)
    except RayPredictError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"cancelled: the finished batches are in {args.out}; add --resume to continue", file=sys.stderr)
        return 130
    if summary.files == 0 and summary.skipped:
        print(f"nothing to do: all {summary.skipped} files are already in {summary.out}", file=sys.stderr)
    else:
        print(summary.line(), file=sys.stderr)
    return 0
