"""Headless video (needs OSMesa or EGL: apt-get install libosmesa6): the motion viewer's clip, test episodes with
the reference drawn as a ghost, and short clips during training."""

import ctypes.util
import json
import os

import numpy as np
import pytest
import torch

from mimickit.run import main

from .conftest import REPO_ROOT

HEADLESS_GL = os.environ.get("MUJOCO_GL") in ("osmesa", "egl") or bool(os.environ.get("DISPLAY"))


needs_gl = pytest.mark.skipif(not HEADLESS_GL and not ctypes.util.find_library("OSMesa"),
                              reason="no OpenGL backend: apt-get install libosmesa6 (CI installs it)")


def read_frames(path):
    import imageio.v2 as imageio

    return [np.asarray(f)[..., :3] for f in imageio.mimread(path, memtest=False)]


@needs_gl
def test_view_motion_writes_a_video_of_the_clip(tmp_path):
    code = main(["--arg_file", "args/view_motion_humanoid_args.txt", "--num_envs", "1", "--test_episodes", "1",
                 "--video", "true", "--out_dir", str(tmp_path)])
    assert code == 0
    (video,) = (tmp_path / "videos").glob("test.*")
    frames = read_frames(video)
    assert len(frames) >= 30  # one looping walk episode at 30 frames/s
    assert frames[len(frames) // 2].astype(float).std() > 10.0  # a rendered scene, not a blank image
    # a dataset's clips play side by side: one half-size tile per env
    assert main(["--arg_file", "args/view_motion_humanoid_args.txt", "--num_envs", "3", "--test_episodes", "3",
                 "--video", "true", "--out_dir", str(tmp_path / "all")]) == 0
    (grid,) = (tmp_path / "all" / "videos").glob("test.*")
    h, w, _ = frames[0].shape
    assert read_frames(grid)[0].shape == (h // 2, 3 * (w // 2), 3)


def test_tiles_are_laid_out_row_major_and_the_last_row_padded():
    from mimickit.engines.mujoco_render import tile_frames

    tiles = [np.full((2, 3, 3), k + 1, dtype=np.uint8) for k in range(5)]
    grid = tile_frames(tiles, columns=4)
    assert grid.shape == (4, 12, 3)
    assert grid[0, 0, 0] == 1 and grid[0, 11, 0] == 4 and grid[3, 0, 0] == 5  # z4 starts the second row
    assert not grid[2:, 3:].any()  # three empty tiles, black
    assert tile_frames(tiles[:2]).shape == (2, 6, 3)  # fewer tiles than columns: one row, no padding


@needs_gl
def test_several_envs_record_as_a_grid_of_their_own_pictures():
    from mimickit.envs.env_builder import build_env

    torch.manual_seed(0)  # the envs start at random clip times: fixed here
    env = build_env(str(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 3, record_video=True)
    try:
        env.reset()
        before = env.engine._qpos[[2, 0]].numpy().copy()  # a frame is captured before the step
        env.engine.start_video_recording(env_ids=[2, 0])
        env.step(torch.zeros(3, env.action_bounds[0].numel()))
        (grid,) = env.engine.stop_video_recording()
        recorder = env.engine._recorder
        env2, env0 = (recorder.render(state, ghost=False)[::2, ::2] for state in before)
        with pytest.raises(ValueError, match="below num_envs 3"):
            env.engine.start_video_recording(env_ids=[3])
    finally:
        env.close()
    h, w, _ = env2.shape
    assert grid.shape == (h, 2 * w, 3)
    def diff(a, b):
        return np.abs(a.astype(float) - b).mean()

    # each tile is its own env's picture (to within the renderer's first-frame noise, ~0.03), not the other's
    # (two walk frames differ by ~4 on average; their difference is not the point, only that it is far above noise)
    assert diff(grid[:, :w], env2) < 0.5 and diff(grid[:, w:], env0) < 0.5 and diff(grid[:, :w], env0) > 1.0
    assert env2.astype(float).std() > 10.0


@needs_gl
def test_the_latent_sweep_writes_a_video_grid(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("sweep", REPO_ROOT / "tools" / "ase_latent_sweep.py")
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    assert main(["--env_config", "data/envs/ase_humanoid_env.yaml",
                 "--engine_config", "data/engines/mujoco_engine.yaml",
                 "--agent_config", "tests/data/configs/tiny_ase_agent.yaml", "--num_envs", "2", "--max_samples", "16",
                 "--out_dir", str(tmp_path / "llc")]) == 0
    result = sweep.sweep(str(tmp_path / "llc" / "model.pt"), None, 5, 0.2, 0,  # the model's own configs
                         tmp_path / "grid")
    frames = read_frames(result["video"])
    assert len(frames) >= 5  # 0.2 s at 30 frames/s, unless every latent fell sooner
    assert frames[0].shape[1] == 2 * frames[0].shape[0] * 4 // 3  # 4 tiles of 4:3 in a row, 2 rows


@needs_gl
def test_the_reference_is_drawn_as_a_ghost(tmp_path):
    from mimickit.envs.env_builder import build_env

    env = build_env(str(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml"),
                    str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 1, record_video=True)
    try:
        env.reset()
        engine = env.engine
        recorder = engine._recorder
        state = engine._qpos[0].numpy().copy()
        with_ghost = recorder.render(state)  # the env showed its reference at reset: the ghost overlaps
        shifted = env._ref["root_pos"][0] + torch.tensor([0.0, 0.8, 0.0])
        engine.show_reference(env.char_id, shifted, env._ref["root_rot"][0],
                              env.kin_model.rot_to_dof(env._ref["joint_rot"][0]))
        beside = recorder.render(state)
        recorder.set_ghost(None)
        alone = recorder.render(state)
    finally:
        env.close()
    moved = np.abs(beside.astype(int) - alone.astype(int)).sum(-1) > 30
    assert moved.mean() > 0.01  # a second, translucent body appears beside the character
    ghost = beside[moved].astype(int)
    assert (ghost[:, 0] > ghost[:, 2]).mean() > 0.8  # tinted orange (the character is blue)
    assert not np.array_equal(with_ghost, alone)


@needs_gl
def test_training_records_a_short_clip_at_output_iterations(tmp_path):
    out = tmp_path / "run"
    assert main(["--env_config", "data/envs/deepmimic_humanoid_env.yaml", "--agent_config",
                 "tests/data/configs/tiny_ppo_agent.yaml", "--num_envs", "2", "--rand_seed", "1",
                 "--max_samples", "16", "--video", "true", "--out_dir", str(out)]) == 0
    videos = sorted((out / "videos").iterdir())
    assert [v.stem for v in videos] == ["iteration_000000"]
    assert 10 <= len(read_frames(videos[0])) <= 150


@needs_gl
def test_upstream_display_keys_offset_the_ghost_hide_it_and_hold_the_camera(tmp_path):
    from mimickit.envs.env_builder import build_env
    from mimickit.util.config import load_yaml

    config = load_yaml(REPO_ROOT / "data/envs/deepmimic_humanoid_env.yaml")

    def built(**keys):
        path = tmp_path / "env.yaml"
        path.write_text(json.dumps({**config, **keys}))  # json is yaml
        return build_env(str(path), str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 1, record_video=True)

    env = built(ref_char_offset=[2.0, 0.0, 0.0], camera_mode="still")
    try:
        env.reset()
        recorder = env.engine._recorder
        ghost_root = recorder._ghost_qpos[:3]
        assert np.allclose(ghost_root - env._ref["root_pos"][0].numpy(), [2.0, 0.0, 0.0], atol=1e-5)
        recorder.set_ghost(None)
        state = env.engine._qpos[0].numpy().copy()

        def shift_in_picture() -> float:
            """Pixels the character's picture moves when it walks 1 m along x (its bluish pixels' centroid)."""
            recorder.start()
            centroids = []
            for dx in (0.0, 1.0):
                moved = state.copy()
                moved[0] += dx
                frame = recorder.render(moved).astype(int)
                ys, xs = np.nonzero(frame[..., 2] > frame[..., 0] + 40)
                centroids.append(np.array([xs.mean(), ys.mean()]))
            return float(np.linalg.norm(centroids[1] - centroids[0]))

        assert shift_in_picture() > 20  # still: the camera keeps the first frame's view
        recorder.follow = True
        assert shift_in_picture() < 3  # track: the camera follows the root
    finally:
        env.close()
    env = built(visualize_ref_char=False)
    try:
        env.reset()
        assert env.engine._recorder._ghost_qpos is None
    finally:
        env.close()


@needs_gl
def test_every_character_fills_the_frame_alike_and_no_character_brings_its_own_lamp():
    from mimickit.envs.env_builder import build_env

    distances, extents = {}, {}
    for char in ("humanoid", "go2", "g1"):
        env = build_env(str(REPO_ROOT / f"data/envs/view_motion_{char}_env.yaml"),
                        str(REPO_ROOT / "data/engines/mujoco_engine.yaml"), 1, record_video=True)
        try:
            distances[char] = env.engine._recorder._camera.distance
            extents[char] = env.engine.scene.char_extent
            assert env.engine.model.nlight == 0, char  # the G1's file has a spotlight that blew out the floor
        finally:
            env.close()
    assert extents["go2"] < 0.4 * extents["humanoid"]  # a 0.6-m robot beside a 1.9-m humanoid
    for char in ("go2", "g1"):  # the camera stands off in proportion to the character's size
        assert distances[char] / distances["humanoid"] == pytest.approx(extents[char] / extents["humanoid"], rel=0.01)
