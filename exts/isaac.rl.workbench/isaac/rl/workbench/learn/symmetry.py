"""Left/right mirror symmetry for rsl-rl's symmetry extension (``[ppo.algorithm.symmetry]``).

A mirror is a signed permutation of a vector's entries, ``mirrored[:, i] = sign[i] * x[:, index[i]]``: the value a
quantity takes in the state mirrored about the robot's sagittal (x-z) plane. Joints pair by their left/right names
(:func:`mirror_joints`); the observation groups mirror term by term (the spec side builds them,
``specs/symmetry_maps.py``). :class:`SymmetryAugmentation` is rsl-rl's ``data_augmentation_func``: it stacks each
mini-batch's observations and actions over their mirror images, ``[original; mirrored]``.

Joint naming rules (each overridable in the spec):

- **pairs**: a name whose ``_``-separated tokens hold exactly one side marker pairs with the name whose marker is
  swapped: ``left``/``right``, ``l``/``r``, ``L``/``R``, ``FL``/``FR``, ``RL``/``RR``, ``HL``/``HR``, ``LF``/``RF``,
  ``LH``/``RH`` (also lower case): ``FL_hip_joint`` <-> ``FR_hip_joint``, ``left_knee_joint`` <-> ``right_knee_joint``.
  A name without a marker is a centre joint (``waist_yaw_joint``): its own mirror. ``joint_pairs`` pairs joints by
  hand.
- **signs**: a joint whose tokens say ``roll``, ``yaw``, ``haa``, ``abad`` or ``abduction`` turns the other way in
  the mirror image: negated; ``pitch`` is kept; a ``hip`` joint that names no axis (a quadruped's hip abduction, the
  Go2's ``FL_hip_joint``) is negated; every other joint (knees, thighs, calves, elbows) is kept. ``negate`` (regular
  expressions) replaces this rule: the joints it matches are negated, all others kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch
from tensordict import TensorDict

WHERE = "ppo.algorithm.symmetry"
SYMMETRY_KEYS = ("use_data_augmentation", "use_mirror_loss", "mirror_loss_coeff", "joint_pairs", "negate", "terms")
"""The keys of ``[ppo.algorithm.symmetry]``."""

_SIDES = {"left": "right", "Left": "Right", "LEFT": "RIGHT", "l": "r", "L": "R"}
_SIDES |= {a + b: a + c for a in ("F", "R", "H", "M") for b, c in (("L", "R"),)}  # FL/FR, RL/RR, HL/HR, ML/MR
_SIDES |= {b + a: c + a for a in ("F", "H", "M") for b, c in (("L", "R"),)}  # LF/RF, LH/RH, LM/RM
_SIDES |= {k.lower(): v.lower() for k, v in list(_SIDES.items()) if len(k) == 2}
SIDE_MARKERS: dict[str, str] = {**_SIDES, **{v: k for k, v in _SIDES.items()}}
"""Side marker token -> the other side's."""
NEGATED_TOKENS = frozenset({"roll", "yaw", "haa", "abad", "abduction"})
"""Name tokens (lower case) of joints negated in the mirror image."""


@dataclass(frozen=True)
class Mirror:
    """A signed permutation of D entries: ``mirrored[..., i] = sign[i] * x[..., index[i]]``; an involution (applied
    twice, the identity)."""

    index: tuple[int, ...]
    sign: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.index)

    @staticmethod
    def concat(parts: list[Mirror]) -> Mirror:
        """The mirror of the parts' vectors laid end to end."""
        index: list[int] = []
        sign: list[float] = []
        for part in parts:
            index += [len(sign) + i for i in part.index]
            sign += part.sign
        return Mirror(tuple(index), tuple(sign))

    def repeated(self, times: int) -> Mirror:
        """The mirror of ``times`` copies of the vector laid end to end (a term's history, oldest first)."""
        return Mirror.concat([self] * times)

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (..., D) mirrored (a new tensor)."""
        index = torch.tensor(self.index, dtype=torch.long, device=x.device)
        return x[..., index] * torch.tensor(self.sign, dtype=x.dtype, device=x.device)


def joint_sign(name: str) -> float:
    """-1.0 for a joint the mirror image turns the other way (by the naming rule above), else 1.0."""
    tokens = {t.lower() for t in re.split(r"[_\-./]", name)}
    if tokens & NEGATED_TOKENS:
        return -1.0
    if "pitch" in tokens:
        return 1.0
    return -1.0 if "hip" in tokens else 1.0


def mirror_name(name: str) -> str | None:
    """The name with its one side marker swapped; ``name`` for a centre joint; None for several markers."""
    parts = re.split(r"([_\-./])", name)
    sides = [i for i, part in enumerate(parts) if part in SIDE_MARKERS]
    if len(sides) > 1:
        return None
    for i in sides:
        parts[i] = SIDE_MARKERS[parts[i]]
    return "".join(parts)


@dataclass(frozen=True)
class JointMirror:
    """Each joint's mirror joint and sign, by name."""

    partner: dict[str, str]
    sign: dict[str, float]

    def restricted(self, names: list[str], what: str) -> Mirror:
        """The mirror of a vector over the joints ``names`` (in that order).

        Raises:
            ValueError: a joint of ``names`` whose mirror is not among them, naming ``what`` reads it.
        """
        position = {name: i for i, name in enumerate(names)}
        missing = [n for n in names if self.partner[n] not in position]
        if missing:
            raise ValueError(
                f"'{WHERE}': {what} reads joint {missing[0]} but not its mirror {self.partner[missing[0]]}"
            )
        return Mirror(tuple(position[self.partner[n]] for n in names), tuple(self.sign[n] for n in names))


def mirror_joints(names: list[str], pairs: list | None = None, negate: list[str] | None = None) -> JointMirror:
    """Pair every joint of ``names`` with its mirror and give its sign (module docstring: the rules).

    Args:
        names: the articulation's joint names.
        pairs: ``joint_pairs``, ``[[a, b], ...]``: a and b mirror each other (``[a, a]``: a centre joint); the
            others pair by name.
        negate: ``negate``, regular expressions (full match): exactly the joints negated; None: by name.

    Raises:
        ValueError: a pair or pattern naming no joint, a side joint without its mirror, pairs that contradict each
            other or a pair of different signs; the message starts with the quoted key.
    """
    known = set(names)
    partner: dict[str, str] = {}
    for a, b in pairs or []:
        for joint in (a, b):
            if joint not in known:
                raise ValueError(f"'{WHERE}.joint_pairs': no joint {joint}; the joints: {', '.join(names)}")
        for x, y in ((a, b), (b, a)):
            if partner.setdefault(x, y) != y:
                raise ValueError(f"'{WHERE}.joint_pairs': {x} is paired with both {partner[x]} and {y}")
    for name in names:
        if name in partner:
            continue
        other = mirror_name(name)
        if other is None or other not in known:
            found = "has several side markers" if other is None else f"has no mirror {other} among the joints"
            raise ValueError(f"'{WHERE}.joint_pairs': joint {name} {found}; pair it by hand ([{name}, <mirror>])")
        if partner.get(other, name) != name:
            raise ValueError(f"'{WHERE}.joint_pairs': {other} is paired with {partner[other]}, not {name}")
        partner[name] = other
    if negate is None:
        sign = {name: joint_sign(name) for name in names}
    else:
        for pattern in negate:
            if not any(re.fullmatch(pattern, n) for n in names):
                raise ValueError(f"'{WHERE}.negate': '{pattern}' matches no joint; the joints: {', '.join(names)}")
        sign = {n: -1.0 if any(re.fullmatch(p, n) for p in negate) else 1.0 for n in names}
    for name in names:
        if sign[name] != sign[partner[name]]:
            raise ValueError(
                f"'{WHERE}.negate': {name} and its mirror {partner[name]} must both be negated or both kept"
            )
    return JointMirror(partner, sign)


class SymmetryAugmentation:
    """rsl-rl's ``data_augmentation_func``: ``(env, obs, actions) -> (obs, actions)`` with the batch stacked over
    its mirror image, ``[original; mirrored]`` (2B rows); either may be None (then None comes back).

    Args:
        groups: observation group -> its mirror (a group missing here is repeated unmirrored: no network reads it).
        actions: the mirror of the action vector (A entries).
    """

    def __init__(self, groups: dict[str, Mirror], actions: Mirror):
        self.groups = dict(groups)
        self.actions = actions
        self._tensors: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}  # (group, device, dtype) -> index, sign

    def mirror_observations(self, obs: TensorDict) -> TensorDict:
        """Every group of ``obs`` (batch B) mirrored."""
        values = {k: self._apply(k, self.groups[k], v) if k in self.groups else v for k, v in obs.items()}
        return TensorDict(values, batch_size=obs.batch_size, device=obs.device)

    def __call__(self, env: Any = None, obs: TensorDict | None = None, actions: torch.Tensor | None = None):
        obs_out = torch.cat([obs, self.mirror_observations(obs)], dim=0) if obs is not None else None
        if actions is not None:
            actions = torch.cat([actions, self._apply(None, self.actions, actions)], dim=0)
        return obs_out, actions

    def _apply(self, key: str | None, mirror: Mirror, x: torch.Tensor) -> torch.Tensor:
        """``mirror.apply(x)`` with its index and signs kept on ``x``'s device (one copy, not one per batch)."""
        cached = self._tensors.get((key, x.device, x.dtype))
        if cached is None:
            index = torch.tensor(mirror.index, dtype=torch.long, device=x.device)
            cached = self._tensors[(key, x.device, x.dtype)] = (
                index,
                torch.tensor(mirror.sign, dtype=x.dtype, device=x.device),
            )
        return x[..., cached[0]] * cached[1]


def validate_symmetry(table: Any) -> None:
    """Check a ``[ppo.algorithm.symmetry]`` table's keys and values (the joints and terms are checked against the
    spec by ``specs/symmetry_maps.py``).

    Raises:
        KeyError: an unknown key; ValueError: a bad value; each message starts with the quoted dotted key.
    """
    if not isinstance(table, dict):
        raise ValueError(f"'{WHERE}' must be a table, got {table!r}")
    for key, value in table.items():
        if key not in SYMMETRY_KEYS:
            raise KeyError(f"'{WHERE}.{key}' is not a symmetry setting; expected one of: {', '.join(SYMMETRY_KEYS)}")
        if key.startswith("use_") and not isinstance(value, bool):
            raise ValueError(f"'{WHERE}.{key}' must be true or false, got {value!r}")
    coeff = table.get("mirror_loss_coeff", 0.0)
    if isinstance(coeff, bool) or not isinstance(coeff, int | float) or not coeff >= 0:
        raise ValueError(f"'{WHERE}.mirror_loss_coeff' must be a number >= 0, got {coeff!r}")
    if table.get("use_mirror_loss") and not coeff > 0:
        raise ValueError(f"'{WHERE}.mirror_loss_coeff' must be > 0 with use_mirror_loss = true, got {coeff!r}")
    pairs = table.get("joint_pairs", [])
    if not isinstance(pairs, list) or not all(_is_pair(p) for p in pairs):
        raise ValueError(f"'{WHERE}.joint_pairs' must be a list of [joint, joint] name pairs, got {pairs!r}")
    negate = table.get("negate", [])
    if not isinstance(negate, list) or not all(isinstance(p, str) and _compiles(p) for p in negate):
        raise ValueError(f"'{WHERE}.negate' must be a list of joint names or regular expressions, got {negate!r}")
    terms = table.get("terms", {})
    if not isinstance(terms, dict):
        raise ValueError(f"'{WHERE}.terms' must be a table {{term = {{index = [...], sign = [...]}}}}, got {terms!r}")
    for name, spec in terms.items():
        term_mirror(spec, f"{WHERE}.terms.{name}")


def term_mirror(spec: Any, where: str) -> Mirror:
    """A term's mirror given in the spec, ``{index = [...], sign = [...]}``, checked to be an involution.

    Raises:
        ValueError: naming ``where``.
    """
    if not isinstance(spec, dict) or set(spec) != {"index", "sign"}:
        raise ValueError(f"'{where}' must be {{index = [...], sign = [...]}}, got {spec!r}")
    index, sign = spec["index"], spec["sign"]
    n = len(index) if isinstance(index, list) else 0
    ints = n > 0 and all(isinstance(i, int) and not isinstance(i, bool) for i in index)
    if not ints or sorted(index) != list(range(n)):
        raise ValueError(f"'{where}.index' must be a permutation of 0..D-1 (D >= 1), got {index!r}")
    if not isinstance(sign, list) or len(sign) != n or any(s not in (1, -1) or isinstance(s, bool) for s in sign):
        raise ValueError(f"'{where}.sign' must be {n} values, each 1 or -1, got {sign!r}")
    if any(index[index[i]] != i or sign[i] != sign[index[i]] for i in range(n)):
        raise ValueError(f"'{where}': mirrored twice must give the term back (index[index[i]] = i, equal signs)")
    return Mirror(tuple(index), tuple(float(s) for s in sign))


def symmetry_cfg(table: dict, augmentation: SymmetryAugmentation) -> dict:
    """rsl-rl's ``PPO(symmetry_cfg=...)`` of a ``[ppo.algorithm.symmetry]`` table (both uses off: the mirror loss
    is computed and logged only)."""
    return {
        "use_data_augmentation": table.get("use_data_augmentation", False),
        "use_mirror_loss": table.get("use_mirror_loss", False),
        "mirror_loss_coeff": float(table.get("mirror_loss_coeff", 0.0)),
        "data_augmentation_func": augmentation,
    }


def _is_pair(pair: Any) -> bool:
    return isinstance(pair, list) and len(pair) == 2 and all(isinstance(j, str) for j in pair)


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True
