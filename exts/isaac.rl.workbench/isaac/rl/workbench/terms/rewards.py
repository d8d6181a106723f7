"""Reward terms: ``(env, **params) -> Tensor[num_envs]``, named ``<quantity>_<kernel>``.

The env multiplies each term by its weight and by the env step duration (seconds), as Isaac Lab does, so a
weight is a rate per second and returns do not change with the control frequency.
"""

from __future__ import annotations

import torch

from . import terminations

__all__ = [
    "position_command_error",
    "position_command_error_tanh",
    "track_lin_vel_xy_exp",
    "track_ang_vel_z_exp",
    "lin_vel_z_l2",
    "ang_vel_xy_l2",
    "flat_orientation_l2",
    "feet_air_time",
    "undesired_contacts",
    "progress_to_position_command",
    "position_command_reached_bonus",
    "is_alive",
    "is_terminated",
    "joint_pos_l2",
    "joint_pos_target_l2",
    "joint_vel_l1",
    "joint_vel_l2",
    "joint_effort_l2",
    "action_l2",
    "action_rate_l2",
    "lin_vel_x_w",
    "upright",
    "joint_power_l1",
    "joint_vel_sum",
    "com_lin_vel_x_w",
    "contact_forces_l2",
    "body_distance",
]

ALL = slice(None)


def is_alive(env) -> torch.Tensor:
    """1 for every env that did not terminate this step (time-outs count as alive)."""
    return (~env.terminated).float()


def is_terminated(env) -> torch.Tensor:
    """1 for every env that terminated this step, excluding time-outs (use with a negative weight)."""
    return env.terminated.float()


def joint_pos_l2(env, joints=ALL) -> torch.Tensor:
    """Sum of squared joint positions relative to the default pose [rad^2 or m^2]."""
    return torch.sum(torch.square(env.dof_pos[:, joints] - env.default_dof_pos[:, joints]), dim=1)


def joint_pos_target_l2(env, target: float, joints=ALL) -> torch.Tensor:
    """Sum of squared distances of the joint positions to ``target`` [rad^2 or m^2]."""
    return torch.sum(torch.square(env.dof_pos[:, joints] - target), dim=1)


def joint_vel_l1(env, joints=ALL) -> torch.Tensor:
    """Sum of absolute joint velocities [rad/s or m/s]."""
    return torch.sum(torch.abs(env.dof_vel[:, joints]), dim=1)


def joint_vel_l2(env, joints=ALL) -> torch.Tensor:
    """Sum of squared joint velocities."""
    return torch.sum(torch.square(env.dof_vel[:, joints]), dim=1)


def joint_effort_l2(env, joints=ALL) -> torch.Tensor:
    """Sum of squared commanded joint efforts [N^2 or (N m)^2]."""
    return torch.sum(torch.square(env.dof_effort[:, joints]), dim=1)


def joint_power_l1(env, joints=ALL) -> torch.Tensor:
    """Mechanical power, sum of abs(effort * velocity) over the joints [W]."""
    return torch.sum(torch.abs(env.dof_effort[:, joints] * env.dof_vel[:, joints]), dim=1)


def action_l2(env) -> torch.Tensor:
    """Sum of squared actions (policy outputs before scaling)."""
    return torch.sum(torch.square(env.actions), dim=1)


def action_rate_l2(env) -> torch.Tensor:
    """Sum of squared changes of the action since the previous step."""
    return torch.sum(torch.square(env.actions - env.prev_actions), dim=1)


def lin_vel_x_w(env) -> torch.Tensor:
    """Velocity of the root body along the world x axis [m/s]."""
    return env.root_lin_vel_w[:, 0]


def joint_vel_sum(env, joints=ALL) -> torch.Tensor:
    """Sum of the selected joints' signed velocities [rad/s or m/s]; of one joint, its velocity: a planar robot's
    forward speed is the velocity of its root's x slide (``joints = ["rootx"]``, Gymnasium's ``qvel[0]``)."""
    return torch.sum(env.dof_vel[:, joints], dim=1)


def com_lin_vel_x_w(env) -> torch.Tensor:
    """Velocity of the robot's centre of mass along the world x axis [m/s]: the bodies' centre-of-mass velocities
    (N, B) weighted by their masses [kg] (Gymnasium Humanoid's ``mass_center`` speed)."""
    mass = env.physics_property("body_mass")
    return torch.sum(mass * env.body_lin_vel_w[..., 0], dim=1) / torch.sum(mass, dim=1).clamp(min=1e-9)


def contact_forces_l2(env, bodies=ALL, clip: float | None = None, max_total: float | None = None) -> torch.Tensor:
    """Sum over ``bodies`` (default all) of the squared components of each body's net contact force in world axes
    [N^2]; with ``clip`` [N], each component is first clipped to [-clip, clip] (Gymnasium Ant's
    ``contact_force_range``), with ``max_total`` [N^2] the sum is capped (Gymnasium Humanoid's
    ``contact_cost_range`` divided by its weight). Forces only: MuJoCo's ``cfrc_ext`` also holds three torques."""
    force = env.contact_forces_w[:, bodies]
    if clip is not None:
        force = force.clamp(-clip, clip)
    total = torch.sum(torch.square(force), dim=(1, 2))
    return total if max_total is None else total.clamp(max=max_total)


def body_distance(env, bodies) -> torch.Tensor:
    """Distance between the two bodies ``bodies = [a, b]`` (their frames' origins) [m]: a fingertip to its target
    (Gymnasium Reacher's ``reward_dist`` with a negative weight)."""
    return torch.linalg.vector_norm(_body_offset(env, bodies), dim=1)


def _body_offset(env, bodies) -> torch.Tensor:
    """Position of ``bodies[0]`` minus that of ``bodies[1]``, world axes [m], shape (N, 3)."""
    if bodies.numel() != 2:
        raise ValueError(f"bodies: expected two bodies [a, b], got {bodies.numel()}")
    positions = env.body_pos_w[:, bodies]
    return positions[:, 0] - positions[:, 1]


def upright(env) -> torch.Tensor:
    """Cosine of the root body's tilt: 1 when its z axis points up, -1 upside down."""
    return -env.projected_gravity_b[:, 2]


# -- commands ----------------------------------------------------------------------------------------------------
def position_command_error(env, command: str, body: str) -> torch.Tensor:
    """Distance from body ``body`` to the target position of command ``command`` [m]."""
    return torch.linalg.vector_norm(env.body_pos_w[:, body] - env.command(command), dim=1)


def position_command_error_tanh(env, command: str, body: str, std: float) -> torch.Tensor:
    """``1 - tanh(distance / std)``: 1 at the target of command ``command``, falling off over ``std`` [m]."""
    return 1.0 - torch.tanh(position_command_error(env, command, body) / std)


def track_lin_vel_xy_exp(env, command: str, std: float) -> torch.Tensor:
    """``exp(-‖v_xy - command_xy‖² / std²)``: the root's planar velocity in its heading frame against a
    velocity command's (vx, vy); ``std`` [m/s]."""
    error = torch.sum(torch.square(env.command(command)[:, :2] - env.root_lin_vel_yaw[:, :2]), dim=1)
    return torch.exp(-error / std**2)


def track_ang_vel_z_exp(env, command: str, std: float) -> torch.Tensor:
    """``exp(-(w_z - command_wz)² / std²)``: the root's yaw rate against a velocity command's; ``std`` [rad/s]."""
    error = torch.square(env.command(command)[:, 2] - env.root_velocity_w[:, 5])
    return torch.exp(-error / std**2)


def progress_to_position_command(env, command: str, body: str | None = None) -> torch.Tensor:
    """The planar speed of body ``body`` (default the root) towards the target of command ``command`` [m/s]
    (negative when moving away)."""
    position = env.root_pos_w if body is None else env.body_pos_w[:, body]
    velocity = env.root_lin_vel_w if body is None else env.body_lin_vel_w[:, body]
    to_target = env.command(command)[:, :2] - position[:, :2]
    direction = to_target / torch.linalg.vector_norm(to_target, dim=1, keepdim=True).clamp(min=1e-6)
    return torch.sum(velocity[:, :2] * direction, dim=1)


def position_command_reached_bonus(env, command: str, radius: float, body: str | None = None) -> torch.Tensor:
    """1 where body ``body`` (default the root) is within ``radius`` [m] of the target of command ``command``: an
    arrival bonus (the weight is per second, so one step pays weight x step duration)."""
    return terminations.position_command_reached(env, command, radius, body).float()


# -- legged ------------------------------------------------------------------------------------------------------
def lin_vel_z_l2(env) -> torch.Tensor:
    """Squared vertical velocity of the root [m^2/s^2] (bouncing)."""
    return torch.square(env.root_lin_vel_b[:, 2])


def ang_vel_xy_l2(env) -> torch.Tensor:
    """Squared roll and pitch rates of the root in its frame [rad^2/s^2] (rocking)."""
    return torch.sum(torch.square(env.root_ang_vel_b[:, :2]), dim=1)


def flat_orientation_l2(env) -> torch.Tensor:
    """Squared horizontal components of gravity in the root frame: 0 when level."""
    return torch.sum(torch.square(env.projected_gravity_b[:, :2]), dim=1)


def feet_air_time(env, command: str, bodies, threshold: float) -> torch.Tensor:
    """Sum over ``bodies`` of (air time - ``threshold`` [s]) at each touch-down, as Isaac Lab's ``feet_air_time``:
    rewards steps longer than ``threshold``; nothing while the velocity command ``command`` is near zero."""
    contact = env.contact_time
    reward = torch.sum((contact.last_air_time[:, bodies] - threshold) * contact.first_contact[:, bodies], dim=1)
    moving = torch.linalg.vector_norm(env.command(command)[:, :2], dim=1) > 0.1
    return reward * moving


def undesired_contacts(env, bodies, threshold: float = 1.0) -> torch.Tensor:
    """Number of ``bodies`` touching something with more than ``threshold`` [N] (thighs, base)."""
    force = torch.linalg.vector_norm(env.contact_forces_w[:, bodies], dim=2)
    return torch.sum(force > threshold, dim=1).float()
