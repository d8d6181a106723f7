"""``doctor``'s drive test names the cause of a joint that misses its step: a drive at its effort limit saturates
(a smaller step, or a larger effort limit, not damping), an underdamped one overshoots (damping to paste); and a
joint of small range (a gripper's finger) is stepped by a share of its range, not past its limits."""

from __future__ import annotations

import math

import pytest
from isaac.rl.workbench.doctor.drive_test import DRIVE_STEP, drive_step
from isaac.rl.workbench.doctor.physics_checks import spec_checks
from isaac.rl.workbench.scene.suggested_gains import suggested_gains
from isaac.rl.workbench.specs.loader import spec_from_table

from .walker import arm_robot, slider_robot

LIFT_INERTIA = 2.0 * 0.5**2 + 0.01  # [kg·m²] the arm's 2 kg link 0.5 m out, and its own inertia
LIFT_LOAD = 2.0 * 9.81 * 0.5  # [N·m] gravity on it, held out


def _spec(tmp_path, scene, actuators: dict):
    table = {
        "scene": str(scene),
        "actuators": actuators,
        "actions": {"type": "joint_position", "scale": 1.0},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    return spec_from_table(table, tmp_path / "spec.toml")


def _drive_findings(findings) -> dict[str, object]:
    return {f.message.split(":")[0]: f for f in findings if f.check == "drive test" and f.level != "ok"}


def test_a_drive_at_its_effort_limit_saturates_and_an_underdamped_one_overshoots(tmp_path):
    """lift: the rule's gains for an effort limit of 12 N·m (the stiffness that reaches it 0.02 rad from the target,
    critically damped), where its 0.2 rad step asks ~120: down, with gravity, it brakes with 2 N·m and runs past the
    target, whatever its damping. pan: no load, an effort limit it never reaches, damping ratio 0.01: it rings."""
    gains = suggested_gains(LIFT_INERTIA, LIFT_LOAD, effort_limit=12.0)
    assert gains.stiffness * DRIVE_STEP > 12.0  # the step asks more than the motor has
    actuators = {
        "lift": {"joints": ["lift"], "stiffness": gains.stiffness, "damping": gains.damping, "effort_limit": 12.0},
        "pan": {"joints": ["pan"], "stiffness": 20.0, "damping": 0.1, "effort_limit": 12.0},
    }
    findings, fragment = spec_checks(_spec(tmp_path, arm_robot(tmp_path / "arm.usda"), actuators))
    others = [f for f in findings if f.level != "ok" and f.check != "drive test" and f.message.startswith("lift")]
    assert not others, "lift's gains hold it and are stable: only its step finds the limit"
    drive = _drive_findings(findings)
    lift = drive["lift"].message
    assert drive["lift"].level == "warning", findings
    assert "saturates at its effort limit 12 N·m on a 0.2 rad step: the step needs" in lift, lift
    assert "overshot to" in lift and "whatever its damping" in lift and "raise effort_limit" in lift, lift
    assert "try damping" not in lift, "a saturated drive is not told to raise its damping"
    needs = float(lift.split("the step needs ")[1].split(" N·m")[0])
    assert needs == pytest.approx(gains.stiffness * DRIVE_STEP, rel=1e-2), lift
    assert "[actuators.lift]" not in fragment, "no gains to paste for a saturated drive"
    pan = drive["pan"].message
    assert pan.startswith("pan: overshot a 0.2 rad step to") and "try damping" in pan, pan
    assert "saturates" not in pan, pan
    assert float(fragment.split("[actuators.pan]")[1].split("damping = ")[1].split()[0]) > 1.0, fragment


def test_a_finger_of_small_range_is_stepped_by_a_share_of_it_and_follows_with_good_gains(tmp_path):
    """A 0.04 m finger (a Panda's) gets a 0.01 m step, inside its limits; with the rule's gains it follows."""
    gains = suggested_gains(0.05, 0.0)  # 0.05 kg, no gravity load along X
    actuators = {"finger": {"joints": ["slide"], "stiffness": gains.stiffness, "damping": gains.damping}}
    findings, _ = spec_checks(_spec(tmp_path, slider_robot(tmp_path / "hand.usda"), actuators))
    assert not _drive_findings(findings), findings
    (ok,) = [f for f in findings if f.check == "drive test"]
    assert ok.message == "all 1 action joints follow their step: 0.25 of the range where that is smaller: slide 0.01 m"


@pytest.mark.parametrize(
    ("lower", "upper", "step"),
    [(0.0, 0.04, 0.01), (-math.pi, math.pi, DRIVE_STEP), (0.0, 0.6, 0.15), (-math.inf, math.inf, DRIVE_STEP)],
)
def test_the_step_is_a_quarter_of_a_small_range(lower, upper, step):
    assert drive_step(lower, upper) == pytest.approx(step)
