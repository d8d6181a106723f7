"""Command line: ``inspect`` output, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest
from isaac.rl.workbench.frontends.cli import main

from ..conftest import REPO


def test_inspect_lists_joints_drives_and_bodies(capsys):
    assert main(["inspect", str(REPO / "assets/usd/cartpole.usda")]) == 0
    out = capsys.readouterr().out
    for fragment in (
        "/cartpole",
        "fixed base",
        "slider",
        "prismatic",
        "hinge",
        "revolute",
        "max force 100",
        "/cartpole/pole",
    ):
        assert fragment in out, fragment


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        (b"\x00\x01garbage", "not a USD file"),
        ('#usda 1.0\ndef Xform "a" {}\n', "no articulation"),
    ],
)
def test_inspect_errors_are_one_line_exit_2(tmp_path, content, problem):
    path = tmp_path / "scene.usda"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "isaac.rl.workbench.frontends.cli", "inspect", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and problem in lines[0], result.stderr


def test_train_with_bad_spec_exits_2(write_spec, capsys):
    path = write_spec({"num_envs = 64": "num_envs = -3"})
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "env.num_envs" in err


def test_play_on_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["play", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
