"""The physics backend contract: what the env reads from and writes to the simulation, with shapes and units.

The env (``envs/workbench_env.py``) talks to physics only through this Protocol. Newton (``newton_backend.py``)
implements it on the CPU and the GPU; an Isaac Sim backend (PhysX tensor views) implements the same names.

Shapes: N = num_envs, D = the selected 1-DOF joints (the spec's ``joint_names``, in that column order),
B = rigid bodies per env (``body_paths`` order). Every tensor lives on ``device``. Masks are bool tensors (N,);
rows outside a mask are ignored, so no call needs to know on the host how many envs it touches.
Poses are (x, y, z, qx, qy, qz, qw) [m]; velocities are linear [m/s] then angular [rad/s], in world axes.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

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


class BackendError(RuntimeError):
    """The scene cannot be simulated as asked (a joint the engine did not load, a bad device, ...)."""


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

    def graph_capture(self) -> AbstractContextManager[None]:
        """A context inside which this backend's work is recorded into the CUDA graph torch is capturing."""
        ...
