"""export_policy on small rsl-rl actors: files, dynamic batch, normaliser included, parity and its failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from isaac.rl.workbench.learn.export import ExportError, export_policy
from rsl_rl.models import MLPModel
from tensordict import TensorDict


def _obs(num: int, dims: dict[str, int]) -> TensorDict:
    return TensorDict({name: torch.randn(num, dim) * 3.0 + 2.0 for name, dim in dims.items()}, batch_size=[num])


def _actor(dims: dict[str, int], actor_groups: list[str], seed: int = 0) -> MLPModel:
    """An actor built the way rsl-rl builds one, with a normaliser fitted to data far from N(0, 1)."""
    torch.manual_seed(seed)
    actor = MLPModel(
        _obs(64, dims),
        {"actor": actor_groups, "critic": actor_groups},
        "actor",
        2,
        hidden_dims=[32, 32],
        activation="elu",
        obs_normalization=True,
        distribution_cfg={"class_name": "GaussianDistribution", "init_std": 1.0},
    )
    actor.update_normalization(_obs(1000, dims))
    return actor


def _onnx_actions(path: Path, obs: torch.Tensor) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["actions"], {"obs": obs.numpy()})[0]


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_export_writes_models_that_match_the_policy(tmp_path: Path) -> None:
    actor = _actor({"policy": 5}, ["policy"])
    actor.train()
    state = {key: value.clone() for key, value in actor.state_dict().items()}
    report = export_policy(actor, _obs(200, {"policy": 5}), tmp_path / "export")

    out = tmp_path / "export"
    assert {path.name for path in out.iterdir()} == {"policy.onnx", "policy.pt", "parity.json"}
    assert json.loads((out / "parity.json").read_text()) == report
    assert report["num_observations"] == 200 and report["obs_dim"] == 5 and report["num_actions"] == 2
    assert report["obs_groups"] == ["policy"] and report["atol"] == 1e-5
    assert report["max_abs_diff_onnx"] < 1e-5 and report["max_abs_diff_torchscript"] < 1e-5

    # the actor is left as it was
    assert actor.training
    for key, value in actor.state_dict().items():
        assert torch.equal(value, state[key]), key

    # dynamic batch, normaliser included: compare with the policy on fresh data of other batch sizes
    scripted = torch.jit.load(str(out / "policy.pt"))
    actor.eval()
    for num in (1, 37):
        obs = _obs(num, {"policy": 5})
        with torch.no_grad():
            expected = actor(obs).numpy()
            unnormalised = actor.mlp(obs["policy"]).numpy()
        onnx_actions = _onnx_actions(out / "policy.onnx", obs["policy"])
        assert onnx_actions.shape == (num, 2)
        np.testing.assert_allclose(onnx_actions, expected, atol=1e-5)
        np.testing.assert_allclose(scripted(obs["policy"]).detach().numpy(), expected, atol=1e-5)
        assert np.abs(unnormalised - expected).max() > 1e-2  # the normaliser matters for this data


def test_export_two_groups_concatenated_in_actor_order(tmp_path: Path) -> None:
    dims = {"extra": 3, "policy": 4, "critic_only": 6}
    actor = _actor(dims, ["policy", "extra"])
    report = export_policy(actor, _obs(50, dims), tmp_path)
    assert report["obs_groups"] == ["policy", "extra"] and report["obs_dim"] == 7

    obs = _obs(9, dims)
    actor.eval()
    with torch.no_grad():
        expected = actor(obs).numpy()
    joined = torch.cat([obs["policy"], obs["extra"]], dim=-1)
    np.testing.assert_allclose(_onnx_actions(tmp_path / "policy.onnx", joined), expected, atol=1e-5)


def test_export_rejects_missing_group(tmp_path: Path) -> None:
    actor = _actor({"policy": 4, "extra": 3}, ["policy", "extra"])
    with pytest.raises(ExportError, match="extra"):
        export_policy(actor, _obs(10, {"policy": 4}), tmp_path)


def test_export_fails_when_onnx_normaliser_differs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    actor = _actor({"policy": 5}, ["policy"])
    stale = MLPModel.as_onnx

    def as_onnx_with_fresh_normaliser(self: MLPModel, verbose: bool) -> torch.nn.Module:
        model = stale(self, verbose)
        model.obs_normalizer = type(self.obs_normalizer)(self.obs_dim)  # statistics of no data: mean 0, std 1
        return model

    monkeypatch.setattr(MLPModel, "as_onnx", as_onnx_with_fresh_normaliser)
    with pytest.raises(ExportError, match="ONNX export differs"):
        export_policy(actor, _obs(100, {"policy": 5}), tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing written on failure


def test_export_fails_when_onnx_output_is_corrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    actor = _actor({"policy": 5}, ["policy"])
    run = onnxruntime.InferenceSession.run

    def corrupted_run(self: onnxruntime.InferenceSession, *args: object, **kwargs: object) -> list[np.ndarray]:
        outputs = run(self, *args, **kwargs)
        outputs[0][0, 0] += 1e-3
        return outputs

    monkeypatch.setattr(onnxruntime.InferenceSession, "run", corrupted_run)
    with pytest.raises(ExportError, match=r"ONNX export differs from the training policy by 0\.001"):
        export_policy(actor, _obs(20, {"policy": 5}), tmp_path)
    # a looser tolerance accepts the same difference
    report = export_policy(actor, _obs(20, {"policy": 5}), tmp_path, atol=1e-2)
    assert 0.5e-3 < report["max_abs_diff_onnx"] < 2e-3
