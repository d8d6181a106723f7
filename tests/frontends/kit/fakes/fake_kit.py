"""FAKES of ``omni.ext``, ``omni.kit.app``, ``omni.kit.menu.utils``, ``omni.usd``, ``omni.physx``,
``omni.physics.tensors``, ``carb.settings``, ``isaacsim.core.cloner`` and ``isaacsim.core.simulation_manager``: each
a namespace with the few names the extension (Kit's app calls) and the PhysX backend (the stage, the cloner, PhysX)
call. Where Isaac Sim 6.2's wheels ship the real module, each fake callable has the real one's signature
(``tests/frontends/kit/test_isaacsim_api_sources.py`` compares them); omni.ui, omni.usd and omni.kit.menu.utils are
written from their documentation. The stage is a real in-memory ``pxr`` stage (usd-core).
Not Kit: see the package docstring."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import torch
from pxr import Gf, Sdf, Usd, UsdGeom


def reset() -> None:
    """Fresh state for a test: settings, menu, app updates, stage, physics."""
    SETTINGS.clear()
    MENU.clear()
    APP.updates, APP.quit_code = 0, None
    USD.stage = Usd.Stage.CreateInMemory()
    PHYSX.calls.clear()
    PHYSX.devices.clear()
    TENSORS.articulation = None


# -- omni.ext -----------------------------------------------------------------------------------------------------
class IExt:
    """``omni.ext.IExt``: Kit calls ``on_startup(ext_id)`` and ``on_shutdown()``."""


ext = SimpleNamespace(IExt=IExt)


# -- omni.kit.app -------------------------------------------------------------------------------------------------
class FakeApp:
    updates = 0
    quit_code: int | None = None

    async def next_update_async(self, name: str = "omni.kit.app.next_update_async", order: int = 0) -> None:
        """One app update: here, one pass of the asyncio loop."""
        self.updates += 1
        await asyncio.sleep(0)

    def post_quit(self, return_code: int = 0) -> None:
        self.quit_code = return_code


APP = FakeApp()
app = SimpleNamespace(get_app=lambda: APP)


# -- omni.kit.menu.utils ------------------------------------------------------------------------------------------
MENU: dict[str, list] = {}  # menu name -> items added


class MenuItemDescription:
    def __init__(self, name: str = "", onclick_fn=None, ticked: bool = False, ticked_fn=None, **kwargs: Any):
        self.name, self.onclick_fn, self.ticked, self.ticked_fn = name, onclick_fn, ticked, ticked_fn


def add_menu_items(items: list, menu_name: str) -> None:
    MENU.setdefault(menu_name, []).extend(items)


def remove_menu_items(items: list, menu_name: str) -> None:
    MENU[menu_name] = [item for item in MENU.get(menu_name, []) if item not in items]


menu_utils = SimpleNamespace(
    MenuItemDescription=MenuItemDescription, add_menu_items=add_menu_items, remove_menu_items=remove_menu_items
)


# -- carb.settings ------------------------------------------------------------------------------------------------
SETTINGS: dict[str, Any] = {}


class FakeSettings:
    def get(self, path: str) -> Any:
        return SETTINGS.get(path)

    def set_bool(self, path: str, value: bool) -> None:
        SETTINGS[path] = bool(value)


settings = SimpleNamespace(get_settings=lambda: FakeSettings())


# -- omni.usd -----------------------------------------------------------------------------------------------------
USD = SimpleNamespace(stage=None)
usd = SimpleNamespace(get_context=lambda: SimpleNamespace(get_stage=lambda: USD.stage))


# -- omni.physx ---------------------------------------------------------------------------------------------------
PHYSX = SimpleNamespace(calls=[], devices=[])  # the names of the PhysX calls made, in order; devices set


class FakePhysX:
    """``omni.physx``'s ``PhysX`` interface: records each call's name."""

    def force_load_physics_from_usd(self) -> None:
        PHYSX.calls.append("force_load_physics_from_usd")

    def start_simulation(self) -> None:
        PHYSX.calls.append("start_simulation")

    def release_physics_objects(self) -> None:
        PHYSX.calls.append("release_physics_objects")


class FakePhysxSimulation:
    """``omni.physx``'s ``IPhysxSimulation`` interface: records each call's name."""

    def attach_stage(self, stage_id: int) -> bool:
        PHYSX.calls.append("attach_stage")
        return True

    def simulate(self, elapsed_time: float, current_time: float) -> None:
        PHYSX.calls.append("simulate")

    def fetch_results(self) -> None:
        PHYSX.calls.append("fetch_results")


def get_physx_interface() -> FakePhysX:
    return FakePhysX()


def get_physx_simulation_interface() -> FakePhysxSimulation:
    return FakePhysxSimulation()


physx = SimpleNamespace(
    get_physx_interface=get_physx_interface, get_physx_simulation_interface=get_physx_simulation_interface
)


# -- omni.physics.tensors -----------------------------------------------------------------------------------------
class FakeArticulationView:
    """An ArticulationView over torch tensors: getters return the tensors, setters write the given rows."""

    def __init__(self, count: int, dof_names: list[str], link_paths: list[list[str]], fixed_base: bool = True):
        self.count, self.max_dofs, self.link_paths = count, len(dof_names), link_paths
        self.shared_metatype = SimpleNamespace(dof_names=dof_names, link_names=[], fixed_base=fixed_base)
        f, b = len(dof_names), len(link_paths[0])
        z = torch.zeros
        self.state = {
            "dof_positions": z(count, f),
            "dof_velocities": z(count, f),
            "dof_position_targets": z(count, f),
            "dof_actuation_forces": z(count, f),
            "root_transforms": torch.tensor([[0, 0, 0, 0, 0, 0, 1.0]]).repeat(count, 1),
            "root_velocities": z(count, 6),
            "link_transforms": z(count, b, 7),
            "link_velocities": z(count, b, 6),
            "dof_stiffnesses": z(count, f),
            "dof_dampings": z(count, f),
            "dof_max_forces": z(count, f),
            "dof_max_velocities": z(count, f),
            "dof_armatures": z(count, f),
            "dof_friction_coefficients": z(count, f),
            "masses": torch.ones(count, b),
        }


def _getter(key: str):
    def get(self) -> torch.Tensor:
        return self.state[key].clone()

    get.__name__ = f"get_{key}"
    return get


def _setter(key: str):
    def set_(self, data: torch.Tensor, indices: torch.Tensor) -> None:
        self.state[key][indices.long()] = data[indices.long()]

    set_.__name__ = f"set_{key}"
    return set_


for _key in (
    "dof_positions",
    "dof_velocities",
    "dof_position_targets",
    "dof_actuation_forces",
    "root_transforms",
    "root_velocities",
    "dof_stiffnesses",
    "dof_dampings",
    "dof_max_forces",
    "dof_max_velocities",
    "dof_armatures",
    "dof_friction_coefficients",
    "masses",
):
    setattr(FakeArticulationView, f"get_{_key}", _getter(_key))
    setattr(FakeArticulationView, f"set_{_key}", _setter(_key))
for _key in ("link_transforms", "link_velocities"):  # read only
    setattr(FakeArticulationView, f"get_{_key}", _getter(_key))


class FakeSimulationView:
    def set_subspace_roots(self, pattern) -> None:
        pass

    def create_articulation_view(self, pattern: str) -> FakeArticulationView:
        TENSORS.patterns.append(pattern)
        return TENSORS.articulation

    def invalidate(self) -> None:
        PHYSX.calls.append("invalidate")


TENSORS = SimpleNamespace(articulation=None, patterns=[])


def create_simulation_view(frontend_name, stage_id=-1, backend="physx") -> FakeSimulationView:
    return FakeSimulationView()


tensors = SimpleNamespace(create_simulation_view=create_simulation_view)


# -- isaacsim.core.cloner -----------------------------------------------------------------------------------------
class GridCloner:
    """Copies ``env_0`` to the other env paths and places env i at ``(i * spacing, 0, 0)``."""

    def __init__(self, spacing: float, num_per_row: int = -1, stage: Usd.Stage | None = None):
        self.spacing = spacing

    def define_base_env(self, base_env_path: str) -> None:
        pass

    def generate_paths(self, root_path: str, num_paths: int) -> list[str]:
        return [f"{root_path}_{i}" for i in range(num_paths)]

    def clone(
        self,
        source_prim_path: str,
        prim_paths: list[str],
        position_offsets=None,
        orientation_offsets=None,
        replicate_physics: bool = False,
        base_env_path: str = None,
        root_path: str = None,
        copy_from_source: bool = False,
        enable_env_ids: bool = False,
        clone_in_fabric: bool = False,
    ) -> list:
        layer = USD.stage.GetRootLayer()
        for i, path in enumerate(prim_paths):
            if path != source_prim_path:
                Sdf.CopySpec(layer, source_prim_path, layer, path)
            UsdGeom.XformCommonAPI(USD.stage.GetPrimAtPath(path)).SetTranslate(Gf.Vec3d(i * self.spacing, 0, 0))
        return prim_paths

    def filter_collisions(self, physicsscene_path, collision_root_path, prim_paths, global_paths=None) -> None:
        pass


cloner = SimpleNamespace(GridCloner=GridCloner)


# -- isaacsim.core.simulation_manager -----------------------------------------------------------------------------
class SimulationManager:
    """Records the devices set."""

    @classmethod
    def set_device(cls, device) -> None:
        PHYSX.devices.append(str(device))


simulation_manager = SimpleNamespace(SimulationManager=SimulationManager)
