"""``doctor`` on example-robot-data's UR5 and Panda with the spec ``import`` prints: the shoulder (UR5's
shoulder_lift, Panda's joint2), stiff enough to hold the arm, reaches its effort limit on a 0.2 rad step and is told
it saturates, not that it rings; the Panda's 0.04 m fingers get a 0.01 m step and follow it."""

from __future__ import annotations

import tomllib

import pytest
from isaac.rl.workbench.doctor.physics_checks import spec_checks
from isaac.rl.workbench.specs.loader import spec_from_table

from .test_suggested_gains import _printed_fragment

SHOULDER = {"ur5": ("shoulder_lift_joint", 150), "panda": ("panda_joint2", 87)}  # joint, the file's effort limit


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SHOULDER))
def test_a_shoulder_at_its_effort_limit_saturates_and_the_fingers_follow_their_step(tmp_path, name):
    raw = tomllib.loads(_printed_fragment(name, tmp_path))
    raw |= {
        "env": {"num_envs": 1},
        "actions": {"type": "joint_position", "scale": 0.25},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    findings, fragment = spec_checks(spec_from_table(raw, tmp_path / "spec.toml"))
    drive = {f.message.split(":")[0]: f.message for f in findings if f.check == "drive test" and f.level != "ok"}
    joint, limit = SHOULDER[name]
    assert set(drive) == {joint}, findings  # the fingers too follow: no "too slow"
    says = f"{joint}: saturates at its effort limit {limit} N·m on a 0.2 rad step: the step needs"
    assert drive[joint].startswith(says) and "overshot to" in drive[joint], drive
    assert "try damping" not in drive[joint] and f"[actuators.{joint}]" not in fragment, fragment
    assert not [f for f in findings if f.level == "problem"], findings
