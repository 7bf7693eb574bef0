"""Shared fixtures: seeded generators, and skipping of tests whose data or hardware is absent."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from lib.paths import RAW_HUMAN_MAPS


@pytest.fixture(autouse=True)
def _seed_everything():
    random.seed(0)
    np.random.seed(0)  # noqa: NPY002  (seeds code under test that uses the legacy global state)
    torch.manual_seed(0)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def pytest_collection_modifyitems(config, items):
    have_data = RAW_HUMAN_MAPS.is_dir() and any(RAW_HUMAN_MAPS.glob("*.mat"))
    have_cuda = torch.cuda.is_available()
    for item in items:
        if "data" in item.keywords and not have_data:
            item.add_marker(pytest.mark.skip(reason="study data absent: run `dvc pull`"))
        if "gpu" in item.keywords and not have_cuda:
            item.add_marker(pytest.mark.skip(reason="no CUDA device"))
