#!/usr/bin/env python
"""Build ``data/assets/g1/g1.xml``, the Unitree G1 (29 DoF) as MimicKit drives it, from the mjlab wheel.

Source: ``mjlab/asset_zoo/robots/unitree_g1/xmls/g1.xml`` in mjlab 1.6.0 (the model derives from Unitree's
BSD-3 description via MuJoCo Menagerie). Fetch it once (mjlab is never a dependency of MimicKit):

    pip download --no-deps mjlab==1.6.0 -d /tmp/wheels
    python tools/import_g1.py --wheel /tmp/wheels/mjlab-1.6.0-py3-none-any.whl

What changes, and why:
- the visual meshes go (35 STL files, 19 MB): the capsule/sphere collision geoms carry the physics (masses,
  inertias and centres of mass are the bodies' own and do not change) and are made visible instead;
- a fixed ``head_link`` body is added to ``torso_link`` at the centre of the removed head mesh, as a key body
  (upstream's G1 configs name it); it has no mass and no collision and comes after the arms in body order
  (it has no DoFs, so clips' DoF vectors are unaffected);
- position actuators for the 29 joints with mjlab's gains (kp = a w^2, kd = 2 z a w with the rotor armature a,
  w = 2 pi 10 Hz, z = 2), its effort limits as force ranges, and the armatures on the joints;
- the IMU sensors go (MimicKit adds its own contact sensors);
- each sole keeps 5 of its 7 parallel capsules (toe corners, the two sides and the middle one: the same outline)
  and drops the two between the middle and the sides (``foot3`` and ``foot5``), which only duplicate the
  contacts of their neighbours on flat ground: the physics costs less and the shipped G1 models track as before
  (docs/benchmarks.md section 2).
The output is deterministic: re-running the tool reproduces the committed file.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import zipfile
from pathlib import Path

import mujoco
import numpy as np

SOURCE = "mjlab/asset_zoo/robots/unitree_g1/xmls/"
# rotor groups of mjlab's g1_constants.py: armature [kg m^2] and effort limit [N m]
ROTORS = {"5020": (0.003609725, 25.0), "7520_14": (0.010177520, 88.0), "7520_22": (0.025101925, 139.0),
          "4010": (0.00425, 5.0), "2x5020": (2 * 0.003609725, 50.0)}
JOINT_ROTOR = {
    "hip_pitch": "7520_14", "hip_yaw": "7520_14", "waist_yaw": "7520_14", "hip_roll": "7520_22", "knee": "7520_22",
    "shoulder_pitch": "5020", "shoulder_roll": "5020", "shoulder_yaw": "5020", "elbow": "5020", "wrist_roll": "5020",
    "wrist_pitch": "4010", "wrist_yaw": "4010", "waist_roll": "2x5020", "waist_pitch": "2x5020",
    "ankle_pitch": "2x5020", "ankle_roll": "2x5020",
}
NATURAL_FREQ = 2.0 * math.pi * 10.0  # rad/s
DAMPING_RATIO = 2.0
BODY_RGBA = [0.62, 0.66, 0.72, 1.0]
SOLE_CAPSULES_DROPPED = (3, 5)  # of each foot's capsules 1..7 (toe corner, side, ..., middle, ..., side, toe corner)


def rotor_of(joint_name: str) -> tuple[float, float]:
    base = joint_name.removesuffix("_joint").removeprefix("left_").removeprefix("right_")
    return ROTORS[JOINT_ROTOR[base]]


def build(source_xml: Path) -> mujoco.MjSpec:
    spec = mujoco.MjSpec.from_file(str(source_xml))
    full = spec.compile()
    head_geom = next(g for g in range(full.ngeom) if full.geom_dataid[g] >= 0
                     and mujoco.mj_id2name(full, mujoco.mjtObj.mjOBJ_MESH, int(full.geom_dataid[g])) == "head_link")
    head_pos = np.array(full.geom_pos[head_geom])  # the mesh centre in torso_link's frame

    for geom in list(spec.geoms):
        if geom.type == mujoco.mjtGeom.mjGEOM_MESH:
            spec.delete(geom)
        else:  # the collision primitives become the visible body
            geom.group, geom.rgba = 0, BODY_RGBA
    for side in ("left", "right"):
        for k in SOLE_CAPSULES_DROPPED:
            spec.delete(spec.geom(f"{side}_foot{k}_collision"))
    for mesh in list(spec.meshes):
        spec.delete(mesh)
    for sensor in list(spec.sensors):
        spec.delete(sensor)
    spec.compiler.meshdir = ""

    torso = spec.body("torso_link")
    head = torso.add_body(name="head_link", pos=head_pos.tolist())
    head.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.06, 0, 0], rgba=BODY_RGBA, contype=0, conaffinity=0,
                  density=0.0, group=0)
    for joint in spec.joints:
        if joint.type != mujoco.mjtJoint.mjJNT_HINGE:
            continue
        armature, effort = rotor_of(joint.name)
        joint.armature = armature
        kp = armature * NATURAL_FREQ ** 2
        kd = 2.0 * DAMPING_RATIO * armature * NATURAL_FREQ
        act = spec.add_actuator(name=joint.name.removesuffix("_joint"), target=joint.name,
                                trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_position(kp=kp, kv=kd)
        act.forcelimited, act.forcerange = True, [-effort, effort]
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", required=True, help="mjlab-1.6.0-py3-none-any.whl")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "data/assets/g1/g1.xml"))
    cli = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(cli.wheel) as wheel:
        for name in wheel.namelist():
            if name.startswith(SOURCE) and not name.endswith("/"):
                wheel.extract(name, tmp)
        spec = build(Path(tmp) / SOURCE / "g1.xml")
        model = spec.compile()
        xml = spec.to_xml()
    out = Path(cli.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    header = ("<!-- Unitree G1 (29 DoF) for MimicKit, generated by tools/import_g1.py from mjlab 1.6.0's g1.xml "
              "(Unitree, BSD-3; see LICENSE beside this file). Do not edit by hand. -->\n")
    out.write_text(header + xml)
    mass = float(model.body_mass.sum())
    print(f"wrote {out}: {model.nbody - 1} bodies, {model.nu} actuators, {mass:.2f} kg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
