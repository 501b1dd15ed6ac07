"""Pick an offscreen OpenGL backend for MuJoCo on machines without a display.

MuJoCo reads ``MUJOCO_GL`` when it is first imported, so this runs from ``mimickit/__init__.py``.
"""

from __future__ import annotations

import ctypes.util
import os


def ensure_gl_backend() -> str:
    """Without a display and without a user choice, use OSMesa (``apt-get install libosmesa6``), else EGL."""
    if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
        if ctypes.util.find_library("OSMesa"):
            os.environ["MUJOCO_GL"] = "osmesa"
            os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
        elif ctypes.util.find_library("EGL"):
            os.environ["MUJOCO_GL"] = "egl"
            os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    return os.environ.get("MUJOCO_GL", "glfw")
