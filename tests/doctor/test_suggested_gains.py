"""Gains from the robot: the rule (stiffness from the inertia a joint moves and the gravity load it holds, critical
damping, capped by one physics step and the effort limit), the tables ``import`` prints with it, and robots from
example-robot-data held at their start pose by the printed fragment alone: UR5 and Panda on a fixed base, ANYmal C
and G1 standing on a floating one."""

from __future__ import annotations

import math
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
from isaac.rl.workbench.doctor.gain_check import JointGains as CheckedGains
from isaac.rl.workbench.doctor.gain_check import check_gains, step_growth
from isaac.rl.workbench.scene.joint_loads import JointLoad, joint_loads
from isaac.rl.workbench.scene.suggested_gains import (
    DAMPING_RATIO,
    DEFAULT_PHYSICS_DT,
    SAG_ALLOWED,
    STEP_LIMIT,
    actuator_tables,
    suggested_gains,
)
from pxr import Usd

from .walker import arm_robot

G = 9.81


def test_a_pendulum_is_held_within_the_allowed_sag_and_damped_critically():
    mass, length = 2.0, 0.1  # a 2 kg point mass on a 0.1 m arm, held horizontal: 1.96 N·m (gravity outweighs 10 Hz)
    inertia, torque = mass * length**2, mass * G * length
    gains = suggested_gains(inertia, torque)
    assert gains.stiffness == pytest.approx(torque / SAG_ALLOWED) and gains.sag == pytest.approx(SAG_ALLOWED)
    assert gains.damping / (2 * math.sqrt(gains.stiffness * inertia)) == pytest.approx(DAMPING_RATIO)
    assert gains.limited_by == ""
    unloaded = suggested_gains(inertia, 0.0)  # no gravity load: 10 Hz on its inertia
    assert math.sqrt(unloaded.stiffness / inertia) / (2 * math.pi) == pytest.approx(10.0)


def test_a_load_that_grows_as_the_joint_gives_way_is_added():
    """A straight knee under the body's weight: the load grows by 50 N·m per rad as it bends."""
    gains = suggested_gains(0.02, 1.0, gravity_stiffness=50.0)
    assert gains.stiffness == pytest.approx(1.0 / SAG_ALLOWED + 50.0)
    assert gains.sag == pytest.approx(SAG_ALLOWED)


def test_a_light_link_is_capped_by_one_physics_step_which_stays_stable_and_says_how_much_it_sags():
    gains = suggested_gains(0.001, 5.0)  # a foot: 5 N·m on 0.001 kg·m²
    assert gains.limited_by == "one physics step" and gains.sag > SAG_ALLOWED
    assert math.sqrt(gains.stiffness / 0.001) * DEFAULT_PHYSICS_DT == pytest.approx(STEP_LIMIT)
    joint = CheckedGains("foot", gains.stiffness, gains.damping, 0.001, explicit=False)
    assert step_growth(joint, DEFAULT_PHYSICS_DT) < 1
    findings, _ = check_gains([joint], DEFAULT_PHYSICS_DT, 4 * DEFAULT_PHYSICS_DT)
    assert [f.level for f in findings] == ["ok"], findings  # the doctor's gain check agrees


def test_an_effort_limit_too_small_for_the_load_is_told_in_the_fragment():
    loads = [JointLoad("lift", False, 0.5, 9.81, 0.0, 5.0), JointLoad("pan", False, 0.5, 0.0, 0.0, 5.0)]
    assert math.isinf(suggested_gains(0.5, 9.81, 5.0).sag)
    lines = actuator_tables(loads)
    assert (
        "# warning: lift: its effort limit 5 N·m cannot hold the 9.81 N·m gravity load of the start pose: it will "
        "sag; a lighter pose"
    ) in lines
    tables = tomllib.loads("\n".join(lines))["actuators"]
    assert all(t["effort_limit"] == 5.0 and t["stiffness"] * SAG_ALLOWED <= 5.0 + 1e-9 for t in tables.values())


def test_joints_with_similar_gains_share_a_table_named_after_them_each_joint_once():
    loads = [
        JointLoad(f"{side}_{kind}_joint", False, inertia, 0.0, 0.0, effort)
        for side in ("left", "right")
        for kind, inertia, effort in (("hip_pitch", 0.1, 88.0), ("knee", 0.1, 139.0), ("ankle", 0.01, 35.0))
    ]
    tables = tomllib.loads("\n".join(actuator_tables(loads)))["actuators"]
    assert set(tables) == {"hip_pitch", "knee", "ankle"}, tables
    assert tables["knee"]["joints"] == ["left_knee_joint", "right_knee_joint"]
    assert sorted(j for t in tables.values() for j in t["joints"]) == sorted(load.name for load in loads)


def test_the_gravity_torque_and_inertia_of_an_arm_held_out_come_from_its_masses(tmp_path):
    from isaac.rl.workbench.scene.inspect import inspect_scene

    usd = arm_robot(tmp_path / "arm.usda")  # lift holds a 2 kg link 0.5 m out; pan carries no load
    loads = {load.name: load for load in joint_loads(usd, inspect_scene(usd).find(None), {}, floating=False)}
    assert abs(loads["lift"].gravity_torque) == pytest.approx(2.0 * G * 0.5, rel=1e-3)
    assert loads["lift"].inertia == pytest.approx(2.0 * 0.5**2 + 0.01, rel=1e-3)  # the point mass and its own 0.01
    assert loads["pan"].gravity_torque == pytest.approx(0.0, abs=1e-9) and math.isinf(loads["pan"].effort_limit)


@pytest.mark.slow
def test_the_doctors_sag_fix_pasted_holds_the_joint(tmp_path):
    from isaac.rl.workbench.doctor.physics_checks import spec_checks
    from isaac.rl.workbench.specs.loader import spec_from_table

    table = {
        "scene": str(arm_robot(tmp_path / "arm.usda")),
        "actuators": {"lift": {"joints": ["lift"], "stiffness": 20.0, "damping": 6.0}},  # sags ~0.45 rad
        "actions": {"type": "joint_position", "scale": 1.0, "joints": ["lift"]},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    findings, fragment = spec_checks(spec_from_table(table, tmp_path / "arm.toml"))
    assert [f.message.split(":")[0] for f in findings if f.check == "sag"] == ["lift"], findings
    fix = tomllib.loads(fragment)["actuators"]["lift"]
    assert fix["stiffness"] * SAG_ALLOWED >= 2.0 * G * 0.5 * 0.99, fragment  # holds the 9.81 N·m within 0.02
    table["actuators"]["lift"] |= {"stiffness": fix["stiffness"], "damping": fix["damping"]}
    findings, _ = spec_checks(spec_from_table(table, tmp_path / "arm.toml"))
    assert not [f for f in findings if f.level != "ok" and f.check in ("sag", "gains", "drive test")], findings


def _shapes_only_arm(path: Path) -> Path:
    """A fixed two-link arm whose links have collision capsules and no authored mass (as an MJCF's geoms without
    ``mass``): the physics derives their masses at 1000 kg/m³."""
    from pxr import Gf, UsdGeom, UsdPhysics

    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.ArticulationRootAPI.Apply(UsdGeom.Xform.Define(stage, "/arm").GetPrim())
    base = UsdGeom.Xform.Define(stage, "/arm/base")
    UsdPhysics.RigidBodyAPI.Apply(base.GetPrim())
    UsdPhysics.MassAPI.Apply(base.GetPrim()).CreateMassAttr(1.0)
    UsdPhysics.FixedJoint.Define(stage, "/arm/weld").CreateBody1Rel().SetTargets([base.GetPath()])
    previous = "/arm/base"
    for index, (name, height) in enumerate((("upper", 0.4), ("lower", 0.3))):
        body = UsdGeom.Xform.Define(stage, f"{previous}/{name}")
        body.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, 0.5 if index == 0 else 0.4))
        UsdPhysics.RigidBodyAPI.Apply(body.GetPrim())
        capsule = UsdGeom.Capsule.Define(stage, f"{body.GetPath()}/shape")
        capsule.CreateAxisAttr("X"), capsule.CreateRadiusAttr(0.04), capsule.CreateHeightAttr(height)
        capsule.AddTranslateOp().Set(Gf.Vec3d(height / 2, 0.0, 0.0))
        UsdPhysics.CollisionAPI.Apply(capsule.GetPrim())
        joint = UsdPhysics.RevoluteJoint.Define(stage, f"/arm/{name}_joint")
        joint.CreateBody0Rel().SetTargets([previous])
        joint.CreateBody1Rel().SetTargets([body.GetPath()])
        joint.CreateLocalPos0Attr(Gf.Vec3f(0.0, 0.0, 0.5 if index == 0 else 0.4))
        joint.CreateAxisAttr("Y")
        previous = str(body.GetPath())
    stage.GetRootLayer().Save()
    return path


@pytest.mark.slow
def test_links_without_authored_mass_get_gains_from_their_collision_shapes_as_the_physics_weighs_them(tmp_path):
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
    from isaac.rl.workbench.scene.import_robot import spec_fragment
    from isaac.rl.workbench.scene.inspect import inspect_scene
    from isaac.rl.workbench.specs.loader import spec_from_table

    usd = _shapes_only_arm(tmp_path / "arm.usda")
    art = inspect_scene(usd).find(None)
    loads = joint_loads(usd, art, {}, floating=False)
    assert all(load.inertia > 0 for load in loads) and abs(loads[0].gravity_torque) > 1.0, loads
    raw = tomllib.loads(spec_fragment(usd, tmp_path))
    assert {j for table in raw["actuators"].values() for j in table["joints"]} == {"upper_joint", "lower_joint"}
    raw |= {
        "env": {"num_envs": 1},
        "actions": {"type": "joint_position", "scale": 0.25},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    env = WorkbenchEnv(spec_from_table(raw, tmp_path / "spec.toml"))
    by_name = {load.name: load.inertia for load in loads}
    ours = torch.tensor([by_name[joint] for joint in env.spec.joint_names], dtype=torch.float64)
    # within 3%: the rule weighs the capsules as 24-sided meshes (1% less volume), the physics as capsules
    torch.testing.assert_close(ours, env.joint_inertias()[0].double(), rtol=3e-2, atol=1e-6)


# -- robots from example-robot-data: the printed fragment holds them -----------------------------------------------

ROBOTS = {  # name -> (URDF under example-robot-data's robots/, import flags)
    "ur5": ("ur_description/urdf/ur5_robot.urdf", []),
    "panda": ("panda_description/urdf/panda.urdf", []),
    "anymal": ("anymal_c_simple_description/urdf/anymal.urdf", ["--floating-base"]),
    "g1": ("g1_description/urdf/g1_29dof_rev_1_0.urdf", ["--floating-base"]),
}
HOLD_SECONDS = 2.0
HOLD_LIMIT = 0.05  # [rad or m] each joint from its start position, the whole time
HEIGHT_LIMIT = 0.05  # [m] the floating base's height from its start, the whole time


def _printed_fragment(name: str, folder: Path) -> str:
    """The spec fragment ``import`` prints for robot ``name``, imported into ``folder``."""
    from isaac.rl.workbench.scene.import_robot import example_robot

    urdf = example_robot("panda").parents[2] / ROBOTS[name][0]
    command = [sys.executable, "-m", "isaac.rl.workbench.frontends.cli", "import", str(urdf), "-o", name]
    done = subprocess.run([*command, *ROBOTS[name][1]], capture_output=True, text=True, cwd=folder, timeout=300)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    fragment = done.stdout.split("A spec to start from")[1].split("\n", 2)[2]
    assert '[actuators.all]\njoints = [".*"]' not in fragment, fragment  # not one group for every joint
    return fragment


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ROBOTS))
def test_the_printed_fragment_holds_the_robot_at_its_start_pose(tmp_path, name):
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
    from isaac.rl.workbench.scene.inspect import inspect_scene
    from isaac.rl.workbench.specs.loader import spec_from_table

    fragment = _printed_fragment(name, tmp_path)
    raw = tomllib.loads(fragment)
    advised = [line for line in fragment.splitlines() if line.startswith("# [env] physics_dt = ")]
    physics_dt = float(advised[0].split("=")[1].split("#")[0]) if advised else DEFAULT_PHYSICS_DT
    raw |= {
        "env": {
            "num_envs": 1,
            "episode_seconds": 10.0,
            "physics_dt": physics_dt,
            "decimation": max(1, round(0.02 / physics_dt)),
        },
        "actions": {"type": "joint_position", "scale": 0.25},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    spec = spec_from_table(raw, tmp_path / "spec.toml")
    env = WorkbenchEnv(spec)
    # the inertia the rule used is the one the doctor reads from the physics
    art = inspect_scene(spec.scene).find(spec.articulation)
    floating = raw["robot"]["base"] == "floating"
    loads = joint_loads(spec.scene, art, raw["robot"].get("joint_pos", {}), floating, raw["robot"].get("root_height"))
    by_name = {load.name: load.inertia for load in loads}
    ours = torch.tensor([by_name[joint] for joint in spec.joint_names], dtype=torch.float64)
    # within 1%: Newton replaces inertias it finds invalid (ANYmal's hatch) where the rule reads the file's
    torch.testing.assert_close(ours, env.joint_inertias()[0].double(), rtol=1e-2, atol=1e-5)
    start, height = env.default_dof_pos[0].clone(), float(env.root_pos_w[0, 2])
    worst, drop = torch.zeros_like(start), 0.0
    steps = round(HOLD_SECONDS / env.step_dt)
    for _ in range(steps):
        env.step(torch.zeros(1, env.num_actions))
        worst = torch.maximum(worst, (env.dof_pos[0] - start).abs())
        drop = max(drop, abs(float(env.root_pos_w[0, 2]) - height))
    assert not bool(env.unstable.any()), fragment
    column = int(worst.argmax())
    held = f"{name}: {spec.joint_names[column]} moved {float(worst[column]):.3f}, the base {drop:.3f} m"
    assert float(worst.max()) < HOLD_LIMIT and drop < HEIGHT_LIMIT, held
