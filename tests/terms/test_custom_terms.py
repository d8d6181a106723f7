"""A user's own terms: found next to the spec without PYTHONPATH, rejected at load when they cannot be imported or
called as a term, checked once when the env is built (tensor, device, shape, dtype, finite), and run folders that
keep the scene and term modules relative so that a copied run still loads."""

from __future__ import annotations

import inspect
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
import torch
from isaac.rl.workbench.envs.term_check import check_terms
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.specs.key_docs import spec_key_docs
from isaac.rl.workbench.specs.loader import SpecError, load_spec, save_spec

from ..conftest import CARTPOLE_SPEC, REPO

REWARD = '[rewards.mine]\nfunc = "{func}"\nweight = 0.1\n'
CART_POS = "def cart_pos(env):\n    return env.dof_pos[:, 0]\n"


def source_of(func) -> Path:
    return Path(inspect.getsourcefile(func)).resolve()


def train(spec: Path, run: Path) -> int:
    args = ["train", str(spec), "--run-dir", str(run), "--max-iterations", "2", "--num-envs", "4"]
    return main([*args, "--eval-episodes", "1"])


def user_error(capsys, code: int) -> str:
    """The one line a user sees on stderr for exit code 2."""
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


# -- 1. resolution -------------------------------------------------------------------------------------------------
def test_module_next_to_the_spec_resolves_without_pythonpath(write_spec, tmp_path):
    (tmp_path / "my_terms.py").write_text(CART_POS)
    path_before = list(sys.path)
    spec = load_spec(write_spec(append=REWARD.format(func="my_terms:cart_pos")))
    assert source_of(spec.rewards["mine"].func) == (tmp_path / "my_terms.py").resolve()
    assert spec.python_path == [tmp_path.resolve()]
    assert sys.path == path_before, "the spec's folder must not stay on sys.path"


def test_two_spec_folders_with_the_same_module_name_each_get_their_own(write_spec, tmp_path):
    for folder, value in (("a", 1.0), ("b", 2.0)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "helpers.py").write_text(f"VALUE = {value}\n")
        (tmp_path / folder / "my_terms.py").write_text(
            "import torch\nfrom helpers import VALUE\n\n\n"
            "def value(env):\n    return torch.full((env.num_envs,), VALUE)\n"
        )
    reward = REWARD.format(func="my_terms:value")
    spec_a = load_spec(write_spec(append=reward, name="a/task.toml"))
    spec_b = load_spec(write_spec(append=reward, name="b/task.toml"))
    spec_a_again = load_spec(write_spec(append=reward, name="a/task.toml"))
    values = [s.rewards["mine"].func.__globals__["VALUE"] for s in (spec_a, spec_b, spec_a_again)]
    assert values == [1.0, 2.0, 1.0]
    assert source_of(spec_b.rewards["mine"].func) == (tmp_path / "b" / "my_terms.py").resolve()
    assert spec_a.rewards["mine"].func.__globals__["VALUE"] == 1.0, "a function resolved earlier keeps its module"


def test_python_path_key_names_other_folders_and_is_documented(write_spec, tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "lib_terms.py").write_text(CART_POS)
    spec = load_spec(
        write_spec(
            replace={"seed = 42": 'seed = 42\npython_path = ["lib"]'}, append=REWARD.format(func="lib_terms:cart_pos")
        )
    )
    assert spec.python_path == [(tmp_path / "lib").resolve()]
    assert source_of(spec.rewards["mine"].func) == (tmp_path / "lib" / "lib_terms.py").resolve()
    docs = {d.key: d for d in spec_key_docs()}
    assert docs["python_path"].default == ["."] and "relative to the spec file" in docs["python_path"].doc
    assert "scene_fallback" in docs and "python_path_fallback" in docs


def test_installed_module_resolves_after_the_spec_folder(write_spec):
    spec = load_spec(write_spec(append=REWARD.format(func="isaac.rl.workbench.terms.rewards:is_alive")))
    assert spec.rewards["mine"].func.__name__ == "is_alive"


@pytest.mark.parametrize(
    ("source", "fragments"),
    [
        ("X = 1 / 0\n", ["ZeroDivisionError: division by zero", "my_terms.py:1"]),
        ("\n\nraise RuntimeError('no robot here')\n", ["RuntimeError: no robot here", "my_terms.py:3"]),
        ("import not_a_module_xyz\n", ["ModuleNotFoundError", "not_a_module_xyz"]),
        ("def f(env:\n", ["SyntaxError"]),
        ("import sys\nsys.exit(3)\n", ["SystemExit: 3"]),
    ],
)
def test_module_that_raises_on_import_is_a_one_line_error(write_spec, tmp_path, capsys, source, fragments):
    (tmp_path / "my_terms.py").write_text(source)
    spec = write_spec(append=REWARD.format(func="my_terms:f"))
    err = user_error(capsys, train(spec, tmp_path / "run"))
    for fragment in [str(spec), "key 'rewards.mine.func'", "module 'my_terms'", *fragments]:
        assert fragment in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("func", "source", "fragments"),
    [
        ("no_such_module_xyz:f", "", ["no module 'no_such_module_xyz'", "python_path"]),
        ("my_terms:g", CART_POS, ["has no attribute 'g'", "its functions: cart_pos"]),
        ("json:dumps", "", []),  # json.py next to the spec, while json is imported
    ],
)
def test_missing_module_or_function_or_shadowed_module(write_spec, tmp_path, func, source, fragments):
    if func.startswith("json"):
        (tmp_path / "json.py").write_text("def dumps(env):\n    return env.dof_pos[:, 0]\n")
        fragments = ["module 'json'", "already imported", "rename"]
    else:
        (tmp_path / "my_terms.py").write_text(source)
    path = write_spec(append=REWARD.format(func=func))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    for fragment in [str(path), "key 'rewards.mine.func'", *fragments]:
        assert fragment in str(info.value), str(info.value)


# -- 2. signature at load ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("func", "source", "fragments"),
    [
        ("os:getcwd", "", ["'os:getcwd'", "signature ()", "env as its first positional parameter"]),
        (
            "my_terms:Reward",
            "\nclass Reward:\n    def __call__(self, env):\n        return 0\n",
            ["is a class", "py:2"],
        ),
        ("my_terms:SCALE", "SCALE = 2.0\n", ["is a float, not a function"]),
        ("my_terms:f", "def f():\n    return 0\n", ["signature ()", "my_terms.py:1"]),
        ("my_terms:f", "def f(*, env):\n    return 0\n", ["first positional parameter", "my_terms.py:1"]),
    ],
)
def test_function_that_cannot_be_a_term_is_rejected_at_load(write_spec, tmp_path, capsys, func, source, fragments):
    (tmp_path / "my_terms.py").write_text(source)
    spec = write_spec(append=REWARD.format(func=func))
    err = user_error(capsys, train(spec, tmp_path / "run"))
    for fragment in [str(spec), "key 'rewards.mine.func'", *fragments]:
        assert fragment in err, err


def test_event_needs_env_and_mask_and_params_must_match(write_spec, tmp_path):
    (tmp_path / "my_terms.py").write_text(
        "def kick(env):\n    pass\n\n\ndef scaled(env, scale):\n    return env.dof_pos[:, 0]\n"
    )
    with pytest.raises(SpecError, match=r"key 'events.kick.func': 'my_terms:kick' \(.*my_terms.py:1\).*env_mask"):
        load_spec(write_spec(append='[events.kick]\nfunc = "my_terms:kick"\n'))
    extra = REWARD.format(func="my_terms:scaled") + "params = { scale = 2.0, offset = 1.0 }\n"
    with pytest.raises(SpecError, match=r"key 'rewards.mine.params.offset'.*my_terms.py:5.*no parameter 'offset'"):
        load_spec(write_spec(append=extra))
    with pytest.raises(SpecError, match=r"key 'rewards.mine.params'.*needs parameter 'scale'"):
        load_spec(write_spec(append=REWARD.format(func="my_terms:scaled")))


# -- 3. build-time check of what the terms return ------------------------------------------------------------------
@pytest.fixture(scope="module")
def env():
    return WorkbenchEnv(load_spec("cartpole", {"env.num_envs": 4}), "cpu")


def returns(value):
    def term(env):
        return value() if callable(value) else value

    return term


def raises(env):
    return {}["missing"]


@pytest.mark.parametrize(
    ("key", "term", "expected"),
    [
        ("rewards.alive", returns(lambda: torch.zeros(3, 2)), "returned shape (3, 2), expected (4,)"),
        ("rewards.alive", returns([0.0] * 4), "returned a list, expected a torch.Tensor of shape (4,)"),
        ("rewards.alive", returns(1.0), "returned a float, expected a torch.Tensor"),
        ("rewards.alive", returns(lambda: torch.ones(4, dtype=torch.long)), "dtype torch.int64, expected a float"),
        ("rewards.alive", returns(lambda: torch.ones(4, dtype=torch.bool)), "dtype torch.bool, expected a float"),
        ("rewards.alive", returns(lambda: torch.tensor([0.0, float("nan"), 0.0, 1.0])), "NaN or inf for 1 of 4 envs"),
        ("rewards.alive", returns(lambda: torch.zeros(4, device="meta")), "on meta, expected one on the env's device"),
        ("rewards.alive", raises, "raised KeyError: 'missing'"),
        ("terminations.time_out", returns(lambda: torch.zeros(4)), "dtype torch.float32, expected torch.bool"),
        ("terminations.time_out", returns(lambda: torch.zeros(4, 1, dtype=torch.bool)), "shape (4, 1), expected (4,)"),
        ("observations.policy.terms[0]", returns(lambda: torch.zeros(4, 2, 3)), "expected (4,) or (4, k)"),
        ("observations.policy.terms[0]", returns(lambda: torch.zeros(4, 0)), "shape (4, 0)"),
        ("observations.policy.terms[1]", returns(lambda: torch.zeros(4, 2, dtype=torch.int32)), "torch.int32"),
        ("observations.policy.terms[1]", returns(lambda: torch.full((4,), float("inf"))), "NaN or inf for 4 of 4"),
    ],
)
def test_term_returning_the_wrong_thing_is_named_with_its_key_and_function(env, monkeypatch, key, term, expected):
    check_terms(env)  # the spec as shipped passes
    kind, _, name = key.partition(".")
    if kind == "observations":
        target = env.spec.observations["policy"][int(name[-2])]
    else:
        target = getattr(env.spec, kind)[name]
    monkeypatch.setattr(target, "func", term)
    with pytest.raises(SpecError) as info:
        check_terms(env)
    message = str(info.value)
    where = f"{Path(__file__)}:{inspect.getsourcelines(term)[1]}"
    assert message.startswith(f"{env.spec.source}: key '{key}' ({where}): "), message
    assert expected in message, message


def test_event_is_not_called_but_its_signature_is_checked(env, monkeypatch):
    calls = []
    monkeypatch.setattr(env.spec.events["reset_cart"], "func", lambda env, env_mask, **params: calls.append(1))
    check_terms(env)
    assert calls == []
    monkeypatch.setattr(env.spec.events["reset_cart"], "func", lambda env: None)
    with pytest.raises(SpecError, match=r"key 'events.reset_cart.func'.*env_mask"):
        check_terms(env)


def test_building_the_env_reports_an_observation_list_not_a_traceback(write_spec, tmp_path):
    (tmp_path / "my_terms.py").write_text("def obs(env):\n    return [0.0] * env.num_envs\n")
    spec = load_spec(
        write_spec(
            replace={'terms = ["joint_pos", "joint_vel"]': 'terms = ["joint_pos", "joint_vel", "my_terms:obs"]'}
        ),
        {"env.num_envs": 4},
    )
    with pytest.raises(SpecError) as info:
        WorkbenchEnv(spec, "cpu")
    assert f"key 'observations.policy.terms[2]' ({(tmp_path / 'my_terms.py').resolve()}:1): returned a list" in str(
        info.value
    )


def test_cli_train_reports_a_wrong_reward_shape_with_exit_code_2(write_spec, tmp_path, capsys):
    (tmp_path / "my_terms.py").write_text("import torch\n\n\ndef bad(env):\n    return torch.zeros(3, 2)\n")
    spec = write_spec(append=REWARD.format(func="my_terms:bad"))
    err = user_error(capsys, train(spec, tmp_path / "run"))
    where = f"{(tmp_path / 'my_terms.py').resolve()}:4"
    assert f"error: {spec}: key 'rewards.mine' ({where}): returned shape (3, 2), expected (4,)" in err, err


# -- 4. run folders keep paths relative ----------------------------------------------------------------------------
def make_project(root: Path) -> Path:
    """root/tasks/task.toml (cartpole + a reward from root/tasks/my_terms.py) and root/usd/cartpole.usda."""
    (root / "tasks").mkdir(parents=True)
    (root / "usd").mkdir()
    shutil.copy(REPO / "assets/usd/cartpole.usda", root / "usd" / "cartpole.usda")
    (root / "tasks" / "my_terms.py").write_text(CART_POS)
    text = CARTPOLE_SPEC.read_text().replace('"../assets/usd/cartpole.usda"', '"../usd/cartpole.usda"')
    task = root / "tasks" / "task.toml"
    task.write_text(text + "\n" + REWARD.format(func="my_terms:cart_pos"))
    return task


@pytest.mark.slow
def test_run_folder_copied_with_its_scene_and_terms_loads_and_plays(tmp_path):
    project = tmp_path / "project"
    task = make_project(project)
    run = project / "runs" / "r1"
    assert train(task, run) == 0
    saved = tomllib.loads((run / "spec.toml").read_text())
    assert saved["scene"] == "../../usd/cartpole.usda" and saved["python_path"] == ["../../tasks"]
    moved = tmp_path / "elsewhere" / "project"
    shutil.copytree(project, moved)
    shutil.rmtree(project)  # the copy must not lean on the original (the absolute fallbacks)
    spec = load_spec(moved / "runs" / "r1" / "spec.toml")
    assert spec.scene == (moved / "usd" / "cartpole.usda").resolve()
    assert source_of(spec.rewards["mine"].func) == (moved / "tasks" / "my_terms.py").resolve()
    assert main(["play", str(moved / "runs" / "r1"), "--episodes", "1"]) == 0


def test_run_folder_moved_alone_uses_the_absolute_fallback(tmp_path):
    task = make_project(tmp_path / "project")
    spec = load_spec(task)
    save_spec(spec, tmp_path / "run1" / "spec.toml")
    far = tmp_path / "far" / "away" / "run1" / "spec.toml"
    far.parent.mkdir(parents=True)
    shutil.copy(tmp_path / "run1" / "spec.toml", far)
    again = load_spec(far)
    assert again.scene == spec.scene == (tmp_path / "project" / "usd" / "cartpole.usda").resolve()
    assert source_of(again.rewards["mine"].func) == (tmp_path / "project" / "tasks" / "my_terms.py").resolve()
    assert again.raw == spec.raw
    (tmp_path / "project" / "usd" / "cartpole.usda").unlink()
    with pytest.raises(SpecError, match=r"key 'scene': .*no such file, nor the absolute fallback scene_fallback"):
        load_spec(far)
