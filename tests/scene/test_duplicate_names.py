"""Bodies or joints that share a name (the last component of their prim path, which a spec names them by): ``inspect``
and ``import`` report each shared name in one line with the paths, and a spec term that names one is refused in one
line instead of reading the first of them for each."""

from __future__ import annotations

from pathlib import Path

import pytest
from isaac.rl.workbench.scene.inspect import format_scene, inspect_scene
from isaac.rl.workbench.specs.loader import spec_from_table
from isaac.rl.workbench.specs.schema import SpecError
from pxr import Gf, Usd, UsdGeom, UsdPhysics


def _write_legs(path: Path, joint_names: tuple[str, ...]) -> Path:
    """A fixed base with two legs, each a body named ``Body`` under its own Xform, hinged by ``joint_names``."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    base = UsdGeom.Xform.Define(stage, "/bot/base").GetPrim()
    UsdPhysics.RigidBodyAPI.Apply(base)
    UsdPhysics.ArticulationRootAPI.Apply(base)
    UsdPhysics.FixedJoint.Define(stage, "/bot/base/weld").CreateBody1Rel().SetTargets([base.GetPath()])
    for side, y, joint_name in zip(("left", "right"), (0.2, -0.2), joint_names, strict=True):
        leg = UsdGeom.Xform.Define(stage, f"/bot/base/{side}/Body")
        leg.AddTranslateOp().Set(Gf.Vec3d(0.0, y, -0.2))
        UsdPhysics.RigidBodyAPI.Apply(leg.GetPrim())
        joint = UsdPhysics.RevoluteJoint.Define(stage, f"/bot/base/{side}/Body/{joint_name}")
        joint.CreateBody0Rel().SetTargets([base.GetPath()])
        joint.CreateBody1Rel().SetTargets([leg.GetPath()])
        joint.CreateAxisAttr("Y")
    stage.Save()
    return path


def test_shared_body_and_joint_names_are_reported_one_line_each_with_their_paths(tmp_path):
    art = inspect_scene(_write_legs(tmp_path / "legs.usda", ("hip", "hip"))).find(None)
    assert art.duplicate_names == (
        "2 bodies are named 'Body' (/bot/base/left/Body, /bot/base/right/Body): a spec cannot name one of them; "
        "rename them in the robot file",
        "2 joints are named 'hip' (/bot/base/left/Body/hip, /bot/base/right/Body/hip): a spec cannot name one of "
        "them; rename them in the robot file",
    )
    warnings = [line for line in format_scene(inspect_scene(tmp_path / "legs.usda")).splitlines() if "warning" in line]
    assert warnings == [f"  warning: {line}" for line in art.duplicate_names]


def _spec(scene: Path, terms: dict) -> dict:
    return {
        "scene": str(scene),
        "articulation": "/bot/base",
        "env": {"num_envs": 1},
        "actions": {"type": "joint_effort", "joints": ["left_hip"]},
        "observations": {"policy": {"terms": ["joint_pos"]}},
        "rewards": {"alive": {"func": "is_alive"}},
    } | terms


@pytest.mark.parametrize(
    ("terms", "key", "says"),
    [
        (
            {"terminations": {"touch": {"func": "illegal_contact", "params": {"bodies": ["Body"]}}}},
            "terminations.touch.params.bodies",
            "'Body' is ambiguous: 2 bodies of articulation /bot/base are named 'Body'",
        ),
        (
            {"terminations": {"touch": {"func": "illegal_contact", "params": {"bodies": ["B.*"]}}}},
            "terminations.touch.params.bodies",
            "'B.*' is ambiguous: 2 bodies of articulation /bot/base are named 'Body'",
        ),
    ],
    ids=["by name", "by regex"],
)
def test_a_term_naming_a_shared_body_name_is_refused_in_one_line(tmp_path, terms, key, says):
    scene = _write_legs(tmp_path / "legs.usda", ("left_hip", "right_hip"))
    with pytest.raises(SpecError) as caught:
        spec_from_table(_spec(scene, terms), tmp_path / "spec.toml")
    assert f"key '{key}'" in str(caught.value) and says in str(caught.value), str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_body_whose_name_is_its_own_is_still_found(tmp_path):
    scene = _write_legs(tmp_path / "legs.usda", ("left_hip", "right_hip"))
    terms = {"terminations": {"touch": {"func": "illegal_contact", "params": {"bodies": ["base"]}}}}
    spec = spec_from_table(_spec(scene, terms), tmp_path / "spec.toml")
    assert spec.terminations["touch"].params["bodies"] == ["base"]
