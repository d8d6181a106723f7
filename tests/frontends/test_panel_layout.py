"""The panels' shared layout helpers: inline TOML both ways, durations, the training speed."""

from __future__ import annotations

import pytest
from isaac.rl.workbench.frontends.panel_layout import duration, from_toml, throughput, to_toml
from isaac.rl.workbench.frontends.panel_state import RunState


@pytest.mark.parametrize(
    "value", [0.5, 3, True, "x", 'say "hi"', [1, 2], {"joints": ["hinge"]}, {".*_hip_y": 300.0}, float("inf"), 1e-7]
)
def test_a_value_written_as_inline_toml_reads_back_the_same(value):
    assert from_toml(to_toml(value)) == value


def test_a_bare_word_is_a_string_and_durations_read_as_clock_times():
    assert from_toml("  slider ") == "slider"
    assert (duration(None), duration(42.4), duration(3723)) == ("-", "42s", "1:02:03")


def test_the_speed_of_a_distributed_run_names_every_rank():
    assert throughput(RunState(env_steps_per_s=1234.4)) == "1,234 env-steps/s"
    ranks = RunState(env_steps_per_s=2.45e6, rank_env_steps_per_s=[1.2e6, 1.26e6, 950.0, 1049.0])
    assert throughput(ranks) == "2,450,000 env-steps/s (4 ranks: 1.2M, 1.3M, 950, 1.0k)"
