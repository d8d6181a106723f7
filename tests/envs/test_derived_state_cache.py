"""The derived-state cache (envs/derived_state.py) changes no result: go2_flat stepped with it and without it gives the
same observations, rewards, dones and metrics at every step, the steps right after resets and pushes included, and
what the critic observes is the rotation of the state the physics holds after the step; a state write between two
reads is seen by the second; the rotations agree with a rotation matrix to float32 rounding."""

from __future__ import annotations

import torch
from isaac.rl.workbench.envs.derived_state import DerivedState
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.utils.quaternions import quat_rotate, quat_rotate_inverse

from ..conftest import robot_or_fail

SHORT = {
    "env.num_envs": 2,
    "env.episode_seconds": 0.3,  # 15 env steps: time-outs within the test
    "events.push.interval_s": [0.04, 0.1],  # a push every 2 to 5 steps
    "commands.base_velocity.resample_s": [0.1, 0.1],
}
STEPS = 40


def rotation_matrix(quat_xyzw: torch.Tensor) -> torch.Tensor:
    """(N, 3, 3) in float64 from unit quaternions (N, 4): the body-to-world rotation."""
    x, y, z, w = quat_xyzw.double().unbind(-1)
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    return torch.stack([torch.stack(row, -1) for row in rows], -2)


def in_root_frame(env: WorkbenchEnv) -> torch.Tensor:
    """Linear velocity, angular velocity and gravity in the root frame (N, 9), float64, from the backend's state."""
    rotation = rotation_matrix(env.backend.root_pose[:, 3:7])
    velocity = env.backend.root_velocity.double()
    gravity = torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64).expand(env.num_envs, 3)
    world = [velocity[:, :3], velocity[:, 3:6], gravity]
    return torch.cat([(rotation.transpose(1, 2) @ v.unsqueeze(-1)).squeeze(-1) for v in world], 1)


def run(caching: bool, monkeypatch) -> tuple[list, int]:
    """go2_flat under the same random actions, with or without the cache: each step's outputs, and how many steps
    pushed an env."""
    monkeypatch.setattr(DerivedState, "caching", caching)
    torch.manual_seed(0)
    env = WorkbenchEnv(load_spec("go2_flat", SHORT))
    pushes = []
    push = env.backend.add_root_velocity
    monkeypatch.setattr(
        env.backend, "add_root_velocity", lambda mask, delta: pushes.append(bool(mask.any())) or push(mask, delta)
    )
    actions = torch.rand(STEPS, 2, env.num_actions, generator=torch.Generator().manual_seed(1)) * 6.0 - 3.0
    rows = []
    for step_actions in actions:
        obs, rewards, dones, extras = env.step(step_actions)
        critic = obs["critic"][:, :9].double()
        expected = in_root_frame(env)  # the state after the resets and pushes of this step
        scale = 1.0 + expected.abs().max()
        assert (critic - expected).abs().max() <= 1e-6 * scale, (critic, expected)
        metrics = env.metric_values()
        rows.append(
            (
                obs.clone(),
                rewards.clone(),
                dones.clone(),
                extras["time_outs"].clone(),
                metrics,
                env.episode_metrics.clone(),
            )
        )
    return rows, sum(pushes)


def test_go2_flat_steps_alike_with_and_without_the_cache(monkeypatch):
    robot_or_fail("go2")
    cached, pushes = run(True, monkeypatch)
    fresh, _ = run(False, monkeypatch)
    assert sum(int(row[2].sum()) for row in cached) >= 4, "envs reset within the test"
    assert sum(bool(row[3].any()) for row in cached) >= 2, "time-outs within the test"
    assert pushes >= 4, "pushes within the test"
    for step, (a, b) in enumerate(zip(cached, fresh, strict=True)):
        obs_a, obs_b = a[0], b[0]
        for group in obs_a.keys():
            assert torch.equal(obs_a[group], obs_b[group]), (step, group)
        for name, x, y in zip(
            ("rewards", "dones", "time_outs", "metrics", "episode metrics"), a[1:], b[1:], strict=True
        ):
            assert torch.equal(x, y), (step, name, x, y)


def test_a_state_write_between_two_reads_is_seen_by_the_second(monkeypatch):
    robot_or_fail("go2")
    torch.manual_seed(0)
    env = WorkbenchEnv(load_spec("go2_flat", {"env.num_envs": 2}))
    first = torch.tensor([True, False])
    feet = env.body_pos_w.clone()
    env.write_dof_state(first, env.dof_pos + 0.3, env.dof_vel)
    moved = env.body_pos_w
    assert (moved[0] - feet[0]).abs().max() > 0.01 and torch.equal(moved[1], feet[1])
    assert torch.equal(moved, env.backend.body_poses[..., :3] - env.backend.env_origins.unsqueeze(1))

    # a backend whose root velocity reads back what was written at once (Newton's follows at the next physics step)
    root_velocity = env.backend.root_velocity
    monkeypatch.setattr(env.backend, "add_root_velocity", lambda mask, delta: root_velocity.add_(delta * mask[:, None]))
    before = env.root_lin_vel_b.clone()
    env.add_root_velocity(first, torch.tensor([[1.0, 0.5, 0.0, 0.0, 0.0, 0.3]] * 2))
    after = torch.cat([env.root_lin_vel_b, env.root_ang_vel_b, env.projected_gravity_b], 1)
    assert (after[0, :3] - before[0]).abs().max() > 0.5 and torch.equal(after[1, :3], before[1])
    assert (after.double() - in_root_frame(env)).abs().max() < 1e-6


def relative_error(value: torch.Tensor, expected: torch.Tensor) -> float:
    """The largest error of rows (..., 3) against float64 ``expected``, over each expected row's length (at least 1)."""
    error = torch.linalg.vector_norm(value.double() - expected, dim=-1)
    return float((error / torch.linalg.vector_norm(expected, dim=-1).clamp(min=1.0)).max())


def test_rotations_agree_with_a_rotation_matrix_and_broadcast_over_vectors():
    generator = torch.Generator().manual_seed(0)
    quat = torch.nn.functional.normalize(torch.randn(1000, 4, generator=generator), dim=1)
    vectors = torch.randn(3, 1000, 3, generator=generator) * 10.0
    matrix = rotation_matrix(quat)
    turned = quat_rotate(quat[None], vectors)  # (1, N, 4) turn (3, N, 3)
    back = quat_rotate_inverse(quat[None], vectors)
    for k in range(3):
        vector = vectors[k].double().unsqueeze(-1)
        assert relative_error(turned[k], (matrix @ vector).squeeze(-1)) < 1e-6
        assert relative_error(back[k], (matrix.transpose(1, 2) @ vector).squeeze(-1)) < 1e-6
        assert torch.equal(back[k], quat_rotate_inverse(quat, vectors[k])), "batched as one at a time"
    assert relative_error(quat_rotate(quat, quat_rotate_inverse(quat, vectors[0])), vectors[0].double()) < 2e-6
