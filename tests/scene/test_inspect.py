"""scene.inspect on small stages authored here with pxr: roots, base type, joint order, units, drives, errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from isaac.rl.workbench.scene.inspect import SceneError, format_scene, inspect_scene
from pxr import Gf, Usd, UsdGeom, UsdPhysics


def _new_stage(path: Path, meters_per_unit: float = 1.0) -> Usd.Stage:
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, meters_per_unit)
    return stage


def _body(stage: Usd.Stage, path: str, z: float = 0.0) -> str:
    xform = UsdGeom.Xform.Define(stage, path)
    xform.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, z))
    UsdPhysics.RigidBodyAPI.Apply(xform.GetPrim())
    return path


def _joint(stage: Usd.Stage, schema, path: str, body0: str | None, body1: str, **attrs) -> Usd.Prim:
    joint = schema.Define(stage, path)
    if body0:
        joint.CreateBody0Rel().SetTargets([body0])
    joint.CreateBody1Rel().SetTargets([body1])
    for name, value in attrs.items():
        getattr(joint, f"Create{name}Attr")(value)
    return joint.GetPrim()


def _drive(prim: Usd.Prim, instance: str, stiffness: float, damping: float, max_force: float | None) -> None:
    drive = UsdPhysics.DriveAPI.Apply(prim, instance)
    drive.CreateStiffnessAttr(stiffness)
    drive.CreateDampingAttr(damping)
    if max_force is not None:
        drive.CreateMaxForceAttr(max_force)


def _write_arm(path: Path) -> Path:
    """Fixed-base 3-joint arm; joints live outside the root and are authored child-first."""
    stage = _new_stage(path)
    UsdPhysics.ArticulationRootAPI.Apply(UsdGeom.Xform.Define(stage, "/arm").GetPrim())
    base, upper, fore, hand = (
        _body(stage, f"/arm/{n}", z) for n, z in [("base", 0), ("upper", 1), ("fore", 2), ("hand", 3)]
    )
    UsdGeom.Scope.Define(stage, "/joints")
    wrist = _joint(
        stage, UsdPhysics.RevoluteJoint, "/joints/wrist", fore, hand, Axis="X", LowerLimit=-45, UpperLimit=45
    )
    elbow = _joint(
        stage, UsdPhysics.RevoluteJoint, "/joints/elbow", upper, fore, Axis="Y", LowerLimit=0, UpperLimit=150
    )
    shoulder = _joint(stage, UsdPhysics.RevoluteJoint, "/joints/shoulder", base, upper, Axis="Z")
    shoulder.GetAttribute("physics:lowerLimit").Set(-90.0)
    shoulder.GetAttribute("physics:upperLimit").Set(90.0)
    _drive(shoulder, "angular", stiffness=math.radians(400.0), damping=math.radians(40.0), max_force=80.0)
    _drive(elbow, "angular", stiffness=0.0, damping=0.0, max_force=None)
    _drive(wrist, "angular", stiffness=math.radians(10.0), damping=math.radians(1.0), max_force=5.0)
    _joint(stage, UsdPhysics.FixedJoint, "/joints/anchor", None, base)
    excluded = _joint(stage, UsdPhysics.FixedJoint, "/joints/loop", base, hand)
    UsdPhysics.Joint(excluded).CreateExcludeFromArticulationAttr(True)
    stage.Save()
    return path


def test_fixed_base_arm_limits_in_radians_and_drives_per_radian(tmp_path):
    arm = inspect_scene(_write_arm(tmp_path / "arm.usda")).find(None)
    assert arm.root_path == "/arm"
    assert arm.fixed_base
    assert [j.name for j in arm.joints] == ["anchor", "shoulder", "elbow", "wrist"]
    assert arm.dof_names == ("shoulder", "elbow", "wrist")
    assert arm.bodies == ("/arm/base", "/arm/upper", "/arm/fore", "/arm/hand")
    anchor, shoulder, elbow, wrist = arm.joints
    assert (anchor.type, anchor.num_dofs, anchor.body0, anchor.body1) == ("fixed", 0, "", "/arm/base")
    assert (shoulder.type, shoulder.axis, shoulder.num_dofs) == ("revolute", "Z", 1)
    assert (shoulder.body0, shoulder.body1) == ("/arm/base", "/arm/upper")
    assert shoulder.lower == pytest.approx(-math.pi / 2) and shoulder.upper == pytest.approx(math.pi / 2)
    assert elbow.lower == pytest.approx(0.0) and elbow.upper == pytest.approx(math.radians(150))
    assert wrist.axis == "X" and wrist.upper == pytest.approx(math.pi / 4)
    assert shoulder.drive.type == "force"
    assert shoulder.drive.stiffness == pytest.approx(400.0, rel=1e-5)  # authored per degree, reported per radian
    assert shoulder.drive.damping == pytest.approx(40.0, rel=1e-5)
    assert shoulder.drive.max_force == pytest.approx(80.0)
    assert elbow.drive.max_force == math.inf
    assert wrist.drive.stiffness == pytest.approx(10.0, rel=1e-5) and wrist.drive.max_force == pytest.approx(5.0)


def test_format_scene_reports_joints_limits_drives_and_bodies(tmp_path):
    report = format_scene(inspect_scene(_write_arm(tmp_path / "arm.usda")))
    assert "articulation /arm: fixed base" in report
    assert "joint shoulder (/joints/shoulder): revolute, axis Z" in report
    assert "-90 .. 90 deg" in report
    # every number with its unit; an angular gain also as USD authors it (per degree: a 57x trap otherwise)
    assert "stiffness 400 N·m/rad (6.98132 N·m/deg in USD), damping 40 N·m·s/rad (0.698132 N·m·s/deg in USD)" in report
    assert "max force 80 N·m" in report and "max force unlimited" in report
    assert "world -> /arm/base" in report
    assert "bodies: /arm/base, /arm/upper, /arm/fore, /arm/hand" in report


def test_floating_base_robot_with_root_on_torso(tmp_path):
    stage = _new_stage(tmp_path / "bug.usda")
    UsdGeom.Xform.Define(stage, "/bug")
    torso = _body(stage, "/bug/torso", 0.5)
    UsdPhysics.ArticulationRootAPI.Apply(stage.GetPrimAtPath(torso))
    for leg in ("front_left", "front_right", "back_left", "back_right"):
        foot = _body(stage, f"/bug/{leg}", 0.2)
        _joint(stage, UsdPhysics.RevoluteJoint, f"/bug/{leg}_hip", torso, foot, Axis="Y", LowerLimit=-30, UpperLimit=30)
    stage.Save()
    bug = inspect_scene(tmp_path / "bug.usda").find("/bug/torso")
    assert not bug.fixed_base
    assert bug.dof_names == ("front_left_hip", "front_right_hip", "back_left_hip", "back_right_hip")
    assert bug.bodies[0] == "/bug/torso" and len(bug.bodies) == 5


def test_root_on_fixed_joint_and_prismatic_limits_in_metres(tmp_path):
    stage = _new_stage(tmp_path / "rig.usda", meters_per_unit=0.01)
    base, carriage = _body(stage, "/rig/base"), _body(stage, "/rig/carriage")
    anchor = _joint(stage, UsdPhysics.FixedJoint, "/rig/anchor", None, base)
    UsdPhysics.ArticulationRootAPI.Apply(anchor)
    slide = _joint(
        stage, UsdPhysics.PrismaticJoint, "/rig/slide", base, carriage, Axis="Z", LowerLimit=-50, UpperLimit=50
    )
    _drive(slide, "linear", stiffness=5.0, damping=1.0, max_force=20.0)
    stage.Save()
    info = inspect_scene(tmp_path / "rig.usda")
    assert info.meters_per_unit == pytest.approx(0.01)
    rig = info.find(None)
    assert rig.root_path == "/rig/anchor" and rig.fixed_base
    assert [j.name for j in rig.joints] == ["anchor", "slide"]
    slide_info = rig.joints[1]
    assert (slide_info.type, slide_info.axis) == ("prismatic", "Z")
    assert (slide_info.lower, slide_info.upper) == (pytest.approx(-0.5), pytest.approx(0.5))
    assert slide_info.drive.stiffness == pytest.approx(5.0) and slide_info.drive.max_force == pytest.approx(20.0)
    assert "stiffness 5 N/stage unit (0.01 m), damping 1 N·s/stage unit (0.01 m), max force 20 N" in format_scene(info)


def test_joint_order_is_parent_before_child_for_a_branching_tree(tmp_path):
    stage = _new_stage(tmp_path / "tree.usda")
    UsdPhysics.ArticulationRootAPI.Apply(UsdGeom.Xform.Define(stage, "/tree").GetPrim())
    for name in ("trunk", "left", "left_tip", "right", "right_tip"):
        _body(stage, f"/tree/{name}")
    # authored leaves first; traversal must still reach each child through its parent
    _joint(stage, UsdPhysics.RevoluteJoint, "/tree/j_right_tip", "/tree/right", "/tree/right_tip")
    _joint(stage, UsdPhysics.RevoluteJoint, "/tree/j_left_tip", "/tree/left", "/tree/left_tip")
    _joint(stage, UsdPhysics.RevoluteJoint, "/tree/j_right", "/tree/trunk", "/tree/right")
    _joint(stage, UsdPhysics.RevoluteJoint, "/tree/j_left", "/tree/trunk", "/tree/left")
    _joint(stage, UsdPhysics.FixedJoint, "/tree/j_ground", None, "/tree/trunk")
    stage.Save()
    tree = inspect_scene(tmp_path / "tree.usda").find(None)
    names = [j.name for j in tree.joints]
    assert names == ["j_ground", "j_right", "j_right_tip", "j_left", "j_left_tip"]
    position = {body: i for i, body in enumerate(tree.bodies)}
    for joint in tree.joints[1:]:
        assert position[joint.body0] < position[joint.body1]


def _write_two_arms(path: Path) -> Path:
    stage = _new_stage(path)
    for root in ("/a", "/b"):
        UsdPhysics.ArticulationRootAPI.Apply(UsdGeom.Xform.Define(stage, root).GetPrim())
        base, link = _body(stage, f"{root}/base"), _body(stage, f"{root}/link", 1.0)
        _joint(stage, UsdPhysics.FixedJoint, f"{root}/anchor", None, base)
        _joint(stage, UsdPhysics.RevoluteJoint, f"{root}/hinge", base, link, Axis="X")
    stage.Save()
    return path


def test_two_articulations_found_and_selected_by_root(tmp_path):
    file = _write_two_arms(tmp_path / "two.usda")
    info = inspect_scene(file)
    assert [a.root_path for a in info.articulations] == ["/a", "/b"]
    assert info.find("/b").bodies == ("/b/base", "/b/link")
    with pytest.raises(SceneError) as several:
        info.find(None)
    assert str(file) in str(several.value) and "/a" in str(several.value) and "/b" in str(several.value)
    with pytest.raises(SceneError) as unknown:
        info.find("/nope")
    message = str(unknown.value)
    assert str(file) in message and "/nope" in message and "/a, /b" in message


def test_missing_file(tmp_path):
    file = tmp_path / "missing.usda"
    with pytest.raises(SceneError, match="no such file") as error:
        inspect_scene(file)
    assert str(error.value).startswith(str(file))


@pytest.mark.parametrize(("name", "content"), [("x.usda", b"\x00\x9f\xffnot usd\x80"), ("x.usd", b"hello, world\n")])
def test_not_a_usd_file(tmp_path, name, content):
    file = tmp_path / name
    file.write_bytes(content)
    with pytest.raises(SceneError, match="not a USD file") as error:
        inspect_scene(file)
    assert str(error.value).startswith(str(file)) and "\n" not in str(error.value)


def test_no_articulation_root(tmp_path):
    stage = _new_stage(tmp_path / "loose.usda")
    _body(stage, "/box")
    stage.Save()
    with pytest.raises(SceneError) as error:
        inspect_scene(tmp_path / "loose.usda")
    message = str(error.value)
    assert message.startswith(str(tmp_path / "loose.usda"))
    assert "no articulation root (UsdPhysics.ArticulationRootAPI)" in message and "RigidBodyAPI: 1" in message
