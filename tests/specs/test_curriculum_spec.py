"""The ``[curriculum.terrain_levels]`` table: absent, no curriculum; present, it names a velocity command and needs a
``[terrain]``; a bad key or value is one line naming the key."""

from __future__ import annotations

import pytest
from isaac.rl.workbench.specs.loader import SpecError, load_spec, save_spec
from isaac.rl.workbench.specs.schema import TerrainLevelsSpec

TERRAIN_AND_COMMAND = {
    "terrain.rows": 2,
    "commands.base_velocity.type": "velocity",
    "commands.base_velocity.ranges.lin_vel_x": [0.0, 1.0],
    "commands.goal.type": "position",
    "commands.goal.frame": "env",
}
CURRICULUM = {**TERRAIN_AND_COMMAND, "curriculum.terrain_levels.command": "base_velocity"}


def test_without_the_table_there_is_no_curriculum():
    assert load_spec("ant", TERRAIN_AND_COMMAND).terrain_levels is None


def test_the_table_names_its_command_and_survives_the_run_folder(tmp_path):
    spec = load_spec("ant", CURRICULUM)
    assert spec.terrain_levels == TerrainLevelsSpec(command="base_velocity")
    save_spec(spec, tmp_path / "spec.toml")
    assert load_spec(tmp_path / "spec.toml").terrain_levels == spec.terrain_levels


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("curriculum.terrain_levels.command", "walk", "expected a [commands.<name>] of type velocity (base_velocity)"),
        ("curriculum.terrain_levels.command", "goal", "of type velocity"),
        ("curriculum.terrain_levels.command", 1, "expected str"),
        ("curriculum.terrain_levels.speed", 1.0, "unknown key; expected one of: command"),
        ("curriculum.levels", {"command": "base_velocity"}, "unknown key; expected one of: terrain_levels"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key(key, value, expected):
    with pytest.raises(SpecError) as error:
        load_spec("ant", {**CURRICULUM, key: value})
    assert error.value.key == key and expected in str(error.value)
    assert f"key '{key}'" in str(error.value)


def test_a_missing_command_is_refused_naming_the_key():
    with pytest.raises(SpecError) as error:
        load_spec("ant", {**TERRAIN_AND_COMMAND, "curriculum.terrain_levels": {}})
    assert error.value.key == "curriculum.terrain_levels.command" and "missing" in str(error.value)


def test_a_curriculum_without_a_terrain_is_refused_naming_the_key():
    no_terrain = {k: v for k, v in CURRICULUM.items() if not k.startswith("terrain.")}
    with pytest.raises(SpecError) as error:
        load_spec("ant", no_terrain)
    assert error.value.key == "curriculum.terrain_levels" and "add a [terrain] table" in str(error.value)
