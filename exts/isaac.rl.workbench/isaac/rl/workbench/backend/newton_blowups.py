"""Envs whose Newton simulation blew up: finding them (:class:`UnstableEnvCheck`, one warp kernel over every env,
no host sync) and what the blow-up leaves in the MuJoCo solver (:class:`SolverRecovery`: clearing it per env, and
MuJoCo's own reset of the CPU's shared world).

Shapes: N = num_envs, C = joint coordinates per env, V = DOFs per env, B = bodies per env.
"""

from __future__ import annotations

import mujoco
import newton
import torch
import warp as wp

from .base import BackendError


class UnstableEnvCheck:
    """The bounds check of every env's joint and root state, into a buffer that each call overwrites.

    Args:
        state: the simulation state (its ``body_q`` and ``body_qd``, B per env, env-major, are read; arrays that
            are never reallocated).
        joint_q: the state's joint coordinates as a (N, C) view.
        joint_qd: the state's joint velocities as a (N, V) view.
        env_origins: each env's origin [m], (N, 3).
        bodies_per_env: B.
        root_body: the root body's index within an env.
        floating_base: True when the first 6 DOFs are a free root's (left out of the joint speed bound).
    """

    def __init__(
        self,
        state: newton.State,
        joint_q: torch.Tensor,
        joint_qd: torch.Tensor,
        env_origins: torch.Tensor,
        bodies_per_env: int,
        root_body: int,
        floating_base: bool,
    ):
        self.body_q, self.body_qd = state.body_q, state.body_qd
        self.bodies_per_env, self.root_body = bodies_per_env, root_body
        self.first_joint_dof = 6 if floating_base else 0
        self.unstable = torch.zeros(joint_q.shape[0], dtype=torch.bool, device=joint_q.device)
        """The last call's result, BoolTensor (N,)."""
        self._wp_unstable = wp.from_torch(self.unstable)
        self._wp_q = wp.from_torch(joint_q)
        self._wp_qd = wp.from_torch(joint_qd)
        self._wp_env_origins = wp.from_torch(env_origins, dtype=wp.vec3)

    def __call__(self, max_joint_speed: float, max_root_speed: float, max_root_distance: float) -> torch.Tensor:
        """Envs whose joint state is not finite, a joint moves faster than ``max_joint_speed`` [rad/s or m/s], or the
        root moves faster than ``max_root_speed`` [m/s] (linear; angular against ``max_joint_speed`` [rad/s]) or
        lies more than ``max_root_distance`` [m] from the env origin; BoolTensor (N,), one warp kernel."""
        wp.launch(
            _find_unstable_kernel,
            dim=self.unstable.shape[0],
            inputs=[
                self._wp_q,
                self._wp_qd,
                self.body_q,
                self.body_qd,
                self._wp_env_origins,
                self.bodies_per_env,
                self.root_body,
                self.first_joint_dof,
                max_joint_speed,
                max_root_speed,
                max_root_distance,
            ],
            outputs=[self._wp_unstable],
            device=self.body_q.device,
        )
        return self.unstable


@wp.kernel
def _find_unstable_kernel(
    joint_q: wp.array2d[float],
    joint_qd: wp.array2d[float],
    body_q: wp.array[wp.transform],
    body_qd: wp.array[wp.spatial_vector],
    env_origins: wp.array[wp.vec3],
    bodies_per_env: int,
    root_body: int,
    first_joint_dof: int,
    max_joint_speed: float,
    max_root_speed: float,
    max_root_distance: float,
    unstable: wp.array[bool],
):
    """One thread per env: see :meth:`UnstableEnvCheck.__call__` (NaN fails every comparison: unstable)."""
    env = wp.tid()
    bad = int(0)  # noqa: UP018 (warp: a variable the loops may change, not a constant)
    for i in range(joint_q.shape[1]):
        if not wp.isfinite(joint_q[env, i]):
            bad = 1
    for i in range(first_joint_dof, joint_qd.shape[1]):
        if not (wp.abs(joint_qd[env, i]) <= max_joint_speed):
            bad = 1
    root = env * bodies_per_env + root_body
    if not (wp.length(wp.transform_get_translation(body_q[root]) - env_origins[env]) <= max_root_distance):
        bad = 1
    v = body_qd[root]  # linear [m/s], then angular [rad/s]
    if not (wp.length(wp.vec3(v[0], v[1], v[2])) <= max_root_speed):
        bad = 1
    if not (wp.length(wp.vec3(v[3], v[4], v[5])) <= max_joint_speed):
        bad = 1
    unstable[env] = bad != 0


class SolverRecovery:
    """What a blow-up leaves in the MuJoCo solver of N envs of V DOFs each. Each method takes the solver (this
    object holds none, so that ``newton_memory``'s walk of the backend's arrays reaches the solver from the backend).

    On CUDA each env is its own MuJoCo-Warp world, cleared through a world mask (N + 1,) (the last entry is the
    global world, never cleared). On the CPU every env lives in one MuJoCo (C) world, whose DOFs must be laid out
    env by env: :class:`~.base.BackendError` otherwise.

    Args:
        solver: Newton's MuJoCo solver of the envs (``use_mujoco_cpu`` tells which of the two it is).
        num_envs: N.
        dofs_per_env: V.
        device: where the world mask lives (CUDA).
    """

    def __init__(self, solver: newton.solvers.SolverMuJoCo, num_envs: int, dofs_per_env: int, device: torch.device):
        self.num_envs = num_envs
        self.on_cpu = bool(solver.use_mujoco_cpu)
        if self.on_cpu:
            nv = solver.mj_model.nv
            if nv != num_envs * dofs_per_env:
                raise BackendError(f"MuJoCo has {nv} DOFs for {num_envs} envs of {dofs_per_env}")
            return
        self.world_mask = torch.zeros(num_envs + 1, dtype=torch.bool, device=device)
        """The worlds :meth:`clear` hands Newton, BoolTensor (N + 1,) (CUDA only)."""
        self._wp_world_mask = wp.from_torch(self.world_mask)

    def clear(self, solver: newton.solvers.SolverMuJoCo, state: newton.State, env_mask: torch.Tensor) -> None:
        """Forget the solver's warm start, applied forces and controls of the envs where ``env_mask`` (N,) is True.

        After a blow-up these buffers still hold NaN or huge values and would poison the env's next steps even from
        a fresh joint state. On CUDA one masked kernel (Newton's ``SolverMuJoCo.reset`` with no joint state) clears
        the selected worlds; on the CPU's shared MuJoCo world the rows of the selected envs' DOFs are zeroed.
        """
        if not self.on_cpu:
            self.world_mask[: self.num_envs].copy_(env_mask)
            solver.reset(state, world_mask=self._wp_world_mask, flags=0)
            return
        if not bool(env_mask.any()):
            return
        data = solver.mj_data
        rows = env_mask.nonzero().flatten().tolist()
        for buffer in (data.qacc_warmstart, data.qfrc_applied):
            buffer.reshape(self.num_envs, -1)[rows] = 0.0

    def shared_world_failure(self, solver: newton.solvers.SolverMuJoCo) -> str | None:
        """On the CPU's shared MuJoCo world: why MuJoCo reset every env at once (after a NaN or a value over 1e10
        in one env's positions, velocities or accelerations), or None. Always None on CUDA, where each env is its
        own world. Reads host memory only; never waits for the GPU."""
        if not self.on_cpu:
            return None
        counts = [solver.mj_data.warning[int(w)].number for w in _MUJOCO_RESET_WARNINGS]
        if sum(counts) == 0:
            return None
        names = [w.name.removeprefix("mjWARN_BAD") for w, c in zip(_MUJOCO_RESET_WARNINGS, counts, strict=True) if c]
        return f"MuJoCo found bad {'/'.join(names)} values and reset all {self.num_envs} envs of the shared world"


_MUJOCO_RESET_WARNINGS = (
    mujoco.mjtWarning.mjWARN_BADQPOS,
    mujoco.mjtWarning.mjWARN_BADQVEL,
    mujoco.mjtWarning.mjWARN_BADQACC,
)
