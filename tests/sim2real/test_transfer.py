"""Stand-in reality files (their keys and errors) and the transfer test of a trained cart-pole: the same path gives
the same score without a reality, a harsher reality scores worse, and a run that cannot be deployed gets a row
saying why."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from isaac.rl.workbench.frontends.cli_sim2real import add_parsers
from isaac.rl.workbench.sim2real.reality import RealityError, describe, load_reality

from ..conftest import REPO, robot_or_fail
from .trained_cartpole import cartpole_teacher, trained_cartpole  # noqa: F401 (fixtures)

CARTPOLE_REALITY = REPO / "tests" / "data" / "reality_cartpole.toml"
CARTPOLE_TASK = REPO / "tasks" / "cartpole.toml"


def _reality(folder: Path, text: str, name: str = "reality.toml") -> Path:
    path = folder / name
    path.write_text(f'task = "{CARTPOLE_TASK}"\n{text}\n')
    return path


def _run_transfer(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["transfer", *argv])
    args.own_process = False
    return args.func(args)


def test_shipped_realities_load():
    cartpole = load_reality(CARTPOLE_REALITY)
    assert cartpole.task == CARTPOLE_TASK.resolve() and cartpole.added_mass == {"pole": 0.3}
    assert cartpole.action_latency_steps == 2 and cartpole.state_noise == {"joint_pos": 0.01, "joint_vel": 0.1}
    assert describe(cartpole).startswith("pole mass +0.3 kg")
    robot_or_fail("go2")
    go2 = load_reality(REPO / "tests" / "data" / "reality_go2.toml")
    assert go2.spec.name == "go2_flat" and go2.added_base_mass == 3.5 and go2.motor_strength == 0.85
    assert go2.friction == 0.45 and go2.action_latency_steps == 1 and go2.state_noise["ang_vel"] == 0.1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gravity = 3.0", "key 'gravity': unknown key; expected one of: action_latency_steps"),
        ("friction = -0.2", "key 'friction': must be >= 0.0, got -0.2"),
        ('friction = "slippery"', "key 'friction': expected float, got 'slippery'"),
        ("action_latency_steps = 1.5", "key 'action_latency_steps': expected int, got 1.5"),
        ("motor_strength = 0.0", "key 'motor_strength': must be > 0, got 0.0"),
        ("com_offset = [0.1, 0.0]", "key 'com_offset': expected [x, y, z] in metres"),
        ("added_mass = { tail = 1.0 }", "key 'added_mass.tail': body 'tail' is not in articulation /cartpole"),
        ("state_noise = { gyro = 0.1 }", "key 'state_noise.gyro': unknown key; expected one of: ang_vel"),
    ],
)
def test_reality_errors_name_the_file_and_key(tmp_path, text, message):
    path = _reality(tmp_path, text)
    with pytest.raises(RealityError) as caught:
        load_reality(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_reality_needs_a_task_that_loads(tmp_path):
    path = tmp_path / "reality.toml"
    path.write_text("seed = 1\n")
    with pytest.raises(RealityError, match=f"{path}: key 'task': missing"):
        load_reality(path)
    path.write_text('task = "no_such_task"\n')
    with pytest.raises(RealityError, match="key 'task': no_such_task: not a spec file and not a known task"):
        load_reality(path)


@pytest.mark.slow
def test_transfer_table_compares_sim_and_reality(trained_cartpole, tmp_path, capsys):  # noqa: F811
    # a run that cannot be exported for a robot (no checkpoint) gets a row that says why; the others still run
    broken = tmp_path / "no_checkpoint"
    broken.mkdir()
    shutil.copy(trained_cartpole / "spec.toml", broken / "spec.toml")
    harsh = _reality(tmp_path, "seed = 5\nadded_mass = { pole = 0.3 }\naction_latency_steps = 6", "harsh.toml")
    out = tmp_path / "harsh"
    argv = [str(trained_cartpole), str(broken), "--reality", str(harsh), "--episodes", "2", "--out", str(out)]
    assert _run_transfer(argv) == 0
    assert (trained_cartpole / "export" / "deploy.json").is_file()  # exported on the way

    data = json.loads((out / "transfer.json").read_text())
    good, bad = data["rows"]
    assert good["run"] == "run" and good["metric"] == "return" and good["error"] is None
    sim, reality = good["sim"], good["reality"]
    assert sim["episodes"] == reality["episodes"] == 2
    # in its own world the policy balances the whole 5 s; commands arriving 100 ms late drop the heavier pole
    assert sim["survival"] == 1.0 and reality["survival"] < 0.9
    assert reality["metric_mean"] < sim["metric_mean"] - 1.0
    assert good["gap"] == pytest.approx(reality["metric_mean"] - sim["metric_mean"])
    # each episode's score is kept (the cart-pole has no commands to list)
    assert sum(e["metric"] for e in reality["per_episode"]) / 2 == pytest.approx(reality["metric_mean"])
    assert good["commands"] == [{}, {}]
    assert {e["terminated_by"] for e in reality["per_episode"]} <= {"pole_fell", "cart_out_of_bounds"}
    assert all(e["terminated_by"] is None for e in sim["per_episode"])
    fell = [e for e in reality["per_episode"] if e["terminated_by"]]
    assert fell and all(0.0 < e["terminated_at_s"] < 5.0 for e in fell)
    assert bad["run"] == "no_checkpoint" and "checkpoint" in bad["error"] and bad["sim"]["metric_mean"] is None

    table = (out / "transfer.md").read_text()
    assert "| run | return sim | return reality | gap | survival sim | survival reality | safe stops sim |" in table
    assert "| no_checkpoint | not run: " in table
    assert table in capsys.readouterr().out


@pytest.mark.slow
def test_without_hidden_values_reality_scores_as_sim(trained_cartpole, tmp_path):  # noqa: F811
    same = _reality(tmp_path, "seed = 3", "same.toml")
    out = tmp_path / "same"
    assert (
        _run_transfer(
            [str(trained_cartpole), "--reality", str(same), "--episodes", "2", "--seconds", "2", "--out", str(out)]
        )
        == 0
    )
    row = json.loads((out / "transfer.json").read_text())["rows"][0]
    assert row["gap"] == 0.0 and row["sim"]["metric_mean"] == row["reality"]["metric_mean"]

    # the moderate reality of tests/data differs: another score from the same seeds
    assert (
        _run_transfer(
            [
                str(trained_cartpole),
                "--reality",
                str(CARTPOLE_REALITY),
                "--episodes",
                "2",
                "--seconds",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    row = json.loads((out / "transfer.json").read_text())["rows"][0]
    assert row["gap"] != 0.0 and row["reality"]["episodes"] == 2


@pytest.mark.slow
def test_a_teacher_is_not_deployable_and_says_why(cartpole_teacher, tmp_path):  # noqa: F811
    out = tmp_path / "teacher"
    assert _run_transfer([str(cartpole_teacher), "--reality", str(CARTPOLE_REALITY), "--out", str(out)]) == 2
    row = json.loads((out / "transfer.json").read_text())["rows"][0]
    assert "randomized_params" in row["error"] and row["reality"]["episodes"] == 0


@pytest.mark.slow
def test_the_own_world_runs_at_the_smallest_action_delay_the_run_trains_with(trained_cartpole, tmp_path):  # noqa: F811
    """A run trained with 2-3 steps of action delay, against a reality that only delays by 2: the same world, so
    the same score. Without the delay in its own world the two sides would differ."""
    run = tmp_path / "late_run"
    shutil.copytree(trained_cartpole, run, ignore=shutil.ignore_patterns("export", "transfer", "robustness"))
    spec = (run / "spec.toml").read_text()
    assert "delay_steps" not in spec
    (run / "spec.toml").write_text(spec.replace("\n[actions]\n", "\n[actions]\ndelay_steps = [2, 3]\n", 1))
    late = _reality(tmp_path, "seed = 3\naction_latency_steps = 2", "late.toml")
    out = tmp_path / "late"
    argv = [str(run), "--reality", str(late), "--episodes", "2", "--seconds", "2", "--out", str(out)]
    assert _run_transfer(argv) == 0
    row = json.loads((out / "transfer.json").read_text())["rows"][0]
    assert row["error"] is None and row["reality"]["episodes"] == 2
    assert row["gap"] == 0.0 and row["sim"]["per_episode"] == row["reality"]["per_episode"]


def test_the_realitys_motors_deliver_their_strength_of_each_command(tmp_path):
    from isaac.rl.workbench.deploy.driver import JointCommand
    from isaac.rl.workbench.sim2real.reality import reality_driver

    weak = load_reality(_reality(tmp_path, "motor_strength = 0.5", "weak.toml"))
    robot = reality_driver(weak)
    zeros = np.zeros(2)
    robot.write_command(JointCommand(q=zeros, dq=zeros, kp=np.full(2, 4.0), kd=np.full(2, 2.0), tau=np.array([6.0, 0])))
    delivered = {key: getattr(robot.env.motor_command, key)[0].tolist() for key in ("kp", "kd", "tau")}
    assert delivered == {"kp": [2.0, 2.0], "kd": [1.0, 1.0], "tau": [3.0, 0.0]}
