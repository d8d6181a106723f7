"""Careless and hostile input at the command line: one line naming the file, key or value, exit code 2, nothing
written outside the run folder, nothing overwritten, and no env built before the arguments are known to be good."""

from __future__ import annotations

import importlib
import shutil
import signal
from pathlib import Path

import pytest
from isaac.rl.workbench.envs import workbench_env
from isaac.rl.workbench.frontends.cli import COMMAND_MODULES, FAILURES, USER_ERRORS, main
from isaac.rl.workbench.frontends.ctrl_c import StopOnCtrlC
from isaac.rl.workbench.learn.run_args import safe_name
from isaac.rl.workbench.workbench import RUNS_DIR, Workbench
from pxr import Gf, Usd, UsdGeom, UsdPhysics

from ..conftest import CARTPOLE_SPEC, REPO

NAMED_ERRORS = sorted({*USER_ERRORS, *FAILURES, *(name for module in COMMAND_MODULES for name in module.USER_ERRORS)})


@pytest.mark.parametrize("name", NAMED_ERRORS)
def test_every_error_the_cli_names_is_an_exception_class_where_it_says(name):
    """The CLI names the errors it reports (to import nothing heavy): a renamed or moved class would otherwise
    turn a one-line error into a traceback."""
    module, _, qualname = name.rpartition(".")
    assert issubclass(getattr(importlib.import_module(module), qualname), Exception), name


@pytest.fixture
def no_env_is_built(monkeypatch):
    """Fail the test if anything builds an env (the check must come before the expensive work)."""

    def refuse(*args, **kwargs):
        raise AssertionError("an env was built before the bad input was reported")

    monkeypatch.setattr(workbench_env.WorkbenchEnv, "__init__", refuse)


@pytest.fixture
def fake_run(tmp_path) -> Path:
    """A run folder that has done 30 iterations: its spec and a checkpoint file (never loaded by these tests)."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    spec = CARTPOLE_SPEC.read_text().replace('"../assets/usd/cartpole.usda"', f'"{REPO / "assets/usd/cartpole.usda"}"')
    (run / "spec.toml").write_text(spec)
    (run / "checkpoints" / "model_000030.pt").write_bytes(b"not loaded")
    (run / "metrics.jsonl").write_text("".join(f'{{"iteration": {i}}}\n' for i in range(1, 31)))
    return run


def error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("name", ["/etc/cron.d/evil", "../../outside", "..", "a/../../b", ""])
def test_a_spec_name_never_moves_the_run_folder_out_of_runs(write_spec, name):
    spec = write_spec({'name = "cartpole"': f'name = "{name}"'})
    wb = Workbench.new(spec)
    assert wb.run_dir.parent.parent == RUNS_DIR and wb.run_dir.parent.name == safe_name(name)
    assert ".." not in wb.run_dir.parts and not wb.run_dir.is_absolute()
    assert not wb.run_dir.exists(), "nothing is written before the build"


def test_a_run_folder_never_overwrites_the_users_spec(write_spec, capsys, no_env_is_built):
    spec = write_spec()
    (spec.parent / "spec.toml").write_text("# the user's own file\n")
    assert main(["train", str(spec), "--run-dir", str(spec.parent)]) == 2
    line = error_line(capsys)
    assert str(spec.parent) in line and "spec.toml" in line and "another --run-dir" in line
    assert (spec.parent / "spec.toml").read_text() == "# the user's own file\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "cartpole", "--set", "seed.x=3"], "'seed' is a value"),
        (["train", "cartpole", "--set", "env..num_envs=3"], "empty key part"),
        (["bench", "NO_SUCH_TASK"], "NO_SUCH_TASK: not a spec file and not a known task"),
        (["train", "cartpole", "--device", "gpu"], "--device 'gpu': expected cpu, cuda or cuda:<index>"),
        (["train", "cartpole", "--device", "cuda:7"], "--device 'cuda:7'"),
    ],
)
def test_bad_arguments_are_one_line_exit_2_and_leave_nothing(argv, expected, tmp_path, capsys, no_env_is_built):
    run_dir = tmp_path / "run"
    code = main([*argv, "--run-dir", str(run_dir)] if argv[0] == "train" else argv)
    assert code == 2
    assert expected in error_line(capsys)
    assert not run_dir.exists()


@pytest.mark.parametrize(
    ("replace", "append", "key", "value"),
    [
        ({'joints = ["slider"]\nscale': 'joints = ["hip_("]\nscale'}, "", "'actions.joints'", "'hip_('"),
        ({'["joint_pos", "joint_vel"]': '[{ func = "joint_pos", noise = [-inf, inf] }]'}, "", "terms[0].noise'", "inf"),
        ({}, "[ppo.algorithm]\nlearning_rate = inf\n", "'ppo.algorithm.learning_rate'", "inf"),
        ({}, "[ppo.algorithm]\nlearning_rate = nan\n", "'ppo.algorithm.learning_rate'", "nan"),
        ({'name = "cartpole"': f'name = "{"n" * 300}"'}, "", "key 'name'", "300"),
        ({'name = "cartpole"': f'name = "{"n" * 5_000_000}"'}, "", "key 'name'", "5000000"),
        ({}, "x = " + "[" * 5000 + "]" * 5000 + "\n", "not valid TOML", "nested too deeply"),
    ],
)
def test_a_bad_spec_value_is_one_line_exit_2_before_any_run_folder(
    write_spec, replace, append, key, value, tmp_path, monkeypatch, capsys, no_env_is_built
):
    """No --run-dir: the default run folder (runs/<name>/...) is not made either."""
    spec = write_spec(replace, append)
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(spec)]) == 2
    line = error_line(capsys)
    assert str(spec) in line and key in line and value in line, line[:300]
    assert len(line) < 400, "the value is named, not repeated whole"
    assert not (tmp_path / RUNS_DIR).exists()


@pytest.mark.parametrize("command", ["play", "export"])
def test_a_missing_checkpoint_is_reported_before_any_env_is_built(fake_run, command, capsys, no_env_is_built):
    missing = fake_run / "checkpoints" / "model_000099.pt"
    assert main([command, str(fake_run), "--checkpoint", str(missing)]) == 2
    line = error_line(capsys)
    assert str(missing) in line and "no such checkpoint file" in line


def test_play_zero_episodes_is_an_argument_error(fake_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["play", str(fake_run), "--episodes", "0"])
    assert exit_info.value.code == 2
    assert "--episodes: expected an integer >= 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [["--max-iterations", "10"], []])
def test_resuming_a_run_that_is_already_done_says_there_is_nothing_to_do(fake_run, extra, capsys, no_env_is_built):
    (fake_run / "spec.toml").write_text((fake_run / "spec.toml").read_text().replace("150", "30"))
    assert main(["train", "--resume", str(fake_run), *extra]) == 0
    out = capsys.readouterr().out
    assert "nothing to do" in out and "has done 30 iterations" in out and "--max-iterations" in out
    assert len((fake_run / "metrics.jsonl").read_text().splitlines()) == 30, "the run is untouched"


def _write_pendulum(path: Path) -> Path:
    """A pendulum whose revolute joint hangs straight from the world (no base link)."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    root = UsdGeom.Xform.Define(stage, "/pendulum")
    UsdPhysics.ArticulationRootAPI.Apply(root.GetPrim())
    rod = UsdGeom.Xform.Define(stage, "/pendulum/rod")
    rod.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, 1.0))
    UsdPhysics.RigidBodyAPI.Apply(rod.GetPrim())
    UsdPhysics.MassAPI.Apply(rod.GetPrim()).CreateMassAttr(1.0)
    hinge = UsdPhysics.RevoluteJoint.Define(stage, "/pendulum/hinge")
    hinge.CreateBody1Rel().SetTargets([rod.GetPath()])
    hinge.CreateAxisAttr("Y")
    stage.Save()
    return path


def test_a_joint_hanging_from_the_world_is_refused_with_the_fix(write_spec, tmp_path, capsys, no_env_is_built):
    scene = _write_pendulum(tmp_path / "pendulum.usda")
    assert main(["inspect", str(scene)]) == 0
    assert "problem: joint /pendulum/hinge (revolute) attaches /pendulum/rod straight to the world" in (
        capsys.readouterr().out
    )
    spec = tmp_path / "pendulum.toml"
    spec.write_text(
        'scene = "pendulum.usda"\n[actions]\njoints = ["hinge"]\n[observations.policy]\nterms = ["joint_pos"]\n'
        '[rewards.alive]\nfunc = "is_alive"\n'
    )
    assert main(["train", str(spec), "--run-dir", str(tmp_path / "run")]) == 2
    line = error_line(capsys)
    assert str(scene) in line and "/pendulum/hinge" in line and "add a base link" in line


class _FakeWorkbench:
    """Stands in for a Workbench in the Ctrl-C handler test: only its ``saving`` flag is read."""

    saving = False


def test_a_second_ctrl_c_waits_for_a_checkpoint_being_written(capsys):
    workbench = _FakeWorkbench()
    with StopOnCtrlC(workbench) as stop:
        signal.raise_signal(signal.SIGINT)  # the handler StopOnCtrlC installed runs, as on a real Ctrl-C
        assert stop.requested
        workbench.saving = True
        signal.raise_signal(signal.SIGINT)  # during a save: no interrupt
        workbench.saving = False
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert "being written" in capsys.readouterr().out


@pytest.mark.slow
def test_resuming_a_run_stopped_before_its_first_checkpoint_starts_again(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "cartpole", "--run-dir", str(run), "--max-iterations", "2", "--num-envs", "4"]) == 0
    shutil.rmtree(run / "checkpoints")  # as after an abort during the first save
    assert main(["train", "--resume", str(run), "--max-iterations", "3"]) == 0
    out, err = capsys.readouterr()
    assert "no checkpoint was saved; starting again at iteration 0" in err
    rows = (run / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 3 and (run / "checkpoints" / "model_000003.pt").is_file()
