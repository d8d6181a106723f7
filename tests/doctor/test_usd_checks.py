"""``doctor``: the check-up a robot gets before training. Our own robots pass; robots broken on purpose (written
here with pxr) get a problem that names the prim and says the fix, and the command exits 1."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from isaac.rl.workbench.doctor.usd_checks import check_robot
from pxr import Gf, Usd, UsdGeom, UsdPhysics

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "usd"


def _robot(path: Path, mass: float | None = 2.0, inertia=(0.1, 0.1, 0.1), collider: bool = True, drive: bool = True):
    """A two-link arm: /arm/base welded to the world, /arm/link on a revolute joint; the link's mass, inertia,
    collider and drive as asked."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdPhysics.ArticulationRootAPI.Apply(UsdGeom.Xform.Define(stage, "/arm").GetPrim())
    for name, z in (("base", 0.0), ("link", 0.5)):
        body = UsdGeom.Xform.Define(stage, f"/arm/{name}")
        body.AddTranslateOp().Set(Gf.Vec3d(0, 0, z))
        UsdPhysics.RigidBodyAPI.Apply(body.GetPrim())
        if name == "base" or collider:
            UsdPhysics.CollisionAPI.Apply(UsdGeom.Cube.Define(stage, f"/arm/{name}/box").GetPrim())
        if name == "link" and (mass is not None or inertia is not None):
            api = UsdPhysics.MassAPI.Apply(body.GetPrim())
            if mass is not None:
                api.CreateMassAttr(mass)
            if inertia is not None:
                api.CreateDiagonalInertiaAttr(Gf.Vec3f(*inertia))
    weld = UsdPhysics.FixedJoint.Define(stage, "/arm/weld")
    weld.CreateBody1Rel().SetTargets(["/arm/base"])
    hinge = UsdPhysics.RevoluteJoint.Define(stage, "/arm/hinge")
    hinge.CreateBody0Rel().SetTargets(["/arm/base"])
    hinge.CreateBody1Rel().SetTargets(["/arm/link"])
    hinge.CreateAxisAttr("Y")
    hinge.CreateLowerLimitAttr(-90.0)
    hinge.CreateUpperLimitAttr(90.0)
    if drive:
        UsdPhysics.DriveAPI.Apply(hinge.GetPrim(), "angular").CreateStiffnessAttr(10.0)
    stage.Save()
    return path


def _levels(findings, check: str) -> list[str]:
    return [f.level for f in findings if f.check == check]


def test_a_sound_robot_has_no_problem(tmp_path):
    findings = check_robot(_robot(tmp_path / "arm.usda"))
    assert not [f for f in findings if f.level != "ok"], findings
    assert any("fixed base" in f.message for f in findings if f.check == "base")


@pytest.mark.parametrize("scene", ["cartpole.usda", "ant.usda"])
def test_our_robots_pass(scene):
    assert not [f for f in check_robot(ASSETS / scene) if f.level == "problem"]


@pytest.mark.parametrize(
    ("broken", "check", "says"),
    [
        ({"mass": None, "inertia": None, "collider": False}, "mass", "no mass and no collision shape"),
        ({"mass": -1.0}, "mass", "mass -1.0 kg"),
        ({"mass": math.nan}, "mass", "mass nan kg"),
        ({"inertia": (math.nan, 0.1, 0.1)}, "inertia", "each must be >= 0 and finite"),
        ({"inertia": (-0.1, 0.1, 0.1)}, "inertia", "each must be >= 0 and finite"),
    ],
)
def test_a_broken_link_is_a_problem_naming_it(tmp_path, broken, check, says):
    findings = check_robot(_robot(tmp_path / "arm.usda", **broken))
    problem = next(f for f in findings if f.level == "problem")
    assert problem.check == check and "/arm/link" in problem.message and says in problem.message, findings


@pytest.mark.parametrize(
    ("inertia", "says"),
    [
        ((1.0, 0.1, 0.1), "is not physical (a moment exceeds the sum of the other two); Newton corrects it"),
        ((-3e-19, 3e-19, 0.003), "is negative by rounding; Newton corrects it"),  # ANYmal C's hatch
    ],
)
def test_an_inertia_newton_corrects_is_a_warning_and_the_robot_is_ready(tmp_path, inertia, says):
    findings = check_robot(_robot(tmp_path / "arm.usda", inertia=inertia))
    (finding,) = [f for f in findings if f.check == "inertia"]
    assert finding.level == "warning" and "/arm/link" in finding.message and says in finding.message, finding
    assert not [f for f in findings if f.level == "problem"], findings


def test_a_joint_with_neither_drive_nor_actuator_is_flagged_unless_a_spec_actuates_it(tmp_path):
    scene = _robot(tmp_path / "arm.usda", drive=False)
    warning = next(f for f in check_robot(scene) if f.check == "drives")
    assert warning.level == "warning" and "/arm/hinge: no drive" in warning.message and "[actuators" in warning.message
    assert _levels(check_robot(scene, actuated={"hinge"}), "drives") == ["ok"]


def test_a_link_without_collider_is_a_warning(tmp_path):
    findings = check_robot(_robot(tmp_path / "arm.usda", collider=False))
    assert _levels(findings, "collisions") == ["warning"]


def test_the_command_exits_1_on_a_problem_and_0_when_ready(tmp_path):
    def doctor(target) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "isaac.rl.workbench.frontends.cli", "doctor", str(target)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    bad = doctor(_robot(tmp_path / "bad.usda", mass=-1.0))
    assert bad.returncode == 1 and "not ready to train: 1 problem(s)" in bad.stdout, bad.stdout + bad.stderr
    fragment = bad.stdout.split("A spec to start from")[1]  # a scene's check ends with a spec to start from
    assert 'scene = "' in fragment and "[robot]" in fragment and "[actuators." in fragment, bad.stdout
    good = doctor("cartpole")
    assert good.returncode == 0 and "ready to train" in good.stdout, good.stdout + good.stderr
    missing = doctor(tmp_path / "none.usda")
    assert missing.returncode == 2 and "none.usda: no such file" in missing.stderr
