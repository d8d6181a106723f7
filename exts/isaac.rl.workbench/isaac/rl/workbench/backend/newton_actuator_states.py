"""The explicit motor models of a Newton model at run time: their per-env states (a delay's buffer of past
targets), evaluated into ``joint_f`` every physics step and emptied when an env resets.

``newton_robot.add_explicit_actuators`` adds the actuators to the robot's builder; this module steps them.
Shapes: N = num_envs, V = DOFs per env, A = actuated DOFs of one Newton actuator over every env.
"""

from __future__ import annotations

import newton
import torch
import warp as wp
from newton.actuators import Actuator


class ExplicitActuatorStates:
    """Newton's actuators with their two states each (read, then written; the written one is copied back after
    each physics step, so a captured graph always reads the same buffers), each actuator's env per entry, and the
    effort commands that ``joint_f`` starts every physics step from (actuators add theirs to it).

    Args:
        model: the finalized model; its ``actuators`` (none when no joint has an explicit motor model) index
            DOFs env-major, V per env.
        control: the control whose ``joint_f`` the actuators write.
        dofs_per_env: V.
        device: where the per-entry env indices and reset masks live.
    """

    def __init__(self, model: newton.Model, control: newton.Control, dofs_per_env: int, device: torch.device):
        self.actuators: list[Actuator] = list(model.actuators)
        self.current_states: list[Actuator.State | None] = []
        """Each actuator's state the next physics step reads (None for a stateless actuator)."""
        self.following_states: list[Actuator.State | None] = []
        """Each actuator's state the next physics step writes, then copied into :attr:`current_states`."""
        self.env_of: list[torch.Tensor] = []
        """Each actuator's env of every entry, LongTensor (A,)."""
        self.reset_masks: list[torch.Tensor] = []
        """Each actuator's entries to reset, BoolTensor (A,), filled by :meth:`reset`."""
        for actuator in self.actuators:
            self.current_states.append(actuator.state())
            self.following_states.append(actuator.state())
            self.env_of.append(torch.tensor(actuator.indices.numpy().astype("int64") // dofs_per_env, device=device))
            self.reset_masks.append(torch.zeros(actuator.num_actuators, dtype=torch.bool, device=device))
        self.wp_reset_masks = [wp.from_torch(mask) for mask in self.reset_masks]
        self.effort_commands = wp.clone(control.joint_f) if self.actuators else control.joint_f
        """The efforts commanded [N or N·m], (N·V,): ``joint_f`` itself when there is no actuator, else a buffer
        that :meth:`apply` copies into ``joint_f`` before the actuators add theirs."""

    def apply(self, state: newton.State, control: newton.Control, dt: float) -> None:
        """``joint_f`` = the effort commands plus every explicit actuator's effort for one physics step of ``dt``
        [s] (graph-capturable); nothing without actuators."""
        if not self.actuators:
            return
        wp.copy(control.joint_f, self.effort_commands)
        for actuator, current, following in zip(
            self.actuators, self.current_states, self.following_states, strict=True
        ):
            actuator.step(state, control, current, following, dt=dt)
            if current is not None:
                current.assign(following)

    def reset(self, env_mask: torch.Tensor) -> None:
        """Empty the delay buffers of the envs where ``env_mask`` (N,) is set: a new episode acts on its own first
        targets."""
        for current, following, env_of, mask, wp_mask in zip(
            self.current_states, self.following_states, self.env_of, self.reset_masks, self.wp_reset_masks, strict=True
        ):
            if current is not None:
                mask.copy_(env_mask[env_of])
                current.reset(wp_mask)
                following.reset(wp_mask)
