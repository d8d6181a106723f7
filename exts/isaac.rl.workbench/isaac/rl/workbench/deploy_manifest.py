"""The deployment manifest: what a robot needs besides the network, as ``deploy.json`` (:mod:`..deploy.bundle`).

:func:`deploy_manifest` reads it off a built env and its spec: the actor's observation terms (noise dropped,
parameters by name), the commands they read, the joints with their defaults and trained gains, the action's mapping,
the control period and the safety layer's limits (``[deploy]`` over the asset's limits). A policy that observes
what a robot cannot measure (a range scan, a body's position, the root's height) is refused with the task file and
the term. Limits the asset leaves open are ``inf`` here and ``null`` in the strict JSON (``deploy.bundle.bundle_json``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .deploy.bundle import FORMAT, bundle_from_dict
from .deploy.observation_terms import SUPPORTED_TERMS
from .learn.ppo_config import policy_groups
from .scene.inspect import inspect_scene
from .scene.joint_velocity_limits import joint_velocity_limits
from .specs.robot_tables import joint_overrides, per_joint
from .specs.schema import TaskSpec

if TYPE_CHECKING:
    from .envs.workbench_env import WorkbenchEnv

FLOATING_SOFT_START_S = 1.0
"""[s] default soft start of a floating-base robot (a fixed base gets none)."""
FLOATING_MAX_TILT_RAD = 1.0
"""[rad] default tilt at which a floating-base robot stops (a fixed base gets no tilt check)."""


DEPLOY_DOC = "docs/sim2real.md#which-tasks-deploy"
"""Where the shipped tasks are listed with whether their policies deploy, and why not."""


class DeployError(ValueError):
    """A policy that cannot run on a robot as trained; the message names the task file, the term and what the robot
    runtime supports."""


def actor_groups(spec: TaskSpec) -> list[str]:
    """The observation groups the exported policy reads (PPO's actor, a distillation's student), in order."""
    return policy_groups(spec.ppo, list(spec.observations))


IMAGE_TERM_PREFIX = "camera_"
"""Observation terms whose names start so return camera images (N, C, H, W): ``camera_depth``, ``camera_rgb``, ..."""


def check_deployable(spec: TaskSpec) -> None:
    """Raise :class:`DeployError` naming every actor observation term the robot runtime cannot compute (a policy
    that reads camera images first: the runtime feeds one observation vector)."""
    images = [
        f"'{term.func_name}' (observations.{group}.terms[{i}])"
        for group in actor_groups(spec)
        for i, term in enumerate(spec.observations[group])
        if term.func_name.startswith(IMAGE_TERM_PREFIX)
    ]
    if images:
        raise DeployError(
            f"{spec.source}: the policy reads camera images ({', '.join(images)}), and the robot runtime feeds one "
            "observation vector: image policies do not deploy (export without --deploy writes policy.onnx with an "
            f"input per image group); {DEPLOY_DOC} lists the shipped tasks that deploy"
        )
    refused = [
        f"'{term.func_name}' (observations.{group}.terms[{i}])"
        for group in actor_groups(spec)
        for i, term in enumerate(spec.observations[group])
        if term.func_name not in SUPPORTED_TERMS
    ]
    if refused:
        raise DeployError(
            f"{spec.source}: the policy observes {', '.join(refused)}, which the robot runtime does not compute (a "
            f"robot cannot measure it, or the runtime lacks the term); it computes {', '.join(SUPPORTED_TERMS)}; "
            f"{DEPLOY_DOC} lists the shipped tasks that deploy"
        )


def trained_gains(spec: TaskSpec) -> tuple[list[float], list[float]]:
    """The PD gains the policy was trained with, (stiffness, damping) per joint in ``spec.joint_names`` order
    [N·m/rad or N/m, N·m·s/rad or N·s/m]: the ``[actuators]`` values over the scene's drives (0 without either),
    before any start-up randomisation."""
    drives = {j.name: j.drive for j in inspect_scene(spec.scene).find(spec.articulation).joints}
    names = spec.joint_names
    stiffness = per_joint(spec.actuators, names, drives, "stiffness", lambda d: d.stiffness if d else 0.0)
    damping = per_joint(spec.actuators, names, drives, "damping", lambda d: d.damping if d else 0.0)
    return stiffness, damping


def deploy_manifest(env: WorkbenchEnv, spec: TaskSpec, policy_files: dict[str, str]) -> dict:
    """The ``deploy.json`` content for the policy trained on ``spec``, validated by ``bundle_from_dict``.

    Args:
        env: the task's env, built (its default joint positions, base type and observation sizes are read).
        spec: the task spec the env was built from.
        policy_files: ``{"onnx": "policy.onnx", "torchscript": "policy.pt"}``, relative to the bundle's folder.

    Raises:
        DeployError: an actor observation term the robot runtime cannot compute, or observation groups with
            different history lengths.
    """
    check_deployable(spec)
    names = list(spec.joint_names)
    terms, history = _observation(env, spec)
    strength = spec.deploy.motor_strength  # the motors deliver this share of what they are sent
    stiffness, damping = ([g / strength for g in gains] for gains in trained_gains(spec))
    per_unit = strength if spec.actions.type == "joint_effort" else 1.0  # efforts are sent undone by the strength
    scales = spec.actions.joint_scales()
    scale = (
        [s / per_unit for s in scales] if isinstance(spec.actions.scale, dict) else float(spec.actions.scale) / per_unit
    )
    default_pos = [float(v) for v in env.default_dof_pos[0].tolist()]
    action_joints = list(spec.actions.joints)
    if spec.actions.type == "joint_position":
        offset = [default_pos[names.index(j)] for j in action_joints]
    else:
        offset = [0.0] * len(action_joints)
    used = [t["params"]["command"] for t in terms if t["name"] == "generated_commands"]
    commands = {
        name: {"type": c.type, "size": 3, "ranges": {k: list(v) for k, v in c.ranges.items()}}
        for name, c in spec.commands.items()
        if name in used
    }
    data = {
        "format": FORMAT,
        "task": spec.name,
        "control_dt": spec.env.step_dt,
        "policy": {
            "onnx": policy_files["onnx"],
            "torchscript": policy_files["torchscript"],
            "obs_dim": sum(t["size"] for t in terms) * history,
            "num_actions": len(action_joints),
            **_recurrent(spec),
        },
        "observation": {"terms": terms, "history_length": history},
        "commands": commands,
        "joints": {
            "names": names,
            "default_pos": default_pos,
            "stiffness": stiffness,
            "damping": damping,
            "effort_limit": [float(v) for v in spec.effort_limits],
            "motor_order": list(spec.deploy.motor_order or names),
        },
        "action": {
            "type": spec.actions.type,
            "joints": action_joints,
            "scale": scale,
            "offset": offset,
            "clip": spec.actions.clip,
        },
        "safety": _safety(env.floating_base, spec, stiffness, damping),
    }
    bundle_from_dict(data, f"deploy.json for {spec.source}")
    return data


def _observation(env: WorkbenchEnv, spec: TaskSpec) -> tuple[list[dict], int]:
    """The actor's terms ``{"name", "size", "params"}`` in order, and the history length; sizes are checked
    against the env's observation groups."""
    names, num_actions = spec.joint_names, len(spec.actions.joints)
    observed = env.get_observations()
    terms: list[dict] = []
    histories = {}
    for group in actor_groups(spec):
        histories[group] = spec.observation_history.get(group, 1)
        group_terms = []
        for term in spec.observations[group]:
            params = {k: list(v) if isinstance(v, tuple | list) else v for k, v in term.params.items()}
            if term.func_name.startswith("joint_"):
                size = len(params.get("joints", names))
            elif term.func_name == "last_action":
                size = num_actions
            else:
                size = 3
            group_terms.append({"name": term.func_name, "size": size, "params": params})
        width = sum(t["size"] for t in group_terms) * histories[group]
        if observed[group].shape[1] != width:
            raise DeployError(
                f"{spec.source}: observation group '{group}' has {observed[group].shape[1]} values in the env, but its "
                f"terms give {width}"
            )
        terms += group_terms
    if len(set(histories.values())) > 1:
        raise DeployError(f"{spec.source}: the actor's observation groups have different history lengths {histories}")
    return terms, next(iter(histories.values()))


def _safety(floating_base: bool, spec: TaskSpec, stiffness: list[float], damping: list[float]) -> dict:
    """The ``safety`` table: ``[deploy]`` over the defaults, limits per joint in ``spec.joint_names`` order."""
    deploy, names = spec.deploy, spec.joint_names
    joints = {j.name: j for j in inspect_scene(spec.scene).find(spec.articulation).joints}
    asset_speed = joint_velocity_limits(spec.scene, [joints[n] for n in names])
    actuator_speed = joint_overrides(spec.actuators, names).get("velocity_limit", [math.nan] * len(names))
    speeds = [
        deploy.joint_vel_limits.get(n, a if not math.isnan(a) else s)
        for n, a, s in zip(names, actuator_speed, asset_speed, strict=True)
    ]
    default_tilt = FLOATING_MAX_TILT_RAD if floating_base else None
    return {
        "joint_pos_limits": [[joints[n].lower, joints[n].upper] for n in names],
        "joint_vel_limits": speeds,
        "pos_limit_margin": deploy.pos_limit_margin,
        "action_clip": spec.actions.clip,
        "action_rate_limit": deploy.action_rate_limit,
        "lowpass_hz": deploy.lowpass_hz,
        "max_tilt_rad": deploy.max_tilt_rad if deploy.max_tilt_rad is not None else default_tilt,
        "soft_start_s": deploy.soft_start_s
        if deploy.soft_start_s is not None
        else (FLOATING_SOFT_START_S if floating_base else 0.0),
        "safe_stop": deploy.safe_stop,
        "hold_kp": [deploy.hold_kp.get(n, k) for n, k in zip(names, stiffness, strict=True)],
        "hold_kd": [deploy.hold_kd.get(n, d) for n, d in zip(names, damping, strict=True)],
        "max_consecutive_misses": deploy.max_consecutive_misses,
    }


def _recurrent(spec: TaskSpec) -> dict:
    """``{"recurrent": {rnn_type, num_layers, hidden_dim}}`` for a policy that is rsl-rl's ``RNNModel`` (the
    hidden state the runtime carries), ``{}`` for a feed-forward one."""
    import inspect

    from rsl_rl.models import RNNModel

    cfg = spec.ppo.get("student") or spec.ppo.get("actor") or {}
    if cfg.get("class_name", "MLPModel") != "RNNModel":
        return {}
    default = {k: p.default for k, p in inspect.signature(RNNModel.__init__).parameters.items()}
    return {
        "recurrent": {
            "rnn_type": cfg.get("rnn_type", default["rnn_type"]),
            "num_layers": int(cfg.get("rnn_num_layers", default["rnn_num_layers"])),
            "hidden_dim": int(cfg.get("rnn_hidden_dim", default["rnn_hidden_dim"])),
        }
    }
