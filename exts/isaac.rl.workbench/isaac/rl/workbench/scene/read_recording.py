"""Read back a rollout recording written by scene.record.UsdRecorder: its scene, bodies, frame rate and body poses.

The recording is read straight from its own layer (pxr.Sdf), without composing the scene it references, so it
reads even where the scene has moved. What UsdRecorder writes, and this module expects:

- ``/World/env_<i>`` for i = 0 .. E-1, each referencing the scene's articulation root (the scene by a path relative
  to the recording) and placed by ``xformOp:translate:envOffset``.
- Under ``/World/env_0`` (and alike under every env), an ``over`` per recorded body with ``xformOpOrder =
  ["!resetXformStack!", "xformOp:translate:recorded", "xformOp:orient:recorded"]`` whose two ops are time-sampled
  once per frame. The reset makes them world poses, env offset included.
- ``timeCodesPerSecond`` = fps: time code k is frame k.
- On a terrain, ``/World/terrain``: its static mesh (:mod:`.terrain_usd`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pxr import Sdf, Tf

from .terrain_mesh import TerrainMesh
from .terrain_usd import TERRAIN_PRIM, read_terrain_mesh

_TRANSLATE = "xformOp:translate:recorded"
_ORIENT = "xformOp:orient:recorded"
_OP_ORDER = ["!resetXformStack!", _TRANSLATE, _ORIENT]
_ENV_OFFSET = "xformOp:translate:envOffset"
_EXPECTED = f"a recording written by UsdRecorder (/World/env_<i> with bodies animated by {_TRANSLATE} and {_ORIENT})"


@dataclass
class Recording:
    """A recorded rollout: world poses of B bodies of E robots over T frames."""

    file: Path
    scene: Path  # the referenced scene file, absolute (it may no longer exist)
    articulation_root: str  # the prim path in the scene that each env_<i> references
    body_paths: list[str]  # recorded body prim paths in scene terms (e.g. "/cartpole/cart"), order B: depth-first
    fps: float  # frames per second [1/s]
    poses: np.ndarray  # (T, E, B, 7) float32 world poses x, y, z [scene length units], qx, qy, qz, qw
    env_origins: np.ndarray  # (E, 3) float32 offset of each env [scene length units], already inside ``poses``
    terrain: TerrainMesh | None = None  # the terrain the envs walked on, in the poses' frame; None: flat ground

    @property
    def num_frames(self) -> int:
        """Number of frames, T."""
        return int(self.poses.shape[0])

    @property
    def seconds(self) -> float:
        """Duration [s]: T frames of 1 / fps each (the last frame starts at (T - 1) / fps)."""
        return self.num_frames / self.fps


def read_recording(path: Path) -> Recording:
    """Read a recording written by UsdRecorder.save.

    Body order B is the depth-first order of the bodies' prims in the recording, which is not necessarily the order
    given to UsdRecorder (the file does not keep that order); bodies outside the articulation root were never recorded.

    Raises:
        ValueError: ``path`` cannot be opened or is not such a recording; the message names the file and what was
            expected.
    """
    path = Path(path)
    layer = _open_layer(path)
    envs = _env_paths(layer, path)
    scene, root = _reference(layer, envs[0], path)
    bodies = _recorded_bodies(layer, envs[0])  # relative to the env prim, "." for the env prim itself
    if not bodies:
        raise ValueError(f"{path}: /World/env_0 has no body animated by {_TRANSLATE}; expected {_EXPECTED}")
    first = _samples(layer, envs[0].AppendPath(bodies[0]), _TRANSLATE, path)
    times = sorted(first)
    if not times:
        raise ValueError(f"{path}: {envs[0].AppendPath(bodies[0])} has no time samples; expected one per frame")

    poses = np.empty((len(times), len(envs), len(bodies), 7), dtype=np.float32)
    for e, env in enumerate(envs):
        for b, relative in enumerate(bodies):
            body = env.AppendPath(relative) if relative != Sdf.Path(".") else env
            poses[:, e, b] = _read_body(layer, body, times, path)
    body_paths = [str(root if relative == Sdf.Path(".") else root.AppendPath(relative)) for relative in bodies]
    return Recording(
        file=path,
        scene=scene,
        articulation_root=str(root),
        body_paths=body_paths,
        fps=float(layer.timeCodesPerSecond),
        poses=poses,
        env_origins=np.array([_env_origin(layer, env) for env in envs], dtype=np.float32).reshape(-1, 3),
        terrain=read_terrain_mesh(layer, f"/World/{TERRAIN_PRIM}"),
    )


def _open_layer(path: Path) -> Sdf.Layer:
    """A fresh copy of the file's layer (never a cached one, so a rewritten recording reads anew)."""
    if not path.is_file():
        raise ValueError(f"{path}: cannot open the recording: no such file")
    try:
        layer = Sdf.Layer.OpenAsAnonymous(str(path))
    except Tf.ErrorException as error:
        reason = str(error).strip().splitlines()[-1].strip()
        raise ValueError(f"{path}: cannot open the recording as USD ({reason}); expected {_EXPECTED}") from None
    if layer is None:
        raise ValueError(f"{path}: cannot open the recording as USD; expected {_EXPECTED}")
    return layer


def _env_paths(layer: Sdf.Layer, path: Path) -> list[Sdf.Path]:
    """/World/env_0 .. /World/env_<E-1>, as many as follow each other without a gap."""
    envs = []
    while layer.GetPrimAtPath(f"/World/env_{len(envs)}"):
        envs.append(Sdf.Path(f"/World/env_{len(envs)}"))
    if not envs:
        raise ValueError(f"{path}: no /World/env_0; expected {_EXPECTED}")
    return envs


def _reference(layer: Sdf.Layer, env: Sdf.Path, path: Path) -> tuple[Path, Sdf.Path]:
    """The scene file (absolute) and the prim path that ``env`` references."""
    references = layer.GetPrimAtPath(env).referenceList
    items = [*references.prependedItems, *references.explicitItems, *references.appendedItems]
    if not items or not items[0].assetPath or items[0].primPath.isEmpty:
        raise ValueError(f"{path}: {env} references no prim of a scene file; expected {_EXPECTED}")
    scene = Path(items[0].assetPath)
    return (scene if scene.is_absolute() else path.parent / scene).resolve(), items[0].primPath


def _recorded_bodies(layer: Sdf.Layer, env: Sdf.Path) -> list[Sdf.Path]:
    """Paths relative to ``env`` of the prims (``env`` included) with a recorded translate, depth-first."""
    bodies: list[Sdf.Path] = []

    def visit(spec: Sdf.PrimSpec) -> None:
        if _TRANSLATE in spec.attributes:
            bodies.append(spec.path.MakeRelativePath(env))
        for child in spec.nameChildren:
            visit(child)

    visit(layer.GetPrimAtPath(env))
    return bodies


def _samples(layer: Sdf.Layer, prim: Sdf.Path, name: str, path: Path) -> dict[float, object]:
    """{time: value} of attribute ``name`` on ``prim``; ValueError when the attribute is missing."""
    spec = layer.GetAttributeAtPath(prim.AppendProperty(name))
    if not spec:
        raise ValueError(f"{path}: {prim} has no {name}; expected {_EXPECTED}")
    return spec.GetInfo("timeSamples") if spec.HasInfo("timeSamples") else {}


def _read_body(layer: Sdf.Layer, prim: Sdf.Path, times: list[float], path: Path) -> np.ndarray:
    """(T, 7) poses x, y, z, qx, qy, qz, qw of one body at ``times``."""
    order = layer.GetAttributeAtPath(prim.AppendProperty("xformOpOrder"))
    if not order or list(order.default or []) != _OP_ORDER:
        raise ValueError(f"{path}: {prim} must have xformOpOrder {_OP_ORDER}, so that its ops are world poses")
    translate, orient = _samples(layer, prim, _TRANSLATE, path), _samples(layer, prim, _ORIENT, path)
    for name, samples in ((_TRANSLATE, translate), (_ORIENT, orient)):
        if sorted(samples) != times:
            raise ValueError(f"{path}: {prim}.{name} has time samples {sorted(samples)}, expected frames {times}")
    poses = np.empty((len(times), 7), dtype=np.float64)
    poses[:, :3] = [tuple(translate[time]) for time in times]
    poses[:, 3:] = [(*orient[time].GetImaginary(), orient[time].GetReal()) for time in times]
    return poses


def _env_origin(layer: Sdf.Layer, env: Sdf.Path) -> tuple[float, float, float]:
    """The env's ``xformOp:translate:envOffset`` (zero when not authored)."""
    spec = layer.GetAttributeAtPath(env.AppendProperty(_ENV_OFFSET))
    value = spec.default if spec else None
    return tuple(value) if value is not None else (0.0, 0.0, 0.0)
