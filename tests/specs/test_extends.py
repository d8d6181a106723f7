"""Specs that extend another (``extends = ...``): how tables merge, how a table is removed or replaced, chains and
cycles, which file an error names, paths of a parent, the merged spec a run folder keeps, and the shipped go2
teacher and student, written with ``extends``, resolving to the tables their files held before."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.specs.loader import SpecError, load_spec, read_spec, save_spec, spec_from_table
from isaac.rl.workbench.workbench import Workbench

from ..conftest import CARTPOLE_SPEC, REPO, robot_or_fail

SCENE = REPO / "assets" / "usd" / "cartpole.usda"
FAR_TERM = "def cart_far(env, distance: float = 1.0):\n    return env.dof_pos[:, 0].abs() - distance\n"


@pytest.fixture
def base(tmp_path) -> Path:
    """tmp/base/base.toml: the cartpole spec, its scene in tmp/assets (``../assets/cartpole.usda``)."""
    (tmp_path / "assets").mkdir()
    shutil.copy(SCENE, tmp_path / "assets" / "cartpole.usda")
    (tmp_path / "base").mkdir()
    text = CARTPOLE_SPEC.read_text().replace('"../assets/usd/cartpole.usda"', '"../assets/cartpole.usda"')
    path = tmp_path / "base" / "base.toml"
    path.write_text(text)
    return path


def child(folder: Path, text: str, extends: str = "../base/base.toml", name: str = "child.toml") -> Path:
    """A spec ``folder/name`` that extends ``extends`` and holds ``text``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f'extends = "{extends}"\n{text}')
    return path


def refusal(target, overrides=None) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_spec(target, overrides)
    return caught.value


# -- merging -----------------------------------------------------------------------------------------------------------
def test_tables_merge_key_by_key_at_any_depth_and_arrays_are_replaced(base, tmp_path):
    spec_file = child(
        tmp_path / "child",
        "[env]\nnum_envs = 8\n"
        "[rewards.alive]\nweight = 2.0\n"
        "[rewards.pole_pos.params]\ntarget = 0.1\n"
        '[rewards.cart_pos]\nfunc = "joint_pos_target_l2"\nparams = { joints = ["slider"], target = 0.0 }\n'
        '[observations.policy]\nterms = ["joint_pos"]\n'
        "[ppo.actor]\nhidden_dims = [16]\n",
    )
    table = read_spec(spec_file).table
    parent = tomllib.loads(base.read_text())
    assert table["env"] == {**parent["env"], "num_envs": 8}
    assert table["rewards"]["alive"] == {"func": "is_alive", "weight": 2.0}
    assert table["rewards"]["pole_pos"]["params"] == {"joints": ["hinge"], "target": 0.1}
    assert table["observations"]["policy"]["terms"] == ["joint_pos"], "an array is replaced, not appended"
    assert table["ppo"]["actor"]["hidden_dims"] == [16]
    assert list(table["rewards"]) == [*parent["rewards"], "cart_pos"], "the parent's order, then the child's keys"
    assert "extends" not in table
    spec = load_spec(spec_file)
    assert spec.name == "child", "name is not inherited: the child's file stem"
    assert spec.env.num_envs == 8 and spec.env.decimation == 2 and spec.rewards["alive"].weight == 2.0
    assert spec.scene == (tmp_path / "assets" / "cartpole.usda").resolve()


def test_enabled_false_removes_a_table_and_replace_true_replaces_it(base, tmp_path):
    spec_file = child(
        tmp_path / "child",
        "[rewards.cart_vel]\nenabled = false\n"
        "[deploy]\nenabled = false\n"
        '[rewards.pole_pos]\nreplace = true\nfunc = "joint_vel_l1"\nweight = -0.5\n'
        "[rewards.alive]\nenabled = true\n"
        "[ppo.critic]\nreplace = true\n",
    )
    table = read_spec(spec_file).table
    assert "cart_vel" not in table["rewards"] and "deploy" not in table
    assert table["rewards"]["pole_pos"] == {"func": "joint_vel_l1", "weight": -0.5}, "no params left: replaced"
    assert table["rewards"]["alive"] == {"func": "is_alive", "weight": 1.0}
    assert table["ppo"]["critic"] == {}
    assert list(table["rewards"]) == ["alive", "terminating", "pole_pos", "pole_vel"], (
        "a replaced table keeps its place"
    )
    spec = load_spec(spec_file)
    assert list(spec.rewards) == ["alive", "terminating", "pole_pos", "pole_vel"]
    assert spec.rewards["pole_pos"].params == {}


def test_enabled_and_replace_inside_params_are_the_functions_arguments(base, tmp_path):
    spec_file = child(tmp_path / "child", "[rewards.pole_pos.params]\nenabled = false\nreplace = true\n")
    params = read_spec(spec_file).table["rewards"]["pole_pos"]["params"]
    assert params == {"joints": ["hinge"], "target": 0.0, "enabled": False, "replace": True}


def test_a_chain_merges_from_the_farthest_parent(base, tmp_path):
    middle = child(tmp_path / "base", "[env]\nnum_envs = 8\nspacing = 2.0\n", extends="base.toml", name="b.toml")
    leaf = child(tmp_path / "leaf", "[env]\nnum_envs = 4\n", extends="../base/b.toml")
    resolved = read_spec(leaf)
    assert resolved.chain == [leaf.resolve(), middle.resolve(), base.resolve()]
    assert resolved.table["env"] == {**tomllib.loads(base.read_text())["env"], "num_envs": 4, "spacing": 2.0}
    assert resolved.file_of("env.num_envs") == leaf.resolve()
    assert resolved.file_of("env.spacing") == middle.resolve()
    assert resolved.file_of("env.decimation") == base.resolve()
    assert load_spec(leaf).env.spacing == 2.0


def test_a_task_name_is_looked_up_as_train_looks_it_up(tmp_path, monkeypatch):
    spec_file = child(tmp_path, "[env]\nnum_envs = 2\n", extends="cartpole")
    spec = load_spec(spec_file)
    assert spec.env.num_envs == 2 and spec.scene == SCENE.resolve() and spec.name == "child"
    tasks = tmp_path / "tasks"  # a task folder of the user's, searched first, as by train NAME
    tasks.mkdir()
    text = CARTPOLE_SPEC.read_text().replace("num_envs = 64", "num_envs = 6")
    (tasks / "cartpole.toml").write_text(text.replace('"../assets/usd/cartpole.usda"', f'"{SCENE}"'))
    monkeypatch.setenv("ISAAC_RL_WORKBENCH_TASKS", str(tasks))
    assert load_spec(child(tmp_path, "", extends="cartpole")).env.num_envs == 6


def test_a_cycle_is_refused_naming_the_chain(tmp_path):
    a = child(tmp_path, "", extends="b.toml", name="a.toml")
    b = child(tmp_path, "", extends="a.toml", name="b.toml")
    error = refusal(a)
    assert error.key == "extends"
    assert str(error).startswith(f"{b.resolve()}: key 'extends': ")
    assert f"{a.resolve()} -> {b.resolve()} -> {a.resolve()}" in str(error)
    itself = child(tmp_path, "", extends="itself.toml", name="itself.toml")
    assert f"cycle: {itself.resolve()} -> {itself.resolve()}" in str(refusal(itself))


# -- errors name the file of the chain that holds the key -------------------------------------------------------------
@pytest.mark.parametrize(
    ("parent_edit", "key", "fragment"),
    [
        (("num_envs = 64", "num_envs = -3"), "env.num_envs", "must be >= 1"),
        (("num_envs = 64", "num_envs = nan"), "env.num_envs", "expected a finite number"),
        (('func = "is_alive"', 'func = "is_alive"\nwieght = 1.0'), "rewards.alive.wieght", "unknown key"),
        (('func = "is_alive"', 'func = "no_such_term"'), "rewards.alive.func", "no_such_term"),
        (
            ("hidden_dims = [32, 32]\n\n[ppo.critic]", "hidden_dims = [32, 32]\nbad = 1\n\n[ppo.critic]"),
            "ppo.actor",
            "",
        ),
        (('scene = "../assets/cartpole.usda"', 'scene = "gone.usda"'), "scene", "gone.usda: no such file"),
        (("[env]", "[rewards.nothing]\nenabled = false\n[env]"), "rewards.nothing.enabled", "inherited to remove"),
        (("[env]", "[rewards.alive.x]\nenabled = 0\n[env]"), "rewards.alive.x.enabled", "expected true or false"),
    ],
)
def test_an_error_in_the_parent_names_the_parents_file_and_key(base, tmp_path, parent_edit, key, fragment):
    base.write_text(base.read_text().replace(*parent_edit))
    leaf = child(tmp_path / "leaf", "[env]\nspacing = 3.0\n")
    error = refusal(leaf)
    assert str(error).startswith(f"{base.resolve()}: key '{key}"), str(error)
    assert error.key.startswith(key) and fragment in str(error)


def test_an_error_names_the_level_of_a_chain_that_holds_it(base, tmp_path):
    middle = child(tmp_path / "base", "[env]\nspacing = -1.0\n", extends="base.toml", name="b.toml")
    leaf = child(tmp_path / "leaf", "[env]\nnum_envs = 4\n", extends="../base/b.toml")
    error = refusal(leaf)
    assert str(error).startswith(f"{middle.resolve()}: key 'env.spacing': must be >= 0")
    assert str(error).endswith(f"(inherited by {leaf.resolve()})")
    leaf.write_text(leaf.read_text() + "spacing = 1.0\ndecimation = 0\n")
    error = refusal(leaf)
    assert str(error).startswith(f"{leaf.resolve()}: key 'env.decimation'") and "inherited" not in str(error)


def test_an_override_of_an_inherited_key_names_the_file_given(base, tmp_path):
    leaf = child(tmp_path / "leaf", "")
    error = refusal(leaf, {"env.num_envs": 0})
    assert str(error).startswith(f"{leaf.resolve()}: key 'env.num_envs'")
    assert load_spec(leaf, {"rewards.alive.weight": 3.0}).rewards["alive"].weight == 3.0, "overrides apply on top"
    error = refusal(leaf, {"extends": "other.toml"})
    assert error.key == "extends" and "cannot be set by --set" in str(error)


@pytest.mark.parametrize(
    ("extends", "fragment"),
    [("../base/missing.toml", "missing.toml: no such spec file"), ("no_such_task", "not a known task"), ("", "got ''")],
)
def test_a_parent_that_cannot_be_found_names_the_childs_extends(base, tmp_path, extends, fragment):
    leaf = child(tmp_path / "leaf", "", extends=extends)
    error = refusal(leaf)
    assert str(error).startswith(f"{leaf.resolve()}: key 'extends': ") and fragment in str(error)
    assert error.key == "extends"


def test_a_parent_that_is_not_toml_is_named(base, tmp_path):
    base.write_text("[env\n")
    error = refusal(child(tmp_path / "leaf", ""))
    assert str(error).startswith(f"{base.resolve()}: not valid TOML: ")


def test_a_bad_path_key_in_the_parent_names_the_parent(base, tmp_path):
    base.write_text(base.read_text().replace("seed = 42", 'seed = 42\npython_path = [".", 3]'))
    error = refusal(child(tmp_path / "leaf", ""))
    assert str(error).startswith(f"{base.resolve()}: key 'python_path': expected a list of folders")


# -- paths of a parent -------------------------------------------------------------------------------------------------
def test_a_parents_paths_and_term_modules_resolve_from_the_parents_folder(base, tmp_path):
    (base.parent / "base_terms.py").write_text(FAR_TERM)
    base.write_text(base.read_text() + '\n[rewards.far]\nfunc = "base_terms:cart_far"\nweight = -0.1\n')
    leaf_folder = tmp_path / "elsewhere" / "leaf"
    leaf_folder.mkdir(parents=True)
    (leaf_folder / "leaf_terms.py").write_text(FAR_TERM.replace("cart_far", "cart_near"))
    leaf = child(leaf_folder, '[rewards.near]\nfunc = "leaf_terms:cart_near"\n', extends="../../base/base.toml")
    table = read_spec(leaf).table
    assert table["scene"] == str((tmp_path / "assets" / "cartpole.usda").resolve()), "absolute: the parent's folder"
    assert table["python_path"] == [".", str(base.parent.resolve())], "the child's folder first, then the parent's"
    spec = load_spec(leaf)
    assert spec.scene == (tmp_path / "assets" / "cartpole.usda").resolve()
    assert Path(spec.rewards["far"].func.__code__.co_filename).resolve() == (base.parent / "base_terms.py").resolve()
    assert Path(spec.rewards["near"].func.__code__.co_filename).resolve() == (leaf_folder / "leaf_terms.py").resolve()


def test_a_child_beside_its_parent_keeps_the_parents_relative_paths(base, tmp_path):
    table = read_spec(child(base.parent, "", extends="base.toml")).table
    assert table["scene"] == "../assets/cartpole.usda" and "python_path" not in table


def test_a_scene_the_child_gives_drops_the_parents_fallback(base, tmp_path):
    base.write_text(base.read_text().replace("seed = 42", f'seed = 42\nscene_fallback = "{SCENE}"'))
    table = read_spec(child(tmp_path / "leaf", f'scene = "{SCENE}"\n')).table
    assert "scene_fallback" not in table
    assert read_spec(child(tmp_path / "leaf2", "")).table["scene_fallback"] == str(SCENE)


# -- the run folder keeps the merged spec --------------------------------------------------------------------------
def test_a_run_folder_keeps_the_merged_spec_and_loads_without_the_parent(base, tmp_path):
    leaf = child(tmp_path / "leaf", "[env]\nnum_envs = 4\n[rewards.cart_vel]\nenabled = false\n")
    spec = load_spec(leaf)
    run = tmp_path / "runs" / "child" / "run1"
    run.mkdir(parents=True)
    save_spec(spec, run / "spec.toml")
    saved = tomllib.loads((run / "spec.toml").read_text())
    assert "extends" not in saved and "enabled" not in saved["rewards"].get("cart_vel", {})
    assert saved["env"]["num_envs"] == 4 and saved["rewards"]["alive"] == {"func": "is_alive", "weight": 1.0}
    base.unlink()
    leaf.unlink()
    again = load_spec(run / "spec.toml")
    assert again.raw == spec.raw and list(again.rewards) == list(spec.rewards)
    assert again.name == "child" == saved["name"], "the child's default name, kept in the run folder"
    assert Workbench.open(run).spec.raw == spec.raw, "what --resume, play and export open"


# -- the shipped tasks -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["go2_flat_teacher", "go2_flat_student"])
def test_the_go2_teacher_and_student_resolve_to_the_tables_their_files_held(task):
    """tests/data/<task>.before_extends.json: the file's table before it was written with ``extends`` (commit
    d57aade). A change to go2_flat.toml shows here too: then the snapshot is updated, knowingly."""
    before = json.loads((REPO / "tests" / "data" / f"{task}.before_extends.json").read_text())
    file = REPO / "tasks" / f"{task}.toml"
    assert "extends" in tomllib.loads(file.read_text())
    table = read_spec(file).table
    assert table == before
    for kind in ("rewards", "terminations", "events", "commands", "metrics", "actuators"):
        assert list(table[kind]) == list(before[kind]), f"{kind}: the order the env computes them in"
    for group, value in before["observations"].items():
        assert table["observations"][group] == value, group
    robot_or_fail("go2")
    assert load_spec(task).raw == spec_from_table(before, file).raw


TASKS = sorted(p.stem for p in (REPO / "tasks").glob("*.toml"))


@pytest.mark.parametrize("task", TASKS)
def test_every_shipped_task_loads(task):
    parts = Path(read_spec(REPO / "tasks" / f"{task}.toml").table["scene"]).parts
    if "robots" in parts:
        robot_or_fail(parts[parts.index("robots") + 1])
    assert load_spec(task).name == task


def test_help_keys_list_extends_and_the_merge_keys(capsys):
    assert main(["spec", "--help-keys"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("extends\n    The spec this one extends")
    assert "<table>.enabled (default True)\n" in out and "<table>.replace (default False)\n" in out
