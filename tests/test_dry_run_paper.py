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


def test_paper_covers_tiny_imagenet_and_cross_architecture(run):
    "rat_main's paper rows: Tiny-ImageNet on ConvNet-4 (64x64), CIFAR-100 and CIFAR-10 on ConvNet-3, and every set on ResNet-18, VGG-11, AlexNet."
    import json
    rows = json.loads((run[0]/'rat_main'/'paper-dry-run'/'results.json').read_text())['rows']
    nets = {(r['dataset'], r['method']): r['net'] for r in rows}
    assert nets['tiny-imagenet', 'RaT-BPTT'] == 'convnet4' and nets['cifar100', 'RaT-BPTT'] == nets['cifar10', 'RaT-BPTT'] == 'convnet'
    assert {(d, m) for d, m in nets if m.startswith('RaT-BPTT on ')} == \
        {(d, f'RaT-BPTT on {n}') for d in ('tiny-imagenet', 'cifar100', 'cifar10') for n in ('resnet18', 'vgg11', 'alexnet')}
