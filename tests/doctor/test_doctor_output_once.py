"""``doctor`` on a spec whose robot Newton corrects (an inertia that breaks the triangle inequality) says Newton's
correction once, and each of Newton's warnings once, though its checks load the robot more than once."""

from __future__ import annotations

import tomli_w
from isaac.rl.workbench.frontends.cli import main

from .test_usd_checks import _robot


def test_newtons_inertia_correction_is_said_once(tmp_path, capfd):
    scene = _robot(tmp_path / "arm.usda", inertia=(1.0, 0.1, 0.1))
    spec = {
        "scene": str(scene),
        "env": {"num_envs": 4},
        "actions": {"type": "joint_position", "scale": 0.5},
        "observations": {"policy": {"terms": ["joint_pos", "joint_vel"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    (tmp_path / "arm.toml").write_text(tomli_w.dumps(spec))
    main(["doctor", str(tmp_path / "arm.toml")])
    out = capfd.readouterr()
    lines = (out.out + out.err).splitlines()
    assert sum("Inertia validation corrected" in line for line in lines) == 1, lines
    warnings = [line for line in lines if "Warning: " in line]
    assert len(warnings) == len(set(warnings)), warnings
