"""The browser panel's Runs section: the runs folder's runs as a table, a check box per run to select it, the curves
of the selected runs overlaid on one plot (one colour each; the logged values faint, TensorBoard's smoothing bold;
evaluations of the deterministic policy dashed), the spec diff of two selected runs, and Open, Resume, Fork, Delete
and Undo. It renders :class:`~..run_manager.RunManager` (the panel model's ``runs``)."""

from __future__ import annotations

import numpy as np
import viser
import viser.uplot

from ..panel import PanelModel
from ..run_columns import COLUMNS
from ..run_manager import DEFAULT_SMOOTHING

LISTED = 30  # newest runs with a check box


class RunsSection:
    """Builds the Runs section and keeps it showing ``model.runs``."""

    def __init__(self, server: viser.ViserServer, model: PanelModel):
        self.server, self.model, self.runs = server, model, model.runs
        gui = server.gui
        # no folders inside: one filled while the section is folded keeps a height of 0 when it unfolds; check boxes
        # and the plot are placed by their order (check boxes between 1 and 2, newest first)
        with gui.add_folder("Runs", order=1.5, expand_by_default=False) as self._folder:
            self.table = gui.add_markdown("", order=0.0)
            actions = gui.add_button_group("", ("Open", "Resume", "Fork", "Delete", "Undo"), order=3.0)
            compare = gui.add_button_group("", ("Refresh", "Compare specs"), order=4.0)
            self.key_pick = gui.add_dropdown("curve", ("(select runs)",), initial_value="(select runs)", order=5.0)
            self.smoothing = gui.add_slider(
                "smoothing",
                0.0,
                0.99,
                0.01,
                DEFAULT_SMOOTHING,
                hint="TensorBoard's: a debiased moving average",
                order=6.0,
            )
            self.diff = gui.add_markdown("", order=8.0)
        self.picks: dict[str, viser.GuiCheckboxHandle] = {}
        self.plot: viser.GuiUplotHandle | None = None
        self._shown: tuple = ()
        act = {"Open": self.runs.open, "Resume": self.runs.resume, "Fork": self.runs.fork}
        act |= {"Delete": self.runs.delete, "Undo": self.runs.undo}
        actions.on_click(lambda _: act[actions.value]())
        compare.on_click(lambda _: self.runs.refresh() if compare.value == "Refresh" else self._compare())
        self.smoothing.on_update(lambda event: event.client and self.runs.set_smoothing(float(self.smoothing.value)))
        self.key_pick.on_update(lambda event: event.client and self.refresh_plot())

    def _compare(self) -> None:
        changes = self.runs.diff()
        if changes is None:
            self.diff.content = ""
            return
        a, b = self.runs.selected
        lines = [f"`{c}`" for c in changes] or ["no differences"]
        self.diff.content = f"**spec of {b}** against **{a}**:\n\n" + "\n\n".join(lines)

    def refresh(self) -> None:
        """Show the list, the check boxes and the overlay as the model has them."""
        rows = self.runs.rows()
        lines = [
            f"- **{row[0]}**: " + ", ".join(f"{k} {v}" for k, v in zip(COLUMNS[1:], row[1:], strict=True))
            for row in rows
        ]
        self.table.content = "\n".join(lines) if rows else f"*no runs in {self.runs.root}*"
        listed = {s.name: s for s in self.runs.summaries[:LISTED]}
        for name in [n for n in self.picks if n not in listed]:
            self.picks.pop(name).remove()
        with self._folder:  # boxes are added and removed one by one, never all rebuilt
            for name, summary in listed.items():
                if name not in self.picks:
                    order = 2.0 - summary.started / 1e11  # newest first
                    box = self.server.gui.add_checkbox(name, name in self.runs.selected, order=order)
                    box.on_update(lambda event: event.client and self._picked())
                    self.picks[name] = box
        for name, box in self.picks.items():
            box.value = name in self.runs.selected
        keys = self.runs.keys() if self.runs.selected else ["(select runs)"]
        if tuple(self.key_pick.options) != tuple(keys):
            self.key_pick.options = keys
        if self.key_pick.value not in keys:
            self.key_pick.value = keys[0]
        self.smoothing.value = self.runs.smoothing
        self.refresh_plot()

    def _picked(self) -> None:
        self.runs.select([name for name, box in self.picks.items() if box.value])

    def refresh_plot(self) -> None:
        """One plot of the selected runs' curves of the chosen key, on the same axes."""
        key = self.key_pick.value if self.runs.selected else None
        curves = self.runs.overlay(key) if key else []
        shown = (key, self.runs.smoothing, tuple((c.label, len(c.iterations)) for c in curves))
        if shown == self._shown:
            return
        self._shown = shown
        if self.plot is not None:
            self.plot.remove()
            self.plot = None
        if not curves:
            return
        xs = np.unique(np.concatenate([c.iterations for c in curves]))
        data, series = [xs], [viser.uplot.Series(label="iteration")]
        for c in curves:
            at = np.searchsorted(xs, c.iterations)
            for values, faint in ((c.values, True), (c.smoothed, False)):
                column = np.full(len(xs), np.nan)
                column[at] = values
                data.append(column)
                label = c.label + (" (logged)" if faint else "")
                style = {"dash": (6.0, 4.0)} if c.evaluation else {}
                stroke = c.colour + ("55" if faint else "")
                series.append(
                    viser.uplot.Series(label=label, stroke=stroke, width=1 if faint else 2, spanGaps=True, **style)
                )
        with self._folder:
            self.plot = self.server.gui.add_uplot(
                data=tuple(data),
                series=tuple(series),
                title=key,
                scales={"x": viser.uplot.Scale(time=False, auto=True), "y": viser.uplot.Scale(auto=True)},
                axes=(viser.uplot.Axis(), viser.uplot.Axis(size=64)),
                legend=viser.uplot.Legend(show=True),
                aspect=1.5,
                order=7.0,
            )
