"""Too many envs for the device are refused in seconds, before the build, naming env.num_envs and what fits: the
CPU's stated cap (with its override), and on CUDA the physics' memory per env measured on two small builds by an
engine that can measure it."""

from __future__ import annotations

import pytest
from isaac.rl.workbench.backend.newton_memory import bytes_per_env, warp_bytes
from isaac.rl.workbench.envs import workbench_env
from isaac.rl.workbench.envs.env_size import CPU_MAX_ENVS, GPU_CHECK_ABOVE, check_num_envs
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.specs.loader import SpecError, load_spec


def never_measured():
    raise AssertionError("measured a run that needs no measuring")


def test_the_cpu_takes_its_stated_number_of_envs_and_the_override_raises_it(monkeypatch):
    check_num_envs(CPU_MAX_ENVS, "cpu", never_measured)
    with pytest.raises(SpecError) as info:
        check_num_envs(CPU_MAX_ENVS + 1, "cpu", never_measured)
    assert info.value.key == "env.num_envs"
    assert f"at most {CPU_MAX_ENVS} there (ISAAC_RL_WORKBENCH_CPU_MAX_ENVS raises it)" in str(info.value)
    monkeypatch.setenv("ISAAC_RL_WORKBENCH_CPU_MAX_ENVS", str(2 * CPU_MAX_ENVS))
    check_num_envs(2 * CPU_MAX_ENVS, "cpu", never_measured)
    monkeypatch.setenv("ISAAC_RL_WORKBENCH_CPU_MAX_ENVS", "lots")
    with pytest.raises(SpecError, match="ISAAC_RL_WORKBENCH_CPU_MAX_ENVS='lots': expected an integer"):
        check_num_envs(8, "cpu", never_measured)


def test_a_gpu_run_that_does_not_fit_is_refused_with_the_number_that_does():
    gib = 2**30
    measured = lambda: (50_000.0, 0.5 * gib)  # noqa: E731  50 kB per env of physics, 0.5 GiB fixed
    check_num_envs(GPU_CHECK_ABOVE, "cuda", never_measured, free_bytes=lambda device: 0)
    check_num_envs(200_000, "cuda:0", measured, free_bytes=lambda device: 80 * gib)  # 2 x 50 kB x 200k = 20 GB
    with pytest.raises(SpecError) as info:
        check_num_envs(10**9, "cuda:1", measured, free_bytes=lambda device: 80 * gib)
    message = str(info.value)
    assert info.value.key == "env.num_envs" and "on cuda:1" in message and "100 kB per env" in message
    fits = int((80 * gib - 0.5 * gib) / 100_000)
    assert message.endswith(f"80.0 GiB are free; at most about {fits} envs fit")


def test_an_engine_that_cannot_measure_its_memory_builds_a_large_gpu_run_unchecked():
    check_num_envs(10**9, "cuda", None, free_bytes=lambda device: 0)
    with pytest.raises(SpecError):  # the CPU's stated cap holds for every engine
        check_num_envs(10**9, "cpu", None)


def test_the_physics_memory_per_env_is_measured_on_small_builds():
    spec = load_spec("cartpole")
    sizes = []

    def build(num_envs):
        sizes.append(num_envs)
        return workbench_env.make_backend(load_spec("cartpole", {"env.num_envs": num_envs}), "cpu")

    per_env, fixed = bytes_per_env(build, (2, 4))
    assert sizes == [2, 4] and per_env > 1000 and fixed >= 0, (per_env, fixed)
    assert spec.env.num_envs not in sizes


def test_an_array_reached_twice_counts_once():
    import warp as wp

    array = wp.zeros(1000, dtype=wp.float32, device="cpu")
    assert warp_bytes([array]) == 4000
    assert warp_bytes({"a": array, "b": [array, (array,)]}) == 4000


def test_a_billion_envs_is_one_line_before_anything_is_built(tmp_path, capsys, monkeypatch):
    from isaac.rl.workbench.backend import newton_backend

    built = []
    monkeypatch.setattr(newton_backend, "NewtonBackend", lambda request, *args: built.append(request.num_envs))
    assert main(["train", "cartpole", "--num-envs", str(10**9), "--run-dir", str(tmp_path / "run")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: key 'env.num_envs': {10**9} envs on the CPU"), lines
    assert not (tmp_path / "run").exists() and not built
