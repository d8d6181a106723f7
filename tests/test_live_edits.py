"""Live edits beyond reward weights: an event's range (a start-up event's at each env's next reset, an interval
event's at its next firing), a command's range (at its next draw), the learning rate and the entropy coefficient
(at the next update, in both learners); each one row of metrics.jsonl, applied again when the run resumes; a key
that cannot change live is refused naming it. Cart-pole on Newton (CPU), a few envs."""

from __future__ import annotations

import json

import pytest
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.frontends.panel import PanelModel
from isaac.rl.workbench.learn.trainer import Trainer
from isaac.rl.workbench.live_edits import LiveEditRefused
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.workbench import Workbench

POLE_MASS = 0.25  # [kg] in assets/usd/cartpole.usda
LIVE_SPEC = {
    "env.num_envs": 4,
    "events.pole_mass": {
        "func": "randomize_body_mass",
        "mode": "startup",
        "params": {"bodies": ["pole"], "mass_range": [1.0, 1.0], "operation": "scale"},
    },
    # the pole's speed set every step (an interval shorter than a step): what the interval event did is readable
    "events.kick": {
        "func": "reset_joints_uniform",
        "mode": "interval",
        "interval_s": [0.01, 0.01],
        "params": {"joints": ["hinge"], "position_range": [0.0, 0.0], "velocity_range": [0.1, 0.1]},
    },
    "commands.goal": {"type": "position", "frame": "env", "ranges": {"x": [0.0, 0.0]}, "resample_s": [0.01, 0.01]},
}


def _env() -> WorkbenchEnv:
    return WorkbenchEnv(load_spec("cartpole", LIVE_SPEC), "cpu")


def _pole_mass(env: WorkbenchEnv) -> torch.Tensor:
    return env.physics_property("body_mass")[:, env.body_names.index("pole")]


def test_a_start_up_range_edit_redraws_each_env_at_its_next_reset_only():
    env = _env()
    assert torch.allclose(_pole_mass(env), torch.full((4,), POLE_MASS))
    env.set_event_param("pole_mass", "mass_range", [2.0, 2.0])
    assert torch.allclose(_pole_mass(env), torch.full((4,), POLE_MASS)), "no env changes mid-episode"
    env.episode_length_buf[0] = env.max_episode_length - 1  # env 0 times out at the next step, the others go on
    _, _, dones, _ = env.step(torch.zeros(4, 1))
    assert dones.tolist() == [1, 0, 0, 0]
    assert torch.allclose(_pole_mass(env), torch.tensor([2 * POLE_MASS, POLE_MASS, POLE_MASS, POLE_MASS]))
    env.reset()  # every env resets (an evaluation's reset, say): each one draws from the edited range
    env.step(torch.zeros(4, 1))
    assert torch.allclose(_pole_mass(env), torch.full((4,), 2 * POLE_MASS))


def test_an_interval_event_edit_changes_its_next_firings():
    env = _env()
    hinge = env.spec.joint_names.index("hinge")
    env.step(torch.zeros(4, 1))
    assert torch.allclose(env.dof_vel[:, hinge], torch.full((4,), 0.1))
    env.set_event_param("kick", "velocity_range", [-0.3, -0.3])
    env.step(torch.zeros(4, 1))
    assert torch.allclose(env.dof_vel[:, hinge], torch.full((4,), -0.3))


def test_a_command_range_edit_changes_the_next_draws():
    env = _env()
    env.step(torch.zeros(4, 1))
    assert env.commands.values["goal"][:, 0].tolist() == [0.0] * 4
    env.set_command_range("goal", "x", (1.5, 1.5))
    env.step(torch.zeros(4, 1))
    assert env.commands.values["goal"][:, 0].tolist() == [1.5] * 4
    with pytest.raises(KeyError, match="draws no 'lin_vel_x'"):
        env.set_command_range("goal", "lin_vel_x", (0.0, 1.0))


@pytest.mark.parametrize("learner", ["graphed", "rsl_rl"])
def test_learning_rate_and_entropy_edits_reach_the_next_update(learner):
    spec = load_spec("cartpole", {"env.num_envs": 8, "ppo.learner": learner, "ppo.algorithm.schedule": "fixed"})
    torch.manual_seed(0)
    trainer = Trainer(WorkbenchEnv(spec, "cpu"), spec.ppo, "cpu")
    first = trainer.train_step()
    trainer.set_learning_rate(3e-3)
    trainer.set_entropy_coef(5.0)  # an entropy bonus this large widens the policy in one update (~6%; lr alone: 1%)
    second = trainer.train_step()
    assert first["learning_rate"] == pytest.approx(1e-3) and second["learning_rate"] == pytest.approx(3e-3)
    assert all(float(group["lr"]) == pytest.approx(3e-3) for group in trainer.alg.optimizer.param_groups)
    assert second["action_std"] > first["action_std"] * 1.04, (first["action_std"], second["action_std"])


def _rows(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_each_edit_is_one_row_and_a_resumed_run_applies_them_again(tmp_path):
    overrides = {**LIVE_SPEC, "ppo.max_iterations": 3, "ppo.save_interval": 1, "ppo.algorithm.schedule": "fixed"}
    wb = Workbench.new("cartpole", overrides, run_dir=tmp_path / "run")
    wb.build()
    wb.train_step()
    said = wb.edit_live("events.pole_mass.params.mass_range", [2.0, 2.0])
    assert said == (
        "events.pole_mass.params.mass_range = [2, 2] from iteration 2: each env draws its start-up randomisation "
        "again at its next reset"
    )
    wb.edit_live("events.kick.params.velocity_range", [-0.3, -0.3])
    wb.edit_live("commands.goal.ranges.x", [1.5, 1.5])
    wb.edit_live("ppo.algorithm.learning_rate", 2e-3)
    wb.edit_live("ppo.algorithm.entropy_coef", 0.02)
    with pytest.raises(LiveEditRefused, match=r"^env.num_envs: changes the number of envs .*: use Fork$"):
        wb.edit_live("env.num_envs", 16)
    with pytest.raises(LiveEditRefused, match=r"^observations.policy.terms: changes the observation's shape"):
        wb.edit_live("observations.policy.terms", ["joint_pos"])
    with pytest.raises(LiveEditRefused, match=r"^commands.goal.ranges.x: expected \[min, max\]"):
        wb.edit_live("commands.goal.ranges.x", 1.5)
    wb.train_step()
    wb.finish()
    edits = [row for row in _rows(wb.run_dir) if "edit" in row]
    assert edits == [
        {"iteration": 1, "edit": "events.pole_mass.params.mass_range", "value": [2.0, 2.0]},
        {"iteration": 1, "edit": "events.kick.params.velocity_range", "value": [-0.3, -0.3]},
        {"iteration": 1, "edit": "commands.goal.ranges.x", "value": [1.5, 1.5]},
        {"iteration": 1, "edit": "ppo.algorithm.learning_rate", "value": 2e-3},
        {"iteration": 1, "edit": "ppo.algorithm.entropy_coef", "value": 0.02},
    ], "one row per edit taken, none for those refused"
    assert [row["learning_rate"] for row in _rows(wb.run_dir) if "edit" not in row] == pytest.approx([1e-3, 2e-3])

    resumed = Workbench.open(wb.run_dir, {"ppo.max_iterations": 4})
    resumed.build(resume=True)
    env = resumed.env
    assert torch.allclose(_pole_mass(env), torch.full((4,), 2 * POLE_MASS)), "start-up draws from the edited range"
    assert resumed.trainer.alg.learning_rate == pytest.approx(2e-3)
    assert resumed.trainer.alg.entropy_coef == pytest.approx(0.02)
    resumed.train_step()
    hinge = env.spec.joint_names.index("hinge")
    assert torch.allclose(env.dof_vel[:, hinge], torch.full((4,), -0.3))
    assert env.commands.values["goal"][:, 0].tolist() == [1.5] * 4
    resumed.finish()


def test_the_panel_takes_live_keys_while_training_and_refuses_the_others_naming_them(tmp_path):
    model = PanelModel(runs_dir=tmp_path / "runs")
    try:
        assert model.open_spec("cartpole")
        for key, table in LIVE_SPEC.items():
            if "." in key and key.split(".")[0] in ("events", "commands"):
                assert model.set_field(key, table), model.field_errors
        model.run.status = "training"  # as the training job sets it
        assert model.live_refusal("ppo.algorithm.learning_rate") is None
        assert model.live_refusal("env.num_envs") == "changes the number of envs (the shape of every buffer): use Fork"
        assert not model.set_field("ppo.actor.hidden_dims", [64, 64])
        assert model.field_errors["ppo.actor.hidden_dims"] == "ppo.actor.hidden_dims: changes the networks: use Fork"
        assert model.raw["ppo"]["actor"]["hidden_dims"] == [32, 32], "the spec stays as the run has it"
        params = {"joints": ["hinge"], "position_range": [0.0, 0.0], "velocity_range": [-0.3, -0.3]}
        assert model.set_field("events.kick.params", params)
        assert model.set_field("ppo.algorithm.entropy_coef", 0.01)
        assert not model.set_field("events.kick.params", {**params, "joints": ["slider"]})
        assert model.field_errors["events.kick.params"].startswith("events.kick.params.joints: selects what")
        assert model.take_live_edits() == [
            ("events.kick.params.velocity_range", [-0.3, -0.3]),
            ("ppo.algorithm.entropy_coef", 0.01),
        ]
        model.run.status = "finished"
        assert model.live_refusal("env.num_envs") is None and model.set_field("env.num_envs", 8)
    finally:
        model.close()
