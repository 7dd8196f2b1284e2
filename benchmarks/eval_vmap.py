"""Multi-seed evaluation throughput: K networks trained together with vmap vs one seed at a time."""
import argparse, dataclasses, os, statistics, sys, time
from pathlib import Path

import torch

from common import sync
from distill_nb.core import atomic_write_json, provenance, resolve_device
from distill_nb.data import load_dataset, prepare
from distill_nb.evaluate import get_protocol, random_synset, train_networks

def parse_args(argv=None) -> argparse.Namespace:
    "Command-line options; defaults depend on the device and on whether data is available."
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--device', default=None, help="'cpu', 'cuda', 'cuda:N' (default: cuda if available, else cpu)")
    p.add_argument('--data', default=None, help='folder holding the dataset (default: $DISTILL_NB_DATA)')
    p.add_argument('--dataset', default=None, help="default: 'cifar10' when --data or $DISTILL_NB_DATA is set, else 'digits'")
    p.add_argument('--k', type=int, default=5, help='seeds (networks) per evaluation')
    p.add_argument('--steps', type=int, default=None, help='optimiser steps per network (default: 20 on CPU, 200 on GPU)')
    p.add_argument('--batch', type=int, default=256, help='minibatch size')
    p.add_argument('--net', default='convnet', help='network name')
    p.add_argument('--width', type=int, default=128, help='ConvNet width (e.g. 32 for a short CPU run)')
    p.add_argument('--protocol', default='rat_bptt', help='evaluation protocol')
    p.add_argument('--ipc', type=int, default=100, help='random real training images per class')
    p.add_argument('--repeats', type=int, default=2, help='timed repeats per mode (the median is reported)')
    p.add_argument('--out', default=None, help='JSON file (default: benchmarks/results/eval_vmap-<device type>.json)')
    a = p.parse_args(argv)
    a.device = str(resolve_device(a.device))
    if a.dataset is None: a.dataset = 'cifar10' if (a.data or os.environ.get('DISTILL_NB_DATA')) else 'digits'
    if a.steps is None: a.steps = 20 if a.device == 'cpu' else 200
    if a.out is None: a.out = str(Path(__file__).parent/'results'/f'eval_vmap-{torch.device(a.device).type}.json')
    return a

def run_mode(s, task, proto, k:int, vmapped:bool) -> tuple:
    "Train seeds 0..k-1 together (one call) or one at a time (k calls); return (seconds, the networks holding seed 0)."
    dev = task.device
    groups = [list(range(k))] if vmapped else [[sd] for sd in range(k)]
    sync(dev)
    t0 = time.perf_counter()
    nets = [train_networks(s.images, s.labels, task.num_classes, proto, g) for g in groups]
    sync(dev)
    return time.perf_counter() - t0, nets[0]

def seed0(nets, x:torch.Tensor) -> tuple:
    "Parameters of seed 0 (first of the stack) and its eval-mode logits on `x`."
    params, buffers, fn = nets
    K = next(iter(params.values())).shape[0]
    with torch.no_grad(): logits = fn(params, buffers, x.expand(K, *x.shape), train=False)[0]
    return {n: v[0].double().cpu() for n, v in params.items()}, logits.double().cpu()

def compare(group, alone, x:torch.Tensor) -> dict:
    "Max |difference| between seed 0 trained in the group and alone: per parameter, overall, and on the logits of `x`."
    (pa, la), (pb, lb) = seed0(group, x), seed0(alone, x)
    per = {n: (pa[n] - pb[n]).abs().max().item() for n in pa}
    return dict(max_abs_param_diff=max(per.values()), max_abs_logit_diff=(la - lb).abs().max().item(), per_param=per)

def compare_float64(s, task, proto, k:int) -> dict:
    "The same comparison trained in float64, where rounding noise cannot hide a real difference between the modes."
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        s64 = dataclasses.replace(s, images=s.images.double())
        return compare(*(run_mode(s64, task, proto, k, v)[1] for v in (True, False)), task.x_test.double())
    finally: torch.set_default_dtype(old)

def main(argv=None) -> dict:
    "Time both modes, check they agree on seed 0, print a table and write the JSON."
    t_start, load_start = time.time(), os.getloadavg()
    args = parse_args(argv)
    dev = torch.device(args.device)
    task = prepare(load_dataset(args.dataset, path=args.data), 'standardize', train_per_class=args.ipc,
                   test_per_class=10, device=dev)
    s = random_synset(task, args.ipc)
    proto = get_protocol(args.protocol, steps=args.steps, batch_size=args.batch, net=args.net, net_kwargs={'width': args.width})
    short = dataclasses.replace(proto, steps=min(3, args.steps))
    for vmapped in (True, False): run_mode(s, task, short, args.k, vmapped)  # untimed warm-up

    modes, nets = {}, {}
    for name, vmapped in (('vmapped', True), ('sequential', False)):
        if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
        times = []
        for _ in range(args.repeats):
            t, nets[name] = run_mode(s, task, proto, args.k, vmapped)
            times.append(t)
        med = statistics.median(times)
        modes[name] = dict(times_s=times, median_s=med, seeds_per_s=args.k/med, steps_per_s=args.k*args.steps/med,
                           max_memory_allocated=torch.cuda.max_memory_allocated(dev) if dev.type == 'cuda' else None)
    speedup = modes['vmapped']['seeds_per_s']/modes['sequential']['seeds_per_s']
    f32 = compare(nets['vmapped'], nets['sequential'], task.x_test)
    f64 = dict(compare_float64(s, task, short, args.k), steps=short.steps)

    print(f"eval_vmap: {args.dataset}, {args.net} width {args.width}, K={args.k}, {args.steps} steps x batch {args.batch}, "
          f"{dev} ({torch.get_num_threads()} CPU threads, load average {load_start[0]:.1f} at start)")
    print(f"{'mode':<11} {'median s':>9} {'seeds/s':>9} {'steps/s':>9} {'peak MiB':>9}")
    for name, m in modes.items():
        mem = '-' if m['max_memory_allocated'] is None else f"{m['max_memory_allocated']/2**20:.0f}"
        print(f"{name:<11} {m['median_s']:>9.2f} {m['seeds_per_s']:>9.3f} {m['steps_per_s']:>9.1f} {mem:>9}")
    print(f'speedup (vmapped / sequential seeds/s): {speedup:.2f}x')
    print(f"seed 0, group vs alone: float32 max |param diff| {f32['max_abs_param_diff']:.2e}, max |logit diff| "
          f"{f32['max_abs_logit_diff']:.2e}; float64 ({f64['steps']} steps) max |param diff| {f64['max_abs_param_diff']:.2e}")

    result = dict(benchmark='eval_vmap', config=vars(args), n_train=len(s), torch_threads=torch.get_num_threads(),
                  cpu_count=os.cpu_count(), load_avg_1_5_15=dict(start=load_start, end=os.getloadavg()),
                  modes=modes, speedup=speedup, agreement=dict(seed=0, float32=f32, float64=f64),
                  notes=dict(steps_per_s='optimiser steps of single networks: K x steps per mode',
                             agreement='float32 differences are rounding noise that Adam amplifies (first in the conv biases '
                                       'before instance norm, whose exact gradient is zero); float64 shows the modes compute the same thing',
                             load_avg='other processes on the machine (load above the CPU count) slow CPU timings badly'),
                  command=' '.join(sys.argv), wall_time_s=time.time() - t_start, provenance=provenance(dev))
    atomic_write_json(args.out, result)
    print(f'wrote {args.out}')
    return result

if __name__ == '__main__': main()
