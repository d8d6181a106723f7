"""What a newcomer met at the command line, each checked here without training: ``play --record`` onto an existing
file, ``export --deploy`` of a task that cannot deploy (refused before any env is built, pointing to the table of
tasks that deploy), the few envs an export builds, with a line before and after its long steps, and what Ctrl-C on
``serve`` says when nothing runs."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from isaac.rl.workbench import workbench
from isaac.rl.workbench.deploy_manifest import DEPLOY_DOC, DeployError, check_deployable
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.frontends.ctrl_c import serve_stopping_line, serve_until_stopped, wait_for_a_stop_signal
from isaac.rl.workbench.specs.loader import load_spec, save_spec
from isaac.rl.workbench.specs.task_files import list_tasks

from ..conftest import REPO


class EnvBuilt(Exception):
    """Raised in place of building an env: the command got past its checks."""


@pytest.fixture
def no_env_built(monkeypatch) -> list[int]:
    """A Workbench's build raises :class:`EnvBuilt`; the list gets the env count each build asked for."""
    asked: list[int] = []

    def refuse(self, *args, **kwargs):
        asked.append(self.spec.env.num_envs)
        raise EnvBuilt

    monkeypatch.setattr(workbench.Workbench, "build", refuse)
    return asked


def _run_folder(tmp_path: Path, task: str) -> Path:
    """A run folder of ``task`` with its resolved spec and a checkpoint file (never loaded)."""
    run = tmp_path / task / "run"
    (run / "checkpoints").mkdir(parents=True)
    save_spec(load_spec(task), run / "spec.toml")
    (run / "checkpoints" / "model_000001.pt").write_bytes(b"never loaded")
    return run


def _error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_play_record_onto_an_existing_file_is_refused_unless_overwrite(tmp_path, capsys, no_env_built):
    run = _run_folder(tmp_path, "cartpole")
    out = tmp_path / "rollout.usda"
    out.write_text("#usda 1.0\n# an earlier recording\n")
    assert main(["play", str(run), "--record", str(out)]) == 2
    assert _error_line(capsys) == f"error: {out} exists; --overwrite replaces it, or --record another file"
    assert out.read_text() == "#usda 1.0\n# an earlier recording\n" and no_env_built == []
    with pytest.raises(EnvBuilt):  # past the check: the rollout would write it
        main(["play", str(run), "--record", str(out), "--overwrite"])


def test_export_deploy_of_a_task_that_cannot_deploy_is_refused_before_any_env_is_built(tmp_path, capsys, no_env_built):
    run = _run_folder(tmp_path, "point_nav")
    assert main(["export", str(run), "--deploy"]) == 2
    line = _error_line(capsys)
    assert "'range_scan' (observations.policy.terms[2])" in line and line.endswith(
        f"{DEPLOY_DOC} lists the shipped tasks that deploy"
    )
    assert no_env_built == [] and not (run / "export").exists()
    assert "building" not in capsys.readouterr().out


def test_export_builds_few_envs_and_says_so_before_the_build(tmp_path, capsys, no_env_built):
    run = _run_folder(tmp_path, "reach_panda")  # trained with 16 envs (the task's); GPU runs with thousands
    with pytest.raises(EnvBuilt):
        main(["export", str(run), "--deploy"])
    assert no_env_built == [workbench.EXPORT_ENVS] and workbench.EXPORT_ENVS <= 8
    assert capsys.readouterr().out == "building 8 envs of panda.usda on cpu ...\n"


def test_the_deploy_doc_lists_every_shipped_task_with_the_verdict_export_gives():
    doc, anchor = DEPLOY_DOC.split("#")
    text = (REPO / doc).read_text()
    assert f"### {anchor.replace('-', ' ').capitalize()}\n" in text  # the anchor the error message names
    rows = [line.split("|") for line in text.split(f"### {anchor.replace('-', ' ').capitalize()}")[1].splitlines()]
    table = {cells[1].strip().strip("`"): cells[2].strip() for cells in rows if len(cells) > 3}
    verdicts = {}
    for task in list_tasks():
        try:
            check_deployable(load_spec(task))
            verdicts[task] = "yes"
        except DeployError:
            verdicts[task] = "no"
    assert {task: table.get(task) for task in verdicts} == verdicts


class FakeModel:
    """The panel model as ``serve`` stops it: ``run.status`` read, the calls recorded."""

    def __init__(self, status: str):
        self.run = SimpleNamespace(status=status)
        self.calls: list[str] = []

    def stop(self):
        self.calls.append("stop")

    def wait(self, timeout):
        self.calls.append("wait")

    def close(self):
        self.calls.append("close")


def _stop_serve(status: str, capsys) -> tuple[str, list[str]]:
    model = FakeModel(status)
    calls = model.calls
    app = SimpleNamespace(model=model, close=lambda: calls.append("app"), server=SimpleNamespace(stop=lambda: None))
    serve_until_stopped(app, ["Isaac RL Workbench panel: http://127.0.0.1:8080/"], wait=lambda: None)
    return capsys.readouterr().out, calls


def test_ctrl_c_on_serve_speaks_of_a_checkpoint_only_while_a_run_trains(capsys):
    from isaac.rl.workbench.frontends.panel import PanelModel

    model = PanelModel()
    try:
        idle = model.run.status  # what a panel that was just opened holds
    finally:
        model.close()
    out, calls = _stop_serve(idle, capsys)
    assert out.splitlines()[-1] == "stopping (nothing was running)" and "checkpoint" not in out
    assert calls == ["stop", "wait", "close", "app"]
    for status in ("finished", "failed"):
        assert "checkpoint" not in _stop_serve(status, capsys)[0]
    for status in ("building", "training", "stopping"):
        line = _stop_serve(status, capsys)[0].splitlines()[-1]
        assert line.startswith("stopping: the run in flight") and "saves a checkpoint" in line
    assert serve_stopping_line("exporting") == "stopping: the export in flight ends first"


def test_serve_waits_for_ctrl_c_or_sigterm():
    for sig in (signal.SIGINT, signal.SIGTERM):
        threading.Timer(0.2, os.kill, (os.getpid(), sig)).start()
        wait_for_a_stop_signal()  # returns instead of the default handler ending pytest
