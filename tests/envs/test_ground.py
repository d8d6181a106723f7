"""``[env] ground``: a fixed-base planar robot (its root's slide and hinge under a base welded to the world, as an
MJCF planar walker imports) stands on the ground when the spec asks for one and falls through the floor without it;
a robot with no collision shape at all builds, with or without a ground."""

from __future__ import annotations

import pytest
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import spec_from_table
from isaac.rl.workbench.utils.quaternions import quat_rotate

from .planar_robots import FOOT_DROP, FOOT_RADIUS, planar_hopper

SECONDS = 1.0


def _env(usd, tmp_path, ground: bool | None) -> WorkbenchEnv:
    env_table = {"num_envs": 2, "physics_dt": 0.005, "decimation": 4}
    if ground is not None:
        env_table["ground"] = ground
    raw = {
        "scene": str(usd),
        "env": env_table,
        "actions": {"type": "joint_effort"},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    return WorkbenchEnv(spec_from_table(raw, tmp_path / "spec.toml"))


def _lowest_foot_heights(env: WorkbenchEnv) -> list[float]:
    """The foot sphere's lowest point [m] over every env at each env step of :data:`SECONDS`, zero actions."""
    leg = env.body_names.index("leg")
    drop = torch.tensor([0.0, 0.0, -FOOT_DROP]).expand(env.num_envs, 3)
    lows = []
    for _ in range(round(SECONDS / env.step_dt)):
        env.step(torch.zeros(env.num_envs, env.num_actions))
        pose = env.body_poses_env[:, leg]
        centre = pose[:, :3] + quat_rotate(pose[:, 3:7], drop)
        lows.append(float((centre[:, 2] - FOOT_RADIUS).min()))
    return lows


def test_a_fixed_base_planar_robot_rests_on_the_ground_it_asks_for(tmp_path):
    env = _env(planar_hopper(tmp_path / "hopper.usda"), tmp_path, ground=True)
    assert not env.floating_base
    lows = _lowest_foot_heights(env)
    assert min(lows) >= -0.01, f"the foot sank to {min(lows):.3f} m"
    assert lows[-1] < 0.005, "the torso slid down onto the ground"


@pytest.mark.parametrize("ground", [None, False])
def test_without_a_ground_a_fixed_base_planar_robot_falls_through_the_floor(tmp_path, ground):
    """The default for a fixed base is no ground, as before the key existed."""
    env = _env(planar_hopper(tmp_path / "hopper.usda"), tmp_path, ground=ground)
    assert _lowest_foot_heights(env)[-1] < -1.0


@pytest.mark.parametrize("foot", ["none", "visual"])
@pytest.mark.parametrize("ground", [None, True])
def test_a_robot_without_any_collision_shape_builds_and_steps(tmp_path, ground, foot):
    env = _env(planar_hopper(tmp_path / "ghost.usda", foot=foot), tmp_path, ground=ground)
    assert _lowest_foot_heights(env)[-1] < -1.0, "nothing of it collides: it falls through any ground"
