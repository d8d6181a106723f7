"""What a panel shows: the run (:class:`RunState`) and the poses of a 3D view (:class:`PoseFrames`), as plain data
that the panel model fills and the renderers read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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
