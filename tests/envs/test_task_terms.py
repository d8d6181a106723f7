"""The curriculum's terms on hand-made states: each moves the way its name says (moving toward the goal raises
progress, a foot in the air accumulates air time, ...), and commands are drawn and redrawn as specified."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from isaac.rl.workbench.envs.commands import Commands
from isaac.rl.workbench.envs.contact_time import ContactTime
from isaac.rl.workbench.envs.episode_stats import EpisodeStats
from isaac.rl.workbench.specs.schema import CommandSpec
from isaac.rl.workbench.terms import events, metrics, observations, rewards, terminations
from isaac.rl.workbench.utils.quaternions import quat_rotate, quat_rotate_inverse, yaw_quat

IDENTITY = torch.tensor([0.0, 0.0, 0.0, 1.0])


def yaw(angle: float) -> torch.Tensor:
    return torch.tensor([0.0, 0.0, math.sin(angle / 2), math.cos(angle / 2)])


def robot(n: int = 2, **fields) -> SimpleNamespace:
    """A stand-in env with root and body state; ``cmd`` holds the commands by name."""
    state = dict(
        num_envs=n,
        device=torch.device("cpu"),
        root_pos_w=torch.zeros(n, 3),
        root_quat_w=IDENTITY.repeat(n, 1),
        root_lin_vel_w=torch.zeros(n, 3),
        root_velocity_w=torch.zeros(n, 6),
        body_pos_w=torch.zeros(n, 3, 3),
        contact_forces_w=torch.zeros(n, 3, 3),
        cmd={},
    )
    state.update(fields)
    env = SimpleNamespace(**state)
    env.command = lambda name: env.cmd[name]
    env.root_lin_vel_yaw = quat_rotate_inverse(yaw_quat(env.root_quat_w), env.root_lin_vel_w)
    return env


def test_moving_toward_the_goal_raises_progress_and_away_lowers_it():
    goal = torch.tensor([[2.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    env = robot(root_lin_vel_w=torch.tensor([[0.5, 0.0, 0.0], [-0.5, 0.0, 0.0]]), cmd={"goal": goal})
    progress = rewards.progress_to_position_command(env, "goal")
    assert progress.tolist() == pytest.approx([0.5, -0.5])
    sideways = robot(root_lin_vel_w=torch.tensor([[0.0, 0.5, 0.0]] * 2), cmd={"goal": goal})
    assert rewards.progress_to_position_command(sideways, "goal").tolist() == pytest.approx([0.0, 0.0])


def test_position_error_falls_as_the_hand_nears_the_target_and_the_tanh_kernel_rises():
    target = torch.tensor([[0.5, 0.0, 0.3]] * 2)
    hand = torch.zeros(2, 3, 3)
    hand[0, 2] = torch.tensor([0.5, 0.0, 0.3])  # on the target
    hand[1, 2] = torch.tensor([0.5, 0.0, 0.4])  # 10 cm above
    env = robot(body_pos_w=hand, cmd={"ee": target})
    error = rewards.position_command_error(env, "ee", body=2)
    assert error.tolist() == pytest.approx([0.0, 0.1], abs=1e-6)
    fine = rewards.position_command_error_tanh(env, "ee", body=2, std=0.1)
    assert fine[0] == pytest.approx(1.0) and fine[1] == pytest.approx(1 - math.tanh(1.0), abs=1e-6)
    reached = terminations.position_command_reached(env, "ee", radius=0.02, body=2)
    assert reached.tolist() == [True, False]


def test_velocity_tracking_compares_in_the_heading_frame():
    """A robot turned 90 degrees left, moving along world y at 1 m/s, is going forward at 1 m/s."""
    command = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    env = robot(
        root_quat_w=torch.stack([yaw(math.pi / 2), IDENTITY]),
        root_lin_vel_w=torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]),
        cmd={"vel": command},
    )
    tracking = rewards.track_lin_vel_xy_exp(env, "vel", std=0.5)
    assert tracking[0] == pytest.approx(1.0, abs=1e-5)
    assert tracking[1] == pytest.approx(math.exp(-2.0 / 0.25), abs=1e-5)  # error (1, -1): |e|^2 = 2
    error = metrics.lin_vel_xy_command_error(env, "vel")
    assert error[0] == pytest.approx(0.0, abs=1e-5) and error[1] == pytest.approx(math.sqrt(2.0), abs=1e-5)
    env.root_velocity_w[:, 5] = torch.tensor([0.5, 0.0])
    env.cmd["vel"][:, 2] = 0.5
    turning = rewards.track_ang_vel_z_exp(env, "vel", std=0.5)
    assert turning[0] == pytest.approx(1.0) and turning[1] == pytest.approx(math.exp(-1.0))
    assert metrics.ang_vel_z_command_error(env, "vel").tolist() == pytest.approx([0.0, 0.5])


def test_a_foot_in_the_air_accumulates_air_time_and_is_paid_at_touch_down():
    timer = ContactTime(num_envs=2, num_bodies=3, device=torch.device("cpu"))
    down = torch.zeros(2, 3, 3)
    down[:, :, 2] = 50.0  # every foot on the ground, 50 N each
    lifted = down.clone()
    lifted[0, 1] = 0.0  # env 0 lifts foot 1
    dt = 0.02
    timer.update(down, dt)
    for _ in range(30):  # 0.6 s in the air
        timer.update(lifted, dt)
    assert timer.air_time[0, 1] == pytest.approx(0.6, abs=1e-4)
    assert timer.air_time[1].tolist() == [0.0, 0.0, 0.0] and timer.contact_time[1, 1] == pytest.approx(0.62)
    timer.update(down, dt)  # touch-down
    assert timer.first_contact[0].tolist() == [0.0, 1.0, 0.0]
    assert timer.last_air_time[0, 1] == pytest.approx(0.62, abs=1e-4) and timer.air_time[0, 1] == 0.0

    env = robot(cmd={"vel": torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])})
    env.contact_time = timer
    feet = torch.tensor([0, 1, 2])
    paid = rewards.feet_air_time(env, "vel", bodies=feet, threshold=0.5)
    assert paid.tolist() == pytest.approx([0.12, 0.0], abs=1e-4)
    env.cmd["vel"].zero_()  # standing still: no reward for stepping
    assert rewards.feet_air_time(env, "vel", bodies=feet, threshold=0.5).tolist() == [0.0, 0.0]
    timer.update(down, dt)  # paid once, not again on the next step
    env.cmd["vel"][:, 0] = 1.0
    assert rewards.feet_air_time(env, "vel", bodies=feet, threshold=0.5).tolist() == [0.0, 0.0]
    timer.reset(torch.tensor([True, False]))
    assert timer.last_air_time[0].sum() == 0.0 and timer.contact_time[1, 1] > 0


def test_contacts_on_named_bodies_are_counted_and_end_the_episode():
    forces = torch.zeros(2, 3, 3)
    forces[0, 0, 2] = 30.0  # env 0: body 0 (the base) on the ground
    forces[1, 1, 0] = 0.5  # env 1: a graze below the threshold
    env = robot(contact_forces_w=forces)
    base, legs = torch.tensor([0]), torch.tensor([1, 2])
    assert terminations.illegal_contact(env, bodies=base).tolist() == [True, False]
    assert rewards.undesired_contacts(env, bodies=torch.tensor([0, 1])).tolist() == [1.0, 0.0]
    assert metrics.no_contact(env, bodies=legs).tolist() == [1.0, 1.0]


def test_level_base_has_no_orientation_penalty_and_a_tilted_one_has():
    flat = SimpleNamespace(projected_gravity_b=torch.tensor([[0.0, 0.0, -1.0], [0.6, 0.0, -0.8]]))
    assert rewards.flat_orientation_l2(flat).tolist() == pytest.approx([0.0, 0.36])


def test_generated_position_commands_are_seen_from_the_robot():
    env = robot(root_pos_w=torch.tensor([[1.0, 0.0, 0.0]] * 2), root_quat_w=torch.stack([yaw(math.pi / 2)] * 2))
    env.command_in_base = lambda name: quat_rotate_inverse(env.root_quat_w, env.cmd[name] - env.root_pos_w)
    env.cmd["goal"] = torch.tensor([[1.0, 2.0, 0.0]] * 2)  # 2 m along world y = 2 m ahead of a robot facing +y
    assert observations.generated_commands(env, "goal")[0].tolist() == pytest.approx([2.0, 0.0, 0.0], abs=1e-6)


class CommandRobot(SimpleNamespace):
    """What :class:`Commands` reads of an env."""


def command_env(n: int, quat: torch.Tensor | None = None) -> CommandRobot:
    return CommandRobot(
        num_envs=n,
        root_pos_w=torch.tensor([[1.0, 2.0, 0.0]]).repeat(n, 1),
        root_quat_w=(IDENTITY if quat is None else quat).repeat(n, 1),
    )


def test_position_commands_are_drawn_in_their_ranges_in_the_base_frame_and_kept_in_the_env_frame():
    spec = CommandSpec(type="position", ranges={"x": (0.3, 0.6), "z": (0.1, 0.2)}, frame="base")
    env = command_env(512, yaw(math.pi / 2))
    commands = Commands({"ee": spec}, 512, torch.device("cpu"))
    commands.draw(env, torch.ones(512, dtype=torch.bool))
    seen = quat_rotate_inverse(env.root_quat_w, commands.values["ee"] - env.root_pos_w)
    assert seen[:, 0].min() >= 0.3 and seen[:, 0].max() <= 0.6 and seen[:, 0].std() > 0.05
    assert torch.all(seen[:, 1].abs() < 1e-6) and seen[:, 2].min() >= 0.1 and seen[:, 2].max() <= 0.2
    # a robot facing +y: its forward x is world +y
    assert torch.allclose(commands.values["ee"][:, 1], 2.0 + seen[:, 0], atol=1e-6)
    expected_w = env.root_pos_w + quat_rotate(env.root_quat_w, seen)
    assert torch.allclose(commands.values["ee"], expected_w, atol=1e-6)


def test_commands_are_redrawn_at_their_interval_each_env_on_its_own_clock():
    spec = CommandSpec(type="velocity", ranges={"lin_vel_x": (-1.0, 1.0)}, resample_s=(0.5, 0.5))
    env = command_env(4)
    commands = Commands({"vel": spec}, 4, torch.device("cpu"))
    commands.draw(env, torch.ones(4, dtype=torch.bool))
    first = commands.values["vel"].clone()
    for _ in range(24):  # 0.48 s of 0.02 s steps: not yet
        commands.advance(env, 0.02)
    assert torch.equal(commands.values["vel"], first)
    commands.draw(env, torch.tensor([False, False, False, True]))  # env 3 reset: its clock restarts
    restarted = commands.values["vel"].clone()
    commands.advance(env, 0.02)  # 0.50 s for envs 0-2
    assert torch.all(commands.values["vel"][:3, 0] != first[:3, 0]) and torch.equal(
        commands.values["vel"][3], restarted[3]
    )
    assert torch.all(commands.values["vel"][:, 1:] == 0)


def test_standing_share_and_once_per_episode_commands():
    spec = CommandSpec(type="velocity", ranges={"lin_vel_x": (0.5, 1.0)}, standing_share=1.0)
    env = command_env(8)
    commands = Commands({"vel": spec}, 8, torch.device("cpu"))
    commands.draw(env, torch.ones(8, dtype=torch.bool))
    assert torch.all(commands.values["vel"] == 0)  # every draw says stand still
    once = Commands({"goal": CommandSpec(type="position", ranges={"x": (1.0, 2.0)}, frame="env")}, 8, "cpu")
    once.draw(env, torch.ones(8, dtype=torch.bool))
    drawn = once.values["goal"].clone()
    assert drawn[:, 0].min() >= 1.0 and drawn[:, 0].max() <= 2.0  # env frame: not moved by the robot's position
    for _ in range(1000):
        once.advance(env, 0.02)
    assert torch.equal(once.values["goal"], drawn)


def test_metrics_report_the_final_or_the_mean_value_of_whole_episodes():
    stats = EpisodeStats(2, ["alive"], torch.device("cpu"), False, {"success": "final", "error": "mean"})
    for step, error in enumerate([0.3, 0.2, 0.1]):
        reached = 1.0 if step == 2 else 0.0
        stats.add_step(torch.ones(2), torch.ones(2, 1), torch.zeros(2, dtype=torch.bool), torch.zeros(2))
        stats.add_metrics(torch.tensor([[reached, error], [0.0, 2 * error]]))
    stats.end_episodes(torch.tensor([True, True]), torch.tensor([3, 3]))
    out = stats.pop()
    assert out["metric/success"] == pytest.approx(0.5)  # env 0 ended on the target, env 1 did not
    assert out["metric/error"] == pytest.approx((0.2 + 0.4) / 2)


def test_randomization_events_draw_within_their_ranges_on_the_columns_they_name():
    written = {}

    class PropertyEnv(SimpleNamespace):
        def physics_property(self, name):
            return {
                "body_mass": torch.full((64, 3), 2.0),
                "body_com": torch.zeros(64, 3, 3),
                "shape_friction": torch.ones(64, 5),
                "dof_stiffness": torch.full((64, 4), 100.0),
                "dof_damping": torch.full((64, 4), 10.0),
                "dof_friction": torch.zeros(64, 4),
            }[name]

        def set_physics_property(self, name, env_mask, values, bounds=None):
            written[name] = values

    env, everywhere = PropertyEnv(), torch.ones(64, dtype=torch.bool)
    events.randomize_body_mass(env, everywhere, bodies=torch.tensor([0]), mass_range=(-1.0, 3.0), operation="add")
    mass = written["body_mass"]
    assert mass[:, 0].min() >= 1.0 and mass[:, 0].max() <= 5.0 and mass[:, 0].std() > 0.5
    assert torch.all(mass[:, 1:] == 2.0)
    events.randomize_body_mass(env, everywhere, bodies=torch.tensor([2]), mass_range=(0.5, 0.5), operation="scale")
    assert torch.all(written["body_mass"][:, 2] == 1.0)
    events.randomize_body_com(env, everywhere, bodies=torch.tensor([1]), offset_range=(-0.05, 0.05))
    com = written["body_com"]
    assert com[:, 1].abs().max() <= 0.05 and com[:, 1].std() > 0.01 and torch.all(com[:, [0, 2]] == 0)
    events.randomize_friction(env, everywhere, friction_range=(0.4, 1.2))
    friction = written["shape_friction"]
    assert torch.all(friction == friction[:, :1]) and friction.min() >= 0.4 and friction.max() <= 1.2
    events.randomize_actuator_gains(env, everywhere, (0.5, 0.5), (2.0, 2.0), joints=torch.tensor([1, 3]))
    assert written["dof_stiffness"][0].tolist() == [100.0, 50.0, 100.0, 50.0]
    assert written["dof_damping"][0].tolist() == [10.0, 20.0, 10.0, 20.0]
    events.randomize_joint_friction(env, everywhere, friction_range=(0.1, 0.2))
    assert written["dof_friction"].min() >= 0.1 and written["dof_friction"].max() <= 0.2


def test_a_heading_command_steers_the_yaw_rate_towards_its_heading():
    spec = CommandSpec(
        type="velocity", ranges={"lin_vel_x": (1.0, 1.0), "ang_vel_z": (-0.3, 0.3), "heading": (1.0, 1.0)}
    )
    env = command_env(3, yaw(0.0))
    commands = Commands({"vel": spec}, 3, torch.device("cpu"))
    commands.draw(env, torch.ones(3, dtype=torch.bool))
    assert commands.values["vel"][:, 2].tolist() == pytest.approx([0.3] * 3)  # 0.5 rad/s per rad, clipped to 0.3
    env.root_quat_w = torch.stack([yaw(0.9), yaw(1.2), yaw(1.0 - 2 * math.pi + 0.1)])
    commands.advance(env, 0.02)
    assert commands.values["vel"][:, 2].tolist() == pytest.approx([0.05, -0.1, -0.05], abs=1e-5)  # wraps at pi
    standing = Commands({"vel": CommandSpec(type="velocity", ranges=spec.ranges, standing_share=1.0)}, 3, "cpu")
    standing.draw(env, torch.ones(3, dtype=torch.bool))
    assert torch.all(standing.values["vel"] == 0)


def test_a_position_target_keeps_clear_of_the_named_bodies():
    spec = CommandSpec(type="position", ranges={"x": (-1.0, 1.0), "y": (-1.0, 1.0)}, frame="env", clearance=0.5)
    spec.clear_of = ["rock"]
    env = command_env(4096)
    env.body_pos_w = torch.zeros(4096, 2, 3)  # body 1, "rock", at the env origin
    commands = Commands({"goal": spec}, 4096, torch.device("cpu"), ["robot", "rock"])
    commands.draw(env, torch.ones(4096, dtype=torch.bool))
    distance = torch.linalg.vector_norm(commands.values["goal"][:, :2], dim=1)
    # a 0.5 m disc is 20% of the square: after 16 redraws about 0.2**17 of the targets could remain inside
    assert distance.min() >= 0.5 and distance.max() <= math.sqrt(2)
    free = Commands({"goal": CommandSpec(type="position", ranges=spec.ranges, frame="env")}, 4096, "cpu")
    free.draw(env, torch.ones(4096, dtype=torch.bool))
    assert (torch.linalg.vector_norm(free.values["goal"][:, :2], dim=1) < 0.5).float().mean() > 0.15
