"""Event terms: ``(env, env_mask, **params) -> None``; they write new state for the envs where ``env_mask`` is True.

Events take a boolean mask of shape (num_envs,) rather than a list of ids so that the env step never waits for
the GPU to say how many envs reset: values are drawn for every env and written where the mask is set.
``mode = "startup"`` events run once, when the env is built: the physics-property randomisations below (masses,
centres of mass, friction, gains, joint friction), drawn per env, as Isaac Lab's ``mode="startup"`` events.
``mode = "reset"`` events run when an env resets (initial-state randomisation); ``mode = "interval"`` events run
every ``interval_s`` seconds of each env's episode (pushes). The values a start-up event applied are written to
the run folder's ``randomization.json``; each start-up event here also hands the env the bounds of its draw
(``bounds=(low, high)``: the property's values at the two ends of the range), so that the observation term
``randomized_params`` can show a teacher policy each env's draw, normalised to [-1, 1].
"""

from __future__ import annotations

import torch

__all__ = [
    "reset_joints_uniform",
    "push_root",
    "randomize_body_mass",
    "randomize_body_com",
    "randomize_friction",
    "randomize_actuator_gains",
    "randomize_joint_friction",
]

ALL = slice(None)


def _uniform(low: float, high: float, like: torch.Tensor) -> torch.Tensor:
    return torch.rand_like(like) * (high - low) + low


def reset_joints_uniform(
    env, env_mask: torch.Tensor, position_range=(0.0, 0.0), velocity_range=(0.0, 0.0), joints=ALL
) -> None:
    """Set the selected joints to default + U(position_range) [rad or m] and velocity U(velocity_range).

    Joints not selected keep the state they have, so several of these events can randomise different joints
    with different ranges.
    """
    pos = env.default_dof_pos[:, joints]
    pos = pos + _uniform(*position_range, pos)
    vel = _uniform(*velocity_range, pos)
    env.write_dof_state(env_mask, pos, vel, joints)


def push_root(env, env_mask: torch.Tensor, velocity: float) -> None:
    """Add a random horizontal velocity of up to ``velocity`` [m/s] to the root body."""
    delta = torch.zeros(env.num_envs, 6, device=env.device)
    delta[:, :2] = _uniform(-velocity, velocity, delta[:, :2])
    env.add_root_velocity(env_mask, delta)


def randomize_body_mass(env, env_mask: torch.Tensor, bodies, mass_range=(0.0, 0.0), operation: str = "add") -> None:
    """Change the mass of ``bodies``: ``add`` U(mass_range) [kg] to the scene's mass, or ``scale`` it by
    U(mass_range); the inertia follows the mass (same density). Start-up only."""
    mass = env.physics_property("body_mass")
    nominal = mass[:, bodies]
    apply = (lambda m, c: m + c) if operation == "add" else (lambda m, c: m * c)
    low, high = mass.clone(), mass.clone()
    low[:, bodies], high[:, bodies] = apply(nominal, mass_range[0]), apply(nominal, mass_range[1])
    mass[:, bodies] = apply(nominal, _uniform(*mass_range, nominal))
    env.set_physics_property("body_mass", env_mask, mass.clamp(min=1e-6), bounds=(low, high))


def randomize_body_com(env, env_mask: torch.Tensor, bodies, offset_range=(0.0, 0.0)) -> None:
    """Move the centre of mass of ``bodies`` by U(offset_range) [m] along each axis of the body frame. Start-up
    only."""
    com = env.physics_property("body_com")
    low, high = com.clone(), com.clone()
    low[:, bodies] += offset_range[0]
    high[:, bodies] += offset_range[1]
    com[:, bodies] += _uniform(*offset_range, com[:, bodies])
    env.set_physics_property("body_com", env_mask, com, bounds=(low, high))


def randomize_friction(env, env_mask: torch.Tensor, friction_range=(1.0, 1.0)) -> None:
    """Give every collision shape of an env one friction coefficient U(friction_range), drawn per env; it decides
    the friction of the robot's contacts with the ground. Start-up only."""
    friction = env.physics_property("shape_friction")
    friction[:] = _uniform(*friction_range, friction[:, :1])
    bounds = (torch.full_like(friction, friction_range[0]), torch.full_like(friction, friction_range[1]))
    env.set_physics_property("shape_friction", env_mask, friction, bounds=bounds)


def randomize_actuator_gains(
    env, env_mask: torch.Tensor, stiffness_scale=(1.0, 1.0), damping_scale=(1.0, 1.0), joints=ALL
) -> None:
    """Scale the PD gains of the selected joints' drives by U(stiffness_scale) and U(damping_scale), drawn per env
    and joint. Start-up only."""
    for name, scale in (("dof_stiffness", stiffness_scale), ("dof_damping", damping_scale)):
        gains = env.physics_property(name)
        low, high = gains.clone(), gains.clone()
        low[:, joints], high[:, joints] = gains[:, joints] * scale[0], gains[:, joints] * scale[1]
        gains[:, joints] = gains[:, joints] * _uniform(*scale, gains[:, joints])
        env.set_physics_property(name, env_mask, gains, bounds=(low, high))


def randomize_joint_friction(env, env_mask: torch.Tensor, friction_range=(0.0, 0.0), joints=ALL) -> None:
    """Set the friction loss of the selected joints to U(friction_range) [N·m or N], per env and joint. Start-up
    only."""
    friction = env.physics_property("dof_friction")
    low, high = friction.clone(), friction.clone()
    low[:, joints], high[:, joints] = friction_range[0], friction_range[1]
    friction[:, joints] = _uniform(*friction_range, friction[:, joints])
    env.set_physics_property("dof_friction", env_mask, friction, bounds=(low, high))
