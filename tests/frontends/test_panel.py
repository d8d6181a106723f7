"""The panel model without a UI: every edit validated as load_spec does (errors kept next to the field), terms
added, removed and switched off, the spec saved, and a run trained, stopped within an iteration, played and
exported on the worker thread."""

from __future__ import annotations

import json

import pytest
from isaac.rl.workbench.envs.spec import load_spec
from isaac.rl.workbench.frontends.panel import PanelModel


@pytest.fixture
def panel(tmp_path):
    model = PanelModel(runs_dir=tmp_path / "runs")
    assert model.open_spec("cartpole")
    yield model
    model.close()


def test_opening_a_task_shows_its_articulation(panel):
    assert panel.spec_file.name == "cartpole.toml" and not panel.field_errors
    assert panel.articulation.root_path == "/cartpole" and panel.articulation.dof_names == ("slider", "hinge")


def test_opening_something_that_is_not_a_task_says_why(panel):
    assert not panel.open_spec("no_such_task")
    assert "no_such_task: not a spec file and not a known task" in panel.messages[-1]
    assert panel.spec_file.name == "cartpole.toml", "the open spec stays"


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("env.num_envs", -3, "must be >= 1"),
        ("env.physics_dt", "fast", "expected float"),
        ("rewards.pole_pos.weight", "heavy", "expected float"),
        ("actions.joints", ["wheel"], "joint 'wheel' is not in articulation /cartpole"),
        ("env.num_envz", 3, "unknown key"),
        ("seed.x", 3, "'seed' is a value"),
    ],
)
def test_a_bad_edit_is_refused_with_the_error_next_to_its_field(panel, key, value, problem):
    before = json.dumps(panel.raw, sort_keys=True)
    assert not panel.set_field(key, value)
    assert problem in panel.field_errors[key], panel.field_errors
    assert json.dumps(panel.raw, sort_keys=True) == before, "the spec is unchanged"


def test_a_good_edit_is_taken_and_clears_the_fields_error(panel):
    assert not panel.set_field("env.num_envs", 0)
    assert panel.set_field("env.num_envs", 32)
    assert panel.raw["env"]["num_envs"] == 32 and "env.num_envs" not in panel.field_errors
    assert panel.spec().env.num_envs == 32


def test_terms_are_added_removed_and_switched_off(panel):
    assert panel.add_term("rewards", "stay_upright", {"func": "upright", "weight": 0.5})
    assert panel.spec().rewards["stay_upright"].weight == 0.5
    assert not panel.add_term("rewards", "nonsense", {"func": "no_such_term"})
    assert "unknown reward term 'no_such_term'" in panel.field_errors["rewards.nonsense.func"]
    assert not panel.add_term("rewards", "stay_upright", {"func": "upright"}), "names are unique"
    assert panel.enable_term("rewards", "cart_vel", False)
    assert "cart_vel" not in panel.spec().rewards and "cart_vel" in panel.disabled["rewards"]
    assert panel.enable_term("rewards", "cart_vel", True) and "cart_vel" in panel.spec().rewards
    assert panel.remove_term("rewards", "stay_upright") and "stay_upright" not in panel.spec().rewards
    for name in list(panel.raw["rewards"])[:-1]:
        assert panel.remove_term("rewards", name)
    last = next(iter(panel.raw["rewards"]))
    assert not panel.remove_term("rewards", last), "a spec needs one reward"
    assert "at least one reward term" in panel.field_errors["rewards"]


def test_the_saved_spec_repeats_the_edited_run(panel, tmp_path):
    panel.set_field("env.num_envs", 16)
    panel.set_field("rewards.alive.weight", 2.0)
    path = panel.save_spec(tmp_path / "saved" / "my_cartpole.toml")
    spec = load_spec(path)
    assert spec.env.num_envs == 16 and spec.rewards["alive"].weight == 2.0
    assert panel.command_line(path) == f"isaac-rl-workbench train {path} --device cpu"


@pytest.mark.slow
def test_train_stop_play_and_export_on_the_worker(panel):
    panel.set_field("env.num_envs", 8)
    panel.set_field("ppo.max_iterations", 500)
    progress = []
    panel.add_listener(lambda what, model: progress.append(model.run.iteration) if what == "progress" else None)
    assert panel.train()
    assert not panel.train(), "one job at a time"
    while not progress or progress[-1] < 3:
        assert not panel.wait(0.05) or panel.run.status != "failed", panel.messages
    panel.stop()
    asked_at = progress[-1]
    assert panel.wait(120), "stop is answered"
    assert panel.run.status == "finished" and panel.run.iteration <= asked_at + 1, (asked_at, panel.run.iteration)
    assert [i for i, _ in panel.run.series["mean_episode_length"]][-1] == panel.run.iteration
    assert panel.run.checkpoints and panel.run.checkpoints[-1].is_file()
    rows = (panel.run.run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == panel.run.iteration
    assert panel.evaluate(episodes=4) and panel.wait(120)
    assert panel.run.evaluation["episodes"] == 4, panel.messages
    assert panel.export() and panel.wait(300)
    assert panel.run.export["max_abs_diff_onnx"] <= 1e-5, panel.messages


@pytest.mark.slow
def test_a_reward_weight_changed_while_training_reaches_the_run_and_its_log(panel):
    panel.set_field("env.num_envs", 8)
    panel.set_field("ppo.max_iterations", 500)
    panel.set_field("ppo.save_interval", 1)
    progress = []
    panel.add_listener(lambda what, model: progress.append(model.run.iteration) if what == "progress" else None)
    assert panel.train()
    while not progress or progress[-1] < 2:
        assert not panel.wait(0.05), panel.messages
    assert panel.set_field("rewards.alive.weight", 0.0)
    assert panel.enable_term("rewards", "pole_pos", False)
    edited_at = progress[-1]
    while progress[-1] < edited_at + 3:
        assert not panel.wait(0.05), panel.messages
    panel.stop()
    assert panel.wait(120)
    rows = [json.loads(line) for line in (panel.run.run_dir / "metrics.jsonl").read_text().splitlines()]
    edits = {row["edit"]: row for row in rows if "edit" in row}
    assert edits["rewards.alive.weight"]["value"] == 0.0 and edits["rewards.pole_pos.weight"]["value"] == 0.0
    applied = edits["rewards.alive.weight"]["iteration"]
    later = [row for row in rows if "edit" not in row and row["iteration"] > applied + 1 and "reward/alive" in row]
    assert later and all(row["reward/alive"] == 0.0 and row["reward/pole_pos"] == 0.0 for row in later)

    # a resume trains on with the weights the run had reached
    from isaac.rl.workbench.workbench import Workbench

    wb = Workbench.open(panel.run.run_dir)
    wb.build(resume=True)
    names = [term.name for term in wb.env.reward_terms]
    assert float(wb.env._reward_scales[names.index("alive")]) == 0.0
    assert float(wb.env._reward_scales[names.index("cart_vel")]) != 0.0
