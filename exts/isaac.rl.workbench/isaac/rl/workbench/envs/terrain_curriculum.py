"""The terrain curriculum (``[curriculum.terrain_levels]``): when an episode ends, its env moves to a harder or an
easier tile of its terrain column, as legged_gym and Isaac Lab's ``terrain_levels_vel`` do.

An env whose robot ended its episode farther than half a tile from its start moves a level (row) up; one that got
less than half as far as its velocity command asked over a full episode moves a level down; an env that passes the
top level goes to a random level; levels stay >= 0. The env's origin becomes the new tile's, and its robot resets
there. Everything runs on the device with masks (no host sync), so it runs inside the env step's CUDA graph.

Evaluation envs (the last ``eval_envs`` of a training run's envs) take no part: they stand spread over every level
of their column (evaluation env k on level ``(k // columns) % rows``, so 100 evaluation envs cover a 10 x 10
terrain's every tile once) and stay there, so an evaluation measures the policy over the whole terrain, the same
tiles at every evaluation. Shapes: N = num_envs, R = terrain rows (levels).
"""

from __future__ import annotations

import numpy as np
import torch

from ..backend.base import Backend
from ..scene.terrain import env_origins, env_start_tiles, generate_terrain
from ..specs.schema import SpecError, TaskSpec
from .backend_request import terrain_spread

LOG_KEY = "terrain/mean_level"
"""The iteration row's key of the mean level over the training envs."""


def next_levels(
    levels: torch.Tensor,
    ended: torch.Tensor,
    distance: torch.Tensor,
    asked_distance: torch.Tensor,
    tile_size: float,
    rows: int,
) -> torch.Tensor:
    """Each env's level after its episode ended, LongTensor (N,); envs outside ``ended`` keep theirs.

    Args:
        levels: each env's level, LongTensor (N,), 0 to ``rows - 1``.
        ended: BoolTensor (N,): the envs whose episode ended.
        distance: how far each robot got from its start in the plane [m], (N,).
        asked_distance: how far its command asked it to go in the episode [m], (N,).
        tile_size: side of a tile [m]: farther than half of it moves a level up.
        rows: number of levels R; an env moved past the top draws a level uniformly in [0, R).
    """
    up = distance > tile_size / 2
    down = (distance < asked_distance / 2) & ~up
    moved = levels + up.long() - down.long()
    moved = torch.where(moved >= rows, torch.randint_like(moved, rows), moved.clamp(min=0))
    return torch.where(ended, moved, levels)


class TerrainCurriculum:
    """Each env's terrain level, moved when its episode ends.

    Args:
        level_origins: where each env starts on each level of its column [m], (N, R, 3), world frame.
        levels: each env's start level, LongTensor (N,).
        command: the velocity command (N, 3) (vx [m/s], vy [m/s], yaw rate [rad/s]), updated in place by the env.
        tile_size: side of a tile [m].
        episode_s: an episode's full length [s].
        backend: the physics whose env origins move.
        columns: the terrain's columns (env i stands on column ``i % columns``).
        moving_envs: how many envs, the first ones, the curriculum moves and the logged mean level counts (the
            training envs); the others (evaluation envs, after them) are put on every level in turn (see the module)
            and stay there. None: every env.
    """

    def __init__(
        self,
        level_origins: torch.Tensor,
        levels: torch.Tensor,
        command: torch.Tensor,
        tile_size: float,
        episode_s: float,
        backend: Backend,
        columns: int = 1,
        moving_envs: int | None = None,
    ):
        self.level_origins = level_origins
        self.levels = levels.clone()
        self._command = command
        self._tile_size, self._episode_s = float(tile_size), float(episode_s)
        self._backend = backend
        n, rows = level_origins.shape[:2]
        self._envs = torch.arange(n, device=levels.device)
        self._moving = n if moving_envs is None else moving_envs
        self.moves = self._envs < self._moving
        fixed = self._envs[self._moving :] - self._moving
        self.levels[self._moving :] = (fixed // columns) % rows
        backend.move_env_origins(~self.moves, self.level_origins[self._envs, self.levels])

    def update(self, ended: torch.Tensor, root_pos: torch.Tensor) -> None:
        """Move the envs whose episode ended (BoolTensor (N,)) by how far their root got from its origin in the plane
        (``root_pos``: (N, 3) [m], relative to the env's origin): new level, new origin. Call it before those envs
        reset."""
        distance = torch.linalg.vector_norm(root_pos[:, :2], dim=1)
        asked = torch.linalg.vector_norm(self._command[:, :2], dim=1) * self._episode_s
        rows = self.level_origins.shape[1]
        ended = ended & self.moves
        self.levels.copy_(next_levels(self.levels, ended, distance, asked, self._tile_size, rows))
        self._backend.move_env_origins(ended, self.level_origins[self._envs, self.levels])

    def log(self) -> dict[str, float]:
        """``{"terrain/mean_level": mean level over the training envs}`` (one device sync)."""
        return {LOG_KEY: float(self.levels[: self._moving].float().mean())}


def terrain_curriculum(
    spec: TaskSpec, backend: Backend, commands: dict[str, torch.Tensor], eval_envs: int = 0
) -> TerrainCurriculum | None:
    """The curriculum ``spec``'s ``[curriculum.terrain_levels]`` asks for, None where it has none. Each env starts on
    the level and at the point its terrain placed it (:func:`~.backend_request.terrain_ground`).

    Args:
        commands: the env's commands by name, each (N, 3), updated in place.
        eval_envs: the last ``eval_envs`` envs are evaluation envs: on every level in turn, never moved, left out of
            the logged mean level.

    Raises:
        SpecError: naming ``curriculum.terrain_levels`` for a robot with a fixed base (it cannot move to a tile).
    """
    curriculum, terrain = spec.terrain_levels, spec.terrain
    if curriculum is None or terrain is None:
        return None
    if not backend.floating_base:
        key = "curriculum.terrain_levels"
        problem = "moves robots with a floating base to other tiles; this robot's base is fixed"
        raise SpecError(f"{spec.source}: key '{key}': {problem}", key=key)
    n = spec.env.num_envs
    generated = generate_terrain(terrain)
    levels, columns = env_start_tiles(terrain, n)
    spread = terrain_spread(terrain, spec.env.spacing, backend.device.type, spec.env.cpu_solver)
    table = np.stack([env_origins(generated, np.full(n, r), columns, spread) for r in range(terrain.rows)], axis=1)
    device = backend.device
    return TerrainCurriculum(
        level_origins=torch.as_tensor(table, device=device),
        levels=torch.as_tensor(levels, device=device),
        command=commands[curriculum.command],
        tile_size=generated.tile_size,
        episode_s=spec.env.max_episode_length * spec.env.step_dt,
        backend=backend,
        columns=terrain.num_columns,
        moving_envs=n - eval_envs,
    )
