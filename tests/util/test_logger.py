"""The logger writes rows to log.txt and TensorBoard, and videos (or stills) to TensorBoard."""

import numpy as np
import pytest

from mimickit.plot import read_log
from mimickit.util.logger import Logger, thin_log


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


def test_every_iteration_gets_a_row_with_test_columns_nan_between_tests(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = Logger(tmp_path, "tb")
    logger.write({"Iteration": 0, "Train_Return": 1.0, "Test_E_Pos": 0.05, "Reward_Pose": 0.7}, step=100)
    logger.write_training({"Iteration": 1, "Train_Return": 2.0, "Test_E_Pos": 0.05}, step=200)
    logger.close()
    log = read_log(tmp_path)
    assert log["Train_Return"].tolist() == [1.0, 2.0]
    assert log["Test_E_Pos"][0] == 0.05 and np.isnan(log["Test_E_Pos"][1])  # no test ran at iteration 1
    assert np.isnan(log["Reward_Pose"][1])  # diagnostics are gathered only at output iterations
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("Train_Return")] == [(100, 1.0), (200, 2.0)]
    assert [e.step for e in events.Scalars("Test_E_Pos")] == [100]  # test figures only where a test ran


def test_output_row_must_hold_every_column(tmp_path):
    logger = Logger(tmp_path)
    logger.write({"Iteration": 0, "Test_E_Pos": 0.05}, step=0)
    with pytest.raises(ValueError, match="Test_E_Pos"):
        logger.write({"Iteration": 1}, step=1)


def test_resume_drops_rows_written_after_the_checkpoint(tmp_path):
    """A run killed after its last checkpoint (iteration 3) logged iterations 3 and 4 and half a row; resuming
    from iteration 3 must not log them twice."""
    logger = Logger(tmp_path)
    for i in range(5):
        logger.write_training({"Iteration": i, "Train_Return": float(i)}, step=i)
    with (tmp_path / "log.txt").open("a") as f:
        f.write("5                        5.")  # torn by the kill
    resumed = Logger(tmp_path, append=True, resume_iteration=3)
    resumed.write_training({"Iteration": 3, "Train_Return": 30.0}, step=3)
    assert read_log(tmp_path)["Iteration"].tolist() == [0, 1, 2, 3]
    assert read_log(tmp_path)["Train_Return"].tolist() == [0.0, 1.0, 2.0, 30.0]


def test_fresh_logger_starts_a_new_file(tmp_path):
    (tmp_path / "log.txt").write_text("Iteration\n0\n")
    Logger(tmp_path).write_training({"Iteration": 7}, step=0)
    assert read_log(tmp_path)["Iteration"].tolist() == [7]


def test_thin_log_keeps_test_rows_and_every_nth_iteration(tmp_path):
    logger = Logger(tmp_path)
    for i in range(25):
        row = {"Iteration": i, "Test_Episodes": 32, "Train_Return": float(i)}
        (logger.write if i % 7 == 0 else logger.write_training)(row, step=i)
    thinned = tmp_path / "thin"
    thinned.mkdir()
    (thinned / "log.txt").write_text(thin_log((tmp_path / "log.txt").read_text(), every=10))
    assert read_log(thinned)["Iteration"].tolist() == [0, 7, 10, 14, 20, 21]


def test_rows_are_compact_and_floats_keep_seven_digits(tmp_path):
    """A long run writes a row per iteration: fields are one space apart and floats carry 7 significant digits
    (float32 figures hold no more), integers all of theirs."""
    logger = Logger(tmp_path)
    row = {"Iteration": 12345, "Samples": 1234567891, "Wall_Time": 1.0293162904547213,
           **{f"Column_{k}": 0.1234567891 * (k + 1) for k in range(26)}}
    logger.write(row, step=0)
    logger.close()
    lines = (tmp_path / "log.txt").read_text().splitlines()
    assert lines[1].split()[:4] == ["12345", "1234567891", "1.029316", "0.1234568"]
    assert len(lines[1]) < 300  # 29 fields (was 25 characters each)
    log = read_log(tmp_path)
    assert log["Samples"][0] == 1234567891 and log["Wall_Time"][0] == 1.029316
