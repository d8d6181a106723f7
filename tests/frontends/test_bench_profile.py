"""``bench --profile`` splits one PPO iteration into its sections, and the sections account for the iteration."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from isaac.rl.workbench.frontends import bench_profile
from isaac.rl.workbench.frontends.bench_profile import SECTIONS, format_profile, profile


@pytest.mark.slow
def test_the_sections_cover_the_iteration_and_each_is_measured(monkeypatch):
    # Timed on this thread's CPU clock: on a busy machine the wall clock also counts the time other processes hold
    # the CPU, and a wait that lands between two sections would be missing from the sections' sum.
    monkeypatch.setattr(bench_profile, "time", SimpleNamespace(perf_counter=time.thread_time))
    result = profile("cartpole", num_envs=16, device="cpu", iterations=2, overrides={})
    assert list(result["sections"]) == list(SECTIONS)
    assert all(seconds > 0 for seconds in result["sections"].values()), result["sections"]
    # exclusive times: the sections add up to the iteration they were measured in, nothing counted twice
    total = sum(result["sections"].values())
    assert 0.8 * result["split_iteration_s"] < total <= result["split_iteration_s"], result
    assert result["syncs_per_iteration"] is None, "no device to synchronise with on the CPU"
    table = format_profile(result)
    assert "update: optimiser step" in table and "cartpole, 16 envs on cpu" in table
