"""The Kit layer's wiring, driven against the FAKE omni/carb/isaacsim modules of ``fakes/`` (not Kit): the menu
item opens the window; the window's fields and buttons reach the panel model; Train runs real PPO iterations on
Newton's CPU backend, one per (fake) app update, with the app's own physics stepping held meanwhile, and fills the
plots; Stop ends the run within an iteration; the ``physics`` setting reaches the specs as ``env.physics`` and
switches nothing else; a spec's ``physx`` engine, found through the registry, maps its columns and env origins
through a fake articulation view; shutdown leaves no menu item, window, coroutine or worker thread, and the
extension starts again. None of this shows that the real omni.ui, omni.physx or Isaac Sim's cloner behave as the
fakes do."""

from __future__ import annotations

import asyncio
import importlib
import threading
import time

import pytest
import torch

from .fakes import fake_kit, fake_ui, install

EXT_ID = "isaac.rl.workbench-0.1.0"


APP_STEPS_PHYSICS = "/app/player/playSimulations"


@pytest.fixture
def kit(monkeypatch, tmp_path, write_spec):
    """Fakes installed; settings for a small CPU run of the cart-pole spec; yields the extension module."""
    install(monkeypatch)
    small = {
        "num_envs = 64": "num_envs = 4",
        "max_iterations = 150": "max_iterations = 40",
        "save_interval = 50": "save_interval = 5",
    }
    spec = write_spec(small)
    root = "/exts/isaac.rl.workbench"
    fake_kit.SETTINGS.update(
        {f"{root}/device": "cpu", f"{root}/task": str(spec), f"{root}/runs_dir": str(tmp_path / "runs")}
    )
    return importlib.import_module("isaac.rl.workbench.frontends.kit.extension")


def button(text: str) -> fake_ui.Button:
    """The newest live button with this text."""
    return [w for w in fake_ui.WIDGETS if isinstance(w, fake_ui.Button) and w.text == text][-1]


def open_window(extension_module):
    ext = extension_module.RLWorkbenchExtension()
    ext.on_startup(EXT_ID)
    (item,) = fake_kit.MENU["Window"]
    assert item.name == "RL Workbench" and not item.ticked_fn()
    item.onclick_fn()
    assert ext.window.visible and item.ticked_fn()
    return ext


def threads_end(threads_before: set, timeout_s: float = 10.0) -> bool:
    """Whether every thread started since ``threads_before`` ends within ``timeout_s`` (a log writer may take a
    moment to finish)."""
    deadline = time.monotonic() + timeout_s
    while not set(threading.enumerate()) <= threads_before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def update() -> None:
    """Let the window's coroutine run one app update (its await and this one's interleave)."""
    for _ in range(2):
        await fake_kit.APP.next_update_async()


async def updates_until(condition, limit: int = 4000) -> list[int]:
    """Run app updates until ``condition()``; the fake app's update count after each."""
    seen: list[int] = []
    while not condition():
        assert len(seen) < limit, "condition not reached"
        await update()
        seen.append(fake_kit.APP.updates)
    return seen


def test_before_training_the_counter_counts_to_the_specs_iterations(kit):
    async def body():
        ext = open_window(kit)
        window, model = ext.window, ext.window.model
        await update()
        await update()  # the window is built at the first, its labels drawn at the next
        planned = model.spec().ppo["max_iterations"]
        assert planned > 0 and window.progress.text.startswith(f"iteration 0 / {planned} "), window.progress.text
        ext.on_shutdown()

    asyncio.run(body())


@pytest.mark.slow
def test_train_runs_one_iteration_per_app_update_fills_the_plots_and_stops(kit):
    async def body():
        threads_before = set(threading.enumerate())
        ext = open_window(kit)
        window, model = ext.window, ext.window.model
        assert model.spec().env.num_envs == 4
        button("Train").click()
        await update()
        assert fake_kit.SETTINGS[APP_STEPS_PHYSICS] is False, "the app steps no physics of its own during a job"
        counts = []
        while model.run.iteration < 3:
            await fake_kit.APP.next_update_async()  # one pass of the window's coroutine at most
            counts.append(model.run.iteration)
            assert len(counts) < 4000
        steps = [b - a for a, b in zip(counts, counts[1:], strict=False)]
        assert max(steps) == 1, "at most one PPO iteration per app update"
        await update()
        plots = window.plots
        assert {"mean episode length", "alive"} <= set(plots)
        assert plots["alive"].data == [v for _, v in model.run.series["reward/alive"]], "the plot shows the series"
        assert "iteration" in window.progress.text and window.bar.model.as_float > 0
        button("Stop").click()
        stopped_at = model.run.iteration
        await updates_until(lambda: model.wait(0) and model.run.status == "finished")
        assert model.run.iteration <= stopped_at + 1, "Stop answers within one iteration"
        assert (model.run.run_dir / "metrics.jsonl").exists() and model.run.checkpoints
        await updates_until(lambda: window.status.text.startswith("finished"))
        await update()
        assert fake_kit.SETTINGS[APP_STEPS_PHYSICS] is True, "the app steps its physics again once the job ended"
        ext.on_shutdown()
        assert fake_kit.MENU["Window"] == [] and window.destroyed and model.closed
        await updates_until(window._task.done)
        assert window._task.cancelled()
        assert threads_end(threads_before), "no thread outlives the extension"

    asyncio.run(body())


def test_fields_reach_the_model_and_its_errors_come_back(kit):
    async def body():
        ext = open_window(kit)
        model, window = ext.window.model, ext.window
        await update()  # the spec opened: the window rebuilds its sections
        row = next(r for r in window.spec.rows if r.key == "env.num_envs")
        row.field.model.set_value("7")
        after = fake_ui.WIDGETS[fake_ui.WIDGETS.index(row.error) :]
        apply = next(w for w in after if isinstance(w, fake_ui.Button) and w.text == "Apply")  # Environments'
        apply.click()
        assert model.raw["env"]["num_envs"] == 7
        row.field.model.set_value("-3")
        apply.click()
        await update()
        assert model.raw["env"]["num_envs"] == 7 and "env.num_envs" in model.field_errors
        assert row.error.visible and "error" in row.error.text
        ext.on_shutdown()

    asyncio.run(body())


def test_the_physics_setting_is_the_specs_engine_and_switches_nothing_else(kit, write_spec):
    from isaac.rl.workbench.backend.newton_backend import NewtonBackend
    from isaac.rl.workbench.envs.workbench_env import make_backend
    from isaac.rl.workbench.frontends.kit.headless import overrides
    from isaac.rl.workbench.specs.loader import load_spec

    async def body():
        fake_kit.SETTINGS["/exts/isaac.rl.workbench/physics"] = "physx"
        threads_before = set(threading.enumerate())
        for _ in range(2):
            ext = open_window(kit)
            model = ext.window.model
            assert model.spec().env.physics == "physx", "the window's spec takes the setting"
            await update()  # the spec opened: the window builds its sections
            picker = ext.window.spec.spec_pick
            picker.model.get_item_value_model().set_value(picker.items.index("cartpole"))
            button("Open spec").click()
            assert model.spec().name == "cartpole" and model.spec().env.physics == "physx", "and every spec opened"
            assert overrides(ext.settings)["env.physics"] == "physx", "so does the autostart run's"
            elsewhere = make_backend(load_spec(write_spec({"num_envs = 64": "num_envs = 1"}, name="other.toml")))
            assert isinstance(elsewhere, NewtonBackend), "a spec of its own builds on its own engine"
            elsewhere.close()
            await update()
            ext.on_shutdown()
            await asyncio.sleep(0)
            assert fake_kit.MENU["Window"] == [] and ext.window is None
        assert threads_end(threads_before)

    asyncio.run(body())
    settings = {"num_envs": 0, "max_iterations": 0, "physics": ""}
    assert overrides(settings) == {}, "no physics setting: the spec's engine"


def test_a_physx_spec_builds_through_the_registry_and_maps_joint_columns_and_env_origins(kit, write_spec):
    from isaac.rl.workbench.backend.physx_backend import PhysxBackend
    from isaac.rl.workbench.envs.workbench_env import make_backend
    from isaac.rl.workbench.specs.loader import load_spec

    spec = load_spec(write_spec({"num_envs = 64": "num_envs = 3"}), {"env.physics": "physx"})
    links = [[f"/World/envs/env_{i}/Robot/{b}" for b in ("cart", "pole")] for i in range(3)]
    view = fake_kit.FakeArticulationView(3, ["hinge", "slider"], links)  # the view's DOF order differs
    view.state["root_transforms"][:, 0] = torch.arange(3) * spec.env.spacing  # each root stands at its env's origin
    view.state["root_transforms"][:, 2] = 0.5
    fake_kit.TENSORS.articulation = view
    backend = make_backend(spec, "cpu")
    assert isinstance(backend, PhysxBackend)
    assert fake_kit.TENSORS.patterns[-1] == "/World/envs/env_*/Robot"
    assert fake_kit.PHYSX.devices == ["cpu"], "the simulation manager simulates on the run's device"
    assert not fake_kit.USD.stage.GetPrimAtPath("/World/ground"), "the cart-pole's rail is fixed to the world"
    assert backend.joint_names == ["slider", "hinge"] and backend.body_paths == ["/cartpole/cart", "/cartpole/pole"]
    assert backend.env_origins[:, 0].tolist() == [0.0, spec.env.spacing, 2 * spec.env.spacing]
    view.state["dof_positions"][:] = torch.tensor([0.5, 0.25])  # hinge, slider
    assert backend.dof_positions[0].tolist() == [0.25, 0.5]
    backend.set_dof_efforts(torch.tensor([[1.0, 2.0]]).repeat(3, 1))
    assert view.state["dof_actuation_forces"][0].tolist() == [2.0, 1.0]
    backend.reset(torch.tensor([False, True, False]))
    view.state["root_transforms"][1, :3] = torch.tensor([9.0, 9.0, 9.0])  # wandered off
    backend.reset(torch.tensor([False, True, False]))
    assert view.state["root_transforms"][1, :3].tolist() == [spec.env.spacing, 0.0, 0.5], "back at its origin"
    assert view.state["dof_positions"][1].tolist() == [0.0, 0.0], "reset writes the pose read at build"
    assert view.state["dof_positions"][0].tolist() == [0.5, 0.25], "other envs are untouched"
    backend.set_property("dof_stiffness", torch.tensor([True, False, False]), torch.tensor([[10.0, 20.0]]).repeat(3, 1))
    assert view.state["dof_stiffnesses"][:, 0].tolist() == [20.0, 0.0, 0.0], "hinge column, env 0 only"
    assert backend.get_property("dof_stiffness")[0].tolist() == [10.0, 20.0]
    backend.step()
    assert fake_kit.PHYSX.calls.count("simulate") == 2 + spec.env.decimation
    assert "release_physics_objects" not in fake_kit.PHYSX.calls
    make_backend(spec, "cpu")
    assert fake_kit.PHYSX.calls.count("release_physics_objects") == 1, "the stage's simulation before is closed"


def test_save_over_a_file_asks_and_overwrites_only_when_confirmed(kit, tmp_path):
    async def body():
        ext = open_window(kit)
        model, window = ext.window.model, ext.window
        await update()
        target = tmp_path / "mine.toml"
        target.write_bytes(b"name = 'mine'\n")
        window.spec.save_path.model.set_value(str(target))
        button("Save spec").click()
        await update()
        overwrite = window.spec.overwrite_button
        assert overwrite.visible and overwrite.text == "Overwrite mine.toml" and window.spec.save_question.visible
        assert target.read_bytes() == b"name = 'mine'\n", "Save alone left the existing file as it was"
        button("Keep the file").click()
        await update()
        assert not overwrite.visible and model.save_conflict is None and target.read_bytes() == b"name = 'mine'\n"
        button("Save spec").click()
        await update()
        button("Overwrite mine.toml").click()
        await update()
        assert not overwrite.visible and b"cartpole" in target.read_bytes()
        ext.on_shutdown()

    asyncio.run(body())
