"""Observation history (oldest first, term by term, restarted with an episode's first value, as the robot runtime
builds it) and the privileged observation of what the start-up randomisation drew."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from isaac.rl.workbench.deploy.bundle import FORMAT, bundle_from_dict
from isaac.rl.workbench.deploy.driver import RobotState
from isaac.rl.workbench.deploy.observations import ObservationBuilder
from isaac.rl.workbench.envs.observation_history import ObservationHistory
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.specs.schema import SpecError

from ..cartpole_text import MASS_EVENTS, POLICY, PRIVILEGED

START_UP_EVENTS = (
    MASS_EVENTS
    + """
[events.slider_friction]
func = "randomize_joint_friction"
mode = "startup"
params = { joints = ["slider"], friction_range = [0.0, 2.0] }

[events.gains]                      # cart-pole's joints have no drive gains: nothing to draw, nothing observed
func = "randomize_actuator_gains"
mode = "startup"
params = { stiffness_scale = [0.5, 1.5], damping_scale = [0.5, 1.5] }

[events.pole_com]
func = "randomize_body_com"
mode = "startup"
params = { bodies = ["pole"], offset_range = [-0.02, 0.02] }
"""
)


def test_history_keeps_each_terms_last_values_oldest_first_and_restarts_with_the_first_value():
    history = ObservationHistory(3, [2, 1], num_envs=2, device="cpu")
    frame = lambda t: torch.tensor([[10.0 * t, 10.0 * t + 1, 10.0 * t + 2], [-t, -t, -t]])  # a = (a0, a1), b  # noqa: E731
    restart = torch.tensor([True, True])
    out = history.push(frame(1), restart)
    assert history.dim == 9 and out.shape == (2, 9)
    assert out[0].tolist() == [10, 11, 10, 11, 10, 11, 12, 12, 12], "an episode starts with its first value repeated"
    history.push(frame(2), torch.tensor([False, False]))
    out = history.push(frame(3), torch.tensor([False, True]))
    # env 0: a(1), a(2), a(3) then b(1), b(2), b(3): per term, oldest first
    assert out[0].tolist() == [10, 11, 20, 21, 30, 31, 12, 22, 32]
    assert out[1].tolist() == [-3.0] * 9, "env 1 restarted: every slot holds its new first value"


def _bundle(joints: list[str], history_length: int):
    """A deploy.json for cart-pole's [joint_pos, joint_vel] observation with ``history_length``."""
    n = len(joints)
    return bundle_from_dict(
        {
            "format": FORMAT,
            "control_dt": 1 / 60,
            "policy": {"onnx": "p.onnx", "torchscript": "p.pt", "obs_dim": 2 * n * history_length, "num_actions": 1},
            "observation": {
                "terms": [{"name": "joint_pos", "size": n}, {"name": "joint_vel", "size": n}],
                "history_length": history_length,
            },
            "joints": {
                "names": joints,
                "default_pos": [0.0] * n,
                "stiffness": [0.0] * n,
                "damping": [0.0] * n,
                "effort_limit": [100.0] * n,
                "motor_order": joints,
            },
            "action": {"type": "joint_effort", "joints": ["slider"], "scale": 20.0, "offset": [0.0]},
            "safety": {"joint_pos_limits": [[-3.0, 3.0]] * n, "joint_vel_limits": [100.0] * n},
        }
    )


def test_the_envs_history_is_what_the_robot_runtime_builds_from_the_same_readings(write_spec):
    spec = load_spec(write_spec({POLICY: POLICY + "\nhistory_length = 3"}), {"env.num_envs": 4})
    assert spec.observation_history == {"policy": 3}
    torch.manual_seed(0)
    env = WorkbenchEnv(spec)
    runtime = ObservationBuilder(_bundle(spec.joint_names, 3))
    assert env.get_observations()["policy"].shape == (4, runtime.obs_dim) == (4, 12)

    def reading() -> RobotState:
        return RobotState(joint_pos=env.dof_pos[0].double().numpy(), joint_vel=env.dof_vel[0].double().numpy())

    no_action = np.zeros(1)
    assert np.allclose(env.get_observations()["policy"][0].numpy(), runtime.build(reading(), {}, no_action), atol=1e-6)
    for step in range(6):
        if step == 4:  # a new episode: both start the history again from the first reading
            env.reset()
            runtime.reset()
        else:
            env.step(torch.full((4, 1), 0.5))
        assert np.allclose(
            env.get_observations()["policy"][0].numpy(), runtime.build(reading(), {}, no_action), atol=1e-6
        )
    first = env.get_observations()["policy"][0]
    assert not torch.allclose(first[0:2], first[4:6]), "the history holds different readings after steps"


def test_randomized_params_are_each_envs_draws_normalised_over_their_ranges(write_spec):
    appended = START_UP_EVENTS
    spec = load_spec(
        write_spec({POLICY: PRIVILEGED}, appended),
        {"env.num_envs": 64},
    )
    torch.manual_seed(0)
    env = WorkbenchEnv(spec)
    axes = [f"pole_com.body_com[pole].{axis}" for axis in "xyz"]
    assert env.randomized_param_names == [
        "cart_mass.body_mass[cart]",
        "pole_mass.body_mass[pole]",
        "slider_friction.dof_friction[slider]",
        *axes,
    ], "one column per drawn body, joint or component; gains that are 0 have no range and add none"
    values = env.randomized_params
    assert torch.equal(env.get_observations()["privileged"], values)
    assert values.min() >= -1.0 - 1e-5 and values.max() <= 1.0 + 1e-5
    assert (values.min(dim=0).values < -0.8).all() and (values.max(dim=0).values > 0.8).all(), "spread over the range"

    mass = env.physics_property("body_mass")
    cart, pole = env.body_names.index("cart"), env.body_names.index("pole")
    # add U(-0.5, 1.0) kg: mass = nominal + 0.25 + 0.75 value, so a heavier cart reads higher
    nominal = mass[:, cart] - 0.25 - 0.75 * values[:, 0]
    assert torch.allclose(nominal, nominal[0].expand(64), atol=1e-5)
    assert torch.equal(torch.argsort(mass[:, cart]), torch.argsort(values[:, 0]))
    # scale by U(0.5, 2.0): mass = nominal (1.25 + 0.75 value)
    nominal = mass[:, pole] / (1.25 + 0.75 * values[:, 1])
    assert torch.allclose(nominal, nominal[0].expand(64), rtol=1e-5)
    friction = env.physics_property("dof_friction")[:, spec.joint_names.index("slider")]
    assert torch.allclose(friction, 1.0 + values[:, 2], atol=1e-5)


def test_randomized_params_without_a_start_up_draw_is_refused_naming_the_term(write_spec):
    spec = load_spec(write_spec({POLICY: PRIVILEGED}))
    with pytest.raises(SpecError, match=r"observations\.privileged\.terms\[0\].*no start-up event drew"):
        WorkbenchEnv(spec)


@pytest.mark.parametrize(
    ("replace", "append", "message"),
    [
        ({POLICY: POLICY + "\nhistory_length = 0"}, "", r"observations\.policy\.history_length': must be >= 1"),
        ({"[ppo]\n": '[ppo]\nobs_groups = { actor = ["policy", "extra"] }\n'}, "", r"ppo\.obs_groups\.actor'.*extra"),
        ({}, "[ppo.student]\nhidden_dims = [8]\n", r"'ppo\.student' is a distillation setting"),
    ],
)
def test_spec_errors_name_the_key(write_spec, replace, append, message):
    with pytest.raises(SpecError, match=message):
        load_spec(write_spec(replace, append))
