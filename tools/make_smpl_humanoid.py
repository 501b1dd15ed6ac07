"""Write ``data/assets/smpl/smpl.xml``: an SMPL-proportioned capsule humanoid authored here.

SMPL's 24 joints with SMPL's names and MuJoCo-style depth-first order (Pelvis, L_Hip ... R_Hand), each
non-root joint a MuJoCo ``ball`` (69 DoFs, exp-map coordinates like our DeepMimic humanoid). No SMPL model
file is read or needed: the bone offsets are adult anthropometric proportions chosen here (about 1.71 m
tall, standing root height 0.935 m), and the shapes are capsules, spheres and boxes. Rest pose: SMPL's
T-pose turned into our world convention (z up, facing +x, left along +y).

Run ``python tools/make_smpl_humanoid.py`` to rewrite the file; a test checks the committed file equals
this script's output.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "data/assets/smpl/smpl.xml"
DENSITY = 1100.0  # kg/m^3 for every shape (total mass printed by the script)


@dataclass(frozen=True)
class Servo:
    """PD servo of a ball joint: kp [N m/rad], kd [N m s/rad], torque limit [N m], armature [kg m^2]."""

    kp: float
    kd: float
    torque: float
    armature: float


HIP, KNEE, ANKLE, TOE = Servo(700, 70, 280, 0.02), Servo(700, 70, 210, 0.02), Servo(560, 56, 125, 0.01), \
    Servo(200, 20, 40, 0.01)
SPINE, NECK = Servo(1000, 100, 280, 0.02), Servo(150, 15, 70, 0.01)
THORAX, SHOULDER, ELBOW = Servo(400, 40, 140, 0.02), Servo(560, 56, 140, 0.02), Servo(420, 42, 84, 0.01)
WRIST, HAND = Servo(150, 15, 30, 0.01), Servo(100, 10, 20, 0.01)


@dataclass(frozen=True)
class Bone:
    """One body: parent, origin in the parent frame [m], shapes (MJCF geom attributes), per-axis DoF ranges
    [rad] (x, y, z lo/hi) and servo."""

    name: str
    parent: str | None
    pos: tuple[float, float, float]
    geoms: tuple[str, ...]
    ranges: tuple[float, float, float, float, float, float] | None
    servo: Servo | None


def _side(sign: int, prefix: str) -> list[Bone]:
    """Leg and arm of one side (sign +1: left, along +y; -1: right). Ranges mirror across the sagittal plane:
    x and z flip sign, y (flexion about the left axis) stays."""
    s = sign

    def mirror(r: tuple[float, ...]) -> tuple[float, ...]:
        if s > 0:
            return r
        return (-r[1], -r[0], r[2], r[3], -r[5], -r[4])

    def y(v: float) -> float:
        return s * v

    return [
        Bone(f"{prefix}_Hip", "Pelvis", (-0.005, y(0.075), -0.085),
             ('type="capsule" size="0.065" fromto="0 0 -0.04 0.005 0 -0.33"',),
             mirror((-0.6, 1.5, -2.5, 1.0, -1.0, 1.0)), HIP),
        Bone(f"{prefix}_Knee", f"{prefix}_Hip", (0.005, 0.0, -0.375),
             ('type="capsule" size="0.05" fromto="0 0 -0.045 -0.035 0 -0.35"',),
             mirror((-0.7, 0.7, -0.3, 2.8, -0.7, 0.7)), KNEE),
        Bone(f"{prefix}_Ankle", f"{prefix}_Knee", (-0.04, 0.0, -0.40),
             ('type="box" size="0.075 0.045 0.03" pos="0.04 0 -0.045"',),
             mirror((-0.8, 0.8, -1.1, 1.1, -0.8, 0.8)), ANKLE),
        Bone(f"{prefix}_Toe", f"{prefix}_Ankle", (0.12, 0.0, -0.055),
             ('type="box" size="0.03 0.045 0.02" pos="0.025 0 0"',),
             mirror((-0.3, 0.3, -1.0, 0.6, -0.3, 0.3)), TOE),
    ], [
        Bone(f"{prefix}_Thorax", "Chest", (-0.01, y(0.075), 0.115),
             (f'type="capsule" size="0.05" fromto="0 {y(0.025)} 0.005 0 {y(0.1)} 0.02"',),
             mirror((-0.5, 0.5, -0.5, 0.5, -0.5, 0.5)), THORAX),
        Bone(f"{prefix}_Shoulder", f"{prefix}_Thorax", (-0.01, y(0.12), 0.03),
             (f'type="capsule" size="0.05" fromto="0 {y(0.035)} 0 0 {y(0.215)} 0"',),
             mirror((-2.8, 1.6, -1.6, 1.6, -2.8, 1.0)), SHOULDER),
        Bone(f"{prefix}_Elbow", f"{prefix}_Shoulder", (0.0, y(0.255), 0.0),
             (f'type="capsule" size="0.04" fromto="0 {y(0.035)} 0 0 {y(0.215)} 0"',),
             mirror((-0.5, 0.5, -1.6, 1.6, -2.8, 0.1)), ELBOW),
        Bone(f"{prefix}_Wrist", f"{prefix}_Elbow", (0.0, y(0.25), 0.0),
             (f'type="capsule" size="0.033" fromto="0 {y(0.015)} 0 0 {y(0.05)} 0"',),
             mirror((-1.0, 1.0, -1.0, 1.0, -1.0, 1.0)), WRIST),
        Bone(f"{prefix}_Hand", f"{prefix}_Wrist", (0.0, y(0.085), 0.0),
             (f'type="capsule" size="0.03" fromto="0 {y(0.01)} 0 0 {y(0.06)} 0"',),
             mirror((-0.5, 0.5, -0.5, 0.5, -0.5, 0.5)), HAND),
    ]


def skeleton() -> list[Bone]:
    """The 24 bodies in MuJoCo order (the order of upstream's SMPL clips' DoFs)."""
    left_leg, left_arm = _side(1, "L")
    right_leg, right_arm = _side(-1, "R")
    spine = (-0.8, 0.8, -0.9, 1.2, -0.8, 0.8)
    trunk = [
        Bone("Torso", "Pelvis", (-0.02, 0.0, 0.105),
             ('type="capsule" size="0.08" fromto="0 -0.06 0.045 0 0.06 0.045"',), spine, SPINE),
        Bone("Spine", "Torso", (0.005, 0.0, 0.135), ('type="capsule" size="0.08" fromto="0 -0.05 0.03 0 0.05 0.03"',),
             spine, SPINE),
        Bone("Chest", "Spine", (0.0, 0.0, 0.055),
             ('type="capsule" size="0.095" fromto="-0.01 -0.075 0.095 -0.01 0.075 0.095"',), spine, SPINE),
        Bone("Neck", "Chest", (-0.025, 0.0, 0.215), ('type="capsule" size="0.05" fromto="0 0 0.01 0.01 0 0.06"',),
             (-0.8, 0.8, -0.8, 0.8, -1.0, 1.0), NECK),
        Bone("Head", "Neck", (0.05, 0.0, 0.09), ('type="sphere" size="0.1" pos="0 0 0.08"',),
             (-0.8, 0.8, -0.8, 0.8, -1.0, 1.0), NECK),
    ]
    pelvis = Bone("Pelvis", None, (0.0, 0.0, 0.0),
                  ('type="capsule" size="0.085" fromto="-0.01 -0.055 0 -0.01 0.055 0"',), None, None)
    return [pelvis, *left_leg, *right_leg, *trunk, *left_arm, *right_arm]


# Bodies whose shapes overlap in the rest pose without being parent and child (the trunk is a chain of short
# bones; MuJoCo already ignores parent-child contacts).
EXCLUDES = [("Pelvis", "Spine"), ("Torso", "Chest"), ("Spine", "Neck"), ("Spine", "L_Thorax"),
            ("Spine", "R_Thorax"), ("Chest", "Head"), ("Chest", "L_Shoulder"), ("Chest", "R_Shoulder"),
            ("L_Thorax", "R_Thorax"), ("Neck", "L_Thorax"), ("Neck", "R_Thorax")]

ROOT_HEIGHT = 0.935  # m: pelvis above the soles in the rest pose


def _fmt(values) -> str:
    return " ".join(f"{v:g}" for v in values)


def build_xml() -> str:
    bones = skeleton()
    children: dict[str | None, list[Bone]] = {}
    for b in bones:
        children.setdefault(b.parent, []).append(b)
    lines = [
        "<!--",
        "  SMPL-proportioned humanoid for MimicKit, generated by tools/make_smpl_humanoid.py (do not edit by hand).",
        "  SMPL's 24 joint names in MuJoCo depth-first order; 23 ball joints = 69 DoFs (exp-map coordinates), each",
        "  with three unit-gear position servos (kp, kv, forcerange = PD gains and torque limit). Bone offsets and",
        "  shapes are anthropometric proportions authored here; no SMPL model data is used. Rest pose: T-pose,",
        "  z up, facing +x, left along +y. Per-axis DoF ranges in <custom> numerics dof_range:<joint>.",
        "-->",
        '<mujoco model="smpl">',
        '  <compiler angle="radian" inertiafromgeom="true"/>',
        '  <option timestep="0.00833333" integrator="implicitfast"/>',
        "",
        "  <default>",
        '    <joint limited="true" solimplimit="0 0.99 0.01"/>',
        '    <position ctrllimited="false" forcelimited="true"/>',
        '    <default class="body">',
        f'      <geom condim="1" friction="1.0 0.05 0.05" solimp="0.9 0.99 0.003" solref="0.015 1" '
        f'density="{DENSITY:g}" rgba="0.55 0.65 0.8 1"/>',
        "    </default>",
        "  </default>",
        "",
        "  <custom>",
    ]
    for b in bones:
        if b.ranges is not None:
            lines.append(f'    <numeric name="dof_range:{b.name}" data="{_fmt(b.ranges)}"/>')
    lines += ["  </custom>", "", "  <worldbody>"]

    def emit(bone: Bone, depth: int) -> None:
        pad = "  " * depth
        attrs = 'childclass="body" ' if bone.parent is None else ""
        lines.append(f'{pad}<body name="{bone.name}" {attrs}pos="{_fmt(bone.pos)}">')
        if bone.parent is None:
            lines.append(f'{pad}  <freejoint name="root"/>')
        else:
            cone = max(abs(v) for v in bone.ranges)
            lines.append(f'{pad}  <joint name="{bone.name}" type="ball" range="0 {cone:g}" '
                         f'armature="{bone.servo.armature:g}"/>')
        for i, g in enumerate(bone.geoms):
            suffix = "" if len(bone.geoms) == 1 else f"_{i}"
            lines.append(f'{pad}  <geom name="{bone.name}{suffix}" {g}/>')
        for child in children.get(bone.name, []):
            emit(child, depth + 1)
        lines.append(f"{pad}</body>")

    emit(bones[0], 2)
    lines += ["  </worldbody>", "", "  <contact>"]
    lines += [f'    <exclude body1="{a}" body2="{b}"/>' for a, b in EXCLUDES]
    lines += ["  </contact>", "", "  <!-- PD servos in DoF order (x, y, z per joint). -->", "  <actuator>"]
    for b in _dof_order(bones, children):
        s = b.servo
        for axis, gear in zip("xyz", ("1 0 0", "0 1 0", "0 0 1"), strict=True):
            lines.append(f'    <position name="{b.name}_{axis}" joint="{b.name}" gear="{gear}" kp="{s.kp:g}" '
                         f'kv="{s.kd:g}" forcerange="{-s.torque:g} {s.torque:g}"/>')
    lines += ["  </actuator>", "</mujoco>", ""]
    return "\n".join(lines)


def _dof_order(bones: list[Bone], children: dict[str | None, list[Bone]]) -> list[Bone]:
    """Non-root bones depth-first, the order of the bodies (and DoFs) in the written file."""
    out: list[Bone] = []

    def visit(b: Bone) -> None:
        if b.parent is not None:
            out.append(b)
        for c in children.get(b.name, []):
            visit(c)

    visit(bones[0])
    return out


def init_pose() -> list[float]:
    """Root at the standing height, arms rotated down from the T-pose (upstream's SMPL init pose: -pi/2 and
    +pi/2 on the x DoF of L_Shoulder and R_Shoulder, DoF indices 42 and 57)."""
    pose = [0.0, 0.0, ROOT_HEIGHT, 0.0, 0.0, 0.0] + [0.0] * 69
    pose[6 + 42], pose[6 + 57] = -math.pi / 2, math.pi / 2
    return pose


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(OUT))
    args = parser.parse_args(argv)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_xml())
    import mujoco

    model = mujoco.MjModel.from_xml_path(str(out))
    print(f"wrote {out}: {model.nbody - 1} bodies, nv {model.nv}, mass {model.body_subtreemass[1]:.1f} kg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
