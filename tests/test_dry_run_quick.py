"""`distill-nb reproduce --profile quick --dry-run` on CPU: every experiment of the `quick` profile runs end to end (tests/dry_run.py)."""
import pytest

from dry_run import EXPERIMENTS, check_experiment, check_run, data_dir, dry_run

PROFILE = 'quick'


@pytest.fixture(scope='module')
def run(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp(PROFILE)
    return out, dry_run(PROFILE, data_dir(shared_data, tmp_path_factory.mktemp('data'), stand_ins=False), out)  # CIFAR-10 alone


@pytest.mark.parametrize('name', EXPERIMENTS)
def test_every_experiment_finishes(run, name): check_experiment(PROFILE, run[0], name)


def test_estimates_report_and_never_the_real_folders(run): check_run(PROFILE, *run)


def test_profile_data_missing_fails_at_once_saying_where_it_looked(tmp_path, capsys, monkeypatch):
    from distill_nb.cli import run
    empty = tmp_path/'no-data'; empty.mkdir()
    monkeypatch.setenv('DISTILL_NB_DATA', str(empty))
    for extra in ([], ['--dry-run']):  # a dry run checks the same; in this process (the console script runs in the dry runs)
        with pytest.raises(SystemExit) as e: run(['reproduce', '--profile', 'cpu', '--out', str(tmp_path/'out'), *extra])
        err = capsys.readouterr().err
        assert e.value.code == 2 and 'Traceback' not in err, err
        assert "needs dataset 'cifar10'" in err and f'{empty} (no ' in err and '--data FOLDER' in err, err
        assert not (tmp_path/'out').exists() or not any((tmp_path/'out').rglob('reproduce.json'))  # nothing was started
