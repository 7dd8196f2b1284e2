"""Measured CPU cost of one training image (forward + backward + SGD step) and one forward image for every network the
profiles use, with the FLOPs of one forward pass (torch.utils.flop_counter), so `distill_nb.estimate` can turn work into seconds."""
import argparse, json, platform, sys, time
from pathlib import Path

import torch
import torch.nn.functional as F

from distill_nb.core import atomic_write_json, git_sha, provenance, set_threads
from distill_nb.estimate import UNITS, forward_flops, unit_key
from distill_nb.models import init_network


def measure(net:str, net_kwargs:dict, channels:int, size:int, classes:int, batch:int, repeats:int, dev) -> dict:
    "Median seconds per training image and per forward image of `net` at this shape."
    m = init_network(net, channels, classes, size, seed=0, device=dev, **net_kwargs).train()
    opt = torch.optim.SGD(m.parameters(), lr=1e-3)
    x, y = torch.randn(batch, channels, size, size, device=dev), torch.randint(0, classes, (batch,), device=dev)
    def step():
        opt.zero_grad(); F.cross_entropy(m(x), y).backward(); opt.step()
    def fwd():
        with torch.no_grad(): m.eval()(x); m.train()
    out = {}
    for name, fn in (('train', step), ('forward', fwd)):
        fn()  # warm-up
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
        out[f'{name}_s_per_image'] = sorted(ts)[len(ts)//2]/batch
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--out', default=str(Path(__file__).parent/'results'/'unit_costs-cpu.json'))
    a = ap.parse_args(argv)
    set_threads(a.threads)
    dev = torch.device('cpu')
    rows = []
    for u in UNITS:
        r = dict(u, key=unit_key(**u), flops_forward=forward_flops(**u), **measure(**u, batch=a.batch, repeats=a.repeats, dev=dev))
        r['train_flops_per_s'] = 3*r['flops_forward']/r['train_s_per_image']
        rows.append(r)
        print(f"{r['key']:<42} {r['flops_forward']/1e6:9.1f} MFLOP fwd  train {r['train_s_per_image']*1e3:8.2f} ms/img  "
              f"fwd {r['forward_s_per_image']*1e3:7.2f} ms/img  {r['train_flops_per_s']/1e9:6.1f} GFLOP/s")
    atomic_write_json(a.out, dict(units=rows, batch=a.batch, repeats=a.repeats, threads=a.threads, command=' '.join(sys.argv),
                                  git_sha=git_sha(), provenance=provenance(dev), machine=platform.processor() or platform.machine(),
                                  note='backward counted as 2 x forward: train FLOP/s = 3 x forward FLOPs / seconds per training image'))
    print(f'wrote {a.out}')


if __name__ == '__main__': main()
