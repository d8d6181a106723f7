"""What tools above the env use of it (sim2real, bench): the physics alone, property writes, a redraw of the start-up
events, joint commands in place of actions, the action delay. Cartpole on Newton (CPU)."""

from __future__ import annotations

import pytest
import torch
from isaac.rl.workbench.envs.motor_command import MotorCommand
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.tool_env import tool_env

POLE_MASS = 0.25  # [kg] in assets/usd/cartpole.usda
POLE_EVENT = {
    "events.pole_mass": {
        "func": "randomize_body_mass",
        "mode": "startup",
        "params": {"bodies": ["pole"], "mass_range": [0.8, 1.25], "operation": "scale"},
    }
}


def test_a_tool_steps_the_physics_alone():
    env = tool_env(load_spec("cartpole"), 2, physics_only=True)
    start = torch.tensor([[0.0, 0.1], [0.0, 0.1]])
    env.reset_physics(torch.ones(2, dtype=torch.bool), start, torch.zeros(2, 2))
    assert torch.equal(env.dof_pos, start)
    env.set_joint_efforts(torch.tensor([[10.0, 0.0], [-10.0, 0.0]]))
    for _ in range(5):
        env.step_physics()
    assert env.dof_pos[0, 0] > 0.01 and env.dof_pos[1, 0] < -0.01  # each cart pushed its own way
    assert env.episode_length_buf.tolist() == [0, 0], "no env step ran: no terms, no episode counting"
    assert env.physics_failure() is None
    assert env.joint_inertias().shape == (2, 2)


def test_startup_writes_are_refused_later_but_a_tool_may_write():
    env = WorkbenchEnv(load_spec("cartpole", {"env.num_envs": 2, **POLE_EVENT}), "cpu")
    everywhere = torch.ones(2, dtype=torch.bool)
    mass = env.physics_property("body_mass")
    with pytest.raises(RuntimeError, match="'body_mass' can only be randomised when the env is built"):
        env.set_physics_property("body_mass", everywhere, mass * 2)
    env.write_physics_property("body_mass", everywhere, mass * 2)
    assert torch.allclose(env.physics_property("body_mass"), mass * 2)
    assert list(env.applied_randomization) == ["body_mass"], "a tool's write is not recorded as randomisation"


def test_a_redraw_pins_each_draw_and_gives_the_scene_back_bit_for_bit():
    env = WorkbenchEnv(load_spec("cartpole", {"env.num_envs": 3, **POLE_EVENT}), "cpu")
    pole = env.body_names.index("pole")
    drawn = env.physics_property("body_mass")
    assert drawn[:, pole].std() > 0, "the build drew a mass per env"
    env.redraw_startup_events({"pole_mass": {"mass_range": (1.1, 1.1)}})
    assert torch.allclose(env.physics_property("body_mass")[:, pole], torch.full((3,), POLE_MASS * 1.1))
    # observable as in training: normalised over the spec's range [0.8, 1.25]
    assert env.randomized_param_names == ["pole_mass.body_mass[pole]"]
    assert torch.allclose(env.randomized_params, torch.full((3, 1), 2 * (1.1 - 0.8) / 0.45 - 1), atol=1e-5)
    env.redraw_startup_events({"pole_mass": {"mass_range": (1.0, 1.0)}})
    at_scale_one = env.physics_property("body_mass")
    env.redraw_startup_events({"pole_mass": {"mass_range": (1.1, 1.1)}})
    env.redraw_startup_events({"pole_mass": {"mass_range": (1.0, 1.0)}})
    assert torch.equal(env.physics_property("body_mass"), at_scale_one)
    assert torch.equal(at_scale_one[:, pole], torch.full((3,), POLE_MASS)), "the scene's mass, not a drawn one"


def test_joint_commands_replace_the_actions_until_cleared():
    env = WorkbenchEnv(load_spec("cartpole", {"env.num_envs": 1, "events": {}}), "cpu", cuda_graph=False)
    zeros = torch.zeros(1, 2)
    command = MotorCommand(q=zeros, dq=zeros, kp=zeros, kd=zeros, tau=torch.tensor([[3.0, 0.0]]))
    env.set_motor_command(command)
    env.step(torch.ones(1, 1))  # the action is recorded for the action terms, the motors take the command
    assert env.motor_command is command
    assert env.dof_effort.tolist() == [[3.0, 0.0]] and env.actions.tolist() == [[1.0]]
    env.set_motor_command(None)
    env.step(torch.ones(1, 1))
    assert env.dof_effort.tolist() == [[20.0, 0.0]], "the action mapping again: actions.scale N per unit action"


def test_an_action_delay_the_env_has_no_room_for_is_refused():
    env = WorkbenchEnv(load_spec("cartpole", {"env.num_envs": 1, "actions.delay_steps": [0, 2]}), "cpu")
    env.set_action_delay_range(2, 2)
    assert env.action_delay_range == (2, 2)
    with pytest.raises(ValueError, match=r"action delay \[3, 3\] env steps: this env holds delays of 0 to 2"):
        env.set_action_delay_range(3, 3)
