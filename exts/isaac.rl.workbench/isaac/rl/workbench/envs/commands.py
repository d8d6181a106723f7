"""Commands: per-env targets drawn when an episode starts and again at intervals (``[commands.<name>]``).

A command is a (N, 3) tensor the policy observes (``generated_commands``) and rewards compare the robot with
(their ``command`` parameter). ``position`` commands are kept in the env's frame (metres from the env origin), so a
goal stays put while the robot moves; ``velocity`` commands are (vx [m/s], vy [m/s], yaw rate [rad/s]) in the
robot's heading frame. Everything runs on the device with masks, so drawing never waits for the GPU and the
env step can be one CUDA graph.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Protocol

import torch

from ..specs.schema import CommandSpec
from ..utils.quaternions import quat_rotate, yaw_angle

_COMPONENTS = {"position": ("x", "y", "z"), "velocity": ("lin_vel_x", "lin_vel_y", "ang_vel_z")}
REDRAWS = 16
"""How many times a position target drawn too close to a ``clear_of`` body is drawn again."""
HEADING_STIFFNESS = 0.5
"""[1/s] yaw rate commanded per radian of heading error, as Isaac Lab's velocity command."""


class RobotPose(Protocol):
    """What commands read of the env (:class:`~.term_state.TermState` offers it)."""

    num_envs: int
    """N."""

    @property
    def root_pos_w(self) -> torch.Tensor:
        """Root body position relative to its env's origin [m], shape (N, 3)."""
        ...

    @property
    def root_quat_w(self) -> torch.Tensor:
        """Root body orientation (x, y, z, w), shape (N, 4)."""
        ...

    @property
    def body_pos_w(self) -> torch.Tensor:
        """Position of every body relative to its env's origin [m], shape (N, B, 3)."""
        ...


class Commands:
    """The commands of one env batch.

    Args:
        specs: the spec's ``[commands]`` tables, by name.
        num_envs: N.
        device: where the commands live.
        body_names: the env's body names, for ``clear_of``.
    """

    def __init__(self, specs: dict[str, CommandSpec], num_envs: int, device: torch.device, body_names: list[str] = ()):
        self.specs = dict(specs)
        self.values = {name: torch.zeros(num_envs, 3, device=device) for name in specs}
        """name -> (N, 3): positions in the env frame [m], or (vx [m/s], vy [m/s], yaw rate [rad/s])."""
        self._timers = torch.zeros(num_envs, len(specs), device=device)
        """Seconds until each env draws each command again, (N, C)."""
        self._low = {n: self._bounds(s, 0, device) for n, s in specs.items()}
        self._high = {n: self._bounds(s, 1, device) for n, s in specs.items()}
        self._clear_of = {
            n: torch.tensor([list(body_names).index(b) for b in s.clear_of], dtype=torch.long, device=device)
            for n, s in specs.items()
            if s.clear_of
        }
        self.headings = {n: torch.zeros(num_envs, device=device) for n, s in specs.items() if "heading" in s.ranges}
        """name -> (N,) heading targets [rad] of the velocity commands that track a heading."""

    def set_range(self, name: str, key: str, bounds: tuple[float, float]) -> None:
        """Draw component ``key`` of command ``name`` (``x``, ``lin_vel_x``, ``heading``, ... as in its ``ranges``) in
        ``bounds`` [min, max] from its next draw on (a live edit; the commands drawn already stay until their next
        resample or reset). A ``heading`` range is taken only by a command that tracks a heading already. A step
        captured as a CUDA graph must be captured again (the heading and yaw-rate bounds are numbers it holds)."""
        if name not in self.specs:
            raise KeyError(f"no command '{name}'; commands: {', '.join(self.specs) or 'none'}")
        spec = self.specs[name]
        components = _COMPONENTS[spec.type]
        if key not in components and not (key == "heading" and name in self.headings):
            raise KeyError(f"command '{name}' ({spec.type}) draws no '{key}'; ranges: {', '.join(components)}")
        bounds = (float(bounds[0]), float(bounds[1]))
        self.specs[name] = dataclasses.replace(spec, ranges={**spec.ranges, key: bounds})
        if key in components:
            column = components.index(key)
            self._low[name][column], self._high[name][column] = bounds

    @staticmethod
    def _bounds(spec: CommandSpec, side: int, device: torch.device) -> torch.Tensor:
        return torch.tensor([spec.ranges.get(c, (0.0, 0.0))[side] for c in _COMPONENTS[spec.type]], device=device)

    def draw(self, env: RobotPose, env_mask: torch.Tensor) -> None:
        """Draw every command anew where ``env_mask`` (N,) is set, and restart its timer."""
        for i, name in enumerate(self.specs):
            self._draw(env, i, name, env_mask)

    def advance(self, env: RobotPose, dt: float) -> None:
        """Count ``dt`` seconds down and draw each command again in the envs whose time for it has come (on the env
        step nearest to it: sums of float32 steps fall a hair either side of the interval)."""
        if not self.specs:
            return
        self._steer(env)
        self._timers -= dt
        for i, name in enumerate(self.specs):
            if not math.isinf(self.specs[name].resample_s[0]):
                self._draw(env, i, name, self._timers[:, i] < 0.5 * dt)  # the step nearest the interval

    def _draw(self, env: RobotPose, index: int, name: str, env_mask: torch.Tensor) -> None:
        spec = self.specs[name]
        fresh = self._sample(env, name)
        if spec.type == "velocity" and spec.standing_share > 0:
            moving = torch.rand(env.num_envs, 1, device=fresh.device) >= spec.standing_share
            fresh = fresh * moving
        if name in self._clear_of:
            centres = env.body_pos_w[:, self._clear_of[name], :2]  # (N, M, 2)
            for _ in range(REDRAWS):  # masked redraws: no host sync, a bounded number of kernels
                near = torch.linalg.vector_norm(fresh[:, None, :2] - centres, dim=2).min(dim=1).values
                fresh = torch.where((near < spec.clearance).unsqueeze(1), self._sample(env, name), fresh)
        self.values[name].copy_(torch.where(env_mask.unsqueeze(1), fresh, self.values[name]))
        if name in self.headings:
            low_h, high_h = spec.ranges["heading"]
            heading = torch.rand_like(self.headings[name]) * (high_h - low_h) + low_h
            self.headings[name].copy_(torch.where(env_mask, heading, self.headings[name]))
            self._steer(env)
        low_s, high_s = spec.resample_s
        timers = self._timers[:, index]
        if math.isinf(low_s):
            fresh_timer = torch.full_like(timers, math.inf)
        else:
            fresh_timer = torch.rand_like(timers) * (high_s - low_s) + low_s
        self._timers[:, index] = torch.where(env_mask, fresh_timer, timers)

    def _sample(self, env: RobotPose, name: str) -> torch.Tensor:
        """Uniform draws in the command's ranges for every env, (N, 3); base-frame points turned into the env frame."""
        low, high = self._low[name], self._high[name]
        fresh = torch.rand_like(self.values[name]) * (high - low) + low
        if self.specs[name].type == "position" and self.specs[name].frame == "base":
            fresh = env.root_pos_w + quat_rotate(env.root_quat_w, fresh)
        return fresh

    def _steer(self, env: RobotPose) -> None:
        """Turn each heading target into a yaw rate: ``HEADING_STIFFNESS`` times the heading error, within the
        command's ``ang_vel_z`` range (standing envs keep 0)."""
        if not self.headings:
            return
        yaw = yaw_angle(env.root_quat_w)
        for name, target in self.headings.items():
            error = torch.remainder(target - yaw + math.pi, 2 * math.pi) - math.pi
            low, high = self.specs[name].ranges.get("ang_vel_z", (0.0, 0.0))
            moving = self.values[name][:, :2].abs().sum(dim=1) > 0
            self.values[name][:, 2] = torch.clamp(HEADING_STIFFNESS * error, low, high) * moving
