"""RaT-BPTT meta-step, graph vs recompute backward (`RatConfig.backward`, `.compile`): peak memory vs the window W, and time per meta-step."""
import argparse, dataclasses, json, os, statistics, subprocess, sys, time, warnings
from pathlib import Path

import torch

from common import sync, rss, reset_peak_rss, random_task
from distill_nb.core import atomic_write_json, flush_denormal, provenance, resolve_device
from distill_nb.rat_bptt import RatConfig, class_rows, meta_step, preset

MIB, GIB = 2**20, 2**30
PATHS = ('graph', 'recompute')  # the memory sweep
# the timing: today's path, the recompute path eager, and compiled (torch.compile of its inner steps and window VJP)
VARIANTS = {'graph': dict(backward='graph'), 'recompute': dict(backward='recompute'), 'compiled': dict(backward='recompute', compile=True)}
# glibc: serve every block over 64 KiB with its own mmap and return it when freed, so RSS follows the live tensors (as mtt_step.py)
MALLOC_ENV = {'MALLOC_MMAP_THRESHOLD_': '65536', 'MALLOC_TRIM_THRESHOLD_': '65536'}

def parse_args(argv=None) -> argparse.Namespace:
    "Command-line options; the defaults are a CPU-sized sweep at CIFAR-10 shapes."
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--device', default=None, help="'cpu', 'cuda', 'cuda:N' (default: cuda if available, else cpu)")
    p.add_argument('--preset', default=None, help="time this rat_bptt preset (e.g. 'cifar10-ipc10', the authors' setting) "
                                                  "with each path instead of the CPU timing configs")
    p.add_argument('--windows', type=int, nargs='*', default=[5, 10, 20, 40], help='memory sweep: W (T = W, all steps in the window)')
    p.add_argument('--width', type=int, default=32, help='ConvNet-3 width of the memory sweep')
    p.add_argument('--ipc', type=int, default=10)
    p.add_argument('--batch-per-class', type=int, default=2, help='synthetic images per class in each inner step')
    p.add_argument('--real-batch', type=int, default=256)
    p.add_argument('--outer-chunk', type=int, default=64, help='outer loss in chunks of this many real images')
    p.add_argument('--time', nargs='*', default=['40:20:32', '40:20:128'],
                   help='timing configs T:W:width (CPU; each path, the window at c = T - W)')
    p.add_argument('--repeats', type=int, default=2, help='timed meta-steps per config (median reported)')
    p.add_argument('--variants', nargs='*', default=list(VARIANTS), help=f'timed variants among {list(VARIANTS)}')
    p.add_argument('--out', default=None, help='JSON file (default: benchmarks/results/rat_bptt_memory-<device type>.json)')
    p.add_argument('--one', default=None, help=argparse.SUPPRESS)  # internal: one measurement (JSON in, JSON out)
    a = p.parse_args(argv)
    a.device = str(resolve_device(a.device))
    if a.out is None: a.out = str(Path(__file__).parent/'results'/f'rat_bptt_memory-{torch.device(a.device).type}.json')
    return a

def measure(cfg:RatConfig, dev:torch.device, repeats:int) -> dict:
    "Peak memory of one meta-step at c = T - W (after a warm-up meta-step), then the median time of `repeats` more."
    with flush_denormal(), warnings.catch_warnings(record=True) as caught:  # as distill's loop
        warnings.simplefilter('always')
        out = _measure(cfg, dev, repeats)
    # a compiled variant whose compile failed ran eagerly (core.compiled warns): its time is not a compiled time
    return dict(out, compile_failed=[str(w.message) for w in caught if 'torch.compile failed' in str(w.message)])

def _measure(cfg:RatConfig, dev:torch.device, repeats:int) -> dict:
    task = random_task(cfg, dev)
    x = torch.randn(task.num_classes*cfg.ipc, 3, 32, 32, generator=torch.Generator().manual_seed(1)).to(dev).requires_grad_()
    y = torch.arange(task.num_classes, device=dev).repeat_interleave(cfg.ipc)
    rows, c, gen = class_rows(y, task.num_classes), cfg.start_range()[1], torch.Generator(dev).manual_seed(0)
    xr, yr = task.x_train[:cfg.real_batch], task.y_train[:cfg.real_batch]
    step = lambda cf, cc: meta_step(task, cf, [x], [y], [x], rows, xr, yr, cc, gen)
    step(dataclasses.replace(cfg, unroll=1, window=1), 0)  # load kernels and libraries first (one window step)
    if cfg.compile: step(dataclasses.replace(cfg, unroll=2, window=1), 1)  # and compile the plain step too
    gen.manual_seed(0)  # every variant then draws the same network, batches and augmentations
    sync(dev)
    rss0, reset = rss()['now'], reset_peak_rss()
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
    t0 = time.perf_counter()
    loss, grads = step(cfg, c)
    sync(dev)
    first = time.perf_counter() - t0
    m = rss()
    out = dict(c=c, loss=float(loss), grad_norm=float(grads[0].norm()), first_meta_step_s=first, rss_before_mib=rss0,
               rss_growth_mib=m['peak'] - rss0, peak_rss_reset=reset,
               peak_gpu_gib=torch.cuda.max_memory_allocated(dev)/GIB if dev.type == 'cuda' else None)
    times = []
    for _ in range(repeats):
        sync(dev); t = time.perf_counter()
        step(cfg, c)
        sync(dev); times.append(time.perf_counter() - t)
    out.update(s_per_meta_step=statistics.median(times) if times else None, s_all=times,
               peak_gpu_gib_all=torch.cuda.max_memory_allocated(dev)/GIB if dev.type == 'cuda' else None)
    return out

def run_one(cfg:RatConfig, a, repeats:int, malloc:bool) -> dict:
    "Measure one config in a fresh process, so its peak memory is its own (`malloc`: RSS follows the live tensors)."
    env = {**os.environ, **(MALLOC_ENV if malloc else {})}
    arg = json.dumps(dict(cfg=dataclasses.asdict(cfg), device=a.device, repeats=repeats))
    p = subprocess.run([sys.executable, __file__, '--one', arg], capture_output=True, text=True, env=env)
    if p.returncode: return dict(config=dataclasses.asdict(cfg), error=p.stderr[-3000:])  # e.g. out of memory
    return dict(config=dataclasses.asdict(cfg), **json.loads(p.stdout.strip().splitlines()[-1]))

def sweep_config(a, W:int, backward:str) -> RatConfig:
    "The memory sweep's config at window W: T = W, so every inner step is in the window."
    return RatConfig(dataset='random', preprocess='none', ipc=a.ipc, unroll=W, window=W, mode='tbptt', batch_per_class=a.batch_per_class,
                     real_batch=a.real_batch, outer_chunk=a.outer_chunk, net_kwargs={'width': a.width, 'depth': 3}, backward=backward)

def time_config(a, spec:str, variant:str) -> RatConfig:
    "A timing config from 'T:W:width' (or the preset) for one of `VARIANTS`, window at c = T - W."
    if a.preset: return preset(a.preset, dataset='random', preprocess='none', outer_chunk=a.outer_chunk, **VARIANTS[variant])
    T, W, width = map(int, spec.split(':'))
    return dataclasses.replace(sweep_config(a, W, 'graph'), unroll=T, net_kwargs={'width': width, 'depth': 3}, **VARIANTS[variant])

def slope(rows:list) -> float|None:
    "Least-squares growth of the peak memory (MiB) per window step."
    pts = [(r['config']['window'], r['rss_growth_mib'] if r['peak_gpu_gib'] is None else r['peak_gpu_gib']*1024)
           for r in rows if 'error' not in r]
    if len(pts) < 2: return None
    n, sx, sy = len(pts), sum(p[0] for p in pts), sum(p[1] for p in pts)
    sxx, sxy = sum(p[0]**2 for p in pts), sum(p[0]*p[1] for p in pts)
    return (n*sxy - sx*sy)/(n*sxx - sx**2)

def main(argv=None) -> dict:
    "Memory sweep over W and timing, for both paths; print two tables and write the JSON."
    t_start, load_start = time.time(), os.getloadavg()
    a = parse_args(argv)
    if a.one is not None:
        o = json.loads(a.one)
        print(json.dumps(measure(RatConfig(**o['cfg']), torch.device(o['device']), o['repeats'])))
        return {}
    dev = torch.device(a.device)
    cuda = dev.type == 'cuda'
    print(f'rat_bptt_memory on {dev} ({torch.get_num_threads()} threads, load average {load_start[0]:.1f})')
    memory = {b: [] for b in PATHS}
    if a.windows:
        print(f'peak memory of one meta-step vs W (T = W; ConvNet-3 width {a.width}, {a.batch_per_class}/class inner batch, '
              f'real batch {a.real_batch} in chunks of {a.outer_chunk}); {"GiB allocated" if cuda else "MiB peak RSS growth"}')
        print(f"{'W':>4} | " + ' | '.join(f'{b:>10}' for b in PATHS))
        for W in a.windows:
            for b in PATHS: memory[b].append(run_one(sweep_config(a, W, b), a, 0, malloc=not cuda))
            cell = lambda r: 'failed' if 'error' in r else f"{r['peak_gpu_gib']:.2f}" if cuda else f"{r['rss_growth_mib']:.0f}"
            print(f'{W:>4} | ' + ' | '.join(f'{cell(memory[b][-1]):>10}' for b in PATHS))
    slopes = {b: slope(memory[b]) for b in PATHS}
    if a.windows: print('growth per window step (MiB): ' + ', '.join(f'{b} {s:.2f}' for b, s in slopes.items() if s is not None))
    timing = []
    specs = [a.preset] if a.preset else a.time
    for spec in specs:
        rows = {v: run_one(time_config(a, spec, v), a, a.repeats, malloc=False) for v in a.variants}
        ok = {v for v, r in rows.items() if 'error' not in r}
        # time over the graph path's, and |loss - graph loss| on the same set, network and draws
        ratio = {v: rows[v]['s_per_meta_step']/rows['graph']['s_per_meta_step'] for v in ok if 'graph' in ok}
        agree = {v: abs(rows[v]['loss'] - rows['graph']['loss']) for v in ok if 'graph' in ok}
        timing.append(dict(spec=spec, ratio_over_graph=ratio, loss_abs_diff=agree, **rows))
        for b, r in rows.items():
            if 'error' in r: print(f'{spec} {b}: failed: {r["error"].splitlines()[-1][:100]}'); continue
            mem = f"{r['peak_gpu_gib_all']:.2f} GiB" if cuda else f"{r['rss_growth_mib']:.0f} MiB RSS growth"
            print(f"{spec} {b:>9}: {r['s_per_meta_step']:.3f} s/meta-step, peak {mem}")
        if ratio: print(f'{spec}: time / graph time: ' + ', '.join(f'{v} {r:.2f}' for v, r in ratio.items()))
    result = dict(benchmark='rat_bptt_memory', config=vars(a), memory=memory, memory_slope_mib_per_step=slopes, timing=timing,
                  torch_threads=torch.get_num_threads(), cpu_count=os.cpu_count(),
                  load_avg_1_5_15=dict(start=load_start, end=os.getloadavg()),
                  notes=dict(memory='each measurement in its own process, one meta-step after a 1-window-step warm-up; CPU: growth of '
                                    'peak RSS (VmHWM, reset through /proc/self/clear_refs) over RSS before it, with glibc mmap/trim '
                                    'thresholds at 64 KiB so freed tensors leave RSS (timing runs use the default allocator); '
                                    'CUDA: torch.cuda.max_memory_allocated',
                             timing='median of repeats of meta_step with the window at c = T - W (every inner step runs), '
                                    'after an untimed one; the machine may be shared (see load_avg)',
                             data='random CIFAR-10-shaped tensors; costs depend only on shapes'),
                  command=' '.join([Path(sys.executable).name, *sys.argv]), wall_time_s=time.time() - t_start,
                  provenance=provenance(dev))
    atomic_write_json(a.out, result)
    print(f'wrote {a.out}')
    return result

if __name__ == '__main__': main()
