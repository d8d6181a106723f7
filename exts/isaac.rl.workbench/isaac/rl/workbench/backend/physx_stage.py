"""Isaac Sim's stage for the PhysX backend: the envs cloned onto it (Isaac Sim's GridCloner) and PhysX stepped on
it with a tensor simulation view. Importable only inside Isaac Sim (``omni.usd``, ``omni.physx``,
``omni.physics.tensors``, ``isaacsim.core.cloner``, ``isaacsim.core.simulation_manager``); the app's own calls
(settings, menus, updates) stay in the Kit front end.

The Isaac Sim names are those of Isaac Sim 6.2, whose wheels ship their Python sources: every call here is checked
against them (name, positional count, keywords). The one older name kept is Isaac Sim 5.1's
``SimulationManager.set_physics_sim_device`` (:func:`set_physics_device`). Not run in Kit here: omni.usd and the
PhysX extensions cannot be enabled without the Kit SDK extensions.

Stage layout of the cloned envs: ``/World/envs/env_<i>/Robot`` references the spec's scene at its ``load_root``;
the physics scene is ``/World/physicsScene`` and a floating-base robot stands on ``/World/ground``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import omni.physics.tensors
import omni.physx
import omni.usd
from pxr import Sdf, Usd, UsdGeom, UsdPhysics, UsdUtils

ENVS_ROOT = "/World/envs"
ROBOT_NAME = "Robot"
PHYSICS_SCENE = "/World/physicsScene"
GROUND = "/World/ground"
GROUND_SIZE = 200.0  # [m]


def set_physics_device(device: str) -> None:
    """Simulate on ``device`` (``cpu``, ``cuda`` or ``cuda:<index>``): GPU dynamics and no USD readback on CUDA.
    Isaac Sim 6.x: ``SimulationManager.set_device``; Isaac Sim 5.1 has only ``set_physics_sim_device`` (6.x keeps
    it, deprecated since ``isaacsim.core.simulation_manager`` 1.8.0)."""
    from isaacsim.core.simulation_manager import SimulationManager  # imported when PhysX runs, as the cloner

    setter = getattr(SimulationManager, "set_device", None) or SimulationManager.set_physics_sim_device
    setter(device)


def stage() -> Usd.Stage:
    """The open stage."""
    return omni.usd.get_context().get_stage()


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


def clone_envs(scene: Path, load_root: str, num_envs: int, spacing: float, ground: bool | None = None) -> EnvGrid:
    """Replace ``/World/envs`` with ``num_envs`` clones of ``scene``'s ``load_root`` in a grid ``spacing`` [m]
    apart (Isaac Sim's GridCloner, physics replicated, envs not colliding with each other), on a ground plane when
    ``ground`` is True, or, with ``ground`` None, when the robot has no joint to the world (a floating base)."""
    from isaacsim.core.cloner import GridCloner  # imported when used: the Kit front end imports this module

    st = stage()
    st.RemovePrim(ENVS_ROOT)
    if not st.GetPrimAtPath(PHYSICS_SCENE):
        UsdPhysics.Scene.Define(st, PHYSICS_SCENE)
    UsdGeom.Xform.Define(st, f"{ENVS_ROOT}/env_0")
    robot = UsdGeom.Xform.Define(st, f"{ENVS_ROOT}/env_0/{ROBOT_NAME}").GetPrim()
    robot.GetReferences().AddReference(str(scene), Sdf.Path(load_root))
    if ground is None:
        ground = not _joined_to_world(robot)
    if ground and not st.GetPrimAtPath(GROUND):
        plane = UsdGeom.Plane.Define(st, GROUND)
        plane.CreateAxisAttr("Z")
        plane.CreateWidthAttr(GROUND_SIZE)
        plane.CreateLengthAttr(GROUND_SIZE)
        UsdPhysics.CollisionAPI.Apply(plane.GetPrim())
    cloner = GridCloner(spacing=spacing)
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


def _joined_to_world(robot: Usd.Prim) -> bool:
    """Whether an enabled articulation joint under ``robot`` has one side on the world (no body): a fixed base."""
    for prim in Usd.PrimRange(robot):
        if not prim.IsA(UsdPhysics.Joint):
            continue
        joint = UsdPhysics.Joint(prim)
        if joint.GetJointEnabledAttr().Get() is False or joint.GetExcludeFromArticulationAttr().Get():
            continue
        if not joint.GetBody0Rel().GetTargets() or not joint.GetBody1Rel().GetTargets():
            return True
    return False


class PhysxSimulation:
    """PhysX stepped by the backend (not by the timeline) with a tensor simulation view on the open stage.

    The stage holds one simulation: :func:`close_simulation` closes the one open before new envs are cloned. The
    Kit front end keeps the app from stepping physics on its own while it runs a job.
    """

    current: ClassVar[PhysxSimulation | None] = None
    """The simulation open on the stage, if any."""

    def __init__(self, device: str, physics_dt: float):
        set_physics_device(device)
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
        PhysxSimulation.current = self

    def articulations(self, pattern: str) -> Any:
        """An ``omni.physics.tensors`` ArticulationView of the prims matching ``pattern``."""
        return self.view.create_articulation_view(pattern)

    def step(self) -> None:
        """Advance the physics by one ``physics_dt``."""
        self._simulation.simulate(self.physics_dt, 0.0)
        self._simulation.fetch_results()

    def close(self) -> None:
        """Drop the views and the simulation's objects (once)."""
        if PhysxSimulation.current is not self:
            return
        self.view.invalidate()
        self._physx.release_physics_objects()
        PhysxSimulation.current = None


def close_simulation() -> None:
    """Close the simulation open on the stage, if any (its views become invalid)."""
    if PhysxSimulation.current is not None:
        PhysxSimulation.current.close()
