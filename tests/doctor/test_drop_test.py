"""``doctor``'s drop test tells a robot that stands from one that fell: tilt, height and drift from the start pose
decide, not whether the joints stop moving; a robot lying on its side is "fallen", with a fix to paste. A spec
whose terminations fire at the start pose is told which one, and why."""

from __future__ import annotations

import math
import tomllib

import pytest
from isaac.rl.workbench.doctor.drop_test import BaseMotion, drop_verdict
from isaac.rl.workbench.doctor.physics_checks import physics_checks, spec_checks
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.scene.inspect import inspect_scene
from isaac.rl.workbench.scene.joint_loads import joint_loads
from isaac.rl.workbench.scene.suggested_gains import actuator_tables
from isaac.rl.workbench.specs.loader import spec_from_table

from .walker import arm_robot, pole_robot, table_robot

STAND_FIX = "in [actuators.legs]: stiffness = 100"
HEIGHT_FIX = "in [robot]: root_height = 0.4"


def _verdict(start: float, end: float, tilt_deg: float = 0.0, drift: float = 0.0):
    return drop_verdict(BaseMotion(start, end, math.radians(tilt_deg), drift), 2.0, STAND_FIX, HEIGHT_FIX)


@pytest.mark.parametrize(
    ("motion", "level", "says", "fix"),
    [
        ((0.4, 0.12, 90.0), "problem", "fallen: the base tilted 90 deg", STAND_FIX),  # on its side
        ((0.8, 0.09, 170.0), "problem", "fallen: the base tilted 170 deg", STAND_FIX),  # face down
        ((0.46, 0.067, 10.0), "problem", "fallen: the base sank to 0.067 m from 0.460 m", STAND_FIX),  # folded
        ((0.0, 8.8, 20.0), "problem", "thrown up by the ground", HEIGHT_FIX),  # started inside the ground
        ((0.4, -0.3), "problem", "0.300 m below the ground", "colliders"),
        ((0.4, 0.3, 5.0, 0.6), "warning", "drifted 0.60 m", STAND_FIX),
        ((0.4, 0.3, 5.0, 0.01), "ok", "stands for 2 s: base at 0.300 m", ""),
    ],
)
def test_the_verdict_reads_height_tilt_and_drift_from_the_start_pose(motion, level, says, fix):
    finding = _verdict(*motion)
    assert (finding.level, finding.check) == (level, "drop test") and says in finding.message, finding
    assert fix in finding.message


def _pole_spec(tmp_path, **extra):
    table = {
        "scene": str(pole_robot(tmp_path / "pole.usda")),
        "robot": {"base": "floating"},
        "actions": {"type": "joint_effort"},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
        **extra,
    }
    return spec_from_table(table, tmp_path / "pole.toml")


def test_a_robot_that_falls_on_its_side_is_fallen(tmp_path):
    (finding,) = physics_checks(_pole_spec(tmp_path))
    assert finding.level == "problem" and finding.message.startswith("fallen: the base tilted"), finding
    assert int(finding.message.split("tilted ")[1].split(" deg")[0]) > 60, finding
    assert '[terminations.fallen] func = "bad_orientation"' in finding.message


def test_a_termination_that_fires_at_the_start_pose_is_named_with_its_params(tmp_path):
    terminations = {"base_down": {"func": "root_height_below", "params": {"height": 0.5}}}  # the base starts at 0.41
    findings, _ = spec_checks(_pole_spec(tmp_path, terminations=terminations))
    problems = {f.check: f.message for f in findings if f.level == "problem"}
    says = "[terminations.base_down] root_height_below(height = 0.5) fires 1 env step(s) after the start pose"
    assert problems["terminations"].startswith(says + ": every episode would end at once"), findings


def test_a_start_inside_the_ground_is_fixed_by_a_root_height_to_paste(tmp_path):
    findings, fragment = spec_checks(_pole_spec(tmp_path, robot={"base": "floating", "root_height": 0.1}))
    problems = {f.check: f.message for f in findings if f.level == "problem"}
    assert "0.299 m below the ground: every episode starts inside it" in problems["start pose"], findings
    assert "tested at [robot] root_height = 0.404" in problems["drop test"], findings
    assert fragment.startswith("[robot]\nroot_height = 0.404"), fragment


def test_doctor_exits_1_and_names_the_fall(tmp_path, capsys):
    spec = _pole_spec(tmp_path)
    (tmp_path / "pole.toml").write_text(
        f'scene = "{spec.scene}"\n[robot]\nbase = "floating"\n[actions]\ntype = "joint_effort"\n'
        '[observations.policy]\nterms = ["joint_pos"]\n[rewards.alive]\nfunc = "is_alive"\n'
    )
    assert main(["doctor", str(tmp_path / "pole.toml")]) == 1
    out = capsys.readouterr().out
    assert "problem  drop test     fallen: the base tilted" in out and "not ready to train: 1 problem(s)" in out, out


def test_a_fall_that_a_spec_termination_ends_is_a_warning_naming_it(tmp_path):
    """A robot that cannot stand unaided at zero action (Gymnasium's humanoid) is trained with a termination that
    ends fallen episodes: the fall is then what the spec expects, a warning that names the termination."""
    terminations = {"tipped": {"func": "bad_orientation", "params": {"limit_angle": 0.8}}}
    findings, _ = spec_checks(_pole_spec(tmp_path, terminations=terminations))
    drop = next(f for f in findings if f.check == "drop test")
    assert drop.level == "warning" and drop.message.startswith("fallen: the base tilted"), findings
    assert "[terminations.tipped] ends such episodes" in drop.message, drop
    assert not [f for f in findings if f.level == "problem"], findings


def _table_spec(tmp_path, actuators: dict):
    table = {
        "scene": str(table_robot(tmp_path / "table.usda")),
        "robot": {"base": "floating", "root_height": 0.385, "joint_pos": {".*_hip": 0.2}},  # legs leaning forward
        "actuators": actuators,
        "actions": {"type": "joint_position", "scale": 0.25},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    return spec_from_table(table, tmp_path / "table.toml")


def test_a_robot_whose_legs_fold_gets_the_gains_import_prints_which_hold_it(tmp_path):
    """Soft hips let the table's legs swing and its base sink: the fix is the [actuators] tables of the rule import
    prints gains by (from the robot's masses at this start pose), not a multiple of the spec's gains; pasted, they
    hold it."""
    spec = _table_spec(tmp_path, {"hips": {"joints": [".*"], "stiffness": 2.0}})
    findings, fragment = spec_checks(spec)
    drop = next(f for f in findings if f.check == "drop test")
    assert drop.level == "problem" and drop.message.startswith("fallen: the base sank to"), findings
    assert "stiffer legs: replace your [actuators] tables with those `import` prints from its masses" in drop.message
    assert "stiffness = 8" not in drop.message, "not four times the spec's stiffness"
    art = inspect_scene(spec.scene).find(None)
    rule = actuator_tables(joint_loads(spec.scene, art, {n: 0.2 for n in spec.joint_names}, True, 0.385))
    assert fragment.startswith("# in place of your [actuators] tables"), fragment
    assert "\n".join(rule).strip() in fragment, "the tables import prints, as it prints them"
    tables = tomllib.loads(fragment)["actuators"]
    (group,) = tables.values()
    assert f"[actuators.{next(iter(tables))}] stiffness {group['stiffness']:g}" in drop.message, drop
    pasted = tmp_path / "pasted"  # a scene file of its own: USD refuses to create a layer that is still open
    pasted.mkdir()
    findings, _ = spec_checks(_table_spec(pasted, tables))
    stands = next(f for f in findings if f.check == "drop test")
    assert stands.level == "ok" and stands.message.startswith("stands for 2 s"), findings


def test_a_robot_without_pd_is_told_gains_are_not_why_it_falls(tmp_path):
    (finding,) = physics_checks(_pole_spec(tmp_path))
    assert (
        "its joints hold nothing at zero action (joint_effort actions: zero action is zero effort)" in finding.message
    )
    assert "gains are not why it falls" in finding.message and "stiffness" not in finding.message, finding


def test_a_robot_dropped_from_above_is_told_its_root_height_first(tmp_path):
    findings, fragment = spec_checks(_pole_spec(tmp_path, robot={"base": "floating", "root_height": 1.5}))
    drop = next(f for f in findings if f.check == "drop test")
    assert drop.level == "problem" and drop.message.startswith("fallen"), findings
    assert "it was dropped from 1.10 m above where it stands, so gains are not the first fix" in drop.message, drop
    assert "in [robot]: root_height = 0.404" in drop.message and "[actuators" not in fragment, fragment


def test_a_joint_without_pd_still_swinging_is_not_told_to_raise_its_damping(tmp_path):
    """An arm under joint_effort actions (Gymnasium's robots) has no PD: its loaded joint swings at zero action."""
    table = {
        "scene": str(arm_robot(tmp_path / "arm.usda")),
        "actions": {"type": "joint_effort"},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    (finding,) = physics_checks(spec_from_table(table, tmp_path / "arm.toml"))
    assert finding.level == "warning" and finding.message.startswith("still moving after 2 s (lift at"), finding
    assert "it has no PD to hold it" in finding.message and "damping too low" not in finding.message, finding
