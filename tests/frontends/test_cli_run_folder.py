"""Run folders at the command line when the disk or another process is against us: two trains racing on one folder,
a full disk and a read-only folder before and during a run, a recording or an export that cannot be written. Each
ends in one line naming the path and the cause (exit 2 before a run, 3 during it, naming the last good checkpoint),
and nothing that was written is lost.

The full and read-only disks are real: small tmpfs mounts (root only; skipped where mounting is not allowed). The
same failures are also made by a patched writer, which needs no privileges."""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.learn.checkpoint import read_checkpoint
from isaac.rl.workbench.workbench import Workbench

from ..conftest import CARTPOLE_SPEC, REPO

TRAIN = ["train", "cartpole", "--num-envs", "4", "--eval-episodes", "1", "--set", "ppo.save_interval=1"]


@contextlib.contextmanager
def tmpfs(path: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of ``size_kib`` KiB mounted at ``path`` for the block; skips the test where mounting is refused."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'not root'})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, mode: str) -> None:
    """Remount ``path`` (a tmpfs with no file open for writing) ``ro`` or ``rw``."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def fill(disk: Path, leave_bytes: int) -> None:
    """Fill ``disk`` until about ``leave_bytes`` are free."""
    stat = os.statvfs(disk)
    (disk / "filler").write_bytes(bytes(max(0, stat.f_bavail * stat.f_frsize - leave_bytes)))


def after_build(monkeypatch, then) -> None:
    """Call ``then(workbench)`` once each Workbench has built (its lock taken, its spec written)."""
    original = Workbench.build

    def build(self, *args, **kwargs):
        original(self, *args, **kwargs)
        then(self)

    monkeypatch.setattr(Workbench, "build", build)


def error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def assert_run_intact(run: Path, last_checkpoint: Path) -> None:
    """What the run wrote is whole: every metrics line is JSON up to the last good checkpoint, it loads, and no
    temporary file of a failed write is left."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    iteration = int(last_checkpoint.stem.split("_")[1])
    assert [row["iteration"] for row in rows][:iteration] == list(range(1, iteration + 1))
    assert read_checkpoint(last_checkpoint)["iter"] == iteration
    assert not [p.name for p in run.rglob(".*") if p.name != ".lock"], "temporary files left"
    assert not (run / ".lock").exists(), "the lock is released"


@pytest.mark.slow
def test_two_trains_racing_on_one_folder_have_one_winner(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "isaac.rl.workbench.frontends.cli", *TRAIN, "--max-iterations", "25"]
    command += ["--run-dir", str(run)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = sorted((proc.wait(timeout=600), proc.stderr.read()) for proc in procs)
    (won, _), (lost, err) = results
    assert (won, lost) == (0, 2), results
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and ("another run writes here" in errors[0] or "already holds" in errors[0]), err
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["iteration"] for row in rows] == list(range(1, 26)), "each iteration logged once, in order"
    saved = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert saved == ["best.pt", *(f"model_{i:06d}.pt" for i in range(1, 26))], "one writer: each checkpoint once"
    assert 'name = "cartpole"' in (run / "spec.toml").read_text()


def test_a_full_disk_before_the_run_is_exit_2_and_nothing_written(tmp_path, capsys):
    with tmpfs(tmp_path / "disk", 2048) as disk:
        assert main([*TRAIN, "--run-dir", str(disk / "run")]) == 2
        line = error_line(capsys)
        assert line.startswith(f"error: {disk / 'run'}: cannot write (the disk is full: ")
        assert not (disk / "run").exists(), "the folder it made is gone again"


def test_a_read_only_folder_before_the_run_is_exit_2(tmp_path, capsys):
    with tmpfs(tmp_path / "disk", 32 * 1024) as disk:
        remount(disk, "ro")
        assert main([*TRAIN, "--run-dir", str(disk / "run")]) == 2
        assert error_line(capsys).startswith(f"error: {disk / 'run'}: cannot write (the file system is read-only")


@pytest.mark.slow
def test_the_disk_filling_during_a_run_is_exit_3_naming_the_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    with tmpfs(tmp_path / "disk", 24 * 1024) as disk:
        run = disk / "run"
        after_build(monkeypatch, lambda wb: fill(disk, 150_000))  # room for two or three 45 kB checkpoints
        assert main([*TRAIN, "--max-iterations", "30", "--run-dir", str(run)]) == 3
        line = error_line(capsys)
        assert "cannot write (the disk is full: No space left on device)" in line, line
        checkpoints = sorted((run / "checkpoints").glob("model_*.pt"))
        assert checkpoints and line.endswith(f"the last good checkpoint is {checkpoints[-1]}"), line
        assert_run_intact(run, checkpoints[-1])


@pytest.mark.slow
def test_a_folder_turning_read_only_during_a_run_is_exit_3(tmp_path, capsys, monkeypatch):
    """The patched writer: the file system turns read-only after the second checkpoint (as the kernel remounts a
    failing disk; a real remount is refused while the run holds files open for writing)."""
    from isaac.rl.workbench.learn import run_dir

    run = tmp_path / "run"
    read_only = []

    def after_two(wb):
        wb.add_listener(
            lambda event, data: read_only.append(1) if event == "checkpoint" and data["iteration"] == 2 else 0
        )

    def open_unless_read_only(path, mode="r", *args, **kwargs):
        if read_only and mode != "r":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return open(path, mode, *args, **kwargs)

    after_build(monkeypatch, after_two)
    monkeypatch.setattr(run_dir, "open", open_unless_read_only, raising=False)
    assert main([*TRAIN, "--max-iterations", "10", "--run-dir", str(run)]) == 3
    line = error_line(capsys)
    assert f"{run}/metrics.jsonl: cannot write (the file system is read-only" in line, line
    assert line.endswith(f"the last good checkpoint is {run / 'checkpoints' / 'model_000002.pt'}"), line
    assert_run_intact(run, run / "checkpoints" / "model_000002.pt")


@pytest.mark.slow
def test_a_checkpoint_write_failing_is_exit_3_and_loses_nothing(tmp_path, capsys, monkeypatch):
    """The patched writer: the third checkpoint's bytes hit a full disk (no mount needed)."""
    run = tmp_path / "run"
    write_bytes = Path.write_bytes

    def full_at_third_checkpoint(self, data):
        if self.name.startswith(".model_000003"):
            write_bytes(self, bytes(data)[:1000])  # a partial file, as a full disk leaves
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_at_third_checkpoint)
    assert main([*TRAIN, "--max-iterations", "10", "--run-dir", str(run)]) == 3
    line = error_line(capsys)
    assert "the checkpoint of iteration 3 was not saved" in line and "the disk is full" in line, line
    assert line.endswith(f"the last good checkpoint is {run / 'checkpoints' / 'model_000002.pt'}"), line
    assert_run_intact(run, run / "checkpoints" / "model_000002.pt")
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "--max-iterations", "4", "--eval-episodes", "1"]) == 0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["iteration"] for row in rows] == [1, 2, 3, 4], "the resume goes on from the last good checkpoint"


@pytest.fixture
def trained_looking_run(tmp_path) -> Path:
    """A run folder with a spec and a checkpoint file (never loaded: the refusals come first)."""
    run = tmp_path / "source" / "run"
    (run / "checkpoints").mkdir(parents=True)
    spec = CARTPOLE_SPEC.read_text().replace('"../assets/usd/cartpole.usda"', f'"{REPO / "assets/usd/cartpole.usda"}"')
    (run / "spec.toml").write_text(spec)
    (run / "checkpoints" / "model_000001.pt").write_bytes(b"never loaded")
    return run


def no_env_built(monkeypatch) -> None:
    from isaac.rl.workbench.envs import workbench_env

    def refuse(*args, **kwargs):
        raise AssertionError("an env was built before the unwritable folder was reported")

    monkeypatch.setattr(workbench_env.WorkbenchEnv, "__init__", refuse)


def test_a_recording_or_export_into_a_read_only_folder_is_refused_before_the_rollout(
    tmp_path, capsys, monkeypatch, trained_looking_run
):
    no_env_built(monkeypatch)
    run = trained_looking_run
    with tmpfs(tmp_path / "ro", 1024) as read_only:
        remount(read_only, "ro")
        assert main(["play", str(run), "--record", str(read_only / "out.usda")]) == 2
        assert error_line(capsys).startswith(f"error: {read_only / 'out.usda'}: cannot write (the file system is")
    with tmpfs(tmp_path / "disk", 4096) as disk:  # the run folder itself on a read-only disk
        run = disk / "run"
        (run / "checkpoints").mkdir(parents=True)
        for name in ("spec.toml", "checkpoints/model_000001.pt"):
            (run / name).write_bytes((trained_looking_run / name).read_bytes())
        remount(disk, "ro")
        assert main(["export", str(run)]) == 2
        assert error_line(capsys).startswith(f"error: {run / 'export'}: cannot write (the file system is read-only")


def _freeze_clock(monkeypatch, moment: datetime.datetime) -> None:
    """Run folders are named as if every run started at ``moment``."""
    import isaac.rl.workbench.run_writer as run_writer

    class FrozenClock:
        @staticmethod
        def now():
            return moment

    monkeypatch.setattr(run_writer, "datetime", FrozenClock)


def test_two_runs_started_in_one_second_get_two_folders(tmp_path, monkeypatch, capsys):
    """The default folder is named to the second; a second run in that second (a panel's Train pressed again, two
    scripted runs) gets the same name with _2, a third _3, instead of being refused as a folder that holds a run."""
    _freeze_clock(monkeypatch, datetime.datetime(2026, 12, 7, 23, 10, 0))
    monkeypatch.chdir(tmp_path)
    for _ in range(3):
        assert main([*TRAIN, "--max-iterations", "1"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("run folder: ")]
    assert lines == [
        f"run folder: {Path('runs/cartpole') / name}"
        for name in ("2026-12-07_23-10-00", "2026-12-07_23-10-00_2", "2026-12-07_23-10-00_3")
    ]
    for name in ("2026-12-07_23-10-00", "2026-12-07_23-10-00_2", "2026-12-07_23-10-00_3"):
        assert (tmp_path / "runs/cartpole" / name / "checkpoints/model_000001.pt").is_file()


def test_two_sweeps_started_in_one_second_get_two_folders(tmp_path, monkeypatch):
    """A sweep's default folder (the CLI's and the panel's) is runs/<task>/sweep_<time>, with _2 for a second sweep
    started in that second instead of the first one's folder (whose optuna.db it would have taken over)."""
    import argparse

    from isaac.rl.workbench.frontends.cli_sweep import _sweep_folder

    _freeze_clock(monkeypatch, datetime.datetime(2026, 12, 8, 1, 50, 0))
    monkeypatch.chdir(tmp_path)
    args = argparse.Namespace(out=None, resume=False)
    first = _sweep_folder(args, "cartpole")
    assert first == Path("runs/cartpole/sweep_2026-12-08_01-50-00")
    first.mkdir(parents=True)
    assert _sweep_folder(args, "cartpole") == Path("runs/cartpole/sweep_2026-12-08_01-50-00_2")
