"""rsl-rl's PPO without host synchronisation: the policy step, the returns and the whole update as CUDA graphs.

:class:`GraphedPPO` subclasses ``rsl_rl.algorithms.PPO`` and keeps its arithmetic: the clipped surrogate, the
clipped value loss, the entropy bonus, the KL-adaptive learning rate, per-network gradient clipping, Adam, and the
mini-batch order (one permutation of the batch per update, as rsl-rl's ``mini_batch_generator`` draws it). What
changes is how the work reaches the GPU. rsl-rl's own ``PPO`` cannot be captured in a CUDA graph and makes the host
wait on the GPU about 190 times per iteration, because it:

- reads the KL back to decide the learning rate (``if kl_mean > ...``) and each loss (``.item()``) every
  mini-batch; here the learning rate is a device tensor updated with ``torch.where`` that the fused optimiser
  reads, and the losses add up on the device and are read once per update;
- samples actions with ``torch.normal`` (which checks the scale on the host); here ``mean + std * randn``;
- rebinds tensors a graph has recorded (``storage.advantages = ...``, the normaliser's ``_std = ...``); here they
  are written in place.

On CUDA the critic's work (its values in the rollout step, its value loss and backward in the update) runs on a
second stream beside the actor's, so the two networks' kernels overlap; ``ppo.torch_compile_mode`` additionally
compiles the pieces with ``torch.compile`` (:meth:`GraphedPPO.compile`).

On CUDA each piece runs eagerly once (warm-up, on a side stream), is captured the second time and replayed after:
one graph per rollout step (it writes the actions, values, log-probabilities and distribution parameters straight
into rsl-rl's ``RolloutStorage`` at that step), one for the returns and advantages, and one for the whole update
(every epoch and mini-batch, the optimiser steps and the normaliser updates). On the CPU the same functions run
eagerly. ``tests/learn/test_graphed_ppo.py`` checks that one update gives rsl-rl's losses and parameters.

Precision (``precision``): ``"fp32"``; ``"bf16"`` (autocast of the actor and critic networks); ``"fp16"`` (autocast
plus gradient scaling). The distribution, the losses and the returns stay in fp32.

Images: with rsl-rl's ``CNNModel`` an observation group may be an image (N, C, H, W); the storage holds it as
(steps, N, C, H, W), the update gathers its mini-batch rows from that storage (not copied into the packed tensor of
the vector fields), and the autocast covers the CNN as it covers the MLP. On CUDA nothing in the CNN stands in the way
of capture: the convolutions, pooling and normalisation layers run on fixed shapes without host syncs, and the
eager warm-up runs first, so cuDNN has chosen its algorithms before capture (``torch.backends.cudnn.benchmark`` is
left at torch's default, off; turning it on has not been measured).
"""

from __future__ import annotations

import contextlib
import math
import warnings

import torch
from rsl_rl.algorithms import PPO
from rsl_rl.models import CNNModel, MLPModel
from rsl_rl.modules import EmpiricalNormalization
from rsl_rl.modules.distribution import GaussianDistribution
from tensordict import TensorDict

from .distributed import all_reduce_mean_, reduce_moments

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def unsupported(alg_cfg: dict, actor_cfg: dict, critic_cfg: dict) -> list[str]:
    """The ``[ppo]`` keys (dotted) whose values the graphed learner does not implement; [] when it runs them all."""
    bad = [f"ppo.algorithm.{key}" for key in ("rnd_cfg", "symmetry_cfg") if alg_cfg.get(key)]
    if alg_cfg.get("use_mixed_precision"):
        bad.append("ppo.algorithm.use_mixed_precision (use ppo.precision)")
    if alg_cfg.get("optimizer", "adam") not in OPTIMIZERS:
        bad.append("ppo.algorithm.optimizer")
    for name, cfg in (("actor", actor_cfg), ("critic", critic_cfg)):
        if cfg.get("class_name", "MLPModel") not in ("MLPModel", "CNNModel", MLPModel, CNNModel):
            bad.append(f"ppo.{name}.class_name")
    dist = actor_cfg.get("distribution_cfg") or {}
    if dist.get("class_name", "GaussianDistribution") not in ("GaussianDistribution", GaussianDistribution):
        bad.append("ppo.actor.distribution_cfg.class_name")
    return bad


class GraphedPPO(PPO):
    """rsl-rl's PPO whose rollout step, returns and update run without host syncs (as CUDA graphs on the GPU).

    Args:
        actor, critic, storage, **kwargs: as ``rsl_rl.algorithms.PPO``; the actor's distribution must be Gaussian,
            both models ``MLPModel`` or ``CNNModel``, the optimiser ``"adam"`` or ``"adamw"``; no RND or symmetry. With
            ``multi_gpu_cfg`` (:mod:`.distributed`) each mini-batch's gradients and KL are averaged over the ranks
            and the normalisers take every rank's batch; on CUDA the update then runs eagerly, uncaptured and
            uncompiled (the rollout step and the returns are still captured).
        precision: ``"fp32"``, ``"bf16"`` or ``"fp16"`` for the actor's and critic's networks.
        cuda_graphs: capture on CUDA (False: run the same code eagerly, e.g. to profile it).
    """

    def __init__(self, actor, critic, storage, precision: str = "fp32", cuda_graphs: bool = True, **kwargs):
        optimizer = kwargs.get("optimizer", "adam")
        bad = unsupported(kwargs, {"class_name": type(actor)}, {"class_name": type(critic)})
        if not isinstance(actor.distribution, GaussianDistribution):
            bad.append("ppo.actor.distribution_cfg.class_name")
        if precision not in PRECISIONS:
            bad.append(f"ppo.precision = {precision!r} (expected one of {', '.join(PRECISIONS)})")
        if bad:
            raise ValueError(f'the graphed PPO learner does not support {", ".join(bad)}; set ppo.learner = "rsl_rl"')
        super().__init__(actor, critic, storage, **kwargs)
        device = torch.device(self.device)
        self.precision = precision
        self._autocast_dtype = PRECISIONS[precision]
        # the learning rate lives on the device: the adaptive schedule changes it there, the fused optimiser reads it
        self._lr = torch.tensor(float(self.learning_rate), device=device)
        # so does the entropy coefficient: a live edit (set_entropy_coef) reaches the captured update
        self._entropy_coef = torch.tensor(float(self.entropy_coef), device=device)
        self.optimizer = OPTIMIZERS[optimizer](
            [*self.actor.parameters(), *self.critic.parameters()],
            lr=self._lr,
            fused=True,
            **({"capturable": True} if device.type == "cuda" else {}),
        )
        # PPO's losses are O(1): the usual initial scale of 2**16 overflows fp16 activation gradients at once
        self._scaler = torch.amp.GradScaler(device.type, init_scale=2.0**10) if precision == "fp16" else None
        self._use_graphs = cuda_graphs and device.type == "cuda"
        self._graphs: dict = {}
        self._warmed: set = set()
        self._pool = torch.cuda.graph_pool_handle() if self._use_graphs else None
        st = self.storage
        steps, envs = st.num_transitions_per_env, st.num_envs
        st.distribution_params = tuple(torch.zeros(steps, envs, *st.actions_shape, device=device) for _ in range(2))
        self._time_outs = torch.zeros(steps, envs, 1, device=device)  # 1 where the step's episode timed out
        self._last_obs = st.observations[0].clone()  # (N, ...) per group: the observation after the last step
        # per step, (group, (N, D) or (N, C, H, W) view of the storage's observations at that step)
        self._observation_rows = [[(g, st.observations[g][i]) for g in st.observations.keys()] for i in range(steps)]
        self._mini_batch_size = steps * envs // self.num_mini_batches  # rows left over are not trained on, as in rsl-rl
        # the update's mini-batch order
        self._perm = torch.zeros(self.num_mini_batches * self._mini_batch_size, dtype=torch.long, device=device)
        self._sums = torch.zeros(4, device=device)  # value loss, surrogate loss, entropy (sums), learning rate
        self._critic_stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        self.use_compiled(None)  # the functions compile(mode) compiles, eager until it does

    # rollout -----------------------------------------------------------------------------------------------------

    def act(self, obs: TensorDict) -> torch.Tensor:
        """Sample actions (N, A) for ``obs`` and store the step's observations, actions, values, log-probabilities
        and distribution parameters in the rollout storage at its current step."""
        step = self.storage.step
        for group, row in self._observation_rows[step]:  # plain tensor views: a TensorDict row costs 8x the time
            row.copy_(obs[group])
        self._run(("act", step), lambda: self._act_into_storage(step))
        return self.storage.actions[step]

    def process_env_step(self, obs: TensorDict, rewards: torch.Tensor, dones: torch.Tensor, extras: dict) -> None:
        """Store rewards (N,) (plus ``gamma * value`` where ``extras["time_outs"]`` (N,) marks a time-out, as
        rsl-rl bootstraps) and dones (N,), and advance the storage's step."""
        st = self.storage
        step = st.step
        st.rewards[step].copy_(rewards.view(-1, 1))
        st.dones[step].copy_(dones.view(-1, 1))
        if "time_outs" in extras:  # the bootstrap is added for every step at once in compute_returns
            self._time_outs[step].copy_(extras["time_outs"].view(-1, 1))
        else:
            self._time_outs[step].zero_()
        st.step += 1

    def compute_returns(self, obs: TensorDict) -> None:
        """GAE returns and advantages (normalised over the batch unless per mini-batch), in place."""
        self._last_obs.copy_(obs)
        self._run("returns", self._returns)

    # update ------------------------------------------------------------------------------------------------------

    def update(self) -> dict[str, float]:
        """Every epoch over every mini-batch, as rsl-rl's ``PPO.update``; returns the mean value loss, surrogate
        loss and entropy (one device-to-host read)."""
        st = self.storage
        self._perm.copy_(torch.randperm(len(self._perm), requires_grad=False, device=self.device))
        self._run("update", self._update_body)
        value, surrogate, entropy, lr = self._sums.tolist()
        self.learning_rate = lr
        updates = self.num_learning_epochs * self.num_mini_batches
        st.clear()
        return {"value": value / updates, "surrogate": surrogate / updates, "entropy": entropy / updates}

    def set_learning_rate(self, lr: float) -> None:
        """The learning rate from the next update on, in place on the device (the captured update reads it); with
        ``schedule = "adaptive"`` the KL schedule goes on adapting it from there."""
        self._lr.fill_(float(lr))
        self.learning_rate = float(lr)

    def set_entropy_coef(self, coef: float) -> None:
        """The entropy bonus's coefficient from the next update on, in place on the device."""
        self._entropy_coef.fill_(float(coef))
        self.entropy_coef = float(coef)

    def action_std(self) -> torch.Tensor:
        """(A,) the policy's current action standard deviation (the same for every state)."""
        return _gaussian_std(self.actor.distribution).detach()

    # checkpoints -------------------------------------------------------------------------------------------------

    def save(self) -> dict:
        """rsl-rl's dict; the optimiser state in the plain (unfused, host step count, float learning rate) format,
        so rsl-rl's own PPO loads it too. The live optimiser is left as it is: ``state_dict()`` shares each
        parameter's state dict with it, so the step counts are replaced in copies (replacing them in place put a
        host tensor where a CUDA graph captured later needs the device one)."""
        state = super().save()
        optimizer = state["optimizer_state_dict"]
        for group in optimizer["param_groups"]:
            group.update(lr=float(group["lr"]), fused=None, capturable=False)
        optimizer["state"] = {
            key: {**param_state, "step": torch.tensor(float(param_state["step"]))}
            if "step" in param_state
            else param_state
            for key, param_state in optimizer["state"].items()
        }
        return state

    def load(self, loaded_dict: dict, load_cfg: dict | None, strict: bool) -> bool:
        """rsl-rl's load, then the optimiser put back on the device learning rate and the fused step."""
        result = super().load(loaded_dict, load_cfg, strict)
        self._graphs.clear()  # the optimiser's state tensors are new: capture again
        self._warmed.clear()
        self._lr.fill_(float(self.optimizer.param_groups[0]["lr"]))
        self.learning_rate = float(self._lr)
        capturable = torch.device(self.device).type == "cuda"
        for group in self.optimizer.param_groups:
            group.update(lr=self._lr, fused=True, capturable=capturable, foreach=None)
            for param in group["params"]:
                state = self.optimizer.state.get(param, {})
                if "step" in state:
                    state["step"] = torch.as_tensor(float(state["step"]), dtype=torch.float32, device=param.device)
        return result

    def compile(self, mode: str | None = None) -> None:
        """``ppo.torch_compile_mode``: on CUDA, :meth:`use_compiled` with ``mode`` (``"default"`` or
        ``"max-autotune-no-cudagraphs"``); None, or on the CPU: eager. On the CPU the update is not bound by kernel
        launches, so inductor's C++ build (8 s with its cache warm, a minute cold, on 2 cores) buys nothing. Without
        Triton (inductor's GPU code generator) it warns and stays eager."""
        if mode in ("reduce-overhead", "max-autotune"):
            raise ValueError(
                f"ppo.torch_compile_mode = {mode!r} captures CUDA graphs of its own, and the graphed learner "
                "already captures the update: use 'default' or 'max-autotune-no-cudagraphs'"
            )
        on_cuda = torch.device(self.device).type == "cuda"
        if mode is not None and on_cuda and self.is_multi_gpu:
            warnings.warn(
                f"ppo.torch_compile_mode = {mode!r}: a distributed run's update runs uncompiled (its all-reduces are "
                "not traced by torch.compile here)",
                stacklevel=2,
            )
            mode = None
        if mode is not None and on_cuda and not _has_triton():
            warnings.warn(
                f"ppo.torch_compile_mode = {mode!r}: this Python's torch has no Triton to compile CUDA kernels "
                "with; the update runs eagerly",
                stacklevel=2,
            )
        self.use_compiled(mode if on_cuda and _has_triton() else None)

    def use_compiled(self, mode: str | None) -> None:
        """``torch.compile`` (with ``mode``; None: eager) the mini-batch losses (the actor's and critic's forward
        passes, the distribution, the clipped losses and the learning-rate schedule), the gradient clipping, the
        returns and the rollout step's policy outputs, on any device. Inductor fuses their elementwise work, and
        the backward's, into fewer kernels; the CUDA graphs then capture the compiled kernels. The first update
        pays the compilation (3 s with inductor's on-disk cache warm, 20 s cold, for the ant on an H100)."""
        functions = {
            "_actor_losses": self._actor_loss_terms,
            "_value_loss": self._value_loss_term,
            "_policy": self._policy_into,
            "_critic_values": self._values_into,
            "_clip": self._clip_gradients,
            "_returns": self._returns_into_storage,
        }
        self._graphs.clear()
        self._warmed.clear()
        self.compile_mode = mode
        for name, function in functions.items():
            setattr(self, name, function if mode is None else torch.compile(function, mode=mode, dynamic=False))

    # the captured bodies -----------------------------------------------------------------------------------------

    def _autocast(self):
        if self._autocast_dtype is None:
            return contextlib.nullcontext()
        # no autocast weight cache: a captured graph must not hold casts made before it
        return torch.autocast(torch.device(self.device).type, dtype=self._autocast_dtype, cache_enabled=False)

    @contextlib.contextmanager
    def _on_critic_stream(self):
        """Run the block on the critic's CUDA stream, after the work queued so far; on the CPU, in place. The
        current stream picks its results up after :meth:`_join_critic_stream`."""
        critic = self._critic_stream
        if critic is not None:
            critic.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(critic):  # no-op for None
            yield

    def _join_critic_stream(self) -> None:
        """Make the current stream wait for the work queued on the critic's stream."""
        if self._critic_stream is not None:
            torch.cuda.current_stream().wait_stream(self._critic_stream)

    def _values(self, obs: TensorDict) -> torch.Tensor:
        with self._autocast():
            return self.critic(obs).float()

    def _act_into_storage(self, step: int) -> None:
        st = self.storage
        observations = dict(self._observation_rows[step])
        noise = torch.randn(st.actions.shape[1:], device=st.actions.device)
        with self._on_critic_stream():  # the critic's values beside the actor's step, as in the update
            self._critic_values(observations, st.values[step])
        outputs = (st.actions, st.actions_log_prob, *st.distribution_params)
        self._policy(observations, noise, *(tensor[step] for tensor in outputs))
        self._join_critic_stream()

    def _policy_into(
        self,
        observations: dict[str, torch.Tensor],
        noise: torch.Tensor,
        actions: torch.Tensor,
        log_prob: torch.Tensor,
        mean: torch.Tensor,
        std: torch.Tensor,
    ) -> None:
        """One rollout step of the policy for N observation rows, written into the given tensors (the storage's
        rows of the step, so that compiled, the kernels write there directly).

        Args:
            observations: group name -> (N, D), or (N, C, H, W) for an image group.
            noise: (N, A) standard normal draws.
            actions: (N, A) gets ``mean + std * noise``; log_prob (N, 1) their log-probability; mean, std (N, A)
                the distribution's parameters.
        """
        with self._autocast():
            policy_mean = self.actor.mlp(self.actor.get_latent(observations)).float()
        policy_std = _gaussian_std(self.actor.distribution).expand_as(policy_mean)
        actions.copy_(policy_mean + policy_std * noise)
        # log N(mean + std * noise; mean, std), summed over actions: Normal.log_prob with fewer kernels
        log_prob.copy_((-0.5 * noise.square() - torch.log(policy_std) - _LOG_SQRT_2PI).sum(dim=-1, keepdim=True))
        mean.copy_(policy_mean)
        std.copy_(policy_std)

    def _values_into(self, observations: dict[str, torch.Tensor], values: torch.Tensor) -> None:
        """The critic's values (N, 1) of N observation rows (group name -> (N, D) or
        (N, C, H, W)), written into ``values``."""
        values.copy_(self._values(observations))

    def _returns_into_storage(self) -> None:
        st = self.storage
        st.rewards.add_(self.gamma * st.values * self._time_outs)  # rsl-rl's bootstrap on time-outs
        last_values = self._values(self._last_obs)
        advantage = 0
        for step in reversed(range(st.num_transitions_per_env)):
            next_values = last_values if step == st.num_transitions_per_env - 1 else st.values[step + 1]
            next_is_not_terminal = 1.0 - st.dones[step].float()
            delta = st.rewards[step] + next_is_not_terminal * self.gamma * next_values - st.values[step]
            advantage = delta + next_is_not_terminal * self.gamma * self.lam * advantage
            st.returns[step].copy_(advantage + st.values[step])
        st.advantages.copy_(st.returns - st.values)
        if not self.normalize_advantage_per_mini_batch:
            st.advantages.copy_((st.advantages - st.advantages.mean()) / (st.advantages.std() + 1e-8))

    def _update_body(self) -> None:
        st = self.storage
        size = self._mini_batch_size
        groups = list(st.observations.keys())
        fields = {
            "actions": st.actions,
            "values": st.values,
            "returns": st.returns,
            "old_log_prob": st.actions_log_prob,
            "advantages": st.advantages,
            "old_mean": st.distribution_params[0],
            "old_std": st.distribution_params[1],
        }
        vectors = [group for group in groups if st.observations[group].dim() == 3]  # (steps, N, D)
        # image groups (steps, N, C, H, W): gathered from a (B, C, H, W) view, not copied into the packed tensor
        images = {group: st.observations[group].flatten(0, 1) for group in groups if group not in vectors}
        columns = [st.observations[group] for group in vectors] + list(fields.values())
        widths = [column.shape[-1] for column in columns]
        # every per-sample vector field side by side in one (B, D) tensor: one gather per mini-batch, not one per field
        packed = torch.cat([column.float() for column in columns], dim=-1).flatten(0, 1)
        self._sums.zero_()
        for _ in range(self.num_learning_epochs):
            for i in range(self.num_mini_batches):
                indices = self._perm[i * size : (i + 1) * size]
                rows = packed[indices].split(widths, dim=-1)
                batch = dict(zip(fields, rows[len(vectors) :], strict=True))
                observations = dict(zip(vectors, rows[: len(vectors)], strict=True))
                observations.update({group: image[indices] for group, image in images.items()})
                batch["observations"] = observations
                self._minibatch_step(batch)
        self._sums[3] = self._lr
        observations = st.observations.flatten(0, 1)
        for model in (self.actor, self.critic):
            if model.obs_normalization and model.training:
                inputs = torch.cat([observations[group] for group in model.obs_groups], dim=-1)
                _update_normalizer_in_place(model.obs_normalizer, inputs, self.is_multi_gpu)

    def _minibatch_step(self, batch: dict) -> None:
        """One gradient step of rsl-rl's PPO loss on ``batch`` (tensors of the mini-batch's rows). On CUDA the
        critic's value loss runs on a second stream beside the actor's losses, and so does its backward (autograd
        runs each backward op on its forward op's stream): the two networks' small kernels overlap."""
        observations = batch["observations"]
        with self._on_critic_stream():
            value_loss = self._value_loss(observations, batch["returns"], batch["values"])
        actor_loss, lr, surrogate_loss, entropy = self._actor_losses(
            observations,
            batch["actions"],
            batch["old_log_prob"],
            batch["advantages"],
            batch["old_mean"],
            batch["old_std"],
            self._lr,
            self._entropy_coef,
        )
        self._join_critic_stream()
        loss = actor_loss + self.value_loss_coef * value_loss
        self._lr.copy_(lr)
        self.optimizer.zero_grad(set_to_none=True)
        if self._scaler is None:
            loss.backward()
        else:
            self._scaler.scale(loss).backward()
        if self.is_multi_gpu:  # rsl-rl's mean over the ranks, before the scaler's inf check so every rank agrees
            self.reduce_parameters()
        if self._scaler is not None:
            self._scaler.unscale_(self.optimizer)
        self._clip()
        if self._scaler is None:
            self.optimizer.step()
        else:
            self._scaler.step(self.optimizer)
            self._scaler.update()
        self._sums[:3] += torch.stack([value_loss, surrogate_loss, entropy]).detach()

    def _clip_gradients(self) -> None:
        """rsl-rl's gradient clipping: each network's gradients scaled to a norm of at most ``max_grad_norm``."""
        torch.nn.utils.clip_grad_norm_(self.actor.parameters(), self.max_grad_norm)
        torch.nn.utils.clip_grad_norm_(self.critic.parameters(), self.max_grad_norm)

    def _actor_loss_terms(
        self,
        observations: dict[str, torch.Tensor],
        actions: torch.Tensor,
        old_log_prob: torch.Tensor,
        advantages: torch.Tensor,
        old_mean: torch.Tensor,
        old_std: torch.Tensor,
        lr: torch.Tensor,
        entropy_coef: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The actor's part of rsl-rl's PPO loss on one mini-batch of B rows, as a function of tensors only (what
        ``torch.compile`` traces in one graph).

        Args:
            observations: group name -> (B, D) observation rows ((B, C, H, W) for an image group).
            actions, old_mean, old_std: (B, A) the stored actions and the distribution that drew them.
            old_log_prob, advantages: (B, 1).
            lr: () the learning rate before this step.
            entropy_coef: () the entropy bonus's coefficient.

        Returns:
            The clipped surrogate loss minus the entropy bonus (), the learning rate for this step () (the adaptive
            schedule's, from the KL between the stored and the current distribution), the surrogate loss () and the
            mean entropy ().
        """
        if self.normalize_advantage_per_mini_batch:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        with self._autocast():
            mlp_output = self.actor.mlp(self.actor.get_latent(observations))
        mean = mlp_output.float()
        std = _gaussian_std(self.actor.distribution).expand_as(mean)
        distribution = torch.distributions.Normal(mean, std, validate_args=False)
        log_prob = distribution.log_prob(actions).sum(dim=-1)
        entropy = distribution.entropy().sum(dim=-1).mean()
        if self.desired_kl is not None and self.schedule == "adaptive":
            with torch.no_grad():
                kl = self.actor.get_kl_divergence((old_mean, old_std), (mean, std)).mean()
                if self.is_multi_gpu:  # every rank takes the same learning rate
                    all_reduce_mean_(kl)
                raised = torch.where((kl < self.desired_kl / 2.0) & (kl > 0.0), (lr * 1.5).clamp(max=1e-2), lr)
                lr = torch.where(kl > self.desired_kl * 2.0, (lr / 1.5).clamp(min=1e-5), raised)
        ratio = torch.exp(log_prob - torch.squeeze(old_log_prob))
        advantages = torch.squeeze(advantages)
        surrogate = -advantages * ratio
        surrogate_clipped = -advantages * torch.clamp(ratio, 1.0 - self.clip_param, 1.0 + self.clip_param)
        surrogate_loss = torch.max(surrogate, surrogate_clipped).mean()
        return surrogate_loss - entropy_coef * entropy, lr, surrogate_loss, entropy

    def _value_loss_term(
        self, observations: dict[str, torch.Tensor], returns: torch.Tensor, old_values: torch.Tensor
    ) -> torch.Tensor:
        """The critic's part of rsl-rl's PPO loss (), clipped around the stored values unless
        ``use_clipped_value_loss`` is off, on one mini-batch: observations group name -> (B, D) or (B, C, H, W),
        returns and the stored values (B, 1)."""
        values = self._values(observations)
        if self.use_clipped_value_loss:
            value_clipped = old_values + (values - old_values).clamp(-self.clip_param, self.clip_param)
            return torch.max((values - returns).pow(2), (value_clipped - returns).pow(2)).mean()
        return (returns - values).pow(2).mean()

    def _run(self, key, body) -> None:
        """Run ``body``: eagerly on the CPU; on CUDA eagerly once on a side stream (warm-up), then captured into a
        CUDA graph that is replayed from then on."""
        if not self._use_graphs or (key == "update" and self.is_multi_gpu):  # NCCL all-reduces: not captured
            body()
            return
        graph = self._graphs.get(key)
        if graph is None:
            if key not in self._warmed:
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    body()
                torch.cuda.current_stream().wait_stream(side)
                self._warmed.add(key)
                return
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self._pool):
                body()
            self._graphs[key] = graph
        graph.replay()


def _has_triton() -> bool:
    from torch.utils._triton import has_triton

    return has_triton()


def _gaussian_std(distribution: GaussianDistribution) -> torch.Tensor:
    """(A,) the standard deviation ``GaussianDistribution.update`` gives its ``Normal``: the clamped scalar parameter,
    or the exponential of the clamped log parameter."""
    if distribution.std_type == "log":
        return torch.exp(distribution.log_std_param.clamp(*distribution.log_std_range))
    return distribution.std_param.clamp(*distribution.std_range)


def _update_normalizer_in_place(normalizer: EmpiricalNormalization, inputs: torch.Tensor, across_ranks: bool) -> None:
    """rsl-rl's ``EmpiricalNormalization.update`` (running mean and variance over a batch of ``inputs`` (B, D)),
    writing ``_std`` in place instead of rebinding it, so a captured graph that reads it sees the new values;
    ``across_ranks``: over the batches of every rank together (:func:`.distributed.reduce_moments`)."""
    count = inputs.shape[0]
    var = torch.var(inputs, dim=0, unbiased=False, keepdim=True)
    mean = torch.mean(inputs, dim=0, keepdim=True)
    if across_ranks:
        count, mean, var = reduce_moments(torch.tensor(count, device=inputs.device), mean, var)
    normalizer.count += count
    rate = count / normalizer.count
    delta = mean - normalizer._mean
    normalizer._mean += rate * delta
    normalizer._var += rate * (var - normalizer._var + delta * (mean - normalizer._mean))
    normalizer._std.copy_(torch.sqrt(normalizer._var))
