"""Fixtures for the raw-trial tests: seeded synthetic ground truths."""

from __future__ import annotations

import numpy as np
import pytest

from lib.trials import synthetic_truth
from tests.trials._helpers import IMAGES


@pytest.fixture(scope="session")
def truths() -> dict[str, np.ndarray]:
    """Two smooth random ground-truth maps (135x135 over the 405 px image), fixed seed."""
    rng = np.random.default_rng(2021)
    return {image: synthetic_truth(rng) for image in IMAGES}


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """The estimators' small matrix products run 20x slower with BLAS threads fighting over a
    loaded 2-core machine; one thread per test here, restored afterwards (threadpoolctl comes with
    scikit-learn, a dependency of pingouin; without it, nothing changes)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
