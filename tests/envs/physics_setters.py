"""Start-up event terms for tests: set a physics property per env to chosen values (not drawn), so that a test
can compare envs that differ in one property only. Used as ``tests.envs.physics_setters:<function>``."""

from __future__ import annotations

import torch

ALL = slice(None)


def scale_per_env(env, env_mask, name: str, factors: list, bodies=ALL, joints=ALL) -> None:
    """Multiply property ``name`` by ``factors[i]`` in env i, on the named bodies or joints (every column when
    neither is named)."""
    values = env.physics_property(name)
    columns = bodies if name.startswith("body") else joints
    scale = torch.tensor(factors, dtype=values.dtype, device=values.device).view(-1, *[1] * (values.dim() - 1))
    values[:, columns] = values[:, columns] * scale
    env.set_physics_property(name, env_mask, values)


def add_per_env(env, env_mask, name: str, offsets: list, bodies=ALL, joints=ALL) -> None:
    """Add ``offsets[i]`` (a number, or a 3-vector for ``body_com``) to property ``name`` in env i."""
    values = env.physics_property(name)
    columns = bodies if name.startswith("body") else joints
    offset = torch.tensor(offsets, dtype=values.dtype, device=values.device)
    offset = offset.view(offset.shape[0], 1, *offset.shape[1:])
    values[:, columns] = values[:, columns] + offset
    env.set_physics_property(name, env_mask, values)
