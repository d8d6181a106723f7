"""``[deploy]`` and ``deploy.json``: the spec table is validated when it loads, the manifest says what a robot needs
(Go2: Unitree's motor order mapped onto the policy's joints, the asset's limits, the trained gains), and a policy that
observes what a robot cannot measure is refused before anything is written."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from isaac.rl.workbench.deploy.bundle import bundle_from_dict
from isaac.rl.workbench.deploy.driver import RobotState
from isaac.rl.workbench.deploy.runtime import JointOrder
from isaac.rl.workbench.deploy_manifest import DeployError, deploy_manifest
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.scene.inspect import inspect_scene
from isaac.rl.workbench.scene.joint_velocity_limits import joint_velocity_limits
from isaac.rl.workbench.specs.key_docs import spec_key_docs
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.specs.schema import SpecError
from isaac.rl.workbench.workbench import Workbench

from .conftest import robot_or_fail

FILES = {"onnx": "policy.onnx", "torchscript": "policy.pt"}
UNITREE_ORDER = [f"{leg}_{part}_joint" for leg in ("FR", "FL", "RR", "RL") for part in ("hip", "thigh", "calf")]


@pytest.mark.parametrize(
    ("table", "key", "expected"),
    [
        ("motr_order = []", "deploy.motr_order", "unknown key"),
        ('safe_stop = "freeze"', "deploy.safe_stop", "hold, damp"),
        ('motor_order = ["slider"]', "deploy.motor_order", "missing ['hinge']"),
        ('motor_order = ["slider", "hinge", "slider"]', "deploy.motor_order", "twice ['slider']"),
        ("joint_vel_limits = { wheel = 3.0 }", "deploy.joint_vel_limits.wheel", "not in articulation"),
        ("joint_vel_limits = 0.0", "deploy.joint_vel_limits", "must be > 0"),
        ('hold_kd = "soft"', "deploy.hold_kd", "expected a number or a table"),
        ("hold_kp = { slider = -1.0 }", "deploy.hold_kp.slider", "must be >= 0"),
        ("max_tilt_rad = 4.0", "deploy.max_tilt_rad", "(0, pi]"),
        ("soft_start_s = -1.0", "deploy.soft_start_s", "must be >= 0"),
        ("max_consecutive_misses = 0", "deploy.max_consecutive_misses", "must be >= 1"),
        ("motor_strength = 0.0", "deploy.motor_strength", "must be > 0"),
    ],
)
def test_bad_deploy_keys_are_refused_when_the_spec_loads(write_spec, table, key, expected):
    path = write_spec(replace={'safe_stop = "damp"': "", "hold_kd = { slider = 20.0 }": table})
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.key == key
    assert str(path) in str(caught.value) and expected in str(caught.value)


def test_deploy_keys_are_documented_for_help_keys():
    docs = {d.key: d for d in spec_key_docs()}
    keys = ("motor_order", "safe_stop", "soft_start_s", "joint_vel_limits", "hold_kp", "max_consecutive_misses")
    for key in (*keys, "motor_strength"):
        assert docs[f"deploy.{key}"].doc
    assert "[rad/s or m/s]" in docs["deploy.joint_vel_limits"].doc
    assert docs["deploy.safe_stop"].default == "hold"


@pytest.fixture(scope="module")
def go2_manifest():
    robot_or_fail("go2")
    spec = load_spec("go2_flat", {"env.num_envs": 1})
    env = WorkbenchEnv(spec)
    return spec, deploy_manifest(env, spec, FILES), env


def test_go2_manifest_maps_unitree_motor_order_onto_the_policy_joints(go2_manifest):
    spec, manifest, _ = go2_manifest
    joints = manifest["joints"]
    assert joints["names"] == spec.joint_names and joints["names"][:3] == UNITREE_ORDER[3:6]  # the policy starts FL
    assert joints["motor_order"] == UNITREE_ORDER
    order = JointOrder(joints["names"], joints["motor_order"])
    state = order.state_to_policy(RobotState(joint_pos=np.arange(12.0), joint_vel=np.zeros(12)))
    # the policy's FL, FR, RL, RR legs read Unitree's motors 3-5, 0-2, 9-11, 6-8
    assert state.joint_pos.tolist() == [3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8]


def test_go2_manifest_holds_stance_gains_limits_and_observation(go2_manifest):
    spec, manifest, _ = go2_manifest
    names, joints = spec.joint_names, manifest["joints"]
    stance = {"hip": 0.0, "thigh": 0.8, "calf": -1.5}
    assert joints["default_pos"] == pytest.approx([stance[n.split("_")[1]] for n in names], abs=1e-6)
    assert joints["stiffness"] == [25.0] * 12 and joints["damping"] == [0.5] * 12
    assert joints["effort_limit"] == [23.5] * 12
    action = manifest["action"]
    assert action["type"] == "joint_position" and action["scale"] == 0.25 and action["clip"] is None
    assert action["offset"] == joints["default_pos"] and action["joints"] == names
    assert manifest["control_dt"] == pytest.approx(0.02)
    terms = manifest["observation"]["terms"]
    assert [(t["name"], t["size"]) for t in terms] == [
        ("root_lin_vel_b", 3),
        ("root_ang_vel_b", 3),
        ("projected_gravity_b", 3),
        ("generated_commands", 3),
        ("joint_pos_rel", 12),
        ("joint_vel", 12),
        ("last_action", 12),
    ]
    assert all(set(t) == {"name", "size", "params"} for t in terms)  # the training noise is not part of it
    assert terms[3]["params"] == {"command": "base_velocity"}
    assert manifest["policy"]["obs_dim"] == 48 and manifest["observation"]["history_length"] == 1
    assert manifest["commands"]["base_velocity"]["ranges"]["lin_vel_x"] == [-1.0, 1.0]
    safety = manifest["safety"]
    calf = names.index("FL_calf_joint")
    assert safety["joint_pos_limits"][calf] == pytest.approx([-2.7227, -0.83776], abs=1e-4)  # the asset's
    assert safety["joint_vel_limits"] == [30.0] * 12  # [deploy] joint_vel_limits
    joint_info = {j.name: j for j in inspect_scene(spec.scene).find(spec.articulation).joints}
    speeds = {"hip": 30.1, "thigh": 30.1, "calf": 15.7}  # [rad/s] the asset's (the URDF's <limit velocity>)
    asset = joint_velocity_limits(spec.scene, [joint_info[n] for n in names])
    assert asset == pytest.approx([speeds[n.split("_")[1]] for n in names], abs=0.01)
    assert safety["soft_start_s"] == 1.0 and safety["max_tilt_rad"] == 1.0  # floating base
    assert safety["hold_kp"] == joints["stiffness"] and safety["hold_kd"] == joints["damping"]
    bundle = bundle_from_dict(json.loads(json.dumps(manifest)))
    assert bundle.joints["motor_order"] == UNITREE_ORDER


def test_cartpole_manifest_is_an_effort_policy_of_a_fixed_base(write_spec):
    spec = load_spec(write_spec(), {"env.num_envs": 1})
    manifest = deploy_manifest(WorkbenchEnv(spec), spec, FILES)
    assert manifest["action"]["type"] == "joint_effort" and manifest["action"]["offset"] == [0.0]
    assert manifest["action"]["clip"] == 5.0 and manifest["safety"]["action_clip"] == 5.0
    assert manifest["joints"]["motor_order"] == ["slider", "hinge"]  # no [deploy] motor_order: the policy's
    safety = manifest["safety"]
    assert safety["soft_start_s"] == 0.0 and safety["max_tilt_rad"] is None
    assert safety["safe_stop"] == "damp" and safety["hold_kd"] == [20.0, 0.0]
    assert safety["joint_pos_limits"][0] == [-3.0, 3.0] and safety["joint_pos_limits"][1] == [-math.inf, math.inf]
    assert manifest["commands"] == {}
    text = json.dumps(manifest)  # an unlimited hinge is Infinity, which json reads back
    assert bundle_from_dict(json.loads(text)).safety.joint_vel_limits == [math.inf, math.inf]


def test_export_refuses_a_policy_that_observes_a_range_scan(tmp_path):
    wb = Workbench.new("point_nav", {"env.num_envs": 1}, run_dir=tmp_path / "run")
    wb.build()
    with pytest.raises(DeployError) as caught:
        wb.export(tmp_path / "bundle", deploy=True)
    message = str(caught.value)
    assert "point_nav.toml" in message and "'range_scan' (observations.policy.terms[2])" in message
    assert "position_command_from_body" in message and "projected_gravity_b" in message  # refused, then supported
    assert not (tmp_path / "bundle").exists()  # nothing written


def test_go2_velocity_limits_given_for_some_joints_fall_back_to_the_asset(go2_manifest):
    _, _, env = go2_manifest
    spec = load_spec("go2_flat", {"env.num_envs": 1, "deploy.joint_vel_limits": {".*_calf_joint": 20.0}})
    speeds = deploy_manifest(env, spec, FILES)["safety"]["joint_vel_limits"]
    expected = [20.0 if name.endswith("calf_joint") else 30.1 for name in spec.joint_names]  # the others: the URDF's
    assert speeds == pytest.approx(expected, abs=0.01)


def test_per_joint_action_scales_reach_the_bundle_one_per_action_undone_by_the_motor_strength(write_spec):
    overrides = {"env.num_envs": 1, "actions.joints": ["slider", "hinge"], "deploy.motor_strength": 0.5}
    spec = load_spec(write_spec(), {**overrides, "actions.scale": {"slider": 10.0, "hinge": 2.0}})
    manifest = deploy_manifest(WorkbenchEnv(spec), spec, FILES)
    assert manifest["action"]["scale"] == [20.0, 4.0]  # efforts sent to motors that deliver half of them
    assert bundle_from_dict(json.loads(json.dumps(manifest))).action["scale"] == [20.0, 4.0]
