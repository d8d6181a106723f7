"""scene.geometry on the shipped cartpole and ant and on a small stage authored here: body frames, sizes, colours."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from isaac.rl.workbench.scene.geometry import DEFAULT_COLOR, articulation_meshes, body_rest_poses
from pxr import Gf, Usd, UsdGeom, UsdPhysics

REPO = Path(__file__).resolve().parents[2]
CARTPOLE = REPO / "assets" / "usd" / "cartpole.usda"
ANT = REPO / "assets" / "usd" / "ant.usda"
_AXIS = {"X": 0, "Y": 1, "Z": 2}


def _bounds(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return vertices.min(axis=0), vertices.max(axis=0)


def test_cartpole_meshes_are_the_scaled_cubes_of_its_three_bodies() -> None:
    meshes = {mesh.body_path: mesh for mesh in articulation_meshes(CARTPOLE, "/cartpole")}
    assert sorted(meshes) == ["/cartpole/cart", "/cartpole/pole", "/cartpole/rail"]  # rail: a body on a fixed joint

    cart = meshes["/cartpole/cart"]
    assert cart.name == "/cartpole/cart/box"
    assert cart.vertices.dtype == np.float32 and cart.vertices.shape[1] == 3
    assert cart.faces.dtype == np.uint32 and cart.faces.shape == (12, 3)
    low, high = _bounds(cart.vertices)
    np.testing.assert_allclose(low, [-0.2, -0.15, -0.1], atol=1e-6)
    np.testing.assert_allclose(high, [0.2, 0.15, 0.1], atol=1e-6)
    low, high = _bounds(meshes["/cartpole/pole"].vertices)  # the box is offset by 0.5 along the pole
    np.testing.assert_allclose(low, [-0.02, -0.02, 0.0], atol=1e-6)
    np.testing.assert_allclose(high, [0.02, 0.02, 1.0], atol=1e-6)

    assert cart.color == pytest.approx((0.15, 0.45, 0.8), abs=1e-6)
    assert meshes["/cartpole/pole"].color == pytest.approx((0.9, 0.55, 0.1), abs=1e-6)
    assert meshes["/cartpole/rail"].color == pytest.approx((0.35, 0.35, 0.38), abs=1e-6)


def test_only_the_named_bodies() -> None:
    meshes = articulation_meshes(CARTPOLE, "/cartpole", ["/cartpole/pole"])
    assert [mesh.name for mesh in meshes] == ["/cartpole/pole/box"]
    assert articulation_meshes(CARTPOLE, "/cartpole", []) == []


def test_ant_capsules_lie_along_their_authored_axis() -> None:
    stage = Usd.Stage.Open(str(ANT))
    meshes = articulation_meshes(ANT, "/ant")
    capsules = [mesh for mesh in meshes if stage.GetPrimAtPath(mesh.name).IsA(UsdGeom.Capsule)]
    assert len(capsules) == 8 and len(meshes) == 9  # 4 legs of 2 capsules, and the torso sphere
    for mesh in capsules:
        capsule = UsdGeom.Capsule(stage.GetPrimAtPath(mesh.name))
        axis = _AXIS[capsule.GetAxisAttr().Get()]
        height, radius = capsule.GetHeightAttr().Get(), capsule.GetRadiusAttr().Get()
        centre = np.array(capsule.GetPrim().GetAttribute("xformOp:translate").Get())
        half = np.full(3, radius)
        half[axis] = height / 2.0 + radius
        low, high = _bounds(mesh.vertices)
        np.testing.assert_allclose(low, centre - half, atol=1e-5, err_msg=mesh.name)
        np.testing.assert_allclose(high, centre + half, atol=1e-5, err_msg=mesh.name)
    torso = next(mesh for mesh in meshes if mesh.body_path == "/ant/torso")
    np.testing.assert_allclose(np.linalg.norm(torso.vertices, axis=1), 0.25, atol=1e-6)


def _quat_about(axis: Gf.Vec3d, degrees: float) -> Gf.Quatf:
    return Gf.Quatf(Gf.Rotation(axis, degrees).GetQuat())


def _hand_scene(path: Path) -> Path:
    """/root/body: translated (1, 2, 3), turned 90 deg about Z, scaled 2, holding an off-centre, turned, scaled Cube,
    a Mesh of a quad and a triangle, a guide and an invisible sphere, and a child body with a Sphere; a Cube under
    the root outside any body."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdPhysics.ArticulationRootAPI.Apply(UsdGeom.Xform.Define(stage, "/root").GetPrim())
    body = UsdGeom.Xform.Define(stage, "/root/body")
    body.AddTranslateOp().Set(Gf.Vec3d(1.0, 2.0, 3.0))
    body.AddOrientOp().Set(_quat_about(Gf.Vec3d(0, 0, 1), 90.0))
    body.AddScaleOp().Set(Gf.Vec3f(2.0, 2.0, 2.0))
    UsdPhysics.RigidBodyAPI.Apply(body.GetPrim())

    cube = UsdGeom.Cube.Define(stage, "/root/body/cube")
    cube.CreateSizeAttr(1.0)
    cube.AddTranslateOp().Set(Gf.Vec3d(0.5, 0.0, 0.0))
    cube.AddOrientOp().Set(_quat_about(Gf.Vec3d(1, 0, 0), 90.0))
    cube.AddScaleOp().Set(Gf.Vec3f(1.0, 2.0, 3.0))
    cube.CreateDisplayColorAttr([Gf.Vec3f(0.1, 0.2, 0.3)])

    mesh = UsdGeom.Mesh.Define(stage, "/root/body/mesh")
    mesh.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, 1.0))
    mesh.CreatePointsAttr([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (2, 0, 0)])
    mesh.CreateFaceVertexCountsAttr([4, 3])
    mesh.CreateFaceVertexIndicesAttr([0, 1, 2, 3, 1, 4, 2])

    UsdGeom.Sphere.Define(stage, "/root/body/guide").CreatePurposeAttr(UsdGeom.Tokens.guide)
    UsdGeom.Sphere.Define(stage, "/root/body/hidden").MakeInvisible()
    child = UsdGeom.Xform.Define(stage, "/root/body/child")
    child.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, 5.0))
    UsdPhysics.RigidBodyAPI.Apply(child.GetPrim())
    UsdGeom.Sphere.Define(stage, "/root/body/child/ball").CreateRadiusAttr(0.5)
    UsdGeom.Cube.Define(stage, "/root/loose")
    stage.GetRootLayer().Save()
    return path


def test_vertices_are_in_the_body_frame_with_scales_baked_in(tmp_path: Path) -> None:
    scene = _hand_scene(tmp_path / "scene.usda")
    meshes = {mesh.name: mesh for mesh in articulation_meshes(scene, "/root")}
    assert list(meshes) == ["/root/body/cube", "/root/body/mesh", "/root/body/child/ball"]

    cube = meshes["/root/body/cube"]
    assert cube.body_path == "/root/body" and cube.color == pytest.approx((0.1, 0.2, 0.3), abs=1e-6)
    # corner (x, y, z) of the unit cube -> scaled (x, 2y, 3z) -> turned about X (x, -3z, 2y) -> moved by 0.5 along
    # x -> scaled 2 by the body: x in {0, 2}, y in {-3, 3}, z in {-2, 2}
    expected = {(x, y, z) for x in (0.0, 2.0) for y in (-3.0, 3.0) for z in (-2.0, 2.0)}
    assert {tuple(np.round(vertex, 5)) for vertex in cube.vertices.astype(np.float64)} == expected

    quad = meshes["/root/body/mesh"]
    assert quad.body_path == "/root/body" and quad.color == DEFAULT_COLOR
    points = np.array([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (2, 0, 0)], dtype=np.float64)
    np.testing.assert_allclose(quad.vertices, (points + [0.0, 0.0, 1.0]) * 2.0, atol=1e-6)
    np.testing.assert_array_equal(quad.faces, [[0, 1, 2], [0, 2, 3], [1, 4, 2]])

    ball = meshes["/root/body/child/ball"]
    assert ball.body_path == "/root/body/child"  # the nearest body, not the outer one
    # the child's frame has no scale, so the outer body's scale of 2 is baked into the ball: radius 0.5 -> 1
    np.testing.assert_allclose(np.linalg.norm(ball.vertices, axis=1), 1.0, atol=1e-6)


def test_rest_poses_are_the_authored_world_poses_without_scale(tmp_path: Path) -> None:
    scene = _hand_scene(tmp_path / "scene.usda")
    poses = body_rest_poses(scene, ["/root/body/child", "/root/body"])
    assert poses.shape == (2, 7) and poses.dtype == np.float32
    s = math.sqrt(0.5)
    np.testing.assert_allclose(poses[1], [1.0, 2.0, 3.0, 0.0, 0.0, s, s], atol=1e-6)
    # the child sits 5 along the body's z, which the body's scale of 2 stretches to 10
    np.testing.assert_allclose(poses[0], [1.0, 2.0, 13.0, 0.0, 0.0, s, s], atol=1e-6)

    cartpole = body_rest_poses(CARTPOLE, ["/cartpole/pole"])
    np.testing.assert_allclose(cartpole, [[0.0, 0.2, 2.0, 0.0, 0.0, 0.0, 1.0]], atol=1e-6)
    upper = body_rest_poses(ANT, ["/ant/back_left_upper"])[0]
    np.testing.assert_allclose(upper, [-0.197989899, 0.197989899, 0.75, 0.0, 0.0, 0.9238795, 0.38268343], atol=1e-6)


def test_capsule_cylinder_and_cone_follow_axis_and_size(tmp_path: Path) -> None:
    path = tmp_path / "shapes.usda"
    stage = Usd.Stage.CreateNew(str(path))
    UsdPhysics.RigidBodyAPI.Apply(UsdGeom.Xform.Define(stage, "/body").GetPrim())
    for schema, axis in ((UsdGeom.Capsule, "Y"), (UsdGeom.Cylinder, "X"), (UsdGeom.Cone, "Z")):
        shape = schema.Define(stage, f"/body/{schema.__name__.lower()}")
        shape.CreateAxisAttr(axis)
        shape.CreateHeightAttr(1.0)
        shape.CreateRadiusAttr(0.25)
    stage.GetRootLayer().Save()

    meshes = {mesh.name.rsplit("/", 1)[1]: mesh for mesh in articulation_meshes(path, "/body")}
    np.testing.assert_allclose(_bounds(meshes["capsule"].vertices), [[-0.25, -0.75, -0.25], [0.25, 0.75, 0.25]], 1e-6)
    np.testing.assert_allclose(_bounds(meshes["cylinder"].vertices), [[-0.5, -0.25, -0.25], [0.5, 0.25, 0.25]], 1e-6)
    cone = meshes["cone"].vertices
    np.testing.assert_allclose(_bounds(cone), [[-0.25, -0.25, -0.5], [0.25, 0.25, 0.5]], atol=1e-6)
    assert cone[cone[:, 2] > 0.49][:, :2] == pytest.approx(np.zeros((1, 2)), abs=1e-6)  # the apex points along +Z


def test_errors_name_the_file_and_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.usda"
    with pytest.raises(ValueError, match="missing.usda"):
        articulation_meshes(missing, "/root")
    with pytest.raises(ValueError, match="missing.usda"):
        body_rest_poses(missing, ["/root"])
    garbage = tmp_path / "garbage.usda"
    garbage.write_text("not usd at all\n")
    with pytest.raises(ValueError, match="garbage.usda.*cannot open"):
        articulation_meshes(garbage, "/root")
    with pytest.raises(ValueError, match="cartpole.usda: no prim at articulation root /nothing"):
        articulation_meshes(CARTPOLE, "/nothing")
    with pytest.raises(ValueError, match="cartpole.usda.*/cartpole/ghost"):
        articulation_meshes(CARTPOLE, "/cartpole", ["/cartpole/ghost"])
    with pytest.raises(ValueError, match="cartpole.usda: no body prim at /cartpole/ghost"):
        body_rest_poses(CARTPOLE, ["/cartpole/cart", "/cartpole/ghost"])
