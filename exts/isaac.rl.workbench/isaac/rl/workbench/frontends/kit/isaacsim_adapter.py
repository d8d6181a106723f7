"""Every call into the Kit app that the extension makes (besides omni.ui widgets and the IExt base class), in one
module, so that an API rename is fixed in one place: settings, app updates and tasks, the Window menu, quitting, and
the stage as the panel shows it (its file, the poses of a run on its cloned envs). Cloning envs and PhysX itself
belong to the physics backend (``backend/physx_stage.py``, ``backend/physx_backend.py``). The ``carb.settings`` and
``omni.kit.app`` calls are checked against the stubs of Isaac Sim 6.2's Kit kernel (Kit 110.4); ``omni.kit.menu.utils``
is a Kit SDK extension, not in Isaac Sim's PyPI wheels, and is written from its documentation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import carb.settings
import numpy as np
import omni.kit.app
import omni.kit.menu.utils
from pxr import Gf, Sdf, UsdGeom

from ...backend.physx_stage import EnvGrid, stage

APP_STEPS_PHYSICS = "/app/player/playSimulations"
"""Kit's setting: whether the timeline's play steps the stage's physics."""
TERRAIN_PATH = "/World/terrain"
"""Where the stage references a spec's terrain."""


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


def hold_app_physics(held: bool) -> None:
    """Keep the app from stepping the stage's physics on its own (the timeline's play) while ``held``: the workbench
    steps its own physics then (PhysX on the cloned envs, or Newton's poses shown on them)."""
    carb.settings.get_settings().set_bool(APP_STEPS_PHYSICS, not held)


# -- stage --------------------------------------------------------------------------------------------------------
def open_stage_file() -> Path | None:
    """The file of the open stage, None when it was never saved."""
    layer = stage().GetRootLayer()
    return None if layer.anonymous or not layer.realPath else Path(layer.realPath)


def reference_terrain(file: Path | None) -> None:
    """Make :data:`TERRAIN_PATH` reference the terrain file ``file`` (its default prim); None: remove it."""
    st = stage()
    st.RemovePrim(TERRAIN_PATH)
    if file is not None:
        st.DefinePrim(TERRAIN_PATH).GetReferences().AddReference(str(file))


def show_poses(grid: EnvGrid, body_paths: list[str], poses: np.ndarray, origins: np.ndarray | None = None) -> None:
    """Move the first K envs' bodies on the stage to ``poses`` (K, B, 7): env-relative x, y, z [m], qx, qy, qz, qw
    of the scene's ``body_paths`` (what the panel model's view holds when Newton runs the physics), each env at
    ``origins`` (K, 3) [m] (on a terrain, where it stands on it), or at its clone's origin when None.

    A body nested under another moved body (a leg under the base) is placed relative to its parent's new pose. Each
    body's matrix transform op is authored before the values are written in one change block: USD cannot add an
    xform op inside ``Sdf.ChangeBlock`` (``AddXformOp`` fails there on a prim that has none yet)."""
    st, cache = stage(), UsdGeom.XformCache()
    origins = grid.origins if origins is None else origins
    worlds: dict[Sdf.Path, Gf.Matrix4d] = {}  # each moved body's new world transform
    for env in range(min(len(poses), len(grid.robot_paths))):
        for body, pose in zip(body_paths, poses[env], strict=True):
            prim = st.GetPrimAtPath(grid.stage_path(env, body))
            if not prim:
                continue
            x, y, z, qx, qy, qz, qw = (float(v) for v in pose)
            world = Gf.Matrix4d().SetRotate(Gf.Quatd(qw, qx, qy, qz))
            world.SetTranslateOnly(Gf.Vec3d(x, y, z) + Gf.Vec3d(*(float(v) for v in origins[env])))
            worlds[prim.GetPath()] = world
    ops = {path: UsdGeom.Xformable(st.GetPrimAtPath(path)).MakeMatrixXform() for path in worlds}
    with Sdf.ChangeBlock():
        for path, world in worlds.items():
            parent = path.GetParentPath()
            parent_world = worlds.get(parent) or cache.GetLocalToWorldTransform(st.GetPrimAtPath(parent))
            ops[path].Set(world * parent_world.GetInverse())
