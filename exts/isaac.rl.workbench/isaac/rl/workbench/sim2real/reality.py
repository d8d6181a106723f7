"""A stand-in reality: a TOML file that describes the "real robot" a policy never saw, and the simulated robot
(:class:`~.sim_driver.SimDriver`) that plays it.

Keys (every one but ``task`` optional; an unknown key is rejected, naming the file and the key):

- ``task``: the task the robot does: a task name or a spec file, relative to this file. Its scene, joints and
  terms (metrics, terminations, rewards) define the robot and how it is scored; its start-up and interval events
  (domain randomisation, pushes) are left out: a reality is one fixed world.
- ``seed``: the first episode's seed (episode i uses ``seed + i``); default 0.
- ``friction``: the friction coefficient of every collision shape (the feet on the ground), >= 0.
- ``added_base_mass`` [kg]: mass added to the root body (a payload); the inertia follows the mass.
- ``added_mass`` [kg]: ``{body name or regular expression = kg}``, added to those bodies.
- ``com_offset`` [m]: ``[x, y, z]`` shift of the root body's centre of mass, in its frame.
- ``motor_strength``: the motors deliver this multiple of what they are commanded (position and velocity gains and
  feed-forward torque), > 0; 1 is as trained.
- ``joint_friction`` [N·m or N]: every joint's friction loss, >= 0 (replaces the scene's).
- ``joint_damping`` [N·m·s/rad or N·s/m]: every joint's passive viscous damping, >= 0 (replaces the scene's).
- ``armature`` [kg·m² or kg]: every joint's reflected rotor inertia, >= 0 (replaces the scene's).
- ``action_latency_steps``: control periods between a command and the motors receiving it, integer >= 0.
- ``obs_latency_steps``: control periods by which each reading is old, integer >= 0.
- ``state_noise``: ``{joint_pos = rad, joint_vel = rad/s, ang_vel = rad/s}``: half-widths of uniform noise on the
  joint encoders and the gyroscope, each >= 0.
"""

from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..scene.inspect import inspect_scene
from ..specs.loader import load_spec
from ..specs.schema import SpecError, TaskSpec
from ..specs.tables import SpecTable, check_bodies
from ..specs.task_files import TaskNotFoundError, find_task
from .sim_driver import STATE_NOISE_KEYS, SimDriver

KEYS = (
    "task",
    "seed",
    "friction",
    "added_base_mass",
    "added_mass",
    "com_offset",
    "motor_strength",
    "joint_friction",
    "joint_damping",
    "armature",
    "action_latency_steps",
    "obs_latency_steps",
    "state_noise",
)
"""The keys a reality file may have (see the module docstring)."""


class RealityError(SpecError):
    """A reality file that cannot be used; the message names the file, the key and what was expected."""


@dataclass(kw_only=True)
class Reality:
    """A loaded reality file (see the module docstring for every field's meaning and unit)."""

    source: Path
    task: Path
    spec: TaskSpec
    seed: int = 0
    friction: float | None = None
    added_base_mass: float = 0.0
    added_mass: dict[str, float] = field(default_factory=dict)
    """Body name -> kg, names resolved against the articulation."""
    com_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    motor_strength: float = 1.0
    joint_friction: float | None = None
    joint_damping: float | None = None
    armature: float | None = None
    action_latency_steps: int = 0
    obs_latency_steps: int = 0
    state_noise: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The file's stem, e.g. ``reality_cartpole``."""
        return self.source.stem


def load_reality(path: Path | str) -> Reality:
    """Read and check a reality file; its task spec is loaded too (body names are checked against its scene).

    Raises:
        RealityError: an unreadable file, an unknown key, a value of the wrong type or out of range, a task that
            does not load, a body the robot does not have; the message names the file and the key.
    """
    path = Path(path).resolve()
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RealityError(f"{path}: not a readable TOML file: {exc}") from None
    try:
        return _reality_from_table(raw, path)
    except RealityError:
        raise
    except SpecError as exc:
        raise RealityError(str(exc), key=exc.key) from None


def _reality_from_table(raw: dict, path: Path) -> Reality:
    t = SpecTable(raw, path, "")
    t.check_keys(KEYS)
    task_name = t.get("task", str, required=True)
    local = path.parent / task_name
    try:
        task = find_task(local if local.is_file() else task_name).resolve()
    except TaskNotFoundError as exc:
        raise t.error("task", str(exc)) from None
    try:
        spec = load_spec(task)
    except SpecError as exc:
        raise t.error("task", f"the task does not load: {exc}") from None
    bodies = [p.rsplit("/", 1)[-1] for p in inspect_scene(spec.scene).find(spec.articulation).bodies]
    added = t.get("added_mass", dict, {})
    added_mass: dict[str, float] = {}
    masses = t.sub("added_mass")
    for pattern in added:
        kg = masses.number(pattern, 0.0)
        for body in check_bodies(masses, pattern, [pattern], bodies, spec.articulation):
            added_mass[body] = added_mass.get(body, 0.0) + kg
    com = t.get("com_offset", list, [0.0, 0.0, 0.0])
    if len(com) != 3 or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in com
    ):
        raise t.error("com_offset", f"expected [x, y, z] in metres, got {com!r}")
    noise_table = t.sub("state_noise")
    noise_table.check_keys(STATE_NOISE_KEYS)
    state_noise = {key: noise_table.number(key, 0.0, minimum=0.0) for key in noise_table.data}

    def optional(key: str) -> float | None:
        return t.number(key, 0.0, minimum=0.0) if key in raw else None

    return Reality(
        source=path,
        task=task,
        spec=spec,
        seed=t.number("seed", 0, integer=True),
        friction=optional("friction"),
        added_base_mass=t.number("added_base_mass", 0.0),
        added_mass=added_mass,
        com_offset=(float(com[0]), float(com[1]), float(com[2])),
        motor_strength=t.number("motor_strength", 1.0, positive=True),
        joint_friction=optional("joint_friction"),
        joint_damping=optional("joint_damping"),
        armature=optional("armature"),
        action_latency_steps=t.number("action_latency_steps", 0, minimum=0, integer=True),
        obs_latency_steps=t.number("obs_latency_steps", 0, minimum=0, integer=True),
        state_noise=state_noise,
    )


def fixed_world_overrides(spec: TaskSpec) -> dict:
    """Spec overrides that leave out ``spec``'s start-up and interval events (domain randomisation, pushes) and keep
    its reset events (the initial-state distribution): the spec's nominal world."""
    events = spec.raw.get("events", {})
    kept = {name: copy.deepcopy(events[name]) for name, term in spec.events.items() if term.mode == "reset"}
    return {"events": kept}


def apply_physics(driver: SimDriver, reality: Reality) -> None:
    """Write the reality's hidden physical values into ``driver``'s simulation (all but the motors and latencies,
    which :func:`reality_driver` sets up)."""
    env = driver.env
    everywhere = torch.ones(env.num_envs, dtype=torch.bool, device=env.device)
    bodies = env.body_names
    root_name = env.spec.articulation.rsplit("/", 1)[-1]
    root = bodies.index(root_name) if root_name in bodies else 0
    if reality.friction is not None:
        friction = env.physics_property("shape_friction")
        env.write_physics_property("shape_friction", everywhere, torch.full_like(friction, reality.friction))
    added = dict(reality.added_mass)
    added[bodies[root]] = added.get(bodies[root], 0.0) + reality.added_base_mass
    if any(added.values()):
        mass = env.physics_property("body_mass")
        for body, kg in added.items():
            mass[:, bodies.index(body)] += kg
        env.write_physics_property("body_mass", everywhere, mass.clamp(min=1e-6))
    if any(reality.com_offset):
        com = env.physics_property("body_com")
        com[:, root] += torch.tensor(reality.com_offset, dtype=com.dtype, device=com.device)
        env.write_physics_property("body_com", everywhere, com)
    for key, prop in (
        ("joint_friction", "dof_friction"),
        ("joint_damping", "dof_viscous_friction"),
        ("armature", "dof_armature"),
    ):
        value = getattr(reality, key)
        if value is not None:
            current = env.physics_property(prop)
            env.write_physics_property(prop, everywhere, torch.full_like(current, value))


def reality_driver(
    reality: Reality, episode: int = 0, device: str = "cpu", motor_order: list[str] | None = None
) -> SimDriver:
    """The simulated real robot for episode ``episode`` (seed ``reality.seed + episode``): the reality's task without
    its randomisation, with the hidden values, latencies and state noise applied, its motors delivering
    ``motor_strength`` of what they are sent (times the task's own ``deploy.motor_strength``)."""
    strength = reality.spec.deploy.motor_strength * reality.motor_strength
    sim = SimDriver(
        reality.spec,
        {**fixed_world_overrides(reality.spec), "deploy.motor_strength": strength},
        device=device,
        seed=reality.seed + episode,
        motor_order=motor_order,
        obs_latency_steps=reality.obs_latency_steps,
        action_latency_steps=reality.action_latency_steps,
        state_noise=reality.state_noise or None,
    )
    apply_physics(sim, reality)
    return sim


def describe(reality: Reality) -> str:
    """One line of what differs from the task's nominal world, e.g. ``added_mass pole +0.3 kg, latency 2``."""
    parts = []
    if reality.friction is not None:
        parts.append(f"friction {reality.friction:g}")
    if reality.added_base_mass:
        parts.append(f"base mass {reality.added_base_mass:+g} kg")
    parts += [f"{body} mass {kg:+g} kg" for body, kg in reality.added_mass.items()]
    if any(reality.com_offset):
        parts.append(f"com offset {np.round(reality.com_offset, 4).tolist()} m")
    if reality.motor_strength != 1.0:
        parts.append(f"motor strength x{reality.motor_strength:g}")
    for key in ("joint_friction", "joint_damping", "armature"):
        if getattr(reality, key) is not None:
            parts.append(f"{key} {getattr(reality, key):g}")
    if reality.action_latency_steps:
        parts.append(f"action latency {reality.action_latency_steps} steps")
    if reality.obs_latency_steps:
        parts.append(f"observation latency {reality.obs_latency_steps} steps")
    parts += [f"{key} noise ±{value:g}" for key, value in reality.state_noise.items()]
    return ", ".join(parts) or "the task's nominal world"
