"""Robustness sweep: the parameters found in a spec with their grids, the values written on every env, and the
report (CSV, Markdown, PNG) of a trained cart-pole swept past its training range."""

from __future__ import annotations

import argparse
import csv
import math

import pytest
import torch
from isaac.rl.workbench.frontends.cli_sim2real import add_parsers
from isaac.rl.workbench.sim2real.robustness import RobustnessSweep
from isaac.rl.workbench.sim2real.robustness_params import (
    ParameterError,
    select_parameters,
    sweep_grid,
    swept_parameters,
)
from isaac.rl.workbench.specs.loader import load_spec

from ..conftest import robot_or_fail
from .trained_cartpole import POLE_MASS, cartpole_teacher, trained_cartpole  # noqa: F401 (fixtures)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_grid_reaches_past_the_training_range_on_both_sides():
    assert sweep_grid(0.6, 1.25, 5, 0.5) == pytest.approx([0.275, 0.6, 0.925, 1.25, 1.575])
    # four points miss the range's ends: they are added, so the plot shows where training stopped
    grid = sweep_grid(-1.0, 3.0, 4, 0.5)
    assert grid[0] == pytest.approx(-3.0) and grid[-1] == pytest.approx(5.0) and -1.0 in grid and 3.0 in grid
    # a friction cannot go below 0; a fixed value is swept around itself
    assert sweep_grid(0.1, 0.5, 3, 1.0, minimum=0.0)[0] == 0.0
    assert sweep_grid(2.0, 2.0, 3, 0.5) == pytest.approx([1.0, 2.0, 3.0])
    # latency in whole steps, at least two past the trained ones
    assert sweep_grid(0, 1, 5, 0.5, minimum=0, integer=True) == [0.0, 1.0, 2.0, 3.0]


def test_go2_spec_gives_every_randomised_parameter():
    robot_or_fail("go2")
    parameters = {p.name: p for p in swept_parameters(load_spec("go2_flat"), points=5, beyond=0.5)}
    assert list(parameters) == [
        "events.ground_friction.friction_range",
        "events.base_mass.mass_range",
        "events.motor_gains.stiffness_scale",
        "events.motor_gains.damping_scale",
        "events.push.velocity",
        "actions.delay_steps",
        "observations.noise_scale",
    ]
    mass = parameters["events.base_mass.mass_range"]
    assert mass.training_range == (-1.0, 3.0) and mass.nominal == 1.0
    assert mass.values[0] == pytest.approx(-3.0) and mass.values[-1] == pytest.approx(5.0)
    push = parameters["events.push.velocity"]
    assert push.training_range == (0.0, 0.5) and push.nominal == 0.0 and push.values[0] == 0.0
    assert push.values[-1] == pytest.approx(0.75) and not push.inside(0.75) and push.inside(0.5)
    assert parameters["actions.delay_steps"].values == [0.0, 1.0, 2.0, 3.0]
    assert parameters["observations.noise_scale"].inside(1.0) and not parameters["observations.noise_scale"].inside(0)
    chosen = select_parameters(list(parameters.values()), ["motor_gains", "actions.*"])
    assert [p.name for p in chosen] == [
        "events.motor_gains.stiffness_scale",
        "events.motor_gains.damping_scale",
        "actions.delay_steps",
    ]
    with pytest.raises(ParameterError, match="--params 'gravity'.*events.ground_friction.friction_range"):
        select_parameters(list(parameters.values()), ["gravity"])


@pytest.mark.slow
def test_sweep_sets_each_value_on_every_env_and_the_others_at_nominal(trained_cartpole):  # noqa: F811
    sweep = RobustnessSweep(trained_cartpole, episodes=3, points=3)
    mass = next(p for p in sweep.parameters if p.name == "events.pole_mass.mass_range")
    pole = sweep.env.body_names.index("pole")
    for value in (0.4, 1.7):
        sweep.configure(mass, value)
        assert torch.allclose(sweep.env.physics_property("body_mass")[:, pole], torch.tensor(POLE_MASS * value))
    delay = next(p for p in sweep.parameters if p.name == "actions.delay_steps")
    sweep.configure(delay, 2)
    nominal_mass = POLE_MASS * (0.8 + 1.25) / 2  # the mass range's middle while the delay is swept
    assert torch.allclose(sweep.env.physics_property("body_mass")[:, pole], torch.tensor(nominal_mass))
    assert sweep.env.action_delay_range == (2, 2)
    # two ways of asking for the nominal world (the mass range's middle, the trained delay) simulate the same
    at_mid_mass, at_trained_delay = sweep.point(mass, 1.025), sweep.point(delay, 0)
    assert at_mid_mass.metric_mean == at_trained_delay.metric_mean
    assert at_mid_mass.metric_std == at_trained_delay.metric_std


@pytest.mark.slow
def test_robustness_command_writes_table_and_plot_past_the_training_range(trained_cartpole, capsys):  # noqa: F811
    out = trained_cartpole / "sweep"
    args = _parse(["robustness", str(trained_cartpole), "--episodes", "3", "--points", "3", "--out", str(out)])
    args.own_process = False
    assert args.func(args) == 0
    progress = capsys.readouterr().out
    assert "events.pole_mass.mass_range = 0.575 (OUTSIDE [0.8, 1.25])" in progress

    rows = list(csv.DictReader((out / "robustness.csv").open()))
    by_parameter: dict[str, list[dict]] = {}
    for row in rows:
        by_parameter.setdefault(row["parameter"], []).append(row)
    assert set(by_parameter) == {"events.pole_mass.mass_range", "actions.delay_steps"}
    mass = by_parameter["events.pole_mass.mass_range"]
    values = [float(r["value"]) for r in mass]
    assert values == pytest.approx([0.575, 0.8, 1.025, 1.25, 1.475])
    assert [r["inside_training_range"] for r in mass] == ["0", "1", "1", "1", "0"]
    assert [float(r["value"]) for r in by_parameter["actions.delay_steps"]] == [0.0, 1.0, 2.0]
    for row in rows:
        assert row["metric"] == "return" and int(row["episodes"]) == 3
        assert math.isfinite(float(row["metric_mean"])) and math.isfinite(float(row["metric_std"]))
        assert 0.0 <= float(row["terminated_share"]) <= 1.0
    # the trained pole balances inside its range: the full 5 s, no falls
    nominal = next(r for r in mass if r["value"] == "1.025")
    assert float(nominal["terminated_share"]) == 0.0 and float(nominal["episode_length"]) == 300.0

    table = (out / "robustness.md").read_text()
    assert "| events.pole_mass.mass_range | 1.475 | [0.8, 1.25] | **no** |" in table
    assert "| events.pole_mass.mass_range | 1.025 | [0.8, 1.25] | yes |" in table
    png = (out / "robustness.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


@pytest.mark.slow
def test_unknown_parameter_is_refused_before_any_rollout(trained_cartpole):  # noqa: F811
    args = _parse(["robustness", str(trained_cartpole), "--params", "events.push.velocity"])
    with pytest.raises(ParameterError, match="this run has: events.pole_mass.mass_range, actions.delay_steps"):
        args.func(args)


@pytest.mark.slow
def test_a_teacher_sees_each_point_normalised_over_its_training_range(cartpole_teacher):  # noqa: F811
    sweep = RobustnessSweep(cartpole_teacher, episodes=2, points=3)
    mass = sweep.parameters[0]
    assert sweep.env.randomized_param_names == ["pole_mass.body_mass[pole]"]
    for value, seen in ((0.8, -1.0), (1.025, 0.0), (1.475, 2.0)):  # training range [0.8, 1.25]
        sweep.configure(mass, value)
        assert torch.allclose(sweep.env.randomized_params, torch.full((2, 1), seen), atol=1e-5)
    point = sweep.point(mass, 1.475)  # the policy's input fits: it runs
    assert point.episodes == 2 and math.isfinite(point.metric_mean)
