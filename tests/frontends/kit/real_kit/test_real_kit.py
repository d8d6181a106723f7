"""The extension in Isaac Sim 6.2's REAL Kit kernel (``.venv-kit``, headless, no GPU; ``in_kit_checks.py`` runs
inside it): Kit discovers ``isaac.rl.workbench`` at the manifest's version and parses its modules, settings and test
section as ``config/extension.toml`` declares them; Kit's dependency solver misses exactly the Kit SDK extensions
known to be unobtainable here (:data:`UNOBTAINABLE`), so a misspelt or removed dependency fails; with stand-ins of
those, the extension enables, Kit holds exactly the manifest's ``[settings]`` in the real ``carb.settings``, Kit
calls the IExt's ``on_startup`` / ``on_shutdown`` (a FAKE menu records the Window item), and the Kit layer's app
calls run on Kit's own update loop. Not here (not obtainable): omni.ui, the real menu, omni.usd, PhysX, the cloner.
One kernel run serves all lifecycle checks; the misspelt-dependency check starts one more (solve only)."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest

from .kit_launcher import EXTS, KitRun, run_checks

EXT = EXTS / "isaac.rl.workbench"
MANIFEST = tomllib.loads((EXT / "config" / "extension.toml").read_text())
DECLARED_SETTINGS = MANIFEST["settings"]["exts"]["isaac.rl.workbench"]
QUIT_CODE = 5  # in_kit_checks.QUIT_CODE: the lifecycle checks quit with it through the extension's quit_app
NEEDED = {
    "omni.kit.uiapp": "Kit's UI app",
    "omni.ui": "the panel's widgets (window.py, window_spec.py)",
    "omni.kit.menu.utils": "the Window menu item (isaacsim_adapter.py)",
    "omni.usd": "the stage (isaacsim_adapter.py, backend/physx_stage.py)",
    "omni.physx": "PhysX on the stage (backend/physx_stage.py)",
    "omni.physics.tensors": "the articulation views (backend/physx_backend.py)",
    "isaacsim.core.cloner": "cloning the envs (backend/physx_stage.py)",
    "isaacsim.core.simulation_manager": "the physics device of a PhysX run (backend/physx_stage.py)",
}
"""The extensions the extension's code needs, with where: a dependency removed from the manifest (even one that
another still pulls in) fails."""
KIT_SDK = "Kit SDK: isaacsim-extscache-kit is a stub for NVIDIA's index, -kit-sdk has no x86_64 Linux wheel"
UNOBTAINABLE = {
    # the extension's own dependencies
    "omni.kit.uiapp": KIT_SDK,
    "omni.ui": KIT_SDK,
    "omni.kit.menu.utils": KIT_SDK,
    "omni.usd": KIT_SDK,
    # what omni.physx, omni.physics.tensors (isaacsim-extscache-physics) and their extensions need
    "omni.usd.schema.physx": KIT_SDK + " (PhysX's USD schema)",
    "omni.usdphysics": KIT_SDK + " (UsdPhysics parsing)",
    "omni.gpucompute.plugins": KIT_SDK + " (GPU compute)",
    "omni.usd.libs": KIT_SDK + " (Kit's OpenUSD build)",
    "usdrt.scenegraph": KIT_SDK + " (Fabric's USD runtime)",
    "omni.convexdecomposition": KIT_SDK + " (collision cooking)",
    "omni.ujitso.default": KIT_SDK + " (build cache)",
    "omni.gpu_foundation": KIT_SDK + " (GPU foundation)",
    # what isaacsim.core.cloner (isaacsim-core) needs through isaacsim.core.simulation_manager and friends
    "omni.usdex.libs": KIT_SDK + " (OpenUSD Exchange)",
    "omni.hydra.usdrt_delegate": KIT_SDK + " (Hydra)",
    "omni.kit.stage_templates": KIT_SDK,
    "omni.usd.metrics.assembler": KIT_SDK,
    "omni.warp.core": KIT_SDK + " (Warp as a Kit extension)",
}
"""Every extension Kit's solver cannot find for ours here, with why; the rest of the dependency tree (omni.physx,
omni.physics.tensors, isaacsim.core.cloner and what they need) is in Isaac Sim's wheels."""


def solver_problems(missing: list[dict]) -> list[str]:
    """What is wrong with the solver's complaints ``missing`` (name, needed_by): a name not known to be unobtainable
    here (a misspelt dependency, or one the wheels lost), or a known one no longer asked for (a dependency
    removed)."""
    names = [m["name"] for m in missing]
    problems = [
        f"{m['name']} (a dependency of {m['needed_by']}) is not found and not known to be unobtainable: misspelt?"
        for m in missing
        if m["name"] not in UNOBTAINABLE
    ]
    problems += [
        f"{name} is no longer asked for: was a dependency removed?" for name in UNOBTAINABLE if name not in names
    ]
    return problems


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> KitRun:
    """One run of the real kernel with the lifecycle checks."""
    return run_checks(tmp_path_factory.mktemp("kit"), "lifecycle")


def test_kit_discovers_the_extension_at_the_manifests_version(kit):
    found = kit.report["discovered"]
    assert found["name"] == "isaac.rl.workbench" and Path(found["path"]) == EXT
    assert ".".join(str(v) for v in found["version"][:3]) == MANIFEST["package"]["version"]
    assert kit.report["manifest"]["package"]["title"] == MANIFEST["package"]["title"]
    assert kit.seconds < 60, f"the kernel run took {kit.seconds:.0f} s"


def test_kit_parses_the_dependencies_python_modules_settings_and_test_section_as_declared(kit):
    parsed = kit.report["manifest"]
    assert parsed["dependencies"] == MANIFEST["dependencies"]
    assert sorted(parsed["dependencies"]) == sorted(NEEDED), "the dependencies the code needs"
    assert parsed["python"]["module"] == MANIFEST["python"]["module"]
    assert parsed["settings"]["exts"]["isaac.rl.workbench"] == DECLARED_SETTINGS
    assert parsed["test"] == MANIFEST["test"]


def test_the_solver_misses_exactly_the_kit_sdk_extensions_unobtainable_here(kit):
    missing = kit.report["missing"]
    assert solver_problems(missing) == []
    assert len(missing) == len(UNOBTAINABLE), "each named once"


def test_a_misspelt_dependency_in_a_copy_of_the_extension_is_reported(tmp_path):
    copy = tmp_path / "exts" / "isaac.rl.workbench"
    shutil.copytree(EXT, copy, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = copy / "config" / "extension.toml"
    text = manifest.read_text()
    assert '"omni.kit.menu.utils" = {}' in text, "test setup: the dependency to misspell"
    manifest.write_text(text.replace('"omni.kit.menu.utils" = {}', '"omni.kit.menu.utilz" = {}'))
    run = run_checks(tmp_path, "solve", ext_folder=copy.parent)
    assert Path(run.report["discovered"]["path"]) == copy
    problems = solver_problems(run.report["missing"])
    assert any(p.startswith("omni.kit.menu.utilz (a dependency of isaac.rl.workbench) is not found") for p in problems)
    assert "omni.kit.menu.utils is no longer asked for: was a dependency removed?" in problems
    assert len(problems) == 2, problems
    assert run.exit_code == 0


def test_enabled_kit_holds_exactly_the_declared_settings_in_carb_settings(kit):
    enabled = kit.report["enable"]
    assert enabled["returned"] and enabled["enabled"]
    held = kit.report["carb_settings"]
    assert held == DECLARED_SETTINGS
    assert {k: type(v) for k, v in held.items()} == {k: type(v) for k, v in DECLARED_SETTINGS.items()}
    assert enabled["extension_settings"] == DECLARED_SETTINGS, "read_settings reads them through carb.settings"


def test_kit_imports_the_declared_modules_from_this_folder_without_an_error_of_ours(kit):
    package = EXT / "isaac" / "rl" / "workbench"
    files = kit.report["module_files"]
    assert files == {
        "isaac.rl.workbench": str(package / "__init__.py"),
        "isaac.rl.workbench.frontends.kit": str(package / "frontends" / "kit" / "__init__.py"),
    }
    errors = [line for line in kit.output.splitlines() if "[Error]" in line and "isaac.rl.workbench" in line]
    assert errors == [], "Kit logged errors of the extension"


def test_kit_starts_stops_and_restarts_the_iext_with_one_window_menu_item(kit):
    started, stopped, again = kit.report["enable"], kit.report["disable"], kit.report["enable_again"]
    assert started["extension_class"] == "isaac.rl.workbench.frontends.kit.extension.RLWorkbenchExtension"
    assert started["is_omni_ext_iext"], "a real omni.ext.IExt"
    assert started["menu"] == ["RL Workbench"] and not started["window_visible"] and not started["menu_item_ticked"]
    assert stopped["returned"] and not stopped["enabled"] and stopped["menu"] == [], "on_shutdown removed the item"
    assert again["enabled"] and again["menu"] == ["RL Workbench"], "enabled again: one item, not two"
    stamps = re.findall(r"\[ext: isaac\.rl\.workbench-[\d.]+\] (startup|shutdown)", kit.output)
    assert stamps[:3] == ["startup", "shutdown", "startup"]


def test_the_kit_layers_app_calls_run_on_kits_update_loop_and_quit_with_its_code(kit):
    assert kit.report["start_task_returned"] == "Task" and kit.report["task_on_kits_loop"]
    updates = kit.report["update_numbers"]
    assert [b - a for a, b in zip(updates, updates[1:], strict=False)] == [1, 1], "next_update: one app update each"
    assert kit.report["app_steps_physics"] == {"True": False, "False": True}, "hold_app_physics through carb"
    assert kit.report["quit_code_asked"] == QUIT_CODE
    assert kit.exit_code == QUIT_CODE, "quit_app's code is the process's exit code"
