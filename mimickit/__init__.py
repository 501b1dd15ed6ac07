"""MimicKit: physics-based character motion imitation with reinforcement learning."""

from mimickit.util.gl_backend import ensure_gl_backend

ensure_gl_backend()
