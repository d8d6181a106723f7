"""A CNN policy (rsl-rl's ``CNNModel``) over image observations (N, C, H, W) beside a vector group: its settings
checked naming the key, its networks checked against the env's image groups, trained by both learners (the graphed
one's update equal to rsl-rl's), in the chosen precision, resumed from a checkpoint, with its rollout storage counted,
and exported to ONNX and TorchScript with parity on image observations.

The env here is a fake (:class:`FakeImageEnv`): no physics and no rendering, an image drawn by hand, so the learning
side is tested on its own."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import onnxruntime
import pytest
import torch
from isaac.rl.workbench.deploy.bundle_error import BundleError
from isaac.rl.workbench.deploy.policy import load_policy
from isaac.rl.workbench.deploy_manifest import DeployError, check_deployable
from isaac.rl.workbench.frontends.cli import exit_code
from isaac.rl.workbench.learn.export import export_policy
from isaac.rl.workbench.learn.graphed_ppo import GraphedPPO
from isaac.rl.workbench.learn.ppo_config import default_ppo_config, validate_ppo_config
from isaac.rl.workbench.learn.rollout import evaluate
from isaac.rl.workbench.learn.rsl_rl_settings import NetworkConfigError
from isaac.rl.workbench.learn.trainer import Trainer
from isaac.rl.workbench.specs.loader import load_spec
from isaac.rl.workbench.specs.schema import SpecError
from rsl_rl.algorithms import PPO
from rsl_rl.models import CNNModel
from rsl_rl.storage import RolloutStorage
from tensordict import TensorDict

SIZE = 16  # the image is SIZE x SIZE, one channel
ENVS, STEPS = 32, 8
CNN_CFG = {"output_channels": [8, 8], "kernel_size": 3, "stride": 2}


class FakeImageEnv:
    """A FAKE rsl-rl ``VecEnv`` for the learning side only (no physics, no camera): every step each env hides a
    target cell (row, col) of a SIZE x SIZE grid, shown as the one bright pixel of the ``camera`` group
    (N, 1, SIZE, SIZE); the ``state`` group (N, 2) holds the last action. The reward, ``-|action - target|^2`` with
    the target the cell's place in [-1, 1]^2, needs the image. Episodes last ``max_episode_length`` steps (time-outs).
    It has what :func:`~isaac.rl.workbench.learn.rollout.evaluate` reads too (no metrics, a root at rest).

    ``image=False``: the same env without the ``camera`` group (the state only), to compare against.
    """

    def __init__(self, num_envs: int = ENVS, image: bool = True, seed: int = 0):
        self.num_envs, self.num_actions, self.max_episode_length = num_envs, 2, 8
        self.device, self.cfg, self.image = "cpu", {}, image
        self.metric_names, self.episode_metrics = [], torch.zeros(num_envs, 0)
        self.root_lin_vel_w, self.unstable = torch.zeros(num_envs, 3), torch.zeros(num_envs, dtype=torch.bool)
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self._generator = torch.Generator().manual_seed(seed)
        self._last_action = torch.zeros(num_envs, 2)
        self._rewards: list[torch.Tensor] = []
        self._draw()

    def _draw(self) -> None:
        self.cells = torch.randint(0, SIZE, (self.num_envs, 2), generator=self._generator)
        self.targets = self.cells.float() / (SIZE - 1) * 2 - 1  # (N, 2) in [-1, 1]

    def get_observations(self) -> TensorDict:
        groups = {"state": self._last_action.clone()}
        if self.image:
            camera = torch.zeros(self.num_envs, 1, SIZE, SIZE)
            camera[torch.arange(self.num_envs), 0, self.cells[:, 0], self.cells[:, 1]] = 1.0
            groups["camera"] = camera
        return TensorDict(groups, batch_size=[self.num_envs])

    def reset(self) -> TensorDict:
        self.episode_length_buf.zero_()
        self._last_action.zero_()
        self._draw()
        return self.get_observations()

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        actions = actions.detach().clamp(-3, 3)
        rewards = -(actions - self.targets).square().sum(dim=-1)
        self._rewards.append(rewards)
        self.episode_length_buf += 1
        dones = self.episode_length_buf >= self.max_episode_length
        self.episode_length_buf[dones] = 0
        self._last_action = torch.where(dones.unsqueeze(1), torch.zeros_like(actions), actions)
        self._draw()
        return self.get_observations(), rewards, dones.long(), {"time_outs": dones}

    def spread_episode_starts(self) -> None:
        self.episode_length_buf = torch.randint(0, self.max_episode_length, (self.num_envs,), generator=self._generator)

    def pop_episode_stats(self) -> dict[str, float]:
        """``mean_reward``: the mean reward per env-step since the last call."""
        stats = {"mean_reward": float(torch.stack(self._rewards).mean())} if self._rewards else {}
        self._rewards.clear()
        return stats


def _ppo(learner: str = "graphed", **actor) -> dict:
    """A small PPO table whose actor and critic are CNNs over ``camera`` beside ``state``."""
    cfg = default_ppo_config()
    cfg.update(
        learner=learner,
        num_steps_per_env=STEPS,
        obs_groups={"actor": ["camera", "state"], "critic": ["camera", "state"]},
    )
    for name in ("actor", "critic"):
        cfg[name].update(class_name="CNNModel", cnn_cfg=copy.deepcopy(CNN_CFG))
    cfg["actor"].update(actor)
    validate_ppo_config(cfg)
    return cfg


# the [ppo] table ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cnn_cfg", "key"),
    [
        (None, "ppo.actor.cnn_cfg"),  # a CNNModel needs one
        ({**CNN_CFG, "kernel": 3}, "ppo.actor.cnn_cfg.kernel"),  # not an argument of rsl-rl's CNN
        ({**CNN_CFG, "input_channels": 1}, "ppo.actor.cnn_cfg.input_channels"),  # the image sets it
        ({**CNN_CFG, "class_name": "CNN"}, "ppo.actor.cnn_cfg.class_name"),
        ({"kernel_size": 3}, "ppo.actor.cnn_cfg.output_channels"),
        ({**CNN_CFG, "output_channels": [8, 0]}, "ppo.actor.cnn_cfg.output_channels"),
        ({"output_channels": [8]}, "ppo.actor.cnn_cfg.kernel_size"),
        ({**CNN_CFG, "stride": [2, 2, 2]}, "ppo.actor.cnn_cfg.stride"),  # 3 values for 2 layers
        ({**CNN_CFG, "stride": 0}, "ppo.actor.cnn_cfg.stride"),
        ({**CNN_CFG, "padding": "same"}, "ppo.actor.cnn_cfg.padding"),
        ({**CNN_CFG, "norm": ["batch", "group"]}, "ppo.actor.cnn_cfg.norm"),
        ({**CNN_CFG, "global_pool": "min"}, "ppo.actor.cnn_cfg.global_pool"),
        ({**CNN_CFG, "max_pool": "yes"}, "ppo.actor.cnn_cfg.max_pool"),
        ({**CNN_CFG, "flatten": False}, "ppo.actor.cnn_cfg.flatten"),
        ({**CNN_CFG, "activation": "sine"}, "ppo.actor.cnn_cfg.activation"),
        ({"camera": {**CNN_CFG, "strides": 2}}, "ppo.actor.cnn_cfg.camera.strides"),  # one table per image group
    ],
)
def test_bad_cnn_settings_are_refused_naming_the_key(cnn_cfg, key):
    cfg = default_ppo_config()
    cfg["actor"]["class_name"] = "CNNModel"
    if cnn_cfg is not None:
        cfg["actor"]["cnn_cfg"] = cnn_cfg
    with pytest.raises((KeyError, ValueError), match=f"'{key}'"):
        validate_ppo_config(cfg)


def test_a_task_file_with_a_bad_cnn_setting_stops_at_load_naming_it(write_spec):
    path = write_spec(
        {
            "[ppo.actor]\n": "[ppo.actor.cnn_cfg]\noutput_channels = [8]\nkernel_size = 3\nstrides = 2\n\n"
            '[ppo.actor]\nclass_name = "CNNModel"\n'
        }
    )
    with pytest.raises(SpecError, match=r"task\.toml: key 'ppo\.actor\.cnn_cfg\.strides' is not an argument") as caught:
        load_spec(path)
    assert caught.value.key == "ppo.actor.cnn_cfg.strides"


def test_good_cnn_settings_pass_and_cnns_is_no_setting():
    cfg = default_ppo_config()
    cfg["actor"].update(class_name="CNNModel", cnn_cfg={"camera": {**CNN_CFG, "norm": ["batch", "layer"]}})
    cfg["critic"].update(class_name="CNNModel", cnn_cfg={**CNN_CFG, "padding": "zeros", "global_pool": "avg"})
    validate_ppo_config(cfg)  # both learners take a CNN
    validate_ppo_config({**cfg, "learner": "rsl_rl"})
    cfg["critic"]["cnns"] = {}  # rsl-rl's argument for modules shared in code, not a setting of the table
    with pytest.raises(KeyError, match=r"'ppo\.critic\.cnns'"):
        validate_ppo_config(cfg)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"actor": {"class_name": "MLPModel"}}, "ppo.actor.class_name"),  # an image group for a vector model
        ({"obs_groups": {"actor": ["state"], "critic": ["camera", "state"]}}, "ppo.actor.class_name"),  # no image
        ({"actor": {"cnn_cfg": {**CNN_CFG, "kernel_size": 9}}}, "ppo.actor.cnn_cfg"),  # 16 -> 4 -> nothing
        ({"actor": {"cnn_cfg": {"state": CNN_CFG}}}, "ppo.actor.cnn_cfg.state"),  # a table for a vector group
        ({"actor": {"cnn_cfg": {"camera": CNN_CFG, "depth": CNN_CFG}}}, "ppo.actor.cnn_cfg.depth"),
        (
            {"obs_groups": {"actor": ["camera"], "critic": ["camera"]}, "actor": {"obs_normalization": True}},
            "ppo.actor.obs_normalization",  # rsl-rl normalises vector groups only
        ),
    ],
)
def test_networks_that_do_not_fit_the_image_groups_are_refused_naming_the_key(change, key):
    cfg = _ppo()
    cfg["actor"].update(change.get("actor", {}))
    cfg.update({name: value for name, value in change.items() if name != "actor"})
    with pytest.raises(NetworkConfigError, match=f"^'{key}'") as caught:
        Trainer(FakeImageEnv(), cfg, "cpu")
    assert exit_code(caught.value) == 2  # bad input for the command line, no traceback


# training ------------------------------------------------------------------------------------------------------


def _conv_output_dtypes(*models: torch.nn.Module) -> tuple[set[torch.dtype], list]:
    """The dtypes the models' convolutions compute in, collected by forward hooks (remove them when done)."""
    seen: set[torch.dtype] = set()
    convs = [m for model in models for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs, "the models have no convolution"
    hooks = [conv.register_forward_hook(lambda _m, _i, output: seen.add(output.dtype)) for conv in convs]
    return seen, hooks


@pytest.mark.parametrize("learner", ["graphed", "rsl_rl"])
def test_cnn_policy_trains_resumes_and_exports_with_parity_on_images(tmp_path, learner):
    torch.manual_seed(0)
    trainer = Trainer(FakeImageEnv(), _ppo(learner), "cpu")
    assert isinstance(trainer.alg, GraphedPPO) == (learner == "graphed")
    assert isinstance(trainer.actor, CNNModel) and trainer.actor.obs_groups_2d == ["camera"]
    assert trainer.alg.storage.observations["camera"].shape == (STEPS, ENVS, 1, SIZE, SIZE)
    before = [p.detach().clone() for p in trainer.actor.cnns.parameters()]
    for iteration in (1, 2):
        assert trainer.train_step()["iteration"] == iteration
    moved = max(float((p - q).abs().max()) for p, q in zip(trainer.actor.cnns.parameters(), before, strict=True))
    assert moved > 1e-4, "the updates did not reach the CNN"
    checkpoint = trainer.save(tmp_path / "model_2.pt")

    resumed = Trainer(FakeImageEnv(seed=1), _ppo(learner), "cpu")
    resumed.load(checkpoint)
    assert resumed.iteration == 2
    for key, value in trainer.actor.state_dict().items():
        assert torch.equal(resumed.actor.state_dict()[key], value), key
    assert resumed.train_step()["iteration"] == 3

    rollout = evaluate(FakeImageEnv(seed=2), resumed.inference_policy(), ENVS, keep_observations=5 * ENVS)
    recorded = rollout["observations"]
    assert recorded["camera"].shape == (5 * ENVS, 1, SIZE, SIZE)
    report = export_policy(resumed.actor, recorded, tmp_path / "export")
    assert report["num_observations"] == 5 * ENVS
    assert report["max_abs_diff_onnx"] <= 1e-5 and report["max_abs_diff_torchscript"] <= 1e-5
    assert report["obs_dim"] == 2 and report["image_inputs"] == {"camera": [1, SIZE, SIZE]}

    session = onnxruntime.InferenceSession(str(tmp_path / "export" / "policy.onnx"), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in session.get_inputs()] == [
        ("obs", ["batch", 2]),
        ("camera", ["batch", 1, SIZE, SIZE]),
    ]
    obs = recorded[ENVS : 2 * ENVS]
    one = {"obs": obs["state"][:1].numpy(), "camera": obs["camera"][:1].numpy()}
    moved_pixel = {**one, "camera": np.roll(one["camera"], 5, axis=3)}
    (action,), (other,) = session.run(["actions"], one)[0], session.run(["actions"], moved_pixel)[0]
    assert action.shape == (2,) and not np.allclose(action, other), "the exported policy ignores its image input"
    scripted = torch.jit.load(str(tmp_path / "export" / "policy.pt"))
    with torch.no_grad():
        np.testing.assert_allclose(scripted(obs["state"][:1], [obs["camera"][:1]])[0].numpy(), action, atol=1e-5)


def test_an_actor_that_reads_images_only_exports_one_input_per_image(tmp_path):
    obs = FakeImageEnv().get_observations()
    dist = default_ppo_config()["actor"]["distribution_cfg"]
    actor = CNNModel(obs, {"actor": ["camera"]}, "actor", 2, [16], "elu", False, dist, CNN_CFG)
    report = export_policy(actor, obs, tmp_path)
    assert report["max_abs_diff_onnx"] <= 1e-5 and report["obs_dim"] == 0
    session = onnxruntime.InferenceSession(str(tmp_path / "policy.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["camera"]


def _ppo_pair() -> tuple[PPO, GraphedPPO, TensorDict]:
    """rsl-rl's PPO and the graphed learner with the same CNN actor and critic (a vector normaliser too) and
    storages of the same shape."""
    obs = FakeImageEnv().get_observations()
    groups = {"actor": ["camera", "state"], "critic": ["camera", "state"]}
    dist = {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "scalar"}
    torch.manual_seed(0)
    actor = CNNModel(obs, groups, "actor", 2, [16], "elu", True, dist, CNN_CFG)
    critic = CNNModel(obs, groups, "critic", 1, [16], "elu", True, None, CNN_CFG)
    settings = dict(num_learning_epochs=2, num_mini_batches=4, learning_rate=3e-3, device="cpu")
    algs = [
        cls(copy.deepcopy(actor), copy.deepcopy(critic), RolloutStorage("rl", ENVS, STEPS, obs, [2], "cpu"), **settings)
        for cls in (PPO, GraphedPPO)
    ]
    return algs[0], algs[1], obs


def test_graphed_update_over_images_matches_rsl_rl():
    """The same rollout (rsl-rl's PPO acts, the graphed learner's storage gets a copy) gives the same returns,
    losses, parameters (CNNs included) and normaliser after one update: the image rows of each mini-batch are
    gathered as rsl-rl gathers them."""
    ref, graphed, _ = _ppo_pair()
    env = FakeImageEnv(seed=3)
    obs = env.get_observations()
    with torch.inference_mode():
        for _ in range(STEPS):
            actions = ref.act(obs)
            obs, rewards, dones, _ = env.step(actions)
            ref.process_env_step(obs, rewards, dones, {})  # no time-outs: no bootstrap on either side
    ours, theirs = graphed.storage, ref.storage
    ours.observations.copy_(theirs.observations)
    for name in ("actions", "rewards", "dones", "values", "actions_log_prob"):
        getattr(ours, name).copy_(getattr(theirs, name))
    for mine, reference in zip(ours.distribution_params, theirs.distribution_params, strict=True):
        mine.copy_(reference)
    ours.step = STEPS
    graphed._time_outs.zero_()
    with torch.no_grad():
        ref.compute_returns(obs)
        graphed.compute_returns(obs)
    torch.testing.assert_close(ours.returns, theirs.returns, atol=1e-6, rtol=1e-6)
    torch.manual_seed(7)  # the mini-batch permutation, drawn at the same point by both
    ref_losses = ref.update()
    torch.manual_seed(7)
    losses = graphed.update()
    for key in ref_losses:
        assert losses[key] == pytest.approx(ref_losses[key], abs=1e-5, rel=1e-5), (key, losses, ref_losses)
    for name in ("actor", "critic"):
        expected, got = getattr(ref, name).state_dict(), getattr(graphed, name).state_dict()
        assert any(key.startswith("cnns.") for key in expected)
        for key in expected:
            torch.testing.assert_close(got[key], expected[key], atol=1e-5, rtol=1e-5, msg=f"{name}.{key}")


@pytest.mark.parametrize(("learner", "precision"), [("graphed", "bf16"), ("graphed", "fp16"), ("rsl_rl", "bf16")])
def test_low_precision_reaches_the_cnn(learner, precision):
    """``ppo.precision`` on the CPU: the graphed learner runs the convolutions in it in the rollout and the update;
    rsl-rl's PPO (bf16 only, its ``use_mixed_precision``) in its update, its rollout in fp32."""
    cfg = _ppo(learner)
    cfg["precision"] = precision
    trainer = Trainer(FakeImageEnv(), cfg, "cpu")
    seen, hooks = _conv_output_dtypes(trainer.alg.actor, trainer.alg.critic)
    try:
        trainer._collect()
        collected = set(seen)
        seen.clear()
        trainer.alg.update()
    finally:
        for hook in hooks:
            hook.remove()
    low = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    assert seen == {low}, f"the update's convolutions computed in {seen}"
    assert collected == ({low} if learner == "graphed" else {torch.float32})


@pytest.mark.parametrize("learner", ["graphed", "rsl_rl"])
def test_rollout_storage_counts_the_images(learner):
    """The storage of an env with a 1 x 16 x 16 image group beside its vector group is larger, per env, by
    steps x C x H x W x 4 bytes (float32) than the same env's without it (the graphed learner keeps one more
    observation: the one after the last step)."""
    with_image = Trainer(FakeImageEnv(), _ppo(learner), "cpu").rollout_storage_bytes()
    vector_cfg = default_ppo_config()
    vector_cfg.update(learner=learner, num_steps_per_env=STEPS, obs_groups={"actor": ["state"], "critic": ["state"]})
    without = Trainer(FakeImageEnv(image=False), vector_cfg, "cpu").rollout_storage_bytes()
    steps = STEPS + (learner == "graphed")
    assert (with_image - without) / ENVS == steps * 1 * SIZE * SIZE * 4


# deployment ----------------------------------------------------------------------------------------------------


def test_an_image_policy_does_not_deploy(tmp_path):
    spec = SimpleNamespace(
        ppo=default_ppo_config(),
        observations={"policy": [SimpleNamespace(func_name="camera_depth"), SimpleNamespace(func_name="joint_pos")]},
        source="task.toml",
    )
    with pytest.raises(DeployError, match=r"task\.toml: the policy reads camera images \('camera_depth' \(obs"):
        check_deployable(spec)
    obs = FakeImageEnv().get_observations()
    actor = CNNModel(obs, {"actor": ["camera", "state"]}, "actor", 2, [16], "elu", False, None, CNN_CFG)
    export_policy(actor, obs, tmp_path)
    bundle = SimpleNamespace(
        policy={"obs_dim": 2, "num_actions": 2},
        onnx_path=tmp_path / "policy.onnx",
        torchscript_path=tmp_path / "policy.pt",
        source=str(tmp_path / "deploy.json"),
    )
    with pytest.raises(BundleError, match=r"has 2 inputs \['obs', 'camera'\], expected one \(the observation\)"):
        load_policy(bundle, "onnxruntime")


# learning ------------------------------------------------------------------------------------------------------


def test_the_cnn_learns_where_the_bright_pixel_is():
    """Through the graphed learner the policy's deterministic action moves to the bright pixel's place: after 20
    iterations (5 s on the CPU) its squared error is well below the best a policy blind to the image reaches (the
    targets' variance, 0.76), from 0.77 at the start (0.12 when measured)."""
    torch.manual_seed(0)
    cfg = _ppo("graphed", hidden_dims=[64])
    cfg["algorithm"].update(gamma=0.0, lam=0.0, learning_rate=3e-3)  # each step's reward is its own return
    trainer = Trainer(FakeImageEnv(num_envs=64), cfg, "cpu")

    def error() -> float:
        probe = FakeImageEnv(num_envs=256, seed=9)
        with torch.inference_mode():
            actions = trainer.inference_policy()(probe.get_observations())
        trainer.train_mode()
        return float((actions - probe.targets).square().sum(dim=-1).mean())

    start = error()
    for _ in range(20):
        trainer.train_step()
    assert error() < 0.3 < 0.7 < start, (start, error())
