"""Shared fixtures: the shipped humanoid and paths into the repository."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mimickit.anim.mjcf_loader import load_mjcf_char_model

REPO_ROOT = Path(__file__).resolve().parents[1]
HUMANOID_XML = REPO_ROOT / "data/assets/humanoid/humanoid.xml"
SHIPPED_CHARACTERS = [HUMANOID_XML, *(REPO_ROOT / f"data/assets/{c}/{c}.xml" for c in ("g1", "go2", "smpl"))]


@pytest.fixture(scope="session")
def humanoid():
    return load_mjcf_char_model(HUMANOID_XML)


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(1)
    yield
