"""MJCF robots: ``import`` converts an MJCF file (``<mujoco>`` root) with mujoco-usd-converter into USD that inspects
with its joint limits in radians whatever ``<compiler angle>`` says, passes ``doctor``, and suggests a spec that
carries the MJCF's position-actuator gains; with it Newton holds the arm's posture, and a free joint comes through as
a floating base that drops onto its leg. Bad input gets one line and exit code 2, with nothing written."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
import trimesh
from isaac.rl.workbench.doctor.usd_checks import check_robot
from isaac.rl.workbench.scene.import_robot import RobotImportError, import_robot, spec_fragment
from isaac.rl.workbench.scene.inspect import inspect_scene

ARM = """<mujoco model="arm2">
  <compiler angle="{angle}" meshdir="meshes"/>
  <asset><mesh name="link" file="link.{mesh}"/></asset>
  <worldbody>
    <body name="base" pos="0 0 0.1">
      <geom type="cylinder" size="0.05 0.05" mass="1"/>
      <body name="upper" pos="0 0 0.05">
        <joint name="shoulder" axis="0 1 0" range="{shoulder}"/>
        <geom type="mesh" mesh="link" mass="0.5"/>
        <body name="lower" pos="0 0 0.3">
          <joint name="elbow" axis="0 1 0" range="{elbow}"/>
          <geom type="capsule" fromto="0 0 0 0 0 0.25" size="0.025" mass="0.3"/>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <position joint="shoulder" kp="50" kv="2"/>
    <position joint="elbow" kp="30" kv="1"/>
  </actuator>
</mujoco>
"""
ARMS = {  # <compiler angle> -> (mesh format, shoulder range, elbow range): both ±90° and -120° .. 10°
    "degree": ("stl", "-90 90", "-120 10"),
    "radian": ("obj", f"{-math.pi / 2} {math.pi / 2}", f"{-2 * math.pi / 3} {math.pi / 18}"),
}
WALKER = """<mujoco model="walker">
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <body name="torso" pos="0 0 0.5">
      <freejoint name="root"/>
      <geom type="box" size="0.1 0.1 0.05" mass="2"/>
      <body name="leg" pos="0 0 -0.05">
        <joint name="hip" axis="0 1 0" range="-60 60"/>
        <geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.03" mass="0.5"/>
      </body>
    </body>
  </worldbody>
  <actuator><position joint="hip" kp="40" kv="1"/></actuator>
</mujoco>
"""  # no <compiler>: MuJoCo's angles are in degrees by default


def _write_arm(folder: Path, angle: str) -> Path:
    mesh, shoulder, elbow = ARMS[angle]
    (folder / "meshes").mkdir(parents=True, exist_ok=True)
    box = trimesh.creation.box((0.06, 0.06, 0.3)).apply_translation((0.0, 0.0, 0.15))  # the upper link, 0.3 m up
    box.export(folder / "meshes" / f"link.{mesh}")
    (folder / "arm.xml").write_text(ARM.format(angle=angle, mesh=mesh, shoulder=shoulder, elbow=elbow))
    return folder / "arm.xml"


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("mjcf")
    usd = {angle: import_robot(_write_arm(out / angle, angle), out / angle / "robot") for angle in ARMS}
    (out / "walker.xml").write_text(WALKER)
    usd["walker"] = import_robot(out / "walker.xml", out / "walker")
    return usd


@pytest.mark.parametrize("angle", list(ARMS))
def test_an_arm_imports_with_limits_in_radians_and_passes_doctor(imported, angle):
    art = inspect_scene(imported[angle]).find(None)
    assert art.root_path == "/arm2/Geometry/base" and art.dof_names == ("shoulder", "elbow")
    assert art.fixed_base, "a body without a joint is welded to the world"
    limits = {j.name: (j.lower, j.upper) for j in art.joints if j.num_dofs == 1}
    assert limits["shoulder"] == pytest.approx((-math.pi / 2, math.pi / 2), abs=1e-5)
    assert limits["elbow"] == pytest.approx((-2 * math.pi / 3, math.pi / 18), abs=1e-5)
    findings = check_robot(imported[angle])
    assert not [f for f in findings if f.level == "problem"], findings
    assert (imported[angle].parent / "Payload" / "GeometryLibrary.usdc").is_file(), "the mesh is converted"


def test_the_suggested_spec_carries_the_position_actuators_gains(imported):
    spec = tomllib.loads(spec_fragment(imported["degree"], imported["degree"].parent))
    assert spec["robot"]["base"] == "fixed"
    assert spec["actuators"] == {
        "shoulder": {"joints": ["shoulder"], "stiffness": 50.0, "damping": 2.0},
        "elbow": {"joints": ["elbow"], "stiffness": 30.0, "damping": 1.0},
    }


def _env(usd: Path, spec: dict, robot: dict, seconds: float):
    """The spec ``import`` suggests with ``robot`` merged into ``[robot]``, run on the CPU for ``seconds`` of zero
    actions (joint targets at the start pose)."""
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
    from isaac.rl.workbench.specs.loader import spec_from_table

    raw = spec | {
        "robot": spec["robot"] | robot,
        "env": {"num_envs": 2, "physics_dt": 0.005, "decimation": 4},
        "actions": {"type": "joint_position", "scale": 0.25},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    env = WorkbenchEnv(spec_from_table(raw, usd.parent / "spec.toml"))
    for _ in range(round(seconds / env.step_dt)):
        env.step(torch.zeros(env.num_envs, env.num_actions))
    assert not bool(env.unstable.any()) and bool(torch.isfinite(env.dof_pos).all())
    return env


@pytest.mark.slow
def test_newton_holds_the_arm_bent_with_the_mjcf_gains_and_it_sags_without_them(imported):
    usd = imported["degree"]
    spec = tomllib.loads(spec_fragment(usd, usd.parent))
    bent = {"joint_pos": {"shoulder": 0.8, "elbow": -0.5}}  # gravity pulls the shoulder down, towards +90°
    env = _env(usd, spec, bent, 1.0)
    assert float((env.dof_pos - env.default_dof_pos).abs().max()) < 0.1, env.dof_pos
    spec["actuators"]["shoulder"]["stiffness"] = 0.5
    weak = _env(usd, spec, bent, 1.0)
    assert float(weak.dof_pos[:, 0].min()) > 0.8 + 0.3, weak.dof_pos


@pytest.mark.slow
def test_a_free_joint_comes_through_as_a_floating_base_that_drops_onto_its_leg(imported):
    usd = imported["walker"]
    art = inspect_scene(usd).find(None)
    assert art.root_path == "/walker/Geometry/torso" and not art.fixed_base and art.dof_names == ("hip",)
    (hip,) = art.joints
    assert (hip.lower, hip.upper) == pytest.approx((-math.pi / 3, math.pi / 3), abs=1e-5), "degrees by default"
    spec = tomllib.loads(spec_fragment(usd, usd.parent))
    assert spec["robot"]["base"] == "floating" and spec["actuators"]["hip"]["stiffness"] == 40.0
    assert tomllib.loads(spec_fragment(usd, usd.parent, floating_base=False))["robot"]["base"] == "fixed"
    env = _env(usd, spec, {"root_height": 0.5}, 1.0)
    # the torso's centre rests 0.05 (half box) + 0.3 (leg) + 0.03 (capsule radius) above the ground
    assert float((env.root_pos_w[:, 2] - 0.38).abs().max()) < 0.02, env.root_pos_w


def _cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "isaac.rl.workbench.frontends.cli", "import", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_the_command_imports_an_mjcf_file_and_suggests_a_floating_base_for_a_free_joint(tmp_path):
    (tmp_path / "walker.xml").write_text(WALKER)
    done = _cli(str(tmp_path / "walker.xml"), "-o", str(tmp_path / "walker"))
    assert done.returncode == 0, done.stderr
    assert "articulation /walker/Geometry/torso: floating base" in done.stdout
    assert "ready to train: 0 problem(s)" in done.stdout
    assert 'base = "floating"' in done.stdout and "[actuators.hip]" in done.stdout


MISSING_MESH = ARM.format(angle="degree", mesh="stl", shoulder="-90 90", elbow="-120 10")
UNKNOWN_ELEMENT = WALKER.replace("<freejoint", "<gizmo/><freejoint")


def test_a_missing_mesh_gets_one_line_and_exit_2_and_nothing_is_written(tmp_path):
    (tmp_path / "robot.xml").write_text(MISSING_MESH)
    done = _cli(str(tmp_path / "robot.xml"), "-o", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'robot.xml'}: mesh meshes/link.stl cannot be read: no such file"
    ], done.stderr
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".*importing")), "nothing is left behind"


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        (
            "robot.xml",
            MISSING_MESH.replace("link.stl", "link.dae"),
            "mesh meshes/link.dae cannot be read: not STL or OBJ",
        ),
        ("robot.mjcf", WALKER, "an MJCF file must end in .xml"),
        (
            "robot.xml",
            UNKNOWN_ELEMENT,
            "conversion failed: XML Error: Schema violation: unrecognized element; Element 'gizmo', line 5",
        ),
        ("robot.xml", WALKER.replace("</mujoco>", ""), "robot.xml: not an MJCF or URDF (not XML: no element found"),
        (
            "robot.xml",
            MISSING_MESH.replace('file="link.stl"', 'file="/etc/passwd"'),
            "<mesh name='link'>: file '/etc/passwd' is outside the robot's folder",
        ),
        (
            "robot.xml",
            MISSING_MESH.replace('meshdir="meshes"', 'meshdir="../../../../../../../../etc"'),
            "<mesh name='link'>: file 'link.stl' is outside the robot's folder",
        ),
        (
            "robot.xml",
            WALKER.replace("<worldbody>", '<include file="/etc/hosts"/><worldbody>'),
            "<include>: file '/etc/hosts' is outside the robot's folder",
        ),
        (
            "robot.xml",
            '<mujoco model="brick"><worldbody><body><geom type="box" size="0.1 0.1 0.1"/></body></worldbody></mujoco>',
            "robot.xml: converted, but not a robot to train: no articulation root",
        ),
    ],
    ids=[
        "collada mesh",
        "not .xml",
        "unknown element",
        "broken xml",
        "mesh outside",
        "meshdir outside",
        "include",
        "no joint",
    ],
)
def test_other_bad_input_is_named_in_one_line_and_nothing_is_written(tmp_path, name, content, says):
    (tmp_path / "meshes").mkdir()
    (tmp_path / "meshes" / "link.dae").write_text("<COLLADA/>")
    (tmp_path / name).write_text(content)
    with pytest.raises(RobotImportError, match=re.escape(says)) as caught:
        import_robot(tmp_path / name, tmp_path / "out")
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meshes", name], "nothing is left behind"


PADDLE = """<mujoco model="paddle">
  <worldbody>
    <body name="arm" pos="0 0 0.5">
      <joint name="swing" axis="0 1 0"/>
      <geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.03"/>
      <geom name="paddle" type="plane" size="0.1 0.1 0.01" pos="0 0 -0.3"/>
    </body>
  </worldbody>
</mujoco>
"""


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            PADDLE,
            "converted, but not a robot to train: body /paddle/Geometry/base/arm holds a plane (paddle); the physics "
            "accepts planes only on the world",
        ),
        (
            WALKER.replace(
                "</worldbody>",
                '<body name="ball" pos="1 0 1"><freejoint/><geom size="0.1"/>'
                '<body name="rod"><joint name="spin"/><geom size="0.05" pos="0 0 0.2"/></body></body></worldbody>',
            ),
            "converted, but not a robot to train: 2 articulations",
        ),
    ],
    ids=["plane on a body", "two robots"],
)
def test_a_robot_the_physics_refuses_gets_one_line_and_a_rerun_finds_nothing_left(tmp_path, content, says):
    (tmp_path / "robot.xml").write_text(content)
    done = _cli(str(tmp_path / "robot.xml"), "-o", str(tmp_path / "out" / "robot"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["robot.xml"], "nothing is left behind"
    (tmp_path / "robot.xml").write_text(WALKER)
    assert _cli(str(tmp_path / "robot.xml"), "-o", str(tmp_path / "out" / "robot")).returncode == 0, "a rerun works"


@pytest.mark.parametrize("existed", [False, True], ids=["new folder", "empty folder"])
def test_a_failure_after_the_conversion_leaves_the_output_as_it_was(tmp_path, monkeypatch, existed):
    from isaac.rl.workbench.frontends import cli
    from isaac.rl.workbench.scene import import_robot as module
    from isaac.rl.workbench.scene.inspect import SceneError

    def refuse(usd, *args, **kwargs):
        raise SceneError(f"{usd}: refused")

    monkeypatch.setattr(module, "spec_fragment", refuse)
    (tmp_path / "walker.xml").write_text(WALKER)
    out = tmp_path / "robots" / "walker"
    if existed:
        out.mkdir(parents=True)
    assert cli.main(["import", str(tmp_path / "walker.xml"), "-o", str(out)]) == 2
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == (["robots", "walker.xml"] if existed else ["walker.xml"]), "the folders the import made are gone"
    assert not existed or list(out.iterdir()) == [], "an empty output folder stays, empty"


def test_unnamed_bodies_and_joints_get_names_a_spec_can_tell_apart(tmp_path):
    legs = "".join(f'<body pos="{x} 0 0"><joint/><geom size="0.05"/></body>' for x in (0.1, -0.1, 0.2, -0.2))
    (tmp_path / "robot.xml").write_text(WALKER.replace('<body name="leg"', f'{legs}<body name="leg"'))
    art = inspect_scene(import_robot(tmp_path / "robot.xml", tmp_path / "out")).find(None)
    assert not art.duplicate_names and len(art.dof_names) == 5
    assert [b.rsplit("/", 1)[-1] for b in art.bodies][1:5] == [
        "torso_body",
        "torso_body_2",
        "torso_body_3",
        "torso_body_4",
    ]


TWO_JOINT_ARM = ARM.replace('<joint name="shoulder"', '<joint name="shoulder_yaw" axis="0 0 1"/><joint name="shoulder"')


def test_a_rewritten_mjcf_still_finds_its_meshes_and_reports_its_own_lines(tmp_path):
    """The rewritten copy lives elsewhere: its meshes resolve from the MJCF's folder, a missing mesh is named as
    the MJCF names it, and a schema error gives the line of the file as written."""
    source = _write_arm(tmp_path / "arm", "degree")
    source.write_text(TWO_JOINT_ARM.format(angle="degree", mesh="stl", shoulder="-90 90", elbow="-120 10"))
    art = inspect_scene(import_robot(source, tmp_path / "out")).find(None)
    assert art.dof_names == ("shoulder_yaw", "shoulder", "elbow")
    assert (tmp_path / "out" / "Payload" / "GeometryLibrary.usdc").is_file(), "the mesh is converted"
    (tmp_path / "arm" / "meshes" / "link.stl").unlink()
    with pytest.raises(RobotImportError, match=re.escape("mesh meshes/link.stl cannot be read: no such file")):
        import_robot(source, tmp_path / "out2")
    header = "<!-- a comment of three lines,\n  which the rewritten copy does not keep,\n  before the model -->\n"
    source.write_text(header + source.read_text().replace('<joint name="elbow"', '<gizmo/><joint name="elbow"'))
    with pytest.raises(RobotImportError, match="unrecognized element; Element 'gizmo', line 14"):
        import_robot(source, tmp_path / "out3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arm", "out"], "nothing is left behind"
