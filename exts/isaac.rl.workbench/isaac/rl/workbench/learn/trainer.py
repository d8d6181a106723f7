"""PPO training one iteration at a time: rsl-rl's PPO over a :class:`~isaac.rl.workbench.env.WorkbenchEnv`.

rsl-rl's ``OnPolicyRunner`` builds the algorithm, the models and the checkpoint format; the iteration loop is
driven here so a front end can run one iteration, update its UI, and run the next.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from pathlib import Path

import torch
from rsl_rl.runners import OnPolicyRunner

from ..utils.atomic import write_atomically
from .ppo_config import runner_config


class TrainingDiverged(RuntimeError):
    """Rewards or losses became NaN or infinite."""


class Trainer:
    """rsl-rl PPO over an env, stepped by :meth:`train_step`.

    Args:
        env: an rsl-rl ``VecEnv`` (``WorkbenchEnv``).
        ppo_config: the spec's ``[ppo]`` table (rsl-rl key names).
        device: where the networks live (the env's device).
    """

    def __init__(self, env, ppo_config: dict, device: str):
        self.env = env
        self.device = device
        self.cfg = runner_config(ppo_config, list(env.get_observations().keys()))
        self.num_steps_per_env = self.cfg["num_steps_per_env"]
        with contextlib.redirect_stdout(io.StringIO()):  # rsl-rl prints the model summaries
            self.runner = OnPolicyRunner(env, self.cfg, log_dir=None, device=device)
        self.alg = self.runner.alg
        self.iteration = 0
        self.total_env_steps = 0
        self._obs = env.get_observations().to(device)
        self.alg.train_mode()
        self._spread_episode_starts()

    @property
    def actor(self):
        """The policy network (``rsl_rl.models.MLPModel``)."""
        return self.alg.get_policy()

    def train_step(self) -> dict:
        """Collect ``num_steps_per_env`` steps from every env, run one PPO update, and return the metrics.

        Returns:
            ``iteration`` (1-based count of completed iterations), ``mean_reward``, ``mean_episode_length``,
            ``episodes``, ``reward/<term>``, ``env_steps_per_s``, ``collect_s``, ``learn_s``, losses, ``learning_rate``
            and ``action_std``.
        """
        start = time.perf_counter()
        obs = self._obs
        with torch.inference_mode():
            for _ in range(self.num_steps_per_env):
                actions = self.alg.act(obs)
                obs, rewards, dones, extras = self.env.step(actions)
                self.alg.process_env_step(obs, rewards, dones, extras)
            self.alg.compute_returns(obs)
        self._obs = obs
        collected = time.perf_counter()
        losses = self.alg.update()
        learned = time.perf_counter()
        self.iteration += 1
        steps = self.num_steps_per_env * self.env.num_envs
        self.total_env_steps += steps
        metrics = {"iteration": self.iteration, **self.env.pop_episode_stats()}
        metrics.update({f"loss/{k}": v for k, v in losses.items()})
        metrics.update(
            env_steps_per_s=steps / (learned - start),
            collect_s=collected - start,
            learn_s=learned - collected,
            total_env_steps=self.total_env_steps,
            learning_rate=self.alg.learning_rate,
            action_std=float(self.actor.output_std.detach().mean()),
        )
        bad = [k for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            raise TrainingDiverged(f"iteration {self.iteration}: non-finite {', '.join(bad)}")
        return metrics

    def reset_rollout(self) -> None:
        """Reset every env and start the next iteration's rollout from there (after an evaluation, say)."""
        self._obs = self.env.reset().to(self.device)
        self._spread_episode_starts()

    def _spread_episode_starts(self) -> None:
        """Start episodes at random lengths, as rsl-rl's ``init_at_random_ep_len`` does, so episodes end (and are
        reported) every iteration rather than all at once."""
        self.env.episode_length_buf.random_(0, int(self.env.max_episode_length))

    def save(self, path: Path, infos: dict | None = None) -> Path:
        """Write a checkpoint atomically (temp file + rename): networks, optimiser, normaliser, iteration."""
        state = self.alg.save()
        state["iter"] = self.iteration
        state["infos"] = {"total_env_steps": self.total_env_steps, **(infos or {})}
        return write_atomically(path, lambda tmp: torch.save(state, tmp))

    def load(self, path: Path) -> None:
        """Restore networks, optimiser (and its learning rate), normaliser and the iteration count."""
        state = torch.load(path, weights_only=False, map_location=self.device)
        self.alg.load(state, None, strict=True)
        self.iteration = int(state["iter"])
        self.total_env_steps = int((state.get("infos") or {}).get("total_env_steps", 0))
