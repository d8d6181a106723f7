"""The 3D view of the browser panel: the robots of the scene as viser meshes, moved by the panel model's poses.

Each visual shape of the articulation (:func:`~...scene.geometry.articulation_meshes`) is one viser batched mesh
with an instance per shown env, so a frame costs one message per shape whatever the env count. Frames come from
the panel model's :class:`~..panel.PoseFrames`: a block per training iteration, one per play step, or a whole
recording. A background thread plays a block at its own pace (frame ``dt``) and at most ``MAX_FPS``; during
training, each block plays whole before the newest one that arrived meanwhile (the view lags training by up to a
block and skips blocks, but the motion is real time); a recording follows the time slider instead.

On a terrain (a spec with ``[terrain]``, or a recording that holds one), the terrain is one mesh
(:func:`~...scene.terrain_mesh.display_terrain`, at most 200k triangles) in place of the ground grid, and each env
stands where the physics has it: its body poses plus its origin on the terrain at that frame
(:attr:`~..panel_state.PoseFrames.origins`), so the robots walk on the steps they walk on in the simulation.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import viser
from scipy.spatial.transform import Rotation

from ...envs.backend_request import terrain_ground
from ...scene.geometry import BodyMesh, articulation_meshes, body_rest_poses
from ...scene.terrain_mesh import TerrainMesh, display_terrain
from ...scene.terrain_usd import COLOR as TERRAIN_COLOR
from ...trained_policy import RECORDING_MAX_SPACING
from ..panel import PanelModel, PoseFrames

MAX_FPS = 20.0  # frames sent to the browser per second, at most
VIEW_SPACING_MAX = RECORDING_MAX_SPACING  # [m] envs stand side by side at most this far apart, as in a recording


class SceneView:
    """Keeps ``server.scene`` showing the model's robots and their latest poses."""

    def __init__(self, server: viser.ViserServer, model: PanelModel):
        self.server, self.model = server, model
        self._lock = threading.Lock()
        self._scene_key: tuple | None = None
        self._meshes: list[BodyMesh] = []
        self._handles: list[viser.BatchedMeshHandle] = []
        self._body_index: dict[str, int] = {}
        self._extents: dict[tuple, float] = {}
        self._bounds: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._offsets = np.zeros((0, 3), dtype=np.float32)
        self._frames: PoseFrames | None = None
        self._poses = np.zeros((0, 0, 0, 7), dtype=np.float32)  # (T, K, B, 7) of the frames playing, as drawn
        self._terrain: TerrainMesh | None = None
        self.terrain_handle: viser.MeshHandle | None = None
        self._block_started = 0.0
        self.frames_sent = 0
        server.scene.set_up_direction("+z")
        # looking along the row of envs (they stand along +Y) from the side, a little above; aimed at the robots
        # once they are known (_aim_camera)
        server.initial_camera.position = (7.0, -5.0, 4.0)
        server.initial_camera.look_at = (0.0, 4.0, 1.0)
        self._grid = server.scene.add_grid("/ground", width=20.0, height=20.0, cell_size=0.5, plane="xy")
        self.slider = None  # set by the panel: the recording's time slider (a GuiSliderHandle)
        self.playing_recording = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._animate, name="scene-view", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()

    # -- what is shown --------------------------------------------------------------------------------------------
    def show_spec(self) -> None:
        """Show the open spec's robots at rest (after a spec or scene change)."""
        art = self.model.articulation
        if art is None or self.model.spec_file is None:
            return
        scene = self.model.scene_path
        bodies = list(art.bodies)
        terrain = self._spec_terrain()
        if terrain is None:
            offsets = self._spec_offsets(self.model.view_envs, self._extent(scene, art.root_path, bodies))
        else:
            offsets = self._terrain_starts(self.model.view_envs)
        self._show_terrain(terrain)
        self._use_scene(scene, art.root_path, bodies, offsets)

    def show_frames(self, frames: PoseFrames) -> None:
        """Play ``frames`` (replacing what played before). The animation thread calls this for every new
        :attr:`~..panel.PanelModel.view` of the model."""
        if frames.scene is not None:
            scene, root = frames.scene, frames.root
        elif self.model.articulation is not None:
            scene, root = self.model.scene_path, self.model.articulation.root_path
        else:
            return
        poses, offsets, aim = frames.poses, frames.offsets, None
        if frames.origins is not None:  # on a terrain: world poses, the camera on where the envs stand
            poses = poses.copy()
            poses[..., :3] += frames.origins[:, :, None, :]
            offsets, aim = np.zeros((poses.shape[1], 3), dtype=np.float32), frames.origins[0]
        elif offsets is None:
            offsets = self._spec_offsets(frames.poses.shape[1], self._extent(Path(scene), root, frames.body_paths))
        self._show_terrain(frames.terrain)
        self._use_scene(Path(scene), root, frames.body_paths, offsets, aim)
        with self._lock:
            self._frames, self._poses, self._block_started = frames, poses, time.perf_counter()
        if self.slider is not None and frames.source == "recording":
            self.slider.max = max(frames.poses.shape[0] - 1, 1)
            self.slider.value = 0

    def _spec_offsets(self, count: int, extent: float) -> np.ndarray:
        """Where ``count`` envs stand in the view: along +Y at the spec's spacing, but no farther apart than
        ``VIEW_SPACING_MAX`` or twice the robot's size ``extent`` [m] (a 30 cm arm is not shown 4 m apart)."""
        try:
            spacing = self.model.spec().env.spacing
        except Exception:  # an invalid spec: show the envs at the default spacing
            spacing = VIEW_SPACING_MAX
        spacing = min(spacing, VIEW_SPACING_MAX, max(2.0 * extent, 0.3))
        offsets = np.zeros((count, 3), dtype=np.float32)
        offsets[:, 1] = np.arange(count) * spacing
        return offsets

    def _spec_terrain(self) -> TerrainMesh | None:
        """The open spec's terrain mesh, None without one (or with an invalid spec)."""
        try:
            terrain = self.model.spec().terrain
        except Exception:  # an invalid spec: no terrain shown
            return None
        return None if terrain is None else display_terrain(terrain)

    def _terrain_starts(self, count: int) -> np.ndarray:
        """Where the first ``count`` envs of the open spec start on its terrain [m], (count, 3), as the physics
        places them (:func:`~...envs.backend_request.terrain_ground`)."""
        spec = self.model.spec()
        env = spec.env
        ground = terrain_ground(spec.terrain, env.num_envs, env.spacing, self.model.device, env.cpu_solver)
        return np.resize(ground.env_origins, (count, 3)).astype(np.float32)

    def _show_terrain(self, terrain: TerrainMesh | None) -> None:
        """Show ``terrain`` in place of the ground grid (None: the grid alone); the mesh is sent once."""
        if terrain is self._terrain:
            return
        with self._lock, self.server.atomic():
            if self.terrain_handle is not None:
                self.terrain_handle.remove()
                self.terrain_handle = None
            self._terrain = terrain
            self._grid.visible = terrain is None
            if terrain is not None:
                self.terrain_handle = self.server.scene.add_mesh_simple(
                    "/terrain",
                    vertices=terrain.vertices,
                    faces=terrain.faces,
                    color=tuple(int(255 * c) for c in TERRAIN_COLOR),
                    flat_shading=True,
                    side="double",
                    cast_shadow=False,
                )

    def _extent(self, scene: Path, root: str, body_paths: list[str]) -> float:
        """The robot's size at rest [m]: the largest side of its meshes' bounding box (cached per robot)."""
        key = (str(scene), root, tuple(body_paths))
        if key not in self._extents:
            try:
                self._bounds[key] = _rest_bounds(
                    articulation_meshes(scene, root, body_paths), body_paths, body_rest_poses(scene, body_paths)
                )
            except ValueError:
                self._bounds[key] = (np.zeros(3), np.ones(3))
            low, high = self._bounds[key]
            self._extents[key] = float(np.max(high - low))
        return self._extents[key]

    def _aim_camera(self, key: tuple, offsets: np.ndarray) -> None:
        """Point the camera of new tabs (and open ones) at the envs standing at ``offsets`` (K, 3) [m], from the side
        and a little above."""
        low, high = self._bounds.get(key, (np.zeros(3), np.ones(3)))
        center = (low + high) / 2 + offsets.mean(axis=0)
        size = (high - low) + np.ptp(offsets, axis=0) * np.array([1.0, 1.0, 0.0])  # every robot
        reach = 0.5 * float(np.linalg.norm(size))
        position = center + np.array([1.4, -1.1, 0.8]) * reach * 0.9
        self.server.initial_camera.position = tuple(float(v) for v in position)
        self.server.initial_camera.look_at = tuple(float(v) for v in center)
        for client in self.server.get_clients().values():
            client.camera.position, client.camera.look_at = position, center

    def _use_scene(
        self, scene: Path, root: str, body_paths: list[str], offsets: np.ndarray, aim: np.ndarray | None = None
    ) -> None:
        """Draw the robots of ``scene`` at ``offsets`` (K, 3) [m] plus their poses; the camera aims at ``aim``
        (K, 3) [m] (None: at ``offsets``) when the robots or their offsets change."""
        key = (str(scene), root, tuple(body_paths), offsets.shape[0], offsets.tobytes())
        if key == self._scene_key:
            return
        try:
            meshes = articulation_meshes(scene, root, body_paths)
            rest = body_rest_poses(scene, body_paths)
        except ValueError as exc:
            self.model.say(f"error: 3D view: {exc}")
            return
        with self._lock, self.server.atomic():
            for handle in self._handles:
                handle.remove()
            self._scene_key, self._meshes, self._offsets = key, meshes, offsets
            self._aim_camera((str(scene), root, tuple(body_paths)), offsets if aim is None else aim)
            self._body_index = {path: i for i, path in enumerate(body_paths)}
            poses = np.broadcast_to(rest, (offsets.shape[0], *rest.shape))
            self._handles = []
            for i, mesh in enumerate(meshes):
                positions, wxyzs = self._instances(mesh, poses)
                self._handles.append(
                    self.server.scene.add_batched_meshes_simple(
                        f"/robots/shape_{i}",
                        vertices=mesh.vertices,
                        faces=mesh.faces,
                        batched_wxyzs=wxyzs,
                        batched_positions=positions,
                        batched_colors=tuple(int(255 * c) for c in mesh.color),
                        lod="off",
                    )
                )

    def _instances(self, mesh: BodyMesh, poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Instance positions (K, 3) and orientations (K, 4, w first) of ``mesh`` for env poses (K, B, 7)."""
        body = poses[:, self._body_index[mesh.body_path]]
        positions = body[:, :3] + self._offsets
        wxyzs = np.concatenate([body[:, 6:7], body[:, 3:6]], axis=1)
        return positions.astype(np.float32), wxyzs.astype(np.float32)

    def _draw(self, poses: np.ndarray) -> None:
        """Move every shape to env poses (K, B, 7)."""
        with self._lock, self.server.atomic():
            for mesh, handle in zip(self._meshes, self._handles, strict=True):
                if mesh.body_path in self._body_index:
                    handle.batched_positions, handle.batched_wxyzs = self._instances(mesh, poses)
        self.frames_sent += 1

    # -- the animation thread -------------------------------------------------------------------------------------
    def _playing_block(self, newer: PoseFrames) -> bool:
        """True while a training block plays and ``newer`` is the next training block: blocks play whole, in real
        time, so the robots move smoothly; blocks that arrive meanwhile are skipped (the newest one plays next)."""
        frames = self._frames
        if frames is None or frames.source != "training" or newer.source != "training":
            return False
        return time.perf_counter() - self._block_started < frames.poses.shape[0] * frames.dt

    def _animate(self) -> None:
        last_drawn, last_view = (None, -1), None
        while not self._stop.wait(1.0 / MAX_FPS):
            view = self.model.view
            if view is not None and view is not last_view and not self._playing_block(view):
                last_view = view
                try:
                    self.show_frames(view)
                except Exception as exc:  # a scene the view cannot draw must not end the thread
                    self.model.say(f"error: 3D view: {type(exc).__name__}: {exc}")
            frames, poses = self._frames, self._poses
            if frames is None or not self._handles or poses.shape[0] == 0:
                continue
            count = poses.shape[0]
            if frames.source == "recording":
                if self.slider is None:
                    index = 0
                elif self.playing_recording:
                    index = (int(self.slider.value) + max(1, round(1.0 / (MAX_FPS * frames.dt)))) % count
                    self.slider.value = index
                else:
                    index = int(self.slider.value)
            else:  # a training block or a play step: play it once at its own pace, then hold the last frame
                index = min(int((time.perf_counter() - self._block_started) / frames.dt), count - 1)
            index = min(max(index, 0), count - 1)
            if last_drawn == (id(frames), index):
                continue
            last_drawn = (id(frames), index)
            if poses.shape[1] == self._offsets.shape[0]:
                self._draw(poses[index])


def _rest_bounds(meshes: list[BodyMesh], body_paths: list[str], rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners [m] of the meshes placed at their bodies' rest poses (B, 7)."""
    index = {path: i for i, path in enumerate(body_paths)}
    points = []
    for mesh in meshes:
        pose = rest[index[mesh.body_path]]
        rotation = Rotation.from_quat(pose[3:7]).as_matrix()  # x, y, z, w
        points.append(mesh.vertices @ rotation.T + pose[:3])
    if not points:
        return np.zeros(3), np.ones(3)
    stacked = np.concatenate(points)
    return stacked.min(axis=0), stacked.max(axis=0)
