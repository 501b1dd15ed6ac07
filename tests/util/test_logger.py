"""The logger writes rows to log.txt and TensorBoard, and videos (or stills) to TensorBoard."""

import numpy as np
import pytest

from mimickit.util.logger import Logger


def test_rows_and_video_reach_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = Logger(tmp_path, "tb")
    logger.write({"Iteration": 0, "Test_E_Pos": 0.05}, step=100)
    frames = [np.full((16, 16, 3), i * 20, dtype=np.uint8) for i in range(6)]
    logger.write_video("Test_Video", frames, step=100, fps=30.0)
    logger.close()
    assert (tmp_path / "log.txt").read_text().split() == ["Iteration", "Test_E_Pos", "0", "0.05"]
    events = EventAccumulator(str(tmp_path), size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    assert events.Scalars("Test_E_Pos")[0].value == pytest.approx(0.05)
    tags = events.Tags()
    assert "Test_Video" in tags["images"] or "Test_Video" in tags["tensors"]


def test_iterations_between_outputs_reach_tensorboard_but_not_the_text_log(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = Logger(tmp_path, "tb")
    logger.write({"Iteration": 0, "Train_Return": 1.0, "Test_E_Pos": 0.05}, step=100)
    logger.write_training({"Iteration": 1, "Train_Return": 2.0, "Test_E_Pos": 0.05}, step=200)
    logger.close()
    assert len((tmp_path / "log.txt").read_text().splitlines()) == 2  # header and the output row
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("Train_Return")] == [(100, 1.0), (200, 2.0)]
    assert [e.step for e in events.Scalars("Test_E_Pos")] == [100]  # test figures only where a test ran
