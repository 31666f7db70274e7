"""Training in several processes on one machine (``torchrun``), CPU only: the gloo backend.

``torchrun --nproc-per-node N -m pneumo_desktop train DATA --out FILE`` starts N copies of the
command line; each is one *rank*. :func:`process_group` notices torchrun from its environment
(``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR``…), joins the ranks into a gloo process group and
leaves it again, also on an error or Ctrl-C. Without torchrun it does nothing, and every helper
here answers as for a single process (rank 0 of 1): the code that trains then runs exactly as it
always has.

How training uses the ranks (core/training.py):

* each rank decodes the same folder and carves the same seeded split; rank 0 decodes (and fills
  the decoded-image cache) first, the others after :func:`barrier`, so they read the cache
  instead of racing rank 0 to write it;
* ``--batch-size`` stays the size of one update over all ranks: every rank draws the same
  seeded order, and :func:`shard` gives each its disjoint share of each batch; DDP averages the
  gradients;
* rank 0 validates after each epoch and :func:`broadcast` sends the figures to the others, so
  every rank keeps the same history and best epoch;
* calibration, the stress check, the gate and the detector run on rank 0 only, once the other
  ranks have ended, with their threads too (:func:`claim_idle_threads`); only rank 0 writes
  the model file.

BatchNorm keeps per-rank batch statistics: ``SyncBatchNorm`` needs a GPU (torch raises for CPU
tensors). DDP sends rank 0's running statistics to every rank before each forward pass, so the
ranks' models stay the same apart from the statistics of their last batch, and only rank 0's is
validated and kept.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist

__all__ = [
    "BACKEND", "all_reduce_sum", "barrier", "broadcast", "claim_idle_threads", "destroy", "init", "is_main",
    "launched", "mean_over_ranks", "process_group", "rank", "rank_seed", "shard", "world_size", "wrap_model",
]

BACKEND = "gloo"
# How long a rank waits at a collective for the others. Rank 0 decodes the whole folder while the
# others wait at a barrier, which can take a while on a large folder; a rank that fails ends the
# others through torchrun long before this.
TIMEOUT = _dt.timedelta(hours=2)
# Variables that torchrun (torch.distributed.run) sets for each process it starts.
LAUNCH_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def launched() -> bool:
    """True in a process that torchrun started (its environment names a rank and a world)."""
    return dist.is_available() and (dist.is_torchelastic_launched()
                                    or all(v in os.environ for v in LAUNCH_VARIABLES))


def init() -> bool:
    """Join torchrun's process group (gloo); True if this call made one, False when not launched
    by torchrun or a group already exists."""
    if not launched() or dist.is_initialized():
        return False
    dist.init_process_group(BACKEND, timeout=TIMEOUT)
    return True


def destroy() -> None:
    """Leave the process group, if there is one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@contextmanager
def process_group() -> Iterator[None]:
    """``with process_group(): train()``: inside torchrun, a gloo group for the block that is
    destroyed when it ends (normally, on an error or on KeyboardInterrupt); else nothing."""
    made = init()
    try:
        yield
    finally:
        if made:
            destroy()


def world_size() -> int:
    """The number of ranks (1 without a process group)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank, 0 to ``world_size() - 1`` (0 without a process group)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    """True on rank 0, the rank that reports, calibrates and writes (and in a single process)."""
    return rank() == 0


def rank_seed(seed: int) -> int:
    """A seed for this rank's own random draws (augmentation, dropout), different on every rank;
    ``seed`` itself on rank 0 of 1."""
    return seed if world_size() == 1 else seed + 100_003 * (rank() + 1)


def shard(batch: torch.Tensor, of_rank: int | None = None, of_world: int | None = None) -> torch.Tensor:
    """This rank's share of ``batch`` (rows ``rank, rank + world, …``), so the ranks' shares are
    disjoint and together make ``batch``; ``batch`` itself, untouched, in a single process.

    of_rank, of_world: another rank and world size than this process's (for tests)."""
    r = rank() if of_rank is None else of_rank
    n = world_size() if of_world is None else of_world
    return batch if n == 1 else batch[r::n]


def wrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` in DistributedDataParallel when there are several ranks (gradients averaged
    over them, rank 0's weights and BatchNorm statistics sent to all); else ``model`` itself."""
    if world_size() == 1:
        return model
    return torch.nn.parallel.DistributedDataParallel(model)


def barrier() -> None:
    """Wait until every rank gets here (nothing in a single process)."""
    if world_size() > 1:
        dist.barrier()


def broadcast(value: object, src: int = 0) -> object:
    """Rank ``src``'s ``value`` (any picklable object) on every rank; ``value`` in a single process."""
    if world_size() == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def all_reduce_sum(values: list[float]) -> list[float]:
    """The element-wise sum of ``values`` over the ranks (float64); ``values`` in a single process."""
    if world_size() == 1:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def mean_over_ranks(means: list[float], count: float) -> list[float]:
    """Means over every rank's items, from each rank's ``means`` over its own ``count`` items;
    ``means`` unchanged in a single process."""
    if world_size() == 1:
        return list(means)
    *sums, total = all_reduce_sum([m * count for m in means] + [count])
    return [s / total for s in sums]


def claim_idle_threads() -> int:
    """On rank 0 once the other ranks have finished training (they end there): take their torch
    threads too, so the steps that rank 0 runs alone (calibration, stress check, gate, detector)
    use every core the ranks on this machine had. Returns torch's thread count; in a single
    process it changes nothing."""
    if world_size() > 1:
        local = os.environ.get("LOCAL_WORLD_SIZE", "")
        torch.set_num_threads(torch.get_num_threads() * (int(local) if local.isdigit() else 1))
    return torch.get_num_threads()
