"""The spec's action mapping (``[actions]``): the policy's actions clipped, delayed per env, scaled, and sent to the
physics as joint efforts (``joint_effort``) or as PD position targets around the default pose (``joint_position``).

Shapes: N = num_envs, A = num_actions (the spec's ``actions.joints``), D = joints of the articulation (1-DOF), in
``spec.joint_names`` order.
"""

from __future__ import annotations

import torch

from ..backend.base import Backend
from ..specs.schema import TaskSpec


class ActionMapping:
    """From a step's actions to the joint commands of the physics.

    Args:
        spec: the task spec (its ``[actions]`` table, joint names and effort limits).
        backend: the physics the commands go to, and whose joint state the effort of a PD target is computed at.
        joints: the columns of the A action joints among the D joints (a slice when consecutive).
        all_effort_limits: (D,) every joint's effort limit [N·m or N].
        device: where every tensor lives.

    Attributes:
        actions (Tensor (N, A)): this step's actions after clipping, before scaling.
        prev_actions (Tensor (N, A)): the previous step's actions.
        dof_effort (Tensor (N, D)): the joint efforts commanded this step [N·m or N]; under position control, what
            the solver's PD applies when the targets are set (clamped to the effort limits).
    """

    def __init__(
        self,
        spec: TaskSpec,
        backend: Backend,
        joints: slice | torch.Tensor,
        all_effort_limits: torch.Tensor,
        device: torch.device,
    ):
        n, num_actions = spec.env.num_envs, len(spec.actions.joints)
        self._num_envs, self._device = n, device
        self._spec = spec.actions
        self._backend = backend
        self._joints = joints
        # Newton applies joint efforts as given; the USD drive's max force bounds them here.
        self._effort_limits = torch.tensor(spec.effort_limits, device=device)[joints]
        self._scales = torch.tensor(spec.actions.joint_scales(), device=device)  # (A,)
        self._all_effort_limits = all_effort_limits
        self.actions = torch.zeros(n, num_actions, device=device)
        self.prev_actions = torch.zeros_like(self.actions)
        self.dof_effort = torch.zeros(n, len(spec.joint_names), device=device)
        self._env_ids = torch.arange(n, device=device)
        low, high = spec.actions.delay_steps
        self._history = torch.zeros(high + 1, n, num_actions, device=device) if high > 0 else None
        self._delay = torch.zeros(n, dtype=torch.long, device=device)
        self._delay_range = spec.actions.delay_steps
        self._targets = backend.default_dof_positions.clone()

    @property
    def delay_range(self) -> tuple[int, int]:
        """(low, high) [env steps]: each env's action delay is drawn in this range when it resets."""
        return self._delay_range

    def set_delay_range(self, low: int, high: int) -> None:
        """Draw each env's action delay in [``low``, ``high``] env steps from its next reset on, within the delays
        this mapping was built for (0 to the high end of the spec's ``actions.delay_steps``)."""
        most = 0 if self._history is None else self._history.shape[0] - 1
        if not 0 <= low <= high <= most:
            raise ValueError(f"action delay [{low}, {high}] env steps: this env holds delays of 0 to {most}")
        self._delay_range = (int(low), int(high))

    def take(self, actions: torch.Tensor) -> None:
        """This step's actions (N, A), clipped to ``actions.clip``; the last step's become :attr:`prev_actions`."""
        self.prev_actions.copy_(self.actions)
        clip = self._spec.clip
        self.actions.copy_(actions if clip is None else torch.clamp(actions, -clip, clip))

    def apply(self, stiffness: torch.Tensor | None, damping: torch.Tensor | None) -> None:
        """Send each env's action of ``delay`` steps ago, scaled, to the physics, and set :attr:`dof_effort`.

        ``stiffness`` and ``damping`` (N, D): the solver's PD gains, which the effort of a ``joint_position``
        target is computed with (unused for ``joint_effort``)."""
        actions = self.actions
        if self._history is not None:  # the physics gets each env's action of `delay` steps ago
            self._history.copy_(torch.roll(self._history, 1, dims=0))
            self._history[0] = actions
            actions = self._history[self._delay, self._env_ids]
        command = actions * self._scales
        ids, backend = self._joints, self._backend
        if self._spec.type == "joint_effort":
            self.dof_effort[:, ids] = torch.clamp(command, -self._effort_limits, self._effort_limits)
            backend.set_dof_efforts(self.dof_effort)
        else:
            self._targets[:, ids] = backend.default_dof_positions[:, ids] + command
            backend.set_dof_position_targets(self._targets)
            # what the solver's PD will apply at this state: the joint efforts that torque penalties read
            effort = stiffness * (self._targets - backend.dof_positions) - damping * backend.dof_velocities
            self.dof_effort.copy_(torch.clamp(effort, -self._all_effort_limits, self._all_effort_limits))

    def reset(self, mask: torch.Tensor) -> None:
        """Zero the actions (and the delayed ones) of the envs where ``mask`` (N,) is set, and draw their delays."""
        keep = (~mask).unsqueeze(1).float()
        self.actions.mul_(keep)
        self.prev_actions.mul_(keep)
        if self._history is not None:
            self._history.mul_(keep)
            low, high = self._delay_range
            delay = torch.randint(low, high + 1, (self._num_envs,), device=self._device)
            self._delay.copy_(torch.where(mask, delay, self._delay))
