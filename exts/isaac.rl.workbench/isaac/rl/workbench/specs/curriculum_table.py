"""The ``[curriculum]`` table of a spec: what changes as the policy learns. Its one entry is the terrain curriculum,
read into :class:`~.schema.TerrainLevelsSpec`; without the table every env stays on its start tile.

```toml
[curriculum.terrain_levels]     # Isaac Lab's terrain_levels_vel
command = "base_velocity"       # the velocity command whose distance an env must cover
```
"""

from __future__ import annotations

from .schema import CommandSpec, TerrainLevelsSpec
from .tables import SpecTable


def load_curriculum(t: SpecTable, commands: dict[str, CommandSpec], has_terrain: bool) -> TerrainLevelsSpec | None:
    """``[curriculum]``, validated: its ``terrain_levels`` table, or None where it has none.

    Args:
        t: the ``curriculum`` table.
        commands: the spec's commands, by name.
        has_terrain: whether the spec has a ``[terrain]`` table.

    Raises:
        SpecError: naming the key (``curriculum.terrain_levels.command``) and what was expected.
    """
    t.check_keys(["terrain_levels"])
    if "terrain_levels" not in t.data:
        return None
    levels = t.sub("terrain_levels")
    levels.check_keys(TerrainLevelsSpec.__dataclass_fields__)
    if not has_terrain:
        raise t.error("terrain_levels", "a terrain curriculum moves envs over a [terrain]: add a [terrain] table")
    command = levels.get("command", str, required=True)
    velocity = [name for name, spec in commands.items() if spec.type == "velocity"]
    if command not in velocity:
        known = ", ".join(velocity) or "none"
        raise levels.error("command", f"expected a [commands.<name>] of type velocity ({known}), got '{command}'")
    return TerrainLevelsSpec(command=command)
