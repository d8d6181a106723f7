"""The terrain curriculum: the level update on hand-made episode results (up past half a tile, down short of half the
commanded distance, past the top to a random level, never below 0), and in a 4-env ant on the CPU an env that walked
far is reset onto the next level's tile, one that did not walk back onto the first, with the mean level logged."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from isaac.rl.workbench.envs.terrain_curriculum import LOG_KEY, TerrainCurriculum, next_levels
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.learn.curves import write_curves
from isaac.rl.workbench.scene.terrain import generate_terrain
from isaac.rl.workbench.specs.loader import SpecError, load_spec
from isaac.rl.workbench.workbench import Workbench

TILE = 8.0
"""Tile side [m]: farther than 4 m moves up."""
ROWS = 3


def test_levels_move_up_down_stay_and_clamp_on_hand_made_episodes():
    levels = torch.tensor([1, 1, 1, 0, 1, 1, 0])
    ended = torch.tensor([True, True, True, True, True, False, True])
    distance = torch.tensor([4.5, 1.0, 3.0, 0.0, 4.5, 9.0, 3.9])
    asked = torch.tensor([5.0, 5.0, 5.0, 5.0, 20.0, 5.0, 0.0])  # [m]: half of it is the bar for staying
    moved = next_levels(levels, ended, distance, asked, TILE, ROWS)
    # up (4.5 > 4); down (1 < 2.5); stays (2.5 <= 3 <= 4); down from 0 clamps at 0; up wins over down (4.5 < 10);
    # an episode that did not end keeps its level; standing asked (0 m) and short of half a tile: stays
    assert moved.tolist() == [2, 0, 1, 0, 2, 1, 0]


def test_an_env_passing_the_top_level_goes_to_a_random_level():
    torch.manual_seed(0)
    top = torch.full((300,), ROWS - 1)
    moved = next_levels(top, torch.ones(300, dtype=torch.bool), torch.full((300,), 5.0), torch.zeros(300), TILE, ROWS)
    assert set(moved.tolist()) == set(range(ROWS)), "drawn uniformly in [0, rows)"
    stayed = next_levels(top, torch.ones(300, dtype=torch.bool), torch.full((300,), 1.0), torch.zeros(300), TILE, ROWS)
    assert (stayed == ROWS - 1).all(), "an env at the top that does not pass it stays"


CURRICULUM = {
    "env.num_envs": 4,
    "terrain.rows": ROWS,
    "terrain.max_start_level": 0,
    "terrain.types.flat.proportion": 1.0,
    "terrain.types.stairs_down.step_height": 0.1,
    "terrain.types.stairs_down.platform": 6.0,
    "commands.base_velocity.type": "velocity",
    "commands.base_velocity.ranges.lin_vel_x": [1.0, 1.0],  # 10 s episodes: 10 m asked, 5 m to stay
    "curriculum.terrain_levels.command": "base_velocity",
}
"""A 4-env ant on 3 levels of a flat and a stairs column, every env starting on level 0, asked to walk 1 m/s."""


@pytest.fixture(scope="module")
def ant_with_curriculum():
    spec = load_spec("ant", CURRICULUM)
    return spec, WorkbenchEnv(spec)


def _end_episode_of_env_0(env: WorkbenchEnv, planar_offset: tuple[float, float]) -> None:
    """Put env 0's root ``planar_offset`` [m] from its origin, then one step that times its episode out."""
    pose = torch.cat([env.root_pos_w, env.root_quat_w], dim=1)
    pose[0, :2] = torch.tensor(planar_offset)
    only_0 = torch.tensor([True, False, False, False])
    env.reset_physics(only_0, env.dof_pos, torch.zeros_like(env.dof_vel), pose)
    env.episode_length_buf[0] = env.max_episode_length - 1
    _, _, dones, _ = env.step(torch.zeros(env.num_envs, env.num_actions))
    assert dones[0], "env 0's episode ended"


def test_an_env_that_walked_far_resets_on_the_next_level_and_back(ant_with_curriculum):
    spec, env = ant_with_curriculum
    tiles = generate_terrain(spec.terrain).tile_origins  # (rows, columns, 3)
    env.reset()
    start = env.backend.env_origins[0].clone()
    np.testing.assert_allclose(start.numpy(), tiles[0, 0], atol=1e-6)  # env 0: level 0 of the flat column, centre
    height = float(env.root_pos_w[0, 2])
    assert env.pop_episode_stats()[LOG_KEY] == 0.0
    watch = env.watch_poses(1, 4)  # the live 3D view's env-relative poses of env 0

    _end_episode_of_env_0(env, (3.0, 3.0))  # 4.2 m: more than half a tile
    origin = env.backend.env_origins[0]
    np.testing.assert_allclose(origin.numpy(), tiles[1, 0], atol=1e-6)
    root = env.backend.root_pose[0, :3]
    np.testing.assert_allclose(root[:2].numpy(), tiles[1, 0, :2], atol=1e-4)  # reset over the new tile's centre
    assert abs(float(root[2]) - (tiles[1, 0, 2] + height)) < 1e-4, "at the start height over the new tile"
    assert float(torch.linalg.vector_norm(root[:2] - start[:2])) >= TILE - 1e-4, "a whole tile from its old start"
    assert env.pop_episode_stats()[LOG_KEY] == pytest.approx(0.25)  # levels 1, 0, 0, 0
    assert watch.pop()[-1, 0, :, :2].abs().max() < 2.0, "the 3D view shows it at its (new) origin"

    _end_episode_of_env_0(env, (1.0, 0.0))  # 1 m of the 10 m asked: down again
    np.testing.assert_allclose(env.backend.env_origins[0].numpy(), tiles[0, 0], atol=1e-6)
    np.testing.assert_allclose(env.backend.root_pose[0, :2].numpy(), tiles[0, 0, :2], atol=1e-4)
    assert env.pop_episode_stats()[LOG_KEY] == 0.0


def test_the_mean_level_is_drawn_in_its_own_panel(tmp_path):
    rows = [{"iteration": i, "mean_reward": 1.0} for i in range(3)]
    plain = write_curves(rows, tmp_path / "plain.png")
    with_levels = write_curves([row | {LOG_KEY: 0.5 * i} for i, row in enumerate(rows)], tmp_path / "levels.png")
    widths = [int.from_bytes(path.read_bytes()[16:20], "big") for path in (plain, with_levels)]
    assert widths[1] == widths[0] + 500, "one more 5-inch panel at 100 dpi"


def test_a_training_run_logs_the_mean_level_in_every_row(tmp_path):
    run = Workbench.new("ant", {**CURRICULUM, "ppo.max_iterations": 2}, tmp_path / "run")
    run.build()
    while not run.done:
        run.train_step()
    run.finish()
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    trained = [row for row in rows if "iteration" in row and "loss/surrogate" in row]
    assert len(trained) == 2 and all(0.0 <= row[LOG_KEY] <= ROWS - 1 for row in trained), trained

    play = Workbench.for_play(tmp_path / "run", episodes=4)  # as Isaac Lab plays: no curriculum, any start level
    assert play.spec.terrain_levels is None and play.spec.terrain.max_start_level is None
    origins = play.env.backend.env_origins.clone()
    _end_episode_of_env_0(play.env, (TILE, 0.0))  # a whole tile: training would move it up
    assert torch.equal(play.env.backend.env_origins, origins), "played envs stay on their tiles"
    assert LOG_KEY not in play.env.pop_episode_stats()


def test_a_fixed_base_robot_is_refused_naming_the_key():
    overrides = {"env.num_envs": 2, "terrain.rows": 2, "commands.v.type": "velocity"}
    spec = load_spec("cartpole", {**overrides, "curriculum.terrain_levels.command": "v"})
    with pytest.raises(SpecError) as error:
        WorkbenchEnv(spec)
    assert error.value.key == "curriculum.terrain_levels" and "base is fixed" in str(error.value)


class _Origins:
    """The one backend method the curriculum calls, over plain tensors."""

    def __init__(self, num_envs: int):
        self.env_origins = torch.zeros(num_envs, 3)

    def move_env_origins(self, env_mask: torch.Tensor, origins: torch.Tensor) -> None:
        self.env_origins = torch.where(env_mask.view(-1, 1), origins, self.env_origins)


def test_evaluation_envs_stand_on_every_tile_stay_there_and_are_left_out_of_the_mean_level():
    rows, columns, training, evaluation = 3, 2, 2, 6
    n = training + evaluation
    envs = torch.arange(n)
    level_origins = torch.stack(  # env i's start on level r: (r, i's column, 0)
        [
            torch.stack([torch.full((n,), float(r)), (envs % columns).float(), torch.zeros(n)], dim=1)
            for r in range(rows)
        ],
        dim=1,
    )
    backend = _Origins(n)
    curriculum = TerrainCurriculum(
        level_origins, torch.zeros(n, dtype=torch.long), torch.zeros(n, 3), TILE, 20.0, backend, columns, training
    )
    levels = curriculum.levels.clone()
    tiles = {(int(levels[i]), int(i) % columns) for i in range(training, n)}
    assert tiles == {(r, c) for r in range(rows) for c in range(columns)}, "the 6 evaluation envs: every tile once"
    assert torch.equal(backend.env_origins[training:], level_origins[envs, levels][training:])
    assert curriculum.log() == {LOG_KEY: 0.0}, "the training envs' levels only"

    far = torch.tensor([[TILE, 0.0, 0.0]]).expand(n, 3)  # every robot walked a whole tile, every episode ended
    curriculum.update(torch.ones(n, dtype=torch.bool), far)
    assert curriculum.levels[:training].tolist() == [1, 1], "the training envs move up"
    assert torch.equal(curriculum.levels[training:], levels[training:]), "the evaluation envs stay"
    assert torch.equal(backend.env_origins[training:], level_origins[envs, levels][training:])
    assert curriculum.log() == {LOG_KEY: 1.0}
