"""The request's cameras, rendered per env by Newton's raytracing camera sensor (``newton.sensors.SensorCamera``):
forward depth, colour and shape index of every env's view in one render call per camera, on the physics device.

Each env's camera sees its own env only: the sensor renders, for each view, the shapes of one Newton world plus the
shapes that belong to no world (the ground plane or the terrain every env shares). On CUDA every env is its own
world already and the physics model is rendered as it is. On the CPU every env shares one MuJoCo world (and one
Newton world), so a second model holds the same clones, each in a world of its own, for rendering only; each render
copies the physics' body poses into it. Its bodies and shapes are in the physics model's order, so body poses and
shape indices mean the same in both.

Each camera's pose per env: its body's world pose times its local pose, or its env's origin plus its fixed pose,
in one warp kernel. Images are allocated once; a render overwrites them. Nothing waits for the GPU, so Newton's
sensor update (a BVH refit and one render kernel per camera) is recorded into the env step's CUDA graph with the
rest of the step (on an H100, a policy that sees only the replayed images learns to balance the cart-pole).

Shapes: N = num_envs, H x W = a camera's image, S = shapes per env.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence

import newton
import numpy as np
import torch
import warp as wp
from newton.sensors import SensorCamera

from . import newton_compat, newton_terrain
from .base import SEGMENTATION_GROUND, SEGMENTATION_NOTHING, BackendError, BackendRequest, CameraRequest

SKIP_VIEW = int(SensorCamera.WorldRenderFlag.DISABLE_PRESERVE)
"""A view's world index that leaves its images as they are."""


@wp.kernel(enable_backward=False)
def _camera_poses(
    body_q: wp.array(dtype=wp.transformf),
    origins: wp.array(dtype=wp.vec3f),
    body: int,
    bodies_per_env: int,
    local: wp.transformf,
    poses: wp.array(dtype=wp.transformf),
):
    env = wp.tid()
    if body >= 0:
        poses[env] = wp.transform_multiply(body_q[env * bodies_per_env + body], local)
    else:
        position = origins[env] + wp.transform_get_translation(local)
        poses[env] = wp.transformf(position, wp.transform_get_rotation(local))


class NewtonCameras:
    """Every camera of ``request``, rendered from the physics state.

    Args:
        request: the backend's request (its ``cameras``, ``num_envs``, ``terrain``).
        model: the physics model (N clones of ``robot``, then the shared ground or terrain).
        state: the physics state whose body poses are rendered.
        robot: the builder of one clone, as the physics model replicated it.
        xforms: where each clone was placed (N transforms).
        ground: whether the physics model has a ground plane (or a terrain).
        env_origins: each env's origin (N, 3) [m], float32 on the physics device, updated in place.

    Raises:
        BackendError: a camera mounted on a body the robot does not have.
    """

    def __init__(
        self,
        request: BackendRequest,
        model: newton.Model,
        state: newton.State,
        robot: newton.ModelBuilder,
        xforms: Sequence[wp.transform],
        ground: bool,
        env_origins: torch.Tensor,
    ):
        n = request.num_envs
        self._state = state
        if _a_world_per_clone(model, n, robot.shape_count):  # CUDA
            self._model, self._render_state = model, state
        else:  # the CPU's shared world: the same clones, a world each, for rendering only
            self._model = _model_with_a_world_per_env(robot, xforms, ground, request.terrain, str(model.device))
            self._render_state = self._model.state()
        if self._model.body_count != model.body_count or self._model.shape_count != model.shape_count:
            raise BackendError("the render model's bodies or shapes differ from the physics model's")
        self._origins = wp.from_torch(env_origins, dtype=wp.vec3f)
        self._sensor = SensorCamera(self._model, load_textures=False)
        self._sensor.create_default_light(enable_shadows=False)
        segments = _shape_in_env(self._model, n, robot.shape_count)
        body_names = [label.rsplit("/", 1)[-1] for label in robot.body_label]
        self._cameras = {}
        for camera in request.cameras:
            if camera.body is not None and camera.body not in body_names:
                known = ", ".join(body_names)
                raise BackendError(f"camera '{camera.name}': no body '{camera.body}' in the robot; bodies: {known}")
            body = -1 if camera.body is None else body_names.index(camera.body)
            self._cameras[camera.name] = _Camera(camera, body, robot.body_count, n, env_origins.device, segments)
        self.images = {name: camera.images for name, camera in self._cameras.items()}
        """Camera name -> data type -> image tensor (:meth:`render`'s result)."""
        self.buffers = [wp.from_torch(t) for camera in self._cameras.values() for t in camera.allocated]
        """Warp views of every image buffer, which ``newton_memory`` counts as the backend's memory."""

    def render(self, env_masks: Mapping[str, torch.Tensor] | None = None) -> dict[str, dict[str, torch.Tensor]]:
        """Render the cameras named in ``env_masks``, each in its masked envs (N,) bool (None: every camera in every
        env); return every camera's images (:meth:`.base.Backend.render_cameras`)."""
        names = list(self._cameras) if env_masks is None else list(env_masks)
        unknown = [name for name in names if name not in self._cameras]
        if unknown:
            raise KeyError(f"no camera '{unknown[0]}'; cameras: {', '.join(self._cameras) or 'none'}")
        if self._render_state is not self._state:
            wp.copy(self._render_state.body_q, self._state.body_q)
        self._model.bvh_refit_shapes(self._render_state)
        for name in names:
            mask = None if env_masks is None else env_masks[name]
            self._cameras[name].render(self._sensor, self._render_state, self._origins, mask)
        return self.images


class _Camera:
    """One camera's rays, poses and images in every env."""

    def __init__(
        self,
        request: CameraRequest,
        body: int,
        bodies_per_env: int,
        num_envs: int,
        device: torch.device,
        segments: torch.Tensor,
    ):
        n, h, w = num_envs, request.height, request.width
        wp_device = wp.device_from_torch(device)
        self.request, self.body, self.bodies_per_env = request, body, bodies_per_env
        self.local = wp.transformf(wp.vec3f(*request.pos), wp.quatf(*request.quat))
        samples = request.samples_per_pixel
        self.rays = SensorCamera.compute_camera_rays_pinhole(
            w, h, camera_fov=request.fov, sample_count=samples, device=wp_device
        )
        self.anti_aliasing = SensorCamera.AntiAliasing.SSAA if samples > 1 else None
        self.config = None  # the sensor's render settings (None), or a supersampled copy of them
        self.poses = wp.zeros(n, dtype=wp.transformf, device=wp_device)
        self.worlds = torch.arange(n, dtype=torch.int32, device=device)  # env i renders world i
        self.world_indices = self.worlds.clone()
        self._world_indices = wp.from_torch(self.world_indices, dtype=wp.int32)
        self.segments = segments
        self.outputs: dict[str, wp.array] = {}  # the update's keyword -> the buffer Newton writes
        self.images: dict[str, torch.Tensor] = {}
        self.allocated: list[torch.Tensor] = []
        """Every image buffer of this camera: those Newton writes, and the images made from them."""
        if "depth" in request.data_types:
            self.raw_depth = self._allocate(torch.zeros(n, h, w, dtype=torch.float32, device=device))
            self.outputs["forward_depth_image"] = wp.from_torch(self.raw_depth)
            self.images["depth"] = self._allocate(torch.full_like(self.raw_depth, request.far))
        if "rgb" in request.data_types:
            rgba = self._allocate(torch.zeros(n, h, w, 4, dtype=torch.uint8, device=device))
            self.outputs["color_image"] = wp.from_torch(rgba.view(torch.int32).view(n, h, w), dtype=wp.uint32)
            self.images["rgb"] = rgba[..., :3]  # packed R | G << 8 | B << 16 | A << 24: the bytes R, G, B, A
        if "segmentation" in request.data_types:
            self.raw_shapes = self._allocate(
                torch.full((n, h, w), SEGMENTATION_NOTHING, dtype=torch.int32, device=device)
            )
            self.outputs["shape_index_image"] = wp.from_torch(self.raw_shapes, dtype=wp.uint32)
            self.images["segmentation"] = self._allocate(self.raw_shapes.clone())

    def _allocate(self, tensor: torch.Tensor) -> torch.Tensor:
        self.allocated.append(tensor)
        return tensor

    def render(self, sensor: SensorCamera, state: newton.State, origins: wp.array, mask: torch.Tensor | None) -> None:
        """Render the envs where ``mask`` (N,) is set (None: all) into this camera's images."""
        n = self.worlds.shape[0]
        wp.launch(
            _camera_poses,
            dim=n,
            inputs=[state.body_q, origins, self.body, self.bodies_per_env, self.local],
            outputs=[self.poses],
            device=self.poses.device,
        )
        self.world_indices.copy_(self.worlds if mask is None else torch.where(mask, self.worlds, SKIP_VIEW))
        if self.anti_aliasing is not None and self.config is None:  # several rays a pixel: supersampled
            self.config = dataclasses.replace(sensor.default_render_config, anti_aliasing=self.anti_aliasing)
        sensor.update(
            state, self.poses, self.rays, world_indices=self._world_indices, render_config=self.config, **self.outputs
        )
        far, near = self.request.far, self.request.near
        if "depth" in self.images:  # 0 where the ray met nothing
            self.images["depth"].copy_(torch.where(self.raw_depth > 0, self.raw_depth, far).clamp_(near, far))
        if "segmentation" in self.images:  # the raw index is model-wide, 0xFFFFFFFF (-1 as int32) for nothing
            within_env = self.segments[self.raw_shapes.clamp(min=0).long()]
            self.images["segmentation"].copy_(torch.where(self.raw_shapes >= 0, within_env, SEGMENTATION_NOTHING))


def _model_with_a_world_per_env(
    robot: newton.ModelBuilder, xforms: Sequence[wp.transform], ground: bool, terrain, device: str
) -> newton.Model:
    """The physics model's clones at the same places, each in its own world, with the same shared ground; for
    rendering only (no solver)."""
    world = newton.ModelBuilder()
    newton.solvers.SolverMuJoCo.register_custom_attributes(world)  # the robot may carry MuJoCo's attributes
    newton_compat.replicate(world, robot, len(xforms), xforms, separate_worlds=True)
    if terrain is not None:
        newton_terrain.add_terrain(world, terrain)
    elif ground:
        world.add_ground_plane()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the physics model's finalize has reported its inertia corrections
        return world.finalize(device=device)


def _a_world_per_clone(model: newton.Model, num_envs: int, shapes_per_env: int) -> bool:
    """Whether clone i holds shapes [i S, (i + 1) S) of ``model``, all in world i, and the shapes after them belong
    to no world (the ground plane or the terrain)."""
    cloned = num_envs * shapes_per_env
    worlds = model.shape_world.numpy()
    expected = np.arange(cloned) // max(shapes_per_env, 1)
    return model.shape_count >= cloned and (worlds[:cloned] == expected).all() and (worlds[cloned:] < 0).all()


def _shape_in_env(model: newton.Model, num_envs: int, shapes_per_env: int) -> torch.Tensor:
    """Each shape's index within its env (S_total,) int32 on the model's device (in the clone's order); the shapes
    after the clones' read :data:`SEGMENTATION_GROUND`."""
    cloned = num_envs * shapes_per_env
    if not _a_world_per_clone(model, num_envs, shapes_per_env):
        raise BackendError("the rendered model's shapes are not laid out a clone at a time, each in its own world")
    segments = np.full(model.shape_count, SEGMENTATION_GROUND, dtype=np.int32)
    segments[:cloned] = np.arange(cloned) % max(shapes_per_env, 1)
    return torch.from_numpy(segments).to(wp.device_to_torch(model.device))
