"""Write a rollout as a time-sampled USD animation that opens in usdview and Isaac Sim.

The recording is a small stage beside the scene, not a copy of it:

- ``/World/env_<i>`` references the scene's articulation root prim and sits ``i * spacing`` along +Y (along +X on a
  Y-up stage, so the robots stand side by side on the ground either way). The offset is an extra translate op ahead of
  whatever transform the root prim has in the scene.
- Each recorded body under the articulation root gets an ``over`` with ``xformOpOrder = ["!resetXformStack!",
  "xformOp:translate:recorded", "xformOp:orient:recorded"]``, time-sampled once per frame. The reset makes the body
  ignore its parents' transforms, so the animation shows the recorded world poses exactly. Bodies outside the
  articulation root are skipped.
- Physics is switched off in the recording so that pressing Play in Isaac Sim replays the animation instead of
  simulating against it: every rigid body under the root gets ``physics:rigidBodyEnabled = false``, every joint
  ``physics:jointEnabled = false``, and ``PhysicsArticulationRootAPI`` is removed (a deleted list-op entry, so the
  scene file stays untouched). Colliders remain, as static shapes.

- Markers (a command's target, ``add_frame(..., markers=...)``) are spheres ``/World/markers/<name>_<i>`` whose
  translate is time-sampled with the frames, in the same env offsets: green for a target position, blue for where a
  velocity command would take the base in half a second.
- On a terrain (``terrain=``), ``/World/terrain`` is its static mesh (:mod:`.terrain_usd`, the grid decimated to at
  most :data:`.terrain_mesh.DISPLAY_MAX_TRIANGLES` triangles), and each env stands at its origin on it as the
  physics had it at each frame (``add_frame(..., origins=...)``), not side by side; ``envOffset`` is its first
  frame's origin.

Time code ``k`` is frame ``k``; ``timeCodesPerSecond = framesPerSecond = fps``. The stage copies the scene's
``upAxis`` and ``metersPerUnit``; positions are taken to be in the scene's length unit (metres in a scene with
``metersPerUnit = 1``). The scene is referenced by its path relative to the recording.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics

from ..utils.atomic import write_atomically
from .terrain import Terrain
from .terrain_mesh import terrain_mesh
from .terrain_usd import TERRAIN_PRIM, define_terrain_mesh

_OP_SUFFIX = "recorded"


class UsdRecorder:
    """Collect body poses frame by frame and write them as a USD animation of ``num_envs`` copies of a robot."""

    def __init__(
        self,
        scene: Path,
        articulation_root: str,
        body_paths: list[str],
        num_envs: int,
        spacing: float,
        fps: float,
        terrain: Terrain | None = None,
    ) -> None:
        """Read the scene and prepare a recording.

        Args:
            scene: USD file holding the robot.
            articulation_root: Prim path of the robot in ``scene``, e.g. "/robot".
            body_paths: Prim paths of the B bodies, in the order of the poses given to :meth:`add_frame`.
            num_envs: Number of environments recorded, N.
            spacing: Distance between neighbouring environments [scene length units].
            fps: Frames per second of the recording [1/s], the rate at which :meth:`add_frame` is called.
            terrain: The ground the envs stand on, written with the recording; None: the flat ground.

        Raises:
            ValueError: The scene lacks the articulation root or a body under it, a body is listed twice, or an
                argument is out of range.
        """
        if num_envs < 1 or fps <= 0.0:
            raise ValueError(f"need num_envs >= 1 and fps > 0, got num_envs={num_envs}, fps={fps}")
        if len(set(body_paths)) != len(body_paths):
            raise ValueError(f"body_paths repeat a body: {body_paths}")
        self.scene = Path(scene).resolve()
        self.articulation_root = Sdf.Path(articulation_root)
        self.body_paths = [str(path) for path in body_paths]
        self.num_envs = int(num_envs)
        self.spacing = float(spacing)
        self.fps = float(fps)
        self.terrain = terrain
        self._frames: list[np.ndarray] = []
        self._origins: list[np.ndarray] = []  # on a terrain: (num_envs, 3) per frame
        self._markers: dict[str, list[np.ndarray]] = {}

        stage = Usd.Stage.Open(str(self.scene))
        if stage is None:
            raise ValueError(f"{self.scene}: cannot open the scene")
        root = stage.GetPrimAtPath(self.articulation_root)
        if not root.IsValid():
            raise ValueError(f"{self.scene}: no prim at articulation root {articulation_root}")
        self.up_axis = str(UsdGeom.GetStageUpAxis(stage))
        self.meters_per_unit = float(UsdGeom.GetStageMetersPerUnit(stage))

        # (index into body_paths, path relative to the articulation root) of each recorded body
        self._bodies: list[tuple[int, Sdf.Path]] = []
        missing = []
        for index, path in enumerate(self.body_paths):
            body = Sdf.Path(path)
            if not body.HasPrefix(self.articulation_root):
                continue
            if not stage.GetPrimAtPath(body).IsValid():
                missing.append(path)
            self._bodies.append((index, body.MakeRelativePath(self.articulation_root)))
        if missing:
            raise ValueError(f"{self.scene}: bodies {missing} are not in the scene")

        # prims whose physics is switched off in the recording, relative to the articulation root
        self._rigid_bodies, self._joints, self._articulation_roots = [], [], []
        for prim in Usd.PrimRange(root):
            relative = prim.GetPath().MakeRelativePath(self.articulation_root)
            if prim.HasAPI(UsdPhysics.RigidBodyAPI):
                self._rigid_bodies.append(relative)
            if prim.IsA(UsdPhysics.Joint):
                self._joints.append(relative)
            if prim.HasAPI(UsdPhysics.ArticulationRootAPI):
                self._articulation_roots.append(relative)

    @property
    def num_frames(self) -> int:
        """Number of frames added so far."""
        return len(self._frames)

    def env_origin(self, env: int, frame: int = 0) -> Gf.Vec3d:
        """Origin of environment ``env`` in the recording at ``frame`` [scene length units]."""
        if self.terrain is not None:
            return Gf.Vec3d(*self._origins[frame][env])
        offset = env * self.spacing
        return Gf.Vec3d(offset, 0.0, 0.0) if self.up_axis == UsdGeom.Tokens.y else Gf.Vec3d(0.0, offset, 0.0)

    def add_frame(
        self,
        body_poses: torch.Tensor,
        markers: dict[str, torch.Tensor] | None = None,
        origins: torch.Tensor | None = None,
    ) -> None:
        """Append one frame.

        Args:
            body_poses: (num_envs, B, 7) poses x, y, z [scene length units], qx, qy, qz, qw of the B bodies in
                ``body_paths`` order, in world axes relative to each environment's origin. Any device and float dtype.
            markers: ``"position:<name>"`` (a target, green) or ``"velocity:<name>"`` (blue) -> (num_envs, 3) marker
                positions relative to each env's origin; the same keys at every frame.
            origins: (num_envs, 3) each env's origin in the world [m] at this frame (a terrain curriculum moves
                them); needed on a terrain, where the envs stand at them; ignored without one.
        """
        poses = body_poses.detach().to("cpu", torch.float64).numpy()
        expected = (self.num_envs, len(self.body_paths), 7)
        if poses.shape != expected:
            raise ValueError(f"body_poses must have shape {expected}, got {tuple(poses.shape)}")
        if self.terrain is not None:
            if origins is None:
                raise ValueError("a recording on a terrain needs each frame's env origins")
            self._origins.append(origins.detach().to("cpu", torch.float64).numpy().reshape(self.num_envs, 3).copy())
        self._frames.append(poses.copy())
        for name, positions in (markers or {}).items():
            self._markers.setdefault(name, []).append(positions.detach().to("cpu", torch.float64).numpy().copy())

    def save(self, path: Path) -> Path:
        """Write the recording to ``path`` (.usda, .usdc or .usd) atomically and return the path.

        Raises:
            ValueError: No frame was added.
        """
        if not self._frames:
            raise ValueError("no frames recorded; call add_frame before save")
        path = Path(path)
        stage = self._author_stage()
        # the file refers to the scene by a path relative to itself, so both can move together; the references
        # are rewritten on a copy of the layer that no stage composes (a stage would try, and warn about, opening
        # the relative path from the in-memory layer's location)
        layer = Sdf.Layer.CreateAnonymous(".usda")
        layer.TransferContent(stage.GetRootLayer())
        relative = os.path.relpath(self.scene, path.parent.resolve())
        for env in range(self.num_envs):
            spec = layer.GetPrimAtPath(f"/World/env_{env}")
            spec.referenceList.prependedItems = [Sdf.Reference(relative, self.articulation_root)]

        def export(tmp: Path) -> None:
            if not layer.Export(str(tmp)):
                raise OSError(f"could not write {path}")

        return write_atomically(path, export)

    def _author_stage(self) -> Usd.Stage:
        """Build the recording in memory: env prims, body animations, physics switched off."""
        stage = Usd.Stage.CreateInMemory()
        UsdGeom.SetStageUpAxis(stage, self.up_axis)
        UsdGeom.SetStageMetersPerUnit(stage, self.meters_per_unit)
        stage.SetStartTimeCode(0.0)
        stage.SetEndTimeCode(float(self.num_frames - 1))
        stage.SetTimeCodesPerSecond(self.fps)
        stage.SetFramesPerSecond(self.fps)
        world = UsdGeom.Xform.Define(stage, "/World")
        stage.SetDefaultPrim(world.GetPrim())

        frames = np.stack(self._frames)  # (F, N, B, 7)
        quats = frames[..., 3:]
        norms = np.linalg.norm(quats, axis=-1, keepdims=True)
        identity = np.array([0.0, 0.0, 0.0, 1.0])
        quats = np.where(norms > 1e-12, quats / np.maximum(norms, 1e-12), identity)

        for env in range(self.num_envs):
            env_path = Sdf.Path(f"/World/env_{env}")
            env_prim = stage.DefinePrim(env_path)
            env_prim.GetReferences().AddReference(str(self.scene), self.articulation_root)
            origin = self.env_origin(env)
            self._place_env(env_prim, origin)
            self._disable_physics(stage, env_path)
            for index, relative in self._bodies:
                xformable = UsdGeom.Xformable(_override(stage, env_path, relative))
                translate = xformable.AddTranslateOp(UsdGeom.XformOp.PrecisionDouble, _OP_SUFFIX)
                orient = xformable.AddOrientOp(UsdGeom.XformOp.PrecisionFloat, _OP_SUFFIX)
                xformable.SetXformOpOrder([translate, orient], resetXformStack=True)
                with Sdf.ChangeBlock():
                    for frame in range(self.num_frames):
                        x, y, z = frames[frame, env, index, :3]
                        qx, qy, qz, qw = quats[frame, env, index]
                        position = Gf.Vec3d(x, y, z) + self.env_origin(env, frame)
                        rotation = Gf.Quatf(qw, qx, qy, qz)
                        if frame == 0:  # also the default value, for viewers that ignore time samples
                            translate.Set(position)
                            orient.Set(rotation)
                        translate.Set(position, Usd.TimeCode(frame))
                        orient.Set(rotation, Usd.TimeCode(frame))
        self._author_markers(stage)
        if self.terrain is not None:
            mesh = terrain_mesh(self.terrain.heights, self.terrain.horizontal_scale)
            define_terrain_mesh(stage, f"/World/{TERRAIN_PRIM}", mesh)
        return stage

    def _author_markers(self, stage: Usd.Stage) -> None:
        """One animated sphere per marker and env under ``/World/markers``."""
        for name, frames in self._markers.items():
            target = name.startswith("position")
            color = Gf.Vec3f(0.1, 0.8, 0.2) if target else Gf.Vec3f(0.2, 0.4, 1.0)
            for env in range(self.num_envs):
                sphere = UsdGeom.Sphere.Define(stage, f"/World/markers/{name.split(':', 1)[-1]}_{env}")
                sphere.CreateRadiusAttr(0.025 / self.meters_per_unit)
                sphere.CreateDisplayColorAttr([color])
                translate = sphere.AddTranslateOp(UsdGeom.XformOp.PrecisionDouble)
                with Sdf.ChangeBlock():
                    for frame, positions in enumerate(frames):
                        translate.Set(Gf.Vec3d(*positions[env]) + self.env_origin(env, frame), Usd.TimeCode(frame))

    def _place_env(self, env_prim: Usd.Prim, origin: Gf.Vec3d) -> None:
        """Put the referenced root at ``origin``, ahead of the root's own transform from the scene."""
        if not env_prim.IsA(UsdGeom.Xformable):
            env_prim.SetTypeName("Xform")
        xformable = UsdGeom.Xformable(env_prim)
        resets = xformable.GetResetXformStack()
        ops = xformable.GetOrderedXformOps()
        offset = xformable.AddTranslateOp(UsdGeom.XformOp.PrecisionDouble, "envOffset")
        offset.Set(origin)
        xformable.SetXformOpOrder([offset, *ops], resetXformStack=resets)

    def _disable_physics(self, stage: Usd.Stage, env_path: Sdf.Path) -> None:
        """Switch off the rigid bodies, joints and articulation roots of one referenced robot."""
        for relative in self._rigid_bodies:
            UsdPhysics.RigidBodyAPI(_override(stage, env_path, relative)).CreateRigidBodyEnabledAttr(False)
        for relative in self._joints:
            UsdPhysics.Joint(_override(stage, env_path, relative)).CreateJointEnabledAttr(False)
        for relative in self._articulation_roots:
            _override(stage, env_path, relative).RemoveAPI(UsdPhysics.ArticulationRootAPI)


def _override(stage: Usd.Stage, env_path: Sdf.Path, relative: Sdf.Path) -> Usd.Prim:
    """The prim at ``relative`` (a path relative to the articulation root, "." for the root) in env ``env_path``."""
    return stage.OverridePrim(env_path if relative == Sdf.Path(".") else env_path.AppendPath(relative))
