"""Robustness sweep: a trained policy evaluated while one randomised parameter at a time moves past its training range.

The run is played once (:meth:`~..workbench.Workbench.for_play`), without the spec's pushes and with room for the
largest action delay swept. Each sweep point then starts from the scene's physics values and calls every start-up
event with its range pinned, ``[v, v]``, on every env (the env's
:meth:`~..envs.workbench_env.WorkbenchEnv.redraw_startup_events`): the swept parameter at its value, every other one
at its nominal value (:mod:`.robustness_params`); it sets the bound of the sweep's own push timers, the delay and the
noise factor the same way, then rolls the policy out deterministically from the same random draws (seeded), so
neighbouring points differ only by the parameter. A teacher that observes ``randomized_params`` sees each point's
values normalised over the training ranges, as in training (past a range: beyond [-1, 1]). Only when the simulation
fails for every env at once (the CPU's shared MuJoCo world, which stays failed) is the run played again; that point
is reported as failed.

The task metric is the spec's first ``[metrics]`` term, or the episode return when it has none; each point also
reports the share of episodes that ended by a termination (a fall) rather than a time-out.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..envs.workbench_env import PhysicsError
from ..learn.run_args import check_device
from ..learn.run_dir import RunDir
from ..specs.loader import load_spec
from ..workbench import Workbench
from .robustness_params import SweptParameter, is_range, select_parameters, swept_parameters

RETURN = "return"


@dataclass(kw_only=True)
class SweepPoint:
    """The policy's result at one value of one parameter, over ``episodes`` episodes.

    Attributes:
        parameter: the parameter's name; value: its value there; inside: True within the training range.
        metric_mean, metric_std: the task metric (its mean and standard deviation over the episodes).
        return_mean, return_std: the episode return.
        terminated_share: episodes that ended by a termination (or a physics blow-up), in [0, 1].
        episode_length: mean episode length [env steps].
        physics_failure: why the simulation failed for every env at once at this point (the CPU's shared world),
            else None; the point's numbers are then NaN.
    """

    parameter: str
    value: float
    inside: bool
    training_range: tuple[float, float]
    metric_mean: float
    metric_std: float
    return_mean: float
    return_std: float
    terminated_share: float
    episode_length: float
    episodes: int
    physics_failure: str | None = None


class RobustnessSweep:
    """A trained run's policy in one env, ready to be evaluated at any value of any swept parameter.

    Args:
        run_dir: the run folder (its ``spec.toml`` and latest checkpoint, or ``checkpoint``).
        episodes: episodes per sweep point (one env per episode, up to ``PLAY_MAX_ENVS``).
        points: values per parameter (K); beyond: how far past the training range, in range widths.
        params: names or patterns of the parameters to sweep (None: all).
        overrides: ``--set`` overrides of the run's spec (a test may add a randomisation this way).
        device: "cpu" or "cuda[:i]".
    """

    def __init__(
        self,
        run_dir: Path,
        episodes: int = 16,
        points: int = 5,
        beyond: float = 0.5,
        params: list[str] | None = None,
        overrides: dict | None = None,
        device: str = "cpu",
        checkpoint: Path | None = None,
    ):
        check_device(device)
        spec = load_spec(RunDir.open(Path(run_dir)).spec_file, overrides)
        self.spec = spec
        self.episodes = episodes
        self.parameters = select_parameters(swept_parameters(spec, points, beyond), params)
        self.metric = spec.metrics[next(iter(spec.metrics))].name if spec.metrics else RETURN
        self._startup = {n: t for n, t in spec.events.items() if t.mode == "startup"}
        self._pushes = {n: t for n, t in spec.events.items() if t.mode == "interval" and t.func_name == "push_root"}
        delays = [p.values[-1] for p in self.parameters if p.kind == "delay"]
        low, high = spec.actions.delay_steps
        events = spec.raw.get("events", {})
        self._play_args = (
            Path(run_dir),
            episodes,
            {
                **(overrides or {}),
                "events": {n: copy.deepcopy(e) for n, e in events.items() if n not in self._pushes},
                "actions.delay_steps": [low, int(max([high, *delays]))],
            },
            device,
            checkpoint,
        )
        self._push_bound = dict.fromkeys(self._pushes, 0.0)
        self._build()

    def _build(self) -> None:
        """The run played (:meth:`~..workbench.Workbench.for_play`) without the spec's pushes, with room for the
        largest delay swept and eager env steps (each point sets the delay and the noise between steps), every
        parameter at its nominal value."""
        wb = Workbench.for_play(*self._play_args, cuda_graph=False)
        self.env = wb.env
        self.iteration = wb.iteration
        self._policy = wb.trainer.inference_policy()
        self.configure()

    def configure(self, swept: SweptParameter | None = None, value: float | None = None) -> None:
        """Every parameter at its nominal value, except ``swept`` at ``value``, on every env."""

        def at(parameter_name: str, nominal: float) -> float:
            return float(value) if swept is not None and swept.name == parameter_name else nominal

        pinned = {}
        for name, term in self._startup.items():
            ranges = {key: given for key, given in term.params.items() if is_range(given)}
            values = {key: at(f"events.{name}.{key}", (given[0] + given[1]) / 2) for key, given in ranges.items()}
            pinned[name] = {key: (v, v) for key, v in values.items()}
        self.env.redraw_startup_events(pinned)
        for name in self._pushes:
            self._push_bound[name] = at(f"events.{name}.velocity", 0.0)
        lo, hi = self.spec.actions.delay_steps
        delay = int(round(at("actions.delay_steps", float(math.floor((lo + hi) / 2 + 0.5)))))
        self.env.set_action_delay_range(delay, delay)
        self.env.set_observation_noise_scale("policy", at("observations.noise_scale", 1.0))

    @torch.inference_mode()
    def rollout(self) -> dict[str, np.ndarray]:
        """``self.episodes`` deterministic episodes at the current settings: per episode ``metric``, ``return``,
        ``length`` [env steps] and ``terminated`` (bool), each an array (episodes,)."""
        env, n = self.env, self.env.num_envs
        torch.manual_seed(self.spec.seed)  # the same resets, commands and pushes at every point
        rows: dict[str, list] = {"metric": [], "return": [], "length": [], "terminated": []}
        for _ in range(math.ceil(self.episodes / n)):
            obs = env.reset()
            active = torch.ones(n, dtype=torch.bool, device=env.device)
            ep_return = torch.zeros(n, device=env.device)
            ep_length = torch.zeros(n, device=env.device)
            ended_by_fall = torch.zeros(n, dtype=torch.bool, device=env.device)
            ep_metric = torch.zeros(n, device=env.device)
            timers = {k: self._draw_timer(k, n) for k in self._pushes}
            for step in range(env.max_episode_length):
                obs, rewards, dones, _ = env.step(self._policy(obs))
                ending = active & (dones != 0)
                ep_return += rewards * active
                ep_length += active.float()
                ended_by_fall |= ending & env.terminated
                if env.metric_names:
                    ep_metric = torch.where(ending, env.episode_metrics[:, 0], ep_metric)
                active &= ~ending
                self._push(timers, active)
                if step % 16 == 15 and not bool(active.any()):
                    break
            rows["metric"] += (ep_metric if env.metric_names else ep_return).tolist()
            rows["return"] += ep_return.tolist()
            rows["length"] += ep_length.tolist()
            rows["terminated"] += ended_by_fall.tolist()
        return {k: np.asarray(v[: self.episodes]) for k, v in rows.items()}

    def _draw_timer(self, name: str, n: int) -> torch.Tensor:
        low, high = self._pushes[name].interval_s
        return torch.rand(n, device=self.env.device) * (high - low) + low

    def _push(self, timers: dict[str, torch.Tensor], active: torch.Tensor) -> None:
        """The sweep's own interval pushes: each env, every ``interval_s`` seconds, up to the current bound."""
        for name, timer in timers.items():
            timer -= self.env.step_dt
            due = (timer <= 0.0) & active
            # called at every bound, 0 included, so that every point draws the same random numbers
            self._pushes[name].func(self.env, due, velocity=self._push_bound[name])
            timers[name] = torch.where(due, self._draw_timer(name, self.env.num_envs), timer)

    def point(self, swept: SweptParameter, value: float) -> SweepPoint:
        """Configure ``swept`` at ``value`` (the others nominal), roll out, and summarise."""
        self.configure(swept, value)
        common = {"parameter": swept.name, "value": float(value), "inside": swept.inside(value)}
        try:
            r = self.rollout()
        except PhysicsError as exc:  # the CPU's shared world stays failed: build it again for the next point
            self._build()
            nan = math.nan
            numbers = dict.fromkeys(("metric_mean", "metric_std", "return_mean", "return_std", "episode_length"), nan)
            return SweepPoint(
                **common,
                training_range=swept.training_range,
                **numbers,
                terminated_share=1.0,
                episodes=0,
                physics_failure=str(exc),
            )
        return SweepPoint(
            **common,
            training_range=swept.training_range,
            metric_mean=float(r["metric"].mean()),
            metric_std=float(r["metric"].std()),
            return_mean=float(r["return"].mean()),
            return_std=float(r["return"].std()),
            terminated_share=float(r["terminated"].mean()),
            episode_length=float(r["length"].mean()),
            episodes=len(r["metric"]),
        )

    def run(self, progress: Callable[[str], None] | None = None) -> list[SweepPoint]:
        """Every value of every selected parameter; ``progress`` gets one line per point."""
        total = sum(len(p.values) for p in self.parameters)
        results: list[SweepPoint] = []
        for swept in self.parameters:
            for value in swept.values:
                started = time.perf_counter()
                point = self.point(swept, value)
                results.append(point)
                if progress is not None:
                    lo, hi = swept.training_range
                    where = "inside" if point.inside else "OUTSIDE"
                    result = (
                        f"physics failed ({point.physics_failure})"
                        if point.physics_failure
                        else f"{self.metric} {point.metric_mean:.4g} ± {point.metric_std:.3g}, terminated "
                        f"{100 * point.terminated_share:.0f}%"
                    )
                    progress(
                        f"[{len(results)}/{total}] {swept.name} = {value:.4g} ({where} [{lo:.4g}, {hi:.4g}]): "
                        f"{result} ({time.perf_counter() - started:.1f} s)"
                    )
        return results
