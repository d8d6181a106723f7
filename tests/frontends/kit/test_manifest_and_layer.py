"""``config/extension.toml`` is complete and names files and modules that exist; the settings the Kit layer reads
are exactly those it declares; the Kit layer stays thin (its imports, its share of the package's lines) and lays
out the same spec keys as the browser panel. Static checks: no Kit, no fakes needed except to import the window's
key lists."""

from __future__ import annotations

import ast
import importlib.util
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement
from PIL import Image

from ...conftest import REPO
from .fakes import install

EXT = REPO / "exts" / "isaac.rl.workbench"
PACKAGE = EXT / "isaac" / "rl" / "workbench"
KIT = PACKAGE / "frontends" / "kit"
MANIFEST = tomllib.loads((EXT / "config" / "extension.toml").read_text())
KIT_MODULES = sorted(p for p in KIT.glob("*.py"))
PHYSX_MODULES = sorted((PACKAGE / "backend").glob("physx_*.py"))  # the PhysX engine, which Kit runs too
# which Kit-layer module may import which outside module (the adapter holds every Kit app call; PhysX, the stage's
# clones and the cloner are the backend's)
OUTSIDE_IMPORTS = {
    "isaacsim_adapter.py": ("omni.kit", "carb", "pxr"),
    "window.py": ("omni.ui",),
    "window_spec.py": ("omni.ui",),
    "extension.py": ("omni.ext",),
}
KIT_ROOTS = ("omni", "carb", "pxr", "isaacsim")


def load_settings_module():
    """``frontends/kit/settings.py`` on its own (the package's ``__init__`` imports Kit)."""
    spec = importlib.util.spec_from_file_location("kit_settings", KIT / "settings.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def imports_of(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module)
    return names


def test_the_manifest_has_what_the_extensions_window_shows():
    package = MANIFEST["package"]
    for key in ("version", "title", "description", "category", "keywords", "readme", "changelog", "icon"):
        assert package.get(key), key
    for key in ("readme", "changelog", "icon", "preview_image"):
        assert (EXT / package[key]).is_file(), package[key]
    assert MANIFEST["core"]["reloadable"] is False
    assert MANIFEST["test"][0]["dependencies"] and MANIFEST["test"][0]["timeout"] > 0


@pytest.mark.parametrize(("image", "size"), [("icon", (256, 256)), ("preview_image", None)])
def test_the_images_are_real_pictures(image, size):
    picture = Image.open(EXT / MANIFEST["package"][image])
    assert picture.format == "PNG" and (size is None or picture.size == size)
    assert np.asarray(picture.convert("L"), dtype=float).std() > 10, "not a blank placeholder"


def test_the_python_modules_exist_and_the_kit_one_exports_an_extension():
    names = [m["name"] for m in MANIFEST["python"]["module"]]
    assert names == ["isaac.rl.workbench", "isaac.rl.workbench.frontends.kit"]
    for name in names:
        assert (EXT / Path(*name.split(".")) / "__init__.py").is_file(), name
    tree = ast.parse((KIT / "extension.py").read_text())
    bases = [ast.unparse(b) for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for b in c.bases]
    assert "omni.ext.IExt" in bases
    assert "RLWorkbenchExtension" in (KIT / "__init__.py").read_text()
    assert (KIT / "tests" / "__init__.py").is_file(), "Kit finds a module's tests in its 'tests' submodule"


def test_every_kit_extension_imported_is_a_dependency():
    declared = set(MANIFEST["dependencies"])
    modules = KIT_MODULES + PHYSX_MODULES
    imported = {n for p in modules for n in imports_of(p) if n.split(".")[0] in ("omni", "isaacsim")}
    needs = {"omni.ui", "omni.kit.menu.utils", "omni.usd", "omni.physx", "omni.physics.tensors", "isaacsim.core.cloner"}
    assert needs <= imported and needs <= declared


def test_pip_requirements_are_the_projects_less_what_isaac_sim_ships():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    requirements = MANIFEST["python"]["pipapi"]["requirements"]
    names = {Requirement(r).name for r in requirements}  # ranges here, the tested pins in pyproject
    assert names <= {Requirement(p).name for p in project}
    assert not names & {"torch", "usd-core", "numpy", "viser"}, "Kit ships torch and pxr; the Kit panel needs no viser"


def test_the_settings_read_are_exactly_those_declared():
    declared = MANIFEST["settings"]["exts"]["isaac.rl.workbench"]
    table = {s.name: s.default for s in load_settings_module().SETTINGS}
    assert table == declared, "settings.py's table and extension.toml's [settings] differ"
    read = set()
    for path in KIT_MODULES:
        text = path.read_text()
        if path.name != "settings.py":
            assert "/exts/isaac.rl.workbench" not in text, f"{path.name} reads a setting around the table"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("settings"):
                if isinstance(node.slice, ast.Constant):
                    read.add(node.slice.value)
    assert read == set(declared), f"read but not declared: {read - set(declared)}; unused: {set(declared) - read}"


def test_only_the_adapter_calls_kit_and_isaac_sim():
    for path in KIT_MODULES:
        allowed = OUTSIDE_IMPORTS.get(path.name, ())
        for name in imports_of(path):
            if name.split(".")[0] in KIT_ROOTS:
                assert name.startswith(allowed), f"{path.name} imports {name}"


def test_the_kit_layer_holds_no_training_spec_or_term_logic_and_is_under_a_tenth_of_the_package():
    for path in KIT_MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 3 and node.module:
                assert not node.module.startswith(("learn", "backend.newton")), f"{path.name}: {node.module}"
    package_lines = sum(len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py") if "tests" not in p.parts)
    kit_lines = sum(len(p.read_text().splitlines()) for p in KIT_MODULES)
    assert kit_lines < 0.10 * package_lines, f"the Kit layer is {kit_lines} of {package_lines} lines"


def test_the_window_lists_the_term_tables_the_browser_panel_lists(monkeypatch):
    from isaac.rl.workbench.frontends.web import spec_sections as web

    install(monkeypatch)
    from isaac.rl.workbench.frontends.kit import window_spec as kit

    assert list(kit.TERM_TITLES) == list(web.TERM_ORDER)
