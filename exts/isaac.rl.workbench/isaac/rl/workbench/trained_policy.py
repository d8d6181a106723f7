"""The policy of a built run put to use: deterministic evaluation (optionally recorded as a USD animation), live play
steps, and the export with its deployment bundle.

A :class:`TrainedPolicy` belongs to one built :class:`~.workbench.Workbench` (its env and trainer); front ends call
it through the Workbench's ``evaluate``, ``play_step`` and ``export``. Shapes: N = num_envs, B = rigid bodies per
env.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .learn.run_dir import writing
from .specs.schema import TaskSpec
from .utils.atomic import write_atomically
from .utils.writable import check_writable

if TYPE_CHECKING:  # built on first use: loading this module never pays for the physics' or the learner's start-up
    from .envs.workbench_env import WorkbenchEnv
    from .learn.trainer import Trainer

RECORDING_MAX_SPACING = 4.0  # [m] recorded envs stand side by side, however far apart the physics keeps them
EXPORT_OBSERVATIONS = 4096  # observation rows of the check rollout an export compares the exported files on


class TrainedPolicy:
    """The trained policy of a built run.

    Args:
        env: the run's env (N envs).
        trainer: the run's trainer, its policy loaded or trained.
        spec: the run's task spec.
        emit: ``emit(event, data)``: tells the run's listeners ("evaluated").
    """

    def __init__(self, env: WorkbenchEnv, trainer: Trainer, spec: TaskSpec, emit: Callable[[str, dict], Any]):
        self._env, self._trainer, self._spec, self._emit = env, trainer, spec, emit
        self._play: tuple[Callable, Any] | None = None  # (policy, observations) of play_step

    def evaluate(
        self,
        num_episodes: int,
        record: Path | None = None,
        record_envs: int = 4,
        keep_observations: int = 0,
    ) -> dict:
        """Roll the policy out deterministically over ``num_episodes`` episodes; optionally write a USD animation of
        the first ``record_envs`` envs to ``record``, and for a task with cameras their frames as PNG files beside it
        (:mod:`.scene.record_frames`). Returns :func:`.learn.rollout.evaluate`'s statistics (``recording``: the file
        written; ``frames``: the frames' folder), emitted as "evaluated" (without ``observations``)."""
        from .learn.rollout import evaluate

        recorder = None
        if record is not None:
            from .scene.record import UsdRecorder
            from .scene.terrain import generate_terrain

            count = min(record_envs, self._env.num_envs)
            recorder = UsdRecorder(
                self._spec.scene,
                self._spec.articulation,
                self._env.body_paths,
                count,
                min(self._spec.env.spacing, RECORDING_MAX_SPACING),
                1.0 / self._spec.env.step_dt,
                terrain=generate_terrain(self._spec.terrain) if self._spec.terrain is not None else None,
            )
            if self._spec.sensors:  # the cameras' frames beside the animation
                recorder = self._with_camera_frames(recorder)
        policy = self._trainer.inference_policy()
        result = evaluate(self._env, policy, num_episodes, recorder, keep_observations)
        self._trainer.train_mode()
        self._trainer.reset_rollout()
        if recorder is not None:
            with writing(Path(record)):
                saved = recorder.save(Path(record))
            if isinstance(saved, tuple):  # the animation and its camera frames' folder
                saved, result["frames"] = saved[0], str(saved[1])
            result["recording"] = str(saved)
        self._emit("evaluated", {k: v for k, v in result.items() if k != "observations"})
        return result

    def _with_camera_frames(self, recorder):
        """``recorder`` that also keeps the recorded envs' camera images at every frame
        (:class:`~.scene.record_frames.RecorderWithFrames`)."""
        from .scene.record_frames import CameraFrames, RecorderWithFrames

        cameras = {
            name: (c.width, c.height, c.near, c.far, tuple(c.data_types)) for name, c in self._spec.sensors.items()
        }
        frames = CameraFrames(cameras, recorder.num_envs, 1.0 / self._spec.env.step_dt)
        return RecorderWithFrames(recorder, frames, lambda: {name: self._env.camera(name) for name in cameras})

    def play_step(self) -> dict:
        """Step every env once with the deterministic policy; envs whose episode ends start a new one. Returns
        ``poses`` (N, B, 7) env-relative body poses, ``origins`` (N, 3) each env's origin in the world [m] (on a
        terrain, where the env stands on it), ``rewards`` (N,) and ``dones`` (N,), as CPU tensors."""
        if self._play is None:
            self._play = (self._trainer.inference_policy(), self._env.reset())
            self._play[0].reset()  # a recurrent policy starts from a zero hidden state
        policy, obs = self._play
        with torch.inference_mode():
            obs, rewards, dones, _ = self._env.step(policy(obs))
            policy.reset(dones)  # ended episodes start the next from a zero hidden state
        self._play = (policy, obs)
        poses, origins = self._env.body_poses_env.cpu(), self._env.env_origins.cpu()
        return {"poses": poses, "origins": origins, "rewards": rewards.cpu(), "dones": dones.cpu()}

    def export(self, out: Path, deploy: bool = False) -> dict:
        """Write ``policy.onnx`` and ``policy.pt`` to the folder ``out`` and check them against the training policy
        on the observations of a deterministic rollout of every env (:func:`.learn.export.export_policy`).

        ``deploy``: also write the deployment bundle's ``deploy.json`` (:mod:`.deploy_manifest`) and
        ``policy_static.onnx`` (batch fixed to 1, for TensorRT) beside them; a policy that observes what a robot
        cannot measure is refused (``DeployError``) before anything is written. The report then adds ``deploy``
        (the ``deploy.json`` path) and ``static_onnx``.
        """
        from .learn.export import export_policy

        with writing(out):
            check_writable(out)
        manifest = None
        if deploy:
            from .deploy_manifest import deploy_manifest

            manifest = deploy_manifest(self._env, self._spec, {"onnx": "policy.onnx", "torchscript": "policy.pt"})
        rollout = self.evaluate(num_episodes=self._env.num_envs, keep_observations=EXPORT_OBSERVATIONS)
        with writing(out):
            report = export_policy(self._trainer.actor, rollout["observations"], out)
            if manifest is not None:
                from .deploy.bundle import bundle_json, load_bundle
                from .deploy.latency import static_onnx

                text = bundle_json(manifest)
                report["deploy"] = str(write_atomically(out / "deploy.json", lambda tmp: tmp.write_text(text)))
                if "recurrent" not in report:  # a static copy for TensorRT: feed-forward policies only
                    report["static_onnx"] = str(static_onnx(load_bundle(out), out / "policy_static.onnx")[0])
        return report
