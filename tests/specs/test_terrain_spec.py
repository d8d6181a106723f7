"""The ``[terrain]`` table: absent, the envs stand on the flat ground as before; present, its keys reach the
generator with their defaults; a bad value is one line naming the key and what was expected."""

from __future__ import annotations

import pytest
from isaac.rl.workbench.envs.backend_request import backend_request
from isaac.rl.workbench.scene.terrain_tiles import TILE_TYPES
from isaac.rl.workbench.specs.loader import SpecError, load_spec, save_spec


def test_without_the_table_there_is_no_terrain():
    spec = load_spec("ant")
    assert spec.terrain is None and backend_request(spec, "cpu").terrain is None


def test_an_empty_table_is_every_tile_type_with_its_defaults():
    spec = load_spec("ant", {"terrain.rows": 5})
    assert spec.terrain is not None
    assert [t.name for t in spec.terrain.types] == list(TILE_TYPES)
    assert spec.terrain.num_columns == len(TILE_TYPES)
    assert spec.terrain.tile_size == 8.0 and spec.terrain.horizontal_scale == 0.1


def test_the_keys_reach_the_terrain_and_survive_the_run_folder(tmp_path):
    overrides = {
        "terrain.rows": 2,
        "terrain.columns": 3,
        "terrain.tile_size": 4.0,
        "terrain.border": 0.5,
        "terrain.seed": 3,
        "terrain.max_start_level": 1,
        "terrain.types.stairs_up.step_height": [0.05, 0.1],
        "terrain.types.random_rough.amplitude": 0.04,
        "terrain.types.random_rough.proportion": 2.0,
    }
    spec = load_spec("ant", overrides)
    terrain = spec.terrain
    assert (terrain.rows, terrain.columns, terrain.tile_size, terrain.border, terrain.seed) == (2, 3, 4.0, 0.5, 3)
    stairs, rough = terrain.types
    assert stairs.name == "stairs_up" and stairs.params == {"step_height": (0.05, 0.1)}
    assert rough.params == {"amplitude": (0.04, 0.04)} and rough.proportion == 2.0
    save_spec(spec, tmp_path / "spec.toml")
    assert load_spec(tmp_path / "spec.toml").terrain == terrain


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("terrain.rows", 0, "must be >= 1"),
        ("terrain.rows", 2.5, "expected int"),
        ("terrain.columns", 0, "must be >= 1"),
        ("terrain.tile_size", 8.05, "whole number of terrain.horizontal_scale cells"),
        ("terrain.tile_size", -1.0, "must be > 0"),
        ("terrain.border", 0.25, "whole number"),
        ("terrain.horizontal_scale", 0.0, "must be > 0"),
        ("terrain.horizontal_scale", 0.001, "samples, at most"),
        ("terrain.vertical_scale", -0.005, "must be > 0"),
        ("terrain.seed", -1, "must be >= 0"),
        ("terrain.max_start_level", 5, "from 0 to terrain.rows - 1"),
        ("terrain.size", 8.0, "unknown key"),
        ("terrain.types.stairs", {}, "unknown key"),
        ("terrain.types.stairs_up.step_height", -0.1, "must be >= 0"),
        ("terrain.types.stairs_up.step_height", [0.1], "[easiest, hardest]"),
        ("terrain.types.stairs_up.step_height", "high", "expected float or list"),
        ("terrain.types.stairs_up.step_width", 0.0, "must be > 0"),
        ("terrain.types.stairs_up.slope_deg", 10.0, "unknown key"),
        ("terrain.types.slope_up.slope_deg", [0.0, 75.0], "must be <= 60"),
        ("terrain.types.boxes.box_size_max", 0.2, "must be >= box_size_min"),
        ("terrain.types.flat.proportion", -1.0, "must be >= 0"),
        ("terrain.types.flat.proportion", 0.0, "proportion > 0"),
    ],
)
def test_a_bad_value_is_one_line_naming_its_key(key, value, expected):
    with pytest.raises(SpecError) as caught:
        load_spec("ant", {key: value})
    message = str(caught.value)
    assert caught.value.key == key, message
    assert f"'{key}'" in message and expected in message and "\n" not in message, message


def test_a_terrain_on_a_ground_turned_off_is_refused():
    with pytest.raises(SpecError) as caught:
        load_spec("ant", {"env.ground": False, "terrain.rows": 2})
    message = str(caught.value)
    assert caught.value.key == "env.ground" and "'env.ground'" in message and "[terrain]" in message, message


def test_a_terrain_on_another_engine_than_newton_is_refused():
    with pytest.raises(SpecError) as caught:
        load_spec("ant", {"env.physics": "physx", "terrain.rows": 2})
    message = str(caught.value)
    assert caught.value.key == "env.physics" and '"newton" only' in message and "\n" not in message, message


def test_columns_that_leave_a_listed_type_without_a_tile_are_refused_naming_the_type():
    proportions = {"stairs_up": 2.0, "stairs_down": 2.0, "slope_up": 1.0}
    types = {f"terrain.types.{name}.proportion": share for name, share in proportions.items()}
    with pytest.raises(SpecError) as caught:
        load_spec("ant", {**types, "terrain.columns": 2})
    message = str(caught.value)
    assert caught.value.key == "terrain.columns" and "leave slope_up without a column" in message, message
    assert load_spec("ant", {**types, "terrain.columns": 5}).terrain.num_columns == 5
