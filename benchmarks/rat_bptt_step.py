"""Cost of one RaT-BPTT meta-step: time per phase, peak memory, FLOP/s, and how they grow with W, T, IPC and real batch."""
import argparse, contextlib, dataclasses, json, os, resource, statistics, subprocess, sys, time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from common import random_task, sync
from distill_nb.core import atomic_write_json, flush_denormal, provenance, resolve_device
from distill_nb.data import Task
from distill_nb.models import functional, init_network
from distill_nb.augment import get_augment
from distill_nb.rat_bptt import RatConfig, RatRun, class_rows, meta_gradient, meta_step, preset, sample_inner_batch, unroll

# small enough for a CPU: ConvNet-3 width 32 on CIFAR-10-shaped random data
CPU_BASE = dict(dataset='cifar10', ipc=10, unroll=12, window=4, batch_per_class=5, real_batch=256,
                net_kwargs={'width': 32, 'depth': 3})
SWEPT = ('window', 'unroll', 'ipc', 'real_batch')

def parse_args(argv=None) -> argparse.Namespace:
    "Command-line options; without --preset a small CPU-sized base config."
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--device', default=None, help="'cpu', 'cuda', 'cuda:N' (default: cuda if available, else cpu)")
    p.add_argument('--preset', default=None, help="a rat_bptt preset, e.g. 'cifar10-ipc10' (the authors' setting; for a GPU)")
    p.add_argument('--ipc', type=int, default=None)
    p.add_argument('--unroll', type=int, default=None, help='T')
    p.add_argument('--window', type=int, default=None, help='W')
    p.add_argument('--real-batch', type=int, default=None, help='real images in the outer loss')
    p.add_argument('--batch-per-class', type=int, default=None)
    p.add_argument('--width', type=int, default=None, help='ConvNet width (preset default: 128)')
    p.add_argument('--outer-chunk', type=int, default=None,
                   help='also run the real-batch sweep with the outer loss in chunks of this many images')
    p.add_argument('--repeats', type=int, default=2, help='timed meta-steps per config (the median is reported)')
    p.add_argument('--factors', type=float, nargs='*', default=[2.0],
                   help='sweep: W, T, IPC and real batch, one at a time, at these multiples of the base (none: base only)')
    p.add_argument('--out', default=None, help='JSON file (default: benchmarks/results/rat_bptt_step-<device type>.json)')
    p.add_argument('--one', default=None, help=argparse.SUPPRESS)  # internal: measure one config (JSON) and print JSON
    a = p.parse_args(argv)
    a.device = str(resolve_device(a.device))
    if a.out is None: a.out = str(Path(__file__).parent/'results'/f'rat_bptt_step-{torch.device(a.device).type}.json')
    return a

def base_config(a:argparse.Namespace) -> RatConfig:
    "The base RatConfig: the preset (or the CPU base) with the command-line overrides."
    over = dict(ipc=a.ipc, unroll=a.unroll, window=a.window, real_batch=a.real_batch, batch_per_class=a.batch_per_class)
    over = {k: v for k, v in over.items() if v is not None}
    if a.preset: cfg = preset(a.preset, **over)
    else: cfg = RatConfig(**{**CPU_BASE, **over})
    if a.width is not None: cfg = dataclasses.replace(cfg, net_kwargs={**cfg.net_kwargs, 'width': a.width})
    return cfg

def sweep(cfg:RatConfig, factors:list, chunk:int|None) -> list:
    "(name, config) pairs: the base, then W, T, IPC and real batch one at a time at `factors` x the base (and chunked real batches)."
    out = [('base', cfg)]
    for k in SWEPT:
        for v in (max(1, round(getattr(cfg, k)*f)) for f in factors):
            c = dict(ipc=cfg.ipc, unroll=cfg.unroll, window=cfg.window, real_batch=cfg.real_batch)
            c[k] = v
            if k == 'window': c['unroll'] = max(c['unroll'], v)  # W cannot exceed T: grow T with it
            c['window'] = min(c['window'], c['unroll'])
            out.append((f'{k}={v}', dataclasses.replace(cfg, **c, batch_per_class=min(cfg.batch_per_class, c['ipc']))))
    if chunk:
        for v in [cfg.real_batch] + [max(1, round(cfg.real_batch*f)) for f in factors]:
            out.append((f'real_batch={v},chunk={chunk}', dataclasses.replace(cfg, real_batch=v, outer_chunk=chunk)))
    return out

def rss_mib() -> float:
    "Resident memory of this process now (MiB)."
    return int(Path('/proc/self/statm').read_text().split()[1])*os.sysconf('SC_PAGE_SIZE')/2**20

def phases(task:Task, cfg:RatConfig, x, y, rows, c:int, gen:torch.Generator, seed:int, clock) -> None:
    "One meta-step cut into phases, each run under `clock(name)`: the same calls `meta_step` makes."
    net = init_network(cfg.net, 3, task.num_classes, 32, seed=seed, device=task.device, **cfg.net_kwargs)
    params, buffers, fn = functional(net)
    aug = get_augment(cfg.augment)
    plan = [sample_inner_batch(rows, cfg.batch_per_class, cfg.task_sampler_nc, gen) for _ in range(c + cfg.diff_steps)]
    xr = aug(task.x_train[:cfg.real_batch], gen)
    yr = task.y_train[:cfg.real_batch]
    with clock('plain'): params = unroll(fn, params, buffers, x, y, plan[:c], c, cfg, aug, gen)
    with clock('diff_forward'): params = unroll(fn, params, buffers, x, y, plan[c:], 0, cfg, aug, gen)
    with clock('outer'), torch.no_grad():  # the outer loss's forward alone (in chunks if the run uses them)
        step = cfg.outer_chunk or len(xr)
        sum(F.cross_entropy(fn(params, buffers, xr[i:i + step]), yr[i:i + step], reduction='sum') for i in range(0, len(xr), step))
    with clock('outer_and_backward'): meta_gradient(fn, params, buffers, xr, yr, [x], cfg.outer_chunk)

def measure(cfg:RatConfig, dev:torch.device, repeats:int) -> dict:
    "Time the phases (median of `repeats`), count their FLOPs, and take the peak memory of one full `meta_step`."
    with flush_denormal(): return _measure(cfg, dev, repeats)  # as distill's loop

def _measure(cfg:RatConfig, dev:torch.device, repeats:int) -> dict:
    task = random_task(cfg, dev)
    x = torch.randn(task.num_classes*cfg.ipc, 3, 32, 32, device=dev).requires_grad_()
    y = torch.arange(task.num_classes, device=dev).repeat_interleave(cfg.ipc)
    rows, c = class_rows(y, task.num_classes), cfg.unroll - cfg.diff_steps  # c = T - W: the longest unroll RaT-BPTT draws
    gen = torch.Generator(dev).manual_seed(0)
    warm = dataclasses.replace(cfg, unroll=1, window=1, real_batch=min(cfg.real_batch, 8), outer_chunk=None)
    meta_step(task, warm, [x], [y], [x], rows, task.x_train[:8], task.y_train[:8], 0, gen)  # load kernels and libraries first
    sync(dev)
    rss0 = rss_mib()
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
    t0 = time.perf_counter()
    meta_step(task, cfg, [x], [y], [x], rows, task.x_train[:cfg.real_batch], task.y_train[:cfg.real_batch], c, gen)
    sync(dev)
    first_s = time.perf_counter() - t0
    memory = dict(peak_gpu_mib=torch.cuda.max_memory_allocated(dev)/2**20 if dev.type == 'cuda' else None,
                  peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024, rss_before_mib=rss0)
    memory['rss_growth_mib'] = memory['peak_rss_mib'] - rss0

    times = {k: [] for k in ('plain', 'diff_forward', 'outer', 'outer_and_backward', 'meta_step')}
    @contextlib.contextmanager
    def clock(name):
        sync(dev); t = time.perf_counter()
        yield
        sync(dev); times[name].append(time.perf_counter() - t)
    # the library's whole meta-step (unroll, meta-gradient, clipping, outer Adam): RatRun.step, with the window at c = T - W
    run = RatRun(task, dataclasses.replace(cfg, dataset='random', preprocess='none', mode='tbptt', init='noise'))
    for r in range(repeats):
        phases(task, cfg, x, y, rows, c, gen, r, clock)
        with clock('meta_step'): run.step(r)
    med = {k: statistics.median(v) for k, v in times.items()}
    med['backward'] = max(med.pop('outer_and_backward') - med['outer'], 0.0)

    flops = {}
    @contextlib.contextmanager
    def count(name):
        with FlopCounterMode(display=False) as fc: yield
        flops[name] = fc.get_total_flops()
    phases(task, cfg, x, y, rows, c, gen, repeats, count)
    flops['backward'] = flops.pop('outer_and_backward') - flops['outer']
    total_flops = sum(flops.values())
    phase_s = sum(med[k] for k in ('plain', 'diff_forward', 'outer', 'backward'))
    return dict(c=c, times_s=med, times_all_s=times, first_meta_step_s=first_s, flops=flops, total_flops=total_flops,
                tflops_per_s={k: flops[k]/med[k]/1e12 if med[k] > 0 else None for k in flops},
                tflops_per_s_total=total_flops/phase_s/1e12, per_plain_step_s=med['plain']/c if c else None,
                per_diff_step_s=med['diff_forward']/cfg.diff_steps,
                expected_rat_meta_step_s=phase_s - med['plain']/2, memory=memory)

def run_one(name:str, cfg:RatConfig, a:argparse.Namespace) -> dict:
    "Measure one config in a fresh process, so its peak RSS is its own."
    arg = json.dumps(dict(cfg=dataclasses.asdict(cfg), device=a.device, repeats=a.repeats))
    p = subprocess.run([sys.executable, __file__, '--one', arg], capture_output=True, text=True)
    if p.returncode: return dict(name=name, config=dataclasses.asdict(cfg), error=p.stderr[-3000:])  # e.g. out of memory
    return dict(name=name, config=dataclasses.asdict(cfg), **json.loads(p.stdout.strip().splitlines()[-1]))

def main(argv=None) -> dict:
    "Measure the base config and the sweep, print a table and write the JSON."
    t_start, load_start = time.time(), os.getloadavg()
    a = parse_args(argv)
    if a.one is not None:
        o = json.loads(a.one)
        print(json.dumps(measure(RatConfig(**o['cfg']), torch.device(o['device']), o['repeats'])))
        return {}
    cfg, dev = base_config(a), torch.device(a.device)
    rows = []
    print(f"rat_bptt_step: {a.preset or 'CPU base'}, {cfg.net} {cfg.net_kwargs}, inner batch {cfg.batch_per_class}/class, "
          f"{dev} ({torch.get_num_threads()} threads, load average {load_start[0]:.1f}); times at c = T - W (all T steps run)")
    print(f"{'config':<26} {'T':>4} {'W':>4} {'ipc':>4} {'real':>6} | {'plain':>7} {'diff fw':>7} {'outer':>7} {'backw':>7} "
          f"{'step':>7} | {'peak MiB':>9} {'GFLOP':>8} {'TFLOP/s':>7}")
    for name, c in sweep(cfg, a.factors, a.outer_chunk):
        r = run_one(name, c, a)
        rows.append(r)
        if 'error' in r:
            print(f"{name:<26} {c.unroll:>4} {c.window:>4} {c.ipc:>4} {c.real_batch:>6} | failed: {r['error'].splitlines()[-1][:80]}")
            continue
        t, m = r['times_s'], r['memory']
        mem = m['peak_gpu_mib'] if m['peak_gpu_mib'] is not None else m['rss_growth_mib']
        print(f"{name:<26} {c.unroll:>4} {c.window:>4} {c.ipc:>4} {c.real_batch:>6} | {t['plain']:>7.3f} {t['diff_forward']:>7.3f} "
              f"{t['outer']:>7.3f} {t['backward']:>7.3f} {t['meta_step']:>7.3f} | {mem:>9.0f} {r['total_flops']/1e9:>8.1f} "
              f"{r['tflops_per_s_total']:>7.3f}")
    print('peak MiB: max_memory_allocated on CUDA; on CPU the growth of peak RSS over RSS before the first meta-step')
    result = dict(benchmark='rat_bptt_step', config=vars(a), base=dataclasses.asdict(cfg), results=rows,
                  torch_threads=torch.get_num_threads(), cpu_count=os.cpu_count(),
                  load_avg_1_5_15=dict(start=load_start, end=os.getloadavg()),
                  notes=dict(phases='plain: c = T - W inner steps without a graph; diff_forward: W differentiable inner steps '
                                    '(forward, inner gradients with create_graph, Adam); outer: forward of the outer loss on the '
                                    'real batch (no graph); backward: meta_gradient (outer forward with graph + back-propagation '
                                    'through the window) minus outer',
                             meta_step='the library RatRun.step (meta-step, clipping and outer Adam) timed whole, for comparison with the sum of the phases',
                             expected_rat_meta_step_s='phases with half the plain steps: the mean cost when c is uniform in [0, T - W]',
                             flops='torch.utils.flop_counter.FlopCounterMode: matmuls and convolutions only (no elementwise ops, '
                                   'no augmentation), including the double-backward of the differentiable steps',
                             memory='each config runs in its own process; CUDA: torch.cuda.max_memory_allocated of one meta_step; '
                                    'CPU: peak RSS (ru_maxrss) minus RSS just before that meta_step (after a 1-step warm-up that '
                                    'loads the kernels), so it includes allocator slack',
                             data='random CIFAR-10-shaped tensors; costs depend only on shapes'),
                  command=' '.join([Path(sys.executable).name, *sys.argv]), wall_time_s=time.time() - t_start,
                  provenance=provenance(dev))
    atomic_write_json(a.out, result)
    print(f'wrote {a.out}')
    return result

if __name__ == '__main__': main()
