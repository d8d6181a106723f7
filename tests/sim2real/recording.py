"""A robot log recorded from the simulator itself, with physics values hidden from the fit: the data a system
identification test can check its answer against."""

from __future__ import annotations

import numpy as np
import torch
from isaac.rl.workbench.sim2real.robot_data import JointLog
from isaac.rl.workbench.sim2real.sysid import JOINT_PROPERTY
from isaac.rl.workbench.specs.loader import TaskSpec
from isaac.rl.workbench.tool_env import tool_env


def multisine(t: np.ndarray, amplitude: float, frequencies=(0.4, 0.9, 1.7, 2.9, 4.3), seed: int = 0) -> np.ndarray:
    """A sum of sines with random phases, (T,), peak near ``amplitude``: it excites slow and fast motion."""
    phases = np.random.default_rng(seed).uniform(0, 2 * np.pi, len(frequencies))
    wave = sum(np.sin(2 * np.pi * f * t + p) for f, p in zip(frequencies, phases, strict=True))
    return amplitude * wave / len(frequencies) * 2.0


def record(
    spec: TaskSpec,
    hidden: dict,
    start: list[float],
    efforts: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    device: str = "cpu",
) -> JointLog:
    """Simulate one env of ``spec`` from joint positions ``start`` (D,) at rest, one control step per row of
    ``efforts`` (T, D) [N or N m] or position ``targets`` (T, D) [rad or m] (through the spec's PD), with ``hidden``
    values set through the env's property writer: ``{"joint_friction": {"slider": 1.0}, ...}`` per joint, and
    ``{"actuator_gain": 0.7}`` on the PD gains. Returns the log: the reading at each step, the command after it."""
    env = tool_env(spec, 1, device, physics_only=True)
    everywhere = torch.ones(1, dtype=torch.bool, device=env.device)
    for name, per_joint in hidden.items():
        if name == "actuator_gain":
            for prop in ("dof_stiffness", "dof_damping"):
                env.write_physics_property(prop, everywhere, env.physics_property(prop) * per_joint)
            continue
        values = env.physics_property(JOINT_PROPERTY[name])
        for joint, value in per_joint.items():
            values[0, spec.joint_names.index(joint)] = value
        env.write_physics_property(JOINT_PROPERTY[name], everywhere, values)
    commands = {"cmd_tau": efforts} if efforts is not None else {"cmd_q": targets}
    steps, joints = next(iter(commands.values())).shape
    env.reset_physics(everywhere, torch.tensor([start], device=env.device), torch.zeros(1, joints, device=env.device))
    pos, vel = np.zeros((steps, joints)), np.zeros((steps, joints))
    for k in range(steps):
        pos[k], vel[k] = env.dof_pos[0].cpu().numpy(), env.dof_vel[0].cpu().numpy()
        command = torch.as_tensor(next(iter(commands.values()))[k : k + 1], dtype=torch.float32, device=env.device)
        if efforts is not None:
            env.set_joint_efforts(command)
        else:
            env.set_joint_position_targets(command)
        env.step_physics()
    t = np.arange(steps) * spec.env.step_dt
    return JointLog(list(spec.joint_names), t, pos, vel, t.copy(), {k: v.copy() for k, v in commands.items()}, "sim")
