"""``[ppo.algorithm.symmetry]`` on a task whose networks read camera images (N, C, H, W) is refused when the spec
loads, in one line naming the key (train: exit 2, nothing written): the mirror maps mirror vector groups only. An
image group no network reads is left alone."""

from __future__ import annotations

import pytest
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.specs.loader import SpecError, load_spec

SYMMETRY = {"ppo.learner": "rsl_rl", "ppo.algorithm.symmetry.use_data_augmentation": True}


def test_symmetry_on_an_image_policy_is_refused_naming_the_key():
    with pytest.raises(SpecError) as caught:
        load_spec("cartpole_depth", SYMMETRY)
    assert caught.value.key == "ppo.algorithm.symmetry"
    assert "observation group image holds camera images (camera_depth" in str(caught.value)


def test_train_exits_2_in_one_line_and_writes_nothing(tmp_path, capsys):
    sets = ["--set", "ppo.learner=rsl_rl", "ppo.algorithm.symmetry.use_data_augmentation=true"]
    assert main(["train", "cartpole_depth", *sets, "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "key 'ppo.algorithm.symmetry': observation group image holds camera images" in err[0]
    assert not (tmp_path / "run").exists()


def test_a_hand_given_map_for_the_image_term_is_refused_too():
    image_map = {"ppo.algorithm.symmetry.terms.camera_depth": {"index": [0], "sign": [1.0]}}
    with pytest.raises(SpecError, match=r"key 'ppo.algorithm.symmetry': observation group image holds camera images"):
        load_spec("cartpole_depth", SYMMETRY | image_map)


def test_an_image_group_no_network_reads_does_not_stop_symmetry():
    unread = {"ppo.obs_groups": {"actor": ["policy"], "critic": ["critic"]}, "ppo.actor": {"hidden_dims": [64, 64]}}
    spec = load_spec("cartpole_depth", SYMMETRY | unread)
    assert "symmetry" in spec.ppo["algorithm"]


def test_an_image_term_of_your_own_is_refused_when_the_env_sees_its_images(tmp_path, monkeypatch):
    """A term of one's own that returns images is not known as a camera term when the spec loads (with a map given
    for it, the load passes); the env, which sees its values are (C, H, W) per env, refuses it naming the key and
    the group's shape, rather than comparing the map with the image's width."""
    (tmp_path / "own_image_terms.py").write_text(
        "def nearness(env, sensor):\n    return 1.0 - env.camera(sensor)['depth'].unsqueeze(1) / 6.0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    own = {
        "env.num_envs": 2,
        "observations.image.terms": [{"func": "own_image_terms:nearness", "params": {"sensor": "side"}}],
        "ppo.algorithm.symmetry.terms.own_image_terms:nearness": {"index": [0], "sign": [1.0]},
    }
    spec = load_spec("cartpole_depth", SYMMETRY | own)
    env = WorkbenchEnv(spec)
    with pytest.raises(SpecError) as caught:
        env.symmetry_augmentation()
    assert caught.value.key == "ppo.algorithm.symmetry"
    assert "observation group image holds camera images (2 x 32 x 128 per env" in str(caught.value)
