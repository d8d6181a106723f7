"""The observation terms the robot runtime computes, and the check of a bundle's terms against them."""

from __future__ import annotations

import numpy as np

from .bundle_error import BundleError

SUPPORTED_TERMS = (
    "joint_pos",
    "joint_pos_rel",
    "joint_vel",
    "last_action",
    "root_lin_vel_b",
    "root_ang_vel_b",
    "projected_gravity_b",
    "generated_commands",
)
"""Observation terms the robot runtime can compute."""


def check_observation(bundle) -> list[tuple[str, np.ndarray | str | None]]:
    """Check the observation terms of ``bundle`` (a :class:`~.bundle.Bundle`, or anything with its ``observation``,
    ``joints``, ``policy``, ``commands`` and ``source``) against what the runtime computes; returns each term's name
    and what it selects (joint indices (k,), a command's name, or None).

    Raises:
        BundleError: a term the runtime cannot compute (the message lists the supported ones), a ``joints``
            parameter naming an unknown joint, a command missing from ``commands``, or a size that does not match.
    """
    names = list(bundle.joints["names"])
    terms: list[tuple[str, np.ndarray | str | None]] = []
    for i, term in enumerate(bundle.observation):
        where = f"{bundle.source}: 'observation.terms[{i}]'"
        if term.name not in SUPPORTED_TERMS:
            raise BundleError(
                f"{where} is '{term.name}', which the robot runtime cannot compute; "
                f"supported terms: {', '.join(SUPPORTED_TERMS)}",
                f"observation.terms[{i}].name",
            )
        selector: np.ndarray | str | None = None
        if term.name.startswith("joint_"):
            joints = term.params.get("joints", names)
            unknown = [j for j in joints if j not in names]
            if unknown:
                raise BundleError(
                    f"{where} ({term.name}) names unknown joints {unknown}; joints: {names}",
                    f"observation.terms[{i}].params.joints",
                )
            selector = np.array([names.index(j) for j in joints], dtype=np.int64)
            expected = len(joints)
        elif term.name == "last_action":
            expected = int(bundle.policy["num_actions"])
        elif term.name == "generated_commands":
            selector = term.params.get("command")
            if selector not in bundle.commands:
                raise BundleError(
                    f"{where} (generated_commands) reads command {selector!r}, which 'commands' lacks "
                    f"(commands: {sorted(bundle.commands)})",
                    f"observation.terms[{i}].params.command",
                )
            expected = int(bundle.commands[selector].get("size", 3))
        else:
            expected = 3
        if term.size != expected:
            raise BundleError(
                f"{where} ({term.name}) has size {term.size}, expected {expected}", f"observation.terms[{i}].size"
            )
        terms.append((term.name, selector))
    return terms
