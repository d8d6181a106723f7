"""What tools drive of a :class:`~.workbench_env.WorkbenchEnv`'s physics directly, below the MDP: a benchmark's raw
stepping, a log replay that sets joint commands and steps physics alone, a sweep that writes physics properties, a
simulated robot whose motors take joint commands in place of actions. Nothing here runs a term, a reset or an event
of its own accord.

Shapes: N = num_envs, D = joints of the articulation (1-DOF), in ``spec.joint_names`` order.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..backend.base import Backend
from ..specs.schema import TaskSpec, TermSpec
from .derived_state import DerivedState
from .motor_command import MotorCommand, MotorDrive
from .physics_properties import PhysicsProperties


class PhysicsAccess:
    """The physics of the env's N envs, as a tool drives it (a mixin of the env: the attributes below are the
    env's)."""

    backend: Backend
    spec: TaskSpec
    num_envs: int
    device: torch.device
    body_names: list[str]
    randomized_params: torch.Tensor
    randomized_param_names: list[str]
    _derived: DerivedState
    _properties: PhysicsProperties
    _startup_events: list[TermSpec]
    _params: dict[int, dict]
    _all_effort_limits: torch.Tensor
    _stiffness: torch.Tensor | None
    _damping: torch.Tensor | None
    _motor_drive: MotorDrive | None
    _motor_command: MotorCommand | None
    resolve_params: Callable[[dict], dict]

    # -- raw physics ----------------------------------------------------------------------------------------------
    def set_joint_efforts(self, efforts: torch.Tensor) -> None:
        """Joint efforts (N, D) [N·m or N] for the next :meth:`step_physics`, added to what the solver's PD applies."""
        self.backend.set_dof_efforts(efforts)

    def set_joint_position_targets(self, targets: torch.Tensor) -> None:
        """Joint position targets (N, D) [rad or m] of the solver's PD for the next :meth:`step_physics`."""
        self.backend.set_dof_position_targets(targets)

    def step_physics(self) -> None:
        """Advance the physics of every env by one env step (``decimation`` physics steps) under the joint commands
        last set; nothing else runs (the env's own step calls this for its physics)."""
        self.backend.step()
        self._derived.clear()

    def reset_physics(
        self,
        env_mask: torch.Tensor,
        dof_positions: torch.Tensor,
        dof_velocities: torch.Tensor,
        root_pose: torch.Tensor | None = None,
    ) -> None:
        """Put the joints of the envs where ``env_mask`` (N,) is set at ``dof_positions`` [rad or m] and
        ``dof_velocities`` [rad/s or m/s] (N, D), their root at ``root_pose`` (N, 7) relative to the env origin
        (x, y, z [m], qx, qy, qz, qw; None: its start pose) and at rest; no event runs."""
        self.backend.reset(env_mask, dof_positions, dof_velocities, root_pose)
        self._derived.clear()

    def physics_failure(self) -> str | None:
        """Why the simulation of every env failed at once (the CPU's one shared MuJoCo world, which stays failed),
        else None. Never waits for the GPU."""
        return self.backend.shared_world_failure()

    def joint_inertias(self) -> torch.Tensor:
        """The effective inertia about each joint's axis at the current pose (N, D) [kg·m² or kg], armature
        included, the other joints free: what a joint's PD gains act on. May wait for the GPU."""
        return self.backend.joint_inertias()

    # -- physics properties ---------------------------------------------------------------------------------------
    def physics_property(self, name: str) -> torch.Tensor:
        """A copy of physics property ``name`` of every env: ``body_mass`` (N, B) [kg], ``body_com`` (N, B, 3) [m] in
        the body frame, ``shape_friction`` (N, S) over each env's S collision shapes, ``dof_stiffness``,
        ``dof_damping`` (the solver's PD gains), ``dof_friction``, ``dof_armature``, ``dof_viscous_friction``
        (passive damping) (N, D) (:mod:`.physics_properties`)."""
        return self._properties.read(name)

    def write_physics_property(self, name: str, env_mask: torch.Tensor, values: torch.Tensor) -> None:
        """Write physics property ``name`` (shaped as :meth:`physics_property`) where ``env_mask`` (N,) is True,
        between steps (a sweep, a log replay, a simulated robot; an env stepped without a CUDA graph); nothing is
        recorded as randomisation. The efforts the torque terms read follow new PD gains."""
        self._properties.write(name, env_mask, values)
        self._follow_gains()

    def redraw_startup_events(self, params: dict[str, dict]) -> None:
        """Run the spec's start-up events again on every env, from the scene's physics values, each with its spec
        params updated by ``params[<event name>]`` (spec-style values, e.g. a range pinned to ``(v, v)``). Their
        draws are observable in ``randomized_params``, normalised over the spec's own ranges (what a policy trained
        with); each property whose values change is written once
        (:meth:`.physics_properties.PhysicsProperties.redraw`). A robustness sweep sets each of its points so."""
        everywhere = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
        self._properties.redraw(
            [
                (
                    term.name,
                    lambda resolved, term=term: term.func(self, everywhere, **resolved),
                    self._params[id(term)],
                    self.resolve_params({**term.params, **params.get(term.name, {})}),
                )
                for term in self._startup_events
            ]
        )
        self.randomized_params = self._properties.randomized.values
        self.randomized_param_names = self._properties.randomized.names
        self._follow_gains()

    # -- joint commands in place of actions -----------------------------------------------------------------------
    @property
    def motor_command(self) -> MotorCommand | None:
        """The joint command the physics takes in place of the actions (:meth:`set_motor_command`), or None."""
        return self._motor_command

    def set_motor_command(self, command: MotorCommand | None) -> None:
        """From the next ``step`` on, drive the joints with ``command`` (each (N, D)) in place of the action
        mapping, as the robot's motors would (:mod:`.motor_command`), so that a robot runtime drives the simulation
        as it drives hardware. The actions given to ``step`` are still what the action terms read. None: the action
        mapping again."""
        if command is not None and self._motor_drive is None:
            position_control = self.spec.actions.type == "joint_position"
            self._motor_drive = MotorDrive(
                self.backend,
                self._properties,
                position_control,
                self._stiffness,
                self._damping,
                self._all_effort_limits,
            )
        self._motor_command = command
        if command is None and self._motor_drive is not None:
            self._follow_gains()

    def _follow_gains(self) -> None:
        """The solver's PD gains (N, D) as the action mapping of ``joint_position`` tasks reads them."""
        if self.spec.actions.type == "joint_position":
            self._stiffness = self.physics_property("dof_stiffness")
            self._damping = self.physics_property("dof_damping")

    def _property_labels(self, name: str) -> list[str] | None:
        """A name per column of physics property ``name``: bodies, joints, or None (shapes)."""
        return {"body": self.body_names, "dof": self.spec.joint_names}.get(name.split("_", 1)[0])
