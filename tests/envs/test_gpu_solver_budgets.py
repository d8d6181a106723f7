"""A GPU world's contact pool and constraint rows hold a Go2 stumbling over go2_rough's tiles: checked on the CPU with
the GPU's solver (``env.cpu_solver = "mujoco_warp"``, one MuJoCo-Warp world per env). Contacts past the pool, or
constraint rows past ``njmax``, are dropped by MuJoCo-Warp without an error, and the robot sinks or slides."""

from __future__ import annotations

import numpy as np
import torch
from isaac.rl.workbench.envs.workbench_env import WorkbenchEnv
from isaac.rl.workbench.specs.loader import load_spec


def test_a_go2_under_random_actions_on_the_rough_tiles_stays_within_its_worlds_budgets():
    spec = load_spec("go2_rough", {"env.num_envs": 6, "env.cpu_solver": "mujoco_warp"})
    env = WorkbenchEnv(spec)
    data = env.backend.solver.mjw_data
    assert not env.backend.solver.use_mujoco_cpu, "MuJoCo-Warp, one world per env"
    pool = data.naconmax // env.num_envs
    torch.manual_seed(0)
    env.reset()
    most_contacts, most_rows = 0, 0
    for _ in range(40):  # 0.8 s of a young policy's exploration: standard normal actions
        env.step(torch.randn(env.num_envs, env.num_actions))
        count = int(data.nacon.numpy()[0])
        assert count < data.naconmax, f"the contact pool ({data.naconmax}) overflowed"
        worlds = data.contact.worldid.numpy()[:count]
        most_contacts = max(most_contacts, int(np.bincount(worlds, minlength=1).max()) if count else 0)
        most_rows = max(most_rows, int(data.nefc.numpy().max()))
    assert 10 <= most_contacts < pool, f"{most_contacts} contacts in a world against a pool of {pool} a world"
    assert 0 < most_rows < data.njmax, f"{most_rows} constraint rows in a world against njmax {data.njmax}"
