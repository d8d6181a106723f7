"""The panel model's jobs: what its worker thread runs (train, resume, fork, play, record, evaluate, export) and the
two loads done on the caller's thread (open a run folder, open a recording).

A job is handed the model as a :class:`JobHost` (the :class:`~.panel.PanelModel` is one): it reads the settings,
changes the run, the view and the chosen checkpoint inside :meth:`JobHost.changing` (which tells the listeners),
logs with :meth:`JobHost.say`, and ends when :meth:`JobHost.stop_requested`. Only the worker thread builds and steps
a Workbench, so every torch and CUDA call happens on that thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..learn.run_dir import RunDir, RunError
from ..learn.run_index import read_info, read_spec_table
from ..live_edits import LiveEditRefused
from ..scene.camera_pictures import env_pictures
from ..scene.read_recording import read_recording
from ..scene.terrain_mesh import display_terrain
from ..specs.schema import TaskSpec
from ..workbench import Workbench
from .panel_state import PLOTTED, CameraPictures, PoseFrames, RunState

PLAY_EPISODE_WINDOW = 32  # play's mean return is over the last this many ended episodes
FAILING_STATUSES = ("building", "training", "stopping")  # a job that fails in these leaves the run "failed"
CAMERA_PERIOD_S = 0.25  # the watched envs' camera pictures are read at most this often [s]


class JobHost(Protocol):
    """What a job reads and changes of the panel model."""

    device: str
    """Where the Workbench runs: "cpu" or "cuda[:i]"."""
    runs_dir: Path
    view_envs: int
    """K, the envs a 3D view shows."""
    run: RunState
    view: PoseFrames | None
    policy_checkpoint: Path | None
    """The checkpoint play, record, evaluate and export use; None: the run's latest."""

    def changing(self, *what: str) -> AbstractContextManager[None]:
        """Hold the model's lock while the block changes it, then tell the listeners ``what`` changed."""
        ...

    def say(self, message: str) -> None:
        """Add a line to the message log."""
        ...

    def stop_requested(self) -> bool:
        """Whether the user asked the job to stop."""
        ...

    def take_live_edits(self) -> list[tuple[str, Any]]:
        """The live edits (key, value) made while training since the last call, oldest first."""
        ...


def reporting_failure(model: JobHost, job: Callable[[], None]) -> None:
    """Run ``job``; an exception it raises becomes an error line in the message log, and the run's status "failed"
    when the job was building or training (else the status it had before), so that the worker lives on."""
    status_before = model.run.status
    try:
        job()
    except Exception as exc:  # every failure reaches the message log
        model.say(f"error: {exc}")
        with model.changing("run"):
            model.run.status = "failed" if model.run.status in FAILING_STATUSES else status_before


def train(model: JobHost, spec: TaskSpec | None = None, resume: Path | None = None, fork: Path | None = None):
    """Train a new run of ``spec`` (from checkpoint ``fork`` when given) or go on with run folder ``resume``,
    until done or :meth:`~.panel.PanelModel.stop`."""
    started = time.perf_counter()
    # a folder that is not a run (or a taken run folder) fails here, before the run on show is replaced
    if resume is not None:
        wb = Workbench.open(resume, device=model.device)
    else:
        wb = Workbench.new(spec, device=model.device, runs_dir=model.runs_dir)
    with model.changing("run"):
        model.run = RunState(status="building")
        model.policy_checkpoint = None  # a checkpoint chosen in the previous run is not this run's
        if resume is not None:
            model.run.series = _series(wb.run.read_metrics(), PLOTTED)

    def on_event(event: str, data: dict) -> None:
        if event == "iteration":
            cameras.show("training")
            with model.changing("progress"):
                run, it = model.run, data["iteration"]
                if run.first_iteration_s is None:
                    run.first_iteration_s = time.perf_counter() - started
                run.iteration, run.env_steps_per_s = it, data["env_steps_per_s"]
                done_here = it - wb.start_iteration
                per_iteration = (time.perf_counter() - first_started) / max(done_here, 1)
                run.time_left_s = per_iteration * max(wb.max_iterations - it, 0)
                for key, value in data.items():
                    if key in PLOTTED or key.startswith("reward/"):
                        run.series.setdefault(key, []).append((it, float(value)))
        elif event == "poses":
            show(model, data["poses"], data["dt"], wb.body_paths, "training", **on_terrain(wb.spec, data["origins"]))
        elif event == "checkpoint":
            with model.changing("run"):
                if Path(data["path"]) not in model.run.checkpoints:  # finish() saves the last one again
                    model.run.checkpoints.append(Path(data["path"]))
        elif event == "warning":
            model.say(f"warning: {data['message']}")

    wb.add_listener(on_event)
    wb.build(resume=resume is not None, checkpoint=fork)
    for notice in (wb.eval_notice, wb.compile_notice):
        if notice:
            model.say(notice)
    if fork is not None:
        wb.run.log_edit(wb.iteration, "forked_from", str(fork))
        model.say(f"forked {fork} into {wb.run_dir} at iteration {wb.iteration}")
    wb.watch_poses(model.view_envs)
    cameras = CameraWatch(model, wb)
    first_started = time.perf_counter()
    with model.changing("run"):
        model.run.run_dir, model.run.max_iterations = wb.run_dir, wb.max_iterations
        model.run.iteration, model.run.status = wb.iteration, "training"
        model.run.checkpoints = _checkpoints(wb.run)
    try:
        while not wb.done and not model.stop_requested():
            for key, value in model.take_live_edits():
                try:
                    model.say(wb.edit_live(key, value))
                except LiveEditRefused as exc:
                    model.say(f"error: {exc}")
            wb.train_step()
    finally:
        wb.finish()
        wb.remove_listener(on_event)  # on_event refers to wb: leave no cycle for the garbage collector
    if wb.stopped:
        model.say(f"stopped early: {wb.stopped}")
    with model.changing("run"):
        model.run.status = "failed" if wb.state == "failed" else "finished"
        model.run.time_left_s = None
    if wb.state != "failed":
        model.say(_end_of_training(wb.iteration, wb.max_iterations, model.run.checkpoints))


def play(model: JobHost) -> None:
    """Step the latest policy of the current run in ``view_envs`` envs at real-time speed until stopped."""
    run_dir = model.run.run_dir
    _status(model, "playing")
    wb = Workbench.for_play(run_dir, model.view_envs, device=model.device, checkpoint=model.policy_checkpoint)
    cameras = CameraWatch(model, wb)
    dt = wb.spec.env.step_dt
    returns = np.zeros(wb.env.num_envs)
    ended: list[float] = []
    steps = 0
    next_frame = time.perf_counter()
    while not model.stop_requested():
        out = wb.play_step()
        returns += out["rewards"].numpy()
        done = out["dones"].numpy() > 0
        ended = (ended + returns[done].tolist())[-PLAY_EPISODE_WINDOW:]
        returns[done] = 0.0
        steps += 1
        with model.changing():  # shown with the poses below
            model.run.play = {
                "steps": steps,
                "episodes": len(ended),
                "mean_return": float(np.mean(ended)) if ended else None,
            }
        show(model, out["poses"].numpy()[None], dt, wb.body_paths, "play", **on_terrain(wb.spec, out["origins"][None]))
        cameras.show("play")
        next_frame += dt
        time.sleep(max(0.0, next_frame - time.perf_counter()))
    played = model.run.play
    with model.changing("run"):
        model.run.play, model.run.status = {}, "finished"  # the policy line no longer says "playing"
    if played:
        mean = played["mean_return"]
        model.say(
            f"played {played['steps']} steps: {played['episodes']} episodes ended, mean return "
            f"{'-' if mean is None else f'{mean:.3g}'}"
        )


def record(model: JobHost, episodes: int) -> None:
    """Record ``view_envs`` envs playing the latest policy into ``<run>/recordings/<time>.usda``, then show it."""
    run_dir = model.run.run_dir
    _status(model, "recording")
    wb = Workbench.for_play(
        run_dir, max(episodes, model.view_envs), device=model.device, checkpoint=model.policy_checkpoint
    )
    target = run_dir / "recordings" / f"{datetime.now().strftime('%Y-%m-%d_%H-%M-%S')}.usda"
    result = wb.evaluate(num_episodes=episodes, record=target, record_envs=model.view_envs)
    with model.changing():  # shown when the status changes
        model.run.recordings.append(Path(result["recording"]))
    frames = f"; camera frames in {result['frames']}" if "frames" in result else ""
    model.say(f"recorded {result['recording']} (mean return {result['mean_return']:.3g}){frames}")
    open_recording(model, Path(result["recording"]))
    _status(model, "finished")


def evaluate(model: JobHost, episodes: int) -> None:
    """Evaluate the latest policy of the current run over ``episodes`` deterministic episodes."""
    _status(model, "evaluating")
    wb = Workbench.for_play(model.run.run_dir, episodes, device=model.device, checkpoint=model.policy_checkpoint)
    result = wb.evaluate(num_episodes=episodes)
    with model.changing():  # shown when the status changes
        model.run.evaluation = {k: v for k, v in result.items() if k != "observations"}
    _status(model, "finished")


def export(model: JobHost) -> None:
    """Export the latest policy of the current run and keep its parity report."""
    _status(model, "exporting")
    report = Workbench.for_export(model.run.run_dir, device=model.device, checkpoint=model.policy_checkpoint).export()
    with model.changing():  # shown when the status changes
        model.run.export = report
    out = model.run.run_dir / "export"
    model.say(
        f"exported {out}/policy.onnx and policy.pt: largest action difference to the training policy "
        f"{_parity(report)} on {report['num_observations']} observations"
    )
    _status(model, "finished")


def open_run(model: JobHost, run_dir: Path) -> bool:
    """Make ``run_dir`` the current run: its curves, checkpoints and recordings (caller's thread, idle worker);
    False and a message when it is not a run folder."""
    try:
        run = RunDir.open(run_dir)
        rows = run.read_metrics()
    except RunError as exc:
        model.say(f"error: {exc}")
        return False
    state = RunState(status="finished", run_dir=run.path, series=_series(rows, PLOTTED))
    trained = [row for row in rows if "edit" not in row]
    state.iteration = max((row["iteration"] for row in trained), default=0)
    if trained:  # the speed of its last iteration; a distributed run's also rank by rank
        state.env_steps_per_s, state.rank_env_steps_per_s = _speeds(trained[-1])
    state.max_iterations = _planned(run)
    state.checkpoints = _checkpoints(run)
    state.recordings = sorted((run.path / "recordings").glob("*.usd*"))
    with model.changing("run", "progress"):
        model.run, model.policy_checkpoint = state, None
    return True


def open_recording(model: JobHost, file: Path) -> bool:
    """Load a recording into the model's view (source "recording"); False and a message when it is not one."""
    try:
        rec = read_recording(file)
    except ValueError as exc:
        model.say(f"error: {exc}")
        return False
    poses = rec.poses.copy()
    poses[..., :3] -= rec.env_origins[None, :, None, :]
    show(
        model,
        poses,
        1.0 / rec.fps,
        rec.body_paths,
        "recording",
        scene=rec.scene,
        root=rec.articulation_root,
        offsets=rec.env_origins,
        terrain=rec.terrain,
    )
    return True


class CameraWatch:
    """The camera pictures of the first ``view_envs`` envs of a built Workbench, handed to the panel as
    ``run.cameras`` (:class:`CameraPictures`, "cameras" changed) at most every :data:`CAMERA_PERIOD_S`: between env
    steps, on the worker thread; the images the last step rendered are read (a camera no term observes is rendered
    then), made into pictures on the device and copied to the host once. A task without cameras shows none."""

    def __init__(self, model: JobHost, wb: Workbench):
        self._model, self._wb = model, wb
        self._ranges = {name: (camera.near, camera.far) for name, camera in wb.spec.sensors.items()}
        self._due = 0.0  # perf_counter time of the next read

    def show(self, source: str) -> None:
        """Read and show the pictures if :data:`CAMERA_PERIOD_S` has passed since the last; ``source``: "training"
        or "play"."""
        if not self._ranges or time.perf_counter() < self._due:
            return
        self._due = time.perf_counter() + CAMERA_PERIOD_S
        images = {name: self._wb.env.camera(name) for name in self._ranges}
        pictures = env_pictures(images, self._ranges, self._model.view_envs)
        with self._model.changing("cameras"):
            self._model.run.cameras = CameraPictures(pictures, source)


def show(model: JobHost, poses: np.ndarray, dt: float, body_paths: list[str], source: str, **where) -> None:
    """Hand (T, K, B, 7) body poses to the 3D views."""
    with model.changing("poses"):
        model.view = PoseFrames(np.asarray(poses, dtype=np.float32), float(dt), list(body_paths), source, **where)


def on_terrain(spec: TaskSpec, origins: Any) -> dict:
    """:class:`PoseFrames`' ``origins`` (T, K, 3) [m] and ``terrain`` of a run of ``spec`` on a terrain; {} without
    one (the envs stand side by side in the view)."""
    if spec.terrain is None:
        return {}
    return {"origins": np.asarray(origins, dtype=np.float32), "terrain": display_terrain(spec.terrain)}


def _status(model: JobHost, status: str) -> None:
    with model.changing("run"):
        model.run.status = status


def _speeds(row: dict) -> tuple[float, list[float]]:
    """A ``metrics.jsonl`` row's ``env_steps_per_s`` and ``rank_env_steps_per_s`` (a distributed run's rates of each
    rank; [] for one process); 0.0 and [] for what is missing or not numbers."""

    def number(value) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    total = row.get("env_steps_per_s")
    ranks = row.get("rank_env_steps_per_s")
    ranks = [float(rate) for rate in ranks] if isinstance(ranks, list) and all(map(number, ranks)) else []
    return (float(total) if number(total) else 0.0), ranks


def _series(rows: list[dict], plotted: tuple[str, ...]) -> dict[str, list[tuple[int, float]]]:
    series: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        if "edit" in row:
            continue
        for key, value in row.items():
            if (key in plotted or key.startswith("reward/")) and isinstance(value, int | float):
                series.setdefault(key, []).append((int(row["iteration"]), float(value)))
    return series


def _end_of_training(iteration: int, planned: int, checkpoints: list[Path]) -> str:
    """The message a training job ends with: where it stopped and the checkpoint it saved."""
    head = f"stopped at iteration {iteration} of {planned}"
    if iteration >= planned:
        head = f"finished {iteration} iterations"
    saved = f"checkpoint saved: {checkpoints[-1]}" if checkpoints else "no checkpoint saved (no iteration done)"
    return f"{head}; {saved}"


def _planned(run: RunDir) -> int:
    """A run folder's planned iterations: ``run.json``'s ``max_iterations`` (a resume may change it), else its
    spec's ``ppo.max_iterations``; 0 when neither says."""
    try:
        planned = read_info(run).get("max_iterations") or read_spec_table(run).get("ppo", {}).get("max_iterations")
    except RunError:
        return 0
    return int(planned) if isinstance(planned, int | float) else 0


def _checkpoints(run: RunDir) -> list[Path]:
    return sorted(run.path.glob("checkpoints/model_*.pt"), key=lambda p: int(p.stem.split("_")[-1]))


def _parity(report: dict) -> str:
    diffs = [f"{k.removeprefix('max_abs_diff_')} {v:.2g}" for k, v in report.items() if k.startswith("max_abs_diff")]
    return ", ".join(diffs) or "n/a"
