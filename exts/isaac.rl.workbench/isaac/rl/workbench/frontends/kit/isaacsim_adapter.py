"""Every call into Kit and Isaac Sim that the extension makes (besides omni.ui widgets and the IExt base class),
in one module, so that an API rename is fixed in one place.

Isaac Sim renamed its Python APIs twice: ``omni.isaac.*`` (up to 4.2) -> ``isaacsim.core.api`` and friends (4.5,
5.x) -> ``isaacsim.core.experimental.*`` (6.x). :func:`first_attribute` tries the names in that order. Nothing
here was run in Kit: each call is written from Isaac Sim 5.1 / 6.x documentation and source.

Stage layout of the cloned envs: ``/World/envs/env_<i>/Robot`` references the spec's scene at its ``robot_prim``;
the physics scene is ``/World/physicsScene`` and a floating-base robot stands on ``/World/ground``.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import carb.settings
import numpy as np
import omni.kit.app
import omni.kit.menu.utils
import omni.physics.tensors
import omni.physx
import omni.usd
from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, UsdUtils

ENVS_ROOT = "/World/envs"
ROBOT_NAME = "Robot"
PHYSICS_SCENE = "/World/physicsScene"
GROUND = "/World/ground"
GROUND_SIZE = 200.0  # [m]
CLONER = (("omni.isaac.cloner", "GridCloner"), ("isaacsim.core.cloner", "GridCloner"))
SIMULATION_MANAGER = (
    ("omni.isaac.core.simulation_manager", "SimulationManager"),
    ("isaacsim.core.simulation_manager", "SimulationManager"),
    ("isaacsim.core.experimental.simulation_manager", "SimulationManager"),
)


def first_attribute(candidates: tuple[tuple[str, str], ...]) -> Any:
    """The first ``module.attribute`` of ``candidates`` that imports; ImportError naming all of them otherwise."""
    for module, attribute in candidates:
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError):
            continue
    raise ImportError("none of " + ", ".join(f"{m}.{a}" for m, a in candidates) + " is available in this Isaac Sim")


# -- app, settings, menu ------------------------------------------------------------------------------------------
def get_setting(path: str) -> Any:
    """A carb setting's value (None when unset)."""
    return carb.settings.get_settings().get(path)


def next_update() -> Coroutine:
    """Awaitable: the next app update."""
    return omni.kit.app.get_app().next_update_async()


def start_task(coroutine: Coroutine) -> asyncio.Future:
    """Run ``coroutine`` on Kit's event loop (cancel the returned future to end it)."""
    return asyncio.ensure_future(coroutine)


def quit_app(exit_code: int) -> None:
    """Ask the app to quit with ``exit_code`` after the current update."""
    omni.kit.app.get_app().post_quit(exit_code)


def add_window_menu(name: str, on_click: Callable[[], None], is_ticked: Callable[[], bool]) -> list:
    """A Window menu item ``name`` calling ``on_click``; returns the handle for :func:`remove_window_menu`."""
    items = [omni.kit.menu.utils.MenuItemDescription(name=name, onclick_fn=on_click, ticked=True, ticked_fn=is_ticked)]
    omni.kit.menu.utils.add_menu_items(items, "Window")
    return items


def remove_window_menu(items: list) -> None:
    """Remove what :func:`add_window_menu` added."""
    omni.kit.menu.utils.remove_menu_items(items, "Window")


# -- stage --------------------------------------------------------------------------------------------------------
def stage() -> Usd.Stage:
    """The open stage."""
    return omni.usd.get_context().get_stage()


def open_stage_file() -> Path | None:
    """The file of the open stage, None when it was never saved."""
    layer = stage().GetRootLayer()
    return None if layer.anonymous or not layer.realPath else Path(layer.realPath)


@dataclass
class EnvGrid:
    """Cloned envs on the stage: ``robot_paths`` (N,) the prims that reference the scene's ``load_root``;
    ``origins`` (N, 3) [m] world position of each env."""

    robot_paths: list[str]
    origins: np.ndarray
    load_root: str

    def stage_path(self, env: int, scene_path: str) -> str:
        """Where the scene's prim ``scene_path`` (under ``load_root``) is in env ``env``."""
        return self.robot_paths[env] + scene_path[len(self.load_root.rstrip("/")) :]


def clone_envs(scene: Path, load_root: str, num_envs: int, spacing: float, ground: bool) -> EnvGrid:
    """Replace ``/World/envs`` with ``num_envs`` clones of ``scene``'s ``load_root`` in a grid ``spacing`` [m]
    apart (Isaac Sim's GridCloner, physics replicated, envs not colliding with each other)."""
    grid_cloner = first_attribute(CLONER)
    st = stage()
    st.RemovePrim(ENVS_ROOT)
    if not st.GetPrimAtPath(PHYSICS_SCENE):
        UsdPhysics.Scene.Define(st, PHYSICS_SCENE)
    if ground and not st.GetPrimAtPath(GROUND):
        plane = UsdGeom.Plane.Define(st, GROUND)
        plane.CreateAxisAttr("Z")
        plane.CreateWidthAttr(GROUND_SIZE)
        plane.CreateLengthAttr(GROUND_SIZE)
        UsdPhysics.CollisionAPI.Apply(plane.GetPrim())
    UsdGeom.Xform.Define(st, f"{ENVS_ROOT}/env_0")
    robot = UsdGeom.Xform.Define(st, f"{ENVS_ROOT}/env_0/{ROBOT_NAME}").GetPrim()
    robot.GetReferences().AddReference(str(scene), Sdf.Path(load_root))
    cloner = grid_cloner(spacing=spacing)
    cloner.define_base_env(ENVS_ROOT)
    env_paths = cloner.generate_paths(f"{ENVS_ROOT}/env", num_envs)
    cloner.clone(
        source_prim_path=env_paths[0],
        prim_paths=env_paths,
        base_env_path=ENVS_ROOT,
        root_path=f"{ENVS_ROOT}/env_",
        replicate_physics=True,
    )
    cloner.filter_collisions(PHYSICS_SCENE, "/World/collisions", env_paths, global_paths=[GROUND] if ground else [])
    cache = UsdGeom.XformCache()
    origins = np.array(
        [list(cache.GetLocalToWorldTransform(st.GetPrimAtPath(p)).ExtractTranslation()) for p in env_paths]
    )
    return EnvGrid([f"{p}/{ROBOT_NAME}" for p in env_paths], origins.reshape(-1, 3), load_root)


def show_poses(grid: EnvGrid, body_paths: list[str], poses: np.ndarray) -> None:
    """Move the first K envs' bodies on the stage to ``poses`` (K, B, 7): env-relative x, y, z [m], qx, qy, qz, qw
    of the scene's ``body_paths`` (what the panel model's view holds when Newton runs the physics)."""
    st, cache = stage(), UsdGeom.XformCache()
    with Sdf.ChangeBlock():
        for env in range(min(len(poses), len(grid.robot_paths))):
            for body, pose in zip(body_paths, poses[env], strict=True):
                prim = st.GetPrimAtPath(grid.stage_path(env, body))
                if not prim:
                    continue
                x, y, z, qx, qy, qz, qw = (float(v) for v in pose)
                world = Gf.Matrix4d().SetRotate(Gf.Quatd(qw, qx, qy, qz))
                world.SetTranslateOnly(Gf.Vec3d(x, y, z) + Gf.Vec3d(*grid.origins[env]))
                local = world * cache.GetParentToWorldTransform(prim).GetInverse()
                UsdGeom.Xformable(prim).MakeMatrixXform().Set(local)


# -- PhysX --------------------------------------------------------------------------------------------------------
class PhysxSimulation:
    """PhysX stepped by the extension (not by the timeline) with a tensor simulation view on the open stage.

    Kit stops stepping physics on its own (``/app/player/playSimulations`` false) while this exists.
    """

    def __init__(self, device: str, physics_dt: float):
        carb.settings.get_settings().set_bool("/app/player/playSimulations", False)
        try:
            first_attribute(SIMULATION_MANAGER).set_physics_sim_device(device)
        except ImportError:
            pass  # an older Isaac Sim: the physics scene's own GPU settings apply
        self.physics_dt = float(physics_dt)
        self._physx = omni.physx.get_physx_interface()
        self._simulation = omni.physx.get_physx_simulation_interface()
        stage_id = UsdUtils.StageCache.Get().GetId(stage()).ToLongInt()
        if device.startswith("cuda"):
            self._simulation.attach_stage(stage_id)
        self._physx.force_load_physics_from_usd()
        self._physx.start_simulation()
        self.step()
        self.view = omni.physics.tensors.create_simulation_view("torch", stage_id=stage_id)
        self.view.set_subspace_roots("/")
        self.step()

    def articulations(self, pattern: str) -> Any:
        """An ``omni.physics.tensors`` ArticulationView of the prims matching ``pattern``."""
        return self.view.create_articulation_view(pattern)

    def step(self) -> None:
        """Advance the physics by one ``physics_dt``."""
        self._simulation.simulate(self.physics_dt, 0.0)
        self._simulation.fetch_results()

    def close(self) -> None:
        """Drop the views and the simulation's objects; the timeline steps physics again."""
        self.view.invalidate()
        self._physx.release_physics_objects()
        carb.settings.get_settings().set_bool("/app/player/playSimulations", True)
