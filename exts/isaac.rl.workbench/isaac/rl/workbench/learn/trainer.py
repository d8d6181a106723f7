"""PPO training one iteration at a time: rsl-rl's PPO over a :class:`~isaac.rl.workbench.env.WorkbenchEnv`.

rsl-rl's ``OnPolicyRunner`` builds the algorithm (``ppo.learner``: :class:`~.graphed_ppo.GraphedPPO` by default,
or rsl-rl's ``PPO``), the models and the checkpoint format; the iteration loop is driven here so a front end can
run one iteration, update its UI, and run the next. A ``[ppo]`` table that names rsl-rl's ``Distillation``
(:mod:`.distill`) is run the same way by its ``DistillationRunner``: the student learns the teacher's actions, and
the student is the policy (played, evaluated and exported).

Under ``torchrun`` (:mod:`.distributed`) each rank runs a Trainer over its own envs; rsl-rl's algorithm gets the
process group's ``multi_gpu_cfg``, the networks are broadcast from rank 0 when built and loaded, and the env-step
counts and rates count every rank's envs; ``rank_env_steps_per_s`` gives each rank's own rate.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
from rsl_rl.runners import DistillationRunner, OnPolicyRunner
from tensordict import TensorDict

from ..utils.atomic import write_atomically
from . import distributed
from .checkpoint import CheckpointError, check_fits, read_checkpoint
from .graphed_ppo import GraphedPPO
from .ppo_config import is_distillation, runner_config
from .rsl_rl_settings import check_networks_fit


class TrainingDiverged(RuntimeError):
    """NaN or infinity in the policy's actions or parameters, the rewards or the losses; training cannot go on."""


class _RankedRunner(OnPolicyRunner):
    """rsl-rl's runner, its multi-GPU settings from :mod:`.distributed`'s process group (none for one process)."""

    _configure_multi_gpu = distributed.configure_runner


class _RankedDistillationRunner(DistillationRunner):
    _configure_multi_gpu = distributed.configure_runner


class Trainer:
    """rsl-rl PPO (or distillation) over an env, stepped by :meth:`train_step`.

    Args:
        env: an rsl-rl ``VecEnv`` that also has ``spread_episode_starts()`` and ``pop_episode_stats()`` (and
            ``symmetry_augmentation()`` for ``[ppo.algorithm.symmetry]``), as ``WorkbenchEnv`` does.
        ppo_config: the spec's ``[ppo]`` table (rsl-rl key names).
        device: where the networks live (the env's device).

    Raises:
        NetworkConfigError: networks that do not fit the env's observation groups (an image group (N, C, H, W) for a
            model that reads vectors, a CNN that shrinks an image to nothing, ...), naming the ``[ppo]`` key.

    A distillation trainer needs its teacher (:meth:`load_teacher`, or :meth:`load` of a distillation checkpoint)
    before :meth:`train_step`.
    """

    def __init__(self, env, ppo_config: dict, device: str):
        self.env = env
        self.device = device
        if torch.device(device).type == "cuda":  # TF32 matmuls for fp32 networks on GPUs that have them
            torch.set_float32_matmul_precision("high")
        self.distillation = is_distillation(ppo_config)
        # [ppo.algorithm.symmetry]: the mirror maps come from the env (its joints and observation layout)
        mirror = env.symmetry_augmentation() if "symmetry" in ppo_config["algorithm"] else None
        observations = env.get_observations()
        self.cfg = runner_config(ppo_config, list(observations.keys()), mirror)
        check_networks_fit(self.cfg, observations)  # image groups to a CNNModel, CNNs that leave something of them
        self.num_steps_per_env = self.cfg["num_steps_per_env"]
        self.check_for_nan = bool(self.cfg.get("check_for_nan", True))
        with contextlib.redirect_stdout(io.StringIO()):  # rsl-rl prints the model summaries
            runner = _RankedDistillationRunner if self.distillation else _RankedRunner
            self.runner = runner(env, self.cfg, log_dir=None, device=device)
        self.alg = self.runner.alg
        """rsl-rl's algorithm (``GraphedPPO``, ``PPO`` or ``Distillation``): its ``act``, ``update``, ``storage``
        (a profiler times them)."""
        self._broadcast()  # every rank starts from rank 0's networks
        self.env_steps_per_iteration = self.num_steps_per_env * distributed.sum_over_ranks(env.num_envs)
        """Env-steps one iteration collects, over the envs of every rank."""
        self.iteration = 0
        self.total_env_steps = 0
        self.train_seconds = 0.0  # [s] collection + update time of every iteration of the run, across resumes
        self.loaded_infos: dict = {}  # the "infos" of the checkpoint :meth:`load` read ({} before any)
        self._obs = env.get_observations().to(device)
        self.alg.train_mode()
        self._spread_episode_starts()

    @property
    def actor(self):
        """The policy network (``rsl_rl.models.MLPModel``): PPO's actor, or the distillation's student."""
        return self.alg.get_policy()

    def inference_policy(self) -> Callable[[TensorDict], torch.Tensor]:
        """The deterministic policy for rollouts: observations (N groups of (N, dim)) -> actions (N, A), with the
        observation normaliser; the networks stay in evaluation mode until :meth:`train_mode`."""
        return self.runner.get_inference_policy(self.device)

    def train_mode(self) -> None:
        """The networks back in training mode, after rollouts with :meth:`inference_policy`."""
        self.alg.train_mode()

    @property
    def compile_mode(self) -> str | None:
        """The ``torch.compile`` mode of the graphed learner's update (``ppo.torch_compile_mode`` on CUDA), or None
        when the update runs uncompiled."""
        return self.alg.compile_mode if isinstance(self.alg, GraphedPPO) else None

    def set_learning_rate(self, lr: float) -> None:
        """The optimiser's learning rate from the next update on (a live edit); with ``schedule = "adaptive"`` the KL
        schedule goes on adapting it from there."""
        if isinstance(self.alg, GraphedPPO):
            self.alg.set_learning_rate(lr)  # a device tensor its captured update reads
            return
        self.alg.learning_rate = float(lr)  # rsl-rl's PPO and Distillation set each step's rate from it
        for group in self.alg.optimizer.param_groups:
            group["lr"] = float(lr)

    def set_entropy_coef(self, coef: float) -> None:
        """The entropy bonus's coefficient in the PPO loss from the next update on (a live edit); a distillation has
        none (ValueError)."""
        if self.distillation:
            raise ValueError("a distillation's loss has no entropy bonus")
        if isinstance(self.alg, GraphedPPO):
            self.alg.set_entropy_coef(coef)
        else:
            self.alg.entropy_coef = float(coef)

    def train_step(self) -> dict:
        """Collect ``num_steps_per_env`` steps from every env, run one PPO update, and return the metrics.

        Returns:
            ``iteration`` (1-based count of completed iterations), ``mean_reward``, ``mean_episode_length``,
            ``episodes``, ``reward/<term>``, ``env_steps_per_s``, ``collect_s``, ``learn_s``, losses (``loss/<name>``;
            a distillation's is ``loss/behavior``), ``learning_rate`` and ``action_std`` (when the policy samples);
            in a distributed run also ``rank_env_steps_per_s``: each rank's env-steps/s (its own envs over its own
            collection and update time), a list in rank order.
        """
        if self.distillation and not self.alg.teacher_loaded:
            raise RuntimeError("a distillation trains against a teacher: load_teacher() before train_step()")
        with distributed.watching_ranks():  # a rank that ended: RankLost
            return self._train_step()

    def _train_step(self) -> dict:
        start = time.perf_counter()
        try:
            bad_actions = self._collect()
        except (RuntimeError, ValueError) as exc:  # rsl-rl's PPO: torch refuses to sample from a NaN distribution
            if not self._parameters_finite():
                raise TrainingDiverged(f"the policy's parameters hold NaN or inf ({exc})") from None
            groups = [name for name, value in self._obs.items() if not bool(torch.isfinite(value).all())]
            if groups:
                raise TrainingDiverged(f"observation group(s) {', '.join(groups)} hold NaN or inf ({exc})") from None
            raise
        if self.device.startswith("cuda"):  # one sync, so collect_s and learn_s split the GPU's time too
            torch.cuda.synchronize(self.device)
        collected = time.perf_counter()
        losses = self.alg.update()
        learned = time.perf_counter()
        if self.check_for_nan:
            if int(bad_actions):
                raise TrainingDiverged(f"the policy gave NaN or inf actions in {int(bad_actions)} env-steps")
            if not self._parameters_finite():
                raise TrainingDiverged(f"the PPO update made the policy's parameters NaN or inf (losses: {losses})")
        self.iteration += 1
        steps = self.env_steps_per_iteration
        self.total_env_steps += steps
        self.train_seconds += learned - start
        metrics = {"iteration": self.iteration, **self.env.pop_episode_stats()}
        metrics.update({f"loss/{k}": v for k, v in losses.items()})
        metrics.update(
            env_steps_per_s=steps / (learned - start),
            collect_s=collected - start,
            learn_s=learned - collected,
            total_env_steps=self.total_env_steps,
            learning_rate=self.alg.learning_rate,
        )
        if distributed.current().distributed:  # each rank's own envs over its own iteration time
            own_rate = self.num_steps_per_env * self.env.num_envs / (learned - start)
            metrics["rank_env_steps_per_s"] = distributed.per_rank(own_rate)
        if isinstance(self.alg, GraphedPPO):
            metrics["action_std"] = float(self.alg.action_std().mean())
        elif self.actor.distribution is not None:
            metrics["action_std"] = float(self.actor.output_std.detach().mean())
        bad = [k for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            raise TrainingDiverged(f"iteration {self.iteration}: non-finite {', '.join(bad)}")
        return metrics

    def _collect(self) -> torch.Tensor:
        """Step every env ``num_steps_per_env`` times with the policy and compute the returns; with
        ``check_for_nan``, count on the device (no sync) the env-steps whose stored actions are not finite."""
        bad_actions = torch.zeros((), dtype=torch.long, device=self.device)
        obs = self._obs
        with torch.inference_mode():
            for _ in range(self.num_steps_per_env):
                actions = self.alg.act(obs)
                obs, rewards, dones, extras = self.env.step(actions)
                self._obs = obs
                self.alg.process_env_step(obs, rewards, dones, extras)
            if self.check_for_nan:  # (steps, envs, actions) of this rollout, read once
                bad_actions = (~torch.isfinite(self.alg.storage.actions)).any(dim=-1).sum()
            self.alg.compute_returns(obs)
        return bad_actions

    def _parameters_finite(self) -> bool:
        """True when every trained parameter (the actor's and critic's, or the student's) is finite (one device
        sync): their total norm is."""
        trained = [self.alg.student] if self.distillation else [self.alg.actor, self.alg.critic]
        params = [p for network in trained for p in network.parameters()]
        return bool(torch.isfinite(torch.nn.utils.get_total_norm(params)))

    def reset_rollout(self) -> None:
        """Reset every env and start the next iteration's rollout from there (after an evaluation, say)."""
        self._obs = self.env.reset().to(self.device)
        with torch.inference_mode():  # a recurrent model's hidden states (inference tensors) start at zero again
            for network in (self.alg.get_policy(), getattr(self.alg, "critic", None)):
                if network is not None:
                    network.reset(torch.ones(self.env.num_envs, device=self.device))
        self._spread_episode_starts()

    def _spread_episode_starts(self) -> None:
        """Start episodes at random lengths, as rsl-rl's ``init_at_random_ep_len`` does, so episodes end (and are
        reported) every iteration rather than all at once; the env leaves these first episodes out of its statistics."""
        self.env.spread_episode_starts()

    def save(self, path: Path, infos: dict | None = None) -> Path:
        """Write a checkpoint atomically (temp file ``.model_*.pt`` beside it, then rename).

        Args:
            path: the checkpoint file (``checkpoints/model_<iteration>.pt``).
            infos: extra numbers and strings for ``infos`` (e.g. ``task``); they win over the trainer's own
                ``total_env_steps`` and ``train_seconds`` [s].

        The file holds only tensors, numbers, strings and plain containers, so it loads with ``weights_only=True``:
        rsl-rl's ``PPO.save()`` dict (networks with their normalisers, optimiser), ``iter`` and ``infos``.
        """
        state = self.alg.save()
        state["iter"] = int(self.iteration)
        state["infos"] = {"total_env_steps": int(self.total_env_steps), "train_seconds": float(self.train_seconds)}
        state["infos"].update(infos or {})
        data = io.BytesIO()  # serialised first, so a full disk is an OSError of the write (torch.save's is not)
        torch.save(state, data)
        return write_atomically(path, lambda tmp: tmp.write_bytes(data.getbuffer()))

    def rollout_storage_bytes(self) -> int:
        """[bytes] the rollout storage the learner keeps on its device: every step's observations (an image group
        (steps, N, C, H, W)), actions, rewards, dones, values, returns, advantages and distribution parameters, and
        the graphed learner's own buffers beside them (time-outs, the observation after the last step)."""
        own = getattr(self.alg, "_last_obs", None), getattr(self.alg, "_time_outs", None)
        tensors = [*vars(self.alg.storage).values(), *own]
        total = 0
        for value in tensors:
            for tensor in _tensors_in(value):
                total += tensor.numel() * tensor.element_size()
        return total

    def checkpoint_bytes(self) -> int:
        """[bytes] an upper estimate of what :meth:`save` writes: four times the trained weights (the weights, the
        optimiser's two moments, and room for normalisers and a distillation's teacher)."""
        params = [p for group in self.alg.optimizer.param_groups for p in group["params"]]
        return 4 * sum(p.numel() * p.element_size() for p in params)

    def load(self, path: Path, state: dict | None = None) -> None:
        """Restore networks, optimiser (and its learning rate), normaliser, the iteration count, ``total_env_steps``
        and ``train_seconds``; keep the checkpoint's ``infos`` in :attr:`loaded_infos`. ``state``: the checkpoint
        already read by :func:`~.checkpoint.read_checkpoint` (any device), so the file is not read twice.

        Raises:
            CheckpointError: ``"<path>: <what is wrong>"``: :func:`~.checkpoint.read_checkpoint`'s checks (missing,
                corrupt, unsafe, not a workbench checkpoint), then :func:`~.checkpoint.check_fits` (another task's
                observation or action size, or other network settings); nothing is loaded then.
        """
        if state is None:
            state = read_checkpoint(path, map_location=self.device)
        if ("student_state_dict" in state) != self.distillation:
            kinds = ("a PPO run's", "a distillation's")
            raise CheckpointError(
                f"{path}: {kinds['student_state_dict' in state]} checkpoint, but this task trains with "
                f"{'distillation' if self.distillation else 'PPO'}"
            )
        check_fits(path, state, self._checkpoint_networks())
        try:
            self.alg.load(state, None, strict=True)
        except (KeyError, RuntimeError, ValueError) as exc:  # the optimiser's state, say; shapes were checked above
            detail = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
            raise CheckpointError(f"{path}: does not fit this network: {detail}") from None
        infos = state["infos"]
        self.iteration = state["iter"]
        self.total_env_steps = int(infos.get("total_env_steps", 0))
        self.train_seconds = float(infos.get("train_seconds", 0.0))
        self.loaded_infos = infos
        self._broadcast()

    def _broadcast(self) -> None:
        """Rank 0's networks (parameters and normaliser buffers) on every rank: rsl-rl's ``broadcast_parameters``;
        nothing for one process."""
        if distributed.current().distributed:
            self.alg.broadcast_parameters()

    def _checkpoint_networks(self) -> dict[str, torch.nn.Module]:
        """The networks a checkpoint of this trainer holds, by name (the modules themselves, not torch.compile
        wrappers)."""
        if self.distillation:
            return {"student": self.alg._raw_student, "teacher": self.alg._raw_teacher}
        return {"actor": self.alg.get_policy(), "critic": getattr(self.alg, "_raw_critic", self.alg.critic)}

    def load_teacher(self, path: Path, state: dict | None = None) -> None:
        """Load a distillation's teacher from a PPO checkpoint: its actor (weights and observation normaliser)
        becomes the teacher; nothing else of the checkpoint is used (the student starts fresh, at iteration 0).

        Args:
            path: the teacher run's checkpoint file.
            state: the checkpoint already read by :func:`~.checkpoint.read_checkpoint`, so it is not read twice.

        Raises:
            CheckpointError: ``"<path>: <what is wrong>"``: not a PPO checkpoint, or an actor that ``[ppo.teacher]``
                and ``ppo.obs_groups.teacher`` do not rebuild (observation size, layers).
        """
        if not self.distillation:
            raise ValueError('load_teacher() needs a [ppo] table with [ppo.algorithm] class_name = "Distillation"')
        if state is None:
            state = read_checkpoint(path, map_location=self.device)
        if "actor_state_dict" not in state:
            raise CheckpointError(f"{path}: not a teacher: a teacher is a PPO run's checkpoint (with actor_state_dict)")
        try:
            check_fits(path, state, {"actor": self.alg._raw_teacher})
        except CheckpointError as exc:
            raise CheckpointError(
                f"{exc}; as a teacher, its actor must be rebuilt by [ppo.teacher] and ppo.obs_groups.teacher"
            ) from None
        self.alg.load(state, {"teacher": True}, strict=True)
        self._broadcast()


def _tensors_in(value) -> list[torch.Tensor]:
    """The tensors of ``value``: itself, a TensorDict's leaves, or a tuple's items (the distribution parameters)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, TensorDict):
        return list(value.values(include_nested=True, leaves_only=True))
    if isinstance(value, tuple | list):
        return [item for item in value if isinstance(item, torch.Tensor)]
    return []
