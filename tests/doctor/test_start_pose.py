"""A start pose that stands: forward kinematics of the start pose over the collision shapes puts a floating
robot's lowest point 5 mm above the ground, in the pose its joints start in; and the doctor says where a spec's
start pose puts it, with the root height to paste."""

from __future__ import annotations

import math

import pytest
from isaac.rl.workbench.doctor.start_pose_check import start_pose_check
from isaac.rl.workbench.scene.import_robot import spec_fragment
from isaac.rl.workbench.scene.inspect import inspect_scene
from isaac.rl.workbench.scene.start_pose import lowest_collision_point, stance, standing_root_height
from isaac.rl.workbench.specs.loader import spec_from_table

from .walker import leg_robot


def test_the_lowest_collision_point_follows_the_joints(tmp_path):
    scene = leg_robot(tmp_path / "walker.usda")
    art = inspect_scene(scene).find(None)
    assert lowest_collision_point(scene, art, {}) == pytest.approx(-0.55, abs=1e-3)  # the foot, straight down
    assert lowest_collision_point(scene, art, {}, root_height=1.0) == pytest.approx(0.45, abs=1e-3)
    # hip at 90 degrees: the foot swings up beside the hip, 0.15 m below the base's origin
    assert lowest_collision_point(scene, art, {"hip": math.pi / 2}) == pytest.approx(-0.15, abs=1e-3)
    assert standing_root_height(scene, art, {}) == pytest.approx(0.555)
    assert standing_root_height(scene, art, {"hip": math.pi / 2}) == pytest.approx(0.155)


def test_the_stance_is_zero_inside_the_limits_else_mid_range(tmp_path):
    assert stance(inspect_scene(leg_robot(tmp_path / "a.usda")).find(None)) == {}
    bent = inspect_scene(leg_robot(tmp_path / "b.usda", hip_limits_deg=(30.0, 90.0))).find(None)
    assert stance(bent) == {"hip": pytest.approx(math.radians(60.0), abs=1e-4)}


def test_the_suggested_spec_of_a_floating_robot_starts_it_on_the_ground(tmp_path):
    scene = leg_robot(tmp_path / "walker.usda", hip_limits_deg=(30.0, 90.0))
    fragment = spec_fragment(scene, tmp_path, floating_base=True)
    # hip mid-range at 60 degrees: the foot 0.1 + 0.4 cos 60 + 0.05 = 0.35 m below the base origin
    assert "root_height = 0.355" in fragment and '"hip" = 1.0472' in fragment, fragment
    assert "root_height" not in spec_fragment(scene, tmp_path, floating_base=False)


def _spec(scene, robot: dict):
    table = {
        "scene": str(scene),
        "robot": {"base": "floating", **robot},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    return spec_from_table(table, scene.parent / "walker.toml")


@pytest.mark.parametrize(
    ("robot", "level", "says"),
    [
        ({}, "problem", "0.550 m below the ground: every episode starts inside it; paste [robot] root_height = 0.555"),
        ({"root_height": 0.6}, "ok", "0.050 m above the ground"),
        ({"root_height": 1.5}, "warning", "0.950 m above the ground: the robot drops at every reset"),
    ],
)
def test_doctor_says_where_the_start_pose_puts_the_robot(tmp_path, robot, level, says):
    findings, height = start_pose_check(_spec(leg_robot(tmp_path / "walker.usda"), robot))
    assert height == pytest.approx(0.555)
    assert [(f.level, f.check) for f in findings] == [(level, "start pose")] and says in findings[0].message, findings


def test_the_forward_kinematics_agree_with_the_physics(tmp_path):
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
    from isaac.rl.workbench.scene.start_pose import body_poses

    scene = leg_robot(tmp_path / "walker.usda", hip_limits_deg=(-90.0, 90.0))
    spec = _spec(scene, {"root_height": 1.0, "joint_pos": {"hip": 1.0}})
    env = WorkbenchEnv(spec, "cpu", health_check=False)
    env.reset()
    expected = body_poses(scene, inspect_scene(scene).find(None), {"hip": 1.0}, root_height=1.0)
    for row, path in enumerate(env.body_paths):
        pose = env.body_poses_env[0, row].tolist()
        assert pose[:3] == pytest.approx(expected[path][:3].tolist(), abs=1e-4), path
        dot = abs(sum(a * b for a, b in zip(pose[3:], expected[path][3:], strict=True)))
        assert dot == pytest.approx(1.0, abs=1e-4), (path, pose, expected[path])  # the same rotation (q or -q)
    assert abs(expected["/walker/leg"][4]) == pytest.approx(math.sin(0.5), abs=1e-4), "turned 1 rad about Y"
