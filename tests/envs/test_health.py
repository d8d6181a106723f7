"""Physics blow-ups are caught per env, counted, never rewarded, and never touch the other envs; where the CPU's
shared world cannot isolate one, or the policy turns NaN, the run stops with exit code 3 and names the last good
checkpoint."""

from __future__ import annotations

import json

import pytest
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.specs.loader import load_spec

from . import blowup_terms

EXPLODE = """
[events.explode]
func = "tests.envs.blowup_terms:spin_first_envs"
mode = "interval"
interval_s = [0.5, 0.5]
params = {{ count = {count} }}
"""


DEVICES = [
    "cpu",
    "cpu:mujoco_warp",  # the GPU's solver and worlds on the CPU (env.cpu_solver)
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")),
]


def rollout(spec_path, device: str, steps: int = 95) -> tuple:
    """Zero actions on 8 cartpoles: final joint positions and velocities, per-step unstable flags (steps, 8), the
    episode statistics and the per-step rewards (steps, 8), all on the CPU. ``device`` "cpu:mujoco_warp": the CPU
    with ``env.cpu_solver = "mujoco_warp"``."""
    device, warp_on_cpu, _ = device.partition(":mujoco_warp")
    overrides = {"env.num_envs": 8} | ({"env.cpu_solver": "mujoco_warp"} if warp_on_cpu else {})
    torch.manual_seed(0)
    env = WorkbenchEnv(load_spec(spec_path, overrides), device)
    unstable, rewards = [], []
    for _ in range(steps):
        _, reward, _, _ = env.step(torch.zeros(8, 1, device=device))
        unstable.append(env.unstable.clone())
        rewards.append(reward.clone())
    stats = env.pop_episode_stats()
    return env.dof_pos.cpu(), env.dof_vel.cpu(), torch.stack(unstable).cpu(), stats, torch.stack(rewards).cpu()


@pytest.mark.parametrize("device", DEVICES)
def test_a_blow_up_terminates_only_its_env_and_leaves_the_others_untouched(write_spec, device):
    """On the CPU all envs share one MuJoCo world; with MuJoCo-Warp (``cpu:mujoco_warp``) and on CUDA each is its own
    world (and on CUDA the step a CUDA graph)."""
    exploding = rollout(write_spec(append=EXPLODE.format(count=2), name="explode.toml"), device)
    calm = rollout(write_spec(append=EXPLODE.format(count=0), name="calm.toml"), device)
    pos, vel, unstable, stats, rewards = exploding
    # the event fires every 0.5 s (30 steps of 1/60 s) and envs 0 and 1 blow up on the next step: 3 times in 95 steps
    assert unstable[:, :2].sum().item() == 6 and not unstable[:, 2:].any()
    assert stats["unstable_envs"] == 6 and calm[3]["unstable_envs"] == 0
    assert torch.isfinite(pos).all() and torch.isfinite(vel).all(), "the blown-up envs were reset"
    assert torch.isfinite(rewards).all() and (rewards[unstable] == 0).all(), "a blow-up earns nothing"
    # the six other envs followed exactly the trajectory they follow when nothing explodes
    assert torch.equal(pos[2:], calm[0][2:]) and torch.equal(vel[2:], calm[1][2:])


@pytest.mark.slow
def test_training_counts_blow_ups_and_warns_once(write_spec, tmp_path, capsys):
    spec = write_spec(append=EXPLODE.format(count=8))
    args = ["train", str(spec), "--run-dir", str(tmp_path / "run"), "--max-iterations", "6", "--num-envs", "8"]
    assert main([*args, "--eval-episodes", "2"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert sum(row["unstable_envs"] for row in rows) >= 8
    assert any("| unstable " in line for line in out.splitlines() if line.startswith("it "))
    warnings = [line for line in err.splitlines() if line.startswith("warning: the physics blew up")]
    assert len(warnings) == 1 and "env.physics_dt" in warnings[0] and "actions.scale" in warnings[0]


@pytest.mark.slow
def test_the_cpu_shared_world_failing_stops_the_run_with_exit_3(tmp_path, capsys):
    run_dir = tmp_path / "run"
    code = main(
        [
            "train",
            "cartpole",
            "--run-dir",
            str(run_dir),
            "--max-iterations",
            "3",
            "--num-envs",
            "8",
            "--set",
            "actions.scale=1e9",
            'actions.joints=["slider","hinge"]',
        ]  # fmt: skip
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3, err
    assert "shared world" in err[-1] and "env.physics_dt" in err[-1] and "no checkpoint was saved" in err[-1]
    assert not run_dir.exists(), "a run that failed in its first iteration leaves no folder behind"


@pytest.mark.slow
def test_nan_in_the_policy_stops_with_exit_3_and_names_the_last_good_checkpoint(write_spec, tmp_path, capsys):
    spec = write_spec(
        replace={
            'terms = ["joint_pos", "joint_vel"]': 'terms = ["tests.envs.blowup_terms:joint_pos_nan_after_calls", '
            '"joint_vel"]',
            "save_interval = 50": "save_interval = 1",
        }  # fmt: skip
    )
    blowup_terms.joint_pos_nan_after_calls.count = 0  # NaN from the 51st call: in iteration 4 (16 steps each)
    run_dir = tmp_path / "run"
    code = main(["train", str(spec), "--run-dir", str(run_dir), "--max-iterations", "10", "--num-envs", "8"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3, err
    assert "NaN" in err[-1] and "model_000003.pt" in err[-1], err[-1]
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("*.pt"))[-1] == "model_000003.pt"
    assert torch.load(run_dir / "checkpoints" / "model_000003.pt", weights_only=True)["iter"] == 3


@pytest.mark.slow
def test_an_ant_with_a_tenth_of_a_second_time_step_is_reported_as_blowing_up(tmp_path, capsys):
    """physics_dt = 0.1 s used to report an absurd forward speed; now every such episode is a counted failure."""
    run_dir = tmp_path / "run"
    args = ["train", "ant", "--run-dir", str(run_dir), "--max-iterations", "2", "--num-envs", "8"]
    assert main([*args, "--eval-episodes", "8", "--set", "env.physics_dt=0.1"]) == 0
    out, err = capsys.readouterr()
    assert "8 of them blew up" in out.strip().splitlines()[-1]
    assert "env.physics_dt = 0.1 s" in err
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert all(row["unstable_envs"] > 0 for row in rows)
