"""The transfer test: trained runs' deployment bundles driven by the robot runtime against a stand-in reality
(:mod:`.reality`) and against their own training spec, scored the same way, one row per run.

For each run the bundle (``RUN_DIR/export/deploy.json``) is exported when missing. Each episode is a fresh simulated
robot started from the task's initial-state distribution (seed ``reality.seed + i``), with no resets, driven by
:class:`~..deploy.runtime.Runtime` (safety layer included) for ``seconds``; the "sim" column runs the run's own spec
without its randomisation (nominal) and with the smallest action delay it trains with (``actions.delay_steps[0]``),
the "reality" column the reality's robot, from the same seeds and commands.

Score (the reality task's terms, evaluated on either robot after every control step):

- ``metric``: the task's first ``[metrics]`` term over the whole run (``reduce = "mean"``: its mean over the steps,
  ``"final"``: its last value); without ``[metrics]``, the return (the reward terms, weighted, times the step
  duration, summed up to the first termination).
- ``survival``: the share of the run before the first termination term fired (a fall, the pole down), in [0, 1];
  each episode also names that term and the time it fired.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..deploy.bundle import load_bundle
from ..deploy.runtime import Runtime
from ..learn.run_dir import RunDir
from ..specs.loader import load_spec
from ..specs.schema import TaskSpec
from ..utils.atomic import write_atomically
from .reality import Reality, fixed_world_overrides, reality_driver
from .sim_driver import SimDriver

RETURN = "return"
MAX_STOP_REASONS = 5
"""Reasons for safe stops listed under the Markdown table (all of them are in transfer.json)."""
CPU_EXPORT_ENVS = 8
"""Envs of the rollout that checks an export on the CPU (:func:`ensure_bundle`)."""


class TransferError(ValueError):
    """A ``--command`` the reality's task does not have; the message lists the commands it has."""


class TaskScore:
    """Scores one run of a simulated robot with ``spec``'s metric (or return) and termination terms.

    Args:
        spec: the task whose terms score the run (the reality's task).
        env: the simulated robot's env (one env); the terms are evaluated on it.
    """

    def __init__(self, spec: TaskSpec, env):
        self.env = env
        self.metric_term = next(iter(spec.metrics.values()), None)
        self.metric = self.metric_term.name if self.metric_term else RETURN
        self._metric_params = env.resolve_params(self.metric_term.params) if self.metric_term else {}
        self._rewards = [(t, env.resolve_params(t.params)) for t in spec.rewards.values()]
        self._terminations = [(t, env.resolve_params(t.params)) for t in spec.terminations.values() if not t.time_out]
        self.steps = 0
        self.alive_steps = 0
        self.fell = False
        self.fell_by: str | None = None
        """The termination term that fired first."""
        self._sum = 0.0
        self._last = 0.0

    def update(self) -> None:
        """Score the env's current state (after one control step)."""
        env = self.env
        self.steps += 1
        if not self.fell:
            self.fell_by = next((t.name for t, p in self._terminations if bool(t.func(env, **p)[0])), None)
            self.fell = self.fell_by is not None
        if self.metric_term is not None:
            value = float(self.metric_term.func(env, **self._metric_params)[0])
            self._sum, self._last = self._sum + value, value
        elif not self.fell:
            self._sum += sum(float(t.func(env, **p)[0]) * t.weight for t, p in self._rewards) * env.step_dt
        self.alive_steps += not self.fell

    def result(self) -> dict:
        """``metric`` and ``survival`` of the run so far, and ``terminated_by`` (the first termination term, or None)
        with ``terminated_at_s`` [s]."""
        if self.metric_term is not None and self.metric_term.reduce == "final":
            value = self._last
        elif self.metric_term is not None:
            value = self._sum / max(1, self.steps)
        else:
            value = self._sum
        return {
            "metric": value,
            "survival": self.alive_steps / max(1, self.steps),
            "terminated_by": self.fell_by,
            "terminated_at_s": (self.alive_steps + 1) * self.env.step_dt if self.fell else None,
        }


@dataclass(kw_only=True)
class Side:
    """One column group of a row (sim or reality) over its episodes."""

    metric_mean: float = math.nan
    metric_std: float = math.nan
    survival: float = math.nan
    safe_stops: int = 0
    episodes: int = 0
    stop_reasons: list[str] = field(default_factory=list)
    per_episode: list[dict] = field(default_factory=list)
    """Each episode's metric, survival and first termination (``terminated_by``, ``terminated_at_s``)."""


@dataclass(kw_only=True)
class TransferRow:
    """One run: its score in sim and in the reality, or why it could not be run (``error``)."""

    run: str
    run_dir: str
    metric: str
    sim: Side = field(default_factory=Side)
    reality: Side = field(default_factory=Side)
    error: str | None = None
    commands: list[dict[str, list[float]]] = field(default_factory=list)
    """Each episode's commands (the same on both sides), in episode order."""

    @property
    def gap(self) -> float:
        """reality - sim of the metric's mean."""
        return self.reality.metric_mean - self.sim.metric_mean


def ensure_bundle(run_dir: Path, device: str = "cpu") -> Path:
    """The run's deployment bundle folder (``export/``), exported (``deploy=True``) when ``deploy.json`` is missing.

    The export's check rollout uses ``EXPORT_ENVS`` envs on a GPU and ``CPU_EXPORT_ENVS`` on the CPU, where a legged
    robot's merged physics world builds slowly past a few envs.
    """
    from ..workbench import EXPORT_ENVS, Workbench

    run = RunDir.open(Path(run_dir))
    if not (run.export_dir / "deploy.json").is_file():
        envs = CPU_EXPORT_ENVS if device == "cpu" else EXPORT_ENVS
        wb = Workbench.open(run.path, {"env.num_envs": envs}, device)
        wb.build(checkpoint=run.latest_checkpoint())
        wb.export(deploy=True)
    return run.export_dir


def _episode(
    runtime: Runtime, driver, env, score_spec: TaskSpec, seconds: float, commands: dict
) -> tuple[dict, object]:
    score = TaskScore(score_spec, env)
    report = runtime.run(driver, seconds, commands, realtime=False, on_step=lambda *_: score.update())
    driver.close()
    return score.result(), report


def _commands_of(env, given: dict[str, list[float]]) -> dict[str, np.ndarray]:
    """Each command of the env: ``given`` where named, else what the env drew (its seed's command)."""
    drawn = {name: value[0].detach().cpu().numpy().astype(np.float64) for name, value in env.commands.values.items()}
    unknown = sorted(set(given) - set(drawn))
    if unknown:
        raise TransferError(
            f"--command {unknown[0]}: the task has no such command; commands: {', '.join(drawn) or 'none'}"
        )
    return {**drawn, **{name: np.asarray(v, dtype=np.float64) for name, v in given.items()}}


def _summarise(side: Side, scores: list[dict], reports: list) -> None:
    metrics = np.array([s["metric"] for s in scores])
    side.metric_mean, side.metric_std = float(metrics.mean()), float(metrics.std())
    side.survival = float(np.mean([s["survival"] for s in scores]))
    side.safe_stops = sum(bool(r.latched) for r in reports)
    side.stop_reasons = sorted({r.latch_reason for r in reports if r.latched and r.latch_reason})
    side.episodes = len(scores)
    side.per_episode = [{**s, "metric": float(s["metric"]), "survival": float(s["survival"])} for s in scores]


def _first_termination(sim: dict, reality: dict) -> str:
    """``"; ended by <term> at <t> s in sim / reality"`` for the sides where a termination fired, else ``""``."""
    ended = [
        f"{side}: {score['terminated_by']} at {score['terminated_at_s']:.2f} s"
        for side, score in (("sim", sim), ("reality", reality))
        if score["terminated_by"]
    ]
    return f"; first termination in {', '.join(ended)}" if ended else ""


def transfer_run(
    run_dir: Path,
    reality: Reality,
    episodes: int = 4,
    seconds: float | None = None,
    commands: dict[str, list[float]] | None = None,
    device: str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> TransferRow:
    """One run's row: ``episodes`` episodes of ``seconds`` (default the reality task's episode length) in its
    nominal training world and in ``reality``, from the same seeds and commands."""
    run_dir = Path(run_dir)
    seconds = float(seconds or reality.spec.env.episode_seconds)
    metric = next(iter(reality.spec.metrics), RETURN)
    row = TransferRow(run=run_dir.name, run_dir=str(run_dir), metric=metric)
    bundle = load_bundle(ensure_bundle(run_dir, device))
    run_spec = load_spec(RunDir.open(run_dir).spec_file)
    runtime = Runtime(bundle)
    motors = list(bundle.joints["motor_order"])
    own_world, late = fixed_world_overrides(run_spec), run_spec.actions.delay_steps[0]
    results: dict[str, tuple[list, list]] = {"sim": ([], []), "reality": ([], [])}
    for i in range(episodes):
        started = time.perf_counter()
        robot = reality_driver(reality, i, device, motors)
        given = _commands_of(robot.env, commands or {})
        sim = SimDriver(run_spec, own_world, device, reality.seed + i, motors, action_latency_steps=late)
        for name, values in given.items():
            sim.set_command(name, values)
            robot.set_command(name, values)
        row.commands.append({name: [round(float(v), 4) for v in np.ravel(values)] for name, values in given.items()})
        for side, driver, env in (("sim", sim, sim.env), ("reality", robot, robot.env)):
            score, report = _episode(runtime, driver, env, reality.spec, seconds, given)
            results[side][0].append(score)
            results[side][1].append(report)
        if progress is not None:
            (s, r) = (results[k][0][-1] for k in ("sim", "reality"))
            shown = " ".join(f"{name}=({', '.join(f'{v:.2f}' for v in vs)})" for name, vs in row.commands[-1].items())
            shown = f" [{shown}]" if shown else ""
            progress(
                f"  {row.run} episode {i + 1}/{episodes}{shown}: {metric} sim {s['metric']:.4g} reality "
                f"{r['metric']:.4g}, survival {s['survival']:.2f} / {r['survival']:.2f}{_first_termination(s, r)} "
                f"({time.perf_counter() - started:.1f} s)"
            )
    _summarise(row.sim, *results["sim"])
    _summarise(row.reality, *results["reality"])
    return row


def transfer(
    run_dirs: list[Path],
    reality: Reality,
    episodes: int = 4,
    seconds: float | None = None,
    commands: dict[str, list[float]] | None = None,
    device: str = "cpu",
    progress: Callable[[str], None] | None = None,
    errors: tuple[type[Exception], ...] = (),
) -> list[TransferRow]:
    """One :class:`TransferRow` per run; a run that raises one of ``errors`` (it cannot be exported for a robot, its
    robot differs from the reality's) gets a row with ``error`` set, and the others still run."""
    rows = []
    for run_dir in run_dirs:
        if progress is not None:
            progress(
                f"{Path(run_dir).name}: {episodes} episode(s) of {seconds or reality.spec.env.episode_seconds:g} s"
            )
        try:
            rows.append(transfer_run(run_dir, reality, episodes, seconds, commands, device, progress))
        except errors as exc:
            metric = next(iter(reality.spec.metrics), RETURN)
            rows.append(TransferRow(run=Path(run_dir).name, run_dir=str(run_dir), metric=metric, error=str(exc)))
            if progress is not None:
                progress(f"  {Path(run_dir).name}: not run: {exc}")
    names = [r.run for r in rows]
    for row in rows:  # runs of one task are often told apart only by their parent folder
        if names.count(row.run) > 1:
            row.run = "/".join(Path(row.run_dir).parts[-2:])
    return rows


def markdown_table(rows: list[TransferRow], reality: Reality, summary: str) -> str:
    """The rows as a Markdown table: run, metric in sim and reality (mean ± std), gap, survival, safe stops."""
    metric = rows[0].metric if rows else RETURN
    lines = [
        f"# Transfer to {reality.name}\n",
        f"Reality: {summary} ({reality.source}). Task metric: `{metric}`; survival: share of the run before a "
        "termination. Safe stops: episodes in which the runtime's safety layer latched.\n",
        f"| run | {metric} sim | {metric} reality | gap | survival sim | survival reality | safe stops sim | "
        "safe stops reality |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row.error:
            error = row.error.replace("|", "\\|")
            lines.append(f"| {row.run} | not run: {error} | | | | | | |")
            continue
        s, r = row.sim, row.reality
        lines.append(
            f"| {row.run} | {s.metric_mean:.4g} ± {s.metric_std:.3g} | {r.metric_mean:.4g} ± {r.metric_std:.3g} | "
            f"{row.gap:+.4g} | {s.survival:.2f} | {r.survival:.2f} | {s.safe_stops}/{s.episodes} | "
            f"{r.safe_stops}/{r.episodes} |"
        )
    reasons = sorted({reason for row in rows for reason in row.reality.stop_reasons + row.sim.stop_reasons})
    if reasons:
        shown = reasons[:MAX_STOP_REASONS]
        more = (
            [f"- and {len(reasons) - len(shown)} more (transfer.json lists them)"] if len(reasons) > len(shown) else []
        )
        lines += ["", "Safe stops latched because:", *(f"- {reason}" for reason in shown), *more]
    return "\n".join(lines) + "\n"


def write_tables(rows: list[TransferRow], reality: Reality, summary: str, out_dir: Path) -> dict[str, Path]:
    """``transfer.md`` and ``transfer.json`` (the rows, with ``gap``) in ``out_dir``."""
    out_dir = Path(out_dir)
    data = {
        "reality": str(reality.source),
        "reality_summary": summary,
        "rows": [_finite({**asdict(row), "gap": row.gap}) for row in rows],
    }
    text = json.dumps(data, indent=1, allow_nan=False) + "\n"
    table = markdown_table(rows, reality, summary)
    return {
        "json": write_atomically(out_dir / "transfer.json", lambda tmp: tmp.write_text(text)),
        "md": write_atomically(out_dir / "transfer.md", lambda tmp: tmp.write_text(table)),
    }


def _finite(value):
    """``value`` with every NaN or infinity (a run that did not run) replaced by None, for strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
