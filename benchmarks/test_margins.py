"""The margins of the CIFAR-10 "it works" tests at their CI budgets, over several seeds: what their comments quote.

  python benchmarks/test_margins.py rat  [--seeds 0 1 2] [--steps 20] [--eval-steps 200]
  python benchmarks/test_margins.py mtt  [--seeds 0 1 2] [--iterations 70] [--experts 2] [--epochs 5]
  python benchmarks/test_margins.py eval [--seeds 0 1 2] [--steps 100] [--k 3]

Each runs the body of its test (tests/test_rat_bptt_cifar.py, tests/test_mtt_cifar.py, tests/test_cifar_eval.py) with the seed of
the distillation / initialisation / random draws set to each of --seeds (the tests use seed 0), on one thread, on the local
CIFAR-10 copy ($DISTILL_NB_DATA). Prints one line per seed and appends the records to benchmarks/results/test_margins-cpu.json."""
import argparse, json, os, tempfile, time
from pathlib import Path

import torch

from distill_nb.core import SynSet, atomic_write_json, provenance
from distill_nb.data import load_dataset, prepare
from distill_nb.evaluate import evaluate, random_synset

OUT = Path(__file__).resolve().parent/'results'/'test_margins-cpu.json'


def rat(seed, a) -> dict:
    from distill_nb.rat_bptt import distill, preset
    task = prepare(load_dataset('cifar10'), 'zca', val_per_class=50, train_per_class=500, test_per_class=200, seed=0)
    net = {'width': 32}
    cfg = preset('cifar10-ipc1', steps=a.steps, unroll=40, window=20, real_batch=500, net_kwargs=net, seed=seed)
    t = time.time(); s = distill(task, cfg, progress=False); wall = time.time() - t
    ekw = dict(k=3, steps=a.eval_steps, net_kwargs=net)
    syn = evaluate(s, task, 'rat_bptt', **ekw)
    rand = [evaluate(random_synset(task, 1, seed=i), task, 'rat_bptt', **ekw) for i in range(2)]  # the test's two draws
    rand_accs = [x for r in rand for x in r.accs]
    return dict(syn=syn.accs, rand=rand_accs, gain=syn.mean - sum(r.mean for r in rand)/2, separation=min(syn.accs) - max(rand_accs),
                distill_s=wall)


def mtt(seed, a) -> dict:
    from distill_nb.mtt import MTTConfig, distill
    from distill_nb.trajectories import ExpertConfig, train_buffer
    task = prepare(load_dataset('cifar10'), 'zca_kornia', val_per_class=50, train_per_class=300, test_per_class=100, seed=0)
    net = dict(net='convnet_bn', net_kwargs=dict(width=32))
    buf = train_buffer(task, ExpertConfig(dataset='cifar10', preprocess='zca_kornia', num_experts=a.experts, epochs=a.epochs, batch_size=256,
                                          **net), Path(tempfile.mkdtemp())/'buffer', progress=False)
    init = random_synset(task, 1, seed=seed)
    cfg = MTTConfig(dataset='cifar10', ipc=1, preprocess='zca_kornia', syn_steps=20, expert_epochs=2, max_start_epoch=2,
                    iterations=a.iterations, lr_img=100, lr_lr=1e-7, lr_teacher=0.01, seed=seed, **net)
    t = time.time(); s = distill(task, buf, init, cfg, progress=False); wall = time.time() - t
    loss = torch.tensor(s.meta['trace']['loss'])
    ekw = dict(k=3, steps=300, split='val', **net)
    before = evaluate(SynSet(init.images, init.labels, 10, init.preprocess, lr=cfg.lr_teacher), task, 'mtt', **ekw)
    after = evaluate(s, task, 'mtt', **ekw)
    return dict(before=before.accs, after=after.accs, gain=after.mean - before.mean, separation=min(after.accs) - max(before.accs),
                loss_ratio=float(loss[-20:].mean()/loss[:20].mean()), distill_s=wall)


def eval_(seed, a) -> dict:
    task = prepare(load_dataset('cifar10'), 'standardize', test_per_class=200, seed=0)
    kw = dict(k=a.k, steps=a.steps, batch_size=64, net_kwargs={'width': 32})
    ipc10 = evaluate(random_synset(task, 10, seed=seed), task, 'rat_bptt', **kw)
    ipc100 = evaluate(random_synset(task, 100, seed=seed), task, 'rat_bptt', **kw)
    return dict(ipc10=ipc10.accs, ipc100=ipc100.accs, gap=ipc100.mean - ipc10.mean, separation=min(ipc100.accs) - max(ipc10.accs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('test', choices=['rat', 'mtt', 'eval'])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--steps', type=int, default=None, help='rat: meta-steps (20); eval: training steps (100)')
    ap.add_argument('--eval-steps', type=int, default=200); ap.add_argument('--iterations', type=int, default=70)
    ap.add_argument('--experts', type=int, default=2); ap.add_argument('--epochs', type=int, default=5); ap.add_argument('--k', type=int, default=3)
    a = ap.parse_args()
    if not os.environ.get('DISTILL_NB_DATA'): ap.error('set DISTILL_NB_DATA to the folder holding the CIFAR-10 copy (e.g. ../shared/data)')
    a.steps = a.steps or {'rat': 20, 'eval': 100}.get(a.test)
    torch.set_num_threads(1)
    knobs = {k: getattr(a, k) for k in {'rat': ('steps', 'eval_steps'), 'mtt': ('iterations', 'experts', 'epochs'), 'eval': ('steps', 'k')}[a.test]}
    runs = []
    for seed in a.seeds:
        t = time.time()
        r = dict(seed=seed, **{'rat': rat, 'mtt': mtt, 'eval': eval_}[a.test](seed, a), wall_s=time.time() - t)
        print(a.test, knobs, json.dumps({k: round(v, 2) if isinstance(v, float) else [round(x, 1) for x in v] if isinstance(v, list) else v
                                         for k, v in r.items()}), flush=True)
        runs.append(r)
    recs = json.loads(OUT.read_text()) if OUT.exists() else []
    recs.append(dict(test=a.test, knobs=knobs, runs=runs, provenance=provenance(torch.device('cpu'))))
    atomic_write_json(OUT, recs)
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
