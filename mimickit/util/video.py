"""Write rendered frames to disk: MP4 through imageio-ffmpeg when installed, otherwise an animated GIF."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def gif_durations(num_frames: int, frame_time: float) -> list[int]:
    """Per-frame GIF durations [ms] that keep real time: GIF stores centiseconds, so a 33.3-ms frame becomes
    30, 30, 40, ... with each frame ending at the centisecond nearest its true end time."""
    ends = [round((i + 1) * frame_time * 100) * 10 for i in range(num_frames)]
    return [end - start for start, end in zip([0] + ends[:-1], ends, strict=True)]


def write_gif(path: Path, frames: list[np.ndarray], frame_time: float) -> None:
    """Frames ``[H, W, 3]`` uint8 shown ``frame_time`` seconds each, looping."""
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=gif_durations(len(images), frame_time),
                   loop=0)


def mp4_available() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def write_video(stem: str | Path, frames: list[np.ndarray], frame_time: float) -> Path:
    """``<stem>.mp4`` (H.264, imageio-ffmpeg) or, without it, ``<stem>.gif``; returns the path written."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    if mp4_available():
        import imageio.v2 as imageio

        path = stem.with_suffix(".mp4")
        with imageio.get_writer(path, fps=1.0 / frame_time, codec="libx264", quality=7,
                                macro_block_size=1) as writer:
            for frame in frames:
                writer.append_data(frame)  # type: ignore[attr-defined]  # the v2 writer's method
        return path
    path = stem.with_suffix(".gif")
    write_gif(path, frames, frame_time)
    return path
