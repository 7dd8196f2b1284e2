"""Trajectory matching works on real CIFAR-10: from random real images, the matching loss falls and the set beats its own initialisation on held-out data."""
import torch

from distill_nb.core import SynSet
from distill_nb.data import load_dataset, prepare
from distill_nb.evaluate import evaluate, random_synset
from distill_nb.mtt import MTTConfig, distill
from distill_nb.trajectories import ExpertConfig, train_buffer


def test_mtt_ipc1_beats_its_random_real_initialisation_on_a_cifar10_subset(shared_data, tmp_path):
    # 300 training images per class (MTT's kornia ZCA fitted on them), 50 per class held out for validation
    task = prepare(load_dataset('cifar10', path=shared_data), 'zca_kornia', val_per_class=50, train_per_class=300,
                   test_per_class=100, seed=0)
    net = dict(net='convnet_bn', net_kwargs=dict(width=32))  # ConvNetBN-3, narrower to fit a 2-core CPU budget
    buf = train_buffer(task, ExpertConfig(dataset='cifar10', preprocess='zca_kornia', num_experts=2, epochs=5, batch_size=256, **net),
                       tmp_path/'buffer', progress=False)
    init = random_synset(task, 1, seed=0)
    cfg = MTTConfig(dataset='cifar10', ipc=1, preprocess='zca_kornia', syn_steps=20, expert_epochs=2, max_start_epoch=2, iterations=70,
                    lr_img=100, lr_lr=1e-7, lr_teacher=0.01, **net)  # MTT's CIFAR-10 IPC 1 settings, shorter
    s = distill(task, buf, init, cfg, progress=False)
    loss = torch.tensor(s.meta['trace']['loss'])
    ekw = dict(k=3, steps=300, split='val', **net)
    before = evaluate(SynSet(init.images, init.labels, 10, init.preprocess, lr=cfg.lr_teacher), task, 'mtt', **ekw)
    after = evaluate(s, task, 'mtt', **ekw)
    print(f'CIFAR-10 subset IPC 1: matching loss {loss[:20].mean():.3f} -> {loss[-20:].mean():.3f}; '
          f'validation {before} (random real init) -> {after} (MTT, {cfg.iterations} iterations, {s.meta["wall_time"]:.0f} s)')
    assert loss[-20:].mean() < 0.5*loss[:20].mean()
    # measured at this budget (70 iterations; `python benchmarks/test_margins.py mtt`: the init and distillation seed 0 / 1 / 2,
    # 1 thread, 2026-12-02): 15.7 -> 21.0 %, 18.1 -> 24.0 %, 19.9 -> 23.7 % (+5.3 / +5.9 / +3.8 points; the lowest MTT network 1.8 / 4.0
    # / 2.4 points above the highest init one), loss ratio last/first 0.28 / 0.34 / 0.20. 100 iterations gave +4.1 / +5.0 /
    # +3.4 (`... mtt --iterations 100`; the seed noise of 3 networks at IPC 1 is ~1-2 points). With kornia's ZCA as MTT's
    # code fits it (raw pixels, eps 0.1) the gain in short runs is smaller than with the earlier, over-whitening variant
    # (17.9 -> 30.9 %); the authors run 5,000 iterations of N 50 on 50,000 images.
    assert after.mean >= before.mean + 2.5 and min(after.accs) > max(before.accs), (before.accs, after.accs)
    assert torch.isfinite(s.images).all() and s.meta['steps'] == 70
