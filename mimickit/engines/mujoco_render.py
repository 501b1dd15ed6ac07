"""Pictures of the environments: offscreen frames with ``mujoco.Renderer`` (env 0, or several envs tiled in a
grid) and MuJoCo's interactive viewer (env 0).

Offscreen rendering works without a GPU or display through OSMesa (``apt-get install libosmesa6`` and
``MUJOCO_GL=osmesa``) or EGL; ``mimickit.util.gl_backend`` picks one at import when ``MUJOCO_GL`` is unset
and there is no display.
"""

from __future__ import annotations

import time

import mujoco
import numpy as np

GHOST_RGBA = np.array([1.0, 0.55, 0.15, 0.4], dtype=np.float32)  # the reference pose: translucent orange
GRID_COLUMNS = 4  # tiles per row when several envs are recorded


def tile_frames(tiles: list[np.ndarray], columns: int = GRID_COLUMNS) -> np.ndarray:
    """Tiles of equal size ``[H, W, 3]`` laid out row-major in a grid of ``min(len(tiles), columns)`` columns;
    the last row is padded with black. Returns ``[rows * H, cols * W, 3]``."""
    cols = min(len(tiles), columns)
    rows = -(-len(tiles) // cols)
    h, w, c = tiles[0].shape
    grid = np.zeros((rows * h, cols * w, c), dtype=tiles[0].dtype)
    for i, tile in enumerate(tiles):
        r, q = divmod(i, cols)
        grid[r * h:(r + 1) * h, q * w:(q + 1) * w] = tile
    return grid


def _track_root(camera: mujoco.MjvCamera, data: mujoco.MjData, body: int) -> None:
    camera.lookat[:] = data.xpos[body]


class MujocoRecorder:
    """Renders env states into RGB frames with a camera that follows the character's root and frames it by
    its size; optionally draws a reference pose as a translucent ghost over a single env's frames. Several envs
    captured together make one frame: their pictures at half size, tiled by ``tile_frames``.

    Args:
        model: the engine's compiled model; root_body: the character's root body id; char_bodies: its body ids;
        size: the character's size [m] (the diagonal of its body origins' box), which sets the camera distance
        so that any character fills about the same share of the frame; width, height:
        frame size [px]; max_frames: stop capturing after this many frames of one recording (0: no limit).
    """

    def __init__(self, model: mujoco.MjModel, root_body: int, char_bodies: list[int], size: float,
                 width: int = 640, height: int = 480, max_frames: int = 0) -> None:
        self._model = model
        self._data = mujoco.MjData(model)
        self._ghost_data = mujoco.MjData(model)
        self._ghost_qpos: np.ndarray | None = None
        self._char_geoms = [g for g in range(model.ngeom) if int(model.geom_bodyid[g]) in set(char_bodies)]
        self._renderer = mujoco.Renderer(model, height=height, width=width)
        self._camera = mujoco.MjvCamera()
        self._camera.distance = max(0.5, 2.3 * size)
        self._camera.azimuth, self._camera.elevation = 135.0, -15.0
        self._root = root_body
        self.follow = True  # the camera follows the root; False: it keeps the view of a recording's first frame
        self._aimed = False
        self.max_frames = max_frames
        self.frames: list[np.ndarray] = []
        self.recording = False

    def set_ghost(self, qpos: np.ndarray | None) -> None:
        """Draw the pose ``qpos`` (a full qpos vector) translucently in later frames; None removes it."""
        self._ghost_qpos = None if qpos is None else np.array(qpos, dtype=np.float64)

    def _add_ghost(self, scene: mujoco.MjvScene) -> None:
        m, ghost = self._model, self._ghost_data
        ghost.qpos[:] = self._ghost_qpos
        mujoco.mj_kinematics(m, ghost)
        for g in self._char_geoms:
            if scene.ngeom >= scene.maxgeom:
                break
            geom = scene.geoms[scene.ngeom]
            mujoco.mjv_initGeom(geom, int(m.geom_type[g]), m.geom_size[g], ghost.geom_xpos[g], ghost.geom_xmat[g],
                                GHOST_RGBA)
            geom.dataid = int(m.geom_dataid[g])
            scene.ngeom += 1

    def render(self, qpos: np.ndarray, ghost: bool = True) -> np.ndarray:
        """One ``[H, W, 3]`` uint8 frame of the pose ``qpos`` (``[nq]``; with the ghost, if set and ``ghost``)."""
        self._data.qpos[:] = qpos
        mujoco.mj_forward(self._model, self._data)
        if self.follow or not self._aimed:
            _track_root(self._camera, self._data, self._root)
            self._aimed = True
        self._renderer.update_scene(self._data, camera=self._camera)
        if ghost and self._ghost_qpos is not None:
            self._add_ghost(self._renderer.scene)
        return self._renderer.render().copy()

    def start(self) -> None:
        self.frames, self.recording, self._aimed = [], True, False

    def capture(self, qpos: np.ndarray) -> None:
        """Append one frame of the poses ``qpos`` (``[N, nq]``): the env's picture when N is 1 (with the ghost),
        else the N pictures at half size in a grid (no ghost: it belongs to one env)."""
        if self.max_frames and len(self.frames) >= self.max_frames:
            return
        if len(qpos) == 1:
            self.frames.append(self.render(qpos[0]))
            return
        self.frames.append(tile_frames([self.render(row, ghost=False)[::2, ::2] for row in qpos]))

    def stop(self) -> list[np.ndarray]:
        self.recording = False
        frames, self.frames = self.frames, []
        return frames

    def close(self) -> None:
        self._renderer.close()


class MujocoViewer:
    """MuJoCo's interactive viewer showing env 0, paced to real time (needs a display)."""

    def __init__(self, model: mujoco.MjModel, control_dt: float, root_body: int) -> None:
        import mujoco.viewer

        self._model = model
        self._root = root_body
        self._data = mujoco.MjData(model)
        self._dt = control_dt
        self._handle = mujoco.viewer.launch_passive(model, self._data)
        self._handle.cam.distance, self._handle.cam.elevation = 4.0, -15.0
        self._last = time.perf_counter()

    def sync(self, qpos: np.ndarray) -> None:
        """Show the pose ``qpos`` (``[nq]``) and wait out the rest of the control step."""
        self._data.qpos[:] = qpos
        mujoco.mj_forward(self._model, self._data)
        with self._handle.lock():
            _track_root(self._handle.cam, self._data, self._root)
        self._handle.sync()
        wait = self._dt - (time.perf_counter() - self._last)
        if wait > 0:
            time.sleep(wait)
        self._last = time.perf_counter()

    def close(self) -> None:
        self._handle.close()
