"""One job of tests/test_distributed.py, run in one process or under `torchrun` (float64, digits, CPU, gloo).
python tests/dist_job.py KIND OUT [key=value ...]; rank 0 writes OUT (a torch file of the results)."""
import dataclasses, sys

import torch

torch.set_default_dtype(torch.float64)  # the equivalence is checked to 1e-10: float64 throughout
torch.set_num_threads(1)

from distill_nb import dist
from distill_nb.data import load_dataset, prepare
from distill_nb.evaluate import evaluate, random_synset
from distill_nb import rat_bptt as rb
from distill_nb import mtt
from distill_nb.trajectories import Buffer, ExpertConfig, train_buffer


def task(preprocess='zca'):
    "digits with a validation split, every float tensor in float64."
    t = prepare(load_dataset('digits'), preprocess, val_per_class=10, seed=0)
    return dataclasses.replace(t, **{k: getattr(t, k).double() for k in ('x_train', 'x_val', 'x_test')})


def rat(kw):
    "A short RaT-BPTT run with nets_per_step networks per meta-step: its set and trace."
    cfg = rb.preset('digits-smoke', steps=int(kw.get('steps', 3)), unroll=6, window=3, real_batch=64,
                    nets_per_step=int(kw.get('nets', 2)), seed=int(kw.get('seed', 0)) + int(kw.get('seed_per_rank', 0))*dist.world()[0])
    s = rb.distill(task(), cfg, out=kw.get('run'), checkpoint_every=1, progress=False)
    return dict(images=s.images, loss=s.meta['trace']['loss'], c=s.meta['trace']['c'])


def buffers(kw):
    "Four experts (a buffer) trained by this job's ranks."
    cfg = ExpertConfig(dataset='digits', preprocess='standardize', net='convnet_bn', net_kwargs=dict(width=8, depth=2), num_experts=4,
                       epochs=int(kw.get('epochs', 3)), batch_size=128, augment='none')
    b = train_buffer(task('standardize'), cfg, kw['buffer'], progress=False)
    return dict(experts=[torch.from_numpy(b.trajectory(i).copy()) for i in range(len(b))])


def match(kw):
    "Two iterations of trajectory matching with trajectories_per_iter segments, on the buffer of `buffers`."
    t = task('standardize')
    cfg = mtt.MTTConfig(dataset='digits', ipc=2, preprocess='standardize', net='convnet_bn', net_kwargs=dict(width=8, depth=2),
                        syn_steps=3, expert_epochs=1, max_start_epoch=2, iterations=2, batch_syn=10, trajectories_per_iter=int(kw.get('segments', 2)))
    s = mtt.distill(t, Buffer(kw['buffer'], task=t), random_synset(t, 2), cfg, progress=False)
    return dict(images=s.images, lr=s.lr, loss=s.meta['trace']['loss'])


def accuracies(kw):
    "Per-seed test accuracies of 3 networks: the seeds are split across ranks and gathered."
    t = task()
    return dict(accs=evaluate(random_synset(t, 2), t, 'rat_bptt', k=3, steps=15, net_kwargs=dict(width=8, depth=2)).accs)


if __name__ == '__main__':
    kind, out, *rest = sys.argv[1:]
    kw = dict(a.split('=', 1) for a in rest)
    dist.init('cpu', timeout_s=float(kw.get('timeout', 60)))
    res = {k: globals()[k](kw) for k in kind.split(',')}
    if dist.is_main(): torch.save(res, out)
