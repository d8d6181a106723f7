"""How much device memory Newton's envs take, measured on small builds, so a run too large for its GPU is refused
before it builds rather than after minutes of building (or never).

:func:`warp_bytes` adds up the warp arrays a backend holds (Newton's model, state, control and contacts; MuJoCo-Warp's
model and data). Two small builds give the bytes per env and the fixed part (:func:`bytes_per_env`). On the CPU
MuJoCo C holds its data outside warp, so the walk undercounts there: the CPU is held to a stated number of envs
instead (see ``envs/env_size.py``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import warp as wp

from .base import Backend

_MAX_DEPTH = 4  # backend -> solver -> mjw_data -> arrays
_HOLDERS = ("newton", "mujoco_warp", "warp", "isaac")  # packages whose objects may hold arrays worth counting


def warp_bytes(obj: object) -> int:
    """[bytes] of the distinct warp arrays reachable from ``obj`` through attributes (and lists, tuples, dicts of
    them), at most a few levels deep; an array reached twice (a view, a shared buffer) counts once."""
    seen: set[int] = set()
    total = 0
    queue: deque[tuple[object, int]] = deque([(obj, 0)])  # breadth first: each object is met at its least depth
    while queue:
        item, depth = queue.popleft()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, wp.array):
            total += item.capacity if item.ptr is not None else 0
            continue
        if depth >= _MAX_DEPTH:
            continue
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            children = list(getattr(item, "__dict__", {}).values())
        queue.extend((child, depth + 1) for child in children if _may_hold_arrays(child))
    return total


def _may_hold_arrays(value: object) -> bool:
    return isinstance(value, wp.array | list | tuple | dict) or (
        hasattr(value, "__dict__")
        and type(value).__module__.split(".")[0] in ("newton", "mujoco_warp", "warp", "isaac")
    )


def bytes_per_env(build: Callable[[int], Backend], sizes: tuple[int, int] = (8, 16)) -> tuple[float, float]:
    """([bytes] per env, [bytes] fixed) of the backends ``build(num_envs)`` makes, from two small builds of
    ``sizes`` envs (each closed before the next)."""
    small, large = sizes
    measured = []
    for size in (small, large):
        backend = build(size)
        measured.append(warp_bytes(backend))
        backend.close()
    per_env = max(0.0, (measured[1] - measured[0]) / (large - small))
    return per_env, max(0.0, measured[0] - small * per_env)
