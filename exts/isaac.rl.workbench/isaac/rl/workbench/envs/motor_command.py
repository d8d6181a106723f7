"""Joint commands in place of actions: the env driven as a robot's motors are (:meth:`.workbench_env.WorkbenchEnv.
set_motor_command`), so that a robot runtime drives the simulation exactly as it drives hardware.

Each motor applies ``tau + kp (q - pos) + kd (dq - vel)``. How that reaches the physics:

- ``joint_position`` tasks (the solver's PD drives the joints): ``q`` goes to the solver as position targets, ``kp``
  and ``kd`` become the solver's PD gains (written only when they change), and ``tau + kd dq`` is added as a joint
  effort; the PD is then evaluated inside every physics step, as in training. Joints with an explicit actuator model
  keep their model's gains; only their targets follow ``q``.
- ``joint_effort`` tasks (no PD in the solver): the effort is computed at the start of the env step, held over its
  physics steps and clamped to the effort limits.

Shapes: N envs, D joints in ``spec.joint_names`` order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..backend.base import Backend
from .physics_properties import PhysicsProperties


@dataclass(frozen=True)
class MotorCommand:
    """What every joint's motor is told, each (N, D) in ``spec.joint_names`` order."""

    q: torch.Tensor
    """Position target [rad or m]."""
    dq: torch.Tensor
    """Velocity target [rad/s or m/s]."""
    kp: torch.Tensor
    """Position gain [N·m/rad or N/m]."""
    kd: torch.Tensor
    """Velocity gain [N·m·s/rad or N·s/m]."""
    tau: torch.Tensor
    """Feed-forward effort [N·m or N]."""


class MotorDrive:
    """Applies :class:`MotorCommand` s to the physics.

    Args:
        backend: the env's physics.
        properties: the env's physics properties (the gains are written through them).
        position_control: True for ``joint_position`` tasks.
        stiffness, damping: the solver's PD gains now, (N, D) (``joint_position`` tasks; else None).
        effort_limits: (D,) [N·m or N].
    """

    def __init__(
        self,
        backend: Backend,
        properties: PhysicsProperties,
        position_control: bool,
        stiffness: torch.Tensor | None,
        damping: torch.Tensor | None,
        effort_limits: torch.Tensor,
    ):
        self._backend, self._properties = backend, properties
        self._everywhere = torch.ones(backend.num_envs, dtype=torch.bool, device=backend.device)
        self._position_control = position_control
        self.stiffness, self.damping = stiffness, damping
        """The solver's PD gains as this drive last wrote them, (N, D)."""
        self._effort_limits = effort_limits
        self._feedforward = False  # whether the last command set a feed-forward effort

    def apply(self, command: MotorCommand, dof_pos: torch.Tensor, dof_vel: torch.Tensor) -> torch.Tensor:
        """Set ``command`` for the next physics steps at joint state ``dof_pos``, ``dof_vel`` (N, D); returns the
        efforts (N, D) [N·m or N] the motors apply at this state, clamped to the effort limits."""
        c, limits = command, self._effort_limits
        if not self._position_control:
            effort = torch.clamp(c.tau + c.kp * (c.q - dof_pos) + c.kd * (c.dq - dof_vel), -limits, limits)
            self._backend.set_dof_efforts(effort)
            return torch.clamp(effort, -limits, limits)
        if not torch.equal(c.kp, self.stiffness):
            self._properties.write("dof_stiffness", self._everywhere, c.kp)
            self.stiffness = c.kp
        if not torch.equal(c.kd, self.damping):
            self._properties.write("dof_damping", self._everywhere, c.kd)
            self.damping = c.kd
        self._backend.set_dof_position_targets(c.q)
        feedforward = c.tau + c.kd * c.dq
        if self._feedforward or bool(feedforward.any()):
            self._backend.set_dof_efforts(feedforward)
            self._feedforward = bool(feedforward.any())
        effort = c.kp * (c.q - dof_pos) - c.kd * dof_vel + feedforward
        return torch.clamp(effort, -limits, limits)
