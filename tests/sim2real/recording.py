"""A robot log recorded from the simulator itself, with physics values hidden from the fit: the data a system
identification test can check its answer against."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from isaac.rl.workbench.envs.workbench_env import make_backend
from isaac.rl.workbench.sim2real.robot_data import JointLog
from isaac.rl.workbench.sim2real.sysid import JOINT_PROPERTY
from isaac.rl.workbench.specs.loader import TaskSpec


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
    values set through the backend's property setter: ``{"joint_friction": {"slider": 1.0}, ...}`` per joint, and
    ``{"actuator_gain": 0.7}`` on the PD gains. Returns the log: the reading at each step, the command after it."""
    backend = make_backend(replace(spec, env=replace(spec.env, num_envs=1)), device)
    everywhere = torch.ones(1, dtype=torch.bool, device=backend.device)
    for name, per_joint in hidden.items():
        if name == "actuator_gain":
            for prop in ("dof_stiffness", "dof_damping"):
                backend.set_property(prop, everywhere, backend.get_property(prop) * per_joint)
            continue
        values = backend.get_property(JOINT_PROPERTY[name])
        for joint, value in per_joint.items():
            values[0, spec.joint_names.index(joint)] = value
        backend.set_property(JOINT_PROPERTY[name], everywhere, values)
    commands = {"cmd_tau": efforts} if efforts is not None else {"cmd_q": targets}
    steps, joints = next(iter(commands.values())).shape
    backend.reset(
        everywhere, torch.tensor([start], device=backend.device), torch.zeros(1, joints, device=backend.device)
    )
    pos, vel = np.zeros((steps, joints)), np.zeros((steps, joints))
    for k in range(steps):
        pos[k], vel[k] = backend.dof_positions[0].cpu().numpy(), backend.dof_velocities[0].cpu().numpy()
        command = torch.as_tensor(next(iter(commands.values()))[k : k + 1], dtype=torch.float32, device=backend.device)
        if efforts is not None:
            backend.set_dof_efforts(command)
        else:
            backend.set_dof_position_targets(command)
        backend.step()
    t = np.arange(steps) * spec.env.step_dt
    return JointLog(list(spec.joint_names), t, pos, vel, t.copy(), {k: v.copy() for k, v in commands.items()}, "sim")
