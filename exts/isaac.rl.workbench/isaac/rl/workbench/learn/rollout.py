"""Deterministic rollouts of a policy: evaluation statistics, recorded observations, frames for a recording."""

from __future__ import annotations

import math

import torch
from tensordict import TensorDict


@torch.inference_mode()
def evaluate(env, policy, num_episodes: int, recorder=None, keep_observations: int = 0) -> dict:
    """Run ``policy`` deterministically until ``num_episodes`` episodes have ended; return their statistics.

    Every env is reset, then each contributes its first episode; rounds repeat until enough episodes ended.

    Args:
        env: an rsl-rl ``VecEnv`` that also offers ``root_lin_vel_w`` (N, 3), ``unstable`` (N,) bool (envs whose
            physics blew up this step), ``metric_names`` (K names) and ``episode_metrics`` (N, K: each env's metrics
            of the episode that ended at the last step) and, to record, ``body_poses_env`` (N, B, 7),
            ``recording_markers(n)`` (the commands to draw) and ``backend.env_origins`` (N, 3), as ``WorkbenchEnv``
            does.
        policy: callable mapping an observation TensorDict to actions (N, A), e.g. rsl-rl's inference policy. One
            with rsl-rl's ``reset(dones)`` (a recurrent model) starts each round from a zero hidden state, and the
            hidden state of every env whose episode ends is zeroed for its next one.
        num_episodes: episodes to average over.
        recorder: optional ``UsdRecorder``; gets the body poses of its envs at every step of the first round.
        keep_observations: how many observation rows (from the first round) to return for export checks.

    Returns:
        ``episodes``, ``mean_return``, ``mean_episode_length``, ``max_episode_length``, ``mean_root_vel_x``
        (the root's mean world x velocity [m/s]), ``unstable_episodes`` (episodes that ended because the physics
        blew up: failures), ``metric/<name>`` per metric (mean over the episodes), ``episode_lengths`` (list) and,
        if asked, ``observations``
        (a TensorDict of up to ``keep_observations`` rows).
    """
    lengths: list[float] = []
    returns: list[float] = []
    speeds: list[float] = []  # each episode's mean world x velocity of the root [m/s]
    blew_up: list[bool] = []  # whether the episode ended because its physics blew up
    metrics: list[list[float]] = []  # each episode's metrics, in env.metric_names order
    kept: list[TensorDict] = []
    kept_rows = 0
    for round_index in range(math.ceil(num_episodes / env.num_envs)):
        obs = env.reset()
        reset_hidden = getattr(policy, "reset", None)  # rsl-rl models: the hidden state of a recurrent one
        if reset_hidden is not None:
            reset_hidden()
        active = torch.ones(env.num_envs, dtype=torch.bool, device=env.device)
        ep_return = torch.zeros(env.num_envs, device=env.device)
        ep_length = torch.zeros(env.num_envs, device=env.device)
        ep_vel_x = torch.zeros(env.num_envs, device=env.device)
        ep_unstable = torch.zeros(env.num_envs, dtype=torch.bool, device=env.device)
        ep_metrics = torch.zeros(env.num_envs, len(env.metric_names), device=env.device)
        for step in range(env.max_episode_length):
            if kept_rows < keep_observations:
                kept.append(obs.clone())
                kept_rows += env.num_envs
            if recorder is not None and round_index == 0:
                n = recorder.num_envs
                recorder.add_frame(env.body_poses_env[:n], env.recording_markers(n), env.env_origins[:n])
            obs, rewards, dones, _ = env.step(policy(obs))
            if reset_hidden is not None:
                reset_hidden(dones)
            ep_return += rewards * active
            ep_length += active.float()
            ep_vel_x += env.root_lin_vel_w[:, 0] * active
            ep_unstable |= env.unstable & active
            ending = active & (dones != 0)
            ep_metrics = torch.where(ending.unsqueeze(1), env.episode_metrics, ep_metrics)
            active &= dones == 0
            if step % 32 == 31 and not bool(active.any()):
                break
        lengths += ep_length.tolist()
        returns += ep_return.tolist()
        speeds += (ep_vel_x / ep_length.clamp(min=1)).tolist()
        blew_up += ep_unstable.tolist()
        metrics += ep_metrics.tolist()
    lengths, returns, speeds = lengths[:num_episodes], returns[:num_episodes], speeds[:num_episodes]
    result = {
        "episodes": len(lengths),
        "mean_return": sum(returns) / len(returns),
        "mean_episode_length": sum(lengths) / len(lengths),
        "max_episode_length": env.max_episode_length,
        "mean_root_vel_x": sum(speeds) / len(speeds),
        "unstable_episodes": sum(blew_up[:num_episodes]),
        "episode_lengths": lengths,
    }
    for k, name in enumerate(env.metric_names):
        values = [row[k] for row in metrics[:num_episodes]]
        result[f"metric/{name}"] = sum(values) / len(values)
    if keep_observations:
        result["observations"] = torch.cat(kept)[:keep_observations] if kept else None
    return result
