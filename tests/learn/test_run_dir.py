"""RunDir after a kill: a partial last line of metrics.jsonl is skipped (a corrupt line elsewhere names the file and
the line), orphan temporary files of interrupted atomic writes go when the run is opened, a live save is left alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from isaac.rl.workbench.learn.run_dir import RunDir, RunError

ROWS = [{"iteration": i, "mean_reward": 0.1 * i, "train_seconds": 0.5 * i} for i in range(1, 6)]


def run_folder(tmp_path: Path, tail: str = "") -> RunDir:
    """A run folder with spec.toml and metrics.jsonl holding ROWS, then ``tail`` (what a kill left)."""
    tmp_path.joinpath("spec.toml").write_text('name = "x"\n')
    text = "".join(json.dumps(row) + "\n" for row in ROWS) + tail
    tmp_path.joinpath("metrics.jsonl").write_text(text)
    return RunDir.open(tmp_path)


def cut(row: dict) -> str:
    """The first half of a metrics line: what a kill in the middle of RunDir.log leaves."""
    line = json.dumps(row)
    return line[: len(line) // 2]


def test_partial_last_line_is_skipped(tmp_path):
    run = run_folder(tmp_path, tail=cut({"iteration": 6, "mean_reward": 0.6}))
    assert run.read_metrics() == ROWS


def test_truncate_drops_the_partial_line_and_logging_goes_on(tmp_path):
    run = run_folder(tmp_path, tail=cut({"iteration": 6, "mean_reward": 0.6}))
    run.truncate_metrics(4)  # resuming from the checkpoint of iteration 4
    assert run.read_metrics() == ROWS[:4]
    run.log({"iteration": 5, "mean_reward": 1.0})
    run.close()
    assert [row["iteration"] for row in run.read_metrics()] == [1, 2, 3, 4, 5]
    assert all(json.loads(line) for line in run.metrics_file.read_text().splitlines())


@pytest.mark.parametrize("where", [1, 3])
def test_corrupt_line_in_the_middle_names_file_and_line(tmp_path, where):
    run = run_folder(tmp_path)
    lines = run.metrics_file.read_text().splitlines()
    lines[where - 1] = cut(ROWS[where - 1])
    run.metrics_file.write_text("\n".join(lines) + "\n")
    with pytest.raises(RunError) as info:
        run.read_metrics()
    assert str(info.value).startswith(f"{run.metrics_file}: line {where} ")
    with pytest.raises(RunError):
        run.truncate_metrics(5)
    assert run.metrics_file.read_text().splitlines() == lines, "a failed truncate leaves the file as it was"


def test_line_without_iteration_is_an_error(tmp_path):
    run = run_folder(tmp_path, tail='{"mean_reward": 1.0}\n' + json.dumps({"iteration": 6}) + "\n")
    with pytest.raises(RunError, match=f"line {len(ROWS) + 1} "):
        run.read_metrics()


def killed_save(path: Path) -> None:
    """Run write_atomically in a child process that dies in the middle of writing ``path`` (as a kill would)."""
    code = (
        "import os, sys; from pathlib import Path\n"
        "from isaac.rl.workbench.utils.atomic import write_atomically\n"
        "def write(tmp):\n"
        "    tmp.write_bytes(b'PK' + bytes(1000))\n"
        "    os._exit(9)\n"
        "write_atomically(Path(sys.argv[1]), write)\n"
    )
    assert subprocess.run([sys.executable, "-c", code, str(path)], check=False).returncode == 9


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_orphans_of_killed_saves_go_when_the_run_is_opened(tmp_path):
    run = run_folder(tmp_path)
    checkpoint = run.checkpoint_path(5)
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"a whole checkpoint")
    killed_save(run.checkpoint_path(10))
    killed_save(run.metrics_file)
    orphans = [*run.checkpoints_dir.glob(".model_*.pt"), *tmp_path.glob(".metrics.*.jsonl")]
    assert len(orphans) == 2, "test setup: the killed saves left their temporary files"
    for orphan in orphans:
        age(orphan, 3600)

    RunDir.open(tmp_path)
    assert not any(orphan.exists() for orphan in orphans)
    assert checkpoint.read_bytes() == b"a whole checkpoint" and run.read_metrics() == ROWS
    assert run.latest_checkpoint() == checkpoint


def test_a_save_in_progress_is_left_alone(tmp_path):
    """Opening a run (play) while another process trains in it must not delete the checkpoint being written."""
    run = run_folder(tmp_path)
    killed_save(run.checkpoint_path(10))
    (writing,) = run.checkpoints_dir.glob(".model_*.pt")  # just modified: a save still going on
    RunDir.open(tmp_path)
    assert writing.exists()
