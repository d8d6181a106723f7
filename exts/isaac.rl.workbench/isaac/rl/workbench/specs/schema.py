"""The task spec's schema: one dataclass per TOML table, every key documented where it is declared.

The docstring under each field gives its unit and range; :func:`.key_docs.spec_key_docs` lists them (the CLI's
``spec --help-keys``, the panels' tooltips). :mod:`.loader` loads and validates a file into these classes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..scene.terrain import TerrainSpec

ACTION_TYPES = ("joint_effort", "joint_position")
EVENT_MODES = ("startup", "reset", "interval")
COMMAND_TYPES = ("position", "velocity")
COMMAND_FRAMES = ("base", "env")
METRIC_REDUCTIONS = ("final", "mean")


class SpecError(ValueError):
    """A task spec that cannot be used; the message names the file, the key and what was expected.

    Attributes:
        key: the dotted key at fault (``"env.num_envs"``), or None when the problem is the file as a whole; a panel
            shows the message next to that field.
    """

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


@dataclass(kw_only=True)
class EnvSpec:
    """``[env]``: cloned environments and timing. Units: metres, seconds."""

    num_envs: int = 64
    """Number of env clones trained in parallel; integer >= 1 (CPU: tens; GPU: thousands)."""
    spacing: float = 4.0
    """Distance between neighbouring clones on the CPU's shared world [m], >= 0; give a robot room to move."""
    episode_seconds: float = 5.0
    """Episode length before a time-out [s], > 0."""
    physics_dt: float = 1.0 / 120.0
    """Physics time step [s], > 0; too large a step makes the simulation blow up."""
    decimation: int = 2
    """Physics steps per policy action; integer >= 1. The policy runs at ``1 / (physics_dt * decimation)`` Hz."""
    physics: str = "newton"
    """The physics engine, by name: "newton" (Newton: MuJoCo on the CPU, MuJoCo-Warp on a GPU; runs anywhere the
    workbench installs) or "physx" (Isaac Sim's PhysX through its tensor API, on envs cloned onto the stage: only
    inside Isaac Sim). A run folder's ``spec.toml`` records it, so play, export and resume rebuild on the engine
    that trained; the Isaac Sim extension's ``physics`` setting overrides it."""
    ground: bool | None = None
    """Whether the envs stand on a ground plane at z = 0 (true or false; one plane shared by every env, colliding
    with the robot): a fixed-base robot that moves over a floor (a planar walker imported from MJCF, its root's
    slides and hinge under a base welded to the world) needs ``true``. Default: a ground exactly when the base
    floats."""
    cpu_solver: str = "mujoco"
    """Newton's solver on the CPU: "mujoco" (MuJoCo, every env in one merged world: fast to step) or "mujoco_warp"
    (MuJoCo-Warp run by warp on the CPU, one world per env: what a GPU steps, its contacts and limits included,
    only slower). The second reproduces on a machine without a GPU what the GPU will simulate, such as how a
    robot stands on a terrain; on a GPU the key is ignored."""
    only_positive_rewards: bool = False
    """Whether each step's total reward is clipped at 0 from below (true or false), as legged_gym's
    ``only_positive_rewards`` does for its legged tasks: where the penalties outweigh what a young policy earns
    (a robot stumbling over rough ground), ending the episode early would otherwise pay, and the policy learns to
    fall. The reward terms' own logs are not clipped."""

    @property
    def step_dt(self) -> float:
        """Duration of one env step (one policy action) [s]."""
        return self.physics_dt * self.decimation

    @property
    def max_episode_length(self) -> int:
        """Episode length in env steps."""
        return max(1, math.ceil(self.episode_seconds / self.step_dt - 1e-9))


@dataclass(kw_only=True)
class ActionSpec:
    """``[actions]``: how the policy's actions become joint commands: ``command = offset + scale * clip(action)``."""

    type: str = "joint_effort"
    """``joint_effort`` (offset 0, command in N or N·m, bounded by the drive's max force) or ``joint_position``
    (offset = the default joint position, command in rad or m; needs drives with stiffness > 0)."""
    joints: list[str] = field(default_factory=list)
    """Joints the policy drives: names or full-match regular expressions; default every 1-DOF joint."""
    scale: float | dict[str, float] = 1.0
    """Multiplier from action to command [N, N·m, rad or m per unit action], finite: one number for every action
    joint, or a table of joint names or full-match regexes to numbers (``{ ".*_hip_y" = 300.0, "knee" = 200.0 }``),
    each key matching an action joint, no joint matched by two keys, joints no key matches 1.0 (as Isaac Lab's
    ``JointActionCfg.scale``)."""
    clip: float | None = None
    """Actions are clipped to [-clip, clip] before scaling; > 0, or unset for no clipping."""
    delay_steps: tuple[int, int] = (0, 0)
    """[min, max] env steps between the policy's action and the physics receiving it, drawn per env at each reset
    (latency randomisation); integers, 0 <= min <= max. Rewards on actions see the policy's own actions."""

    def joint_scales(self) -> list[float]:
        """The scale of each action joint (A,), in ``joints`` order [N, N·m, rad or m per unit action]."""
        if not isinstance(self.scale, dict):
            return [float(self.scale)] * len(self.joints)
        scales = dict.fromkeys(self.joints, 1.0)
        for pattern, value in self.scale.items():
            for joint in self.joints:
                if joint == pattern or re.fullmatch(pattern, joint):
                    scales[joint] = float(value)
        return list(scales.values())

    def scale_text(self) -> str:
        """``scale`` as a spec would write it, for messages: ``300`` or ``{ "hip" = 300, "knee" = 200 }``."""
        if not isinstance(self.scale, dict):
            return f"{self.scale:g}"
        return "{ " + ", ".join(f'"{k}" = {v:g}' for k, v in self.scale.items()) + " }"


@dataclass(kw_only=True)
class TermSpec:
    """One term of ``[observations.<group>]``, ``[rewards.<name>]``, ``[terminations.<name>]``, ``[events.<name>]``."""

    name: str
    """The term's key in the spec (``[rewards.<name>]``); metrics report it as ``reward/<name>``."""
    func_name: str
    """Key ``func``: a function of the term library (``docs/terms.md``) or ``package.module:function``; default
    the term's name."""
    func: Callable
    """The resolved function, ``(env, **params) -> Tensor`` (events: ``(env, env_mask, **params)``)."""
    params: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the function; ``joints`` takes joint names or regular expressions."""
    weight: float = 1.0
    """Rewards only: multiplier per second of the term's value (the env also multiplies by the step duration)."""
    time_out: bool = False
    """Terminations only: true makes it a truncation (the value of the last state is bootstrapped), not a failure;
    default true for ``time_out``."""
    mode: str = "reset"
    """Events only: ``startup`` (once, when the env is built: physics properties such as masses, friction and
    gains), ``reset`` (when an env resets) or ``interval`` (every ``interval_s`` seconds of an episode)."""
    interval_s: tuple[float, float] = (0.0, 0.0)
    """Interval events only: [min, max] seconds between two firings, 0 < min <= max; drawn per env."""
    noise: tuple[float, float] | None = None
    """Observations only: [min, max] of uniform noise added to each of the term's values (sensor noise), in the
    term's units; unset for none."""
    reduce: str = "final"
    """Metrics only: ``final`` (the value on the episode's last step, e.g. a success flag or the final error) or
    ``mean`` (the mean over the episode's steps, e.g. a tracking error); averaged over the episodes that ended."""


@dataclass(kw_only=True)
class CommandSpec:
    """``[commands.<name>]``: a target drawn per env when its episode starts and again every ``resample_s``
    seconds, observed by the policy (``generated_commands``) and read by rewards (their ``command`` parameter), as
    Isaac Lab's command terms. Each command is a (N, 3) tensor."""

    type: str
    """``position``: a point (x, y, z) [m] drawn uniformly in ``ranges`` (keys ``x``, ``y``, ``z``); ``velocity``:
    a planar velocity (``lin_vel_x`` [m/s], ``lin_vel_y`` [m/s], ``ang_vel_z`` [rad/s]) drawn uniformly in
    ``ranges``, in the robot's heading frame. A ``heading`` range [rad] makes the yaw rate steer towards a heading
    drawn in it (0.5 rad/s per rad of error, within ``ang_vel_z``), as Isaac Lab's ``heading_command``."""
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    """[min, max] per component (see ``type``); a component left out is 0."""
    frame: str = "base"
    """``position`` only: ``base`` draws the point in the root body's frame at the moment of drawing (a reach
    target in front of an arm), ``env`` in the env's frame, relative to its origin (a goal on the floor). The
    point then stays fixed in the env until the next draw."""
    resample_s: tuple[float, float] = (math.inf, math.inf)
    """[min, max] seconds between two draws within an episode, drawn per env; default ``[inf, inf]``: once per
    episode (the only ``inf`` a spec takes; every other number of a spec is finite)."""
    standing_share: float = 0.0
    """``velocity`` only: share of draws, in [0, 1], that command standing still (all three components 0)."""
    clear_of: list[str] = field(default_factory=list)
    """``position`` only: bodies (names or regular expressions) a target must keep ``clearance`` from in the plane,
    e.g. obstacles placed by a reset event; a target drawn too close is drawn again (up to 16 times)."""
    clearance: float = 0.0
    """``position`` only: the planar distance [m] a target keeps from each ``clear_of`` body's origin, >= 0."""


@dataclass(kw_only=True)
class ActuatorSpec:
    """``[actuators.<group>]``: the actuator of a group of joints, overriding what the USD's drives say, as Isaac
    Lab's actuator configs do. ``model = "implicit"`` (the default, like ``ImplicitActuatorCfg``) hands the gains to
    the physics solver, which integrates the PD law with the joint; ``"pd"`` (``IdealPDActuatorCfg``) and
    ``"dc_motor"`` (``DCMotorCfg``) compute the effort explicitly each physics step with Newton's actuators, clamp it
    (to ``effort_limit``, or to a DC motor's torque-speed curve) and can delay the targets by ``delay_steps``
    (``DelayedPDActuatorCfg``). A key left out keeps the scene's value. Gains are SI per radian for revolute joints
    and per metre for prismatic ones (USD authors angular gains per degree; ``inspect`` shows both)."""

    joints: list[str] = field(default_factory=list)
    """Joints of the group: names or full-match regular expressions; a joint belongs to one group at most."""
    model: str = "implicit"
    """``"implicit"`` (the solver's PD), ``"pd"`` (explicit PD, clamped to ``effort_limit``) or ``"dc_motor"``
    (explicit PD clamped to the torque-speed curve of ``saturation_effort``, ``velocity_limit`` and
    ``effort_limit``). The explicit models need ``stiffness`` and ``damping``."""
    stiffness: float | None = None
    """Position gain [N·m/rad or N/m], >= 0; ``joint_position`` actions need it > 0."""
    damping: float | None = None
    """Velocity gain [N·m·s/rad or N·s/m], >= 0."""
    effort_limit: float | None = None
    """Largest effort the actuator applies [N·m or N], > 0; also bounds ``joint_effort`` commands."""
    velocity_limit: float | None = None
    """Largest joint speed [rad/s or m/s], > 0; for ``dc_motor`` the motor's no-load speed, where its available
    effort falls to zero (the solver's joint speed limit stays the scene's)."""
    armature: float | None = None
    """Reflected rotor inertia added to the joint [kg·m² or kg], >= 0."""
    friction: float | None = None
    """Joint friction loss [N·m or N], >= 0."""
    viscous_friction: float | None = None
    """Passive viscous damping of the joint [N·m·s/rad or N·s/m], >= 0: a torque ``-viscous_friction * qd`` whatever
    the actions are (``damping`` is the drive's velocity gain, which a ``joint_effort`` task does not use)."""
    saturation_effort: float | None = None
    """``dc_motor`` only, required there: the motor's stall effort [N·m or N], > 0; the available effort falls
    linearly from it at rest to zero at ``velocity_limit``, and never exceeds ``effort_limit``."""
    delay_steps: int = 0
    """Explicit models only: physics steps [steps] between a target being set and the actuator acting on it, >= 0
    (communication and motor-driver latency)."""


@dataclass(kw_only=True)
class RobotSpec:
    """``[robot]``: how the robot is set up in each env, overriding the asset (URDF converters weld the root to the
    world; a legged robot needs it floating)."""

    base: str | None = None
    """``"floating"`` (a free 6-DOF root on a ground plane; a root welded to the world is released) or ``"fixed"``
    (the root is fixed where the scene puts it); default: as the scene authors it."""
    root_height: float | None = None
    """Height of a floating root above the ground at reset [m]; default: where the scene puts it."""
    joint_pos: dict[str, float] = field(default_factory=dict)
    """Joint positions at reset [rad or m], by joint name or full-match regular expression (the first matching key
    wins); reset events add their noise around these. Default: the scene's joint positions."""
    self_collisions: bool = False
    """Whether the robot's own links collide with each other."""


@dataclass(kw_only=True)
class DeploySpec:
    """``[deploy]``: how the exported policy runs on the robot (``export --deploy`` writes it into ``deploy.json``):
    the robot's motor order and the safety layer between the policy and the motors. Every key is optional; gains
    and limits given per joint take a number for every joint or a table ``{joint name or regular expression =
    value}`` (the first matching key wins; a joint none matches keeps the default)."""

    motor_order: list[str] = field(default_factory=list)
    """The robot's joint names in its motor order (each of the articulation's 1-DOF joints once): the order the
    robot's driver reads and commands them in; default the policy's order (the scene's joint order)."""
    safe_stop: str = "hold"
    """What the robot does once the safety layer stops the policy: ``"hold"`` the positions measured at the stop
    (gains ``hold_kp``, ``hold_kd``) or ``"damp"`` (no position gain, damping ``hold_kd``: the robot sinks slowly)."""
    soft_start_s: float | None = None
    """[s] >= 0: at start the target blends from the measured pose to the policy's over this time; default 1.0 for
    a floating base, 0 (none) for a fixed one."""
    action_rate_limit: float | None = None
    """The fastest a target may move [rad/s or m/s; N·m/s for joint_effort actions], > 0; unset for no limit."""
    lowpass_hz: float | None = None
    """Cut-off of a first-order low-pass filter on the targets [Hz], > 0; unset for none."""
    max_tilt_rad: float | None = None
    """The base may tilt this far from upright before the robot stops [rad], in (0, pi]; default 1.0 for a floating
    base, none for a fixed one."""
    pos_limit_margin: float = 0.1
    """How far past its position limit a measured joint may be before the robot stops [rad or m], >= 0."""
    joint_vel_limits: dict[str, float] = field(default_factory=dict)
    """A measured joint speed above this stops the robot [rad/s or m/s], > 0, per joint; default the
    ``[actuators]`` ``velocity_limit``, else the asset's joint velocity limit, else none."""
    hold_kp: dict[str, float] = field(default_factory=dict)
    """Position gain of the ``"hold"`` stop [N·m/rad or N/m], >= 0, per joint; default the trained stiffness."""
    hold_kd: dict[str, float] = field(default_factory=dict)
    """Damping gain of either stop [N·m·s/rad or N·s/m], >= 0, per joint; default the trained damping."""
    max_consecutive_misses: int = 2
    """Missed control periods in a row (late, or without a fresh reading) that stop the robot; integer >= 1."""
    motor_strength: float = 1.0
    """The share of a commanded PD gain or torque the robot's motors deliver, > 0 (``sysid``'s ``actuator_gain``
    writes it): the spec's actuator gains and effort scale are what the motors deliver, so ``deploy.json``
    commands them divided by it."""


STOP_OPERATORS = {">=": float.__ge__, "<=": float.__le__, ">": float.__gt__, "<": float.__lt__}
BEST_MODES = ("max", "min")


@dataclass(frozen=True)
class StopCondition:
    """``train.stop_when`` read: ``KEY OP NUMBER``, e.g. ``eval/success >= 0.95``."""

    key: str
    """A key of the ``metrics.jsonl`` rows (``eval/success``, ``mean_reward``, ``iteration``)."""
    op: str
    """One of ``>=``, ``<=``, ``>``, ``<``."""
    threshold: float
    """The number the value is compared with, finite."""

    def holds(self, value: float) -> bool:
        """Whether ``value`` (the key's value in a row) meets the condition."""
        return STOP_OPERATORS[self.op](float(value), self.threshold)

    @property
    def text(self) -> str:
        """The condition as a spec writes it: ``eval/success >= 0.95``."""
        return f"{self.key} {self.op} {self.threshold:g}"


@dataclass(kw_only=True)
class TrainSpec:
    """``[train]``: what a run does between its PPO iterations: evaluation of the deterministic policy, the best
    checkpoint, early stop. (The learner's own settings, with rsl-rl's key names, are ``[ppo]``.)"""

    eval_every: int = 0
    """Iterations between two rows of evaluation of the deterministic policy (the mean action) during training,
    integer >= 0; 0: off. Evaluation envs, added to the training batch, run the deterministic policy at every step
    (the trainer sees only its own envs; :mod:`~isaac.rl.workbench.learn.eval_envs`); every ``eval_every``
    iterations the episodes they ended since the last row give ``eval/mean_reward``, ``eval/mean_episode_length``,
    ``eval/<metric>`` per ``[metrics.<name>]`` and ``eval/episodes`` in that iteration's row of ``metrics.jsonl`` and
    TensorBoard. An episode longer than an iteration is acted by the policies of the iterations it spans. Its cost
    is the evaluation envs' share of each step: small on a GPU, their number of envs on the CPU. Default: 50 for a
    task with a ``[metrics.success]``, else 0."""
    eval_episodes: int = 32
    """Deterministic episodes per evaluation row, integer >= 1: the evaluation envs are as many as end this many
    full-length episodes in ``eval_every`` iterations (at least 1, at most 1024; episodes that end sooner make
    more). 32 gives a success rate to within about 9 points."""
    stop_when: StopCondition | None = None
    """Early stop: ``"KEY OP NUMBER"`` with OP one of ``>=``, ``<=``, ``>``, ``<`` and KEY a logged key
    (``"eval/success >= 0.95"``, ``"mean_reward >= 450"``, ``"iteration >= 100"``); once it holds at
    ``stop_patience`` checks in a row (rows that carry KEY: evaluations for an ``eval/`` key, else iterations) the
    run saves its checkpoint and ends as if done, its last row saying why (``"stopped"``). Unset or ``""``: none."""
    stop_patience: int = 1
    """Checks in a row at which ``stop_when`` must hold before the run stops, integer >= 1."""
    best: str = ""
    """The logged key that picks ``checkpoints/best.pt`` (written whenever a row beats every earlier one). Default
    ``eval/success`` (``metric/success`` without evaluation) for a task with a ``[metrics.success]``, else
    ``eval/mean_reward`` (``mean_reward`` without evaluation)."""
    best_mode: str = "max"
    """``"max"``: the highest value of ``best`` is the best; ``"min"``: the lowest (an error metric)."""


@dataclass(frozen=True, kw_only=True)
class TerrainLevelsSpec:
    """``[curriculum.terrain_levels]``: the terrain curriculum of legged_gym and Isaac Lab's ``terrain_levels_vel``.
    When an episode ends, the env moves a level (terrain row) up if its robot got farther than half a tile from its
    start, a level down if it got less than half as far as its velocity command asked over a full episode, and to a
    random level once it passes the top; it stays in its column (tile type)."""

    command: str
    """The ``[commands.<name>]`` of type ``velocity`` whose planar speed [m/s] times the episode's length [s] is the
    distance asked."""


CAMERA_DATA_TYPES = ("depth", "rgb", "segmentation")
"""What a camera can render: ``depth`` (distance along the view axis [m]), ``rgb`` (colour), ``segmentation``
(which shape each pixel sees)."""


@dataclass(kw_only=True)
class CameraSpec:
    """``[sensors.<name>]`` with ``type = "camera"``: a pinhole camera rendered per env by the physics backend
    (Newton's raytracing ``SensorCamera``, on the CPU or the GPU), mounted on a body of the robot or fixed in the
    env's frame. Its frame looks along its own -Z axis, +Y up in the image, +X to the right (USD's and OpenGL's
    convention). Each env's camera sees its own env only: its robot and the ground (docs/tasks.md, Cameras)."""

    type: str = "camera"
    """The sensor's kind: ``"camera"`` (the only kind so far)."""
    body: str | None = None
    """The body the camera is mounted on (a body name, or a full-match regular expression matching exactly one);
    unset: fixed in the env's frame (relative to the env's origin, world axes)."""
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """The camera's position [m] in the body's frame (or the env's frame): three numbers."""
    look_at: tuple[float, float, float] | None = None
    """A point [m] in the same frame as ``pos`` that the camera looks at, its image upright about that frame's +Z
    (straight up or down: the frame's +X is up in the image); not with ``rot``."""
    rot: tuple[float, float, float, float] | None = None
    """The camera frame's orientation in the body's (or env's) frame as a quaternion [w, x, y, z] (normalised
    here); not with ``look_at``. Neither given: the identity, looking along the frame's -Z (down, in the env's
    frame)."""
    width: int = 64
    """Image width [pixels], integer from 1 to 4096."""
    height: int = 64
    """Image height [pixels], integer from 1 to 4096."""
    fov_deg: float = 60.0
    """Vertical field of view [degrees], in (0, 180); the horizontal one follows from width / height (square
    pixels)."""
    near: float = 0.05
    """Nearest depth [m], > 0: a surface nearer reads ``near``."""
    far: float = 10.0
    """Farthest depth [m], > near: a surface farther, or none, reads ``far``."""
    data_types: list[str] = field(default_factory=lambda: ["depth"])
    """What the camera renders, one or more of ``"depth"`` (distance along the view axis [m], clamped to [near,
    far]), ``"rgb"`` (colour, 8 bits a channel) and ``"segmentation"`` (the index, within its env, of the shape each
    pixel sees; -1 nothing, -2 the ground)."""
    update_period_s: float = 0.0
    """Time between two renders [s], >= 0, rounded up to whole env steps; 0: every env step. Between renders the
    camera gives its last images; an env whose episode restarts renders at the next read."""
    samples_per_pixel: int = 1
    """Rays cast per pixel, 1 to 16 (Newton's supersampling, ``AntiAliasing.SSAA``, above 1): depth keeps the
    nearest sample, colour averages them, so a thing thinner than a pixel is seen wherever it crosses one instead
    of only where a pixel's centre ray hits it."""


ROBOT_BASES = ("floating", "fixed")

ACTUATOR_GAINS = ("stiffness", "damping", "effort_limit", "velocity_limit", "armature", "friction", "viscous_friction")
ACTUATOR_MODELS = ("implicit", "pd", "dc_motor")


@dataclass(kw_only=True)
class TaskSpec:
    """A validated task spec. ``raw`` is the resolved TOML table that :func:`save_spec` writes back."""

    name: str
    """Key ``name``: the task's name, used for the default run folder ``runs/<name>/`` and the curves' title; at
    most 100 printable characters; default the file's stem."""
    source: Path
    """The spec file this was loaded from."""
    scene: Path
    """Key ``scene``: the USD file holding the robot, relative to the spec file (an absolute path works too). A run
    folder's ``spec.toml`` stores it relative to the run folder, plus ``scene_fallback``."""
    python_path: list[Path] = field(default_factory=list)
    """Key ``python_path``: folders, relative to the spec file, searched first for the module of a term given as
    ``package.module:function`` (no PYTHONPATH needed); the installed modules come after them. Default ``["."]``:
    the spec's own folder. Folders are on ``sys.path`` only while the module is imported, so a term module imports
    its own helpers at its top, not inside a function; two specs in different folders may each have a
    ``my_terms.py``: each gets its own. Missing folders are skipped."""
    scene_fallback: Path | None = None
    """Key ``scene_fallback``: absolute path of the scene, used only where ``scene`` does not resolve (not with
    ``--set scene=...``). :func:`save_spec` writes it into a run folder's ``spec.toml`` so that a run folder moved
    alone still plays on the machine that trained it. Accepted in hand-written specs as well, not rejected: a run's
    ``spec.toml`` is itself a spec that people copy and edit, and the key changes nothing while ``scene`` resolves."""
    python_path_fallback: list[Path] = field(default_factory=list)
    """Key ``python_path_fallback``: absolute folders, one per ``python_path`` entry, each used only where that
    entry is not a folder; written by :func:`save_spec` like ``scene_fallback``."""
    articulation: str
    """Key ``articulation``: prim path of the articulation root; found automatically when the scene has one."""
    robot_prim: str
    """The prim that holds the whole robot: the articulation root, or the nearest ancestor that also holds its
    joints (URDF converters put the joints in a ``Physics`` scope beside the bodies); the physics loads this."""
    joint_names: list[str]
    """The articulation's 1-DOF joints in scene order: the column order of every joint tensor."""
    effort_limits: list[float]
    """Max force of each joint's drive [N or N·m] (inf without a drive), in ``joint_names`` order."""
    seed: int
    """Key ``seed``: random seed of torch (networks, resets, events); integer, default 42."""
    env: EnvSpec
    """Table ``[env]``."""
    actions: ActionSpec
    """Table ``[actions]``."""
    actuators: dict[str, ActuatorSpec] = field(default_factory=dict)
    """Tables ``[actuators.<group>]``: PD gains and limits that override the scene's drives."""
    robot: RobotSpec = field(default_factory=lambda: RobotSpec())
    """Table ``[robot]``: base type, root height, initial joint positions, self-collisions."""
    deploy: DeploySpec = field(default_factory=lambda: DeploySpec())
    """Table ``[deploy]``: the robot's motor order and the safety layer of the exported policy."""
    observations: dict[str, list[TermSpec]]
    """Tables ``[observations.<group>]``, each ``terms = [...]``; the ``policy`` group feeds the actor."""
    observation_history: dict[str, int] = field(default_factory=dict)
    """Key ``history_length`` of each ``[observations.<group>]``: the group holds each term's last H values
    (integer H >= 1; default 1, the current value only), oldest first, term by term: ``[a(t-H+1) .. a(t), b(t-H+1)
    .. b(t), ...]`` for terms a, b (Isaac Lab's flattening), each value noisy as the term gives it. When an episode
    starts, every slot holds the episode's first value. A robot builds the same from ``deploy.json``."""
    rewards: dict[str, TermSpec]
    """Tables ``[rewards.<name>]``; at least one."""
    terminations: dict[str, TermSpec]
    """Tables ``[terminations.<name>]``; without a ``time_out`` term, episodes end after ``env.episode_seconds``."""
    events: dict[str, TermSpec]
    """Tables ``[events.<name>]``: start-up and reset randomisation, interval pushes."""
    commands: dict[str, CommandSpec] = field(default_factory=dict)
    """Tables ``[commands.<name>]``: targets the policy is asked to reach or track."""
    sensors: dict[str, CameraSpec] = field(default_factory=dict)
    """Tables ``[sensors.<name>]``: cameras rendered per env, read by the image observation terms."""
    metrics: dict[str, TermSpec] = field(default_factory=dict)
    """Tables ``[metrics.<name>]``: what the user reads of a trained policy (success rate, final error, tracking
    error), averaged over the episodes that ended; reported as ``metric/<name>`` in training and evaluation."""
    ppo: dict[str, Any]
    """Table ``[ppo]`` with rsl-rl's own key names (``ppo.actor``, ``ppo.critic``, ``ppo.algorithm``)."""
    train: TrainSpec = field(default_factory=lambda: TrainSpec())
    """Table ``[train]``: evaluation during training, the best checkpoint, early stop."""
    terrain: TerrainSpec | None = None
    """Table ``[terrain]``: tiles of rough ground, slopes, stairs, boxes and stepping stones (docs/tasks.md); None:
    the flat ground plane."""
    terrain_levels: TerrainLevelsSpec | None = None
    """Table ``[curriculum.terrain_levels]``: the envs move to harder or easier rows of the terrain as they walk
    (docs/tasks.md); None: each env stays on its start tile."""
    raw: dict[str, Any]
    """The resolved TOML table, as written to a run folder's ``spec.toml``."""
