"""The panel model without a UI: every edit validated as load_spec does (errors kept next to the field), terms
added, removed and switched off, scenes opened, the spec saved, paths held to the allowed folders, and a run
trained, stopped within an iteration, forked, reopened, played, recorded and exported on the worker thread."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from isaac.rl.workbench.frontends import panel_jobs
from isaac.rl.workbench.frontends.panel import PanelModel
from isaac.rl.workbench.specs.loader import load_spec, save_spec
from pxr import Usd, UsdGeom, UsdPhysics

from ..conftest import CARTPOLE_SPEC, REPO

SHIPPED_SCENE = REPO / "assets" / "usd" / "cartpole.usda"
SMALL_RUN = {"env.num_envs": 8, "ppo.max_iterations": 3, "ppo.save_interval": 1}
VIEW_ENVS = 2


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
    # an episode's reward sums include what it earned before the edit: wait out the longest episode (300 steps,
    # 19 iterations of 16 steps) so that later iterations report episodes that began after it
    while progress[-1] < edited_at + 22:
        assert not panel.wait(0.05), panel.messages
    panel.stop()
    assert panel.wait(120)
    rows = [json.loads(line) for line in (panel.run.run_dir / "metrics.jsonl").read_text().splitlines()]
    edits = {row["edit"]: row for row in rows if "edit" in row}
    assert edits["rewards.alive.weight"]["value"] == 0.0 and edits["rewards.pole_pos.weight"]["value"] == 0.0
    applied = edits["rewards.alive.weight"]["iteration"]
    later = [row for row in rows if "edit" not in row and row["iteration"] > applied + 19 and "reward/alive" in row]
    assert later and all(row["reward/alive"] == 0.0 and row["reward/pole_pos"] == 0.0 for row in later)

    # a resume trains on with the weights the run had reached
    from isaac.rl.workbench.workbench import Workbench

    wb = Workbench.open(panel.run.run_dir)
    wb.build(resume=True)
    names = [term.name for term in wb.env.reward_terms]
    assert float(wb.env._reward_scales[names.index("alive")]) == 0.0
    assert float(wb.env._reward_scales[names.index("cart_vel")]) != 0.0


# -- scenes ----------------------------------------------------------------------------------------------------------
def _renamed_cartpole(folder: Path) -> Path:
    """The cartpole scene with its articulation root at /cart_pole2 (same joints, so the cartpole spec fits it)."""
    path = folder / "renamed.usda"
    path.write_text(SHIPPED_SCENE.read_text().replace("cartpole", "cart_pole2"))
    return path


def _no_articulation(path: Path) -> Path:
    """A USD stage with one rigid body and no articulation root."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdPhysics.RigidBodyAPI.Apply(UsdGeom.Xform.Define(stage, "/crate").GetPrim())
    stage.Save()
    return path


def test_a_scene_with_one_articulation_becomes_the_specs_scene(panel, tmp_path):
    scene = _renamed_cartpole(tmp_path).resolve()
    assert not panel.open_scene(tmp_path / "missing.usda")
    assert panel.open_scene(scene), panel.field_errors
    assert "scene" not in panel.field_errors, "a scene taken clears the scene's error"
    assert panel.raw["scene"] == str(scene) and panel.raw["articulation"] == "/cart_pole2"
    assert panel.spec().scene == scene and panel.scene_path == scene
    assert panel.articulation.root_path == "/cart_pole2" and panel.articulation.dof_names == ("slider", "hinge")
    assert str(scene) in panel.scene_summary and "articulation /cart_pole2" in panel.scene_summary


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda folder: _no_articulation(folder / "crate.usda"), "no articulation root"),
        (lambda folder: folder / "missing.usda", "no such file"),
        (lambda folder: folder, "is a directory"),
    ],
)
def test_a_scene_that_cannot_be_used_is_refused_and_the_spec_kept(panel, tmp_path, make, fragment):
    path = make(tmp_path)
    before, summary = json.dumps(panel.raw, sort_keys=True), panel.scene_summary
    assert not panel.open_scene(path)
    assert str(path) in panel.field_errors["scene"] and fragment in panel.field_errors["scene"], panel.field_errors
    assert json.dumps(panel.raw, sort_keys=True) == before, "the spec is unchanged"
    assert panel.spec().scene == SHIPPED_SCENE and panel.articulation.root_path == "/cartpole"
    assert panel.scene_summary == summary, "the summary still describes the spec's scene"


# -- terms -------------------------------------------------------------------------------------------------------------
RESET = {"joints": ["slider"], "position_range": [0.0, 0.0], "velocity_range": [0.0, 0.0]}


@pytest.mark.parametrize(
    ("kind", "name", "table", "key", "problem"),
    [
        ("bonuses", "x", {"func": "is_alive"}, "bonuses", "'bonuses': expected one of rewards, terminations, events"),
        ("rewards", "alive", {"func": "is_alive"}, "rewards.alive", "a term named 'alive' exists already"),
        ("terminations", "pole_fell", {"func": "time_out"}, "terminations.pole_fell", "named 'pole_fell' exists"),
        ("rewards", "", {"func": "is_alive"}, "rewards.", "name it"),
        ("rewards", "mine", {"func": "no_such_term"}, "rewards.mine.func", "unknown reward term 'no_such_term'"),
        ("rewards", "mine", {"func": "is_alive", "weight": "heavy"}, "rewards.mine.weight", "got 'heavy'"),
        (
            "events",
            "kick",
            {"func": "reset_joints_uniform", "mode": "sometimes", "params": RESET},
            "events.kick.mode",
            "got 'sometimes'",
        ),
    ],
)
def test_a_bad_term_is_refused_naming_the_key_and_value(panel, kind, name, table, key, problem):
    before = json.dumps(panel.raw, sort_keys=True)
    assert not panel.add_term(kind, name, table)
    assert problem in panel.field_errors[key], panel.field_errors
    assert json.dumps(panel.raw, sort_keys=True) == before, "the spec is unchanged"


def test_a_term_named_like_a_switched_off_one_is_refused(panel):
    assert panel.enable_term("rewards", "alive", False)
    assert not panel.add_term("rewards", "alive", {"func": "is_alive"})
    assert "a term named 'alive' exists already" in panel.field_errors["rewards.alive"]
    assert panel.enable_term("rewards", "alive", True) and panel.spec().rewards["alive"].weight == 1.0


def test_a_term_added_after_a_refusal_clears_the_terms_errors(panel):
    assert not panel.add_term("rewards", "mine", {"func": "is_alive", "weight": "heavy"})
    assert panel.add_term("rewards", "mine", {"func": "is_alive", "weight": 2.0})
    assert not [key for key in panel.field_errors if key.startswith("rewards.mine")], panel.field_errors


@pytest.mark.parametrize(
    "action",
    [
        lambda m: m.remove_term("bonuses", "alive"),
        lambda m: m.enable_term("bonuses", "alive", False),
        lambda m: m.enable_term("bonuses", "alive", True),
    ],
)
def test_an_unknown_term_kind_is_refused(panel, action):
    before = json.dumps(panel.raw, sort_keys=True)
    assert not action(panel)
    assert "'bonuses': expected one of rewards" in panel.field_errors["bonuses"]
    assert json.dumps(panel.raw, sort_keys=True) == before


def test_the_last_reward_can_be_neither_removed_nor_switched_off(panel):
    names = list(panel.raw["rewards"])
    for name in names[:-2]:
        assert panel.remove_term("rewards", name)
    assert panel.enable_term("rewards", names[-2], False)
    last = names[-1]
    assert not panel.remove_term("rewards", last)
    assert (
        "key 'rewards'" in panel.field_errors["rewards"] and "at least one reward term" in panel.field_errors["rewards"]
    )
    del panel.field_errors["rewards"]
    assert not panel.enable_term("rewards", last, False)
    assert "at least one reward term" in panel.field_errors["rewards"]
    assert list(panel.spec().rewards) == [last] and last not in panel.disabled["rewards"]


def test_a_termination_switched_off_and_on_comes_back_as_it_was(panel, tmp_path):
    before = copy.deepcopy(panel.raw["terminations"]["pole_fell"])
    assert panel.enable_term("terminations", "pole_fell", False)
    assert "pole_fell" not in panel.spec().terminations and panel.disabled["terminations"] == {"pole_fell": before}
    saved = panel.save_spec(tmp_path / "off.toml")
    assert "pole_fell" not in load_spec(saved).terminations, "a switched-off term is not saved"
    assert panel.enable_term("terminations", "pole_fell", True)
    assert panel.raw["terminations"]["pole_fell"] == before and not panel.disabled["terminations"]
    assert panel.spec().terminations["pole_fell"].params["limit"] == 0.4
    assert panel.enable_term("terminations", "pole_fell", False) and panel.remove_term("terminations", "pole_fell")
    assert not panel.disabled["terminations"] and "pole_fell" not in panel.raw["terminations"]


# -- saving and no spec ----------------------------------------------------------------------------------------------
def test_save_spec_returns_the_path_and_says_how_to_repeat_the_run(panel, tmp_path):
    target = tmp_path / "saved.toml"
    assert panel.save_spec(target) == target and target.is_file()
    assert panel.messages[-1] == f"saved {target}; repeat the run with: isaac-rl-workbench train {target} --device cpu"


def test_saving_over_a_file_asks_first_and_leaves_it_byte_identical(panel, tmp_path):
    target = tmp_path / "mine.toml"
    original = b"# my own notes\nname = 'keep me'\n"
    target.write_bytes(original)
    heard = []
    panel.add_listener(lambda what, _model: heard.append(what))
    panel.set_field("env.num_envs", 16)
    assert panel.save_spec(target) is None
    assert target.read_bytes() == original, "the existing file is untouched"
    assert panel.save_conflict == target and "save" in heard
    assert panel.messages[-1] == f"{target}: already exists; press Overwrite to replace it, or save under another name"
    assert panel.save_spec(target) is None and target.read_bytes() == original, "a second plain Save asks again"
    assert panel.save_spec(panel.save_conflict, overwrite=True) == target
    assert load_spec(target).env.num_envs == 16, "confirmed, the edited spec replaced it"
    assert panel.save_conflict is None
    assert panel.messages[-1].startswith(f"saved {target}; repeat the run with")


def test_a_declined_overwrite_keeps_the_file_and_drops_the_question(panel, tmp_path):
    target = tmp_path / "mine.toml"
    target.write_text("name = 'keep me'\n")
    assert panel.save_spec(target) is None and panel.save_conflict == target
    heard = []
    panel.add_listener(lambda what, _model: heard.append(what))
    panel.cancel_save()
    assert panel.save_conflict is None and heard == ["save"]
    assert target.read_text() == "name = 'keep me'\n"
    other = tmp_path / "new.toml"
    assert panel.save_spec(target) is None and panel.save_spec(other) == other, "another name saves at once"
    assert panel.save_conflict is None and target.read_text() == "name = 'keep me'\n"


def test_saving_onto_a_folder_is_refused(panel, tmp_path):
    (tmp_path / "folder.toml").mkdir()
    assert panel.save_spec(tmp_path / "folder.toml", overwrite=True) is None
    folder = tmp_path / "folder.toml"
    assert panel.messages[-1] == f"error: {folder}: is a folder; give a file name such as my_task.toml"
    assert panel.save_conflict is None


def test_without_a_spec_edits_and_training_are_refused(tmp_path):
    model = PanelModel(runs_dir=tmp_path / "runs")
    try:
        assert not model.set_field("env.num_envs", 8)
        assert "no spec is open" in model.field_errors["env.num_envs"]
        assert not model.add_term("rewards", "mine", {"func": "is_alive"})
        assert not model.train() and model.messages[-1] == "error: no spec is open"
        assert model.save_spec(tmp_path / "x.toml") is None and not (tmp_path / "x.toml").exists()
        assert model.raw == {} and model.run.status == "idle" and model.wait(0)
    finally:
        model.close()


# -- actions that need a run, and one job at a time ------------------------------------------------------------------
@pytest.mark.parametrize("action", ["play", "record", "evaluate", "export"])
def test_an_action_on_the_run_with_no_run_says_so(panel, action):
    assert not getattr(panel, action)()
    assert panel.messages[-1] == "error: no run yet: train, resume or open one first"
    assert panel.run.status == "idle" and panel.wait(0), "no job started"


def test_fork_with_no_checkpoint_says_so(panel, tmp_path):
    assert not panel.fork()
    assert panel.messages[-1] == "error: no checkpoint to fork from: train, or pick a checkpoint"
    assert panel.save_spec(tmp_path / "run" / "spec.toml") and panel.open_run(tmp_path / "run")
    assert not panel.fork(), "a run that saved no checkpoint"
    assert "no checkpoint to fork from" in panel.messages[-1]
    assert panel.run.status == "finished" and panel.wait(0), "no job started"


def test_a_folder_that_is_not_a_run_is_not_opened(panel, tmp_path):
    assert not panel.open_run(tmp_path)
    assert panel.messages[-1] == f"error: {tmp_path}: not a run folder (no spec.toml)"
    assert panel.run.status == "idle" and panel.run.run_dir is None


def test_a_file_that_is_not_a_recording_is_not_opened(panel):
    assert not panel.open_recording(SHIPPED_SCENE)
    assert f"{SHIPPED_SCENE}: no /World/env_0; expected a recording written by UsdRecorder" in panel.messages[-1]
    assert panel.view is None


def test_a_second_job_while_one_runs_is_refused_as_busy(panel, tmp_path, monkeypatch):
    run = tmp_path / "run"
    assert panel.save_spec(run / "spec.toml") and panel.open_run(run)
    checkpoint = tmp_path / "model_000001.pt"
    checkpoint.write_bytes(b"")
    started, release = threading.Event(), threading.Event()

    def job(model, **kwargs):
        started.set()
        release.wait(30)

    monkeypatch.setattr(panel_jobs, "train", job)
    assert panel.train() and started.wait(10)
    try:
        for name, action in [
            ("train", panel.train),
            ("resume", lambda: panel.resume(run)),
            ("fork", lambda: panel.fork(checkpoint)),
            ("play", panel.play),
            ("record", panel.record),
            ("evaluate", panel.evaluate),
            ("export", panel.export),
            ("open_run", lambda: panel.open_run(run)),
        ]:
            count = len(panel.messages)
            assert not action(), name
            assert panel.messages[count:] == ["busy: stop the current job first"], name
        assert not panel.wait(0), "the first job still runs"
        assert panel.run.status == "finished" and panel.run.run_dir == run
    finally:
        release.set()
    assert panel.wait(10) and panel.train(), "once idle, a job is taken again"
    assert panel.wait(10)


# -- a panel held to folders (the browser page) ----------------------------------------------------------------------
@pytest.fixture
def fenced(tmp_path):
    """A panel with folders, as the page has it: tmp/allowed (a copy of the cartpole scene and spec, open) and the
    runs folder. tmp/outside holds what the actions would accept without folders (a run folder, a checkpoint, a
    recording, a spec); links in tmp/allowed point to each. Returns (model, allowed, outside)."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    shutil.copy(SHIPPED_SCENE, allowed / "cartpole.usda")
    text = CARTPOLE_SPEC.read_text().replace('"../assets/usd/cartpole.usda"', '"cartpole.usda"')
    (allowed / "task.toml").write_text(text)
    save_spec(load_spec(allowed / "task.toml"), outside / "run" / "spec.toml")
    (outside / "model_000001.pt").write_bytes(b"")
    (outside / "rec.usda").write_text("#usda 1.0\n")
    (outside / "task.toml").write_text(text.replace('"cartpole.usda"', f'"{allowed / "cartpole.usda"}"'))
    for name in ("run", "model_000001.pt", "rec.usda", "task.toml"):
        os.symlink(outside / name, allowed / f"link_{name}")
    os.symlink(outside, allowed / "escape_dir")
    model = PanelModel(runs_dir=tmp_path / "runs", folders=[allowed])
    assert model.open_spec(allowed / "task.toml"), model.messages
    yield model, allowed, outside
    model.close()


FENCED_ACTIONS = [
    ("resume", "run"),
    ("open_run", "run"),
    ("open_recording", "rec.usda"),
    ("fork", "model_000001.pt"),
    ("open_spec", "task.toml"),
]


@pytest.mark.parametrize("form", ["dotdot", "absolute", "link"])
@pytest.mark.parametrize(("action", "target"), FENCED_ACTIONS)
def test_a_path_outside_the_folders_is_refused_and_starts_nothing(fenced, action, target, form):
    model, allowed, outside = fenced
    given = {"dotdot": f"../outside/{target}", "absolute": str(outside / target), "link": f"link_{target}"}[form]
    before = (json.dumps(model.raw, sort_keys=True), model.spec_file, model.run.status, model.run.run_dir, model.view)
    assert not getattr(model, action)(given)
    assert model.messages[-1].startswith(f"error: {given}: outside the allowed folders ({allowed}"), model.messages
    assert model.wait(0), "no job started"
    after = (json.dumps(model.raw, sort_keys=True), model.spec_file, model.run.status, model.run.run_dir, model.view)
    assert after == before, "nothing changed"


def test_the_targets_outside_would_be_taken_without_folders(fenced, tmp_path):
    """The control for the test above: without folders, the same paths are opened."""
    _, _, outside = fenced
    model = PanelModel(runs_dir=tmp_path / "runs")
    try:
        assert model.open_spec(outside / "task.toml") and model.open_run(outside / "run")
    finally:
        model.close()


def test_a_path_inside_the_folders_that_does_not_exist_is_refused(fenced):
    model, _, _ = fenced
    assert not model.open_run("no_such_run")
    assert model.messages[-1].startswith("error: no_such_run: not found in the allowed folders")


def test_a_known_task_still_opens_in_a_panel_with_folders(fenced):
    model, _, _ = fenced
    assert model.open_spec("cartpole"), model.messages
    assert model.spec_file == CARTPOLE_SPEC and model.spec().scene == SHIPPED_SCENE


@pytest.mark.parametrize("form", ["absolute", "dotdot", "link"])
def test_saving_outside_the_folders_is_refused_and_writes_nothing(fenced, form):
    model, allowed, outside = fenced
    given = {
        "dotdot": "../outside/saved.toml",
        "absolute": str(outside / "saved.toml"),
        "link": "escape_dir/saved.toml",
    }
    assert model.save_spec(given[form]) is None
    assert model.messages[-1].startswith(f"error: {given[form]}: outside the allowed folders"), model.messages
    assert not (outside / "saved.toml").exists()


def test_saving_inside_the_folders_writes_there(fenced):
    model, allowed, _ = fenced
    assert model.save_spec("saved.toml") == allowed / "saved.toml"
    assert load_spec(allowed / "saved.toml").scene == (allowed / "cartpole.usda").resolve()
    assert f"isaac-rl-workbench train {allowed / 'saved.toml'} --device cpu" in model.messages[-1]


def test_saving_over_the_open_spec_asks_first(fenced):
    model, allowed, _ = fenced
    before = (allowed / "task.toml").read_bytes()
    assert model.set_field("env.num_envs", 12)
    assert model.save_spec("task.toml") is None and (allowed / "task.toml").read_bytes() == before
    assert model.save_conflict == allowed / "task.toml"
    assert model.save_spec(model.save_conflict, overwrite=True) == allowed / "task.toml"
    assert load_spec(allowed / "task.toml").env.num_envs == 12


def test_a_scene_outside_the_folders_is_refused(fenced):
    model, _, outside = fenced
    shutil.copy(SHIPPED_SCENE, outside / "cartpole.usda")
    before = json.dumps(model.raw, sort_keys=True)
    assert not model.open_scene(outside / "cartpole.usda")
    assert "outside the allowed folders" in model.field_errors["scene"]
    assert json.dumps(model.raw, sort_keys=True) == before


# -- one short run, shared by the slow tests below -------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A cartpole run (8 envs, 3 iterations, a checkpoint each), trained once through a panel, with what that panel
    showed while it trained: ``views`` (run status, PoseFrames) per "poses" change and ``progress`` (iteration,
    time_left_s, first_iteration_s) per "progress" change; ``run`` is its RunState at the end."""
    model = PanelModel(runs_dir=tmp_path_factory.mktemp("trained") / "runs", view_envs=VIEW_ENVS)
    seen = SimpleNamespace(views=[], progress=[], runs_dir=model.runs_dir)

    def listen(what, m):
        if what == "poses":
            seen.views.append((m.run.status, m.view))
        elif what == "progress":
            seen.progress.append((m.run.iteration, m.run.time_left_s, m.run.first_iteration_s))

    try:
        assert model.open_spec("cartpole")
        for key, value in SMALL_RUN.items():
            assert model.set_field(key, value)
        model.add_listener(listen)
        started = time.perf_counter()
        assert model.train()
        assert model.wait(300), "training ends"
        seen.wall_s = time.perf_counter() - started
        assert model.run.status == "finished", model.messages
        seen.run, seen.spec = model.run, model.spec()
    finally:
        model.close()
    return seen


@pytest.fixture
def reopened(trained):
    """A fresh panel with the trained run opened."""
    model = PanelModel(runs_dir=trained.runs_dir, view_envs=VIEW_ENVS)
    assert model.open_run(trained.run.run_dir), model.messages
    yield model
    model.close()


@pytest.mark.slow
def test_training_shows_the_watched_envs_moving(trained):
    training = [(status, view) for status, view in trained.views if view.source == "training"]
    assert len(training) == SMALL_RUN["ppo.max_iterations"], "one batch of frames per iteration"
    status, view = training[0]
    assert status == "training"
    steps = trained.spec.ppo["num_steps_per_env"]
    assert view.poses.shape == (steps, VIEW_ENVS, len(view.body_paths), 7)
    assert view.dt == pytest.approx(trained.spec.env.step_dt)
    assert np.isfinite(view.poses).all()
    assert np.allclose(np.linalg.norm(view.poses[..., 3:], axis=-1), 1.0, atol=1e-4), "unit quaternions"
    cart_x = view.poses[:, :, view.body_paths.index("/cartpole/cart"), 0]
    assert (cart_x.max(axis=0) - cart_x.min(axis=0)).min() > 1e-3, "every watched cart moves along its rail"


@pytest.mark.slow
def test_time_left_and_first_iteration_are_set_after_an_iteration(trained):
    iteration, time_left_s, first_iteration_s = trained.progress[0]
    assert iteration == 1
    assert 0 < first_iteration_s < trained.wall_s
    assert time_left_s > 0, "two iterations to go"
    assert trained.progress[-1][:2] == (SMALL_RUN["ppo.max_iterations"], 0.0), "none left at the last"
    assert trained.run.time_left_s is None, "a finished run has no time left"
    assert all(first == first_iteration_s for _, _, first in trained.progress), "measured once"


@pytest.mark.slow
def test_opening_a_finished_run_restores_its_curves_and_checkpoints(trained, reopened):
    names = [path.name for path in trained.run.checkpoints]
    assert names == ["model_000001.pt", "model_000002.pt", "model_000003.pt"], "each checkpoint once"
    run = reopened.run
    assert run.status == "finished" and run.run_dir == trained.run.run_dir
    assert run.iteration == trained.run.iteration == SMALL_RUN["ppo.max_iterations"]
    assert run.checkpoints == trained.run.checkpoints
    assert run.series == trained.run.series and "reward/alive" in run.series
    assert [i for i, _ in run.series["env_steps_per_s"]] == [1, 2, 3]
    assert run.recordings == sorted((run.run_dir / "recordings").glob("*.usd*"))


@pytest.mark.slow
def test_play_streams_the_policy_until_stopped(reopened):
    model = reopened
    started = time.perf_counter()
    assert model.play()
    deadline = time.monotonic() + 60
    while model.run.play.get("steps", 0) < 5:
        assert not model.wait(0.02), model.messages  # the job must not end by itself
        assert time.monotonic() < deadline
    assert model.run.status == "playing"
    view = model.view
    assert view.source == "play" and view.poses.shape == (1, VIEW_ENVS, len(view.body_paths), 7)
    assert np.isfinite(view.poses).all()
    steps = model.run.play["steps"]
    while model.run.play["steps"] <= steps:
        assert not model.wait(0.02) and time.monotonic() < deadline, model.messages
    model.stop()
    assert model.wait(30), "stop is answered"
    elapsed = time.perf_counter() - started
    assert model.run.status == "finished", model.messages
    played = re.fullmatch(r"played (\d+) steps: .*", model.messages[-1])
    assert played and model.run.play == {}, "the play's figures move from the policy line to the messages"
    stopped_at = int(played.group(1))
    assert stopped_at <= elapsed / view.dt + 2, "no faster than real time"
    time.sleep(0.1)
    assert model.run.play == {} and model.messages[-1] == played.group(0), "stopped"


@pytest.mark.slow
def test_record_writes_a_recording_into_the_run_and_shows_it(trained, reopened):
    model = reopened
    assert model.record(episodes=1)
    assert model.wait(120) and model.run.status == "finished", model.messages
    recordings = trained.run.run_dir / "recordings"
    [recording] = model.run.recordings
    assert recording.parent == recordings and recording.suffix == ".usda" and recording.is_file()
    view = model.view
    assert view.source == "recording" and view.poses.shape[0] > 1 and view.poses.shape[1:] == (VIEW_ENVS, 3, 7)
    assert view.scene == SHIPPED_SCENE and view.root == "/cartpole"
    assert f"recorded {recording}" in model.messages[-1]
    assert model.open_run(trained.run.run_dir) and model.run.recordings == [recording], "listed when reopened"
    assert model.open_recording(recording) and model.view.poses.shape == view.poses.shape


@pytest.mark.slow
def test_fork_starts_a_new_run_from_the_checkpoint_with_the_edited_spec(trained):
    model = PanelModel(runs_dir=trained.runs_dir, view_envs=VIEW_ENVS)
    try:
        assert model.open_spec("cartpole")
        for key, value in {**SMALL_RUN, "ppo.max_iterations": 4, "rewards.alive.weight": 0.5}.items():
            assert model.set_field(key, value)
        assert model.open_run(trained.run.run_dir)
        checkpoint = model.run.checkpoints[-1]
        assert model.fork()
        assert model.wait(120) and model.run.status == "finished", model.messages
        fork = model.run.run_dir
        assert fork != trained.run.run_dir and fork.parent == trained.run.run_dir.parent
        rows = [json.loads(line) for line in (fork / "metrics.jsonl").read_text().splitlines()]
        assert {"iteration": 3, "edit": "forked_from", "value": str(checkpoint)} in rows
        assert [row["iteration"] for row in rows if "edit" not in row] == [4], "the count goes on from 3"
        assert model.run.iteration == 4 and model.run.checkpoints[-1].name == "model_000004.pt"
        assert load_spec(fork / "spec.toml").rewards["alive"].weight == 0.5
        assert load_spec(trained.run.run_dir / "spec.toml").rewards["alive"].weight == 1.0, "the original stays"
    finally:
        model.close()


@pytest.mark.slow
def test_a_chosen_checkpoint_is_what_fork_and_play_use(trained):
    model = PanelModel(runs_dir=trained.runs_dir, view_envs=VIEW_ENVS)
    try:
        assert model.open_spec("cartpole")
        for key, value in {**SMALL_RUN, "ppo.max_iterations": 2}.items():
            assert model.set_field(key, value)
        assert model.open_run(trained.run.run_dir)
        first = model.run.checkpoints[0]
        assert first != model.run.checkpoints[-1]
        assert model.choose_checkpoint(first) and model.policy_checkpoint == first
        assert model.evaluate(episodes=2) and model.wait(120) and model.run.evaluation["episodes"] == 2
        assert model.fork() and model.wait(120), model.messages
        rows = [json.loads(line) for line in (model.run.run_dir / "metrics.jsonl").read_text().splitlines()]
        assert [row["value"] for row in rows if row.get("edit") == "forked_from"] == [str(first)]
        assert model.policy_checkpoint is None, "a new run starts from its own latest checkpoint"
    finally:
        model.close()


def test_a_checkpoint_outside_the_folders_is_not_chosen(fenced):
    model, allowed, outside = fenced
    assert not model.choose_checkpoint(outside / "model_000001.pt")
    assert "outside the allowed folders" in model.messages[-1] and model.policy_checkpoint is None


@pytest.mark.slow
def test_a_failed_resume_keeps_the_run_on_show(reopened, tmp_path):
    shown = reopened.run.run_dir
    (tmp_path / "not_a_run").mkdir()
    assert reopened.resume(tmp_path / "not_a_run") and reopened.wait(60)
    assert reopened.run.run_dir == shown and reopened.run.status == "finished", reopened.run
    assert reopened.messages[-1].startswith("error:") and "not_a_run" in reopened.messages[-1]


def test_the_scene_picker_offers_an_imported_robot_but_not_its_payload_layers(tmp_path):
    allowed = tmp_path / "scenes"
    for name in ("go2/go2.usda", "go2/Payload/Physics.usda", "go2/Payload/Geometry.usda", "cartpole.usda"):
        (allowed / name).parent.mkdir(parents=True, exist_ok=True)
        (allowed / name).write_text("#usda 1.0\n")
    model = PanelModel(runs_dir=tmp_path / "runs", folders=[allowed])
    try:
        assert [p.relative_to(allowed).as_posix() for p in model.scene_files()] == ["cartpole.usda", "go2/go2.usda"]
    finally:
        model.close()


# -- the Runs section ---------------------------------------------------------------------------------------------
def _run_folder(runs: Path, name: str, rows: list[dict], **overrides) -> Path:
    """A run folder as train writes it: the resolved cartpole spec (with ``overrides``) and metrics.jsonl."""
    folder = runs / "cartpole" / name
    folder.mkdir(parents=True)
    save_spec(load_spec("cartpole", {"env.num_envs": 8, **overrides}), folder / "spec.toml")
    (folder / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return folder


def _tensorboard_smoothing(values: list[float], weight: float) -> list[float]:
    """TensorBoard's smoothing as its scalar dashboard writes it (an EMA, debiased)."""
    last, out = 0.0, []
    for n, value in enumerate(values, start=1):
        last = last * weight + (1 - weight) * value
        out.append(last / (1 - weight**n))
    return out


def test_selected_runs_overlay_in_one_colour_each_with_their_evaluation(panel):
    rewards = [0.0, 1.0, 4.0, 3.0]
    a_rows = [{"iteration": i + 1, "mean_reward": r} for i, r in enumerate(rewards)]
    a_rows += [{"iteration": 2, "eval/mean_reward": 2.5}, {"iteration": 4, "eval/mean_reward": 4.5}]
    _run_folder(panel.runs_dir, "a", a_rows)
    _run_folder(panel.runs_dir, "b", [{"iteration": i + 1, "mean_reward": 5.0} for i in range(3)])
    heard = []
    panel.add_listener(lambda what, model: heard.append(what))
    panel.runs.refresh()
    assert {s.name for s in panel.runs.summaries} == {"cartpole/a", "cartpole/b"} and "runs" in heard
    assert panel.runs.select(["cartpole/a", "cartpole/b"])
    curves = {c.label: c for c in panel.runs.overlay()}
    assert set(curves) == {"cartpole/a", "cartpole/a evaluation (deterministic)", "cartpole/b"}
    a, a_eval, b = curves["cartpole/a"], curves["cartpole/a evaluation (deterministic)"], curves["cartpole/b"]
    assert a.colour == a_eval.colour != b.colour and a_eval.evaluation and not a.evaluation
    assert a_eval.iterations.tolist() == [2, 4] and a_eval.values.tolist() == [2.5, 4.5]
    assert np.allclose(a.smoothed, _tensorboard_smoothing(rewards, 0.6)), "the default smoothing is TensorBoard's 0.6"
    assert np.allclose(b.smoothed, 5.0), "debiased: a constant curve stays where it is from its first point"
    assert panel.runs.set_smoothing(0.0)
    assert np.array_equal(next(c for c in panel.runs.overlay() if c.label == "cartpole/a").smoothed, rewards)
    assert not panel.runs.set_smoothing(1.0) and "expected a number in [0, 1)" in panel.messages[-1]
    assert not panel.runs.select(["cartpole/zzz"]) and "cartpole/zzz: no such run" in panel.messages[-1]


def test_the_spec_diff_of_two_selected_runs(panel):
    _run_folder(panel.runs_dir, "a", [{"iteration": 1, "mean_reward": 1.0}])
    _run_folder(panel.runs_dir, "b", [{"iteration": 1, "mean_reward": 1.0}], **{"rewards.alive.weight": 3.0})
    panel.runs.refresh()
    rows = {row[0]: row for row in panel.runs.rows()}
    assert rows["cartpole/b"][-1] == "env.num_envs: 64 -> 8; rewards.alive.weight: 1.0 -> 3.0"
    assert panel.runs.select(["cartpole/a"]) and panel.runs.diff() is None
    assert "select two runs" in panel.messages[-1]
    assert panel.runs.select(["cartpole/a", "cartpole/b"])
    assert [str(c) for c in panel.runs.diff()] == ["rewards.alive.weight: 1.0 -> 3.0"]


def test_delete_moves_the_selected_run_to_the_trash_and_undo_brings_it_back(panel):
    folder = _run_folder(panel.runs_dir, "a", [{"iteration": 1, "mean_reward": 1.0}])
    panel.runs.refresh()
    assert panel.runs.select(["cartpole/a"]) and panel.runs.open()
    assert panel.run.run_dir == folder and panel.run.series["mean_reward"] == [(1, 1.0)]
    with panel.changing("run"):
        panel.run.status = "training"  # as while this run trains
    assert not panel.runs.delete() and "it is training; stop it before deleting it" in panel.messages[-1]
    assert folder.is_dir()
    with panel.changing("run"):
        panel.run.status = "finished"
    assert panel.runs.delete()
    assert not folder.exists() and (panel.runs_dir / ".trash" / "cartpole" / "a" / "spec.toml").is_file()
    assert panel.runs.summaries == [] and panel.runs.selected == []
    assert panel.runs.undo() and (folder / "metrics.jsonl").is_file()
    assert [s.name for s in panel.runs.summaries] == ["cartpole/a"]
    assert not panel.runs.undo() and "nothing to undo" in panel.messages[-1]
    assert panel.runs.select(["cartpole/a"]) and not panel.runs.fork(), "a run without checkpoints"
    assert "no checkpoints" in panel.messages[-1]


# -- what the pickers and counters show ------------------------------------------------------------------------------
def test_the_pickers_name_the_open_spec_and_its_scene(tmp_path):
    from isaac.rl.workbench.frontends.panel_state import scene_choice, spec_choice

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    shutil.copy(SHIPPED_SCENE, allowed / "cartpole.usda")
    shutil.copy(REPO / "assets" / "usd" / "ant.usda", allowed / "ant.usda")  # listed first
    (allowed / "mine.toml").write_text(
        CARTPOLE_SPEC.read_text().replace('"../assets/usd/cartpole.usda"', '"cartpole.usda"')
    )
    model = PanelModel(runs_dir=tmp_path / "runs", folders=[allowed])
    try:
        assert spec_choice(model) is None and scene_choice(model) is None, "nothing open, nothing picked"
        assert model.open_spec("cartpole")
        assert spec_choice(model) == "cartpole" and "ant" in model.spec_files()
        assert model.open_spec(allowed / "mine.toml")
        assert spec_choice(model) == str(allowed / "mine.toml") and spec_choice(model) in model.spec_files()
        assert scene_choice(model) == str(allowed / "cartpole.usda")
        assert scene_choice(model) in [str(p) for p in model.scene_files()]
    finally:
        model.close()


def test_the_counter_counts_to_the_specs_iterations_before_training(panel):
    from isaac.rl.workbench.frontends.panel_state import planned_iterations

    assert panel.run.run_dir is None and planned_iterations(panel) == 150, "cartpole.toml's ppo.max_iterations"
    assert panel.set_field("ppo.max_iterations", 7) and planned_iterations(panel) == 7


def test_an_opened_run_counts_to_its_own_iterations(panel):
    from isaac.rl.workbench.frontends.panel_state import planned_iterations, run_choice

    folder = _run_folder(panel.runs_dir, "a", [{"iteration": 2, "mean_reward": 1.0}], **{"ppo.max_iterations": 5})
    assert panel.open_run(folder)
    assert panel.run.iteration == 2 and planned_iterations(panel) == 5
    listed = [str(p) for p in panel.run_folders()]
    assert run_choice(panel, listed) == str(folder) and run_choice(panel, listed) in listed


def test_an_opened_distributed_run_shows_every_ranks_speed(panel):
    from isaac.rl.workbench.frontends.panel_layout import throughput

    rows = [
        {"iteration": 1, "env_steps_per_s": 900.0, "rank_env_steps_per_s": [450.0, 450.0]},
        {"iteration": 1, "edit": "ppo.algorithm.learning_rate", "value": 0.001},
        {"iteration": 2, "env_steps_per_s": 2300.0, "rank_env_steps_per_s": [1210.0, 1090.0]},
    ]
    assert panel.open_run(_run_folder(panel.runs_dir, "ranks", rows))
    assert panel.run.env_steps_per_s == 2300.0 and panel.run.rank_env_steps_per_s == [1210.0, 1090.0], "the last row"
    assert throughput(panel.run) == "2,300 env-steps/s (2 ranks: 1.2k, 1.1k)"
    assert panel.open_run(_run_folder(panel.runs_dir, "one", [{"iteration": 1, "env_steps_per_s": 800.0}]))
    assert panel.run.rank_env_steps_per_s == [] and throughput(panel.run) == "800 env-steps/s", "one process"


@pytest.mark.slow
def test_stop_says_where_the_checkpoint_is_and_the_run_picker_follows_the_run_in_flight(trained):
    from isaac.rl.workbench.frontends.panel_state import run_choice

    model = PanelModel(runs_dir=trained.runs_dir)
    picked_while_training = []

    def listen(what, m):
        if what == "progress" and m.run.status == "training":
            picked_while_training.append(run_choice(m, [str(p) for p in m.run_folders()]))

    try:
        assert model.open_run(trained.run.run_dir) and run_choice(model, []) == str(trained.run.run_dir)
        assert model.open_spec("cartpole") and model.set_field("env.num_envs", 8)
        assert model.set_field("ppo.max_iterations", 200)
        model.add_listener(listen)
        assert model.train()
        _wait_for(lambda: model.run.iteration >= 1 and model.run.status == "training", 300, "an iteration", model)
        model.stop()
        assert model.wait(300) and model.run.status == "finished", model.messages
    finally:
        model.close()
    run_dir = model.run.run_dir
    assert picked_while_training and set(picked_while_training) == {str(run_dir)}, "the new run, not the previous"
    assert run_dir != trained.run.run_dir
    last = model.messages[-1]
    assert last.startswith(f"stopped at iteration {model.run.iteration} of 200; checkpoint saved: "), model.messages
    saved = Path(last.rsplit(": ", 1)[1])
    assert saved == model.run.checkpoints[-1] and saved.is_file()


@pytest.mark.slow
def test_after_stop_play_the_policy_line_no_longer_says_playing(reopened):
    from isaac.rl.workbench.frontends.panel_layout import policy_status

    assert reopened.play()
    _wait_for(lambda: reopened.run.play.get("steps", 0) > 5, 120, "play steps")
    assert policy_status(reopened.run)[0].startswith("playing: step")
    reopened.stop()
    assert reopened.wait(60) and reopened.run.status == "finished"
    assert not any(line.startswith("playing") for line in policy_status(reopened.run)), policy_status(reopened.run)
    assert re.fullmatch(r"played \d+ steps: \d+ episodes ended, mean return \S+", reopened.messages[-1])


def _wait_for(condition, timeout: float, what: str, model=None) -> None:
    """Poll ``condition`` every 50 ms for up to ``timeout`` s; on a time-out the message names ``what`` and, given
    the ``model``, its run's status and messages."""
    deadline = time.monotonic() + timeout
    while not condition():
        shown = f" (run {model.run.status}, iteration {model.run.iteration}: {model.messages[-3:]})" if model else ""
        assert time.monotonic() < deadline, f"timed out waiting for {what}{shown}"
        time.sleep(0.05)


# -- the Sweep section -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "trials", "problem"),
    [
        ("", 2, "params: give one KEY=SPACE per line"),
        ("ppo.algorithm.learning_rate=log:0:1", 2, "a log space needs LOW > 0"),
        ("env.num_envs=int:0:4", 2, "--param 'env.num_envs=int:0:4': env.num_envs=0:"),
        ("ppo.algorithm.learning_rate=1e-4:1e-3\nppo.algorithm.learning_rate=1e-3:1e-2", 2, "is swept twice"),
        ("scene=choice:a.usda,b.usda", 2, "scene names files"),
        ("ppo.algorithm.learning_rate=1e-4:1e-3", 0, "trials 0: expected a whole number >= 1"),
    ],
)
def test_a_bad_sweep_is_refused_in_one_line_and_writes_nothing(panel, params, trials, problem):
    assert not panel.sweep.start(params, trials)
    assert panel.messages[-1].startswith("error: ") and problem in panel.messages[-1], panel.messages
    assert not panel.runs_dir.exists() and panel.sweep.state.status == "idle"


@pytest.mark.slow
def test_a_sweep_of_the_edited_spec_lists_its_trials_as_runs_and_marks_the_best(panel):
    for key, value in {"env.num_envs": 8, "ppo.max_iterations": 2}.items():
        assert panel.set_field(key, value)
    heard = []
    panel.add_listener(lambda what, m: heard.append(what))
    assert panel.sweep.start("ppo.algorithm.learning_rate=log:1e-4:1e-2\n# a comment\n", trials=2)
    assert not panel.sweep.start("ppo.algorithm.learning_rate=log:1e-4:1e-2", trials=2), "one sweep at a time"
    assert panel.sweep.wait(600), "the sweep ends"
    state = panel.sweep.state
    assert state.status == "finished", panel.messages
    folder = state.folder
    assert folder.parent == panel.runs_dir / "cartpole" and folder.name.startswith("sweep_")
    assert [(row.number, row.state) for row in state.trials] == [(0, "done"), (1, "done")]
    assert all(row.params[0].startswith("ppo.algorithm.learning_rate=") for row in state.trials)
    best = max(state.trials, key=lambda row: row.objective)
    assert state.best == best.number, "the best trial is marked (cartpole maximises its return)"
    assert (folder / "results.csv").is_file() and (folder / "best.toml").is_file()
    assert load_spec(folder / "best.toml").ppo["algorithm"]["learning_rate"] == float(best.params[0].split("=")[1])
    assert load_spec(folder / "base.toml").env.num_envs == 8, "the trials train the edited spec"
    names = {s.name for s in panel.runs.summaries}
    assert {f"cartpole/{folder.name}/trial_000", f"cartpole/{folder.name}/trial_001"} <= names
    assert "sweep" in heard and "runs" in heard
    assert panel.messages[-1].startswith("sweep finished: 2 trials (2 done") and "best trial" in panel.messages[-1]


@pytest.mark.slow
def test_stop_sweep_interrupts_its_running_trial_which_saves_a_checkpoint(panel):
    for key, value in {"env.num_envs": 8, "ppo.max_iterations": 500}.items():
        assert panel.set_field(key, value)
    assert panel.sweep.start(["ppo.algorithm.learning_rate=log:1e-4:1e-2"], trials=3)
    trial = panel.runs_dir / "cartpole" / panel.sweep.state.folder.name / "trial_000"
    _wait_for(lambda: (trial / "metrics.jsonl").is_file() and (trial / "metrics.jsonl").read_text(), 300, "a row")
    panel.sweep.stop()
    assert panel.sweep.state.status == "stopping"
    assert panel.sweep.wait(300), "the sweep ends"
    state = panel.sweep.state
    assert state.status == "stopped" and [(r.number, r.state) for r in state.trials] == [(0, "interrupted")]
    assert list((trial / "checkpoints").glob("model_*.pt")), "the interrupted trial saved its checkpoint"
    assert panel.messages[-1].startswith("sweep stopped: 1 trials"), panel.messages
