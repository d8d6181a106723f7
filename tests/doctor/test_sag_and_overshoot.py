"""``doctor`` tells a joint that sags under gravity (a steady error in one direction: stiffness) from one that
overshoots (it rings: damping), and gives gains to paste for each."""

from __future__ import annotations

from isaac.rl.workbench.doctor.physics_checks import spec_checks
from isaac.rl.workbench.specs.loader import spec_from_table

from .walker import arm_robot


def test_sag_is_not_called_overshoot(tmp_path):
    table = {
        "scene": str(arm_robot(tmp_path / "arm.usda")),
        "actuators": {
            "lift": {"joints": ["lift"], "stiffness": 20.0, "damping": 6.0},  # 9.81 N·m of gravity: sags ~0.45 rad
            "pan": {"joints": ["pan"], "stiffness": 20.0, "damping": 0.1},  # no load, damping ratio 0.01: rings
        },
        "actions": {"type": "joint_position", "scale": 1.0},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    findings, fragment = spec_checks(spec_from_table(table, tmp_path / "arm.toml"))
    by_joint = {(f.check, f.message.split(":")[0]): f for f in findings if f.level != "ok"}
    sag = by_joint[("sag", "lift")]
    assert sag.level == "warning" and "a steady error in one direction" in sag.message, findings
    assert ("drive test", "lift") not in by_joint, "a sagging joint is not called overshooting"
    overshoot = by_joint[("drive test", "pan")]
    assert "overshot" in overshoot.message and "try damping" in overshoot.message, findings
    assert ("sag", "pan") not in by_joint, findings
    # both come back as tables to paste: lift stiffer, pan damped
    lift = fragment.split("[actuators.lift]")[1].split("\n\n")[0]
    assert float(lift.split("stiffness = ")[1].split()[0]) > 100, fragment
    pan = fragment.split("[actuators.pan]")[1].split("\n\n")[0]
    assert "stiffness = 20\n" in pan and float(pan.split("damping = ")[1].split()[0]) > 1.0, fragment
