"""Physics engines by name: ``[env] physics`` is validated at load and recorded in a run folder's ``spec.toml`` (so
play, export and resume rebuild on the engine that trained); an engine absent here is refused with one line before
anything is built or written; the registry builds Newton's backend from a plain request, and closing it releases
what it held."""

from __future__ import annotations

import importlib.util
import tomllib

import pytest
from isaac.rl.workbench.backend.base import BackendError
from isaac.rl.workbench.backend.newton_backend import NewtonBackend
from isaac.rl.workbench.backend.newton_memory import warp_bytes
from isaac.rl.workbench.backend.registry import ENGINES, make_backend
from isaac.rl.workbench.envs.backend_request import backend_request
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.specs.loader import SpecError, load_spec, save_spec

PHYSX_ABSENT = (
    'error: env.physics = "physx" needs Isaac Sim\'s PhysX tensor API (omni.physics.tensors), found only inside '
    'Isaac Sim; train it there, or set env.physics = "newton"'
)


@pytest.fixture
def physx_spec(write_spec):
    return write_spec({"decimation = 2": 'decimation = 2\nphysics = "physx"'})


def test_a_physx_spec_loads_and_its_spec_toml_rebuilds_on_physx(physx_spec, tmp_path):
    spec = load_spec(physx_spec)
    assert spec.env.physics == "physx"
    save_spec(spec, tmp_path / "run" / "spec.toml")
    assert tomllib.loads((tmp_path / "run" / "spec.toml").read_text())["env"]["physics"] == "physx"
    assert load_spec(tmp_path / "run" / "spec.toml").env.physics == "physx"


def test_a_spec_without_the_key_is_newton_and_says_so_in_its_spec_toml(tmp_path):
    spec = load_spec("cartpole")
    assert spec.env.physics == "newton"
    save_spec(spec, tmp_path / "spec.toml")
    assert tomllib.loads((tmp_path / "spec.toml").read_text())["env"]["physics"] == "newton"


def test_an_unknown_engine_is_refused_at_load_naming_the_key(write_spec):
    with pytest.raises(SpecError) as info:
        load_spec(write_spec({"decimation = 2": 'decimation = 2\nphysics = "bullet"'}))
    assert info.value.key == "env.physics"
    assert str(info.value).endswith("key 'env.physics': expected one of newton, physx, got 'bullet'")


@pytest.mark.skipif(importlib.util.find_spec("omni") is not None, reason="Isaac Sim's omni packages are here")
def test_training_a_physx_spec_without_isaac_sim_is_one_line_and_leaves_no_run_folder(physx_spec, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(physx_spec), "--run-dir", str(run)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [PHYSX_ABSENT]
    assert not run.exists()


def test_the_registry_names_its_engines_and_refuses_others_in_one_line():
    request = backend_request(load_spec("cartpole", {"env.num_envs": 2}), "cpu")
    assert sorted(ENGINES) == ["newton", "physx"]
    with pytest.raises(BackendError) as info:
        make_backend("bullet", request)
    assert str(info.value) == 'env.physics = "bullet": no such physics engine; engines: newton, physx'


def test_newton_builds_from_a_plain_request_and_close_releases_its_memory():
    request = backend_request(load_spec("cartpole", {"env.num_envs": 2}), "cpu")
    assert request.joint_names == ("slider", "hinge") and request.num_envs == 2 and request.substeps == 2
    backend = make_backend("newton", request)
    assert isinstance(backend, NewtonBackend) and backend.dof_positions.shape == (2, 2)
    assert warp_bytes(backend) > 0
    backend.close()
    assert warp_bytes(backend) == 0, "nothing held after close"
