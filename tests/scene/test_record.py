"""UsdRecorder on a two-body robot authored here with pxr: time samples, world poses, env offsets, physics off."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from isaac.rl.workbench.scene.record import UsdRecorder
from pxr import Gf, Usd, UsdGeom, UsdPhysics

NUM_ENVS, NUM_FRAMES, SPACING, FPS = 2, 5, 3.0, 30.0
BODIES = ["/robot/base", "/elsewhere/prop", "/robot/arm"]  # the prop is outside the articulation root


def _scene(path: Path) -> Path:
    """/robot (articulation root, translated) with rigid bodies base and arm (a Cube each) and a revolute joint."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 0.5)
    robot = UsdGeom.Xform.Define(stage, "/robot")
    robot.AddTranslateOp().Set(Gf.Vec3d(10.0, 20.0, 30.0))
    UsdPhysics.ArticulationRootAPI.Apply(robot.GetPrim())
    for name, z in (("base", 0.5), ("arm", 1.5)):
        body = UsdGeom.Xform.Define(stage, f"/robot/{name}")
        body.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, z))
        body.AddOrientOp().Set(Gf.Quatf(1.0, 0.0, 0.0, 0.0))
        UsdPhysics.RigidBodyAPI.Apply(body.GetPrim())
        UsdPhysics.CollisionAPI.Apply(UsdGeom.Cube.Define(stage, f"/robot/{name}/box").GetPrim())
    joint = UsdPhysics.RevoluteJoint.Define(stage, "/robot/hinge")
    joint.CreateBody0Rel().SetTargets(["/robot/base"])
    joint.CreateBody1Rel().SetTargets(["/robot/arm"])
    UsdGeom.Xform.Define(stage, "/elsewhere/prop")
    stage.GetRootLayer().Save()
    return path


def _pose(env: int, body: int, frame: int) -> list[float]:
    """A distinct pose per (env, body, frame): position and a unit quaternion (qx, qy, qz, qw) about a tilted axis."""
    angle = 0.3 + 0.2 * frame + 0.5 * env + 0.1 * body
    axis = Gf.Vec3d(1.0, 2.0, 2.0) / 3.0
    s, c = math.sin(angle / 2.0), math.cos(angle / 2.0)
    return [0.1 * frame + env, 0.2 * body - 0.3, 1.0 + 0.05 * frame, axis[0] * s, axis[1] * s, axis[2] * s, c]


def _record(tmp_path: Path, out_name: str = "rollout.usda") -> tuple[Path, Path]:
    scene = _scene(tmp_path / "scene.usda")
    recorder = UsdRecorder(scene, "/robot", BODIES, NUM_ENVS, SPACING, FPS)
    for frame in range(NUM_FRAMES):
        poses = [[_pose(env, body, frame) for body in range(len(BODIES))] for env in range(NUM_ENVS)]
        recorder.add_frame(torch.tensor(poses, dtype=torch.float32))
    assert recorder.num_frames == NUM_FRAMES
    return scene, recorder.save(tmp_path / "out" / out_name)


def _expected_matrix(env: int, body: int, frame: int, up_axis: str = "Z") -> Gf.Matrix4d:
    """Recorded pose plus the env offset: along +Y on a Z-up stage, along +X on a Y-up stage."""
    x, y, z, qx, qy, qz, qw = _pose(env, body, frame)
    rotation = Gf.Rotation(Gf.Quatd(qw, qx, qy, qz))
    offset = Gf.Vec3d(env * SPACING, 0.0, 0.0) if up_axis == "Y" else Gf.Vec3d(0.0, env * SPACING, 0.0)
    return Gf.Matrix4d().SetTransform(rotation, Gf.Vec3d(x, y, z) + offset)


def _assert_matrix_close(actual: Gf.Matrix4d, expected: Gf.Matrix4d, tol: float = 1e-5) -> None:
    for row in range(4):
        for col in range(4):
            assert actual[row][col] == pytest.approx(expected[row][col], abs=tol), (row, col)


def test_recording_plays_the_recorded_world_poses(tmp_path: Path) -> None:
    _, out = _record(tmp_path)
    stage = Usd.Stage.Open(str(out))
    assert stage.GetStartTimeCode() == 0.0 and stage.GetEndTimeCode() == NUM_FRAMES - 1
    assert stage.GetTimeCodesPerSecond() == FPS and stage.GetFramesPerSecond() == FPS
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z and UsdGeom.GetStageMetersPerUnit(stage) == 0.5

    for env in range(NUM_ENVS):
        for body, name in ((0, "base"), (2, "arm")):
            prim = stage.GetPrimAtPath(f"/World/env_{env}/{name}")
            assert prim.IsValid() and prim.GetChild("box").IsValid()  # the reference brings the geometry
            xformable = UsdGeom.Xformable(prim)
            assert xformable.GetResetXformStack()
            for op in xformable.GetOrderedXformOps():
                assert op.GetTimeSamples() == [float(frame) for frame in range(NUM_FRAMES)]
            for frame in range(NUM_FRAMES):
                world = xformable.ComputeLocalToWorldTransform(Usd.TimeCode(frame))
                _assert_matrix_close(world, _expected_matrix(env, body, frame))

    arm = UsdGeom.Xformable(stage.GetPrimAtPath("/World/env_1/arm"))
    world = arm.ComputeLocalToWorldTransform(Usd.TimeCode(3))
    x, y, z, qx, qy, qz, qw = _pose(1, 2, 3)
    assert world.ExtractTranslation() == pytest.approx((x, y + SPACING, z), abs=1e-6)
    quat = world.ExtractRotationQuat()
    assert abs(quat.GetReal() * qw + Gf.Dot(quat.GetImaginary(), Gf.Vec3d(qx, qy, qz))) == pytest.approx(1, abs=1e-6)
    assert not stage.GetPrimAtPath("/World/env_0/prop").IsValid()


def test_env_offsets_keep_the_root_transform(tmp_path: Path) -> None:
    _, out = _record(tmp_path)
    stage = Usd.Stage.Open(str(out))
    for env in range(NUM_ENVS):
        root = UsdGeom.Xformable(stage.GetPrimAtPath(f"/World/env_{env}"))
        translation = root.ComputeLocalToWorldTransform(Usd.TimeCode.Default()).ExtractTranslation()
        assert translation == pytest.approx((10.0, 20.0 + env * SPACING, 30.0))


def test_physics_is_switched_off_in_the_recording(tmp_path: Path) -> None:
    scene, out = _record(tmp_path, "rollout.usdc")
    stage = Usd.Stage.Open(str(out))
    for env in range(NUM_ENVS):
        assert not stage.GetPrimAtPath(f"/World/env_{env}").HasAPI(UsdPhysics.ArticulationRootAPI)
        for name in ("base", "arm"):
            body = UsdPhysics.RigidBodyAPI(stage.GetPrimAtPath(f"/World/env_{env}/{name}"))
            assert body.GetRigidBodyEnabledAttr().Get() is False
        assert UsdPhysics.Joint(stage.GetPrimAtPath(f"/World/env_{env}/hinge")).GetJointEnabledAttr().Get() is False
    # the scene itself is untouched
    source = Usd.Stage.Open(str(scene))
    assert source.GetPrimAtPath("/robot").HasAPI(UsdPhysics.ArticulationRootAPI)
    assert UsdPhysics.RigidBodyAPI(source.GetPrimAtPath("/robot/arm")).GetRigidBodyEnabledAttr().Get() is True
    assert [path.name for path in out.parent.iterdir()] == ["rollout.usdc"]  # no temporary files left


def test_recorder_rejects_bad_input(tmp_path: Path) -> None:
    scene = _scene(tmp_path / "scene.usda")
    with pytest.raises(ValueError, match="articulation root"):
        UsdRecorder(scene, "/nothing", BODIES, NUM_ENVS, SPACING, FPS)
    with pytest.raises(ValueError, match="/robot/ghost"):
        UsdRecorder(scene, "/robot", ["/robot/ghost"], NUM_ENVS, SPACING, FPS)
    recorder = UsdRecorder(scene, "/robot", BODIES, NUM_ENVS, SPACING, FPS)
    with pytest.raises(ValueError, match="no frames"):
        recorder.save(tmp_path / "empty.usda")
    with pytest.raises(ValueError, match="shape"):
        recorder.add_frame(torch.zeros(NUM_ENVS, 2, 7))


def _body_root_scene_y_up(scene: Path) -> Path:
    """A Y-up scene whose articulation root is itself a body, /base, with one more body, /base/arm."""
    stage = Usd.Stage.CreateNew(str(scene))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    base = UsdGeom.Xform.Define(stage, "/base")
    UsdPhysics.ArticulationRootAPI.Apply(base.GetPrim())
    UsdPhysics.RigidBodyAPI.Apply(base.GetPrim())
    UsdPhysics.RigidBodyAPI.Apply(UsdGeom.Xform.Define(stage, "/base/arm").GetPrim())
    stage.GetRootLayer().Save()
    return scene


def test_articulation_root_that_is_a_body_on_a_y_up_stage(tmp_path: Path) -> None:
    scene = tmp_path / "scene.usda"
    _body_root_scene_y_up(scene)

    recorder = UsdRecorder(scene, "/base", ["/base", "/base/arm"], NUM_ENVS, SPACING, FPS)
    for frame in range(NUM_FRAMES):
        poses = [[_pose(env, body, frame) for body in range(2)] for env in range(NUM_ENVS)]
        recorder.add_frame(torch.tensor(poses, dtype=torch.float64))
    out = Usd.Stage.Open(str(recorder.save(tmp_path / "rollout.usda")))
    for env in range(NUM_ENVS):
        for body, path in ((0, f"/World/env_{env}"), (1, f"/World/env_{env}/arm")):
            xformable = UsdGeom.Xformable(out.GetPrimAtPath(path))
            world = xformable.ComputeLocalToWorldTransform(Usd.TimeCode(2))
            _assert_matrix_close(world, _expected_matrix(env, body, 2, up_axis="Y"))
        assert UsdPhysics.RigidBodyAPI(out.GetPrimAtPath(f"/World/env_{env}")).GetRigidBodyEnabledAttr().Get() is False


def test_saving_prints_no_usd_warning_whatever_the_current_folder(tmp_path: Path, monkeypatch, capfd) -> None:
    """The relative scene reference resolves from the recording's folder, never from the current folder: saving
    from an unrelated folder prints no "Could not open asset" warning (one per env, before this was fixed)."""
    elsewhere = tmp_path / "a" / "b" / "c"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    _, out = _record(tmp_path)
    err = capfd.readouterr().err
    assert "Could not open asset" not in err and "Warning" not in err, err
    assert Usd.Stage.Open(str(out)).GetPrimAtPath("/World/env_0/arm").IsValid()


def test_command_markers_follow_their_targets_frame_by_frame(tmp_path: Path) -> None:
    scene = _scene(tmp_path / "robot.usda")
    recorder = UsdRecorder(scene, "/robot", BODIES, NUM_ENVS, SPACING, FPS)
    poses = torch.zeros(NUM_ENVS, len(BODIES), 7)
    poses[..., 6] = 1.0
    for frame in range(NUM_FRAMES):
        goal = torch.tensor([[0.5, 0.0, 0.2 + 0.1 * frame], [0.4, -0.1, 0.3]])
        recorder.add_frame(poses, {"position:goal": goal, "velocity:walk": goal + 1.0})
    stage = Usd.Stage.Open(str(recorder.save(tmp_path / "rec.usda")))
    goal_1 = UsdGeom.Xformable(stage.GetPrimAtPath("/World/markers/goal_1"))
    at = goal_1.ComputeLocalToWorldTransform(Usd.TimeCode(3)).ExtractTranslation()
    assert tuple(at) == pytest.approx((0.4, -0.1 + SPACING, 0.3))  # env 1 sits one spacing along +Y
    goal_0 = UsdGeom.Xformable(stage.GetPrimAtPath("/World/markers/goal_0"))
    heights = [goal_0.ComputeLocalToWorldTransform(Usd.TimeCode(f)).ExtractTranslation()[2] for f in range(NUM_FRAMES)]
    assert heights == pytest.approx([0.2, 0.3, 0.4, 0.5, 0.6])
    green, blue = (UsdGeom.Sphere(stage.GetPrimAtPath(f"/World/markers/{n}_0")) for n in ("goal", "walk"))
    assert green.GetDisplayColorAttr().Get()[0][1] > 0.5 and blue.GetDisplayColorAttr().Get()[0][2] > 0.5
