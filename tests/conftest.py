"""Shared test fixtures: where the local data lives and one CPU thread per test."""
import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('DISTILL_NB_DATA', ROOT.parent/'shared'/'data'))


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: minutes of CPU (e.g. torch.compile); left out of .ci/test, run with `pytest -m slow tests`')


@pytest.fixture(scope='session')
def shared_data() -> Path:
    "The folder holding the local CIFAR-10 tarball (../shared/data from the project root, or $DISTILL_NB_DATA)."
    if not (SHARED/'cifar10-jpeg.tar.gz').exists():
        pytest.skip(f'local CIFAR-10 copy not found at {SHARED}; set DISTILL_NB_DATA')
    return SHARED


@pytest.fixture(autouse=True)
def one_thread():
    "One CPU thread per test, as the CLI's default: small networks run fastest so, and a busy machine does not make them spin-wait."
    torch.set_num_threads(1)
