"""The Go2 at zero and at random actions on the ground plane, on a flat heightfield and on go2_rough's tiles: how
much it rocks, how often a touching foot is pushed sideways, how high its base rides and how many episodes end.

    python scripts/terrain_contact_check.py cpu 8 [mujoco_warp]
    python scripts/terrain_contact_check.py cuda 4096

On the CPU the third argument picks the solver (``env.cpu_solver``): MuJoCo's merged world (the default) or
MuJoCo-Warp's separate worlds, what a GPU steps. One line per case; the first 50 env steps after a reset are left
out (the drop onto the ground), the next 100 are measured. Random actions are standard normal, as a young policy's
exploration draws them. With MuJoCo-Warp (one world per env) each line also gives the most contacts and constraint
rows any one world held against its budget (``nconmax`` contacts are pooled over the worlds, ``njmax`` rows are per
world: rows past it are dropped).
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import load_spec

CASES = {  # name -> (task, spec overrides)
    "plane": ("go2_flat", {"events.push.params": {"velocity": 0.0}}),
    "flat heightfield": ("go2_rough", {"terrain.types": {"flat": {}}, "terrain.columns": 1}),
    "rough tiles": ("go2_rough", {}),
}
SETTLE_STEPS, MEASURED_STEPS = 50, 100
SIDEWAYS_RATIO = 5.0  # a foot pushed sideways: horizontal contact force above this times the vertical


def measure(env: WorkbenchEnv, random_actions: bool) -> str:
    """Step ``env`` from a reset; the averages over the measured steps, as one line."""
    env.reset()
    feet = [i for i, name in enumerate(env.body_names) if name.endswith("_foot")]
    actions = torch.zeros(env.num_envs, env.num_actions, device=env.device)
    rocking, sideways, heights, ended = [], [], [], 0
    most_contacts, most_rows = 0, 0
    for step in range(SETTLE_STEPS + MEASURED_STEPS):
        if random_actions:
            actions = torch.randn(env.num_envs, env.num_actions, device=env.device)
        _, _, dones, _ = env.step(actions)
        if step < SETTLE_STEPS:
            continue
        rocking.append(env.root_ang_vel_b[:, :2].norm(dim=1).mean().item())
        force = env.contact_forces_w[:, feet]
        touching = force.norm(dim=-1) > 1.0
        pushed = (force[..., :2].norm(dim=-1) > SIDEWAYS_RATIO * force[..., 2].abs()) & touching
        sideways.append(pushed.float().sum().item() / max(touching.float().sum().item(), 1.0))
        heights.append(env.root_pos_w[:, 2].mean().item())
        ended += int(dones.sum().item())
        if not env.backend.solver.use_mujoco_cpu:
            contacts, rows = world_loads(env)
            most_contacts, most_rows = max(most_contacts, contacts), max(most_rows, rows)
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    line = (
        f"mean |roll, pitch rate| {mean(rocking):.3f} rad/s, touching feet pushed sideways {mean(sideways):.3f}, "
        f"base height {mean(heights):.3f} m, {ended} episodes ended in {MEASURED_STEPS} steps of {env.num_envs} envs"
    )
    if not env.backend.solver.use_mujoco_cpu:
        data = env.backend.solver.mjw_data
        line += (
            f"; most in one world: {most_contacts} contacts (pool {data.naconmax // env.num_envs} a world), "
            f"{most_rows} constraint rows (budget {data.njmax})"
        )
    return line


def world_loads(env: WorkbenchEnv) -> tuple[int, int]:
    """The most contacts and constraint rows one MuJoCo-Warp world holds after the last physics step."""
    data = env.backend.solver.mjw_data
    count = min(int(data.nacon.numpy()[0]), data.naconmax)
    worlds = data.contact.worldid.numpy()[:count]
    contacts = int(np.bincount(worlds, minlength=1).max()) if count else 0
    return contacts, int(data.nefc.numpy().max())


def main(device: str, num_envs: int, cpu_solver: str) -> None:
    for name, (task, overrides) in CASES.items():
        spec = load_spec(task, {"env.num_envs": num_envs, "env.cpu_solver": cpu_solver, **overrides})
        env = WorkbenchEnv(spec, device=device)
        label = device if device != "cpu" else f"cpu ({cpu_solver})"
        for random_actions in (False, True):
            print(f"{label} {name}, {'random' if random_actions else 'zero'} actions: {measure(env, random_actions)}")
        env.backend.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "mujoco")
