"""The Workbench panel in Isaac Sim: an omni.ui window that renders the panel model (``frontends/panel.py``)
section by section, as the browser panel does, and calls its actions; it adds the two things only Kit has: "Use
the open stage" and "Clone" (the spec's envs cloned onto the stage with Isaac Sim's cloner).

One coroutine drives the window: at each app update it gives the panel model's worker one turn
(:class:`~.lockstep.Lockstep`: a build, one PPO iteration or one play step), then redraws what changed; while a job
runs the app steps no physics of its own. With Newton running the physics, the bodies the model's view holds are
written onto the cloned envs, so the viewport shows training and Play; with PhysX the cloned envs are the
simulation itself. The ``physics`` setting, when given, becomes ``env.physics`` of every spec the window opens.
A spec with a ``[terrain]`` gets its terrain on the stage at Clone: written once as a USD file under the runs folder
(``terrains/terrain_<hash>.usda``) and referenced at ``/World/terrain``; the envs' poses are shown at their origins
on it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import omni.ui as ui

from ...backend import physx_stage
from ...scene.terrain import generate_terrain
from ...scene.terrain_usd import terrain_file_name, write_terrain_usd
from ..panel import PanelModel
from ..panel_layout import duration, policy_status, throughput
from ..panel_state import planned_iterations
from . import isaacsim_adapter as isaacsim
from .lockstep import Lockstep
from .window_spec import SpecSections

PLOT_TITLES = {"mean_reward": "mean return", "mean_episode_length": "mean episode length"}
MESSAGES_SHOWN = 8


def plotted(series: dict[str, list[tuple[int, float]]]) -> dict[str, list[float]]:
    """The curves the panel shows (return, episode length, each reward term): title -> values over iterations."""
    keys = [k for k in series if k in PLOT_TITLES or k.startswith("reward/")]
    return {PLOT_TITLES.get(k, k.removeprefix("reward/")): [v for _, v in series[k]] for k in keys}


class WorkbenchWindow(ui.Window):
    """The panel of one :class:`PanelModel`, made by the extension's menu item; :meth:`destroy` ends it."""

    def __init__(self, title: str, settings: dict[str, Any]):
        super().__init__(title, width=460, height=900, visible=False, dockPreference=ui.DockPreference.LEFT_BOTTOM)
        self.physics = settings["physics"]
        self.model = PanelModel(Path(settings["runs_dir"]), settings["device"], view_envs=settings["view_envs"])
        self.spec = SpecSections(self.model, self.open_spec, self.use_open_stage, self.clone)
        self.lockstep = Lockstep()
        self.grid: physx_stage.EnvGrid | None = None
        self._app_physics_held = False
        self.plots: dict[str, ui.Plot] = {}
        self._dirty, self._dirty_lock = {"spec", "run", "progress", "messages"}, threading.Lock()
        self._shown_spec: tuple | None = None
        self.model.add_listener(self._mark)  # first: what changed is marked before the worker pauses
        self.model.add_listener(self.lockstep.pause)
        self.frame.set_build_fn(self._build)
        self.open_spec(settings["task"])
        self._task = isaacsim.start_task(self._drive())

    # -- building -------------------------------------------------------------------------------------------------
    def _build(self) -> None:
        with ui.ScrollingFrame(), ui.VStack(spacing=6, height=0):
            with ui.CollapsableFrame("Run"), ui.VStack(spacing=4, height=0):
                self.status = ui.Label("", word_wrap=True)
                with ui.HStack(height=0):
                    ui.Button("Train", clicked_fn=self.model.train)
                    ui.Button("Stop", clicked_fn=self.model.stop)
                    ui.Button("Fork", clicked_fn=lambda: self.model.fork(None), tooltip="from the latest checkpoint")
                self.run_frame = ui.Frame(build_fn=self._build_run_picker)
            with ui.CollapsableFrame("Progress"), ui.VStack(spacing=4, height=0):
                self.progress = ui.Label("", word_wrap=True)
                self.bar = ui.ProgressBar(height=14)
                self.plot_frame = ui.Frame(build_fn=self._build_plots)
            with ui.CollapsableFrame("Policy"), ui.VStack(spacing=4, height=0):
                with ui.HStack(height=0):
                    for text, action in (("Play", self.model.play), ("Stop play", self.model.stop)):
                        ui.Button(text, clicked_fn=action)
                    ui.Button("Record USD", clicked_fn=lambda: self.model.record())
                with ui.HStack(height=0):
                    ui.Button("Evaluate", clicked_fn=lambda: self.model.evaluate())
                    ui.Button("Export", clicked_fn=self.model.export)
                self.policy = ui.Label("", word_wrap=True)
            with ui.CollapsableFrame("Messages"):
                self.messages = ui.Label("", word_wrap=True)
            self.spec.build()
        self._shown_spec = self._spec_layout()
        for what in ("run", "progress", "messages"):
            self._mark(what)

    def _build_run_picker(self) -> None:
        runs = [str(p) for p in self.model.run_folders()] or ["(none)"]
        with ui.VStack(spacing=4, height=0):
            pick = ui.ComboBox(0, *runs)

            def chosen() -> str | None:
                run = runs[pick.model.get_item_value_model().as_int]
                return None if run == "(none)" else run

            with ui.HStack(height=0):
                ui.Button("Open run", clicked_fn=lambda: chosen() and self.model.open_run(chosen()))
                ui.Button("Resume", clicked_fn=lambda: chosen() and self.model.resume(chosen()))

    def _build_plots(self) -> None:
        self.plots = {}
        with ui.VStack(spacing=2, height=0):
            for title, values in plotted(self.model.run.series).items():
                ui.Label(title, height=0)
                self.plots[title] = ui.Plot(ui.Type.LINE, 0.0, 1.0, *values, height=70)

    def _spec_layout(self) -> tuple:
        """What decides the setup sections' widgets: the spec file, the terms and whether each is on."""
        m = self.model
        return (m.spec_file, *(tuple(m.raw.get(k, {})) + tuple(m.disabled[k]) for k in m.disabled))

    # -- Kit-only actions -----------------------------------------------------------------------------------------
    def open_spec(self, task_or_path: str) -> None:
        """Open a task in the panel model, its ``env.physics`` set to the ``physics`` setting when one is given."""
        if self.model.open_spec(task_or_path) and self.physics:
            self.model.set_field("env.physics", self.physics)

    def newton_runs(self) -> bool:
        """Whether the open spec's runs simulate on Newton (their poses are then shown on the cloned envs)."""
        return self.model.raw.get("env", {}).get("physics", "newton") == "newton"

    def use_open_stage(self) -> None:
        """Make the open stage's file the spec's scene (the stage must have been saved)."""
        path = isaacsim.open_stage_file()
        if path is None:
            self.model.field_problem("scene", "the open stage has no file yet: save it first")
            return
        self.model.open_scene(path)

    def clone(self) -> None:
        """Clone the spec's ``env.num_envs`` envs onto the stage (Isaac Sim's GridCloner)."""
        try:
            spec = self.model.spec()
            floating = self.model.articulation is not None and not self.model.articulation.fixed_base
            self.grid = physx_stage.clone_envs(
                spec.scene, spec.robot_prim, spec.env.num_envs, spec.env.spacing, floating and spec.terrain is None
            )
            terrain = None
            if spec.terrain is not None:
                terrain = self.model.runs_dir / "terrains" / terrain_file_name(spec.terrain)
                if not terrain.is_file():
                    write_terrain_usd(generate_terrain(spec.terrain), terrain)
            isaacsim.reference_terrain(terrain)
            self.model.say(f"cloned {spec.env.num_envs} envs under {physx_stage.ENVS_ROOT}")
        except Exception as exc:  # the reason goes to the messages, as every panel error does
            self.model.say(f"error: clone: {exc}")

    # -- refreshing -----------------------------------------------------------------------------------------------
    def _mark(self, what: str, _model: Any = None) -> None:
        with self._dirty_lock:
            self._dirty.add(what)

    async def _drive(self) -> None:
        """One turn of the worker, then a redraw, per app update, until the window is destroyed."""
        while True:
            await isaacsim.next_update()
            self._hold_app_physics(not self.model.wait(0))
            self.lockstep.run_worker(lambda: self.model.wait(0))
            self.refresh()

    def _hold_app_physics(self, held: bool) -> None:
        """The app steps no physics of its own while a job runs (:func:`.isaacsim_adapter.hold_app_physics`)."""
        if held != self._app_physics_held:
            isaacsim.hold_app_physics(held)
            self._app_physics_held = held

    def refresh(self) -> None:
        """Redraw what changed since the last refresh (on the main thread)."""
        with self._dirty_lock:
            dirty, self._dirty = self._dirty, set()
        if "spec" in dirty:
            if self._spec_layout() != self._shown_spec:
                self.frame.rebuild()
                with self._dirty_lock:  # the rebuilt labels are drawn at the next refresh
                    self._dirty |= dirty - {"spec"}
                return
            self.spec.refresh()
        run = self.model.run
        if "run" in dirty:
            where = f" — {run.run_dir}" if run.run_dir else ""
            self.status.text = f"{run.status}{where}"
            self.run_frame.rebuild()
        if dirty & {"run", "progress"}:
            self._refresh_progress()
        if "poses" in dirty and self.newton_runs() and self.grid is not None and self.model.view is not None:
            view = self.model.view
            origins = None if view.origins is None else view.origins[-1]
            isaacsim.show_poses(self.grid, view.body_paths, view.poses[-1], origins)
        if "messages" in dirty:
            self.messages.text = "\n".join(reversed(self.model.messages[-MESSAGES_SHOWN:])) or "none"
        if "save" in dirty:
            self.spec.refresh_save()

    def _refresh_progress(self) -> None:
        run, planned = self.model.run, planned_iterations(self.model)  # the spec's before a run, then the run's
        self.progress.text = (
            f"iteration {run.iteration} / {planned} — {throughput(run)} — "
            f"time left {duration(run.time_left_s)} — first iteration after {duration(run.first_iteration_s)}"
        )
        self.bar.model.set_value(min(1.0, run.iteration / max(planned, 1)))
        curves = plotted(run.series)
        if set(curves) != set(self.plots):
            self.plot_frame.rebuild()
        for title, plot in self.plots.items():
            values = curves[title]
            plot.set_data(*values)
            plot.scale_min, plot.scale_max = min(values, default=0.0), max(values, default=1.0)
        lines = policy_status(run)
        self.policy.text = "\n".join(lines)

    def destroy(self) -> None:
        """Stop the run (a checkpoint is saved), end the coroutine and the worker, then destroy the widgets."""
        self._task.cancel()
        self.model.stop()
        self.lockstep.close()
        self.model.close()
        self._hold_app_physics(False)
        self.plots = {}
        super().destroy()
