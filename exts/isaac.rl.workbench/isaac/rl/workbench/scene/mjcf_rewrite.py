"""An MJCF rewritten, on a copy, into the shape a USD articulation can hold, before ``mujoco-usd-converter`` runs.

MuJoCo lets a body carry several joints (Gymnasium's humanoid: ``abdomen_z`` and ``abdomen_y`` on one body) and a
top-level body carry joints to the world (half_cheetah's planar ``rootx``, ``rootz``, ``rooty``; reacher's arm
hinged to the world). A USD joint connects exactly two bodies, and a joint to the world makes its body a root of
its own in Newton, so the converter's output loses all but one joint of each such body and cannot be trained.
The copy is rewritten so that every body has at most one joint, with the same motion as MuJoCo computes:

- **Unnamed bodies** are named after their first joint (else ``<parent>_body``), unnamed joints ``<body>_joint``,
  since the converter would name them all alike (Gymnasium's ant has four bodies ``Body``), which a spec cannot
  tell apart.
- **Several joints on one body** become a chain: the body's joints but the last go, one each, to new bodies
  inserted between the body and its parent, all at the body's frame (MuJoCo applies a body's joints in order,
  each about its anchor in the frame the previous ones moved, which is what the chain does). The new bodies are
  named ``<body>_<joint>`` and carry a tiny invisible, non-colliding mass (:data:`LINK_MASS`, 1 g), which Newton
  needs for a moving body and which MuJoCo does not: it is below what the models' own bodies weigh by far.
  Contacts between the body and its former parent stay excluded, as MuJoCo excludes parent and child.
- **Joints to the world** (top-level bodies with joints other than a free joint) go under one new ``base`` body,
  welded to the world at the origin, so that the slides and hinges become ordinary joints of one fixed-base
  articulation (two such roots, like reacher's arm and target, share it).
- **``<compiler settotalmass>``** (half_cheetah: 14 kg) is taken out, since the converter ignores it and writes the
  masses the geoms' densities give (21.2 kg for half_cheetah); :attr:`Rewrite.mass_scale` says by how much MuJoCo
  would scale every mass and inertia, and :func:`scale_masses` applies it to the converted USD.
- **Geoms, sites and cameras named like a joint or body beside them** are renamed ``<name>_<tag>`` (references
  to them updated), since the converter gives a body's children USD names from one namespace and would otherwise rename
  the joint (half_cheetah's joint ``bthigh`` would become ``bthigh_1`` beside its geom ``bthigh``).

The rewrite works on the MJCF (ElementTree), not on the converted USD: inserting bodies into the MJCF lets the
converter author every frame, mass, joint and actuator target of the result itself, consistently, whereas the
converter's USD is split over layers and payloads that an edit would have to keep in step (joint frames, body
transforms, ``MjcActuator`` targets) and that change with the converter's version. Includes are inlined and the
asset folders made absolute, so the copy can live in a temporary folder.
"""

from __future__ import annotations

import copy
import os
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

from pxr import Usd, UsdPhysics

LINK_MASS = 0.001
"""Mass [kg] of each body inserted (a chain's, the fixed base's): a sphere of 5 mm radius, non-colliding and
invisible."""
_FRAME_KEYS = ("pos", "quat", "axisangle", "xyaxes", "zaxis", "euler")  # a body's frame, moved to the chain's top
_REFERENCES = {"geom": "geom", "geom1": "geom", "geom2": "geom", "site": "site", "sidesite": "site", "camera": "camera"}
"""Attributes that name a geom, site or camera (in pairs, sensors, tendons), by the tag of what they name."""


@dataclass
class Rewrite:
    """What :func:`rewrite_mjcf` changed, one line each, for the user (empty: nothing to change, the model
    converts as written)."""

    changes: list[str] = field(default_factory=list)
    mass_scale: float = 1.0
    """What MuJoCo's ``<compiler settotalmass>`` multiplies every mass and inertia by [1]; 1 without one."""


def rewrite_mjcf(source: Path, target: Path) -> Rewrite:
    """Write ``source`` (an MJCF file) to ``target`` with every body holding at most one joint and no joint to the
    world but a free joint (see the module's docstring); includes inlined, asset folders absolute.

    Raises:
        OSError: an included file cannot be read.
        ElementTree.ParseError: an included file is not XML.
    """
    tree = ElementTree.parse(source)
    mujoco = tree.getroot()
    _inline_includes(mujoco, source.resolve().parent)
    _absolute_asset_folders(mujoco, source.resolve().parent)
    done = Rewrite()
    names = _names(mujoco)
    _name_bodies(mujoco, names, done)
    _rename_clashing_children(mujoco, names, done)
    joint_types = _JointTypes(mujoco)
    for worldbody in mujoco.iter("worldbody"):
        _add_fixed_base(worldbody, joint_types, names, done)
    excluded = []
    for parent in list(mujoco.iter()):
        for index, body in enumerate(list(parent)):
            if body.tag == "body" and len(body.findall("joint")) > 1:
                excluded.append(_split_joints(parent, index, body, names, done))
    if excluded:
        contact = mujoco.find("contact")
        if contact is None:
            contact = ElementTree.SubElement(mujoco, "contact")
        for body, former_parent in excluded:
            if former_parent:
                ElementTree.SubElement(contact, "exclude", body1=former_parent, body2=body)
    total = [c.attrib.pop("settotalmass") for c in mujoco.findall("compiler") if "settotalmass" in c.attrib]
    tree.write(target, encoding="unicode")
    if total:
        done.mass_scale = _total_mass_scale(target, float(total[-1]))
        done.changes.append(
            f"settotalmass {float(total[-1]):g} kg: every mass and inertia scaled by {done.mass_scale:.4g} after "
            "conversion, as MuJoCo does (the converter ignores settotalmass)"
        )
    return done


def _total_mass_scale(model: Path, total: float) -> float:
    """The factor MuJoCo's ``settotalmass = total`` [kg] applies to the masses of ``model`` (an MJCF without it)."""
    import mujoco  # here: the commands that read scenes only (doctor, inspect) start without MuJoCo

    masses = mujoco.MjModel.from_xml_path(str(model)).body_mass
    return total / float(masses.sum())


def scale_masses(usd_file: Path, scale: float) -> None:
    """Multiply every mass, density and inertia authored in the robot ``usd_file`` by ``scale``, as overrides in
    its root layer (the converter's layers are left as written)."""
    stage = Usd.Stage.Open(str(usd_file))
    for prim in stage.Traverse():
        if not prim.HasAPI(UsdPhysics.MassAPI):
            continue
        api = UsdPhysics.MassAPI(prim)
        for attribute in (api.GetMassAttr(), api.GetDensityAttr(), api.GetDiagonalInertiaAttr()):
            value = attribute.Get() if attribute.HasAuthoredValue() else None
            if value is not None:
                attribute.Set(type(value)(*(v * scale for v in value)) if hasattr(value, "__len__") else value * scale)
    stage.GetRootLayer().Save()


def _inline_includes(element: ElementTree.Element, folder: Path) -> None:
    """Replace each ``<include file>`` under ``element`` with the children of the included file's ``<mujoco>``."""
    for index, child in reversed(list(enumerate(element))):
        if child.tag == "include":
            included = ElementTree.parse(folder / child.get("file", "")).getroot()
            _inline_includes(included, folder)
            element[index : index + 1] = list(included)
        else:
            _inline_includes(child, folder)


def _absolute_asset_folders(mujoco: ElementTree.Element, folder: Path) -> None:
    """``<compiler>`` asset folders made absolute, all three set: MuJoCo reads them relative to the model's folder
    (``meshdir`` and ``texturedir`` default to ``assetdir``, and all three to that folder)."""
    compilers = mujoco.findall("compiler")
    if not compilers:
        compilers = [ElementTree.Element("compiler")]
        mujoco.insert(0, compilers[0])
    given = {key: value for compiler in compilers for key, value in compiler.attrib.items()}
    assets = folder / given.get("assetdir", ".")
    resolved = {
        "assetdir": assets,
        "meshdir": folder / given["meshdir"] if "meshdir" in given else assets,
        "texturedir": folder / given["texturedir"] if "texturedir" in given else assets,
    }
    for compiler in compilers:
        for key, path in resolved.items():
            compiler.set(key, os.path.normpath(path))


def _names(mujoco: ElementTree.Element) -> set[str]:
    """Every name used in the model, so that new names are unique."""
    return {element.get("name") for element in mujoco.iter() if element.get("name")}


def _unique(name: str, names: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... : the first not in ``names``, which it is added to."""
    candidate, number = name, 1
    while candidate in names:
        number += 1
        candidate = f"{name}_{number}"
    names.add(candidate)
    return candidate


def _name_bodies(mujoco: ElementTree.Element, names: set[str], done: Rewrite) -> None:
    """Unnamed bodies get a name: their first joint's (as half_cheetah names ``bthigh`` the body its joint
    ``bthigh`` moves), else ``<parent>_body``; unnamed joints ``<body>_joint``. The converter would name them all
    alike (``Body``), which a spec cannot tell apart."""
    named = []
    for parent in mujoco.iter():
        for body in parent.findall("body"):
            if not body.get("name"):
                joint = next((j.get("name") for j in body.findall("joint") if j.get("name")), None)
                body.set("name", _unique(joint or f"{parent.get('name', 'world')}_body", names))
                named.append(body.get("name"))
    for body in mujoco.iter("body"):
        for joint in body.findall("joint"):
            if not joint.get("name"):
                joint.set("name", _unique(f"{body.get('name')}_joint", names))
                named.append(joint.get("name"))
    if named:
        done.changes.append(f"named {len(named)} unnamed bodies and joints: {', '.join(named)}")


def _rename_clashing_children(mujoco: ElementTree.Element, names: set[str], done: Rewrite) -> None:
    """Geoms, sites and cameras named like a joint or a child body of their own body (the converter's USD
    siblings) get ``_<tag>`` appended; references to them follow."""
    renamed: dict[tuple[str, str], str] = {}  # (tag, old name) -> new name
    for body in mujoco.iter("body"):
        taken = {child.get("name") for child in body if child.tag in ("joint", "freejoint", "body")} - {None}
        for child in body:
            if child.tag in ("geom", "site", "camera") and child.get("name") in taken:
                new = _unique(f"{child.get('name')}_{child.tag}", names)
                renamed[child.tag, child.get("name")] = new
                child.set("name", new)
    for element in mujoco.iter():
        references = dict(_REFERENCES, objname=element.get("objtype", ""))
        for key, tag in references.items():
            if (tag, element.get(key)) in renamed:
                element.set(key, renamed[tag, element.get(key)])
    if renamed:
        pairs = ", ".join(f"{old} -> {new}" for (_, old), new in renamed.items())
        done.changes.append(
            f"renamed {len(renamed)} geom(s), site(s) or camera(s) named like a joint or body beside them, so "
            f"that joint and body names stay as written: {pairs}"
        )


class _JointTypes:
    """A ``<joint>``'s type as MuJoCo resolves it: its own ``type``, else its default class's (the joint's
    ``class``, else the nearest ``childclass`` of its bodies, else ``main``), else ``hinge``."""

    def __init__(self, mujoco: ElementTree.Element):
        self.by_class: dict[str, str] = {}
        for default in mujoco.findall("default"):
            self._read(default, "hinge")

    def _read(self, default: ElementTree.Element, inherited: str) -> None:
        joint = default.find("joint")
        kind = joint.get("type", inherited) if joint is not None else inherited
        self.by_class[default.get("class", "main")] = kind
        for child in default.findall("default"):
            self._read(child, kind)

    def of(self, joint: ElementTree.Element, childclass: str | None) -> str:
        if joint.tag == "freejoint":
            return "free"
        return joint.get("type") or self.by_class.get(joint.get("class") or childclass or "main", "hinge")


def _add_fixed_base(worldbody: ElementTree.Element, joint_types: _JointTypes, names: set[str], done: Rewrite) -> None:
    """Top-level bodies with joints other than a free joint go under one new ``base`` body welded to the world."""
    hinged = [
        body
        for body in worldbody.findall("body")
        if body.findall("joint")
        and all(joint_types.of(j, body.get("childclass")) != "free" for j in body.findall("joint"))
    ]
    if not hinged:
        return
    base = ElementTree.Element("body", name=_unique("base", names), pos="0 0 0")
    base.append(_link_geom())
    worldbody.insert(list(worldbody).index(hinged[0]), base)
    for body in hinged:
        worldbody.remove(body)
        base.append(body)
    joints = [j.get("name", "?") for body in hinged for j in body.findall("joint")]
    roots = ", ".join(b.get("name", "?") for b in hinged)
    done.changes.append(
        f"added body '{base.get('name')}', welded to the world, as the parent of {roots}: "
        f"their joints to the world ({', '.join(joints)}) become joints of a fixed-base articulation"
    )


def _split_joints(parent: ElementTree.Element, index: int, body: ElementTree.Element, names, done) -> tuple[str, str]:
    """Move all joints of ``body`` (the ``index``-th child of ``parent``) but the last into a chain of new bodies
    between ``parent`` and ``body``; returns (body's name, its former parent body's name or "")."""
    joints = body.findall("joint")
    childclass = body.get("childclass")  # the body's own class for its joints; its ancestors' reach the chain
    top = holder = ElementTree.Element("body")
    for key in _FRAME_KEYS:
        if key in body.attrib:
            top.set(key, body.attrib.pop(key))
    chain = []
    for number, joint in enumerate(joints[:-1]):
        link = top if number == 0 else ElementTree.SubElement(holder, "body")
        link.set("name", _unique(f"{body.get('name', 'body')}_{joint.get('name', number)}", names))
        body.remove(joint)
        if childclass and "class" not in joint.attrib:
            joint.set("class", childclass)
        link.append(joint)
        link.append(_link_geom())
        chain.append(link.get("name"))
        holder = link
    parent[index] = top
    holder.append(body)
    done.changes.append(
        f"split body '{body.get('name', '?')}' ({len(joints)} joints) into a chain: {' -> '.join(chain)} -> "
        f"{body.get('name', '?')}, one joint each"
    )
    return body.get("name", ""), parent.get("name", "") if parent.tag == "body" else ""


def _link_geom() -> ElementTree.Element:
    """The tiny, invisible, non-colliding mass of an inserted body (:data:`LINK_MASS`)."""
    return copy.deepcopy(_LINK_GEOM)


_LINK_GEOM = ElementTree.Element(
    "geom",
    type="sphere",
    size="0.005",
    mass=str(LINK_MASS),
    contype="0",
    conaffinity="0",
    group="5",
    rgba="0 0 0 0",
)
