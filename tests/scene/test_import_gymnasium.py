"""Gymnasium's seven MuJoCo robots, from the XMLs shipped in the ``gymnasium`` wheel (read where the wheel installed
them, not copied here): each imports with ``isaac-rl-workbench import`` with every joint of the MJCF, as MuJoCo
compiles it, a 1-DOF joint of one articulation (planar and world-hinged roots under a fixed base, several joints on a
body split into a chain), suggests a spec that carries the MJCF's motors, and builds an env of 2 on Newton's CPU in
which every joint of the humanoid moves under an effort step."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import mujoco
import pytest
import torch
from isaac.rl.workbench.scene.import_robot import convert_robot, spec_fragment
from isaac.rl.workbench.scene.inspect import inspect_scene

ROBOTS = {  # Gymnasium's XML -> floating base (a free joint) or fixed (planar, hinged or slid to the world)
    "ant": True,
    "half_cheetah": False,
    "hopper": False,
    "walker2d": False,
    "humanoid": True,
    "reacher": False,
    "inverted_pendulum": False,
}


def gymnasium_xml(name: str) -> Path:
    """``<name>.xml`` among the MuJoCo assets of the installed ``gymnasium`` (the test extra installs it)."""
    spec = importlib.util.find_spec("gymnasium")
    assert spec is not None, "gymnasium is not installed: pip install -e '.[test]'"
    return Path(spec.submodule_search_locations[0]) / "envs" / "mujoco" / "assets" / f"{name}.xml"


def mujoco_joints(xml: Path) -> tuple[list[str], int]:
    """The names of the model's joints that are not free joints, in MuJoCo's order, and the number of bodies the
    workbench's USD should hold: MuJoCo's, one per joint beyond a body's first, and a base for joints to the world."""
    model = mujoco.MjModel.from_xml_path(str(xml))
    names = [model.joint(j).name for j in range(model.njnt) if model.jnt_type[j] != mujoco.mjtJoint.mjJNT_FREE]
    extra = sum(max(0, int(n) - 1) for n in model.body_jntnum)
    hinged_roots = any(
        model.body_parentid[b] == 0 and model.body_jntnum[b] and model.jnt_type[model.body_jntadr[b]] != 0
        for b in range(1, model.nbody)
    )
    return names, model.nbody - 1 + extra + hinged_roots


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("gymnasium")
    return {name: convert_robot(gymnasium_xml(name), out / name).usd for name in ROBOTS}


@pytest.mark.parametrize("name", list(ROBOTS))
def test_every_mjcf_joint_is_a_joint_of_one_articulation(imported, name):
    art = inspect_scene(imported[name]).find(None)
    joints, bodies = mujoco_joints(gymnasium_xml(name))
    assert list(art.dof_names) == joints, "every joint of the MJCF, in MuJoCo's order, by its MJCF name"
    assert len(art.bodies) == bodies
    assert art.fixed_base != ROBOTS[name]
    assert not art.duplicate_names


def test_a_body_with_several_joints_becomes_a_chain_and_a_planar_root_gets_a_fixed_base(imported):
    humanoid = inspect_scene(imported["humanoid"]).find(None)
    joint = {j.name: j for j in humanoid.joints}
    assert joint["abdomen_y"].body0 == joint["abdomen_z"].body1, "abdomen_z moves the body abdomen_y turns about"
    assert joint["abdomen_y"].body1.endswith("/lwaist")
    cheetah = inspect_scene(imported["half_cheetah"]).find(None)
    assert cheetah.root_path.endswith("/base") and cheetah.dof_names[:3] == ("rootx", "rootz", "rooty")
    assert [j.type for j in cheetah.joints[:4]] == ["fixed", "prismatic", "prismatic", "revolute"]


def test_the_suggested_spec_carries_the_motors_gear_and_ctrlrange(imported):
    spec = tomllib.loads(spec_fragment(imported["half_cheetah"], imported["half_cheetah"].parent))
    limits = {joint: group.get("effort_limit") for group in spec["actuators"].values() for joint in group["joints"]}
    assert limits == {"bthigh": 120.0, "bshin": 90.0, "bfoot": 60.0, "fthigh": 120.0, "fshin": 60.0, "ffoot": 30.0}
    assert not any("stiffness" in group for group in spec["actuators"].values()), "motors: no PD"
    fragment = spec_fragment(imported["half_cheetah"], imported["half_cheetah"].parent)
    assert "# passive in the MJCF (no actuator; leave them out of [actions] joints): rootx, rootz, rooty" in fragment
    assert (
        '# type = "joint_effort"' in fragment
        and '# scale = { "bthigh" = 120.0, "bshin" = 90.0' in fragment
        and "# clip = 1.0" in fragment
    )


@pytest.mark.parametrize("name", list(ROBOTS))
def test_the_command_imports_it_and_shows_the_converters_warnings_once(tmp_path, name):
    command = [sys.executable, "-m", "isaac.rl.workbench.frontends.cli", "import", str(gymnasium_xml(name))]
    done = subprocess.run([*command, "-o", str(tmp_path / name)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ready to train: 0 problem(s)" in done.stdout
    warnings = re.findall(r"^converter warning: (.*)$", done.stdout, re.MULTILINE)
    assert len(warnings) == len(set(warnings)), "each warning once"
    if "<light" in gymnasium_xml(name).read_text():
        assert "lights are not supported" in warnings


def _env(usd: Path, base: str, actions: dict):
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
    from isaac.rl.workbench.specs.loader import spec_from_table

    spec = tomllib.loads(spec_fragment(usd, usd.parent))
    raw = spec | {
        "robot": spec["robot"] | {"base": base},
        "env": {"num_envs": 2, "physics_dt": 0.005, "decimation": 4},
        "actions": actions,
        "observations": {"policy": {"terms": ["joint_pos", "joint_vel"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    return WorkbenchEnv(spec_from_table(raw, usd.parent / "spec.toml"))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ROBOTS))
def test_an_env_builds_on_newton_cpu_and_steps(imported, name):
    env = _env(imported[name], "floating" if ROBOTS[name] else "fixed", {"type": "joint_effort", "scale": 1.0})
    assert env.spec.joint_names == mujoco_joints(gymnasium_xml(name))[0]
    for _ in range(10):
        env.step(torch.zeros(env.num_envs, env.num_actions))
    assert bool(torch.isfinite(env.dof_pos).all()) and not bool(env.unstable.any())


@pytest.mark.slow
def test_every_joint_of_the_humanoid_moves_under_an_effort_step(imported):
    """On a fixed base (no fall), 0.2 s of +limit and of -limit effort on every joint: each joint ends apart."""
    usd = imported["humanoid"]
    ends = []
    for sign in (1.0, -1.0):
        env = _env(usd, "fixed", {"type": "joint_effort", "scale": 1.0})
        assert len(env.spec.joint_names) == 17
        for _ in range(round(0.2 / env.step_dt)):
            env.step(torch.full((env.num_envs, env.num_actions), sign * 1000.0))  # clamped to each effort limit
        ends.append(env.dof_pos.clone())
    moved = (ends[0] - ends[1]).abs().min(dim=0).values
    # driven all at once, the coupled joints move unequally: abdomen_y, held by the MJCF's joint-limit solver
    # parameters, moves about 0.01 rad (MuJoCo, torso welded, 0.09-0.12 rad); a joint that is not driven moves 0
    still = [name for name, d in zip(env.spec.joint_names, moved.tolist(), strict=True) if d < 0.005]
    assert not still, f"joints that did not move: {still} ({moved})"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ROBOTS))
def test_the_bodies_lie_where_mujoco_puts_them_at_any_joint_positions(imported, name):
    """Forward kinematics of the imported robot (Newton) and of the MJCF (MuJoCo) at the same random joint
    positions: every body MuJoCo names is at the same place, so each chain and base moves as MuJoCo's body."""
    import newton
    import numpy as np

    model = mujoco.MjModel.from_xml_path(str(gymnasium_xml(name)))
    data = mujoco.MjData(model)
    builder = newton.ModelBuilder()
    builder.add_usd(str(imported[name]), root_path=inspect_scene(imported[name]).find(None).root_path)
    robot = builder.finalize(device="cpu")
    q = robot.joint_q.numpy()
    labels = [label.rsplit("/", 1)[-1] for label in robot.joint_label]
    starts = robot.joint_q_start.numpy()
    data.qpos[:] = model.qpos0  # MuJoCo counts a joint from its ref, Newton from the file's pose: add to both
    joints = mujoco_joints(gymnasium_xml(name))[0]
    for joint, value in zip(joints, np.random.default_rng(0).uniform(-0.4, 0.4, len(joints)), strict=True):
        data.qpos[model.jnt_qposadr[model.joint(joint).id]] += value
        q[starts[labels.index(joint)]] += value
    if ROBOTS[name]:  # the free joint: MuJoCo's (x, y, z, qw, qx, qy, qz), Newton's (x, y, z, qx, qy, qz, qw)
        q[0:7] = [*data.qpos[0:3], 0.0, 0.0, 0.0, 1.0]
        data.qpos[3:7] = [1.0, 0.0, 0.0, 0.0]
    mujoco.mj_kinematics(model, data)
    robot.joint_q.assign(q)
    state = robot.state()
    newton.eval_fk(robot, robot.joint_q, robot.joint_qd, state)
    where = {
        label.rsplit("/", 1)[-1]: pose[:3] for label, pose in zip(robot.body_label, state.body_q.numpy(), strict=True)
    }
    named = [b for b in range(1, model.nbody) if model.body(b).name]
    errors = {model.body(b).name: float(np.linalg.norm(where[model.body(b).name] - data.xpos[b])) for b in named}
    assert max(errors.values()) < 1e-4, errors


@pytest.mark.parametrize("name", list(ROBOTS))
def test_each_robot_weighs_what_mujoco_compiles_settotalmass_included(imported, name):
    """half_cheetah's ``<compiler settotalmass="14">``: the converter writes the densities' 21.2 kg; the import scales
    every mass and inertia as MuJoCo does. The others have no settotalmass and keep the geoms' masses."""
    import newton

    builder = newton.ModelBuilder()
    builder.add_usd(str(imported[name]))
    ours = float(builder.finalize("cpu").body_mass.numpy().sum())
    model = mujoco.MjModel.from_xml_path(str(gymnasium_xml(name)))
    added = 0.001 * (mujoco_joints(gymnasium_xml(name))[1] - (model.nbody - 1))  # the 1 g bodies the split inserts
    assert ours == pytest.approx(float(model.body_mass.sum()) + added, rel=0.02), name
