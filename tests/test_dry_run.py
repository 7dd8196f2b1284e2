"""`distill-nb reproduce --dry-run` of the GPU profiles on CPU: every experiment of `quick` and `paper` through the real runner with
budgets clamped, on the local CIFAR-10 copy and a generated CIFAR-100 stand-in; plus the profile data check."""
import json, os, subprocess
from pathlib import Path

import pytest
import yaml

from distill_nb.data import cache_dir, make_image_folder

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = list(yaml.safe_load((ROOT/'nbs'/'experiments'/'registry.yaml').read_text())['experiments'])
PROFILES = ('quick', 'paper')
# Result margins that some notebooks assert at any budget (not only at a real profile's), which one or two steps on 40 images
# per class (or random stand-in images: rat_main's CIFAR-100 full-data margin) need not meet. Until each such assert is
# guarded by the notebooks' owner (`profile.endswith('-dry-run') or ...`), a dry run may stop there: only with exactly these
# messages, after its results.json is written, is that reported as xfail; any other failure fails the test.
MARGINS = {'rat_main': ['full data below a small set'],
           'rat_intercorrelation': ['bigger random subsets should score higher', 'the whole distilled set should beat its subsets'],
           'rat_metagrad': ['did not improve on its noise initialisation'],
           'rat_hardness': ['should be harder than the easy one', 'full data should beat IPC sets in every bucket'],
           'sel_coverage': ['the hard half should be harder']}


@pytest.fixture(scope='module')
def data_dir(shared_data, tmp_path_factory) -> Path:
    "$DISTILL_NB_DATA for the dry runs: the CIFAR-10 tarball and scores/ (linked) and a CIFAR-100 stand-in (50 + 2 images per class)."
    standin = cache_dir()/'stand-ins'/'cifar100-v2'  # kept, so its decoded cache and fitted ZCA are reused by later runs
    if not (standin/'test').exists(): make_image_folder(standin, [f'c{i:02d}' for i in range(100)], 50, 2)
    d = tmp_path_factory.mktemp('data')
    for name, src in [('cifar10-jpeg.tar.gz', shared_data/'cifar10-jpeg.tar.gz'), ('scores', shared_data/'scores'), ('cifar100', standin)]:
        (d/name).symlink_to(src)
    return d


@pytest.fixture(scope='module')
def dry_runs(data_dir, tmp_path_factory) -> dict:
    "Each GPU profile's dry run, all nine experiments, two notebooks at a time: {profile: (out root, completed process)}."
    runs = {}
    for profile in PROFILES:
        out = tmp_path_factory.mktemp(profile)
        runs[profile] = out, subprocess.run(['distill-nb', 'reproduce', '--profile', profile, '--dry-run', '--jobs', '2', '--out', str(out)],
                                            env={**os.environ, 'DISTILL_NB_DATA': str(data_dir)}, capture_output=True, text=True, timeout=1800)
    return runs


@pytest.mark.parametrize('name', EXPERIMENTS)
@pytest.mark.parametrize('profile', PROFILES)
def test_dry_run_finishes_every_experiment(dry_runs, profile, name):
    out, _ = dry_runs[profile]
    folder = out/name/f'{profile}-dry-run'
    rec = json.loads((folder/'reproduce.json').read_text())
    res = json.loads((folder/'results.json').read_text())
    assert res['config']['profile'] == f'{profile}-dry-run' and '--dry-run' in res['config']['command']
    if rec['status'] != 'done':
        assert any(m in rec.get('error', '') for m in MARGINS.get(name, [])), rec.get('error')
        pytest.xfail(f"stopped at a result margin: {rec['error']}")
    assert (folder/f'{name}.png').stat().st_size > 5_000 and (folder/f'{name}.ipynb').exists()
    params = yaml.safe_load((folder/'params.yaml').read_text())
    assert all(v in (None, str(out/'work'/Path(v).name)) for k, v in params.items() if k in ('buffer_dir', 'work_dir'))


@pytest.mark.parametrize('profile', PROFILES)
def test_dry_run_prints_estimates_writes_the_report_and_never_the_real_folders(dry_runs, profile):
    out, r = dry_runs[profile]
    assert 'Traceback' not in r.stderr.split('failed')[0] and r.returncode in (0, 1), r.stdout + r.stderr
    est = r.stdout.split('Estimated wall time of the real run')[1]
    assert all(f'{n} ' in est for n in EXPERIMENTS) and est.count('on GPU (H100-calibrated)') == len(EXPERIMENTS), est
    readme = (out/'README.md').read_text()
    assert all(f'### {n} ({profile}-dry-run)' in readme for n in EXPERIMENTS), readme[:2000]  # every results.json reported
    assert not any((out/n/profile).exists() for n in EXPERIMENTS)  # nothing under the real profile's folders
    assert (out/'work'/f'cifar10-{profile}').is_dir()              # the expert buffer of the dry run, not runs/buffers/


def test_profile_data_missing_fails_at_once_saying_where_it_looked(tmp_path):
    empty = tmp_path/'no-data'; empty.mkdir()
    for extra in ([], ['--dry-run']):  # a dry run checks the same
        r = subprocess.run(['distill-nb', 'reproduce', '--profile', 'cpu', '--out', str(tmp_path/'out'), *extra],
                           env={**os.environ, 'DISTILL_NB_DATA': str(empty)}, capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
        assert "needs dataset 'cifar10'" in r.stderr and f'{empty} (no ' in r.stderr and '--data FOLDER' in r.stderr, r.stderr
        assert not (tmp_path/'out').exists() or not any((tmp_path/'out').rglob('reproduce.json'))  # nothing was started
