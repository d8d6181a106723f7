"""The simulator as a robot: the exported bundle run by the robot runtime through ``SimDriver`` reproduces ``play``'s
joint trajectory (cartpole, Go2 with Unitree's motor order), and the driver behaves as a robot does: readings in motor
order, fresh once per period, no resets, latency and noise as asked, gains as commanded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from isaac.rl.workbench.deploy.bundle import load_bundle
from isaac.rl.workbench.deploy.driver import JointCommand
from isaac.rl.workbench.deploy.runtime import Runtime
from isaac.rl.workbench.sim2real.sim_driver import SimDriver
from isaac.rl.workbench.workbench import Workbench

from ..conftest import REPO, robot_or_fail

TOLERANCE = 1e-4  # [rad] largest joint difference between play and the deployed policy
GO2_POLICY_TERMS = [  # go2_flat's policy observation without its sensor noise
    "root_lin_vel_b",
    "root_ang_vel_b",
    "projected_gravity_b",
    {"func": "generated_commands", "params": {"command": "base_velocity"}},
    "joint_pos_rel",
    "joint_vel",
    "last_action",
]


def _untrained_bundle(tmp_path: Path, task: str, overrides: dict) -> Workbench:
    """A run of ``task`` with an untrained policy checkpointed, exported with its deployment bundle."""
    wb = Workbench.new(task, overrides, run_dir=tmp_path / "run")
    wb.build()
    wb.save_checkpoint()
    wb.export(tmp_path / "bundle", deploy=True)
    return wb


def _play_and_deploy(wb: Workbench, bundle: Path, commands: dict, steps: int):
    """Joint positions (steps, D) after each step of ``play`` and of the bundle on a ``SimDriver`` of the run's spec,
    in the policy's joint order; and the driver and the runtime's report."""
    played = []
    for _ in range(steps):
        wb.play_step()
        played.append(wb.env.dof_pos[0].double().numpy().copy())
    driver = SimDriver(wb.run.spec_file)
    for name, value in commands.items():
        driver.set_command(name, value)
    deployed = []
    report = Runtime(bundle).run(
        driver,
        steps * driver.control_dt,
        commands,
        realtime=False,
        on_step=lambda *_: deployed.append(driver.env.dof_pos[0].double().numpy().copy()),
    )
    return np.array(played), np.array(deployed), driver, report


@pytest.mark.parametrize(("history_length", "motor_strength"), [(1, 1.0), (3, 1.0), (1, 0.5)])
def test_deployed_cartpole_policy_matches_play(tmp_path, history_length, motor_strength):
    """Also with motors that deliver half of what they are sent: the bundle then sends twice the trained force."""
    overrides = {
        "observations.policy.history_length": history_length,  # 3: each term's last 3 values
        "deploy.motor_strength": motor_strength,
        "env.num_envs": 1,
        "env.episode_seconds": 2.0,
        "events": {},  # the same start in both: the pole 0.1 rad off upright, at rest
        "terminations": {},  # the pole falls in both, without a reset
        "robot.joint_pos": {"hinge": 0.1},
    }
    wb = _untrained_bundle(tmp_path, "cartpole", overrides)
    played, deployed, driver, report = _play_and_deploy(wb, tmp_path / "bundle", {}, steps=60)
    assert report.steps == 60 and not report.latched
    bundle = load_bundle(tmp_path / "bundle")
    assert bundle.policy["obs_dim"] == 4 * history_length
    assert bundle.action["scale"] == pytest.approx(wb.spec.actions.scale / motor_strength)
    assert np.abs(played - played[0]).max() > 0.3  # the cart and pole moved
    assert np.abs(deployed - played).max() < TOLERANCE


@pytest.mark.slow
def test_deployed_go2_policy_matches_play_in_unitree_motor_order(tmp_path):
    robot_or_fail("go2")
    overrides = {
        "env.num_envs": 1,
        "env.episode_seconds": 2.1,
        "events": {},  # no randomisation: the same robot in both
        "terminations": {},
        "actions.delay_steps": [0, 0],
        "observations.policy.terms": GO2_POLICY_TERMS,
        "commands.base_velocity.ranges": {"lin_vel_x": [0.5, 0.5]},  # play's command: 0.5 m/s forward
        "commands.base_velocity.standing_share": 0.0,
        "deploy.soft_start_s": 0.0,
    }
    wb = _untrained_bundle(tmp_path, "go2_flat", overrides)
    commands = {"base_velocity": [0.5, 0.0, 0.0]}
    played, deployed, driver, report = _play_and_deploy(wb, tmp_path / "bundle", commands, steps=100)
    assert driver.motor_names[:3] == ["FR_hip_joint", "FR_thigh_joint", "FR_calf_joint"]
    assert report.steps == 100 and not report.latched
    assert np.abs(played - played[0]).max() > 0.3  # dropped onto its legs, the policy moving them
    assert np.abs(deployed - played).max() < TOLERANCE
    metrics = driver.metrics()
    assert metrics["steps"] == 100 and 0.0 < metrics["metric/vel_error"] < 2.0
    assert 0.1 < metrics["min_root_height"] < 0.4

    # a "damp" stop: no position gain; the solver's gains follow the command, and the robot sinks
    state = driver.read_state()
    height = float(driver.env.root_pos_w[0, 2])
    damp = JointCommand(q=state.joint_pos, dq=np.zeros(12), kp=np.zeros(12), kd=np.full(12, 0.5), tau=np.zeros(12))
    for _ in range(25):
        driver.write_command(damp)
    assert driver.env.physics_property("dof_stiffness").abs().max() == 0.0
    assert float(driver.env.root_pos_w[0, 2]) < height - 0.05


@pytest.fixture
def cartpole_overrides():
    return {"robot.joint_pos": {"hinge": 0.1}, "events": {}}


def test_readings_come_in_motor_order_and_fresh_once_per_period(cartpole_overrides):
    driver = SimDriver("cartpole", cartpole_overrides, motor_order=["hinge", "slider"])
    first = driver.read_state()
    assert first.fresh and not driver.read_state().fresh
    assert first.joint_pos.tolist() == pytest.approx([0.1, 0.0])  # hinge, then slider
    assert first.base_quat_xyzw.tolist() == [0.0, 0.0, 0.0, 1.0]  # a fixed base
    driver.write_command(JointCommand(q=np.zeros(2), dq=np.zeros(2), kp=np.zeros(2), kd=np.zeros(2), tau=[0.0, 30.0]))
    after = driver.read_state()
    assert after.fresh and after.stamp == pytest.approx(driver.control_dt)
    assert after.joint_vel[1] > 0.05  # the slider's motor pushed the cart
    with pytest.raises(ValueError, match="shape"):
        driver.write_command(JointCommand.zeros(3))


def test_a_fall_stays_a_fall(cartpole_overrides):
    driver = SimDriver("cartpole", cartpole_overrides)
    hinge = []
    for _ in range(150):  # 2.5 s without a command: the pole falls past pole_fell's 0.4 rad, and keeps falling
        driver.write_command(JointCommand.zeros(2))
        hinge.append(driver.read_state().joint_pos[1])
    assert max(abs(h) for h in hinge) > 1.5
    assert np.abs(np.diff(hinge)).max() < 0.5  # never put back upright


def test_position_gains_on_an_effort_robot_hold_the_cart(cartpole_overrides):
    driver = SimDriver("cartpole", cartpole_overrides)
    hold = JointCommand(
        q=np.array([0.5, 0.0]), dq=np.zeros(2), kp=np.array([200.0, 0.0]), kd=np.array([40.0, 0.0]), tau=np.zeros(2)
    )
    for _ in range(180):
        driver.write_command(hold)
    assert driver.read_state().joint_pos[0] == pytest.approx(0.5, abs=0.05)


def _push(value: float) -> JointCommand:
    return JointCommand(q=np.zeros(2), dq=np.zeros(2), kp=np.zeros(2), kd=np.zeros(2), tau=np.array([value, 0.0]))


def test_action_latency_delays_commands_by_whole_periods(cartpole_overrides):
    pushes = [_push(v) for v in (20.0, -10.0, 15.0, 5.0)]
    prompt = SimDriver("cartpole", cartpole_overrides)
    late = SimDriver("cartpole", cartpole_overrides, action_latency_steps=1)
    for early, delayed in zip([pushes[0], *pushes[:3]], pushes, strict=True):  # the late one acts on the first twice
        prompt.write_command(early)
        late.write_command(delayed)
        np.testing.assert_array_equal(prompt.read_state().joint_pos, late.read_state().joint_pos)
    assert abs(prompt.read_state().joint_pos[0]) > 1e-3


def test_readings_can_be_late_and_noisy(cartpole_overrides):
    truth = SimDriver("cartpole", cartpole_overrides)
    late = SimDriver("cartpole", cartpole_overrides, obs_latency_steps=1)
    noisy = SimDriver("cartpole", cartpole_overrides, state_noise={"joint_pos": 0.01, "joint_vel": 0.1})
    previous = truth.read_state()
    for value in (20.0, 20.0, -5.0):
        for driver in (truth, late, noisy):
            driver.write_command(_push(value))
        now = truth.read_state()
        np.testing.assert_array_equal(late.read_state().joint_pos, previous.joint_pos)  # one period old
        reading = noisy.read_state()
        assert 0 < np.abs(reading.joint_pos - now.joint_pos).max() <= 0.01
        assert 0 < np.abs(reading.joint_vel - now.joint_vel).max() <= 0.1
        np.testing.assert_array_equal(noisy.env.dof_pos, truth.env.dof_pos)  # the noise is in the reading only
        previous = now
    with pytest.raises(ValueError, match="imu"):
        SimDriver("cartpole", cartpole_overrides, state_noise={"imu": 0.1})


def test_the_robot_keeps_only_the_groups_the_deployed_policy_reads():
    """A student's teacher groups observe the randomised values, which a fixed world (no start-up events) no longer
    draws: the simulated robot keeps the student's own group, so the student runs there."""
    from isaac.rl.workbench.sim2real.reality import fixed_world_overrides
    from isaac.rl.workbench.sim2real.sim_driver import robot_spec
    from isaac.rl.workbench.specs.loader import load_spec

    robot_or_fail("go2")
    student = load_spec(REPO / "tasks" / "go2_flat_student.toml")
    assert {"policy", "teacher"} <= set(student.observations)
    robot = robot_spec(student, fixed_world_overrides(student))
    assert list(robot.observations) == ["policy"] and robot.observation_history.get("policy") == 5
    assert not any(term.mode == "startup" for term in robot.events.values())
