"""Shared by tests/test_dry_run_quick.py and tests/test_dry_run_paper.py (two files, so that CI's two pytest workers run the two
profiles side by side): `distill-nb reproduce --dry-run` of a GPU profile on CPU, every experiment through the real runner with
budgets clamped, on the local CIFAR-10 copy and generated CIFAR-100 and Tiny-ImageNet (64x64) stand-ins.

An experiment whose clamped `paper` parameters equal its clamped `quick` ones (`same_as_quick`: budgets are all that differ, and
the dry run clamps them to the same values) runs once, in the quick dry run: the paper dry run would execute the same notebook
on the same parameters again. Which ones is computed from the registry each time, so a change that makes them differ brings
the paper run back."""
import json, os, subprocess
from pathlib import Path

import yaml

from distill_nb.data import cache_dir, make_image_folder
from distill_nb.reproduce import dry_run_params, load_registry, resolve

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = list(yaml.safe_load((ROOT/'nbs'/'experiments'/'registry.yaml').read_text())['experiments'])


def same_as_quick() -> list:
    "The experiments whose dry run under `paper` has exactly the parameters of their dry run under `quick`."
    reg = load_registry(ROOT/'nbs'/'experiments'/'registry.yaml')
    clamped = lambda n, profile: dry_run_params(resolve(reg, n, profile), Path('/work'))  # work folders under one placeholder root
    return [n for n in EXPERIMENTS if clamped(n, 'paper') == clamped(n, 'quick')]


def data_dir(shared_data:Path, d:Path, stand_ins:bool=True) -> Path:
    """$DISTILL_NB_DATA for the dry runs in `d`: the CIFAR-10 tarball and scores/ (linked), and with `stand_ins` (the paper profile's
    datasets) CIFAR-100 (50 + 2 per class) and Tiny-ImageNet (30 + 2) stand-ins; the quick profile needs CIFAR-10 alone."""
    links = [('cifar10-jpeg.tar.gz', shared_data/'cifar10-jpeg.tar.gz'), ('scores', shared_data/'scores')]
    if stand_ins:
        folder = cache_dir()/'stand-ins'  # kept, so their decoded caches and fitted ZCA are reused by later runs
        c100, tiny = folder/'cifar100-v2', folder/'tiny-imagenet-v1'
        if not (c100/'test').exists(): make_image_folder(c100, [f'c{i:02d}' for i in range(100)], 50, 2)
        if not (tiny/'test').exists(): make_image_folder(tiny, [f'n{i:08d}' for i in range(200)], 30, 2, size=64)  # 64x64: ConvNet-4
        links += [('cifar100', c100), ('tiny-imagenet-200', tiny)]
    for name, src in links: (d/name).symlink_to(src)
    return d


def dry_run(profile:str, data:Path, out:Path, names:list=EXPERIMENTS) -> subprocess.CompletedProcess:
    "The experiments `names` of `profile`, one notebook at a time (the other pytest worker runs the other profile)."
    only = [] if names == EXPERIMENTS else ['--only', *names]  # all: the runner's own order (most informative first)
    return subprocess.run(['distill-nb', 'reproduce', '--profile', profile, '--dry-run', '--out', str(out), *only],
                          env={**os.environ, 'DISTILL_NB_DATA': str(data)}, capture_output=True, text=True, timeout=1800)


def check_experiment(profile:str, out:Path, name:str):
    "Experiment `name` finished its dry run: results, figure and executed notebook written, buffers and work folders kept apart."
    folder = out/name/f'{profile}-dry-run'
    rec = json.loads((folder/'reproduce.json').read_text())
    assert rec['status'] == 'done', rec.get('error')  # result margins are not asserted in a dry run, so any stop is a bug
    res = json.loads((folder/'results.json').read_text())
    assert res['config']['profile'] == f'{profile}-dry-run' and '--dry-run' in res['config']['command']
    assert (folder/f'{name}.png').stat().st_size > 5_000 and (folder/f'{name}.ipynb').exists()
    params = yaml.safe_load((folder/'params.yaml').read_text())
    assert all(v in (None, str(out/'work'/Path(v).name)) for k, v in params.items() if k in ('buffer_dir', 'work_dir'))


def check_run(profile:str, out:Path, r:subprocess.CompletedProcess, names:list=EXPERIMENTS):
    "The run of `names` printed every estimate, wrote its report, and wrote nothing under the real profile's folders."
    assert 'Traceback' not in r.stderr and r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    est = r.stdout.split('Estimated wall time of the real run')[1]
    assert all(f'{n} ' in est for n in names) and est.count('on GPU (H100-calibrated)') == len(names), est
    readme = (out/'README.md').read_text()
    assert all(f'### {n} ({profile}-dry-run)' in readme for n in names), readme[:2000]  # every results.json reported
    assert not any((out/n/profile).exists() for n in EXPERIMENTS)  # nothing under the real profile's folders
    assert (out/'work'/f'cifar10-{profile}').is_dir()              # the expert buffer of the dry run, not runs/buffers/
