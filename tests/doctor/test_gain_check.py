"""``doctor``'s gain check: the inertia a joint's PD moves comes from the physics, the verdict "diverges" agrees
with what the physics then does, and the suggested gains are stable and critically damped."""

from __future__ import annotations

import math

import pytest
import torch
from isaac.rl.workbench.doctor.gain_check import JointGains, check_gains, step_growth, suggested_actuators
from isaac.rl.workbench.specs.loader import load_spec

PHYSICS_DT = 0.005


def _joint(stiffness: float, damping: float, inertia: float = 0.01, explicit: bool = False) -> JointGains:
    return JointGains(name="knee", stiffness=stiffness, damping=damping, inertia=inertia, explicit=explicit)


def test_a_step_diverges_past_the_explicit_limits_and_implicit_damping_tames_a_stiff_spring():
    # undamped spring: semi-implicit Euler is stable up to omega * dt = 2
    assert step_growth(_joint(0.01 * (1.9 / PHYSICS_DT) ** 2, 0.0), PHYSICS_DT) == pytest.approx(1.0)
    assert step_growth(_joint(0.01 * (2.1 / PHYSICS_DT) ** 2, 0.0), PHYSICS_DT) > 1.0
    # damping d * dt / I = 2.5: diverges when explicit (an explicit actuator), stable when the solver's implicit drive
    assert step_growth(_joint(1.0, 5.0, explicit=True), PHYSICS_DT) > 1.0
    assert step_growth(_joint(1.0, 5.0, explicit=False), PHYSICS_DT) < 1.0
    # a spring past omega * dt = 2, held by heavy implicit damping (an SO-101 wrist with arm-sized gains)
    assert step_growth(_joint(20.0, 1.0, inertia=4e-5), PHYSICS_DT) < 1.0


@pytest.mark.parametrize(
    ("joint", "level", "says"),
    [
        (_joint(25.0, 0.5, inertia=0.01), None, ""),  # 8 Hz, damping ratio 0.5: fine
        (_joint(400.0, 0.5, inertia=0.01), "warning", "underdamped (damping ratio 0.12) at 31.8 Hz"),
        (_joint(25.0, 0.05, inertia=0.01), "warning", "damping ratio 0.05: it rings"),
        (_joint(25.0, 10.0, inertia=0.01), "warning", "lags behind its targets (time constant 0.4 s"),
        (_joint(2e4, 1.0, inertia=0.01, explicit=True), "problem", "diverges"),
    ],
)
def test_each_verdict_names_the_joint_its_numbers_and_stable_critically_damped_gains(joint, level, says):
    findings, suggestions = check_gains([joint], PHYSICS_DT, env_dt=0.02)
    if level is None:
        assert [f.level for f in findings] == ["ok"] and not suggestions, findings
        assert "stable at the 200 Hz physics rate" in findings[0].message
        return
    (finding,) = findings
    assert finding.level == level and finding.check == "gains" and says in finding.message, finding
    assert finding.message.startswith(f"knee: stiffness {joint.stiffness:g}, damping {joint.damping:g}")
    stiffness, damping = suggestions["knee"]
    assert f"try stiffness {stiffness:.3g}, damping {damping:.3g}" in finding.message
    suggested = JointGains("knee", stiffness, damping, joint.inertia, joint.explicit)
    assert step_growth(suggested, PHYSICS_DT) < 1.0
    assert check_gains([suggested], PHYSICS_DT, env_dt=0.02)[0][0].level == "ok"
    assert damping / (2 * math.sqrt(stiffness * joint.inertia)) == pytest.approx(1.0, abs=0.1)


def test_suggestions_become_actuator_tables_that_say_which_group_to_leave():
    text = suggested_actuators({"wrist": (2.0, 0.04)}, {"arm": ["shoulder", "wrist"]})
    assert text.splitlines() == [
        "[actuators.wrist]  # take wrist out of [actuators.arm] joints",
        'joints = ["wrist"]',
        "stiffness = 2",
        "damping = 0.04",
    ]


@pytest.mark.slow
def test_the_inertias_come_from_the_physics_and_a_diverging_verdict_blows_up_there():
    from isaac.rl.workbench.doctor.physics_checks import gain_checks
    from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv

    position = {"actions.type": "joint_position", "actions.joints": ["slider", "hinge"], "events": {}}
    bad = {
        "cart": {"joints": ["slider"], "stiffness": 400.0, "damping": 40.0},
        "pole": {"joints": ["hinge"], "model": "pd", "stiffness": 200.0, "damping": 20.0},
    }
    spec = load_spec("cartpole", {**position, "terminations": {}, "actuators": bad})
    env = WorkbenchEnv(spec)
    # cart 1 kg, pole 0.25 kg and 1 m long on a hinge at its end, upright: with the other joint free,
    # 1 / (H^-1)_ii = H_ii - H_ij^2 / H_jj
    pole_on_hinge = 0.25 / 12 * (0.04**2 + 1.0) + 0.25 * 0.5**2
    expected = [1.25 - 0.125**2 / pole_on_hinge, pole_on_hinge - 0.125**2 / 1.25]
    assert env.backend.joint_inertias()[0].tolist() == pytest.approx(expected, rel=1e-3)

    findings, suggested = gain_checks(spec)
    (problem,) = [f for f in findings if f.level == "problem"]
    assert problem.message.startswith("hinge: stiffness 200, damping 20") and "diverges" in problem.message
    # and the physics agrees: the explicit PD's damping throws the pole around until the health check resets it
    blew_up = 0
    for _ in range(50):
        env.step(torch.tensor([[0.0, 0.2]]))
        blew_up += int(env.unstable.sum())
    assert blew_up > 0, "the health check caught the pole blowing up"

    fixed = dict(bad, pole={**bad["pole"], "damping": float(suggested.split("damping = ")[1].split()[0])})
    spec = load_spec("cartpole", {**position, "terminations": {}, "actuators": fixed})
    assert all(f.level == "ok" for f in gain_checks(spec)[0])
    env = WorkbenchEnv(spec)
    for _ in range(50):
        env.step(torch.tensor([[0.0, 0.2]]))
        assert not bool(env.unstable.any())
    assert float(env.dof_pos[0, 1]) == pytest.approx(0.2 * spec.actions.scale, abs=0.05), "it follows its target"
