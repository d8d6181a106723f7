"""Runs INSIDE Isaac Sim 6.2's real Kit kernel (``kit_launcher.run_kit`` passes it to ``--exec``) and writes what it
saw as JSON to ``$WORKBENCH_KIT_REPORT``; the tests assert on that. ``$WORKBENCH_KIT_MODE`` says how far it goes:

- ``solve``: what Kit's extension manager made of ``isaac.rl.workbench`` (id, version, folder, every manifest section
  as Kit parsed it), and each extension Kit's dependency solver cannot find for it: the solver names one at a time,
  so for each a STAND-IN extension (a FAKE of a Kit SDK extension not obtainable here) is written into
  ``$WORKBENCH_KIT_STUBS`` and the solver asked again, until it succeeds. Then the app quits with 0.
- ``lifecycle``: that, then the extension enabled, disabled and enabled again through Kit's extension manager (Kit
  applies ``[settings]`` to the real ``carb.settings``, imports the declared modules and calls the IExt's
  ``on_startup`` / ``on_shutdown``), then the Kit layer's app calls on Kit's own update loop; it quits through the
  extension's ``quit_app`` with :data:`QUIT_CODE`.
- ``autostart``: that, and the extension enabled: with ``autostart`` set on Kit's command line the extension's own
  code trains and quits the app; meanwhile a coroutine here counts, at each app update, the iterations in the run
  folder's ``metrics.jsonl``.

The stand-ins of ``omni.kit.menu.utils`` and ``omni.usd`` carry the FAKE Python modules of ``stub_modules/``
(``$WORKBENCH_KIT_STUB_MODULES``); the others are manifests only. Kit's own ``carb.settings``, ``omni.ext`` and
``omni.kit.app`` are real; so are the PhysX and cloner extensions of Isaac Sim's wheels, which Kit enables as
dependencies but whose native plugins cannot load here (they need the Kit SDK's USD libraries).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import re
import shutil
import sys
import traceback
from pathlib import Path

import carb.settings
import omni.kit.app

EXT_NAME = "isaac.rl.workbench"
SETTINGS_ROOT = f"/exts/{EXT_NAME}"
QUIT_CODE = 5
"""The exit code the lifecycle checks quit with through the extension's ``quit_app`` (no Kit path of its own
gives it)."""
APP_UPDATES = 3
MODE = os.environ["WORKBENCH_KIT_MODE"]
REPORT = Path(os.environ["WORKBENCH_KIT_REPORT"])
STUBS = Path(os.environ["WORKBENCH_KIT_STUBS"])
STUB_MODULES = Path(os.environ["WORKBENCH_KIT_STUB_MODULES"])
FAKE_MODULES = {"omni.kit.menu.utils": "omni_kit_menu_utils.py", "omni.usd": "omni_usd.py"}
"""Stand-in extension -> its FAKE Python module (in ``stub_modules/``)."""
MISSING = re.compile(r"No versions of (\S+) that satisfies: (\S+) depends on \S+ version (\S+)")

app = omni.kit.app.get_app()
manager = app.get_extension_manager()
report: dict = {"errors": []}


def write_report() -> None:
    REPORT.write_text(json.dumps(report, indent=1, default=str))


def extension_entry() -> dict | None:
    """Kit's entry for the extension (id, version, path, enabled), None when Kit did not discover it."""
    found = [e for e in manager.get_extensions() if e["name"] == EXT_NAME]
    return {k: found[0][k] for k in ("id", "name", "version", "path", "enabled")} if found else None


def write_stand_in(name: str, version: str) -> None:
    """A STAND-IN extension ``name`` at ``version`` in :data:`STUBS`: a manifest titled as a fake, with a FAKE
    Python module where :data:`FAKE_MODULES` has one."""
    folder = STUBS / name
    (folder / "config").mkdir(parents=True, exist_ok=True)
    manifest = f'[package]\nversion = "{version}"\ntitle = "FAKE stand-in: {name} is not obtainable here"\n'
    if name in FAKE_MODULES:
        manifest += f'\n[[python.module]]\nname = "{name}"\n'
        package = folder.joinpath(*name.split("."))
        package.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(STUB_MODULES / FAKE_MODULES[name], package / "__init__.py")
    (folder / "config" / "extension.toml").write_text(manifest)


def solve_with_stand_ins() -> list[dict]:
    """Each extension Kit's dependency solver could not find for ours (name, who depends on it, the version asked),
    in the order the solver named them; a stand-in of each is left in :data:`STUBS`."""
    missing: list[dict] = []
    for _ in range(100):
        solved, _exts, error = manager.solve_extensions([EXT_NAME], add_enabled=False, return_only_disabled=False)
        if solved:
            return missing
        match = MISSING.search(error)
        if match is None:
            raise RuntimeError(f"Kit's solver failed for another reason: {error}")
        name, needed_by, version = match.groups()
        missing.append({"name": name, "needed_by": needed_by.rsplit("-", 1)[0], "version": version})
        write_stand_in(name, "1.0.0" if version == "*" else version.lstrip("=^~"))
        manager.remove_path(str(STUBS))
        manager.add_path(str(STUBS))
        manager.process_and_apply_all_changes()
    raise RuntimeError("Kit's solver kept asking for more extensions")


def enable(enabled: bool) -> dict:
    """Enable or disable the extension through Kit's extension manager; what Kit and the fake menu hold then."""
    returned = manager.set_extension_enabled_immediate(EXT_NAME, enabled)
    menu = sys.modules["omni.kit.menu.utils"].MENUS.get("Window", []) if "omni.kit.menu.utils" in sys.modules else []
    state = {"returned": returned, "enabled": manager.is_extension_enabled(EXT_NAME), "menu": [i.name for i in menu]}
    if menu:  # the item calls the IExt's toggle_window: the instance Kit started
        extension = menu[-1].onclick_fn.__self__
        state["extension_class"] = f"{type(extension).__module__}.{type(extension).__qualname__}"
        state["is_omni_ext_iext"] = isinstance(extension, sys.modules["omni.ext"].IExt)
        state["extension_settings"] = extension.settings
        state["window_visible"] = extension.window_visible()
        state["menu_item_ticked"] = menu[-1].ticked_fn()
    return state


async def app_calls(adapter) -> None:
    """The Kit layer's app calls on Kit's own loop; then the report, and the app quits through ``quit_app``."""
    code = QUIT_CODE
    try:
        report["task_on_kits_loop"] = asyncio.current_task() is not None
        updates = []
        for _ in range(APP_UPDATES):
            await adapter.next_update()
            updates.append(app.get_update_number())
        report["update_numbers"] = updates
        held = {}
        for hold in (True, False):
            adapter.hold_app_physics(hold)
            held[str(hold)] = carb.settings.get_settings().get(adapter.APP_STEPS_PHYSICS)
        report["app_steps_physics"] = held
    except Exception:
        report["errors"].append(traceback.format_exc())
        code = 1
    report["quit_code_asked"] = code
    write_report()
    adapter.quit_app(code)


async def count_iterations(metrics: Path) -> None:
    """At each app update, the app update's number and the iterations ``metrics`` (JSON lines) holds, written into
    the report whenever the count changes (the app quits right after the last one)."""
    seen: list[list[int]] = []
    report["iterations_by_update"] = seen
    while len(seen) < 100_000:
        await app.next_update_async()
        count = len(metrics.read_text().splitlines()) if metrics.is_file() else 0
        if not seen or count != seen[-1][1]:
            seen.append([app.get_update_number(), count])
            write_report()


def main() -> None:
    entry = extension_entry()
    report["discovered"] = entry
    if entry is None:
        raise RuntimeError(f"Kit did not discover {EXT_NAME}")
    manifest = manager.get_extension_dict(entry["id"]).get_dict()
    report["manifest"] = {k: manifest.get(k) for k in ("package", "dependencies", "python", "settings", "test")}
    report["missing"] = solve_with_stand_ins()
    if MODE == "solve":
        write_report()
        app.post_quit(0)
        return
    report["enable"] = enable(True)
    report["carb_settings"] = carb.settings.get_settings().get(SETTINGS_ROOT)
    report["module_files"] = {m["name"]: sys.modules[m["name"]].__file__ for m in manifest["python"]["module"]}
    if MODE == "autostart":
        run_dir = Path(carb.settings.get_settings().get(f"{SETTINGS_ROOT}/run_dir"))
        asyncio.ensure_future(count_iterations(run_dir / "metrics.jsonl"))
        report["physics_versions"] = {p: importlib.metadata.version(p) for p in ("newton", "mujoco", "warp-lang")}
        write_report()
        return
    report["disable"] = enable(False)
    report["enable_again"] = enable(True)
    adapter = sys.modules["isaac.rl.workbench.frontends.kit.isaacsim_adapter"]  # as Kit imported it
    report["start_task_returned"] = type(adapter.start_task(app_calls(adapter))).__name__


try:
    main()
except Exception:
    report["errors"].append(traceback.format_exc())
    write_report()
    app.post_quit(1)
