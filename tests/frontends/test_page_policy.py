"""The page policy: a spec opened or edited through the browser page reaches nothing outside the allowed folders (its
scene, its python_path, its ``module:function`` terms), checked on the raw table before any term module is imported,
both by check_page_spec itself and by a PanelModel that has folders."""

from __future__ import annotations

import inspect
import json
import shutil
import sys
import tomllib
import uuid
from pathlib import Path

import pytest
import tomli_w
from isaac.rl.workbench.frontends.allowed_paths import AllowedFolders
from isaac.rl.workbench.frontends.page_policy import check_page_spec, named_functions
from isaac.rl.workbench.frontends.panel import PanelModel
from isaac.rl.workbench.specs.loader import SpecError, load_spec

from ..conftest import CARTPOLE_SPEC, REPO, robot_or_fail

SHIPPED_SCENE = REPO / "assets" / "usd" / "cartpole.usda"
MY_TERMS = "def cart_pos(env):\n    return env.dof_pos[:, 0]\n\n\ndef joint_state(env):\n    return env.dof_pos\n"


@pytest.fixture
def allowed(tmp_path) -> Path:
    """tmp/allowed with a copy of the cartpole scene and spec (scene "cartpole.usda", beside it) and my_terms.py."""
    folder = tmp_path / "allowed"
    folder.mkdir()
    shutil.copy(SHIPPED_SCENE, folder / "cartpole.usda")
    text = CARTPOLE_SPEC.read_text().replace('"../assets/usd/cartpole.usda"', '"cartpole.usda"')
    (folder / "task.toml").write_text(text)
    (folder / "my_terms.py").write_text(MY_TERMS)
    return folder


@pytest.fixture
def sentinel(tmp_path, monkeypatch) -> tuple[str, Path]:
    """An importable module outside the allowed folder (on sys.path, as an installed module would be) that leaves a
    marker file when it is imported; returns (module name, marker)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    name = f"sentinel_{uuid.uuid4().hex[:12]}"
    marker = elsewhere / "imported.txt"
    (elsewhere / f"{name}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n\n\n"
        "def f(env):\n    return env.dof_pos[:, 0]\n"
    )
    monkeypatch.syspath_prepend(str(elsewhere))
    yield name, marker
    sys.modules.pop(name, None)


def table(folder: Path) -> dict:
    return tomllib.loads((folder / "task.toml").read_text())


def refusal(raw: dict, spec_file: Path, folders: AllowedFolders) -> SpecError:
    with pytest.raises(SpecError) as caught:
        check_page_spec(raw, spec_file, folders)
    return caught.value


# -- check_page_spec on the raw table ----------------------------------------------------------------------------------
def test_a_spec_that_stays_in_its_folder_passes(allowed):
    (allowed / "my_pkg").mkdir()
    (allowed / "my_pkg" / "__init__.py").write_text(MY_TERMS)
    raw = table(allowed)
    raw["python_path"] = ["."]
    raw["rewards"]["mine"] = {"func": "my_terms:cart_pos", "weight": 0.1}
    raw["rewards"]["packaged"] = {"func": "my_pkg:cart_pos", "weight": 0.1}
    raw["observations"]["policy"]["terms"] += ["my_terms:joint_state", {"func": "my_pkg:joint_state"}]
    check_page_spec(raw, allowed / "task.toml", AllowedFolders([allowed]))
    # and it is a spec the loader takes (the policy refuses nothing a valid page spec needs)
    (allowed / "task.toml").write_text(tomli_w.dumps(raw))
    assert load_spec(allowed / "task.toml").rewards["packaged"].func.__module__ == "my_pkg"


def _outside_scene(raw):
    raw["scene"] = str(SHIPPED_SCENE)
    return "scene", [str(SHIPPED_SCENE), "outside the allowed folders"]


def _dotdot_scene(raw):
    raw["scene"] = "../outside/robot.usda"
    return "scene", ["../outside/robot.usda", "outside the allowed folders"]


def _outside_scene_fallback(raw):
    raw["scene_fallback"] = str(SHIPPED_SCENE)
    return "scene_fallback", [str(SHIPPED_SCENE), "outside the allowed folders"]


def _python_path(raw):
    raw["python_path"] = [".", "../lib"]
    return "python_path", ["'../lib'", "may only use its own folder"]


def _python_path_fallback(raw):
    raw["python_path_fallback"] = ["/usr/lib/python3/dist-packages"]
    return "python_path_fallback", ["'/usr/lib/python3/dist-packages'"]


def _reward(raw):
    raw["rewards"]["evil"] = {"func": "os:getcwd", "weight": 1.0}
    return "rewards.evil.func", ["'os:getcwd'", "no os.py there"]


def _termination(raw):
    raw["terminations"]["evil"] = {"func": "shutil:rmtree"}
    return "terminations.evil.func", ["'shutil:rmtree'", "no shutil.py there"]


def _event(raw):
    raw["events"]["evil"] = {"func": "subprocess:run", "mode": "reset"}
    return "events.evil.func", ["'subprocess:run'", "no subprocess.py there"]


def _installed_package(raw):
    raw["rewards"]["lib"] = {"func": "isaac.rl.workbench.terms.rewards:is_alive"}
    return "rewards.lib.func", ["'isaac.rl.workbench.terms.rewards:is_alive'", "no isaac.py there"]


def _term_named_like_a_function(raw):
    raw["rewards"]["os:getcwd"] = {"weight": 1.0}  # no func: the name is the function
    return "rewards.os:getcwd.func", ["'os:getcwd'"]


def _observation_text(raw):
    raw["observations"]["policy"]["terms"].append("os:getcwd")
    return "observations.policy.terms[2]", ["'os:getcwd'", "no os.py there"]


def _observation_table(raw):
    raw["observations"]["policy"]["terms"].append({"func": "shutil:disk_usage"})
    return "observations.policy.terms[2]", ["'shutil:disk_usage'"]


def _metric(raw):
    raw["metrics"] = {"x": {"func": "torch:save", "params": {"f": "/tmp/written_by_the_page.pt"}}}
    return "metrics.x.func", ["'torch:save'", "no torch.py there"]


def _metric_named_like_a_function(raw):
    raw["metrics"] = {"torch:save": {"params": {"f": "/tmp/written_by_the_page.pt"}}}
    return "metrics.torch:save.func", ["'torch:save'"]


def _command(raw):
    raw["commands"] = {"target": {"func": "os:getcwd"}}
    return "commands.target.func", ["'os:getcwd'"]


def _actuator(raw):
    raw["actuators"] = {"legs": {"joints": [".*"], "model": "subprocess:run"}}
    return "actuators.legs.model", ["'subprocess:run'", "no subprocess.py there"]


def _param(raw):
    raw["rewards"]["alive"]["params"] = {"callback": "shutil:rmtree"}
    return "rewards.alive.params.callback", ["'shutil:rmtree'"]


def _ppo_class_colon(raw):
    raw["ppo"].setdefault("actor", {})["class_name"] = "subprocess:Popen"
    return "ppo.actor.class_name", ["'subprocess:Popen'"]


def _ppo_class_dotted(raw):
    raw["ppo"].setdefault("algorithm", {})["class_name"] = "subprocess.Popen"
    return "ppo.algorithm.class_name", ["'subprocess.Popen'", "no subprocess.py there"]


def _future_nested_table(raw):
    raw["sensors"] = {"camera": {"hooks": [{"name": "a"}, {"func": "os.path:join"}]}}
    return "sensors.camera.hooks[1]", ["'os.path:join'", "no os.py there"]


def _future_nested_value(raw):
    raw["terrain"] = {"generator": {"rough": {"make": " shutil:rmtree"}}}
    return "terrain.generator.rough.make", ["' shutil:rmtree'", "no shutil.py there"]


@pytest.mark.parametrize(
    "edit",
    [
        _metric,
        _metric_named_like_a_function,
        _command,
        _actuator,
        _param,
        _ppo_class_colon,
        _ppo_class_dotted,
        _future_nested_table,
        _future_nested_value,
        _outside_scene,
        _dotdot_scene,
        _outside_scene_fallback,
        _python_path,
        _python_path_fallback,
        _reward,
        _termination,
        _event,
        _installed_package,
        _term_named_like_a_function,
        _observation_text,
        _observation_table,
    ],
)
def test_a_spec_that_reaches_outside_is_refused_naming_the_key_and_value(allowed, edit):
    raw = table(allowed)
    key, fragments = edit(raw)
    error = refusal(raw, allowed / "task.toml", AllowedFolders([allowed]))
    assert error.key == key, error
    for fragment in [str(allowed / "task.toml"), f"key '{key}'", *fragments]:
        assert fragment in str(error), error


def test_named_functions_walks_every_table_and_list():
    raw = {
        "scene": "a:b.usda",  # a path, checked as one
        "rewards": {"r": {"func": "m:f", "params": {"k": "pkg.sub:g", "n": 1}}, "m:named": {"weight": 1.0}},
        "observations": {"policy": {"terms": ["joint_pos", "m:obs", {"func": "m:obs2", "params": {"x": "m:p"}}]}},
        "future": {"a": {"b": [[{"deep": "m:deep"}]]}},
        "ppo": {"actor": {"class_name": "MLPModel"}, "critic": {"class_name": "pkg.Net"}},
        "events": {"e": {"func": "antigravity:/not a name"}},  # the loader imports the module before the rest
        "text": ["http://example.com", "C:/robots", "10:30", "joints .*:", "(?:a)", ":f", "a b:f", "note: a:b"],
    }
    assert named_functions(raw) == [
        ("rewards.r.func", "m:f", "m"),
        ("rewards.r.params.k", "pkg.sub:g", "pkg.sub"),
        ("rewards.m:named.func", "m:named", "m"),
        ("observations.policy.terms[1]", "m:obs", "m"),
        ("observations.policy.terms[2]", "m:obs2", "m"),
        ("observations.policy.terms[2].params.x", "m:p", "m"),
        ("future.a.b[0][0].deep", "m:deep", "m"),
        ("ppo.critic.class_name", "pkg.Net", "pkg"),
        ("events.e.func", "antigravity:/not a name", "antigravity"),
    ]


def test_no_shipped_task_names_a_function_from_elsewhere():
    """A task copied beside its own modules opens in the page: the walk finds no function of a shipped task that is
    not beside it (what it finds is refused, so a false find would lock a task out of the page)."""
    for spec_file in sorted((REPO / "tasks").glob("*.toml")):
        raw = tomllib.loads(spec_file.read_text())
        for key, func, module in named_functions(raw):
            top = module.split(".")[0]
            assert (spec_file.parent / f"{top}.py").is_file(), f"{spec_file.name}: {key} = {func!r}"


def test_a_module_elsewhere_is_refused_without_being_imported(allowed, sentinel):
    name, marker = sentinel
    raw = table(allowed)
    raw["rewards"]["evil"] = {"func": f"{name}:f"}
    assert refusal(raw, allowed / "task.toml", AllowedFolders([allowed])).key == "rewards.evil.func"
    assert name not in sys.modules and not marker.exists()


def test_a_known_task_keeps_its_own_scene_but_no_other(tmp_path):
    raw = tomllib.loads(CARTPOLE_SPEC.read_text())
    folders = AllowedFolders([tmp_path])
    assert refusal(raw, CARTPOLE_SPEC, folders).key == "scene", "the shipped scene is outside tmp_path"
    check_page_spec(raw, CARTPOLE_SPEC, folders, trusted=raw)
    edited = {**raw, "scene": str(REPO / "assets" / "usd" / "ant.usda")}
    with pytest.raises(SpecError, match="ant.usda: outside the allowed folders") as caught:
        check_page_spec(edited, CARTPOLE_SPEC, folders, trusted=raw)
    assert caught.value.key == "scene"
    edited = {**raw, "rewards": {**raw["rewards"], "evil": {"func": "os:getcwd"}}}
    with pytest.raises(SpecError, match="'os:getcwd'"):
        check_page_spec(edited, CARTPOLE_SPEC, folders, trusted=raw)


# -- through a PanelModel with folders ---------------------------------------------------------------------------------
@pytest.fixture
def page(tmp_path, allowed):
    """A panel as the browser page has it: paths only in tmp/allowed (and the runs folder), task.toml open."""
    model = PanelModel(runs_dir=tmp_path / "runs", folders=[allowed])
    assert model.open_spec(allowed / "task.toml"), model.messages
    yield model
    model.close()


def test_the_page_refuses_to_open_a_spec_whose_scene_is_outside(page, allowed):
    (allowed / "elsewhere.toml").write_text(
        CARTPOLE_SPEC.read_text().replace('"../assets/usd/cartpole.usda"', f'"{SHIPPED_SCENE}"')
    )
    assert not page.open_spec(allowed / "elsewhere.toml")
    assert f"key 'scene': {SHIPPED_SCENE}: outside the allowed folders" in page.messages[-1]
    assert page.spec_file == (allowed / "task.toml").resolve(), "the open spec stays"


def test_the_page_refuses_to_open_a_spec_with_a_module_elsewhere_before_importing_it(page, allowed, sentinel):
    name, marker = sentinel
    spec = allowed / "evil.toml"
    spec.write_text((allowed / "task.toml").read_text() + f'\n[rewards.evil]\nfunc = "{name}:f"\n')
    assert not page.open_spec(spec)
    assert f"key 'rewards.evil.func': '{name}:f'" in page.messages[-1]
    assert page.spec_file == (allowed / "task.toml").resolve()
    assert name not in sys.modules and not marker.exists()
    # the command line (no page policy) would import it: the refusal above is what kept it out
    assert load_spec(spec).rewards["evil"].func.__module__ == name and marker.exists()


@pytest.mark.parametrize(
    ("action", "key", "fragment"),
    [
        (lambda m: m.set_field("scene", str(SHIPPED_SCENE)), "scene", f"{SHIPPED_SCENE}: outside the allowed"),
        (lambda m: m.set_field("scene_fallback", "../x.usda"), "scene_fallback", "x.usda: outside the allowed"),
        (lambda m: m.set_field("python_path", ["../lib"]), "python_path", "'../lib'"),
        (lambda m: m.add_term("rewards", "evil", {"func": "os:getcwd"}), "rewards.evil.func", "'os:getcwd'"),
        (
            lambda m: m.add_term("terminations", "evil", {"func": "shutil:rmtree"}),
            "terminations.evil.func",
            "'shutil:rmtree'",
        ),
        (
            lambda m: m.set_field("observations.policy.terms", ["joint_pos", {"func": "shutil:disk_usage"}]),
            "observations.policy.terms[1]",
            "'shutil:disk_usage'",
        ),
    ],
)
def test_the_page_refuses_edits_that_reach_outside(page, action, key, fragment):
    before = json.dumps(page.raw, sort_keys=True)
    assert not action(page)
    assert fragment in page.field_errors[key], page.field_errors
    assert json.dumps(page.raw, sort_keys=True) == before, "the spec is unchanged"


def test_the_page_refuses_to_open_a_spec_whose_metric_is_torch_save(page, allowed, tmp_path):
    written = tmp_path / "outside" / "written.pt"
    spec = allowed / "metric.toml"
    metric = f'\n[metrics.x]\nfunc = "torch:save"\nparams = {{ f = "{written}" }}\n'
    spec.write_text((allowed / "task.toml").read_text() + metric)
    assert not page.open_spec(spec)
    assert "key 'metrics.x.func': 'torch:save'" in page.messages[-1] and "no torch.py there" in page.messages[-1]
    assert page.spec_file == (allowed / "task.toml").resolve(), "the open spec stays"
    assert not written.exists()
    assert not page.set_field("metrics.x", {"func": "torch:save", "params": {"f": str(written)}})
    assert "'torch:save'" in page.field_errors["metrics.x.func"] and "metrics" not in page.raw


def test_the_page_refuses_a_term_module_elsewhere_before_importing_it(page, sentinel):
    name, marker = sentinel
    assert not page.add_term("rewards", "evil", {"func": f"{name}:f"})
    assert f"'{name}:f'" in page.field_errors["rewards.evil.func"]
    assert not page.set_field("observations.policy.terms", ["joint_pos", f"{name}:f"])
    assert f"'{name}:f'" in page.field_errors["observations.policy.terms[1]"]
    assert name not in sys.modules and not marker.exists()


def test_the_page_takes_terms_from_a_module_beside_the_spec(page, allowed):
    assert page.add_term("rewards", "mine", {"func": "my_terms:cart_pos", "weight": 0.1}), page.field_errors
    assert page.set_field("observations.policy.terms", ["joint_vel", "my_terms:joint_state"]), page.field_errors
    spec = page.spec()
    assert Path(inspect.getsourcefile(spec.rewards["mine"].func)).resolve() == allowed / "my_terms.py"
    assert [t.func_name for t in spec.observations["policy"]] == ["joint_vel", "my_terms:joint_state"]


def test_the_page_opens_a_known_task_and_keeps_it_to_the_folders(tmp_path, allowed):
    model = PanelModel(runs_dir=tmp_path / "runs", folders=[allowed])
    try:
        assert model.open_spec("cartpole"), model.messages
        assert model.scene_path == SHIPPED_SCENE and model.articulation.root_path == "/cartpole"
        assert model.set_field("env.num_envs", 8), model.field_errors
        assert not model.set_field("scene", str(REPO / "assets" / "usd" / "ant.usda"))
        assert "outside the allowed folders" in model.field_errors["scene"]
        assert not model.add_term("rewards", "evil", {"func": "os:getcwd"})
        assert model.open_scene(allowed / "cartpole.usda"), model.field_errors
        assert model.spec().scene == (allowed / "cartpole.usda").resolve()
    finally:
        model.close()


# -- specs that extend another -----------------------------------------------------------------------------------------
def test_the_page_opens_a_spec_that_extends_one_in_its_folder_and_edits_the_merged_table(page, allowed):
    (allowed / "child.toml").write_text('extends = "task.toml"\n[env]\nnum_envs = 4\n')
    assert page.open_spec(allowed / "child.toml"), page.messages
    assert "extends" not in page.raw and page.raw["env"]["num_envs"] == 4 and "alive" in page.raw["rewards"]
    assert page.spec().name == "child"
    assert page.enable_term("rewards", "alive", False) and "alive" not in page.spec().rewards, "an inherited term"
    assert not page.set_field("extends", "task.toml")
    assert "cannot be set by --set or an edit" in page.field_errors["extends"]


@pytest.mark.parametrize("extends", ["../outside/parent.toml", "OUTSIDE", "link.toml", "cartpole"])
def test_the_page_refuses_a_parent_outside_its_folders_before_reading_it(page, allowed, tmp_path, extends):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "parent.toml").write_text("[not toml\n")  # read, it would be reported as not valid TOML
    (allowed / "link.toml").symlink_to(outside / "parent.toml")
    value = str(outside / "parent.toml") if extends == "OUTSIDE" else extends
    (allowed / "child.toml").write_text(f'extends = "{value}"\n')
    assert not page.open_spec(allowed / "child.toml")
    assert page.messages[-1].startswith(f"error: {(allowed / 'child.toml').resolve()}: key 'extends': ")
    assert "outside the allowed folders" in page.messages[-1]
    assert page.spec_file == (allowed / "task.toml").resolve(), "the open spec stays"


def test_a_parent_is_held_to_the_page_policy_as_the_merged_spec(page, allowed, sentinel):
    name, marker = sentinel
    (allowed / "parent.toml").write_text((allowed / "task.toml").read_text() + f'\n[rewards.evil]\nfunc = "{name}:f"\n')
    (allowed / "child.toml").write_text('extends = "parent.toml"\n')
    assert not page.open_spec(allowed / "child.toml")
    assert f"key 'rewards.evil.func': '{name}:f'" in page.messages[-1]
    assert name not in sys.modules and not marker.exists()
    (allowed / "sub").mkdir()
    (allowed / "sub" / "child.toml").write_text('extends = "../task.toml"\n')
    assert not page.open_spec(allowed / "sub" / "child.toml"), "a parent in another folder brings its python_path"
    assert "key 'python_path'" in page.messages[-1]


def test_the_page_opens_a_known_task_that_extends_another(tmp_path, allowed):
    robot_or_fail("go2")
    model = PanelModel(runs_dir=tmp_path / "runs", folders=[allowed])
    try:
        assert model.open_spec("go2_flat_student"), model.messages
        assert "extends" not in model.raw and model.spec().raw == load_spec("go2_flat_student").raw
    finally:
        model.close()
