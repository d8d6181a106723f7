"""A robot converted from MJCF keeps what only MuJoCo's USD schemas hold: half_cheetah's passive joint springs and
hopper's joint reference position (``ref``) reach the MuJoCo model the physics runs, as MuJoCo compiles the same XML
(Gymnasium's, read from the installed wheel), and hopper's frictionless geoms still touch the ground with friction,
as they touch the XML's floor; a scene without those schemas loads as before."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mujoco
import numpy as np
import pytest
from isaac.rl.workbench.backend.newton_robot import has_mujoco_schemas
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.scene.import_robot import convert_robot
from isaac.rl.workbench.scene.inspect import inspect_scene
from isaac.rl.workbench.specs.loader import spec_from_table
from pxr import Usd

REPO = Path(__file__).resolve().parents[2]


def _gymnasium_xml(name: str) -> Path:
    spec = importlib.util.find_spec("gymnasium")
    assert spec is not None, "gymnasium is not installed: pip install -e '.[test]'"
    return Path(spec.submodule_search_locations[0]) / "envs" / "mujoco" / "assets" / f"{name}.xml"


@pytest.fixture(autouse=True)
def _mujoco_log_in_tmp(tmp_path, monkeypatch):
    """MuJoCo writes its warnings (``settotalmass`` is deprecated) to MUJOCO_LOG.TXT in the working folder."""
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("name", ["half_cheetah", "hopper"])
def test_springs_and_reference_positions_of_the_mjcf_reach_the_physics(tmp_path, name):
    xml = _gymnasium_xml(name)
    usd = convert_robot(xml, tmp_path / name).usd
    art = inspect_scene(usd).find(None)
    raw = {
        "scene": str(usd),
        "articulation": art.root_path,
        "env": {"num_envs": 1, "ground": True},
        "actions": {"type": "joint_effort"},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    }
    env = WorkbenchEnv(spec_from_table(raw, tmp_path / "spec.toml"))
    ours = env.backend.solver.mj_model  # one env on the CPU: its joints in the MJCF's order
    theirs = mujoco.MjModel.from_xml_path(str(xml))
    np.testing.assert_allclose(ours.jnt_stiffness, theirs.jnt_stiffness, rtol=1e-6)
    np.testing.assert_allclose(ours.qpos_spring, theirs.qpos_spring, atol=1e-6)
    np.testing.assert_allclose(ours.qpos0, theirs.qpos0, atol=1e-6)
    if name == "half_cheetah":
        assert ours.jnt_stiffness.tolist() == [0, 0, 0, 240, 180, 120, 180, 120, 60]
    else:
        torso = env.body_names.index("torso")
        assert float(env.body_poses_env[0, torso, 2]) == pytest.approx(1.25, abs=0.01), "rootz's ref: 1.25 m up"
        assert set(theirs.geom_condim.tolist()) == {1, 3}, "the XML's geoms are frictionless, its floor is not"
        assert set(ours.geom_condim.tolist()) == {3}, "MuJoCo's larger-of-two rule: the feet touch with friction"


def test_only_a_scene_with_mujoco_schemas_is_read_through_them(tmp_path):
    cheetah = convert_robot(_gymnasium_xml("half_cheetah"), tmp_path / "cheetah").usd
    assert has_mujoco_schemas(Usd.Stage.Open(str(cheetah)))
    for ours in ("cartpole.usda", "ant.usda"):
        assert not has_mujoco_schemas(Usd.Stage.Open(str(REPO / "assets" / "usd" / ours)))
