"""Data-parallel training over ``torch.distributed``: one process (rank) per device, each with its own envs and
seed, the PPO gradients averaged across ranks, launched by ``torchrun``.

``torchrun`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` in each process it starts; without them (or with
``WORLD_SIZE=1``) this is one process and every function here does nothing, so single-process training is the same
code path as before. :func:`start` reads the launch, gives the rank its device (``--device cuda`` becomes
``cuda:<LOCAL_RANK>``; ``cpu`` and an explicit ``cuda:<i>`` stay as given, so ranks share that device) and starts
the process group with the collective backend :func:`pick_backend` chooses: NCCL when each rank has its own CUDA
device, gloo on the CPU or when ranks share one GPU; ``--dist-backend`` or ``ISAAC_RL_WORKBENCH_DIST_BACKEND``
overrides it. ``train --distributed`` insists on a ``torchrun`` launch (:func:`require_launch`).

What is shared between ranks, as rsl-rl's and Isaac Lab's multi-GPU training do it: the networks (parameters and
normaliser buffers) are broadcast from rank 0 after they are built or loaded (rsl-rl's ``broadcast_parameters``),
each mini-batch's gradients are averaged (rsl-rl's ``reduce_parameters``), the observation normalisers' batch
statistics are combined (:func:`reduce_moments`), and the KL of the adaptive learning-rate schedule is averaged,
so every rank takes the same step. Each rank draws its own random numbers (seed + rank, :func:`rank_seed`). Only
rank 0 writes (:func:`writes`): the run folder, checkpoints, TensorBoard, curves and the progress lines.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
from collections.abc import Iterator, Mapping

import torch
import torch.distributed as dist

BACKENDS = ("nccl", "gloo")
_host_group = None  # a gloo group for host-side numbers and objects when the default group is NCCL
BACKEND_ENV = "ISAAC_RL_WORKBENCH_DIST_BACKEND"
"""Environment variable that overrides the collective backend (``nccl`` or ``gloo``), as ``--dist-backend`` does."""


class LaunchError(ValueError):
    """A launch this module cannot run: a bad ``torchrun`` variable, device or backend (bad input)."""


class RankLost(RuntimeError):
    """Another rank of the run ended (it failed, or was stopped) while this one waited for it in a collective."""


@contextlib.contextmanager
def watching_ranks() -> Iterator[None]:
    """Raise :class:`RankLost`, in one line, for the error of a collective whose peer is gone (gloo: the connection
    closed; NCCL: ``torch.distributed.DistError``); any other error as it is."""
    try:
        yield
    except RuntimeError as exc:
        if not dist.is_initialized() or not (isinstance(exc, dist.DistError) or "/gloo/" in str(exc)):
            raise
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise RankLost(
            f"rank {dist.get_rank()} lost another rank of this distributed run (its own error says why): {first}"
        ) from None


@dataclasses.dataclass(frozen=True)
class Launch:
    """Where this process stands in the run: its global ``rank`` (0 .. ``world_size`` - 1), its ``local_rank`` on
    its machine, and the number of processes ``world_size`` (1: not distributed)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


LAUNCH_VARIABLES = ("WORLD_SIZE", "RANK", "LOCAL_RANK")
"""What ``torchrun`` sets in every process it starts (one process: absent, or ``WORLD_SIZE=1``)."""
TORCHRUN_FORM = "torchrun --nproc-per-node N [--nnodes M --rdzv-backend c10d --rdzv-endpoint HOST:PORT]"
"""The launch command, as the one-line errors show it."""


def require_launch(environ: Mapping[str, str] | None = None) -> None:
    """Refuse a process that ``torchrun`` did not start (``train --distributed``): it lacks one of
    :data:`LAUNCH_VARIABLES` (``os.environ`` by default).

    Raises:
        LaunchError: one line naming the missing variables and the command that starts a distributed run.
    """
    environ = os.environ if environ is None else environ
    missing = [name for name in LAUNCH_VARIABLES if name not in environ]
    if missing:
        raise LaunchError(
            f"--distributed: this process was not started by torchrun (no {', '.join(missing)}); start it as "
            f"{TORCHRUN_FORM} -m isaac.rl.workbench.frontends.cli train ..."
        )


def read_launch(environ: Mapping[str, str] | None = None) -> Launch:
    """The launch ``torchrun`` describes in ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` (``os.environ`` by default);
    one process when ``WORLD_SIZE`` is absent or 1.

    Raises:
        LaunchError: a value that is not an integer, or a rank outside 0 .. WORLD_SIZE - 1, named with its variable.
    """
    environ = os.environ if environ is None else environ
    values = {}
    for name in LAUNCH_VARIABLES:
        text = environ.get(name, "1" if name == "WORLD_SIZE" else "0")
        try:
            values[name] = int(text)
        except ValueError:
            raise LaunchError(f"{name}={text!r}: expected an integer (torchrun sets it)") from None
    world = values["WORLD_SIZE"]
    if world < 1:
        raise LaunchError(f"WORLD_SIZE={world}: expected at least 1 process")
    for name in ("RANK", "LOCAL_RANK"):
        if not 0 <= values[name] < world:
            raise LaunchError(f"{name}={values[name]}: expected 0 .. {world - 1} (WORLD_SIZE={world})")
    return Launch(values["RANK"], values["LOCAL_RANK"], world)


def rank_device(device: str, launch: Launch) -> str:
    """The device of this rank: ``cuda`` (no index) is ``cuda:<LOCAL_RANK>``, one GPU per rank; ``cpu`` and
    ``cuda:<i>`` stay as given (every rank of the machine then shares that GPU).

    Raises:
        LaunchError: ``cuda`` with a ``LOCAL_RANK`` this machine has no GPU for.
    """
    if device != "cuda" or not launch.distributed:
        return device
    count = torch.cuda.device_count()
    if launch.local_rank >= count:
        raise LaunchError(
            f"--device cuda: LOCAL_RANK {launch.local_rank} needs GPU {launch.local_rank}, but this machine has "
            f"{count}; start at most {count} processes per machine (torchrun --nproc-per-node), or give "
            "--device cuda:0 to share one GPU"
        )
    return f"cuda:{launch.local_rank}"


def pick_backend(requested_device: str, requested: str | None = None) -> str:
    """The collective backend: ``requested`` (``--dist-backend``), else ``$ISAAC_RL_WORKBENCH_DIST_BACKEND``, else
    NCCL for ``--device cuda`` (one GPU per rank) and gloo for the CPU or an explicit ``cuda:<i>`` (ranks sharing a
    GPU: NCCL refuses two ranks on one device).

    Raises:
        LaunchError: an unknown backend, or NCCL without CUDA.
    """
    backend = requested or os.environ.get(BACKEND_ENV) or ("nccl" if requested_device == "cuda" else "gloo")
    if backend not in BACKENDS:
        raise LaunchError(f"collective backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend == "nccl" and not requested_device.startswith("cuda"):
        raise LaunchError(f"the nccl backend needs CUDA devices, and this run's device is {requested_device}; use gloo")
    return backend


def start(device: str, backend: str | None = None, required: bool = False) -> str:
    """Join the process group of a ``torchrun`` launch (nothing for one process) and return this rank's device
    (:func:`rank_device`); the backend as :func:`pick_backend` chooses it. The group is left by :func:`stop`.
    ``required`` (``train --distributed``): a process ``torchrun`` did not start is refused (:func:`require_launch`)."""
    if required:
        require_launch()
    launch = read_launch()
    if not launch.distributed or dist.is_initialized():
        return device
    chosen = pick_backend(device, backend)
    ranked = rank_device(device, launch)
    if ranked.startswith("cuda"):
        torch.cuda.set_device(torch.device(ranked))
    dist.init_process_group(chosen, rank=launch.rank, world_size=launch.world_size)
    global _host_group
    _host_group = dist.new_group(backend="gloo") if chosen != "gloo" else None
    return ranked


def stop() -> None:
    """Leave the process group :func:`start` joined (nothing when there is none), and free what still refers to it
    while the interpreter is whole: a gloo group whose last reference went at interpreter exit has aborted a rank
    that had already returned 0 ("terminate called without an active exception", seen once in the test suite)."""
    global _host_group
    was_distributed = dist.is_initialized()
    if was_distributed:
        dist.destroy_process_group()
    _host_group = None
    if was_distributed:
        gc.collect()


def current() -> Launch:
    """This process's place in the process group; ``Launch()`` (rank 0 of 1) when there is none."""
    if not dist.is_initialized():
        return Launch()
    return Launch(dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")), dist.get_world_size())


def writes() -> bool:
    """True on the rank that writes the run folder, checkpoints, logs and progress lines: rank 0 (or the only one)."""
    return current().rank == 0


def rank_seed(seed: int) -> int:
    """This rank's seed: ``seed + rank``, so each rank's envs and samples differ (rank 0's is ``seed``)."""
    return seed + current().rank


def from_rank0(value):
    """Rank 0's ``value`` (any picklable object) on every rank; ``value`` itself when not distributed."""
    if not current().distributed:
        return value
    box = [value]
    with watching_ranks():
        dist.broadcast_object_list(box, src=0, group=_host_group)
    return box[0]


def sum_over_ranks(value: int) -> int:
    """The sum of ``value`` over every rank (``value`` itself when not distributed); e.g. the envs of every rank."""
    if not current().distributed:
        return value
    total = torch.tensor([value], dtype=torch.long)
    with watching_ranks():
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=_host_group)
    return int(total)


def any_rank(*flags: bool) -> tuple[bool, ...]:
    """Each of ``flags`` True on every rank when it is True on any one rank (a stop asked for on one rank stops them
    all, for the same reason); one collective for all of them. ``flags`` themselves when not distributed."""
    if not current().distributed:
        return tuple(bool(flag) for flag in flags)
    counts = torch.tensor([int(bool(flag)) for flag in flags], dtype=torch.long)
    with watching_ranks():
        dist.all_reduce(counts, op=dist.ReduceOp.SUM, group=_host_group)
    return tuple(bool(count > 0) for count in counts)


def wait_for_every_rank() -> None:
    """Return once every rank has called this (nothing when not distributed); e.g. the other ranks wait for rank 0
    to write its checkpoint before they exit, since ``torchrun`` ends every rank when one exits non-zero."""
    if current().distributed:
        with watching_ranks():
            dist.barrier(group=_host_group)


def per_rank(value: float) -> list[float]:
    """``value`` of every rank, in rank order, on every rank (``[value]`` when not distributed); e.g. each rank's
    env-steps/s."""
    if not current().distributed:
        return [float(value)]
    mine = torch.tensor([value], dtype=torch.float64)
    values = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
    with watching_ranks():
        dist.all_gather(values, mine, group=_host_group)
    return [float(v) for v in values]


def all_reduce_mean_(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` replaced in place by its mean over every rank; returned."""
    if current().distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor /= dist.get_world_size()
    return tensor


def reduce_moments(
    count: torch.Tensor, mean: torch.Tensor, var: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The count, mean and (biased) variance of the rows of every rank together, from each rank's own: ``count``
    () its rows, ``mean`` and ``var`` (1, D) over them. The variances are combined around the global mean, as
    rsl-rl's ``EmpiricalNormalization.update`` does, so the result is that of one batch of all the rows. Returns
    the inputs when not distributed."""
    if not current().distributed:
        return count, mean, var
    total = count.clone()
    dist.all_reduce(total)
    mean_sum = mean * count
    dist.all_reduce(mean_sum)
    global_mean = mean_sum / total
    var_sum = count * (var + (mean - global_mean).square())
    dist.all_reduce(var_sum)
    return total, global_mean, var_sum / total


def configure_runner(runner) -> None:
    """rsl-rl's ``OnPolicyRunner._configure_multi_gpu`` from the process group :func:`start` joined: the runner's
    ranks and the algorithm's ``multi_gpu_cfg`` (None for one process). rsl-rl's own reads the environment, insists
    on NCCL and ``cuda:<LOCAL_RANK>``, and starts the group itself."""
    launch = current()
    runner.gpu_world_size, runner.gpu_global_rank = launch.world_size, launch.rank
    runner.gpu_local_rank, runner.is_distributed = launch.local_rank, launch.distributed
    runner.cfg["multi_gpu"] = (
        {"global_rank": launch.rank, "local_rank": launch.local_rank, "world_size": launch.world_size}
        if launch.distributed
        else None
    )
