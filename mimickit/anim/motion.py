"""Motion clips in the original MimicKit ``.pkl`` format, read through a restricted unpickler.

A clip file is a pickled dict:
- ``loop_mode``: 0 = CLAMP (hold the last frame), 1 = WRAP (loop);
- ``fps``: frames per second;
- ``frames``: ``N x (6 + D)`` numbers per frame: root position (3, world, m), root rotation exp map
  (3, world), then the character's DoFs (exp maps for spherical joints, angles for hinges).

Loading never runs code from the file: the unpickler resolves only the few numpy callables that
rebuild plain arrays; anything else (a class, a function, ``os.system``...) is refused.
"""

from __future__ import annotations

import codecs
import enum
import importlib
import io
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class LoopMode(enum.IntEnum):
    CLAMP = 0
    WRAP = 1


class MotionFileError(ValueError):
    """A clip file that cannot be used; the message names the file and the field."""


# Callables a pickle of plain numpy arrays and scalars needs, under numpy 1.x and 2.x module names.
_ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
})


def _resolve_allowed(module: str, name: str):
    """Import one allowed callable; numpy's private core module was renamed in numpy 2."""
    if module == "_codecs":
        return codecs.encode
    for candidate in (module, module.replace("numpy.core", "numpy._core"),
                      module.replace("numpy._core", "numpy.core")):
        try:
            return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"cannot resolve {module}.{name}")


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refused to load '{module}.{name}': clip files may only hold plain "
                                         f"containers, numbers, strings and numpy arrays")
        return _resolve_allowed(module, name)


def safe_load_pickle(data: bytes):
    """Unpickle ``data`` allowing only containers, numbers, strings and numpy arrays."""
    return _RestrictedUnpickler(io.BytesIO(data)).load()


@dataclass
class Motion:
    """One clip: ``frames`` is ``float32 [N, 6 + D]``; ``fps`` in frames/s."""

    loop_mode: LoopMode
    fps: float
    frames: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def length(self) -> float:
        """Duration [s] = (N - 1) / fps."""
        return (self.num_frames - 1) / self.fps


def load_motion(path: str | Path) -> Motion:
    """Read and validate a clip file; errors name the file and the offending field."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MotionFileError(f"{path}: motion file not found") from None
    except IsADirectoryError:
        raise MotionFileError(f"{path}: a folder, not a motion file (.pkl clip or .yaml dataset)") from None
    except PermissionError:
        raise MotionFileError(f"{path}: motion file not readable (permission denied)") from None
    try:
        data = safe_load_pickle(raw)
    except pickle.UnpicklingError as err:
        raise MotionFileError(f"{path}: {err}") from None
    except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as err:
        raise MotionFileError(f"{path}: not a readable clip pickle ({type(err).__name__}: {err})") from None
    return motion_from_dict(data, str(path))


def motion_from_dict(data: object, source: str = "<clip>") -> Motion:
    """Validate a clip dict (as stored in a ``.pkl``) and turn it into a :class:`Motion`."""
    if not isinstance(data, dict):
        raise MotionFileError(f"{source}: expected a dict with loop_mode, fps, frames; found {type(data).__name__}")
    for key in ("loop_mode", "fps", "frames"):
        if key not in data:
            raise MotionFileError(f"{source}: missing field '{key}'")
    try:
        loop_mode = LoopMode(int(data["loop_mode"]))
    except (ValueError, TypeError):
        raise MotionFileError(f"{source}: field 'loop_mode' must be 0 (clamp) or 1 (wrap), found "
                              f"{data['loop_mode']!r}") from None
    try:
        fps = float(data["fps"])
    except (ValueError, TypeError):
        raise MotionFileError(f"{source}: field 'fps' must be a number, found {data['fps']!r}") from None
    if not np.isfinite(fps) or fps <= 0:
        raise MotionFileError(f"{source}: field 'fps' must be positive, found {fps}")
    try:
        frames = np.asarray(data["frames"])
        if frames.dtype == object or not np.issubdtype(frames.dtype, np.number):
            raise TypeError("non-numeric entries")
        frames = frames.astype(np.float32)
    except (ValueError, TypeError) as err:
        raise MotionFileError(f"{source}: field 'frames' must be a numeric N x (6 + D) array ({err})") from None
    if frames.ndim != 2 or frames.shape[0] < 1 or frames.shape[1] < 6:
        raise MotionFileError(f"{source}: field 'frames' must have shape N x (6 + D) with N >= 1, found "
                              f"{frames.shape}")
    if not np.all(np.isfinite(frames)):
        bad = int(np.argwhere(~np.isfinite(frames))[0, 0])
        raise MotionFileError(f"{source}: field 'frames' has a non-finite value in frame {bad}")
    return Motion(loop_mode, fps, frames)


def motion_to_dict(motion: Motion) -> dict:
    """The ``.pkl`` dict of a clip, frames as nested lists of floats (as the original writes them)."""
    return {
        "loop_mode": int(motion.loop_mode),
        "fps": motion.fps,
        "frames": np.asarray(motion.frames, dtype=np.float32).tolist(),
    }


def save_motion(path: str | Path, motion: Motion) -> None:
    """Write a clip atomically (temporary file in the same folder, then rename). A clip :func:`load_motion`
    would refuse (fps not positive, a non-finite frame value) is refused here instead, and ``path`` keeps its
    previous contents."""
    path = Path(path)
    data = motion_to_dict(motion)
    motion_from_dict(data, f"{path} not written")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(data, f, protocol=4)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
