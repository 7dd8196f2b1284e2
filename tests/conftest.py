"""Shared test fixtures: where the local data lives and one CPU thread per test."""
import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('DISTILL_NB_DATA', ROOT.parent/'shared'/'data'))


# Test files, heaviest first, by their pytest --durations on the 2-core machine (seconds of one worker, clean-clone CI at 5b0fe67,
# 2026-12-02, a slow hour of this machine): paper dry run 124, quick dry run 113 (the paper run leaves the four experiments that
# repeat the quick dry run's parameters to it), MTT on CIFAR 104, torchrun jobs ~83, RaT-BPTT on CIFAR 57, then files of about
# 10-45 s. With `--dist loadfile --no-loadscope-reorder` (.ci/test) the two workers take files in this order, so a long file never
# starts last while the other worker idles (xdist's default order, by number of tests, put the one-test 80 s files at the end).
HEAVIEST_FIRST = ['test_dry_run_paper.py', 'test_dry_run_quick.py', 'test_mtt_cifar.py', 'test_distributed.py', 'test_rat_bptt_cifar.py',
                  'test_cifar_eval.py', 'test_reproduce.py', 'test_gpu_check_tiny.py', 'test_scores_cifar.py', 'test_rat_bptt_cli.py',
                  'test_selmatch_cli.py']


def pytest_collection_modifyitems(items):
    "Files in HEAVIEST_FIRST order (the rest after them, as collected); tests keep their order within a file."
    rank = {name: i for i, name in enumerate(HEAVIEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


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
