"""The browser panel's Sweep section: an Optuna sweep of the spec being edited (params one ``KEY=SPACE`` per line, as
``isaac-rl-workbench sweep --param`` takes them; trials; trials at once), Start and Stop, and its trials as a table
(trial, state, objective, params) with the best one marked. It renders :class:`~..panel_sweep.SweepRunner` (the
panel model's ``sweep``); the trials' run folders appear in the Runs section."""

from __future__ import annotations

from pathlib import Path

import viser

from ..panel import PanelModel
from ..panel_sweep import SweepState

EXAMPLE_PARAMS = "ppo.algorithm.learning_rate=log:1e-4:1e-2"
BEST = "★"


class SweepSection:
    """Builds the Sweep section and keeps it showing ``model.sweep``."""

    def __init__(self, server: viser.ViserServer, model: PanelModel):
        self.server, self.model, self.sweep = server, model, model.sweep
        gui = server.gui
        # no folders inside (see the Runs section): a folder filled while this one is folded stays 0 high
        with gui.add_folder("Sweep", order=1.7, expand_by_default=False):
            self.spec_line = gui.add_markdown("")
            self.params = gui.add_text(
                "params",
                EXAMPLE_PARAMS,
                multiline=True,
                hint="one KEY=SPACE per line: log:LOW:HIGH, LOW:HIGH, int:LOW:HIGH or choice:A,B,...",
            )
            self.trials = gui.add_number("trials", 8, min=1, step=1, hint="trials in the study")
            self.parallel = gui.add_number("parallel", 1, min=1, step=1, hint="trials at once")
            buttons = gui.add_button_group("", ("Start sweep", "Stop sweep"))
            self.status = gui.add_markdown("")
            self.table = gui.add_markdown("")
        buttons.on_click(lambda _: self._start() if buttons.value == "Start sweep" else self.sweep.stop())

    def _start(self) -> None:
        self.sweep.start(self.params.value, int(self.trials.value), int(self.parallel.value))

    def refresh(self) -> None:
        """Show the spec the sweep tunes, its state and its trials."""
        model = self.model
        name = model.raw.get("name", model.spec_file.stem) if model.spec_file is not None else None
        self.spec_line.content = f"sweeps the spec being edited: **{name}**" if name else "*open a spec to sweep it*"
        self.status.content = status_line(self.sweep.state, model.runs_dir)
        self.table.content = trials_table(self.sweep.state, model.runs_dir)


def status_line(state: SweepState, runs_dir: Path) -> str:
    """The sweep's state, objective and folder (relative to the runs folder), as markdown."""
    if state.folder is None:
        return "*no sweep yet*"
    done = sum(row.state not in ("running", "waiting", "interrupted") for row in state.trials)
    return (
        f"**{state.status}**: {done} / {state.planned} trials, {state.objective}, in `{_short(state.folder, runs_dir)}`"
    )


def trials_table(state: SweepState, runs_dir: Path) -> str:
    """The trials as a markdown table (trial, state, objective, params: the last part of each key and its value to
    3 digits), the best one marked."""
    if not state.trials:
        return ""
    lines = ["| trial | state | objective | params |", "|---|---|---|---|"]
    for row in state.trials:
        mark = f" {BEST}" if row.number == state.best else ""
        objective = "" if row.objective is None else f"{row.objective:.4g}"
        params = "<br>".join(_param(text) for text in row.params)
        reason = f" ({row.reason})" if row.reason and row.state != "done" else ""
        lines.append(f"| {row.number:03d}{mark} | {row.state}{reason} | {objective} | {params} |")
    if state.best is not None:
        lines.append(f"\n{BEST} best trial; its spec: `{_short(state.folder / 'best.toml', runs_dir)}`")
    return "\n".join(lines)


def _param(text: str) -> str:
    """``ppo.algorithm.learning_rate=0.0012520653`` -> ``learning_rate 0.00125``."""
    key, _, value = text.partition("=")
    try:
        value = f"{float(value):.3g}"
    except ValueError:
        pass
    return f"{key.rsplit('.', 1)[-1]} {value}"


def _short(path: Path, runs_dir: Path) -> str:
    """``path`` relative to the runs folder when inside it."""
    try:
        return Path(path).relative_to(runs_dir).as_posix()
    except ValueError:
        return str(path)
