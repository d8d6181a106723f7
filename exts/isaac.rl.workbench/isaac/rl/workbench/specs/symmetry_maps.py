"""The mirror maps of a spec's ``[ppo.algorithm.symmetry]``: its joints paired by name
(:func:`..learn.symmetry.mirror_joints`), its actions, and each observation group the networks read, term by term.

The mirror image is the state reflected about the robot's sagittal (x-z) plane, the world's with it. How each
library observation term mirrors (x forward, y left, z up):

- ``root_lin_vel_b``, ``root_lin_vel_w``, ``projected_gravity_b``: y negated; ``root_ang_vel_b``: x and z negated
  (roll and yaw rates); ``root_height``: kept; ``root_quat_w`` (x, y, z, w): x and z negated.
- ``generated_commands``: a velocity command (vx, vy, yaw rate): vy and the yaw rate negated; a position command
  (x, y, z): y negated.
- ``joint_pos``, ``joint_pos_rel``, ``joint_vel``, ``joint_vel_clipped``, ``joint_effort``: the joint map
  (partner and sign) over the joints the term reads; ``joint_pos_cos_sin``: the cosines permuted, the sines
  permuted and signed; ``last_action``: the action map.

Any other term (body positions, contact forces, scans, ...) needs its map in ``terms.<term>`` (``{index = [...],
sign = [...]}``, over the term's values), which also overrides a library rule. A group with a history mirrors each
term's H values alike (the layout of ``envs/observation_history.py``). Groups no network reads are left as they are.
A group of camera images (N, C, H, W) that a network reads is refused: the maps mirror vectors only.
"""

from __future__ import annotations

from ..learn.ppo_config import runner_config
from ..learn.symmetry import WHERE, JointMirror, Mirror, SymmetryAugmentation, mirror_joints, term_mirror
from ..terms.camera_observations import DATA_TYPE_READ
from .schema import SpecError, TaskSpec, TermSpec

FIXED_TERMS: dict[str, tuple[float, ...]] = {
    "root_lin_vel_b": (1.0, -1.0, 1.0),
    "root_lin_vel_w": (1.0, -1.0, 1.0),
    "projected_gravity_b": (1.0, -1.0, 1.0),
    "root_ang_vel_b": (-1.0, 1.0, -1.0),
    "root_height": (1.0,),
    "root_quat_w": (-1.0, 1.0, -1.0, 1.0),
}
"""Library terms whose values stay in place, each negated or kept (sign per value)."""
COMMAND_SIGNS = {"velocity": (1.0, -1.0, -1.0), "position": (1.0, -1.0, 1.0)}
"""``generated_commands``: the signs of a command of each type."""
JOINT_TERMS = frozenset({"joint_pos", "joint_pos_rel", "joint_vel", "joint_vel_clipped", "joint_effort"})
"""Library terms with one value per joint they read."""
DEFAULT_POSE_TERMS = frozenset({"joint_pos_rel"})
"""Terms (besides joint_position actions) relative to the default pose, which must then be mirror-symmetric."""


def symmetry_augmentation(
    spec: TaskSpec,
    default_joint_pos: list[float] | None = None,
    group_shapes: dict[str, tuple[int, ...]] | None = None,
) -> SymmetryAugmentation | None:
    """rsl-rl's mirror function for ``spec`` (None without ``[ppo.algorithm.symmetry]``).

    Args:
        spec: the task spec.
        default_joint_pos: the env's default joint positions [rad or m] in ``spec.joint_names`` order, checked to be
            mirror-symmetric where actions or observations are relative to them (None: not checked).
        group_shapes: the env's observation group -> the shape of one env's values ((D,) for a vector, (C, H, W)
            for images), checked against the maps (None: not checked).

    Raises:
        SpecError: naming the key: a joint without its mirror (``ppo.algorithm.symmetry.joint_pairs``), a term
            without a mirror rule (``ppo.algorithm.symmetry.terms``), an image group a network reads
            (``ppo.algorithm.symmetry``), an asymmetric default pose (``robot.joint_pos``).
    """
    table = spec.ppo["algorithm"].get("symmetry")
    if table is None:
        return None
    read = {g for groups in runner_config(spec.ppo, list(spec.observations))["obs_groups"].values() for g in groups}
    _refuse_images(spec, read, group_shapes or {})
    try:
        joints = mirror_joints(spec.joint_names, table.get("joint_pairs"), table.get("negate"))
        actions = joints.restricted(spec.actions.joints, "the action")
        groups = {
            name: Mirror.concat(
                [
                    _term_mirror(spec, term, joints, actions, table.get("terms", {})).repeated(
                        spec.observation_history.get(name, 1)
                    )
                    for term in spec.observations[name]
                ]
            )
            for name in spec.observations
            if name in read
        }
    except ValueError as exc:
        key = str(exc).split("'")[1]
        raise SpecError(f"{spec.source}: key {exc}", key=key) from exc
    if default_joint_pos is not None:
        _check_default_pose(spec, joints, default_joint_pos)
    for name, mirror in groups.items():
        size = None if group_shapes is None else group_shapes[name][-1]
        if size is not None and size != len(mirror):
            raise SpecError(
                f"{spec.source}: key '{WHERE}.terms': observation group {name} has {size} values, its "
                f"mirror {len(mirror)}: a terms.<term> map of the wrong size?",
                key=f"{WHERE}.terms",
            )
    return SymmetryAugmentation(groups, actions)


def _refuse_images(spec: TaskSpec, read: set[str], group_shapes: dict[str, tuple[int, ...]]) -> None:
    """SpecError naming ``ppo.algorithm.symmetry`` for the first group a network reads that holds camera images: a
    library camera term, or (with the env's ``group_shapes``) values of more than one dimension per env, as a term of
    your own that returns images gives."""
    for name, terms in spec.observations.items():
        images = [term.func_name for term in terms if term.func in DATA_TYPE_READ]
        if name in read and not images and len(group_shapes.get(name, ())) > 1:
            images = [f"{' x '.join(map(str, group_shapes[name]))} per env"]
        if name in read and images:
            raise SpecError(
                f"{spec.source}: key '{WHERE}': observation group {name} holds camera images ({', '.join(images)}; "
                f"N, C, H, W), and the mirror maps mirror vector groups only: remove [{WHERE}], or leave the group "
                "out of ppo.obs_groups",
                key=WHERE,
            )


def _term_mirror(spec: TaskSpec, term: TermSpec, joints: JointMirror, actions: Mirror, given: dict) -> Mirror:
    """The mirror of one observation term's values; ValueError naming the term when it has no rule."""
    if term.name in given:
        return term_mirror(given[term.name], f"{WHERE}.terms.{term.name}")
    name = term.func_name
    if name in FIXED_TERMS:
        return Mirror(tuple(range(len(FIXED_TERMS[name]))), FIXED_TERMS[name])
    if name == "generated_commands":
        return Mirror((0, 1, 2), COMMAND_SIGNS[spec.commands[term.params["command"]].type])
    if name == "last_action":
        return actions
    if name in JOINT_TERMS or name == "joint_pos_cos_sin":
        read = term.params.get("joints") or spec.joint_names
        mirror = joints.restricted(read, f"observation term {term.name}")
        if name == "joint_pos_cos_sin":  # cos(-q) = cos(q): the cosines unsigned
            return Mirror.concat([Mirror(mirror.index, (1.0,) * len(mirror)), mirror])
        return mirror
    raise ValueError(
        f"'{WHERE}.terms': observation term {term.name} has no mirror rule; give its map as "
        f"terms.{term.name} = {{ index = [...], sign = [...] }} (a term that returns images has none: leave its "
        "group out of ppo.obs_groups)"
    )


def _check_default_pose(spec: TaskSpec, joints: JointMirror, default: list[float]) -> None:
    """The default pose mirrors onto itself where actions or observations are offsets from it."""
    relative = spec.actions.type == "joint_position" or any(
        t.func_name in DEFAULT_POSE_TERMS for terms in spec.observations.values() for t in terms
    )
    if not relative:
        return
    position = dict(zip(spec.joint_names, default, strict=True))
    for name, value in position.items():
        mirrored = joints.sign[name] * position[joints.partner[name]]
        if abs(value - mirrored) > 1e-4:
            raise SpecError(
                f"{spec.source}: key 'robot.joint_pos': the default pose is not mirror-symmetric ({name} = "
                f"{value:.4g}, its mirror {joints.partner[name]} gives {mirrored:.4g}), so actions and joint_pos_rel "
                f"would not mirror; make it symmetric or check {WHERE}.joint_pairs and negate",
                key="robot.joint_pos",
            )


def with_symmetry_checked(spec: TaskSpec) -> TaskSpec:
    """``spec``, once its ``[ppo.algorithm.symmetry]`` (if any) gives every joint, action and observation term a
    mirror (the loader's check, before anything is built).

    Raises:
        SpecError: as :func:`symmetry_augmentation`.
    """
    symmetry_augmentation(spec)
    return spec
