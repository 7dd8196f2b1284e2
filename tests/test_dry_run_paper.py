"""`distill-nb reproduce --profile paper --dry-run` on CPU: every experiment of the `paper` profile runs end to end (tests/dry_run.py)."""
import pytest

from dry_run import EXPERIMENTS, check_experiment, check_run, data_dir, dry_run

PROFILE = 'paper'


@pytest.fixture(scope='module')
def run(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp(PROFILE)
    return out, dry_run(PROFILE, data_dir(shared_data, tmp_path_factory.mktemp('data')), out)


@pytest.mark.parametrize('name', EXPERIMENTS)
def test_every_experiment_finishes(run, name): check_experiment(PROFILE, run[0], name)


def test_estimates_report_and_never_the_real_folders(run): check_run(PROFILE, *run)
