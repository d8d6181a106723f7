"""Spec keys and terms are documented where they are declared; docs/terms.md is what the code says today."""

from __future__ import annotations

from dataclasses import fields

import pytest
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.frontends.term_docs import terms_markdown
from isaac.rl.workbench.specs.key_docs import spec_key_docs
from isaac.rl.workbench.specs.schema import ActionSpec, EnvSpec, TaskSpec, TermSpec
from isaac.rl.workbench.terms import REGISTRIES
from isaac.rl.workbench.utils.field_docs import field_docs

from ..conftest import REPO


def test_docs_terms_md_is_current():
    committed = (REPO / "docs" / "terms.md").read_text()
    assert committed == terms_markdown(), "docs/terms.md is stale: isaac-rl-workbench terms > docs/terms.md"


def test_every_library_term_is_documented_with_its_parameters():
    text = terms_markdown()
    for kind, registry in REGISTRIES.items():
        for name, func in registry.items():
            assert func.__doc__ and func.__doc__.strip(), f"{kind} term {name} has no docstring"
            assert f"| `{name}` |" in text
    assert "| `joint_pos_target_l2` | `target`, `joints=all` |" in text
    for offered in ("dof_pos", "root_lin_vel_b", "episode_length_buf", "actions", "write_dof_state("):
        assert f"| `{offered}" in text, offered


@pytest.mark.parametrize("cls", [EnvSpec, ActionSpec, TermSpec, TaskSpec])
def test_every_spec_field_has_a_docstring(cls):
    docs = field_docs(cls)
    missing = [f.name for f in fields(cls) if not docs.get(f.name)]
    assert not missing, f"{cls.__name__} fields without a docstring: {missing}"


def test_env_fields_state_their_unit_or_range():
    docs = field_docs(EnvSpec)
    assert "[m]" in docs["spacing"] and "[s]" in docs["physics_dt"] and ">= 1" in docs["num_envs"]


def test_help_keys_lists_every_key_with_default_and_meaning(capsys):
    assert main(["spec", "--help-keys"]) == 0
    out = capsys.readouterr().out
    for item in spec_key_docs():
        assert item.key in out
    assert "env.physics_dt (default 0.008333333333333333)" in out
    assert "rewards.<name>.weight (default 1.0)" in out and "per second" in out


def test_help_keys_list_the_terrain_and_its_curriculum_with_units(capsys):
    assert main(["spec", "--help-keys"]) == 0
    out = capsys.readouterr().out
    assert "terrain.tile_size (default 8.0)\n    Side of each square tile [m]" in out
    assert "terrain.types.<type>.proportion (default 1.0)" in out
    assert "terrain.types.stairs_up.step_height (default [0.05, 0.2])\n    Rise of each stair [m], >= 0." in out
    assert "terrain.types.slope_up.slope_deg (default [0.0, 20.0])" in out and "[degrees], at most 60" in out
    assert "curriculum.terrain_levels.command\n" in out and "type ``velocity``" in out
    from isaac.rl.workbench.scene.terrain_tiles import TILE_PARAMETERS

    for name, params in TILE_PARAMETERS.items():
        for param in params:
            assert f"terrain.types.{name}.{param} (default " in out, f"terrain.types.{name}.{param}"
