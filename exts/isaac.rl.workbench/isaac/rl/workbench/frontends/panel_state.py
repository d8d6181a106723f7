"""What a panel shows: the run (:class:`RunState`), the poses of a 3D view (:class:`PoseFrames`) and what the
watched envs' cameras see (:class:`CameraPictures`), as plain data that the panel model fills and the renderers read;
and what the panel's pickers and counters show of the model (:func:`spec_choice`, :func:`scene_choice`,
:func:`run_choice`, :func:`planned_iterations`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..scene.terrain_mesh import TerrainMesh
from ..specs.schema import SpecError
from ..specs.task_files import list_tasks

PLOTTED = ("mean_reward", "mean_episode_length", "env_steps_per_s", "unstable_envs")  # and every reward/<term>


@dataclass
class RunState:
    """What the panel shows of the current run."""

    status: str = "idle"
    """idle | building | training | stopping | finished | failed | playing | recording | evaluating | exporting."""
    run_dir: Path | None = None
    iteration: int = 0
    max_iterations: int = 0
    env_steps_per_s: float = 0.0
    rank_env_steps_per_s: list[float] = field(default_factory=list)
    """A distributed run's env-steps/s of each rank, in rank order (``metrics.jsonl``'s ``rank_env_steps_per_s``);
    empty for one process."""
    time_left_s: float | None = None
    """Estimated wall time to ``max_iterations`` [s], from this session's mean seconds per iteration."""
    first_iteration_s: float | None = None
    """Wall time from pressing Train (or Resume, Fork) to the end of the first iteration [s]."""
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    """Plot series: metric name -> (iteration, value) points, for return, episode length and each reward term."""
    checkpoints: list[Path] = field(default_factory=list)
    recordings: list[Path] = field(default_factory=list)
    play: dict = field(default_factory=dict)
    """While playing: ``steps``, ``episodes`` ended and ``mean_return`` of the ended episodes."""
    evaluation: dict | None = None
    """The last :meth:`~..workbench.Workbench.evaluate` result."""
    export: dict | None = None
    """The last export's parity report."""
    cameras: CameraPictures | None = None
    """What the watched envs' cameras saw last, while training or playing a task with cameras; None: nothing."""


@dataclass
class PoseFrames:
    """Body poses for a 3D view: ``poses`` (T, K, B, 7) env-relative x, y, z [m], qx, qy, qz, qw of K envs' B bodies
    over T frames ``dt`` seconds apart; ``source`` is "training", "play" or "recording"."""

    poses: np.ndarray
    dt: float
    body_paths: list[str]
    source: str
    scene: Path | None = None
    """The scene the poses belong to when it is not the open spec's (a recording's)."""
    root: str | None = None
    """That scene's articulation root."""
    offsets: np.ndarray | None = None
    """(K, 3) [m] where each env stands in the view; None: side by side along +Y at the spec's spacing (at most 4 m)."""
    origins: np.ndarray | None = None
    """On a terrain: (T, K, 3) [m] each env's origin in the world at each frame (a terrain curriculum moves them);
    the view draws the envs there, on the terrain. None: the envs stand at ``offsets``."""
    terrain: TerrainMesh | None = None
    """The terrain the envs stand on, in the world frame of ``origins``; None: the flat ground."""


@dataclass
class CameraPictures:
    """The camera images of the K watched envs at one moment, as pictures: ``pictures`` caption -> (K, H, W, 3)
    uint8, one per camera and data type (depth in grey, white at the camera's near; segmentation in colours:
    :mod:`..scene.camera_pictures`); ``source`` is "training" or "play"."""

    pictures: dict[str, np.ndarray]
    source: str


def spec_choice(model: Any) -> str | None:
    """The spec picker's entry for the spec ``model`` (a :class:`~.panel.PanelModel`) has open: the task's name when
    the open file is a known task's, else the file's path as :meth:`~.panel.PanelModel.spec_files` lists it (or as
    it is); None when no spec is open."""
    if model.spec_file is None:
        return None
    opened = Path(model.spec_file).resolve()
    for name, file in list_tasks().items():
        if Path(file).resolve() == opened:
            return name
    return _listed(opened, model.spec_files())


def scene_choice(model: Any) -> str | None:
    """The scene picker's entry for the open spec's scene, as :meth:`~.panel.PanelModel.scene_files` lists it (or
    its path); None when no spec is open."""
    if model.spec_file is None or model.scene_path is None:
        return None
    return _listed(Path(model.scene_path).resolve(), [str(p) for p in model.scene_files()])


def run_choice(model: Any, listed: Iterable[str]) -> str | None:
    """The run picker's entry for the run on show (training, finished or opened): its folder as ``listed`` holds it
    (or its path); None when no run is on show."""
    if model.run.run_dir is None:
        return None
    return _listed(Path(model.run.run_dir).resolve(), list(listed))


def planned_iterations(model: Any) -> int:
    """The iterations the progress counter counts to: the run's own ``max_iterations`` once a run is on show, else
    the open spec's ``ppo.max_iterations`` (0 without a spec)."""
    if model.run.run_dir is not None or model.run.max_iterations:
        return int(model.run.max_iterations)
    try:
        return int(model.spec().ppo.get("max_iterations", 0))
    except SpecError:  # no spec open
        return 0


def _listed(path: Path, entries: list[str]) -> str:
    """The entry of ``entries`` that names ``path`` (compared resolved), else ``str(path)``."""
    for entry in entries:
        if Path(entry).resolve() == path:
            return entry
    return str(path)
