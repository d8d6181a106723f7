"""Triangle meshes of an articulation's visual shapes, each in the frame of the rigid body it moves with.

A 3D viewer draws a robot from two things: these meshes, fixed once, and a pose per body per frame (from a rollout
or a recording). Every UsdGeom.Gprim under the articulation root (Cube, Sphere, Capsule, Cylinder, Cone, Mesh)
belongs to its nearest ancestor-or-self prim with UsdPhysics.RigidBodyAPI; its vertices are expressed in that body's
frame with every scale and offset between the two baked in, so ``world_vertex = body_pose * vertex`` where the body
pose is a rigid transform (translation and rotation, no scale), as a simulator reports it.

Shapes are read at time Default. Guide prims, invisible prims and gprims of other types (Plane, curves, points)
are skipped, as are gprims with no rigid body between them and the articulation root. Pure pxr, numpy and trimesh.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from pxr import Gf, Tf, Usd, UsdGeom, UsdPhysics

DEFAULT_COLOR = (0.45, 0.47, 0.5)  # rgb of a gprim without primvars:displayColor (a mid grey that reads on white)
_SPHERE_SUBDIVISIONS = 2  # icosphere of 320 triangles
_ROUND_SEGMENTS = 24  # segments around capsules, cylinders and cones
_AXIS_COLUMNS = {"X": [2, 0, 1], "Y": [1, 2, 0], "Z": [0, 1, 2]}  # cyclic permutations that take trimesh's +Z there


@dataclass(frozen=True)
class BodyMesh:
    """One visual shape as a triangle mesh in the frame of the rigid body it moves with."""

    body_path: str  # USD prim path of the rigid body the mesh moves with, e.g. "/cartpole/cart"
    vertices: np.ndarray  # (V, 3) float32, in the body's frame [scene length units], scale already baked in
    faces: np.ndarray  # (F, 3) uint32 vertex indices of counter-clockwise (outward-facing) triangles
    color: tuple[float, float, float]  # rgb in 0..1, from primvars:displayColor (first value) else DEFAULT_COLOR
    name: str  # the shape prim's path


def articulation_meshes(scene: Path, articulation_root: str, body_paths: list[str] | None = None) -> list[BodyMesh]:
    """The visual shapes under ``articulation_root``, one BodyMesh per gprim, in depth-first prim order.

    Args:
        scene: USD file holding the robot.
        articulation_root: Prim path of the robot in ``scene``, e.g. "/cartpole".
        body_paths: Only the shapes of these rigid bodies; ``None`` for every rigid body under the root.

    Raises:
        ValueError: The scene cannot be opened, has no prim at ``articulation_root`` or at one of ``body_paths``, or a
            Mesh has face indices out of range.
    """
    scene = Path(scene)
    stage = _open_stage(scene)
    root = stage.GetPrimAtPath(articulation_root)
    if not root.IsValid():
        raise ValueError(f"{scene}: no prim at articulation root {articulation_root}")
    wanted = None
    if body_paths is not None:
        missing = [path for path in body_paths if not stage.GetPrimAtPath(path).IsValid()]
        if missing:
            raise ValueError(f"{scene}: bodies {missing} are not in the scene")
        wanted = {str(path) for path in body_paths}

    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    meshes = []
    for prim in Usd.PrimRange(root, Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate)):
        if not prim.IsA(UsdGeom.Gprim) or not _is_drawn(prim):
            continue
        body = _owning_body(prim, root)
        if body is None or (wanted is not None and str(body.GetPath()) not in wanted):
            continue
        shape = _shape(prim, scene)
        if shape is None:
            continue
        vertices, faces = shape
        shape_to_body = cache.GetLocalToWorldTransform(prim) * _rigid(cache.GetLocalToWorldTransform(body)).GetInverse()
        if shape_to_body.GetDeterminant3() < 0.0:  # a mirroring scale: keep the triangles facing outwards
            faces = faces[:, ::-1]
        meshes.append(
            BodyMesh(
                body_path=str(body.GetPath()),
                vertices=_transform(vertices, shape_to_body).astype(np.float32),
                faces=faces.astype(np.uint32),
                color=_display_color(prim),
                name=str(prim.GetPath()),
            )
        )
    return meshes


def body_rest_poses(scene: Path, body_paths: list[str]) -> np.ndarray:
    """World poses of the bodies as authored, at time Default, scale removed.

    Returns:
        (B, 7) float32 poses x, y, z [scene length units], qx, qy, qz, qw, in ``body_paths`` order.

    Raises:
        ValueError: The scene cannot be opened or has no prim at one of ``body_paths``.
    """
    scene = Path(scene)
    stage = _open_stage(scene)
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    poses = np.zeros((len(body_paths), 7), dtype=np.float64)
    for row, path in enumerate(body_paths):
        prim = stage.GetPrimAtPath(path)
        if not prim.IsValid():
            raise ValueError(f"{scene}: no body prim at {path}")
        world = _rigid(cache.GetLocalToWorldTransform(prim))
        quat = world.ExtractRotationQuat().GetNormalized()
        poses[row, :3] = world.ExtractTranslation()
        poses[row, 3:6] = quat.GetImaginary()
        poses[row, 6] = quat.GetReal()
    return poses.astype(np.float32)


def _open_stage(scene: Path) -> Usd.Stage:
    if not scene.is_file():
        raise ValueError(f"{scene}: cannot open the scene: no such file")
    try:
        stage = Usd.Stage.Open(str(scene))
    except Tf.ErrorException as error:
        reason = str(error).strip().splitlines()[-1].strip()
        raise ValueError(f"{scene}: cannot open the scene as USD ({reason})") from None
    if stage is None:
        raise ValueError(f"{scene}: cannot open the scene as USD")
    return stage


def _is_drawn(prim: Usd.Prim) -> bool:
    """Visible (itself and its ancestors) and not a guide."""
    imageable = UsdGeom.Imageable(prim)
    return (
        imageable.ComputeVisibility() != UsdGeom.Tokens.invisible and imageable.ComputePurpose() != UsdGeom.Tokens.guide
    )


def _owning_body(prim: Usd.Prim, root: Usd.Prim) -> Usd.Prim | None:
    """The nearest ancestor-or-self of ``prim`` with RigidBodyAPI, searching no higher than ``root``."""
    while prim.IsValid():
        if prim.HasAPI(UsdPhysics.RigidBodyAPI):
            return prim
        if prim == root:
            return None
        prim = prim.GetParent()
    return None


def _rigid(matrix: Gf.Matrix4d) -> Gf.Matrix4d:
    """The rotation and translation of ``matrix``: its scale and shear removed (rows orthonormalised)."""
    return matrix.RemoveScaleShear()


def _transform(vertices: np.ndarray, matrix: Gf.Matrix4d) -> np.ndarray:
    """(V, 3) points mapped by an affine USD matrix (row vectors: p' = p * M)."""
    m = np.array(matrix, dtype=np.float64)
    return vertices @ m[:3, :3] + m[3, :3]


def _display_color(prim: Usd.Prim) -> tuple[float, float, float]:
    """First value of primvars:displayColor on the prim or inherited from an ancestor; DEFAULT_COLOR when unset."""
    primvar = UsdGeom.PrimvarsAPI(prim).FindPrimvarWithInheritance(UsdGeom.Tokens.primvarsDisplayColor)
    values = primvar.ComputeFlattened() if primvar and primvar.HasValue() else None
    if not values:
        return DEFAULT_COLOR
    r, g, b = values[0]
    return float(r), float(g), float(b)


def _shape(prim: Usd.Prim, scene: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(V, 3) float64 vertices and (F, 3) int64 triangles of a gprim in its own frame; None for other types."""
    if prim.IsA(UsdGeom.Mesh):
        return _mesh(UsdGeom.Mesh(prim), scene)
    if prim.IsA(UsdGeom.Cube):
        size = float(UsdGeom.Cube(prim).GetSizeAttr().Get())
        return _arrays(trimesh.creation.box(extents=(size, size, size)))
    if prim.IsA(UsdGeom.Sphere):
        radius = float(UsdGeom.Sphere(prim).GetRadiusAttr().Get())
        return _arrays(trimesh.creation.icosphere(subdivisions=_SPHERE_SUBDIVISIONS, radius=radius))
    for schema, create in (
        (UsdGeom.Capsule, lambda h, r: trimesh.creation.capsule(height=h, radius=r, count=[_ROUND_SEGMENTS] * 2)),
        (UsdGeom.Cylinder, lambda h, r: trimesh.creation.cylinder(radius=r, height=h, sections=_ROUND_SEGMENTS)),
        (UsdGeom.Cone, lambda h, r: trimesh.creation.cone(radius=r, height=h, sections=_ROUND_SEGMENTS)),
    ):
        if prim.IsA(schema):
            typed = schema(prim)
            height, radius = float(typed.GetHeightAttr().Get()), float(typed.GetRadiusAttr().Get())
            vertices, faces = _arrays(create(height, radius))
            if schema is UsdGeom.Cone:  # trimesh: base at z = 0, apex at z = height; USD: centred, apex at +axis
                vertices[:, 2] -= height / 2.0
            return vertices[:, _AXIS_COLUMNS[str(typed.GetAxisAttr().Get())]], faces
    return None


def _arrays(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    return np.array(mesh.vertices, dtype=np.float64), np.array(mesh.faces, dtype=np.int64)


def _mesh(mesh: UsdGeom.Mesh, scene: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """Points and fan-triangulated faces of a UsdGeom.Mesh; polygon i gives (p0, pk, pk+1) for k = 1 .. n-2."""
    points = mesh.GetPointsAttr().Get()
    counts = mesh.GetFaceVertexCountsAttr().Get()
    indices = mesh.GetFaceVertexIndicesAttr().Get()
    if not points or not counts or not indices:
        return None
    vertices = np.array(points, dtype=np.float64).reshape(-1, 3)
    counts = np.array(counts, dtype=np.int64)
    indices = np.array(indices, dtype=np.int64)
    path = mesh.GetPath()
    if counts.sum() != len(indices) or (counts < 0).any():
        raise ValueError(
            f"{scene}: mesh {path} has {len(indices)} face vertex indices, its counts sum to {counts.sum()}"
        )
    if indices.min() < 0 or indices.max() >= len(vertices):
        raise ValueError(f"{scene}: mesh {path} indexes points outside 0..{len(vertices) - 1}")

    starts = np.cumsum(counts) - counts
    triangles_per_face = np.maximum(counts - 2, 0)
    face = np.repeat(np.arange(len(counts)), triangles_per_face)
    first_triangle = np.repeat(np.cumsum(triangles_per_face) - triangles_per_face, triangles_per_face)
    k = np.arange(len(face)) - first_triangle + 1
    a, b, c = indices[starts[face]], indices[starts[face] + k], indices[starts[face] + k + 1]
    if mesh.GetOrientationAttr().Get() == UsdGeom.Tokens.leftHanded:
        b, c = c, b
    return vertices, np.stack([a, b, c], axis=1)
