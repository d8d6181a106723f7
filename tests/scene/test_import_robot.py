"""Real robots from URDF: ``import`` converts Unitree Go2, Franka Panda and SO-101 (example-robot-data, installed by
set-up beside the converter) into USD that inspects, passes ``doctor``, and stands or holds a posture in Newton
with the spec's ``[robot]`` and ``[actuators]``; bad input gets one line and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from isaac.rl.workbench.doctor.usd_checks import check_robot
from isaac.rl.workbench.scene.import_robot import example_robot, import_urdf
from isaac.rl.workbench.scene.inspect import inspect_scene

ROBOTS = {  # name -> (articulation root, 1-DOF joints)
    "go2": ("/go2_description/Geometry/base", 12),
    "panda": ("/panda/Geometry/panda_link0", 9),
    "so101": ("/so101_new_calib/Geometry/base_link", 6),
}


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("robots")
    return {name: import_urdf(example_robot(name), out / name) for name in ROBOTS}


@pytest.mark.parametrize("name", list(ROBOTS))
def test_each_robot_imports_inspects_and_passes_doctor(imported, name):
    art = inspect_scene(imported[name]).find(None)
    root, dofs = ROBOTS[name]
    assert art.root_path == root and len(art.dof_names) == dofs
    assert art.fixed_base, "the converter welds the root to the world; [robot] base releases it"
    findings = check_robot(imported[name])
    assert not [f for f in findings if f.level == "problem"], findings
    assert (imported[name].parent / "Payload").is_dir(), "meshes are converted into the output"


def _cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "isaac.rl.workbench.frontends.cli", "import", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_the_command_prints_the_summary_the_checks_and_a_spec_to_start_from(tmp_path):
    done = _cli("so101", "-o", str(tmp_path / "so101"))
    assert done.returncode == 0, done.stderr
    assert "articulation /so101_new_calib/Geometry/base_link: fixed base" in done.stdout
    assert "ready to train: 0 problem(s)" in done.stdout
    assert 'base = "fixed"' in done.stdout and "# gains from the robot's masses at the start pose" in done.stdout
    assert "effort_limit = " in done.stdout, "the URDF's <limit effort> is carried"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file"),
        ("not xml at all", "not a URDF (not XML"),
        ("<sdf version='1.6'/>", "not a URDF: expected a <robot> root element, found <sdf>"),
        ("<mujoco model='m'/>", "an MJCF file must end in .xml"),
        (
            "<robot name='bot'><link name='base'><visual><geometry><mesh filename='meshes/gone.stl'/></geometry>"
            "</visual></link></robot>",
            "meshes/gone.stl cannot be read: no such file",
        ),
    ],
)
def test_bad_input_gets_one_line_and_exit_2_and_writes_nothing(tmp_path, content, says):
    urdf = tmp_path / "robot.urdf"
    if content is not None:
        urdf.write_text(content)
    out = tmp_path / "out"
    done = _cli(str(urdf), "-o", str(out))
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not out.exists() and not list(tmp_path.glob(".*importing")), "nothing is left behind"


INERTIAL = '<inertial><mass value="1"/><inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0" iyz="0"/></inertial>'


def _arm(mesh: str = "", texture: str = "") -> str:
    """A two-link URDF whose second link 'arm' shows ``mesh``, coloured with ``texture`` (each left out when empty)."""
    material = f'<material name="skin"><texture filename="{texture}"/></material>' if texture else ""
    visual = f'<visual><geometry><mesh filename="{mesh}"/></geometry>{material}</visual>' if mesh else ""
    return (
        f'<robot name="bot"><link name="base">{INERTIAL}</link><link name="arm">{INERTIAL}{visual}</link>'
        '<joint name="j" type="revolute"><parent link="base"/><child link="arm"/><axis xyz="0 0 1"/>'
        '<limit lower="-1" upper="1" effort="1" velocity="1"/></joint></robot>'
    )


@pytest.mark.parametrize(
    ("mesh", "texture", "says"),
    [
        ("/etc/passwd", "", "link 'arm': mesh '/etc/passwd' is outside the robot's folder"),
        ("../../../../../../../../etc/shadow", "", "mesh '../../../../../../../../etc/shadow' is outside"),
        ("file:///etc/passwd", "", "link 'arm': mesh 'file:///etc/passwd' is outside the robot's folder"),
        ("package://bot/../../../../../../../../etc/passwd", "", "does not name a file inside its package"),
        ("package://secret/secret.stl", "", "resolves to {tmp}/secret.stl, which is outside the robot's folder"),
        ("http://example.com/arm.stl", "", "mesh 'http://example.com/arm.stl' uses http://"),
        ("meshes/arm.stl", "/etc/hostname", "material 'skin': texture '/etc/hostname' is outside the robot's folder"),
    ],
    ids=["absolute", "dot-dot", "file uri", "package dot-dot", "package outside", "http", "texture"],
)
def test_a_file_outside_the_robot_is_refused_in_one_line_naming_it(tmp_path, mesh, texture, says):
    """The URDF's files must lie in its folder (or package): a description cannot pull /etc/passwd into the USD."""
    robot = tmp_path / "bot"
    robot.mkdir()
    (tmp_path / "secret.stl").write_text("solid secret\nendsolid secret\n")  # beside the robot's folder, no package
    (robot / "bot.urdf").write_text(_arm(mesh, texture))
    out = tmp_path / "out"
    done = _cli(str(robot / "bot.urdf"), "-o", str(out))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says.format(tmp=tmp_path.resolve()) in lines[0], done.stderr
    assert f"expected a file inside the robot's folder {robot.resolve()}" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot", "secret.stl"], "nothing is written"


def test_a_ros_package_names_its_meshes_beside_its_urdf_folder(tmp_path):
    """``<package>/urdf/robot.urdf`` naming ``../meshes/arm.stl``: inside the robot's folder (here: missing)."""
    (tmp_path / "bot" / "urdf").mkdir(parents=True)
    (tmp_path / "bot" / "urdf" / "bot.urdf").write_text(_arm("../meshes/arm.stl"))
    done = _cli(str(tmp_path / "bot" / "urdf" / "bot.urdf"), "-o", str(tmp_path / "out"))
    assert done.returncode == 2 and "mesh ../meshes/arm.stl cannot be read: no such file" in done.stderr, done.stderr


def test_a_robot_without_joints_is_refused_and_its_converted_files_are_removed(tmp_path):
    (tmp_path / "robot.urdf").write_text(f'<robot name="brick"><link name="base">{INERTIAL}</link></robot>')
    out = tmp_path / "new" / "folders" / "out"
    done = _cli(str(tmp_path / "robot.urdf"), "-o", str(out))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "robot.urdf: converted, but not a robot to train: no articulation root" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["robot.urdf"], "neither the output nor its folders stay"


@pytest.mark.parametrize("out", ["a_file", "a_file/sub"])
def test_an_output_that_is_a_file_is_refused_in_one_line(tmp_path, out):
    (tmp_path / "robot.urdf").write_text(_arm())
    (tmp_path / "a_file").write_text("the user's own file\n")
    done = _cli(str(tmp_path / "robot.urdf"), "-o", str(tmp_path / out))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'a_file'}: is a file; -o expects a folder (new, or empty)"
    ]
    assert (tmp_path / "a_file").read_text() == "the user's own file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "robot.urdf"]


def _env(scene: Path, root: str, robot: dict, stiffness: float, num_envs: int = 2):
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
    from isaac.rl.workbench.specs.loader import spec_from_table

    raw = {
        "scene": str(scene),
        "articulation": root,
        "robot": robot,
        "actuators": {"all": {"joints": [".*"], "stiffness": stiffness, "damping": stiffness / 20}},
        "env": {"num_envs": num_envs, "episode_seconds": 10.0, "physics_dt": 0.005, "decimation": 4},
        "actions": {"type": "joint_position", "scale": 0.25},
        "observations": {"policy": {"terms": ["joint_pos", "joint_vel"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    return WorkbenchEnv(spec_from_table(raw, scene.parent / "spec.toml"))


@pytest.mark.slow
def test_go2_stands_on_a_pd_stance_for_5_seconds(imported):
    stance = {".*_hip_joint": 0.0, ".*_thigh_joint": 0.8, ".*_calf_joint": -1.5}
    env = _env(imported["go2"], ROBOTS["go2"][0], {"base": "floating", "root_height": 0.4, "joint_pos": stance}, 25.0)
    assert env.floating_base
    heights = []
    for _ in range(int(5.0 / env.step_dt)):
        env.step(torch.zeros(env.num_envs, env.num_actions))
        heights.append(env.root_pos_w[:, 2].clone())
    settled = torch.stack(heights[int(1.0 / env.step_dt) :])  # after the drop from 0.4 m
    assert not bool(env.unstable.any())
    assert float(settled.min()) > 0.2 and float(settled.max() - settled.min()) < 0.05, settled.aminmax()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "stiffness"), [("panda", 400.0), ("so101", 20.0)])
def test_an_arm_holds_its_posture_under_gravity(imported, name, stiffness):
    env = _env(imported[name], ROBOTS[name][0], {"base": "fixed"}, stiffness)
    for _ in range(int(2.0 / env.step_dt)):
        env.step(torch.zeros(env.num_envs, env.num_actions))
    assert not bool(env.unstable.any())
    assert float((env.dof_pos - env.default_dof_pos).abs().max()) < 0.1


def _so101_spec(scene: Path, stiffness: float):
    from isaac.rl.workbench.specs.loader import spec_from_table

    raw = {
        "scene": str(scene),
        "articulation": ROBOTS["so101"][0],
        "actuators": {"all": {"joints": [".*"], "stiffness": stiffness, "damping": stiffness / 20}},
        "env": {"num_envs": 4, "physics_dt": 0.005, "decimation": 4},
        "actions": {"type": "joint_position", "scale": 0.25},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    return spec_from_table(raw, scene.parent / "spec.toml")


@pytest.mark.slow
def test_doctor_drives_each_joint_and_flags_gains_too_weak_for_the_load(imported):
    from isaac.rl.workbench.doctor.physics_checks import physics_checks

    sound = physics_checks(_so101_spec(imported["so101"], 20.0))
    assert [f.level for f in sound] == ["ok", "ok"], sound
    assert "all 6 action joints follow a 0.2 step" in sound[1].message
    # gains far too weak for the arm's weight: it sags while held and its joints miss or overshoot their steps
    weak = physics_checks(_so101_spec(imported["so101"], 0.05))
    assert weak[0].check == "drop test" and weak[0].level == "warning" and "still moving" in weak[0].message, weak
    flagged = [f for f in weak if f.check == "drive test" and f.level == "warning"]
    assert flagged and all(("stiffness too low" in f.message) or ("overshot" in f.message) for f in flagged), weak


@pytest.mark.slow
def test_doctor_finds_a_floating_robot_that_sinks_through_the_ground(tmp_path):
    from isaac.rl.workbench.doctor.physics_checks import physics_checks
    from isaac.rl.workbench.specs.loader import spec_from_table
    from pxr import Gf, Usd, UsdGeom, UsdPhysics

    stage = Usd.Stage.CreateNew(str(tmp_path / "ghost.usda"))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdPhysics.ArticulationRootAPI.Apply(UsdGeom.Xform.Define(stage, "/ghost").GetPrim())
    for name, z in (("body", 0.3), ("leg", 0.1)):
        body = UsdGeom.Xform.Define(stage, f"/ghost/{name}")
        body.AddTranslateOp().Set(Gf.Vec3d(0, 0, z))
        UsdPhysics.RigidBodyAPI.Apply(body.GetPrim())
        mass = UsdPhysics.MassAPI.Apply(body.GetPrim())
        mass.CreateMassAttr(1.0)
        mass.CreateDiagonalInertiaAttr(Gf.Vec3f(0.01, 0.01, 0.01))
    hinge = UsdPhysics.RevoluteJoint.Define(stage, "/ghost/hinge")
    hinge.CreateBody0Rel().SetTargets(["/ghost/body"])
    hinge.CreateBody1Rel().SetTargets(["/ghost/leg"])
    hinge.CreateAxisAttr("Y")
    stage.Save()
    raw = {
        "scene": "ghost.usda",
        "actions": {"type": "joint_effort"},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    (finding,) = physics_checks(spec_from_table(raw, tmp_path / "spec.toml"))
    assert finding.level == "problem" and "below the ground" in finding.message, finding
