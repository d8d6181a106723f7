"""Is ``env.num_envs`` more than the device can hold? Asked before the build, so that a run too large fails in
seconds with the number that fits, not after minutes of building (or never).

- CPU: every env lives in one MuJoCo world, whose memory per env and step time grow with the number of envs (the
  cart-pole's physics takes 12 kB per env at 16 envs, 44 kB at 128); at most :data:`CPU_MAX_ENVS`
  (``ISAAC_RL_WORKBENCH_CPU_MAX_ENVS`` raises it).
- CUDA: above :data:`GPU_CHECK_ABOVE` envs the physics' memory per env is measured on two small builds by an
  engine that can measure it (the engine's ``bytes_per_env``: Newton's in ``backend/newton_memory.py``), doubled
  for what the env and PPO keep beside it (observations, rollout storage, CUDA graphs), and compared with the
  device's free memory; an engine that cannot measure builds unchecked.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch

from ..specs.schema import SpecError

CPU_MAX_ENVS = 4096
"""The most envs the CPU's single MuJoCo world takes, unless ``ISAAC_RL_WORKBENCH_CPU_MAX_ENVS`` says otherwise."""
GPU_CHECK_ABOVE = 16384
"""Runs of up to this many envs build without the memory check (every task we ship fits on a 16 GB GPU there)."""
BESIDE_PHYSICS = 2.0
"""The run's memory per env is taken as this many times the physics' own (env buffers, PPO storage, graphs)."""


def cpu_max_envs() -> int:
    """:data:`CPU_MAX_ENVS`, or the integer in ``ISAAC_RL_WORKBENCH_CPU_MAX_ENVS``."""
    text = os.environ.get("ISAAC_RL_WORKBENCH_CPU_MAX_ENVS", "")
    try:
        return int(text) if text else CPU_MAX_ENVS
    except ValueError:
        raise SpecError(f"ISAAC_RL_WORKBENCH_CPU_MAX_ENVS={text!r}: expected an integer") from None


def check_num_envs(
    num_envs: int,
    device: str,
    bytes_per_env: Callable[[], tuple[float, float]] | None,
    free_bytes: Callable[[str], int] | None = None,
) -> None:
    """Raise :class:`SpecError` (key ``env.num_envs``) when ``num_envs`` envs do not fit on ``device``.

    Args:
        num_envs: the envs asked for.
        device: "cpu" or "cuda[:i]".
        bytes_per_env: () -> ([bytes] per env, [bytes] fixed) of the physics, measured on small builds; called only
            when the check needs it. None: the engine cannot measure its memory, and a GPU run builds unchecked.
        free_bytes: device -> [bytes] free on it; torch's ``mem_get_info`` by default.
    """
    if device == "cpu":
        limit = cpu_max_envs()
        if num_envs > limit:
            raise SpecError(
                f"key 'env.num_envs': {num_envs} envs on the CPU, which steps every env in one MuJoCo world whose "
                f"memory per env and step time grow with the envs: at most {limit} there "
                f"(ISAAC_RL_WORKBENCH_CPU_MAX_ENVS raises it); train many envs with --device cuda",
                key="env.num_envs",
            )
        return
    if num_envs <= GPU_CHECK_ABOVE or bytes_per_env is None:
        return
    per_env, fixed = bytes_per_env()
    per_env *= BESIDE_PHYSICS
    free = (free_bytes or _cuda_free_bytes)(device)
    need = fixed + num_envs * per_env
    if need > free:
        fits = max(0, int((free - fixed) / per_env)) if per_env > 0 else 0
        raise SpecError(
            f"key 'env.num_envs': {num_envs} envs need about {need / 2**30:.1f} GiB on {device} "
            f"({per_env / 1e3:.0f} kB per env: the physics' memory measured on two small builds, doubled for the "
            f"env's and PPO's buffers), and {free / 2**30:.1f} GiB are free; at most about {fits} envs fit",
            key="env.num_envs",
        )


def _cuda_free_bytes(device: str) -> int:
    return int(torch.cuda.mem_get_info(torch.device(device))[0])
