"""A recurrent (LSTM / GRU) actor: refused where it cannot run, trained with rsl-rl's PPO, exported with its hidden
state, and run by the deployment policy step for step as the trained policy plays."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from isaac.rl.workbench.deploy.policy import load_policy
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.learn.ppo_config import default_ppo_config, validate_ppo_config
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.specs.schema import SpecError

LSTM = {"class_name": "RNNModel", "rnn_type": "lstm", "rnn_hidden_dim": 8, "rnn_num_layers": 1}


def _ppo(**actor) -> dict:
    cfg = default_ppo_config()
    cfg["actor"].update(actor)
    return cfg


def test_a_recurrent_actor_needs_rsl_rls_learner():
    with pytest.raises(ValueError, match=r'ppo\.actor\.class_name: not supported by ppo\.learner = "graphed"'):
        validate_ppo_config(_ppo(**LSTM))
    validate_ppo_config({**_ppo(**LSTM), "learner": "rsl_rl"})  # accepted with rsl-rl's PPO


@pytest.mark.parametrize(
    ("actor", "key"),
    [
        ({**LSTM, "rnn_type": "transformer"}, "ppo.actor.rnn_type"),
        ({**LSTM, "rnn_hidden_dim": 0}, "ppo.actor.rnn_hidden_dim"),
        ({"class_name": "TransformerModel"}, "ppo.actor.class_name"),
        ({"rnn_type": "lstm"}, "ppo.actor.rnn_type"),  # an RNN key on an MLPModel: not its argument
    ],
)
def test_bad_recurrent_settings_are_refused_naming_the_key(actor, key):
    with pytest.raises((KeyError, ValueError), match=f"'{key}'"):
        validate_ppo_config({**_ppo(**actor), "learner": "rsl_rl"})


def test_symmetry_with_a_recurrent_actor_is_refused():
    cfg = {**_ppo(**LSTM), "learner": "rsl_rl"}
    cfg["algorithm"]["symmetry"] = {"use_data_augmentation": True}
    with pytest.raises(ValueError, match=r"'ppo\.algorithm\.symmetry' does not work with a recurrent ppo\.actor"):
        validate_ppo_config(cfg)


def _spec_file(tmp_path: Path, rnn_type: str, train: str = "") -> Path:
    """cartpole with a tiny recurrent actor under rsl-rl's PPO (``train``: extra [train] lines)."""
    source = Path(load_spec("cartpole").source)
    text = source.read_text().replace('"../assets', f'"{source.parent}/../assets')
    text = text.replace("[ppo]\n", '[ppo]\nlearner = "rsl_rl"\n', 1).replace(
        "[ppo.actor]\n", f'[ppo.actor]\nclass_name = "RNNModel"\nrnn_type = "{rnn_type}"\nrnn_hidden_dim = 8\n', 1
    )
    path = tmp_path / f"cartpole_{rnn_type}.toml"
    path.write_text(text + (f"\n[train]\n{train}\n" if train else ""))
    return path


def test_evaluation_beside_training_is_refused_at_load(tmp_path):
    with pytest.raises(SpecError, match=r"key 'train\.eval_every': evaluation beside training needs a feed-forward"):
        load_spec(_spec_file(tmp_path, "lstm", "eval_every = 5"))


@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_recurrent_policy_trains_exports_and_deploys_step_for_step(tmp_path, rnn_type):
    from isaac.rl.workbench.workbench import Workbench

    run_dir = tmp_path / "run"
    args = ["train", str(_spec_file(tmp_path, rnn_type)), "--run-dir", str(run_dir), "--num-envs", "8"]
    assert main([*args, "--max-iterations", "2"]) == 0

    wb = Workbench.open(run_dir)
    wb.build(resume=True)
    assert wb.iteration == 2 and wb.trainer.actor.is_recurrent
    out = tmp_path / "export"
    report = wb.trained_policy.export(out)
    assert report["max_abs_diff_onnx"] <= 1e-5 and report["max_abs_diff_torchscript"] <= 1e-5
    assert report["recurrent"] == {"rnn_type": rnn_type, "num_layers": 1, "hidden_dim": 8}
    assert json.loads((out / "parity.json").read_text())["recurrent"]["hidden_dim"] == 8

    for _ in range(3):  # play: a fresh hidden state at its start, zeroed where an episode ends
        assert wb.trained_policy.play_step()["dones"].shape == (8,)

    # replay recorded observations of env 0 through the inference path and through the deployment policy
    policy = wb.trainer.inference_policy()
    env = wb.env
    recorded, expected, done_after = [], [], []
    with torch.inference_mode():
        obs = env.reset()
        policy.reset()
        for _ in range(120):
            action = policy(obs)
            recorded.append(obs["policy"][0].cpu().numpy().copy())
            expected.append(action[0].cpu().numpy().copy())
            obs, _, dones, _ = env.step(action)
            policy.reset(dones)
            done_after.append(bool(dones[0]))
    assert any(done_after), "no episode of env 0 ended: the reset points are untested"

    layout = {"rnn_type": rnn_type, "num_layers": 1, "hidden_dim": 8}
    bundle = SimpleNamespace(
        policy={"obs_dim": 4, "num_actions": 1, "recurrent": layout},
        onnx_path=out / "policy.onnx",
        torchscript_path=out / "policy.pt",
        source=str(out / "deploy.json"),
    )
    for backend in ("onnxruntime", "torchscript"):
        deployed = load_policy(bundle, backend)
        assert deployed.recurrent
        deployed.reset()
        got = []
        for obs_row, done in zip(recorded, done_after, strict=True):
            got.append(deployed(obs_row))
            if done:
                deployed.reset()
        np.testing.assert_allclose(np.stack(got), np.stack(expected), atol=1e-5, err_msg=backend)
