"""A terrain as a static ``UsdGeom.Mesh``: authored into a stage (a recording), written once as its own file (which
the Isaac Sim stage references), and read back from a layer. Pure pxr; positions in metres in the world frame of
:mod:`.terrain` (z up), the frame the physics and the recorded body poses share.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, Vt

from ..utils.atomic import write_atomically
from .terrain import Terrain, TerrainSpec
from .terrain_mesh import DISPLAY_MAX_TRIANGLES, TerrainMesh, terrain_mesh

TERRAIN_PRIM = "terrain"
"""Name of the terrain's mesh prim: ``/World/terrain`` in a recording, the default prim ``/terrain`` of a terrain
file."""
COLOR = (0.55, 0.52, 0.47)
"""Display colour of the terrain (linear RGB in [0, 1]): a stony grey that robots stand out against."""


def define_terrain_mesh(stage: Usd.Stage, path: str, mesh: TerrainMesh) -> UsdGeom.Mesh:
    """Author ``mesh`` at ``path`` of ``stage``: a static mesh (no physics), its points, triangles, extent and
    colour."""
    prim = UsdGeom.Mesh.Define(stage, path)
    points = Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(mesh.vertices, dtype=np.float32))
    prim.CreatePointsAttr(points)
    prim.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(mesh.faces), 3, dtype=np.int32)))
    prim.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(np.ascontiguousarray(mesh.faces, dtype=np.int32).ravel()))
    prim.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    prim.CreateDoubleSidedAttr(True)
    prim.CreateExtentAttr(UsdGeom.Mesh.ComputeExtent(points))
    prim.CreateDisplayColorAttr([Gf.Vec3f(*COLOR)])
    return prim


def read_terrain_mesh(layer: Sdf.Layer, path: str) -> TerrainMesh | None:
    """The triangles of the mesh authored at ``path`` of ``layer`` (read from the layer alone, as
    :mod:`.read_recording` reads), None where there is none."""
    spec = layer.GetPrimAtPath(path)
    if spec is None or "points" not in spec.attributes or "faceVertexIndices" not in spec.attributes:
        return None
    vertices = np.asarray(spec.attributes["points"].default, dtype=np.float32).reshape(-1, 3)
    faces = np.asarray(spec.attributes["faceVertexIndices"].default, dtype=np.int32).reshape(-1, 3)
    return TerrainMesh(vertices=vertices, faces=faces, stride=0)


def terrain_file_name(spec: TerrainSpec) -> str:
    """A file name that only ``spec`` (its tiles, sizes and seed) gives: ``terrain_<12 hex digits>.usda``."""
    return f"terrain_{hashlib.sha1(repr(spec).encode()).hexdigest()[:12]}.usda"


def write_terrain_usd(terrain: Terrain, path: Path, max_triangles: int | None = DISPLAY_MAX_TRIANGLES) -> Path:
    """Write ``terrain`` as a stage of its own to ``path`` (atomically): z up, metres, the mesh at ``/terrain``, its
    default prim, for a stage to reference. Returns ``path``."""
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    prim = define_terrain_mesh(
        stage, f"/{TERRAIN_PRIM}", terrain_mesh(terrain.heights, terrain.horizontal_scale, max_triangles)
    )
    stage.SetDefaultPrim(prim.GetPrim())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def export(tmp: Path) -> None:
        if not stage.GetRootLayer().Export(str(tmp)):
            raise OSError(f"could not write {path}")

    return write_atomically(path, export)
