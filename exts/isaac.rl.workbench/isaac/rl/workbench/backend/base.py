"""The physics backend contract: what a backend is asked to build (:class:`BackendRequest`), what the env reads from
and writes to the simulation (:class:`Backend`), with shapes and units, and what an engine module offers the
registry (:class:`PhysicsEngine`).

The env (``envs/workbench_env.py``) talks to physics only through these. Newton (``newton_backend.py``) implements
them on the CPU and the GPU; Isaac Sim's PhysX (``physx_backend.py``, tensor views of envs cloned on the stage)
implements the same names inside Isaac Sim. ``registry.py`` finds an engine by name.

Shapes: N = num_envs, D = the selected 1-DOF joints (the spec's ``joint_names``, in that column order),
B = rigid bodies per env (``body_paths`` order). Every tensor lives on ``device``. Masks are bool tensors (N,);
rows outside a mask are ignored, so no call needs to know on the host how many envs it touches.
Poses are (x, y, z, qx, qy, qz, qw) [m]; velocities are linear [m/s] then angular [rad/s], in world axes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch


@dataclass(frozen=True)
class ExplicitActuator:
    """A motor model the backend evaluates itself every physics step, in place of the solver's implicit drive:
    ``effort = stiffness * (target - q) - damping * qd`` on targets ``delay_steps`` physics steps old, clamped to
    ``effort_limit`` and, with ``saturation_effort`` set, to a DC motor's torque-speed curve (stall effort
    ``saturation_effort`` at rest falling to zero at ``velocity_limit``). Units: per radian for revolute joints,
    per metre for prismatic ones."""

    stiffness: float
    """[N·m/rad or N/m]"""
    damping: float
    """[N·m·s/rad or N·s/m]"""
    effort_limit: float = math.inf
    """[N·m or N]"""
    saturation_effort: float | None = None
    """DC motor stall effort [N·m or N]; None: no torque-speed curve."""
    velocity_limit: float = math.inf
    """DC motor no-load speed [rad/s or m/s]."""
    delay_steps: int = 0
    """[physics steps]"""


@dataclass(frozen=True, kw_only=True, eq=False)
class TerrainGround:
    """A static height grid in place of the ground plane, and where each env starts on it (plain data; the scene's
    terrain generator makes it)."""

    heights: np.ndarray
    """Ground height [m], float32, shape (NX, NY): sample [i, j] at ``(x0 + i * horizontal_scale, y0 + j *
    horizontal_scale)``, the grid centred on the world's origin (``x0 = -(NX - 1) * horizontal_scale / 2``); linear
    between samples."""
    horizontal_scale: float
    """Distance between neighbouring samples [m]."""
    env_origins: np.ndarray
    """Where each env starts [m], float32, shape (N, 3): its origin, on the ground under it; root poses at reset are
    relative to it."""


SEGMENTATION_NOTHING = -1
"""A camera's segmentation where its ray meets nothing within ``far``."""
SEGMENTATION_GROUND = -2
"""A camera's segmentation where its ray meets the ground every env shares (the ground plane or the terrain)."""


@dataclass(frozen=True, kw_only=True)
class CameraRequest:
    """A pinhole camera in every env (plain data; ``envs/backend_request.py`` makes one from a spec's
    ``[sensors.<name>]``). The camera frame looks along its own -Z axis, +Y up in the image, +X to the right."""

    name: str
    """The sensor's name: the key of its images in :meth:`Backend.render_cameras`."""
    body: str | None
    """The body the camera is mounted on, by name (the last component of its prim path), or None: fixed in the
    env's frame (at the env's origin, world axes)."""
    pos: tuple[float, float, float]
    """The camera's position in the body's (or the env's) frame [m]."""
    quat: tuple[float, float, float, float]
    """The camera frame's orientation in the body's (or the env's) frame, (x, y, z, w)."""
    width: int
    """Image width W [pixels], >= 1."""
    height: int
    """Image height H [pixels], >= 1."""
    fov: float
    """Vertical field of view [rad], in (0, pi)."""
    near: float
    """Nearest depth [m], > 0."""
    far: float
    """Farthest depth [m], > near."""
    data_types: tuple[str, ...]
    """What to render: any of ``"depth"``, ``"rgb"``, ``"segmentation"``."""
    samples_per_pixel: int = 1
    """Rays per pixel: 1 (the pixel's centre) or more (supersampled)."""


@dataclass(frozen=True, kw_only=True)
class BackendRequest:
    """What a backend builds: ``num_envs`` clones of one articulation of a USD scene, set up as a task spec asks, as
    plain data (``envs/backend_request.py`` makes one from a spec). D = the selected joints; every per-joint value
    is a tuple of D in ``joint_names`` order, NaN where the scene's value stays. Units: per radian for revolute
    joints, per metre for prismatic ones."""

    scene: Path
    """USD file holding the robot."""
    articulation: str
    """Prim path of the articulation root in ``scene``."""
    load_root: str
    """The prim loaded from ``scene``: the articulation root, or an ancestor that also holds its joints (URDF
    converters put the joints in a scope beside the bodies)."""
    joint_names: tuple[str, ...]
    """The D 1-DOF joints exposed, in the column order of every DOF tensor."""
    num_envs: int
    """Number of clones, N >= 1."""
    spacing: float
    """Distance between neighbouring clones where they share one world (Newton on the CPU, PhysX) [m]."""
    physics_dt: float
    """Physics time step [s]."""
    substeps: int
    """Physics steps per :meth:`Backend.step` (the env's decimation), >= 1."""
    device: str = "cpu"
    """"cpu" or "cuda[:i]": where the physics state and every tensor live."""
    position_control: bool = False
    """Drive the joints to position targets through the solver's PD (True) or by efforts (False)."""
    joint_overrides: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    """Drive values that replace the scene's, by key: ``stiffness`` [N·m/rad or N/m], ``damping`` [N·m·s/rad or
    N·s/m], ``effort_limit`` [N·m or N], ``velocity_limit`` [rad/s or m/s], ``armature`` [kg·m² or kg],
    ``friction`` [N·m or N], ``viscous_friction`` [N·m·s/rad or N·s/m]; each D values (per radian: an importer's
    per-degree USD gains are already converted)."""
    explicit_actuators: tuple[ExplicitActuator | None, ...] = ()
    """Each joint's motor model, None where the solver's implicit drive acts; D entries, or empty for none."""
    base: str | None = None
    """"floating" (a free root; a root the scene welds to the world is released), "fixed", or None: as the scene
    authors it."""
    root_height: float | None = None
    """A floating root's height at reset [m]; None keeps the scene's."""
    initial_joint_positions: tuple[float, ...] = ()
    """Each joint's position at reset [rad or m], D values (NaN keeps the scene's), or empty for the scene's."""
    self_collisions: bool = False
    """Whether the robot's links collide with each other."""
    ground: bool | None = None
    """Whether the envs stand on a ground plane at z = 0 that the robot collides with; None: exactly when the base
    floats."""
    terrain: TerrainGround | None = None
    """A height grid the envs stand on, in place of the ground plane (``ground`` is then ignored), each env at its
    own origin on it (``spacing`` is then ignored); None: the flat ground plane."""
    cameras: tuple[CameraRequest, ...] = ()
    """Cameras rendered in every env (:meth:`Backend.render_cameras`); empty for none."""
    cpu_solver: str = "mujoco"
    """Newton on the CPU: "mujoco" (MuJoCo, every env in one world) or "mujoco_warp" (MuJoCo-Warp on the CPU, one
    world per env, as on a GPU); ignored on a GPU and by other engines."""


class BackendError(RuntimeError):
    """The scene cannot be simulated as asked (a joint the engine did not load, a bad device, an engine whose
    libraries are absent, ...)."""


class Backend(Protocol):
    """``num_envs`` copies of one articulation, stepped together.

    The tensors below are read-only views of the simulation state (an implementation may compute them on each
    access); write state only through :meth:`reset`, :meth:`write_dof_state` and :meth:`add_root_velocity`.
    """

    num_envs: int
    """Number of env clones, N."""
    device: torch.device
    """Where the physics state and every tensor below live."""
    joint_names: list[str]
    """The D selected 1-DOF joints, in the column order of the DOF tensors."""
    body_paths: list[str]
    """USD prim paths of the B rigid bodies of one env, in the row order of :attr:`body_poses`."""
    floating_base: bool
    """True when the articulation's root moves freely (a 6-DOF root), False when it is fixed to the world."""
    env_origins: torch.Tensor
    """World position of each env's origin [m], shape (N, 3); root and body positions are world positions."""
    supports_cuda_graph: bool
    """True when :meth:`step` and :meth:`reset` may be recorded inside :meth:`graph_capture`."""

    dof_positions: torch.Tensor
    """Joint positions [rad or m], shape (N, D)."""
    dof_velocities: torch.Tensor
    """Joint velocities [rad/s or m/s], shape (N, D)."""
    default_dof_positions: torch.Tensor
    """Joint positions of the scene as authored [rad or m], shape (N, D)."""
    dof_pos_limits: torch.Tensor
    """Lower and upper position limit of each joint [rad or m], shape (D, 2), the same in every env; -inf / inf
    where a joint has no limit."""
    root_pose: torch.Tensor
    """World pose of the root body, shape (N, 7)."""
    root_velocity: torch.Tensor
    """World linear then angular velocity of the root body, shape (N, 6)."""
    body_poses: torch.Tensor
    """World poses of every body, shape (N, B, 7)."""
    body_velocities: torch.Tensor
    """World linear then angular velocity of every body, shape (N, B, 6)."""
    contact_forces: torch.Tensor
    """Net contact force on every body [N], world axes, shape (N, B, 3), at the last physics step of :meth:`step`.
    An implementation may start measuring at the first read (before any CUDA-graph capture)."""

    def set_dof_efforts(self, efforts: torch.Tensor) -> None:
        """Joint forces/torques [N or N·m] for the next :meth:`step`, shape (N, D)."""
        ...

    def set_dof_position_targets(self, targets: torch.Tensor) -> None:
        """Joint position targets [rad or m] for the next :meth:`step`, shape (N, D)."""
        ...

    def step(self) -> None:
        """Advance every env by one env step (the spec's ``decimation`` physics steps)."""
        ...

    def reset(
        self,
        env_mask: torch.Tensor,
        dof_positions: torch.Tensor | None = None,
        dof_velocities: torch.Tensor | None = None,
        root_pose: torch.Tensor | None = None,
        root_velocity: torch.Tensor | None = None,
    ) -> None:
        """Write a new state into the envs where ``env_mask`` (N,) is True; other envs are untouched.

        Arguments have the shapes of the matching properties, for all N envs; ``root_pose`` is relative to the
        env origin. What is not given is set to the scene's default state.
        """
        ...

    def write_dof_state(
        self, env_mask: torch.Tensor, dof_positions: torch.Tensor, dof_velocities: torch.Tensor
    ) -> None:
        """Set joint positions and velocities (N, D) where ``env_mask`` is True, mid-episode; roots are untouched."""
        ...

    def add_root_velocity(self, env_mask: torch.Tensor, delta: torch.Tensor) -> None:
        """Add ``delta`` (N, 6) to the root velocity where ``env_mask`` is True (no effect on a fixed base)."""
        ...

    def move_env_origins(self, env_mask: torch.Tensor, origins: torch.Tensor) -> None:
        """Move the origin of the envs where ``env_mask`` (N,) is True to ``origins`` (N, 3) [m] (a terrain
        curriculum's new tile); a floating root's default pose moves with it, so the next :meth:`reset` puts the
        robot there. Never waits for the GPU (it may be recorded inside :meth:`graph_capture`)."""
        ...

    def joint_inertias(self) -> torch.Tensor:
        """The effective inertia about each selected joint's axis at the current pose [kg·m² or kg], shape (N, D),
        armature included, the other joints free: what a joint's PD gains act on. May wait for the GPU."""
        ...

    def get_property(self, name: str) -> torch.Tensor:
        """A copy of physics property ``name`` for every env: ``body_mass`` (N, B) [kg], ``body_com`` (N, B, 3) [m]
        in the body frame, ``shape_friction`` (N, S) over each env's S shapes,
        ``dof_stiffness``, ``dof_damping`` (the solver's PD gains), ``dof_friction``, ``dof_armature``,
        ``dof_viscous_friction`` (passive damping) (N, D)."""
        ...

    def set_property(self, name: str, env_mask: torch.Tensor, values: torch.Tensor) -> None:
        """Write physics property ``name`` (shape as :meth:`get_property`) where ``env_mask`` (N,) is True; a new
        ``body_mass`` scales the body's inertia with it. Host work in the solver: not inside a CUDA graph."""
        ...

    def find_unstable(self, max_joint_speed: float, max_root_speed: float, max_root_distance: float) -> torch.Tensor:
        """Envs whose simulation blew up, BoolTensor (N,): joint state not finite, a joint (or the root's rotation)
        faster than ``max_joint_speed`` [rad/s or m/s], the root faster than ``max_root_speed`` [m/s] or further
        than ``max_root_distance`` [m] from its env origin. Never waits for the GPU; the result may be a buffer
        that the next call overwrites."""
        ...

    def clear_solver_state(self, env_mask: torch.Tensor) -> None:
        """Forget the solver's internal state (warm start, applied forces) in the masked envs, after a blow-up;
        call it before :meth:`reset` writes their fresh state. Other envs are untouched."""
        ...

    def shared_world_failure(self) -> str | None:
        """Why the simulation of every env failed at once (an engine that simulates all envs as one world and reset
        it after one env blew up), or None. Never waits for the GPU."""
        ...

    def cast_rays(self, origins: torch.Tensor, directions: torch.Tensor, max_distance: float) -> torch.Tensor:
        """Distance [m] along each ray to the first static ground it meets (the terrain, or the ground plane),
        ``max_distance`` [m] where it meets none that near, shape (N, R); the robots' own shapes are never hit.
        ``origins``: world positions [m], (N, R, 3); ``directions``: (N, R, 3) or broadcastable to it, any length.
        Never waits for the GPU (it may be recorded inside :meth:`graph_capture`)."""
        ...

    def render_cameras(self, env_masks: Mapping[str, torch.Tensor] | None = None) -> dict[str, dict[str, torch.Tensor]]:
        """Render the request's cameras and return every camera's images, by camera name then data type:

        - ``depth``: (N, H, W) float32 [m], the distance along the camera's view axis (forward depth), clamped to
          [near, far]; ``far`` where the ray meets nothing that near;
        - ``rgb``: (N, H, W, 3) uint8, colour (sRGB);
        - ``segmentation``: (N, H, W) int32, the index of the shape the pixel sees within its env (the same number
          in every env for the same shape of the robot), :data:`SEGMENTATION_GROUND` for the ground every env
          shares, :data:`SEGMENTATION_NOTHING` for nothing within ``far``.

        Each env's camera sees its own env only. ``env_masks``: camera name -> (N,) bool, render only those cameras
        and, in each, only the masked envs (the others keep their last images); None renders every camera in every
        env. The tensors are buffers allocated once, overwritten by the next render. Never waits for the GPU (it
        may be recorded inside :meth:`graph_capture`)."""
        ...

    def graph_capture(self) -> AbstractContextManager[None]:
        """A context inside which this backend's work is recorded into the CUDA graph torch is capturing."""
        ...

    def close(self) -> None:
        """Release what the backend holds (its model, solver state, device memory, the stage's simulation); the
        backend cannot be used afterwards."""
        ...


class PhysicsEngine(Protocol):
    """A physics engine as ``registry.py`` finds it by name: a module of this package offering these names."""

    def build(self, request: BackendRequest, phase_done: Callable[[str], None] = ...) -> Backend:
        """The backend ``request`` asks for; ``phase_done`` is called with the name of each start-up phase as it ends
        (start-up timing). Raises :class:`BackendError` when the scene cannot be simulated as asked."""
        ...

    bytes_per_env: Callable[[BackendRequest], tuple[float, float]] | None
    """([bytes] per env, [bytes] fixed) of the physics ``request`` asks for on its device, measured on small builds
    (the env-size check before a large GPU build); None where the engine cannot measure it."""
    inertia_corrections: Callable[[BackendRequest], list[str]] | None
    """What the engine's own mass and inertia validation corrects in the robot of ``request``, one message per body
    (``doctor``); None where the engine validates nothing."""
