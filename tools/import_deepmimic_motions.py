#!/usr/bin/env python
"""Convert the DeepMimic humanoid clips shipped inside the pybullet wheel into MimicKit clips.

The clips (DeepMimic, MIT; distributed in pybullet, zlib) are JSON ``.txt`` files under
``pybullet_data/data/motions/`` of the pybullet 3.2.7 wheel. Fetch the wheel once (pybullet is never a
runtime dependency of MimicKit):

    pip download --no-deps --only-binary=:all: --python-version 3.11 \\
        --platform manylinux2014_x86_64 pybullet==3.2.7 -d /tmp/pybullet

then regenerate the committed clips:

    python tools/import_deepmimic_motions.py --src /tmp/pybullet/pybullet-3.2.7-*.whl

``--src`` may also be an unpacked ``motions`` folder. Output: ``humanoid3d_<name>.txt`` ->
``<out>/humanoid_<name>.pkl`` and ``walker/<name>.txt`` -> ``<out>/walker/humanoid_walker_<name>.pkl``.
Conversion details: ``mimickit/anim/deepmimic_import.py``. The output is deterministic, so re-running
the tool reproduces the committed files byte for byte.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from mimickit.anim.deepmimic_import import convert_deepmimic_clip  # noqa: E402
from mimickit.anim.mjcf_loader import load_mjcf_char_model  # noqa: E402
from mimickit.anim.motion import save_motion  # noqa: E402
from mimickit.util.cli import guarded  # noqa: E402

WHEEL_MOTION_DIR = "pybullet_data/data/motions/"


def collect_sources(src: Path) -> dict[str, str]:
    """Relative clip path (e.g. ``walker/turn_left0.txt``) -> file text, for every humanoid clip in src."""
    texts: dict[str, str] = {}
    if src.suffix == ".whl":
        with zipfile.ZipFile(src) as wheel:
            for name in wheel.namelist():
                if name.startswith(WHEEL_MOTION_DIR) and name.endswith(".txt"):
                    texts[name[len(WHEEL_MOTION_DIR):]] = wheel.read(name).decode("utf-8")
    elif src.is_dir():
        for path in sorted(src.rglob("*.txt")):
            texts[path.relative_to(src).as_posix()] = path.read_text()
    else:
        raise SystemExit(f"--src {src}: expected the pybullet wheel (.whl) or a folder of DeepMimic .txt clips")
    return {k: v for k, v in sorted(texts.items()) if _output_name(k) is not None}


def _output_name(rel: str) -> str | None:
    path = Path(rel)
    if path.parent.as_posix() == "walker":
        return f"walker/humanoid_walker_{path.stem}.pkl"
    if path.parent.as_posix() == "." and path.stem.startswith("humanoid3d_"):
        return f"humanoid_{path.stem[len('humanoid3d_'):]}.pkl"
    return None  # other characters (e.g. laikago) are not humanoid clips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", type=Path, required=True,
                        help="pybullet 3.2.7 wheel (.whl) or a folder holding DeepMimic humanoid .txt clips")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data/motions/humanoid",
                        help="output folder (default: data/motions/humanoid)")
    parser.add_argument("--char_file", type=Path, default=REPO_ROOT / "data/assets/humanoid/humanoid.xml",
                        help="character the clips are converted for (default: the DeepMimic humanoid)")
    args = parser.parse_args(argv)

    kin_model = load_mjcf_char_model(args.char_file)
    sources = collect_sources(args.src)
    if not sources:
        raise SystemExit(f"--src {args.src}: no DeepMimic humanoid clips found")
    for rel, text in sources.items():
        motion = convert_deepmimic_clip(text, kin_model, source=rel)
        out = args.out / _output_name(rel)
        save_motion(out, motion)
        print(f"{rel:32s} -> {out.relative_to(args.out)}  ({motion.num_frames} frames, {motion.fps:g} fps, "
              f"{motion.length:.3f} s, {motion.loop_mode.name.lower()})")
    print(f"Converted {len(sources)} clips into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(guarded(main))
