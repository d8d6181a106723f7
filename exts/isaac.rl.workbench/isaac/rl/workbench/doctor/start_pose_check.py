"""``doctor``'s start pose check for a floating base, before any physics: where does the spec's start pose (its
``[robot] root_height`` and ``joint_pos``) put the robot's lowest collision point? Inside the ground every
episode starts in a collision (the robot is thrown up or its episodes end at once); far above it, every episode
starts with a fall. The fix is the root height that puts that point ``CLEARANCE`` above the ground.
"""

from __future__ import annotations

import math

from ..scene.inspect import inspect_scene
from ..scene.start_pose import CLEARANCE, authored_root_height, lowest_collision_point, standing_root_height
from ..specs.robot_tables import initial_joint_positions
from ..specs.schema import TaskSpec
from .usd_checks import Finding

HIGH_START = 0.2
"""A start with the lowest collision point higher than this above the ground drops the robot at each reset [m]."""


def start_pose_check(spec: TaskSpec) -> tuple[list[Finding], float | None]:
    """A finding on the start pose of a floating base (none for a fixed one or a robot without collision shapes),
    and the root height [m] that puts its lowest collision point ``CLEARANCE`` above the ground (None when there
    is no floating base or no collision shape)."""
    art = inspect_scene(spec.scene).find(spec.articulation)
    floating = spec.robot.base == "floating" or (spec.robot.base is None and not art.fixed_base)
    if not floating:
        return [], None
    names = spec.joint_names
    joint_pos = {n: v for n, v in zip(names, initial_joint_positions(spec.robot, names), strict=True)}
    joint_pos = {n: v for n, v in joint_pos.items() if not math.isnan(v)}
    lowest = lowest_collision_point(spec.scene, art, joint_pos, spec.robot.root_height)
    height = standing_root_height(spec.scene, art, joint_pos)
    if lowest is None or height is None:
        return [], None
    fix = f"paste [robot] root_height = {height} (the lowest point {CLEARANCE * 1000:g} mm up)"
    if lowest < -0.001:
        level, what = "problem", f"{-lowest:.3f} m below the ground: every episode starts inside it; {fix}"
    elif lowest > HIGH_START:
        level, what = "warning", f"{lowest:.3f} m above the ground: the robot drops at every reset; {fix}"
    else:
        level, what = "ok", f"{lowest:.3f} m above the ground"
    return [Finding(level, "start pose", f"the start pose puts the lowest collision point {what}")], height


def spec_root_height(spec: TaskSpec) -> float:
    """The height [m] a floating root starts at: the spec's ``[robot] root_height``, else the scene's."""
    if spec.robot.root_height is not None:
        return spec.robot.root_height
    return authored_root_height(spec.scene, inspect_scene(spec.scene).find(spec.articulation))
