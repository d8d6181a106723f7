"""Every Isaac Sim and Kit name the Kit layer and the PhysX backend use, checked against the Python sources that
Isaac Sim 6.2's wheels ship (``.venv-kit``, made by ``scripts/setup_kit.sh``; read with ``ast``, never imported):
the module exists, the class, function or attribute exists (not only in ``extsDeprecated``), and each call's
positional count and keywords fit the signature. Names the wheels cannot check (a module that is not in them,
compiled code without a stub) are listed in :data:`NOT_CHECKABLE` with the reason, so that a new one fails until it is
classified. The fakes of ``fakes/`` have the signatures of the real callables they stand for. The checker's own
failure path runs on a small synthetic source tree, with or without the wheels.

Skips without ``.venv-kit`` (fails under CI); ``WORKBENCH_ISAACSIM_SOURCES=<venv>`` points at another venv holding
the same wheels."""

from __future__ import annotations

import ast
import inspect
import os
from pathlib import Path

import pytest

from ...conftest import REPO
from .api_sources import (
    Cls,
    Func,
    Inst,
    Missing,
    Param,
    Sources,
    check_code,
    isaacsim_package,
    leaves,
    load_module,
    signature,
)
from .fakes import MODULES, fake_kit

EXT = REPO / "exts" / "isaac.rl.workbench"
PACKAGE = EXT / "isaac" / "rl" / "workbench"
OUR_FILES = [
    *(
        PACKAGE / "frontends" / "kit" / name
        for name in (
            "isaacsim_adapter.py",
            "window.py",
            "window_spec.py",
            "extension.py",
            "headless.py",
            "settings.py",
            "lockstep.py",
        )
    ),
    PACKAGE / "backend" / "physx_backend.py",
    PACKAGE / "backend" / "physx_stage.py",
]
KIT_VENV = REPO / ".venv-kit"
SOURCES_VENV = "WORKBENCH_ISAACSIM_SOURCES"
ISAAC_SIM_VERSION = "6.2"

KNOWN_RETURNS = {"omni.usd.get_context().get_stage()": None}
"""Calls on modules the wheels lack whose value is not followed: omni.usd's stage is a ``pxr`` ``Usd.Stage`` (pxr is
out of scope)."""

SDK = (
    "a Kit SDK extension: not in Isaac Sim 6.2's PyPI wheels (isaacsim-extscache-kit is a stub for NVIDIA's index, "
    "isaacsim-extscache-kit-sdk has no x86_64 Linux wheel); {} ships in them as C++ headers at most"
)
NOT_CHECKABLE = {
    SDK.format("omni.ui"): (
        "omni.ui.Button",
        "omni.ui.Button().text",
        "omni.ui.CheckBox",
        "omni.ui.CheckBox().model.add_value_changed_fn",
        "omni.ui.CheckBox().model.set_value",
        "omni.ui.CollapsableFrame",
        "omni.ui.ComboBox",
        "omni.ui.ComboBox().model.get_item_value_model",
        "omni.ui.ComboBox().model.get_item_value_model().as_int",
        "omni.ui.DockPreference.LEFT_BOTTOM",
        "omni.ui.Frame",
        "omni.ui.Frame().rebuild",
        "omni.ui.HStack",
        "omni.ui.Label",
        "omni.ui.Label().text",
        "omni.ui.Label().visible",
        "omni.ui.Plot",
        "omni.ui.ProgressBar",
        "omni.ui.ProgressBar().model.set_value",
        "omni.ui.ScrollingFrame",
        "omni.ui.StringField",
        "omni.ui.StringField().model.get_value_as_string",
        "omni.ui.StringField().model.set_value",
        "omni.ui.Type.LINE",
        "omni.ui.VStack",
        "omni.ui.Window",
        "omni.ui.Window().__init__",
        "omni.ui.Window().destroy",
        "omni.ui.Window().frame.rebuild",
        "omni.ui.Window().frame.set_build_fn",
        "omni.ui.Window().visible",
    ),
    SDK.format("omni.usd"): ("omni.usd.get_context", "omni.usd.get_context().get_stage"),
    SDK.format("omni.kit.menu.utils"): (
        "omni.kit.menu.utils.MenuItemDescription",
        "omni.kit.menu.utils.add_menu_items",
        "omni.kit.menu.utils.remove_menu_items",
    ),
    "ArticulationView.shared_metatype returns the ArticulationMetatype of omni.physics.tensors' compiled bindings "
    "(bindings/_physicsTensors, a .so with no .pyi stub)": (
        "omni.physics.tensors.api.ArticulationView.shared_metatype.dof_names",
        "omni.physics.tensors.api.ArticulationView.shared_metatype.fixed_base",
    ),
}
ABSENT_MODULES = ("omni.ui", "omni.usd", "omni.kit.menu.utils")
"""The modules :data:`NOT_CHECKABLE` calls absent from the wheels."""

FAKE_OBJECTS = {
    fake_kit.FakeApp: "omni.kit.app.IApp",
    fake_kit.FakeSettings: "carb.settings.ISettings",
    fake_kit.FakePhysX: "omni.physx.bindings._physx.PhysX",
    fake_kit.FakePhysxSimulation: "omni.physx.bindings._physx.IPhysxSimulation",
    fake_kit.FakeSimulationView: "omni.physics.tensors.SimulationView",
    fake_kit.FakeArticulationView: "omni.physics.tensors.api.ArticulationView",
}
"""Fake classes whose objects the real API returns (not constructed by our code: their constructors are the
fakes' own), by the real class."""


@pytest.fixture(scope="module")
def sources() -> Sources:
    venv = Path(os.environ.get(SOURCES_VENV, KIT_VENV))
    package = isaacsim_package(venv)
    if package is None:
        problem = f"no Isaac Sim wheels under {venv}: run bash scripts/setup_kit.sh"
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    version = (package / "VERSION").read_text().strip()
    assert version.startswith(ISAAC_SIM_VERSION), f"{package}: Isaac Sim {version}, the check is for 6.2"
    return Sources(package)


@pytest.fixture(scope="module")
def uses(sources):
    return check_code(sources, [load_module(path, EXT) for path in OUR_FILES], KNOWN_RETURNS)


def test_every_isaac_sim_and_kit_name_we_use_exists_in_6_2_with_a_fitting_signature(uses):
    checked = sorted({u.name for u in uses if u.status == "ok"})
    print(f"{len(checked)} names checked against the 6.2 sources:", *checked, sep="\n  ")
    errors = [str(u) for u in uses if u.status == "error"]
    assert not errors, "calls that Isaac Sim 6.2's sources do not have:\n" + "\n".join(errors)
    for name in (  # the check reached every part: the adapter, the stage, the cloner, PhysX and its tensor views
        "carb.settings.get_settings",
        "omni.kit.app._app.IApp.post_quit(...)",
        "omni.ext.IExt",
        "isaacsim.core.cloner.impl.grid_cloner.GridCloner.clone(...)",
        "isaacsim.core.simulation_manager.impl.simulation_manager.SimulationManager.set_device",
        "omni.physx.bindings._physx.IPhysxSimulation.simulate(...)",
        "omni.physics.tensors.api.create_simulation_view(...)",
        "omni.physics.tensors.api.ArticulationView.set_dof_actuation_forces(...)",
        "omni.physics.tensors.api.ArticulationView.set_dof_friction_coefficients",
    ):
        assert name in checked, f"{name} was not checked"


def test_the_names_not_checkable_here_are_exactly_those_classified(uses):
    unchecked = leaves(u.name for u in uses if u.status == "unchecked")
    listed = {name for names in NOT_CHECKABLE.values() for name in names}
    for reason, names in NOT_CHECKABLE.items():
        print(f"not checkable here ({reason}):", *names, sep="\n  ")
    where = {u.name: f"{u.file}:{u.line}" for u in uses}
    new = sorted(f"{name} ({where[name]})" for name in unchecked - listed)
    assert not new, (
        "names not in the 6.2 sources (misspelt, removed, or from a module the wheels lack): fix the call, or list "
        "it in NOT_CHECKABLE with the reason it cannot be checked here:\n" + "\n".join(new)
    )
    assert not listed - unchecked, f"classified but no longer used: {sorted(listed - unchecked)}"


def test_the_modules_classified_as_absent_are_not_in_the_wheels(sources):
    for name in ABSENT_MODULES:
        assert sources.module(name) is None, f"{name} is in the wheels: check its names instead of listing them"
    bindings = sources.module("omni.physics.tensors.bindings._physicsTensors")
    assert bindings is not None and bindings.compiled, "the tensor bindings now ship a stub: check shared_metatype"
    assert sources.module("isaacsim.core.api").deprecated, "isaacsim.core.api is only in extsDeprecated in 6.2"


# -- the fakes ------------------------------------------------------------------------------------------------------
def fake_params(function, method: bool) -> list[tuple[str, str, object]]:
    """``function``'s parameters as (name, kind, default; ``inspect.Parameter.empty`` when required)."""
    kinds = {
        inspect.Parameter.POSITIONAL_ONLY: "positional",
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "either",
        inspect.Parameter.VAR_POSITIONAL: "varargs",
        inspect.Parameter.KEYWORD_ONLY: "keyword",
        inspect.Parameter.VAR_KEYWORD: "varkw",
    }
    params = list(inspect.signature(function).parameters.values())[1 if method else 0 :]
    return [(p.name, kinds[p.kind], p.default) for p in params]


def differs(fake: list[tuple[str, str, object]], real: list[Param]) -> str | None:
    """How the fake's parameters differ from the real ones (pybind's ``argN`` names are positional only: any name
    fits; a default that is not a literal in the sources is compared only as present)."""
    if len(fake) != len(real):
        return f"{len(fake)} parameters, the real one {len(real)}"
    for (name, kind, default), param in zip(fake, real, strict=True):
        if param.kind == "positional" and kind in ("positional", "either"):
            pass
        elif (name, kind) != (param.name, param.kind):
            return f"parameter {name} ({kind}), the real one {param.name} ({param.kind})"
        if (default is inspect.Parameter.empty) != (param.default is None):
            return f"parameter {name}: {'required' if default is inspect.Parameter.empty else 'optional'} here only"
        if param.default not in (None, "()", "{}"):
            try:
                real_default = ast.literal_eval(param.default)
            except ValueError:
                continue
            if default != real_default:
                return f"parameter {name} defaults to {default!r}, the real one to {param.default}"
    return None


def compare(label: str, function, real, method: bool) -> str | None:
    if not isinstance(real, Func):
        return f"{label}: the real one is {'missing' if isinstance(real, Missing) else 'not a function'} ({real})"
    problems = [differs(fake_params(function, method), signature(real, node)) for node in real.nodes]
    return None if not all(problems) else f"{label}: {problems[0]} ({real.qualname})"


def own_methods(cls: type) -> dict[str, object]:
    """The public methods a fake class defines itself, ``__init__`` included when it has one."""
    methods = {}
    for name, value in vars(cls).items():
        function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
        if inspect.isfunction(function) and (not name.startswith("_") or name == "__init__"):
            methods[name] = (function, not isinstance(value, staticmethod))
    return methods


def fake_mismatches(sources: Sources) -> tuple[list[str], list[str]]:
    """(mismatches, names checked) of every fake callable whose real module the wheels ship."""
    problems, checked = [], []
    for module, fake in MODULES.items():
        if fake is None or sources.module(module) is None:
            continue
        for name, obj in vars(fake).items():
            if name.startswith("_") or not callable(obj):
                continue
            real = sources.resolve(f"{module}.{name}")
            if inspect.isclass(obj):
                if not isinstance(real, Cls):
                    problems.append(f"{module}.{name}: no such class in the sources ({real})")
                    continue
                for method, (function, bound) in own_methods(obj).items():
                    checked.append(f"{module}.{name}.{method}")
                    problems.append(compare(checked[-1], function, sources.member(real, method), bound))
            else:
                checked.append(f"{module}.{name}")
                problems.append(compare(checked[-1], obj, real, method=False))
    for cls, real_name in FAKE_OBJECTS.items():
        real = sources.resolve(real_name)
        assert isinstance(real, Cls), f"{real_name}: not a class in the sources"
        for method, (function, bound) in own_methods(cls).items():
            if method != "__init__":
                checked.append(f"{cls.__name__}.{method} ~ {real_name}.{method}")
                problems.append(compare(checked[-1], function, sources.member(Inst(real), method), bound))
    return [p for p in problems if p], checked


def test_the_fakes_have_the_signatures_of_the_real_callables(sources):
    problems, checked = fake_mismatches(sources)
    print(f"{len(checked)} fake callables compared with the 6.2 sources:", *checked, sep="\n  ")
    assert not problems, "fakes that differ from Isaac Sim 6.2:\n" + "\n".join(problems)
    assert "isaacsim.core.cloner.GridCloner.clone" in checked and len(checked) > 40


def test_every_fake_class_is_compared_or_fakes_a_module_the_wheels_lack(sources):
    classes = {
        module: [o for o in vars(fake).values() if inspect.isclass(o)] for module, fake in MODULES.items() if fake
    }
    reachable = {cls for found in classes.values() for cls in found}
    unshipped = {cls for module, found in classes.items() if sources.module(module) is None for cls in found}
    for name, obj in vars(fake_kit).items():
        if inspect.isclass(obj) and obj.__module__ == fake_kit.__name__:
            assert obj in reachable or obj in FAKE_OBJECTS or obj in unshipped, (
                f"fake_kit.{name}: map it in FAKE_OBJECTS"
            )


# -- the checker's own failure path (no wheels needed) --------------------------------------------------------------
SYNTHETIC_SOURCES = {
    "exts/isaacsim.core.cloner/isaacsim/core/cloner/__init__.py": "from .grid_cloner import *\n",
    "exts/isaacsim.core.cloner/isaacsim/core/cloner/grid_cloner.py": (
        "__all__ = ['GridCloner']\n"
        "class Cloner:\n"
        "    def clone(self, source_prim_path: str, prim_paths: list[str], replicate_physics: bool = False) -> None:\n"
        "        ...\n"
        "class GridCloner(Cloner):\n"
        "    def __init__(self, spacing: float, num_per_row: int = -1) -> None:\n"
        "        ...\n"
    ),
    "extsDeprecated/isaacsim.core.api/isaacsim/core/api/__init__.py": "class World:\n    pass\n",
    "kit/kernel/py/carb/settings/__init__.py": (
        "from ._settings import *\ndef get_settings() -> ISettings:\n    return acquire_settings_interface()\n"
    ),
    "kit/kernel/py/carb/settings/_settings.pyi": (
        "class ISettings:\n"
        "    def get(self, path: str) -> object: ...\n"
        "    def set_bool(self, arg0: str, arg1: bool) -> None: ...\n"
    ),
}
SYNTHETIC_CODE = """
import carb.settings
from isaacsim.core.api import World
from isaacsim.core.cloner import GridCloner
from isaacsim.core.clonerx import GridCloner as Misspelt


def clone():
    cloner = GridCloner(spacing=2.0)
    cloner.clone_all("/World/envs/env_0")
    cloner.clone("/a", [], replicate=True)
    GridCloner(1.0, 2, 3)
    carb.settings.get_settings().set_bool(path="/x", value=True)
    return carb.settings.get_settings().get("/x"), cloner.clone("/a", ["/b"], replicate_physics=True)
"""


def test_the_checker_reports_wrong_names_signatures_and_deprecated_modules(tmp_path):
    for path, text in SYNTHETIC_SOURCES.items():
        (tmp_path / "isaacsim" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "isaacsim" / path).write_text(text)
    (tmp_path / "code" / "ours.py").parent.mkdir()
    (tmp_path / "code" / "ours.py").write_text(SYNTHETIC_CODE)
    uses = check_code(Sources(tmp_path / "isaacsim"), [load_module(tmp_path / "code" / "ours.py", tmp_path / "code")])
    errors = {(u.line, u.detail) for u in uses if u.status == "error"}
    assert errors == {
        (3, "only in extsDeprecated: deprecated in this Isaac Sim"),
        (10, "isaacsim.core.cloner.grid_cloner.GridCloner has no clone_all"),
        (11, "has no keyword argument 'replicate' (it takes source_prim_path, prim_paths, replicate_physics)"),
        (12, "takes at most 2 positional arguments, the call gives 3"),
        (13, "has no keyword argument 'path' (it takes arg0, arg1)"),
    }, "\n".join(map(str, uses))
    unchecked = {u.name for u in uses if u.status == "unchecked"}
    assert unchecked == {"isaacsim.core.clonerx.GridCloner"}, "a module the sources lack is never passed as checked"
    ok = {u.name for u in uses if u.status == "ok"}
    assert {"carb.settings._settings.ISettings.get(...)", "isaacsim.core.cloner.grid_cloner.Cloner.clone(...)"} <= ok
