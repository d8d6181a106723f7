"""FAKES of the Kit and Isaac Sim modules the extension imports. Where Isaac Sim 6.2's wheels ship the real module,
each fake callable has its signature (``test_isaacsim_api_sources.py`` compares them); omni.ui, omni.usd and
omni.kit.menu.utils, which the wheels lack, are written from their documentation.

They are NOT Kit. They exist so CI can drive the extension's wiring (menu -> window -> panel model -> worker ->
plots; shutdown) and the PhysX engine of ``backend/`` through the engine registry without omni.ui, omni.usd and
PhysX, which cannot be enabled here. Passing tests against them proves that wiring only; it proves nothing about how
the real omni.ui, omni.physx or the cloner behave (``tests/frontends/kit/real_kit/`` runs what the real kernel
gives: carb.settings, omni.ext, omni.kit.app). :func:`install` puts them into ``sys.modules`` (through pytest's
``monkeypatch``, so each test gets them back out); nothing else imports them.
"""

from __future__ import annotations

import sys
import types

from . import fake_kit, fake_ui

MODULES = {
    "omni": None,
    "omni.ui": fake_ui,
    "omni.ext": fake_kit.ext,
    "omni.kit": None,
    "omni.kit.app": fake_kit.app,
    "omni.kit.menu": None,
    "omni.kit.menu.utils": fake_kit.menu_utils,
    "omni.usd": fake_kit.usd,
    "omni.physx": fake_kit.physx,
    "omni.physics": None,
    "omni.physics.tensors": fake_kit.tensors,
    "carb": None,
    "carb.settings": fake_kit.settings,
    "isaacsim": None,
    "isaacsim.core": None,
    "isaacsim.core.cloner": fake_kit.cloner,
    "isaacsim.core.simulation_manager": fake_kit.simulation_manager,
}
IMPORTING_THEM = ("isaac.rl.workbench.frontends.kit", "isaac.rl.workbench.backend.physx")
"""The package modules that import the fakes: the Kit layer, and the PhysX engine of ``backend/``."""


def install(monkeypatch) -> None:
    """Put the fakes into ``sys.modules`` (parents as empty packages) and forget any module that imported earlier
    fakes (:data:`IMPORTING_THEM`); ``monkeypatch`` undoes all of it after the test."""
    for name, module in MODULES.items():
        if module is None:
            module = types.ModuleType(name)
            module.__path__ = []
        monkeypatch.setitem(sys.modules, name, module)
        parent, _, child = name.rpartition(".")
        if parent:
            monkeypatch.setattr(sys.modules[parent], child, module, raising=False)
    for name in [n for n in sys.modules if n.startswith(IMPORTING_THEM)]:
        monkeypatch.delitem(sys.modules, name)
    fake_kit.reset()
    fake_ui.reset()
