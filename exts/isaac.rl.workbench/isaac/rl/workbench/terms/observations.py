"""Observation terms: ``(env, **params) -> Tensor[num_envs, dim]``."""

from __future__ import annotations

import math

import torch

from ..utils.quaternions import quat_rotate_inverse
from .height_scan import height_scan

__all__ = [
    "joint_pos",
    "joint_pos_rel",
    "joint_vel",
    "last_action",
    "root_height",
    "root_lin_vel_b",
    "root_ang_vel_b",
    "projected_gravity_b",
    "generated_commands",
    "body_pos_b",
    "position_command_from_body",
    "range_scan",
    "height_scan",
    "randomized_params",
    "root_quat_w",
    "root_lin_vel_w",
    "joint_pos_cos_sin",
    "joint_vel_clipped",
    "joint_effort",
    "body_offset_w",
    "contact_forces",
]

ALL = slice(None)


def joint_pos(env, joints=ALL) -> torch.Tensor:
    """Joint positions [rad or m], shape (num_envs, num_joints)."""
    return env.dof_pos[:, joints]


def joint_pos_rel(env, joints=ALL) -> torch.Tensor:
    """Joint positions relative to the default pose [rad or m], shape (num_envs, num_joints)."""
    return env.dof_pos[:, joints] - env.default_dof_pos[:, joints]


def joint_vel(env, joints=ALL) -> torch.Tensor:
    """Joint velocities [rad/s or m/s], shape (num_envs, num_joints)."""
    return env.dof_vel[:, joints]


def last_action(env) -> torch.Tensor:
    """The action the policy took on the previous step (before scaling), shape (num_envs, num_actions)."""
    return env.actions


def root_height(env) -> torch.Tensor:
    """Height of the root body above the env origin [m], shape (num_envs, 1)."""
    return env.root_pos_w[:, 2:3]


def root_lin_vel_b(env) -> torch.Tensor:
    """Linear velocity of the root body in its own frame [m/s], shape (num_envs, 3)."""
    return env.root_lin_vel_b


def root_ang_vel_b(env) -> torch.Tensor:
    """Angular velocity of the root body in its own frame [rad/s], shape (num_envs, 3)."""
    return env.root_ang_vel_b


def projected_gravity_b(env) -> torch.Tensor:
    """Unit gravity direction in the root body's frame, shape (num_envs, 3); (0, 0, -1) when upright."""
    return env.projected_gravity_b


def generated_commands(env, command: str) -> torch.Tensor:
    """The command ``command`` as the robot sees it, shape (num_envs, 3): a target position relative to the root
    body in its frame [m], or a velocity command (vx [m/s], vy [m/s], yaw rate [rad/s])."""
    return env.command_in_base(command)


def body_pos_b(env, body: str) -> torch.Tensor:
    """Position of body ``body`` relative to the root body, in its frame [m], shape (num_envs, 3)."""
    return quat_rotate_inverse(env.root_quat_w, env.body_pos_w[:, body] - env.root_pos_w)


def position_command_from_body(env, command: str, body: str) -> torch.Tensor:
    """The target of position command ``command`` relative to body ``body``, in world axes [m], shape (num_envs,
    3): what a robot that does not turn sees of its goal."""
    return env.command(command) - env.body_pos_w[:, body]


def range_scan(env, body: str, bodies, radius: float, num_rays: int = 16, max_range: float = 3.0) -> torch.Tensor:
    """A planar range scan [m], shape (num_envs, num_rays): from body ``body``, rays at evenly spaced world
    headings (the first along +x), each the distance to the nearest of the upright cylinders of radius ``radius``
    [m] centred on the bodies ``bodies`` (the obstacles), or ``max_range`` [m] when none is nearer. A ray that
    starts inside a cylinder reads 0."""
    angles = torch.arange(num_rays, device=env.device) * (2 * math.pi / num_rays)
    directions = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)  # (K, 2)
    offset = env.body_pos_w[:, body, None, :2] - env.body_pos_w[:, bodies, :2]  # (N, M, 2): origin - centre
    b = torch.einsum("nmj,kj->nmk", offset, directions)  # (N, M, K)
    c = torch.sum(offset * offset, dim=2, keepdim=True) - radius**2  # (N, M, 1)
    discriminant = b * b - c
    hit = torch.sqrt(discriminant.clamp(min=0.0))
    t = torch.where(c < 0, torch.zeros_like(b), -b - hit)  # inside: 0; outside: the nearer crossing
    t = torch.where((discriminant >= 0) & (t >= 0), t, torch.full_like(t, max_range))
    return t.min(dim=1).values.clamp(max=max_range)


def randomized_params(env) -> torch.Tensor:
    """What the start-up randomisation drew for each env, each value normalised to [-1, 1] over the range it was
    drawn from (-1: the range's low end, 1: its high end), shape (num_envs, K): a teacher's privileged observation.
    One column per randomised body or joint (a centre of mass: x, y, z), one for a friction shared by every shape
    (a heavier base: a higher value), in the order of the spec's start-up events; ``env.randomized_param_names``
    names them. Go2's ``go2_flat_teacher``: friction, base mass, 12 stiffness and 12 damping scales (K = 26)."""
    if env.randomized_params.shape[1] == 0:
        raise ValueError(
            'no start-up event drew a physics property over a range: add [events.<name>] with mode = "startup" '
            "(randomize_friction, randomize_body_mass, randomize_actuator_gains, ...)"
        )
    return env.randomized_params


def root_quat_w(env) -> torch.Tensor:
    """Orientation of the root body in world axes, quaternion (x, y, z, w), shape (num_envs, 4)."""
    return env.root_quat_w


def root_lin_vel_w(env) -> torch.Tensor:
    """Linear velocity of the root body in world axes [m/s], shape (num_envs, 3) (the first three entries of a
    MuJoCo free joint's ``qvel``)."""
    return env.root_lin_vel_w


def joint_pos_cos_sin(env, joints=ALL) -> torch.Tensor:
    """Cosines, then sines, of the selected joint positions [rad], shape (num_envs, 2 * num_joints): a hinge
    without limits seen without its 2π jump."""
    position = env.dof_pos[:, joints]
    return torch.cat([torch.cos(position), torch.sin(position)], dim=1)


def joint_vel_clipped(env, limit: float, joints=ALL) -> torch.Tensor:
    """Joint velocities clipped to [-``limit``, ``limit``] [rad/s or m/s], shape (num_envs, num_joints)."""
    return env.dof_vel[:, joints].clamp(-limit, limit)


def joint_effort(env, joints=ALL) -> torch.Tensor:
    """The joint efforts commanded this step [N or N m], shape (num_envs, num_joints) (MuJoCo's
    ``qfrc_actuator``)."""
    return env.dof_effort[:, joints]


def body_offset_w(env, bodies) -> torch.Tensor:
    """Position of body ``bodies[0]`` relative to body ``bodies[1]``, in world axes [m], shape (num_envs, 3): a
    fingertip relative to its target."""
    if bodies.numel() != 2:
        raise ValueError(f"bodies: expected two bodies [a, b], got {bodies.numel()}")
    positions = env.body_pos_w[:, bodies]
    return positions[:, 0] - positions[:, 1]


def contact_forces(env, bodies=ALL, clip: float | None = None) -> torch.Tensor:
    """Net contact force on each of ``bodies`` (default all) in world axes [N], each component clipped to
    [-``clip``, ``clip``] when given, shape (num_envs, 3 * num_bodies), body by body (x, y, z). MuJoCo's
    ``cfrc_ext`` also holds three torques per body, which this does not."""
    force = env.contact_forces_w[:, bodies]
    if clip is not None:
        force = force.clamp(-clip, clip)
    return force.flatten(start_dim=1)
