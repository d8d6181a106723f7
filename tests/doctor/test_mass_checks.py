"""``doctor``'s mass check asks the spec's physics engine (``env.physics``) through the registry: Newton names each
body whose inertia its validation corrects; an engine absent here is refused in one line."""

from __future__ import annotations

import importlib.util

import pytest
from isaac.rl.workbench.backend.base import BackendError
from isaac.rl.workbench.doctor.physics_checks import mass_checks
from isaac.rl.workbench.specs.loader import spec_from_table

from .test_usd_checks import _robot


def _spec(scene, physics: str):
    table = {
        "scene": str(scene),
        "env": {"physics": physics},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    return spec_from_table(table, scene.parent / "arm.toml")


def test_newton_names_the_body_whose_inertia_it_corrects(tmp_path):
    assert mass_checks(_spec(_robot(tmp_path / "sound.usda"), "newton")) == []
    findings = mass_checks(_spec(_robot(tmp_path / "arm.usda", inertia=(1.0, 0.1, 0.1)), "newton"))
    assert findings and all((f.level, f.check) == ("warning", "inertia") for f in findings)
    assert all(f.message.startswith("Newton: ") and "'/arm/link'" in f.message for f in findings), findings
    assert any("triangle inequality" in f.message for f in findings), findings


@pytest.mark.skipif(importlib.util.find_spec("omni") is not None, reason="Isaac Sim's omni packages are here")
def test_a_physx_spec_outside_isaac_sim_is_refused_in_one_line(tmp_path):
    with pytest.raises(BackendError, match=r'^env.physics = "physx" needs Isaac Sim\'s PhysX tensor API'):
        mass_checks(_spec(_robot(tmp_path / "arm.usda"), "physx"))
