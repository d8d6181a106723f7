"""The panels' shared layout helpers: inline TOML both ways, durations."""

from __future__ import annotations

import pytest
from isaac.rl.workbench.frontends.panel_layout import duration, from_toml, to_toml


@pytest.mark.parametrize(
    "value", [0.5, 3, True, "x", 'say "hi"', [1, 2], {"joints": ["hinge"]}, {".*_hip_y": 300.0}, float("inf"), 1e-7]
)
def test_a_value_written_as_inline_toml_reads_back_the_same(value):
    assert from_toml(to_toml(value)) == value


def test_a_bare_word_is_a_string_and_durations_read_as_clock_times():
    assert from_toml("  slider ") == "slider"
    assert (duration(None), duration(42.4), duration(3723)) == ("-", "42s", "1:02:03")
