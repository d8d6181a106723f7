"""The graphed PPO learner against rsl-rl's own PPO: same losses, parameters, normaliser and learning rate after an
update on the same batch and seed (fp32, within 1e-5); the rollout step's sampling and storage; precisions;
checkpoints both ways. The CUDA tests (graph capture and replay) run on a GPU machine and skip elsewhere."""

from __future__ import annotations

import contextlib
import copy
import math

import pytest
import torch
from isaac.rl.workbench.learn.graphed_ppo import GraphedPPO
from rsl_rl.algorithms import PPO
from rsl_rl.models import MLPModel
from rsl_rl.storage import RolloutStorage
from tensordict import TensorDict

ENVS, STEPS, OBS, ACTIONS = 64, 8, 5, 2
ALGORITHM = dict(
    num_learning_epochs=3,
    num_mini_batches=4,
    learning_rate=3e-3,  # high enough that the KL leaves the desired band and the adaptive schedule moves
    schedule="adaptive",
    desired_kl=0.01,
    entropy_coef=0.005,
    clip_param=0.2,
    value_loss_coef=1.0,
    max_grad_norm=1.0,
    use_clipped_value_loss=True,
)


def _models(device: str, std_type: str = "scalar") -> tuple[MLPModel, MLPModel, TensorDict]:
    obs = TensorDict({"policy": torch.zeros(ENVS, OBS)}, batch_size=[ENVS], device=device)
    groups = {"actor": ["policy"], "critic": ["policy"]}
    torch.manual_seed(0)
    dist = {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": std_type}
    actor = MLPModel(obs, groups, "actor", ACTIONS, [16, 16], "elu", True, dist).to(device)
    critic = MLPModel(obs, groups, "critic", 1, [16, 16], "elu", True).to(device)
    return actor, critic, obs


def _pair(device: str, std_type: str = "scalar", **overrides) -> tuple[PPO, GraphedPPO, TensorDict]:
    """rsl-rl's PPO and the graphed one with identical networks and storages of the same shape."""
    actor, critic, obs = _models(device, std_type)
    own = {key: overrides.pop(key) for key in ("precision", "cuda_graphs") if key in overrides}
    algs = []
    for cls, extra in ((PPO, {}), (GraphedPPO, own)):
        a, c = copy.deepcopy(actor), copy.deepcopy(critic)
        storage = RolloutStorage("rl", ENVS, STEPS, obs, [ACTIONS], device)
        algs.append(cls(a, c, storage, device=device, **{**ALGORITHM, **overrides}, **extra))
    return algs[0], algs[1], obs


def _fill(ref: PPO, graphed: GraphedPPO, seed: int = 1, *others: GraphedPPO) -> TensorDict:
    """The same rollout in both storages: random observations and actions, the log-probabilities, values and
    distribution parameters the (identical) networks give them, random rewards, dones and time-outs; returns the
    observation after the last step. ``others`` get the same storage as ``graphed``."""
    device = ref.device
    g = torch.Generator(device="cpu").manual_seed(seed)
    obs_rows = torch.randn(STEPS + 1, ENVS, OBS, generator=g).to(device) * 2 + 0.5
    actions = torch.randn(STEPS, ENVS, ACTIONS, generator=g).to(device)
    rewards = torch.rand(STEPS, ENVS, generator=g).to(device)
    dones = (torch.rand(STEPS, ENVS, generator=g) < 0.1).to(device)
    time_outs = (torch.rand(STEPS, ENVS, generator=g) < 0.5).to(device) & dones
    for step in range(STEPS):
        obs = TensorDict({"policy": obs_rows[step]}, batch_size=[ENVS], device=device)
        with torch.no_grad():
            ref.actor(obs, stochastic_output=True)
            t = ref.transition
            t.actions = actions[step]
            t.actions_log_prob = ref.actor.get_output_log_prob(actions[step])
            t.distribution_params = tuple(p.detach() for p in ref.actor.output_distribution_params)
            t.values = ref.critic(obs)
            t.observations = obs
            ref.process_env_step(obs, rewards[step].clone(), dones[step], {"time_outs": time_outs[step]})
            for alg in (graphed, *others):
                st = alg.storage
                st.observations[step].copy_(obs)
                st.actions[step].copy_(actions[step])
                st.actions_log_prob[step].copy_(ref.storage.actions_log_prob[step])
                st.distribution_params[0][step].copy_(ref.storage.distribution_params[0][step])
                st.distribution_params[1][step].copy_(ref.storage.distribution_params[1][step])
                st.values[step].copy_(ref.storage.values[step])
                alg.process_env_step(obs, rewards[step].clone(), dones[step], {"time_outs": time_outs[step]})
    return TensorDict({"policy": obs_rows[STEPS]}, batch_size=[ENVS], device=device)


def _update_both(ref: PPO, graphed: GraphedPPO, last_obs: TensorDict) -> tuple[dict, dict]:
    with torch.no_grad():
        ref.compute_returns(last_obs)
        graphed.compute_returns(last_obs)
    torch.manual_seed(7)  # the mini-batch permutation: both draw it from the global generator at the same point
    ref_losses = ref.update()
    torch.manual_seed(7)
    return ref_losses, graphed.update()


def _assert_same(ref: PPO, graphed: GraphedPPO, ref_losses: dict, losses: dict, tol: float = 1e-5) -> None:
    assert ref_losses.keys() == losses.keys()
    for key in ref_losses:
        detail = f"{key}: {losses} against {ref_losses}, learning rates {graphed.learning_rate} {ref.learning_rate}"
        assert losses[key] == pytest.approx(ref_losses[key], abs=tol, rel=tol), detail
    for name, model in (("actor", "_raw_actor"), ("critic", "_raw_critic")):
        ref_state, state = getattr(ref, model).state_dict(), getattr(graphed, model).state_dict()
        for key in ref_state:
            torch.testing.assert_close(state[key], ref_state[key], atol=tol, rtol=tol, msg=f"{name}.{key}")
    assert graphed.learning_rate == pytest.approx(ref.learning_rate, rel=1e-6)


@pytest.mark.parametrize(
    "std_type, learning_rate, lr_moves",
    [("scalar", 3e-3, "up"), ("log", 3e-3, "up"), ("scalar", 5e-2, "down")],
)
def test_one_update_matches_rsl_rl(std_type, learning_rate, lr_moves):
    ref, graphed, _ = _pair("cpu", std_type, learning_rate=learning_rate)
    last_obs = _fill(ref, graphed)
    ref_losses, losses = _update_both(ref, graphed, last_obs)
    torch.testing.assert_close(graphed.storage.returns, ref.storage.returns, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(graphed.storage.advantages, ref.storage.advantages, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(graphed.storage.rewards, ref.storage.rewards)  # the time-out bootstrap
    _assert_same(ref, graphed, ref_losses, losses)
    # the batch moves the adaptive learning rate (small KL: up; a large step: down), so both branches are compared
    assert (ref.learning_rate > learning_rate) == (lr_moves == "up") and ref.learning_rate != learning_rate
    moved = [
        p
        for p, q in zip(graphed.actor.parameters(), _models("cpu", std_type)[0].parameters(), strict=True)
        if (p - q).abs().max() > 1e-4
    ]
    assert moved, "the update should change the actor"


def test_three_updates_in_a_row_match_rsl_rl():
    """Optimiser state, the learning rate and the normalisers carry over between updates as in rsl-rl."""
    ref, graphed, _ = _pair("cpu", num_mini_batches=2, normalize_advantage_per_mini_batch=True)
    for seed in range(3):
        last_obs = _fill(ref, graphed, seed)
        ref_losses, losses = _update_both(ref, graphed, last_obs)
        _assert_same(ref, graphed, ref_losses, losses)


def test_compiled_update_matches_rsl_rl_with_one_compilation_per_function():
    """``use_compiled`` (what ``ppo.torch_compile_mode`` does on CUDA): the mini-batch losses run through inductor
    (C++ kernels on the CPU) and three updates still match rsl-rl; each compiled function (the actor's losses,
    the critic's, the clipping, the returns) is traced once, whole, and every mini-batch and update reuses it."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    ref, graphed, _ = _pair("cpu", num_mini_batches=2)
    graphed.use_compiled("default")
    for seed in range(3):
        last_obs = _fill(ref, graphed, seed)
        ref_losses, losses = _update_both(ref, graphed, last_obs)
        _assert_same(ref, graphed, ref_losses, losses)
    assert counters["stats"]["unique_graphs"] == 4, dict(counters["stats"])
    assert not counters["graph_break"], dict(counters["graph_break"])


def test_torch_compile_mode_compiles_on_cuda_only_and_refuses_cuda_graph_modes():
    _, graphed, _ = _pair("cpu")
    graphed.compile("default")
    assert graphed.compile_mode is None and graphed._actor_losses == graphed._actor_loss_terms
    with pytest.raises(ValueError, match="'reduce-overhead' captures CUDA graphs of its own"):
        graphed.compile("reduce-overhead")


@pytest.mark.parametrize("compile_mode", [None, "default"])
def test_act_samples_from_the_policy_and_fills_the_storage(compile_mode):
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    _, graphed, obs = _pair("cpu")
    graphed.use_compiled(compile_mode)
    obs["policy"].normal_()
    torch.manual_seed(3)
    with torch.inference_mode():
        actions = graphed.act(obs)
    st = graphed.storage
    graphed.actor(obs)  # deterministic output: the mean
    mean = graphed.actor(obs).detach()
    std = graphed.actor.distribution.std_param.detach()
    torch.testing.assert_close(st.distribution_params[0][0], mean)
    torch.testing.assert_close(st.distribution_params[1][0], std.expand_as(mean))
    expected_log_prob = torch.distributions.Normal(mean, std).log_prob(actions).sum(-1, keepdim=True)
    torch.testing.assert_close(st.actions_log_prob[0], expected_log_prob)
    torch.testing.assert_close(st.values[0], graphed.critic(obs).detach())
    assert torch.equal(st.observations["policy"][0], obs["policy"])
    z = (actions - mean) / std  # standard normal if sampled from the policy
    assert abs(float(z.mean())) < 0.15 and abs(float(z.std()) - 1) < 0.15
    assert st.step == 0  # process_env_step advances it
    graphed.process_env_step(obs, torch.ones(ENVS), torch.zeros(ENVS, dtype=torch.bool), {})
    assert st.step == 1
    with torch.inference_mode():  # every step writes its own rows, through the one compiled graph
        for step in range(1, STEPS):
            actions = graphed.act(obs)
            torch.testing.assert_close(st.distribution_params[0][step], mean)
            assert torch.equal(st.actions[step], actions) and not torch.equal(actions, st.actions[step - 1])
            graphed.process_env_step(obs, torch.ones(ENVS), torch.zeros(ENVS, dtype=torch.bool), {})
    if compile_mode is not None:  # the actor's step and the critic's values
        assert counters["stats"]["unique_graphs"] == 2, dict(counters["stats"])


LOW_PRECISION = {"bf16": torch.bfloat16, "fp16": torch.float16}


@contextlib.contextmanager
def _layer_output_dtypes(*models: torch.nn.Module):
    """Collect the dtypes the models' linear layers compute in while the block runs (forward hooks: on CUDA they
    fire in the eager warm-up and the capture, not in a graph's replay)."""
    seen: set[torch.dtype] = set()
    layers = [m for model in models for m in model.modules() if isinstance(m, torch.nn.Linear)]
    hooks = [layer.register_forward_hook(lambda _layer, _inputs, output: seen.add(output.dtype)) for layer in layers]
    try:
        yield seen
    finally:
        for hook in hooks:
            hook.remove()


def _parameters(alg: PPO) -> list[torch.Tensor]:
    return [p.detach().clone() for p in (*alg.actor.parameters(), *alg.critic.parameters())]


def _largest_difference(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return max(float((p - q).abs().max()) for p, q in zip(a, b, strict=True))


def _assert_low_precision_update(precision, ref, graphed, ref_losses, losses, before) -> None:
    """The update of ``graphed`` (started from parameters ``before``) moved the parameters, and differs from the
    fp32 update ``ref`` made of the same batch from the same parameters, but only a little. fp32 against fp32
    differs by 1e-7 (losses) and 3e-8 (parameters); bf16 and fp16 by about 1e-2 for both."""
    after = _parameters(graphed)
    assert _largest_difference(after, before) > 1e-3, "the update moves the parameters"
    assert all(torch.isfinite(p).all() for p in after)
    loss_gap = max(abs(losses[key] - ref_losses[key]) for key in ref_losses)
    assert loss_gap > 1e-4, f"{precision} losses equal fp32's to {loss_gap:.1e}: the low precision did nothing"
    for key in ref_losses:
        assert losses[key] == pytest.approx(ref_losses[key], rel=0.1, abs=0.05), (key, losses, ref_losses)
    assert 1e-5 < _largest_difference(after, _parameters(ref)) < 0.05


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_low_precision_trains_the_networks_in_it_and_stays_close_to_fp32(precision):
    """bf16 or fp16 autocast on the CPU (fp16 with its gradient scaler): the update runs the networks in that
    precision, moves the parameters, and ends near, but not at, the fp32 update of the same batch."""
    ref, graphed, _ = _pair("cpu", precision=precision)
    last_obs = _fill(ref, graphed)
    before = _parameters(graphed)
    with _layer_output_dtypes(graphed.actor, graphed.critic) as seen:
        ref_losses, losses = _update_both(ref, graphed, last_obs)
    assert seen == {LOW_PRECISION[precision]}, f"the networks computed in {seen}, not in {precision}"
    _assert_low_precision_update(precision, ref, graphed, ref_losses, losses, before)


def test_unsupported_settings_name_the_key():
    actor, critic, obs = _models("cpu")
    storage = RolloutStorage("rl", ENVS, STEPS, obs, [ACTIONS], "cpu")
    with pytest.raises(ValueError, match=r"ppo.algorithm.optimizer.*ppo.learner = \"rsl_rl\""):
        GraphedPPO(actor, critic, storage, device="cpu", optimizer="sgd")
    with pytest.raises(ValueError, match=r"ppo.precision = 'fp8'"):
        GraphedPPO(actor, critic, storage, device="cpu", precision="fp8")


def test_checkpoint_loads_into_rsl_rl_and_back():
    """The graphed learner's checkpoint is rsl-rl's format (float learning rate, plain Adam state), and it loads back
    with its Adam moments and learning rate, continuing exactly as if not interrupted."""
    ref, graphed, _ = _pair("cpu")
    _update_both(ref, graphed, _fill(ref, graphed))
    state = graphed.save()
    assert isinstance(state["optimizer_state_dict"]["param_groups"][0]["lr"], float)
    other_ref, resumed, _ = _pair("cpu")
    other_ref.load(copy.deepcopy(state), None, strict=True)
    resumed.load(copy.deepcopy(state), None, strict=True)
    assert resumed.learning_rate == pytest.approx(graphed.learning_rate)
    assert other_ref.learning_rate == pytest.approx(graphed.learning_rate)
    # the next update from the checkpoint: rsl-rl's PPO and the resumed graphed learner agree
    last_obs = _fill(other_ref, resumed, seed=5)
    ref_losses, losses = _update_both(other_ref, resumed, last_obs)
    _assert_same(other_ref, resumed, ref_losses, losses)


def test_saving_leaves_the_live_optimiser_alone_and_training_goes_on_as_rsl_rl():
    """A checkpoint's step counts are host tensors for rsl-rl; the live optimiser keeps its own (on CUDA, the device
    tensors a CUDA graph captured after the save reads: a run that saved best.pt at its first iteration could not
    capture its update). Saving between two updates changes nothing in the second."""
    ref, graphed, _ = _pair("cpu")
    _update_both(ref, graphed, _fill(ref, graphed))
    live = {id(p): graphed.optimizer.state[p]["step"] for p in graphed.optimizer.param_groups[0]["params"]}
    state = graphed.save()
    for param in graphed.optimizer.param_groups[0]["params"]:
        assert graphed.optimizer.state[param]["step"] is live[id(param)], "the live step tensor was replaced"
    assert all(s["step"].device.type == "cpu" for s in state["optimizer_state_dict"]["state"].values())
    ref_losses, losses = _update_both(ref, graphed, _fill(ref, graphed, seed=5))
    _assert_same(ref, graphed, ref_losses, losses)


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the GPU machine)")


def _copy_state(source: PPO, target: GraphedPPO) -> None:
    """Give ``target`` the networks, normalisers, Adam moments and learning rate of ``source``, in place (so its
    captured graphs keep pointing at the same tensors)."""
    with torch.no_grad():
        for name in ("_raw_actor", "_raw_critic"):
            theirs = getattr(source, name).state_dict()
            for key, value in getattr(target, name).state_dict().items():
                value.copy_(theirs[key])
        pairs = zip(source.optimizer.param_groups[0]["params"], target.optimizer.param_groups[0]["params"], strict=True)
        for theirs, mine in pairs:
            for key, value in target.optimizer.state[mine].items():
                value.copy_(source.optimizer.state[theirs][key])
    target._lr.fill_(source.learning_rate)


@cuda
@pytest.mark.parametrize("std_type, compile_mode", [("scalar", None), ("log", None), ("scalar", "default")])
def test_captured_updates_match_eager_and_rsl_rl_on_cuda(std_type, compile_mode):
    """The warm-up run, the capture and three replays of the update graph give the same results as the same
    learner run eagerly, and as rsl-rl's PPO (TF32 off), each update starting from rsl-rl's state: the KL of the
    first mini-batch compares a policy with itself, so ``kl > 0`` (rsl-rl's condition to raise the learning rate)
    turns on rounding noise, and parameters 1e-7 apart would take different branches."""
    torch.set_float32_matmul_precision("highest")
    ref, graphed, _ = _pair("cuda", std_type)
    _, eager, _ = _pair("cuda", std_type, cuda_graphs=False)
    graphed.compile(compile_mode)  # inductor's kernels, captured in the update graph
    for seed in range(4):
        if seed:
            _copy_state(ref, graphed)
            _copy_state(ref, eager)
        last_obs = _fill(ref, graphed, seed, eager)
        with torch.no_grad():
            eager.compute_returns(last_obs)
        torch.manual_seed(7)
        eager_losses = eager.update()
        ref_losses, losses = _update_both(ref, graphed, last_obs)
        drift = max(abs(losses[k] - ref_losses[k]) / abs(ref_losses[k]) for k in losses)
        print(f"{std_type} update {seed}: largest relative loss difference to rsl-rl {drift:.2e}")
        # capture and replay change nothing; inductor's fused kernels round differently
        _assert_same(eager, graphed, eager_losses, losses, tol=1e-6 if compile_mode is None else 1e-5)
        _assert_same(ref, graphed, ref_losses, losses)
    assert "update" in graphed._graphs and "returns" in graphed._graphs and not eager._graphs


@cuda
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_captured_low_precision_updates_stay_close_on_cuda(precision):
    """Warm-up, capture and two replays of the update graph in bf16 or fp16: each runs the networks in that
    precision (seen in the warm-up and the capture), moves the parameters, and stays near rsl-rl's fp32 update of
    the same batch from the same parameters."""
    ref, graphed, _ = _pair("cuda", precision=precision)
    for seed in range(4):
        if seed:
            _copy_state(ref, graphed)
        last_obs = _fill(ref, graphed, seed)
        before = _parameters(graphed)
        with _layer_output_dtypes(graphed.actor, graphed.critic) as seen:
            ref_losses, losses = _update_both(ref, graphed, last_obs)
        # the warm-up (seed 0) and the capture (1) run the networks' Python code; a replay (2, 3) runs none
        assert seen == ({LOW_PRECISION[precision]} if seed < 2 else set()), (seed, seen)
        _assert_low_precision_update(precision, ref, graphed, ref_losses, losses, before)
    assert "update" in graphed._graphs


@cuda
@pytest.mark.parametrize("compile_mode", [None, "default"])
def test_captured_rollout_makes_no_host_syncs_on_cuda(compile_mode, monkeypatch):
    """After warm-up and capture, act, process_env_step, compute_returns and update's graph replays never make the
    host wait (torch's sync debug mode raises on a synchronising call); update reads its losses once, at its end:
    that one read is let through, and counted."""
    _, graphed, obs = _pair("cuda")
    graphed.compile(compile_mode)
    obs["policy"].normal_()

    def iteration() -> dict:
        with torch.inference_mode():
            for _ in range(STEPS):
                graphed.act(obs)
                graphed.process_env_step(obs, torch.ones(ENVS, device="cuda"), torch.zeros(ENVS, device="cuda"), {})
            graphed.compute_returns(obs)
        return graphed.update()

    for _ in range(3):  # warm-up, capture, replay
        iteration()
    reads = []
    tolist = torch.Tensor.tolist

    def read_losses(tensor: torch.Tensor) -> list:
        torch.cuda.set_sync_debug_mode("default")  # the read itself waits for the update: nothing may follow it
        reads.append(tuple(tensor.shape))
        return tolist(tensor)

    monkeypatch.setattr(torch.Tensor, "tolist", read_losses)
    torch.cuda.set_sync_debug_mode("error")
    try:
        losses = iteration()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert reads == [(4,)], "update reads its value, surrogate, entropy sums and learning rate in one read"
    assert all(math.isfinite(value) for value in losses.values()), losses
