"""The browser panel's run sections: Run (Train, Stop, Resume, Fork), Progress (counters and live plots, each
reward term on its own scale), Policy (Play, Stop, Record USD, Evaluate, Export, recordings) and Messages."""

from __future__ import annotations

import time

import numpy as np
import viser
import viser.uplot

from ..panel import PanelModel
from ..panel_layout import duration, policy_status, throughput
from ..panel_state import planned_iterations, run_choice

PLOT_PERIOD_S = 1.0  # plots are re-sent at most this often (the counters at every refresh)
MESSAGES_SHOWN = 8
PLOT_PADDING = (14, 14, 0, 0)
"""uPlot padding (top, right, bottom, left) [px]: room for the top y tick label and the last x tick label, which a
small plot otherwise cuts in half."""
POLICY_JOBS = ("recording", "evaluating", "exporting")  # statuses the Policy section names beside its buttons


class RunSections:
    """Builds the run sections and keeps them showing the model's run."""

    def __init__(self, server: viser.ViserServer, model: PanelModel, scene_view):
        self.server, self.model, self.view = server, model, scene_view
        gui = server.gui
        with gui.add_folder("Run", order=1.0):
            self.status = gui.add_markdown("**idle**")
            buttons = gui.add_button_group("", ("Train", "Stop"))
            runs = self._run_options()
            self.run_pick = gui.add_dropdown(
                "run", runs, initial_value=runs[0], hint="a run folder under the runs folder"
            )
            run_buttons = gui.add_button_group("", ("Open run", "Resume"))
            checkpoints = ["(latest)"]
            self.checkpoint_pick = gui.add_dropdown("checkpoint", checkpoints, initial_value=checkpoints[0])
            fork = gui.add_button("Fork", hint="a new run of the edited spec, starting from this checkpoint")
        buttons.on_click(lambda _: model.train() if buttons.value == "Train" else model.stop())
        run_buttons.on_click(lambda _: self._run_action(run_buttons.value))
        self.checkpoint_pick.on_update(
            lambda event: (
                event.client
                and model.choose_checkpoint(
                    None if self.checkpoint_pick.value == "(latest)" else self.checkpoint_pick.value
                )
            )
        )
        fork.on_click(
            lambda _: model.fork(None if self.checkpoint_pick.value == "(latest)" else self.checkpoint_pick.value)
        )
        self.plots: dict[str, viser.GuiUplotHandle] = {}
        self._plotted: dict[str, tuple[int, int]] = {}  # key -> (id of the RunState, points) last sent
        self._plotted_at = 0.0
        with gui.add_folder("Progress", order=2.0) as self._progress_folder:
            self.progress = gui.add_markdown("")
            self.bar = gui.add_progress_bar(0.0)
            # plots are made when their first points arrive (a uPlot made empty keeps a broken x scale)
            self._curves_folder = gui.add_folder("return and episode length", expand_by_default=True)
            self._plot_folder = gui.add_folder("reward terms (each on its own scale)", expand_by_default=True)
        with gui.add_folder("Policy", order=3.0):
            play = gui.add_button_group("", ("Play", "Stop play", "Record USD"))
            more = gui.add_button_group("", ("Evaluate", "Export"))
            self.policy = gui.add_markdown("")
            recordings = ["(none)"]
            self.recording_pick = gui.add_dropdown("recording", recordings, initial_value=recordings[0])
            open_rec = gui.add_button("Open recording", hint="play a USD recording in the 3D view")
            self.slider = gui.add_slider("frame", 0, 1, 1, 0, hint="recording time")
            self.looping = gui.add_checkbox("play recording", True)
        scene_view.slider = self.slider
        self.looping.on_update(lambda _: setattr(scene_view, "playing_recording", self.looping.value))
        play.on_click(lambda _: {"Play": model.play, "Stop play": model.stop, "Record USD": model.record}[play.value]())
        more.on_click(lambda _: model.evaluate() if more.value == "Evaluate" else model.export())
        open_rec.on_click(lambda _: model.open_recording(self.recording_pick.value))
        with gui.add_folder("Messages", order=4.0):
            self.messages = gui.add_markdown("")

    def _run_options(self) -> list[str]:
        """The run folders of the Runs list (sweep trials included), newest first; "(none)" when there are none."""
        return [str(s.path) for s in self.model.runs.summaries] or ["(none)"]

    def refresh_run_pick(self) -> None:
        """List the runs, and pick the run on show (the one training, or the one opened) when there is one."""
        options = self._run_options()
        chosen = run_choice(self.model, options)
        if chosen is not None and chosen not in options:
            options = [chosen, *options]
        if tuple(self.run_pick.options) != tuple(options):
            self.run_pick.options = options
        if chosen is not None and self.run_pick.value != chosen:
            self.run_pick.value = chosen

    def _run_action(self, action: str) -> None:
        if self.run_pick.value == "(none)":
            return
        if action == "Resume":
            self.model.resume(self.run_pick.value)
        else:
            self.model.open_run(self.run_pick.value)

    def _plot(self, key: str, title: str, data: tuple[np.ndarray, np.ndarray]) -> None:
        """A uPlot of one series with its own y scale, under the curves (return, length) or the reward terms."""
        with self._plot_folder if key.startswith("reward/") else self._curves_folder:
            self.plots[key] = self.server.gui.add_uplot(
                data=data,
                series=(
                    viser.uplot.Series(label="iteration"),
                    viser.uplot.Series(label=title, stroke="#2f7ed8", width=2),
                ),
                title=title,
                scales={"x": viser.uplot.Scale(time=False, auto=True), "y": viser.uplot.Scale(auto=True)},
                axes=(viser.uplot.Axis(), viser.uplot.Axis(size=64)),  # room for "-0.0123" on the y axis
                legend=viser.uplot.Legend(show=False),
                aspect=2.0,
                padding=PLOT_PADDING,
            )

    # -- refresh --------------------------------------------------------------------------------------------------
    def refresh_run(self) -> None:
        run = self.model.run
        where = f" — `{run.run_dir}`" if run.run_dir else ""
        repeat = ""
        if run.run_dir is not None:
            repeat = f"\n\nrepeat: `isaac-rl-workbench train {run.run_dir / 'spec.toml'} --device {self.model.device}`"
        self.status.content = f"**{run.status}**{where}{repeat}"
        self.refresh_run_pick()
        self.checkpoint_pick.options = ["(latest)", *[str(p) for p in run.checkpoints]]
        chosen = self.model.policy_checkpoint
        self.checkpoint_pick.value = str(chosen) if chosen is not None else "(latest)"
        self.recording_pick.options = [str(p) for p in run.recordings] or ["(none)"]
        if run.recordings:
            self.recording_pick.value = str(run.recordings[-1])
        self.refresh_policy()

    def refresh_policy(self) -> None:
        """The policy line beside Play: the play in progress (refreshed with each pose update), the job running
        (recording, evaluating, exporting), the last evaluation and export."""
        run = self.model.run
        lines = policy_status(run)
        if run.status in POLICY_JOBS:
            lines.insert(0, f"**{run.status}**")
        content = "\n\n".join(lines)
        if self.policy.content != content:
            self.policy.content = content

    def refresh_progress(self) -> None:
        run = self.model.run
        planned = planned_iterations(self.model)
        self.progress.content = (
            f"iteration **{run.iteration}** / {planned} — {throughput(run)} — "
            f"time left {duration(run.time_left_s)} — first iteration after {duration(run.first_iteration_s)}"
        )
        self.bar.value = min(100.0, 100.0 * run.iteration / max(planned, 1))
        self.refresh_policy()
        now = time.monotonic()
        if now - self._plotted_at < PLOT_PERIOD_S and run.status == "training":
            return
        self._plotted_at = now
        for key in [k for k in self.plots if k not in run.series]:  # a new run: its plots start afresh
            self.plots.pop(key).remove()
            self._plotted.pop(key, None)
        for key, points in list(run.series.items()):
            if key not in ("mean_reward", "mean_episode_length") and not key.startswith("reward/"):
                continue
            sent = (id(run), len(points))
            if key in self.plots and self._plotted.get(key) == sent:
                continue  # nothing new: the plot is left as it is (re-sending it redraws it)
            self._plotted[key] = sent
            xs = np.array([p[0] for p in points], dtype=np.float64)
            ys = np.array([p[1] for p in points], dtype=np.float64)
            if key in self.plots:
                self.plots[key].data = (xs, ys)
            elif len(xs):
                titles = {"mean_reward": "mean return", "mean_episode_length": "mean episode length"}
                self._plot(key, titles.get(key, key.removeprefix("reward/")), (xs, ys))

    def refresh_messages(self) -> None:
        shown = self.model.messages[-MESSAGES_SHOWN:]
        self.messages.content = "\n\n".join(f"`{m}`" for m in reversed(shown)) or "*none*"
