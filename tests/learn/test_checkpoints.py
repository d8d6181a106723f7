"""Checkpoints: loaded with weights_only (a crafted file never runs), broken files give one line naming the file and
exit code 2, another task's or another network's checkpoint names the sizes, and a resume after a kill goes on."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import time
from pathlib import Path

import pytest
import torch
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.learn.checkpoint import CheckpointError, check_fits, read_checkpoint
from rsl_rl.models import MLPModel
from tensordict import TensorDict

TRAIN_ITERATIONS = 2
DISTRIBUTION = {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "scalar"}


class RunsCommand:
    """Unpickling this runs ``touch <marker>`` (what a crafted checkpoint would do with any command)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A cartpole run of TRAIN_ITERATIONS iterations with 4 envs (one checkpoint, at the end); do not modify it."""
    run_dir = tmp_path_factory.mktemp("runs") / "cartpole"
    args = ["train", "cartpole", "--run-dir", str(run_dir), "--max-iterations", str(TRAIN_ITERATIONS)]
    assert main([*args, "--num-envs", "4", "--eval-episodes", "1"]) == 0
    return run_dir


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    """A copy of the trained run that a test may damage."""
    return Path(shutil.copytree(trained_run, tmp_path / "run"))


def checkpoint_of(run_dir: Path) -> Path:
    (path,) = sorted((run_dir / "checkpoints").glob("model_*.pt"))
    return path


def error_line(capsys) -> str:
    """The whole of stderr, which must be one line (no traceback)."""
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# -- what the workbench writes loads safely -----------------------------------------------------------------------
@pytest.mark.slow
def test_written_checkpoint_loads_with_weights_only(trained_run):
    path = checkpoint_of(trained_run)
    state = torch.load(path, weights_only=True, map_location="cpu")
    rows = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert state["iter"] == rows[-1]["iteration"] == TRAIN_ITERATIONS
    assert read_checkpoint(path)["iter"] == TRAIN_ITERATIONS
    # the run's training time survives a resume: it is in the checkpoint
    assert state["infos"]["train_seconds"] == pytest.approx(rows[-1]["train_seconds"], rel=1e-6)
    assert state["infos"]["total_env_steps"] == rows[-1]["total_env_steps"]


# -- a crafted checkpoint never runs -------------------------------------------------------------------------------
def write_evil(path: Path, marker: Path, kind: str) -> Path:
    """A checkpoint-looking file whose unpickling would create ``marker``: through torch.save or a bare pickle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"actor_state_dict": RunsCommand(marker), "iter": 1}
    if kind == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["torch", "pickle"])
def test_play_refuses_a_checkpoint_that_runs_code(trained_run, tmp_path, capsys, kind):
    marker = tmp_path / "payload_ran"
    evil = write_evil(tmp_path / "evil.pt", marker, kind)
    assert main(["play", str(trained_run), "--checkpoint", str(evil), "--episodes", "1"]) == 2
    assert str(evil) in error_line(capsys)
    assert not marker.exists(), "the checkpoint's payload ran"


@pytest.mark.slow
def test_resume_refuses_a_latest_checkpoint_that_runs_code(run_copy, tmp_path, capsys):
    marker = tmp_path / "payload_ran"
    evil = write_evil(run_copy / "checkpoints" / f"model_{TRAIN_ITERATIONS + 1:06d}.pt", marker, "torch")  # latest
    assert main(["train", "--resume", str(run_copy), "--max-iterations", str(TRAIN_ITERATIONS + 10)]) == 2
    assert str(evil) in error_line(capsys)
    assert not marker.exists(), "the checkpoint's payload ran"


# -- broken files: one line naming the file and what is wrong, before any env is needed ----------------------------
def make_broken(kind: str, real: Path, folder: Path) -> tuple[Path, str]:
    """A broken checkpoint of ``kind`` made from the real checkpoint ``real``; returns (path, a word of the message)."""
    path = folder / f"{kind}.pt"
    if kind == "missing":
        return path, "no such"
    if kind == "directory":
        path.mkdir()
        return path, "directory"
    if kind == "empty":
        path.touch()
        return path, "empty"
    if kind == "truncated":
        data = real.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return path, "truncated"
    if kind == "random":
        path.write_bytes(os.urandom(real.stat().st_size))
        return path, "not a checkpoint"
    if kind == "other_torch_file":
        torch.save({"a": 1}, path)
        return path, "not a workbench checkpoint"
    raise AssertionError(kind)


BROKEN = ["missing", "directory", "empty", "truncated", "random", "other_torch_file"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", BROKEN)
def test_read_checkpoint_names_file_and_problem(trained_run, tmp_path, kind):
    path, what = make_broken(kind, checkpoint_of(trained_run), tmp_path)
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)  # the check a front end runs before it builds an env
    message = str(info.value)
    assert message.startswith(f"{path}: ") and what in message and "\n" not in message


@pytest.mark.slow
@pytest.mark.parametrize("kind", BROKEN)
def test_play_with_a_broken_checkpoint_exits_2(trained_run, tmp_path, capsys, kind):
    path, what = make_broken(kind, checkpoint_of(trained_run), tmp_path)
    assert main(["play", str(trained_run), "--checkpoint", str(path), "--episodes", "1"]) == 2
    line = error_line(capsys)
    assert line.startswith(f"error: {path}: ") and what in line


@pytest.mark.slow
def test_resume_with_a_truncated_latest_checkpoint_exits_2(run_copy, capsys):
    latest = checkpoint_of(run_copy)
    latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 2])
    assert main(["train", "--resume", str(run_copy), "--max-iterations", str(TRAIN_ITERATIONS + 1)]) == 2
    assert str(latest) in error_line(capsys)


# -- another task, another network -----------------------------------------------------------------------------------
def edit_spec(run_dir: Path, old: str, new: str) -> None:
    spec = run_dir / "spec.toml"
    text = spec.read_text()
    assert old in text, f"test setup: {old!r} not in {spec}"
    spec.write_text(text.replace(old, new))


@pytest.mark.slow
def test_checkpoint_of_a_task_with_other_observations(trained_run, run_copy, capsys):
    checkpoint = checkpoint_of(trained_run)
    saved = read_checkpoint(checkpoint)["actor_state_dict"]["mlp.0.weight"].shape[1]
    edit_spec(run_copy, '"joint_pos",\n    "joint_vel",', '"joint_pos",')  # one value per joint each: half as many
    assert main(["play", str(run_copy), "--checkpoint", str(checkpoint), "--episodes", "1"]) == 2
    line = error_line(capsys)
    assert str(checkpoint) in line
    assert f"observation size {saved} in the checkpoint, {saved // 2} in this task" in line


@pytest.mark.slow
def test_checkpoint_of_a_task_with_other_actions(trained_run, run_copy, capsys):
    checkpoint = checkpoint_of(trained_run)
    saved = read_checkpoint(checkpoint)["actor_state_dict"]["distribution.std_param"].shape[0]
    edit_spec(
        run_copy,
        '[actions]\ntype = "joint_effort"\njoints = [\n    "slider",',
        '[actions]\ntype = "joint_effort"\njoints = [\n    "slider",\n    "hinge",',
    )
    assert main(["play", str(run_copy), "--checkpoint", str(checkpoint), "--episodes", "1"]) == 2
    line = error_line(capsys)
    assert str(checkpoint) in line and f"action size {saved} in the checkpoint, {saved + 1} in this task" in line


@pytest.mark.slow
def test_resume_with_other_hidden_dims_names_layer_and_shapes(run_copy, capsys):
    checkpoint = checkpoint_of(run_copy)
    saved = list(read_checkpoint(checkpoint)["actor_state_dict"]["mlp.0.weight"].shape)
    args = ["train", "--resume", str(run_copy), "--max-iterations", str(TRAIN_ITERATIONS + 1)]
    assert main([*args, "--set", "ppo.actor.hidden_dims=[64,64]"]) == 2
    line = error_line(capsys)
    assert str(checkpoint) in line and "mlp.0.weight" in line
    assert f"{saved} in the checkpoint, {[64, saved[1]]} in this network" in line


# -- check_fits on rsl-rl models directly (fast) ------------------------------------------------------------------
def networks(obs: int, actions: int, hidden: list[int], normalise: bool = False) -> dict[str, MLPModel]:
    data = TensorDict({"policy": torch.randn(8, obs)}, batch_size=[8])
    groups = {"actor": ["policy"], "critic": ["policy"]}
    return {
        "actor": MLPModel(
            data, groups, "actor", actions, hidden, obs_normalization=normalise, distribution_cfg=DISTRIBUTION
        ),
        "critic": MLPModel(data, groups, "critic", 1, hidden),
    }


def state_of(nets: dict[str, MLPModel]) -> dict:
    return {f"{name}_state_dict": net.state_dict() for name, net in nets.items()}


@pytest.mark.parametrize(
    ("saved", "built", "expected"),
    [
        ((4, 1, [32, 32]), (6, 1, [32, 32]), "observation size 4 in the checkpoint, 6 in this task"),
        ((4, 1, [32, 32]), (4, 3, [32, 32]), "action size 1 in the checkpoint, 3 in this task"),
        ((4, 1, [32, 32]), (4, 1, [64, 64]), "actor layer mlp.0.weight is [32, 4] in the checkpoint, [64, 4]"),
    ],
)
def test_check_fits_names_the_difference(saved, built, expected):
    path = Path("runs/x/checkpoints/model_000010.pt")
    with pytest.raises(CheckpointError) as info:
        check_fits(path, state_of(networks(*saved)), networks(*built))
    assert str(info.value).startswith(f"{path}: ") and expected in str(info.value)


def test_check_fits_names_a_layer_only_one_side_has():
    path = Path("model_000010.pt")
    with pytest.raises(CheckpointError, match=r"obs_normalizer\._mean"):
        check_fits(path, state_of(networks(4, 1, [32])), networks(4, 1, [32], normalise=True))
    check_fits(path, state_of(networks(4, 1, [32])), networks(4, 1, [32]))  # the same settings fit


# -- a resume after a kill -------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_resume_after_a_kill_mid_write(run_copy, capsys):
    """A kill while metrics.jsonl got a line and while a checkpoint was being saved: resume goes on from the last
    whole checkpoint, drops the partial line and the orphan temporary file, and keeps counting training time."""
    metrics = run_copy / "metrics.jsonl"
    with open(metrics, "a") as f:
        f.write(f'{{"iteration": {TRAIN_ITERATIONS + 1}, "mean_rew')
    orphan = run_copy / "checkpoints" / f".model_{TRAIN_ITERATIONS + 1:06d}.k1ll3d.pt"
    orphan.write_bytes(checkpoint_of(run_copy).read_bytes()[:100])
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    before = read_checkpoint(checkpoint_of(run_copy))["infos"]["train_seconds"]

    args = ["train", "--resume", str(run_copy), "--max-iterations", str(TRAIN_ITERATIONS + 1), "--eval-episodes", "1"]
    assert main(args) == 0
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [row["iteration"] for row in rows] == list(range(1, TRAIN_ITERATIONS + 2))
    assert not orphan.exists()
    after = read_checkpoint(run_copy / "checkpoints" / f"model_{TRAIN_ITERATIONS + 1:06d}.pt")
    assert after["infos"]["train_seconds"] > before, "training time restarted at 0 after the resume"
