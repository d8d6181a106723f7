"""A robot's check-up before training, read from its USD (pxr only): what would make the physics wrong or the
training fail, each as a one-line finding with its fix.

Checks, per articulation: masses (authored, positive and finite, or derivable from collision shapes) and
inertias (not finite or clearly negative: a problem; negative by rounding, or a principal moment above the sum of
the other two: a warning, as Newton corrects them); joint limits on 1-DOF joints; a drive (or a spec actuator) on
every 1-DOF joint; collision shapes on every body; joints that attach a moving joint straight to the world; the
base type. Levels: "problem" (training would fail or be wrong), "warning" (likely a mistake; the message says when
it is fine), "ok".
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass

from pxr import Usd, UsdPhysics

from ..scene.inspect import ArticulationInfo, SceneError, inspect_scene

LEVELS = ("problem", "warning", "ok")
ROUNDING = 1e-9  # [kg·m²] a negative moment no larger than this is a rounding error of a zero one
HEAVY_BODY_KG = 1000.0  # a link heavier than this is more likely a unit mistake (grams, or a density) than a robot


@dataclass(frozen=True)
class Finding:
    """One check's verdict."""

    level: str  # "problem" | "warning" | "ok"
    check: str  # "mass", "inertia", "limits", "drives", "collisions", "world joints", "base"
    message: str  # one line: what was found and, for a problem or warning, the fix


def check_robot(
    scene: str | os.PathLike, articulation: str | None = None, actuated: Iterable[str] = ()
) -> list[Finding]:
    """Check the articulation at ``articulation`` (None: the scene's only one) of ``scene``.

    Args:
        actuated: joint names a spec's ``[actuators]`` cover (they need no drive in the USD).

    Raises:
        SceneError: the scene cannot be opened or holds no such articulation (naming the file).
    """
    info = inspect_scene(scene)
    roots = [art.root_path for art in info.articulations]
    if articulation is None and len(roots) > 1:
        raise SceneError(f"{info.path}: {len(roots)} articulations ({', '.join(roots)}); name one of them")
    art = next((a for a in info.articulations if articulation in (None, a.root_path)), None)
    if art is None:
        raise SceneError(f"{info.path}: no articulation root at {articulation}; articulation roots: {', '.join(roots)}")
    stage = Usd.Stage.Open(os.fspath(scene))
    findings = [_base(art)]
    findings += [Finding("problem", "world joints", problem) for problem in art.problems]
    for body in art.bodies:
        findings += _body_checks(stage.GetPrimAtPath(body))
    findings += _joint_checks(art, set(actuated))
    return sorted(findings, key=lambda f: LEVELS.index(f.level))


def format_findings(scene: str | os.PathLike, findings: list[Finding]) -> str:
    """The report ``doctor`` prints: a line per finding, then a verdict."""
    lines = [f"{f.level:8s} {f.check:13s} {f.message}" for f in findings]
    problems = sum(f.level == "problem" for f in findings)
    warnings = sum(f.level == "warning" for f in findings)
    verdict = "not ready to train" if problems else "ready to train"
    lines.append(f"{scene}: {verdict}: {problems} problem(s), {warnings} warning(s)")
    return "\n".join(lines)


def _base(art: ArticulationInfo) -> Finding:
    if art.fixed_base:
        return Finding(
            "ok",
            "base",
            f'{art.root_path}: fixed base (welded to the world); a walking robot needs [robot] base = "floating"',
        )
    return Finding("ok", "base", f"{art.root_path}: floating base (a free root on the ground plane)")


def _body_checks(prim: Usd.Prim) -> list[Finding]:
    path = str(prim.GetPath())
    colliders = [p for p in Usd.PrimRange(prim) if p.HasAPI(UsdPhysics.CollisionAPI)]
    out = []
    mass_api = UsdPhysics.MassAPI(prim) if prim.HasAPI(UsdPhysics.MassAPI) else None
    mass = mass_api.GetMassAttr().Get() if mass_api else None
    if mass is not None and (not math.isfinite(mass) or mass < 0):
        out.append(Finding("problem", "mass", f"{path}: mass {mass} kg; give it its real mass (> 0)"))
    elif not mass and not colliders:
        out.append(
            Finding(
                "problem",
                "mass",
                f"{path}: no mass and no collision shape to derive one from; author physics:mass (kg) on the body",
            )
        )
    elif mass and mass > HEAVY_BODY_KG:
        out.append(Finding("warning", "mass", f"{path}: {mass:g} kg; check the unit (kg, not g)"))
    inertia = mass_api.GetDiagonalInertiaAttr().Get() if mass_api else None
    if inertia is not None:
        out += _inertia_checks(path, [float(v) for v in inertia])
    if not colliders:
        out.append(
            Finding(
                "warning",
                "collisions",
                f"{path}: no collision shape: it passes through the ground and other links (fine for a link that "
                f"never touches anything)",
            )
        )
    return out


def _inertia_checks(path: str, moments: list[float]) -> list[Finding]:
    """Non-finite or clearly negative moments are a problem (the robot's dynamics would be made up); a moment
    negative by rounding only, or moments that break the triangle inequality, are a warning: Newton's inertia
    validation corrects them when it loads the robot (``doctor`` on a spec names each correction)."""
    corrected = "Newton corrects it when it loads the robot (fine for a sensor or frame link; else recompute it from "
    corrected += "the link's geometry)"
    if not all(math.isfinite(m) for m in moments) or min(moments) < -ROUNDING:
        return [
            Finding(
                "problem",
                "inertia",
                f"{path}: diagonal inertia {moments} kg·m²; each must be >= 0 and finite: give the link its real "
                f"inertia (a URDF's <inertia>, an MJCF's diaginertia, or the USD's physics:diagonalInertia)",
            )
        ]
    if min(moments) < 0:
        return [
            Finding(
                "warning", "inertia", f"{path}: diagonal inertia {moments} kg·m² is negative by rounding; {corrected}"
            )
        ]
    if any(m > 0 for m in moments) and any(m > sum(moments) - m + 1e-12 for m in moments):
        return [
            Finding(
                "warning",
                "inertia",
                f"{path}: diagonal inertia {moments} kg·m² is not physical (a moment exceeds the sum of the other "
                f"two); {corrected}",
            )
        ]
    return []


def _joint_checks(art: ArticulationInfo, actuated: set[str]) -> list[Finding]:
    out = []
    for joint in art.joints:
        if joint.num_dofs != 1:
            continue
        if math.isinf(joint.lower) and math.isinf(joint.upper):
            out.append(
                Finding(
                    "warning",
                    "limits",
                    f"{joint.path}: no limits (fine for a wheel or a free pole; otherwise author lower and upper "
                    f"limits)",
                )
            )
        if joint.drive is None and joint.name not in actuated:
            out.append(
                Finding(
                    "warning",
                    "drives",
                    f"{joint.path}: no drive: joint_effort actions only, or give it stiffness and damping in a "
                    f'spec\'s [actuators.<group>] (joints = ["{joint.name}"])',
                )
            )
    if not any(f.check == "drives" for f in out):
        out.append(Finding("ok", "drives", f"every 1-DOF joint of {art.root_path} has a drive or an actuator"))
    return out
