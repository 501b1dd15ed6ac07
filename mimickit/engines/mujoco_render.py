"""Pictures of environment 0: offscreen frames with ``mujoco.Renderer`` and MuJoCo's interactive viewer.

Offscreen rendering works without a GPU or display through OSMesa (``apt-get install libosmesa6`` and
``MUJOCO_GL=osmesa``) or EGL; ``mimickit.util.gl_backend`` picks one at import when ``MUJOCO_GL`` is unset
and there is no display.
"""

from __future__ import annotations

import time

import mujoco
import numpy as np

_STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS


def _track_root(camera: mujoco.MjvCamera, data: mujoco.MjData, body: int) -> None:
    camera.lookat[:2] = data.xpos[body, :2]
    camera.lookat[2] = 0.9


class MujocoRecorder:
    """Renders env 0's state into RGB frames with a camera that follows the character's root.

    Args:
        model: the engine's compiled model; width, height: frame size [px].
    """

    def __init__(self, model: mujoco.MjModel, width: int = 640, height: int = 480) -> None:
        self._model = model
        self._data = mujoco.MjData(model)
        self._renderer = mujoco.Renderer(model, height=height, width=width)
        self._camera = mujoco.MjvCamera()
        self._camera.distance, self._camera.azimuth, self._camera.elevation = 4.0, 135.0, -15.0
        self._root = 1
        self.frames: list[np.ndarray] = []
        self.recording = False

    def render(self, state: np.ndarray) -> np.ndarray:
        """One ``[H, W, 3]`` uint8 frame of a full-physics state vector."""
        mujoco.mj_setState(self._model, self._data, state, _STATE_SPEC)
        mujoco.mj_forward(self._model, self._data)
        _track_root(self._camera, self._data, self._root)
        self._renderer.update_scene(self._data, camera=self._camera)
        return self._renderer.render().copy()

    def start(self) -> None:
        self.frames, self.recording = [], True

    def capture(self, state: np.ndarray) -> None:
        self.frames.append(self.render(state))

    def stop(self) -> list[np.ndarray]:
        self.recording = False
        frames, self.frames = self.frames, []
        return frames

    def close(self) -> None:
        self._renderer.close()


class MujocoViewer:
    """MuJoCo's interactive viewer showing env 0, paced to real time (needs a display)."""

    def __init__(self, model: mujoco.MjModel, control_dt: float) -> None:
        import mujoco.viewer

        self._model = model
        self._data = mujoco.MjData(model)
        self._dt = control_dt
        self._handle = mujoco.viewer.launch_passive(model, self._data)
        self._handle.cam.distance, self._handle.cam.elevation = 4.0, -15.0
        self._last = time.perf_counter()

    def sync(self, state: np.ndarray) -> None:
        mujoco.mj_setState(self._model, self._data, state, _STATE_SPEC)
        mujoco.mj_forward(self._model, self._data)
        with self._handle.lock():
            _track_root(self._handle.cam, self._data, 1)
        self._handle.sync()
        wait = self._dt - (time.perf_counter() - self._last)
        if wait > 0:
            time.sleep(wait)
        self._last = time.perf_counter()

    def close(self) -> None:
        self._handle.close()
