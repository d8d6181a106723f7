"""One trained policy of a Gymnasium task on two physics: the workbench's (Newton) and Gymnasium's own MuJoCo.

Usage: python scripts/gym_crosscheck.py RUN_DIR [--episodes 20] [--checkpoint FILE] [--num-envs N]
[--device cpu] [--threads 1]

RUN_DIR is a run of a task of tasks/gym/ (``gym/hopper``, ...). Its policy (the actor with its observation normaliser,
deterministic: the mean action) is loaded as ``isaac-rl-workbench play`` loads it, from the latest checkpoint or
``--checkpoint``, and evaluated twice:

- on the workbench: its own deterministic evaluation (``play``'s), ``--episodes`` episodes;
- in Gymnasium: the env the task's file names in its first line (``Gymnasium's Hopper-v5``), ``--episodes``
  episodes with seeds 0..N-1. Each step's observation is built from MuJoCo's state, term by term of the spec's
  ``[observations.policy]``, each meaning what the workbench's term means (:data:`TERMS`: joints by name counted
  from the file's pose, the root's quaternion (x, y, z, w), its linear velocity the centre of mass's, ...); each
  actuator's ``ctrl`` is the clipped action of the joint it drives, so effort = gear x ctrl on both.

Prints each physics' mean +- std return and episode length, and the ratio of the returns. Each return is its own
physics' reward: the workbench's terms there, Gymnasium's own reward here. Exit 2 with one line for bad input (no
such run folder, a task that is not in tasks/gym/, a term MuJoCo's state does not give).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

import mujoco
import numpy as np
import torch
from tensordict import TensorDict

GYMNASIUM_ID = re.compile(r"Gymnasium's (\w+-v\d+)")  # the first line of a tasks/gym spec names the env


class CrosscheckError(ValueError):
    """A run this script cannot compare (bad input): the message names the folder, the key or the term."""


# -- Gymnasium's MuJoCo state, as the workbench's terms read it ------------------------------------------------------
class MujocoState:
    """What the observation terms read of a Gymnasium env's MuJoCo model and data, in the workbench's terms.

    Joints are the spec's ``joint_names`` (D), matched by name; their positions count from the file's pose (MuJoCo's
    ``qpos0``, which holds an MJCF ``ref``), as the workbench's do. Bodies are the workbench's (B, its ``body_names``),
    each matched with a MuJoCo body by :func:`mujoco_bodies`. Body positions come from the current ``qpos``
    (forward kinematics on a scratch ``MjData``, so Gymnasium's own data is only read).

    Args:
        model, data: Gymnasium's ``env.unwrapped.model`` and ``.data``.
        joint_names: the spec's joints (D,), in the workbench's column order.
        body_paths: the workbench's body prim paths (B,), in its row order.
        root_body: the workbench's root body row.
        floating_base: the workbench's root moves freely (a MuJoCo free joint).
        action_joints: the spec's action joints (A,).
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        joint_names: list[str],
        body_paths: list[str],
        root_body: int,
        floating_base: bool,
        action_joints: list[str],
    ):
        self.model, self.data = model, data
        self.joint_names, self.body_names = joint_names, [p.rsplit("/", 1)[-1] for p in body_paths]
        ids = [_mujoco_id(model, mujoco.mjtObj.mjOBJ_JOINT, name, "joint") for name in joint_names]
        self.qpos_adr = model.jnt_qposadr[ids]
        self.dof_adr = model.jnt_dofadr[ids]
        self.bodies = mujoco_bodies(model, body_paths, root_body, floating_base)
        free = [j for j in range(model.njnt) if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE]
        self.free_joint = free[0] if floating_base and len(free) == 1 else None
        if self.free_joint is not None and self.bodies[root_body] != model.jnt_bodyid[self.free_joint]:
            raise CrosscheckError(
                f"the root body {self.body_names[root_body]} is not the body of MuJoCo's free joint "
                f"({model.body(model.jnt_bodyid[self.free_joint]).name})"
            )
        self.last_action = np.zeros(len(action_joints))  # (A,): the clipped action of the last step
        self._scratch = mujoco.MjData(model)
        self._kinematics_of: np.ndarray | None = None  # the qpos the scratch data's kinematics were computed for

    def joint_rows(self, joints: list[str] | None) -> np.ndarray:
        """The columns (in ``joint_names``) of ``joints`` (names; None: every joint)."""
        if joints is None:
            return np.arange(len(self.joint_names))
        return np.array([self.joint_names.index(name) for name in joints], dtype=int)

    def body_rows(self, bodies: list[str] | None) -> list[int]:
        """The workbench's rows of ``bodies`` (names; None: every body)."""
        return list(range(len(self.body_names))) if bodies is None else [self.body_names.index(b) for b in bodies]

    def kinematics(self) -> mujoco.MjData:
        """A scratch ``MjData`` with ``xpos``, ``xipos``, ``xmat`` of the current ``qpos``."""
        if self._kinematics_of is None or not np.array_equal(self._kinematics_of, self.data.qpos):
            self._scratch.qpos[:] = self.data.qpos
            mujoco.mj_kinematics(self.model, self._scratch)
            self._kinematics_of = self.data.qpos.copy()
        return self._scratch

    def body_position(self, row: int) -> np.ndarray:
        """World position of the workbench body ``row`` [m], (3,)."""
        mj = self.bodies[row]
        if mj is None:
            raise CrosscheckError(f"body {self.body_names[row]}: no MuJoCo body matches it (the import added it)")
        return self.kinematics().xpos[mj].copy()

    def root(self, term: str) -> tuple[int, int]:
        """(qpos, qvel) address of the free joint, for a root term; a fixed base is refused naming ``term``."""
        if self.free_joint is None:
            raise CrosscheckError(f"{term}: the robot has no free root joint in MuJoCo; the term reads a moving root")
        return int(self.model.jnt_qposadr[self.free_joint]), int(self.model.jnt_dofadr[self.free_joint])

    def root_rotation(self, term: str) -> np.ndarray:
        """The root's rotation matrix (3, 3), body to world, from ``qpos``."""
        q, _ = self.root(term)
        matrix = np.zeros(9)
        mujoco.mju_quat2Mat(matrix, self.data.qpos[q + 3 : q + 7])
        return matrix.reshape(3, 3)

    def root_com_velocity(self) -> np.ndarray:
        """The root body's centre-of-mass velocity in world axes [m/s], (3,): MuJoCo's free ``qvel`` is the body
        origin's; Newton's (the workbench's ``root_lin_vel_w``) is the centre of mass's."""
        _, v = self.root("root_lin_vel_w")
        rotation = self.root_rotation("root_lin_vel_w")
        omega = rotation @ self.data.qvel[v + 3 : v + 6]
        body = self.model.jnt_bodyid[self.free_joint]
        offset = self.kinematics().xipos[body] - self.kinematics().xpos[body]
        return self.data.qvel[v : v + 3] + np.cross(omega, offset)


def mujoco_bodies(model: mujoco.MjModel, body_paths: list[str], root_body: int, floating_base: bool) -> list:
    """The MuJoCo body id of each workbench body (B,), or None for a body the import added (the 1 g bodies between
    one MJCF body's several joints, which carry no shape).

    A body is matched by name; a body MuJoCo leaves unnamed (Ant's feet) by its parent: the one child prim of the
    parent's workbench body that no MuJoCo name takes. A fixed base's root, welded to the world, is the world (0).
    """
    names = [p.rsplit("/", 1)[-1] for p in body_paths]
    by_name = {model.body(b).name: b for b in range(1, model.nbody) if model.body(b).name}
    out: list[int | None] = [by_name.get(name) for name in names]
    row_of = {mj: row for row, mj in enumerate(out) if mj is not None}
    for b in range(1, model.nbody):
        if model.body(b).name:
            continue
        parent = row_of.get(int(model.body_parentid[b]))
        children = [
            row
            for row, path in enumerate(body_paths)
            if parent is not None and out[row] is None and path.rsplit("/", 1)[0] == body_paths[parent]
        ]
        if len(children) != 1:
            raise CrosscheckError(f"MuJoCo's unnamed body {b}: no single workbench body under its parent matches it")
        out[children[0]] = row_of[b] = b
    if not floating_base and out[root_body] is None:
        out[root_body] = 0
    return out


def _mujoco_id(model: mujoco.MjModel, kind: mujoco.mjtObj, name: str, what: str) -> int:
    index = mujoco.mj_name2id(model, kind, name)
    if index < 0:
        raise CrosscheckError(f"{what} {name}: Gymnasium's MuJoCo model has no {what} of that name")
    return index


# -- the observation terms: one function per workbench term name, (state, **params) -> (dim,) -----------------------
def joint_pos(s: MujocoState, joints=None) -> np.ndarray:
    rows = s.joint_rows(joints)
    return s.data.qpos[s.qpos_adr[rows]] - s.model.qpos0[s.qpos_adr[rows]]


def joint_vel(s: MujocoState, joints=None) -> np.ndarray:
    return s.data.qvel[s.dof_adr[s.joint_rows(joints)]].copy()


def joint_vel_clipped(s: MujocoState, limit: float, joints=None) -> np.ndarray:
    return np.clip(joint_vel(s, joints), -limit, limit)


def joint_pos_cos_sin(s: MujocoState, joints=None) -> np.ndarray:
    position = joint_pos(s, joints)
    return np.concatenate([np.cos(position), np.sin(position)])


def joint_effort(s: MujocoState, joints=None) -> np.ndarray:
    return s.data.qfrc_actuator[s.dof_adr[s.joint_rows(joints)]].copy()


def last_action(s: MujocoState) -> np.ndarray:
    return s.last_action.copy()


def root_height(s: MujocoState) -> np.ndarray:
    q, _ = s.root("root_height")
    return s.data.qpos[q + 2 : q + 3].copy()


def root_quat_w(s: MujocoState) -> np.ndarray:
    q, _ = s.root("root_quat_w")
    w, x, y, z = s.data.qpos[q + 3 : q + 7]
    return np.array([x, y, z, w])


def root_lin_vel_w(s: MujocoState) -> np.ndarray:
    return s.root_com_velocity()


def root_lin_vel_b(s: MujocoState) -> np.ndarray:
    return s.root_rotation("root_lin_vel_b").T @ s.root_com_velocity()


def root_ang_vel_b(s: MujocoState) -> np.ndarray:
    _, v = s.root("root_ang_vel_b")
    return s.data.qvel[v + 3 : v + 6].copy()


def projected_gravity_b(s: MujocoState) -> np.ndarray:
    return s.root_rotation("projected_gravity_b").T @ np.array([0.0, 0.0, -1.0])


def body_pos_b(s: MujocoState, body: str) -> np.ndarray:
    q, _ = s.root("body_pos_b")
    return s.root_rotation("body_pos_b").T @ (s.body_position(s.body_rows([body])[0]) - s.data.qpos[q : q + 3])


def body_offset_w(s: MujocoState, bodies: list[str]) -> np.ndarray:
    a, b = s.body_rows(bodies)
    return s.body_position(a) - s.body_position(b)


def contact_forces(s: MujocoState, bodies=None, clip: float | None = None) -> np.ndarray:
    """Each body's net contact force in world axes [N]: the force half of MuJoCo's ``cfrc_ext`` (Gymnasium computes
    it after each step); 0 on a body the import added (it has no shape)."""
    rows = s.body_rows(bodies)
    force = np.stack([np.zeros(3) if s.bodies[r] is None else s.data.cfrc_ext[s.bodies[r], 3:] for r in rows])
    if clip is not None:
        force = np.clip(force, -clip, clip)
    return force.reshape(-1)


TERMS: dict[str, Callable[..., np.ndarray]] = {
    f.__name__: f
    for f in (
        joint_pos,
        joint_vel,
        joint_vel_clipped,
        joint_pos_cos_sin,
        joint_effort,
        last_action,
        root_height,
        root_quat_w,
        root_lin_vel_w,
        root_lin_vel_b,
        root_ang_vel_b,
        projected_gravity_b,
        body_pos_b,
        body_offset_w,
        contact_forces,
    )
}
"""Workbench observation term name -> the same quantity from Gymnasium's MuJoCo state."""


class MujocoObservation:
    """The policy's observation (dim,) from a :class:`MujocoState`: the spec's ``[observations.policy]`` terms in
    order, each with its ``noise`` (uniform, as the workbench adds it) where it has one.

    Raises:
        CrosscheckError: a term :data:`TERMS` does not have, or a history on the group, named in one line.
    """

    def __init__(self, spec, state: MujocoState, seed: int = 0):
        check_terms(spec)
        self._terms = [(TERMS[t.func_name], t.params, t.noise) for t in spec.observations["policy"]]
        self._state = state
        self._rng = np.random.default_rng(seed)

    def __call__(self) -> np.ndarray:
        values = []
        for func, params, noise in self._terms:
            value = np.asarray(func(self._state, **params), dtype=np.float64).reshape(-1)
            if noise is not None:
                value = value + self._rng.uniform(noise[0], noise[1], value.shape)
            values.append(value)
        return np.concatenate(values)


def check_terms(spec) -> None:
    """Refuse, naming it, a policy term :data:`TERMS` does not have, or a history on the policy group."""
    if spec.observation_history.get("policy", 1) > 1:
        raise CrosscheckError("observation_history.policy: a policy group with a history is not rebuilt here")
    missing = [t.func_name for t in spec.observations.get("policy", []) if t.func_name not in TERMS]
    if missing:
        raise CrosscheckError(
            f"observations.policy: term {missing[0]} has no counterpart in Gymnasium's MuJoCo state (it has: "
            f"{', '.join(TERMS)})"
        )


# -- the run ---------------------------------------------------------------------------------------------------------
def gymnasium_id(spec, run_dir: Path) -> str:
    """The Gymnasium env id (``Hopper-v5``) named by the first line of the spec's task file in tasks/gym/; a run
    of any other task is refused naming ``run_dir``."""
    from isaac.rl.workbench.specs.task_files import TaskNotFoundError, find_task

    if not spec.name.startswith("gym/"):
        raise CrosscheckError(f"{run_dir}: a run of {spec.name}, not of one of Gymnasium's tasks (tasks/gym/<name>)")
    try:
        path = find_task(spec.name)
    except TaskNotFoundError as exc:
        raise CrosscheckError(str(exc)) from None
    found = GYMNASIUM_ID.search(path.read_text().splitlines()[0])
    if found is None:
        raise CrosscheckError(f'{path}: its first line names no Gymnasium env ("Gymnasium\'s Hopper-v5")')
    return found.group(1)


def actuator_columns(spec, model: mujoco.MjModel) -> np.ndarray:
    """For each MuJoCo actuator (nu,), the column of the action that drives its joint; refused where the spec's
    scale is not the actuator's gear or its clip not the ``ctrlrange`` (the same policy would drive another robot)."""
    joints, scales, clip = spec.actions.joints, spec.actions.joint_scales(), float(spec.actions.clip)
    columns = []
    for k in range(model.nu):
        joint = model.joint(model.actuator_trnid[k, 0]).name
        if joint not in joints:
            raise CrosscheckError(f"actions.joints: lacks {joint}, which Gymnasium's actuator {k} drives")
        column = joints.index(joint)
        gear, (low, high) = model.actuator_gear[k, 0], model.actuator_ctrlrange[k]
        if not math.isclose(scales[column], gear, rel_tol=1e-6):
            raise CrosscheckError(f"actions.scale: {joint} has {scales[column]:g} where Gymnasium's gear is {gear:g}")
        if model.actuator_ctrllimited[k] and not (math.isclose(low, -clip) and math.isclose(high, clip)):
            raise CrosscheckError(
                f"actions.clip: {clip:g} where Gymnasium's ctrlrange of {joint} is [{low:g}, {high:g}]"
            )
        columns.append(column)
    return np.array(columns, dtype=int)


def run_gymnasium(wb, env_id: str, episodes: int) -> tuple[list[float], list[int]]:
    """Returns and lengths of ``episodes`` episodes of the run's policy in Gymnasium's ``env_id`` (seeds 0..N-1)."""
    import gymnasium

    env = gymnasium.make(env_id)
    model, data = env.unwrapped.model, env.unwrapped.data
    spec = wb.spec
    state = MujocoState(
        model,
        data,
        spec.joint_names,
        wb.env.body_paths,
        wb.env.backend.root_body,
        wb.env.floating_base,
        spec.actions.joints,
    )
    observe = MujocoObservation(spec, state, spec.seed)
    columns, clip = actuator_columns(spec, model), float(spec.actions.clip)
    if list(wb.trainer.actor.obs_groups) != ["policy"]:
        raise CrosscheckError(f"ppo.obs_groups: the actor reads {list(wb.trainer.actor.obs_groups)}, not [policy]")
    policy = wb.trainer.inference_policy()
    returns, lengths = [], []
    for seed in range(episodes):
        env.reset(seed=seed)
        state.last_action[:] = 0.0
        total, steps, done = 0.0, 0, False
        while not done:
            obs = torch.as_tensor(observe(), dtype=torch.float32, device=wb.env.device).unsqueeze(0)
            with torch.inference_mode():
                action = policy(TensorDict({"policy": obs}, batch_size=[1]))[0].cpu().numpy().astype(np.float64)
            state.last_action[:] = np.clip(action, -clip, clip)
            _, reward, terminated, truncated, _ = env.step(state.last_action[columns])
            total, steps, done = total + float(reward), steps + 1, terminated or truncated
        returns.append(total)
        lengths.append(steps)
    env.close()
    return returns, lengths


class EpisodeReturns:
    """The workbench env as :func:`~isaac.rl.workbench.learn.rollout.evaluate` drives it, keeping the return of each
    env's first episode of every round (the episodes ``evaluate`` averages, in its order)."""

    def __init__(self, env):
        self._env = env
        self.returns: list[float] = []
        self._sum: torch.Tensor | None = None
        self._active: torch.Tensor | None = None

    def __getattr__(self, name: str):
        return getattr(self._env, name)

    def reset(self):
        self.flush()
        self._sum = torch.zeros(self._env.num_envs, device=self._env.device)
        self._active = torch.ones(self._env.num_envs, dtype=torch.bool, device=self._env.device)
        return self._env.reset()

    def step(self, actions: torch.Tensor):
        obs, rewards, dones, extras = self._env.step(actions)
        self._sum += rewards * self._active
        self._active &= dones == 0
        return obs, rewards, dones, extras

    def flush(self) -> None:
        """Keep the returns of the round under way."""
        if self._sum is not None:
            self.returns += self._sum.tolist()
            self._sum = None


def run_workbench(wb, episodes: int) -> tuple[list[float], list[float]]:
    """Returns and lengths of the workbench's deterministic evaluation (``play``'s) of ``episodes`` episodes."""
    from isaac.rl.workbench.learn.rollout import evaluate

    env = EpisodeReturns(wb.env)
    result = evaluate(env, wb.trainer.inference_policy(), episodes)
    env.flush()
    returns = env.returns[:episodes]
    assert math.isclose(sum(returns) / len(returns), result["mean_return"], rel_tol=1e-4, abs_tol=1e-3)
    return returns, result["episode_lengths"]


def summary(values: list[float]) -> str:
    """'mean ± std' of ``values`` (population std)."""
    return f"{np.mean(values):.1f} ± {np.std(values):.1f}"


def lengths_summary(lengths: list[float], max_length: int) -> str:
    """'length 977.4 ± 67.8 / 1000, 19 of 20 to the end' for episode lengths [env steps]."""
    full = sum(1 for n in lengths if n >= max_length)
    return f"episode length {summary(lengths)} / {max_length}, {full} of {len(lengths)} to the end"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--episodes", type=int, default=20, help="episodes on each physics (default 20)")
    parser.add_argument("--checkpoint", type=Path, help="default: the run's latest")
    parser.add_argument("--num-envs", type=int, help="workbench envs (default: one per episode)")
    parser.add_argument("--device", default="cpu", help="the workbench's device (default cpu)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    args = parser.parse_args(argv)
    from isaac.rl.workbench.frontends.cli import exit_code

    try:
        if not args.run_dir.is_dir():
            raise CrosscheckError(f"{args.run_dir}: no such run folder")
        if args.episodes < 1:
            raise CrosscheckError(f"--episodes {args.episodes}: expected at least 1")
        torch.set_num_threads(args.threads)
        return crosscheck(args)
    except Exception as exc:
        code = 2 if isinstance(exc, CrosscheckError) else exit_code(exc)
        if code is None:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return code


def crosscheck(args: argparse.Namespace) -> int:
    from isaac.rl.workbench.learn.run_dir import RunDir
    from isaac.rl.workbench.specs.loader import load_spec
    from isaac.rl.workbench.workbench import Workbench

    spec = load_spec(RunDir.open(args.run_dir).spec_file)  # bad input is refused before the build
    env_id = gymnasium_id(spec, args.run_dir)
    check_terms(spec)
    overrides = {"env.num_envs": args.num_envs} if args.num_envs else None
    wb = Workbench.for_play(args.run_dir, args.episodes, overrides, args.device, args.checkpoint)
    mujoco_returns, mujoco_lengths = run_gymnasium(wb, env_id, args.episodes)
    newton_returns, newton_lengths = run_workbench(wb, args.episodes)
    longest = wb.env.max_episode_length
    print(f"{wb.spec.name} (iteration {wb.iteration}), {args.episodes} episodes on each physics:")
    print(
        f"  workbench (Newton's MuJoCo solver on {args.device}): return {summary(newton_returns)}, "
        f"{lengths_summary(newton_lengths, longest)}"
    )
    print(
        f"  Gymnasium {env_id} (MuJoCo {mujoco.__version__}, seeds 0..{args.episodes - 1}): return "
        f"{summary(mujoco_returns)}, {lengths_summary(mujoco_lengths, longest)}"
    )
    ratio = np.mean(mujoco_returns) / np.mean(newton_returns) if np.mean(newton_returns) else float("nan")
    print(f"  Gymnasium / workbench return: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
