"""The term reference (``docs/terms.md``), written from the term functions' and the env's own docstrings.

``isaac-rl-workbench terms`` prints it; a test fails when the committed file differs from what this writes.
"""

from __future__ import annotations

import inspect
import re

from ..envs.workbench_env import WorkbenchEnv
from ..terms import REGISTRIES

SIGNATURES = {
    "observations": (
        "`(env, **params) -> Tensor[num_envs, k]`: float, one row per env (a 1-D result counts as k = 1); an image "
        "term returns `Tensor[num_envs, C, H, W]`, channels first. The terms of a group are concatenated in spec "
        "order (images along C, all of one H and W); a group holds vectors or images, never both."
    ),
    "rewards": (
        "`(env, **params) -> Tensor[num_envs]`: float. The env multiplies it by the term's `weight` and by the "
        "step duration [s], as Isaac Lab does, so a weight is a rate per second."
    ),
    "terminations": (
        "`(env, **params) -> Tensor[num_envs]`: bool, True where the episode ends. `time_out = true` makes the "
        "term a truncation (bootstrapped), not a failure."
    ),
    "events": (
        "`(env, env_mask, **params) -> None`: writes new state where the bool mask `env_mask` (num_envs,) is True, "
        "through `env.write_dof_state` and `env.add_root_velocity`, or physics properties through "
        '`env.set_physics_property`. `mode = "startup"` runs once when the env is built (physics properties can '
        'only be written then), `mode = "reset"` at resets, `mode = "interval"` every `interval_s` seconds.'
    ),
    "metrics": (
        "`(env, **params) -> Tensor[num_envs]`: float or bool (True counts 1), what a user reads of a trained "
        'policy. `reduce = "final"` keeps the value on the episode\'s last step, `"mean"` averages its steps; '
        "reported as `metric/<name>` over the episodes that ended. Besides these, a metric may name any reward or "
        "termination term."
    ),
}


def _one_line(text: str) -> str:
    """Docstring text on one line, with reST markup (``x``, :attr:`x`) turned into Markdown code."""
    text = re.sub(r":\w+:`~?\.?([^`]+)`", r"`\1`", " ".join(text.split()))
    return text.replace("``", "`")


def _params(func) -> str:
    parts = []
    for p in list(inspect.signature(func).parameters.values()):
        if p.name in ("env", "env_mask"):
            continue
        parts.append(f"`{p.name}`" if p.default is inspect.Parameter.empty else f"`{p.name}={_default(p.default)}`")
    return ", ".join(parts) or "none"


def _default(value) -> str:
    return "all" if isinstance(value, slice) else repr(value)


def _env_attributes() -> list[tuple[str, str]]:
    """(name, description) of the attributes listed in WorkbenchEnv's docstring, then its documented properties."""
    doc = inspect.getdoc(WorkbenchEnv) or ""
    section = doc.split("Attributes a term may read", 1)[1].split("\n", 1)[1]
    rows = []
    for match in re.finditer(r"^\s+(\w+) \(([^)]*\)?)\): (.+?)(?=^\s+\w+ \(|\Z)", section, re.S | re.M):
        rows.append((match.group(1), f"{match.group(2)}: {_one_line(match.group(3))}"))
    for name, member in inspect.getmembers(WorkbenchEnv):
        if isinstance(member, property) and not name.startswith("_") and member.__doc__:
            rows.append((name, _one_line(member.__doc__)))
    for name in (
        "command",
        "command_in_base",
        "camera",
        "cast_rays",
        "write_dof_state",
        "add_root_velocity",
        "physics_property",
        "set_physics_property",
    ):
        method = getattr(WorkbenchEnv, name)
        args = [p for p in inspect.signature(method).parameters.values() if p.name != "self"]
        shown = ", ".join(
            p.name if p.default is inspect.Parameter.empty else f"{p.name}={_default(p.default)}" for p in args
        )
        rows.append((f"{name}({shown})", _one_line((inspect.getdoc(method) or "").split("\n\n")[0])))
    return rows


def terms_markdown() -> str:
    """The whole reference as Markdown."""
    lines = [
        "# Term reference",
        "",
        "Written by `isaac-rl-workbench terms > docs/terms.md` from the docstrings; a test fails when it is stale.",
        "",
        "A spec names a term by its `func` (default: the term's own key) from the tables below, or as",
        "`package.module:function` for your own function. Parameters go in `params = { ... }`; a parameter called",
        "`joints` takes joint names (or full-match regular expressions) and the function receives column indices",
        "into the joint tensors (a slice or an index tensor). Shapes: N = num_envs, D = the articulation's 1-DOF",
        "joints in scene order (`env.spec.joint_names`), A = num_actions, B = bodies. Likewise `body` takes one body",
        "name (the function receives its row index into the body tensors), `bodies` a list of names or patterns",
        "(an index tensor), and `command` the name of a `[commands.<name>]` table.",
        "",
        "## What a term can read from `env`",
        "",
        "| name | what it is |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {text} |" for name, text in _env_attributes()]
    for kind, registry in REGISTRIES.items():
        lines += ["", f"## {kind.capitalize()}", "", SIGNATURES[kind], "", "| func | params | what it computes |"]
        lines.append("|---|---|---|")
        for name, func in registry.items():
            if kind == "metrics" and not func.__module__.endswith(".metrics"):
                continue  # listed under its own kind
            lines.append(f"| `{name}` | {_params(func)} | {_one_line(inspect.getdoc(func) or '')} |")
    return "\n".join(lines) + "\n"
