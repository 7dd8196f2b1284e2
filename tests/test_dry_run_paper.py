"""`distill-nb reproduce --profile paper --dry-run` on CPU: every experiment of the `paper` profile runs end to end (tests/dry_run.py),
except those whose dry run would repeat the quick dry run's exactly (`same_as_quick`): for them only the paper estimate is
computed here."""
import pytest

from dry_run import EXPERIMENTS, ROOT, check_experiment, check_run, data_dir, dry_run, same_as_quick

PROFILE = 'paper'
REPEATS = same_as_quick()
RUN = [n for n in EXPERIMENTS if n not in REPEATS]


@pytest.fixture(scope='module')
def run(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp(PROFILE)
    return out, dry_run(PROFILE, data_dir(shared_data, tmp_path_factory.mktemp('data')), out, RUN)


@pytest.mark.parametrize('name', RUN)
def test_every_experiment_finishes(run, name): check_experiment(PROFILE, run[0], name)


def test_estimates_report_and_never_the_real_folders(run): check_run(PROFILE, *run, names=RUN)


@pytest.mark.parametrize('name', REPEATS)
def test_an_experiment_left_to_the_quick_dry_run_still_gets_its_paper_estimate(name):
    "The quick dry run executes this experiment on exactly these parameters (REPEATS); the paper run's larger budgets are estimated."
    from distill_nb.estimate import estimate
    from distill_nb.reproduce import load_registry
    reg = load_registry(ROOT/'nbs'/'experiments'/'registry.yaml')  # what the runner's estimate reads
    e = estimate(reg, name, PROFILE)
    assert e['device'] == 'GPU (H100-calibrated)' and e['seconds'] > estimate(reg, name, 'quick')['seconds'], e


def test_paper_covers_tiny_imagenet_and_cross_architecture(run):
    "rat_main's paper rows: Tiny-ImageNet on ConvNet-4 (64x64), CIFAR-100 and CIFAR-10 on ConvNet-3, and every set on ResNet-18, VGG-11, AlexNet."
    import json
    rows = json.loads((run[0]/'rat_main'/'paper-dry-run'/'results.json').read_text())['rows']
    nets = {(r['dataset'], r['method']): r['net'] for r in rows}
    assert nets['tiny-imagenet', 'RaT-BPTT'] == 'convnet4' and nets['cifar100', 'RaT-BPTT'] == nets['cifar10', 'RaT-BPTT'] == 'convnet'
    assert {(d, m) for d, m in nets if m.startswith('RaT-BPTT on ')} == \
        {(d, f'RaT-BPTT on {n}') for d in ('tiny-imagenet', 'cifar100', 'cifar10') for n in ('resnet18', 'vgg11', 'alexnet')}
