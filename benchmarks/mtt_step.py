"""Cost of one trajectory-matching (MTT / SelMatch) iteration: time and peak memory vs syn_steps N, with and without
per-step recompute (eager or compiled), and host memory vs the number of experts in the buffer."""
import argparse, contextlib, json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch

from common import sync, rss, reset_peak_rss
from distill_nb.core import Preprocess, SynSet, atomic_write_json, flush_denormal, provenance, resolve_device
from distill_nb.data import Task
from distill_nb.mtt import MTTConfig, MTTRun, distill
from distill_nb.trajectories import Buffer, ExpertConfig, expert_file, train_buffer

MIB, GIB = 2**20, 2**30
TARGET = dict(s_per_it=0.25, peak_gpu_gib=10.0)  # the targets, one H100, CIFAR-10 IPC 500
AUTHORS = dict(s_per_it=0.75, peak_gpu_gib=20.5, host_gib_100_experts=12)  # SelMatch authors' code, same setting (SPEC.md)
PHASES = ('load', 'plan', 'grad', 'update')
MODES = dict(graph=(False, False), recompute=(True, False), compiled=(True, True))  # name: (MTTConfig.recompute, .compile)
# glibc: serve every block over 64 KiB with its own mmap and return it when freed, so RSS follows the live tensors
# (by default the threshold adapts upwards and freed tensors stay in the heap, which makes peak RSS depend on history)
MALLOC_ENV = {'MALLOC_MMAP_THRESHOLD_': '65536', 'MALLOC_TRIM_THRESHOLD_': '65536'}

def parse_args(argv=None) -> argparse.Namespace:
    "Command-line options; defaults are the issue's target setting (SelMatch CIFAR-10 IPC 500 on one GPU)."
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--device', default=None, help="'cpu', 'cuda', 'cuda:N' (default: cuda if available, else cpu)")
    p.add_argument('--ipc', type=int, default=500, help='images per class of the synthetic set')
    p.add_argument('--alpha', type=float, default=0.2, help='distilled fraction of each class (SelMatch IPC 500: 0.2; MTT: 1)')
    p.add_argument('--syn-steps', type=int, nargs='+', default=[10, 20, 55], help='N values to sweep (authors: 55)')
    p.add_argument('--batch-syn', type=int, default=125, help='student minibatch')
    p.add_argument('--net', default='convnet_bn', help='student = expert network')
    p.add_argument('--width', type=int, default=128)
    p.add_argument('--depth', type=int, default=3)
    p.add_argument('--im-size', type=int, default=32)
    p.add_argument('--channels', type=int, default=3)
    p.add_argument('--classes', type=int, default=10)
    p.add_argument('--iters', type=int, default=10, help='timed iterations per config (median reported)')
    p.add_argument('--warmup', type=int, default=3, help='untimed iterations per config before the timed ones')
    p.add_argument('--recompute', default='both', choices=['both', 'on', 'off'],
                   help='off: one graph of all N student steps (as the authors); on: backward one step at a time')
    p.add_argument('--compile', action='store_true', help='also time recompute with torch.compile (MTTConfig.compile; compiled '
                   'in each process during the untimed warm-up)')
    p.add_argument('--experts', type=int, nargs='+', default=[2, 8, 32], help='buffer sizes for the host-memory test')
    p.add_argument('--buffer-epochs', type=int, default=100, help='E: snapshots per expert are E+1 (SelMatch: 100)')
    p.add_argument('--max-start-epoch', type=int, default=80, help='start epochs are drawn from [0, this) (SelMatch: 80)')
    p.add_argument('--expert-epochs', type=int, default=2, help='M (SelMatch: 2)')
    p.add_argument('--host-iters', type=int, default=32, help='iterations of the host-memory test (each picks a random expert; 0: skip it)')
    p.add_argument('--no-distill-check', action='store_true', help='skip timing mtt.distill itself')
    p.add_argument('--tmp', default=None, help='folder for the synthetic buffers (deleted at the end; default: system temp)')
    p.add_argument('--out', default=None, help='JSON file (default: benchmarks/results/mtt_step-<device type>.json)')
    p.add_argument('--section', default=None, help='write the results under this key of the existing --out JSON, keeping the '
                   'rest of it (default: replace the file)')
    p.add_argument('--one', default=None, help=argparse.SUPPRESS)  # internal: run one measurement (JSON) and print JSON
    a = p.parse_args(argv)
    a.device = str(resolve_device(a.device))
    if a.max_start_epoch - 1 + a.expert_epochs > a.buffer_epochs:
        p.error(f'--max-start-epoch {a.max_start_epoch} + --expert-epochs {a.expert_epochs} needs buffer epoch '
                f'{a.max_start_epoch - 1 + a.expert_epochs}; use --buffer-epochs >= that or a smaller --max-start-epoch.')
    if not 1 <= a.batch_syn <= a.ipc*a.classes: p.error(f'--batch-syn {a.batch_syn}: must be 1..{a.ipc*a.classes} (the set size).')
    if a.out is None: a.out = str(Path(__file__).parent/'results'/f'mtt_step-{torch.device(a.device).type}.json')
    return a

def is_target_setting(a:argparse.Namespace) -> bool:
    "Whether the options are the issue's setting, so the verdict applies to it."
    return (a.ipc, a.alpha, a.batch_syn, a.net, a.width, a.depth, a.im_size, a.channels, a.classes) == \
           (500, 0.2, 125, 'convnet_bn', 128, 3, 32, 3, 10) and 55 in a.syn_steps

def net_kwargs(a) -> dict: return {'width': a.width, 'depth': a.depth}

def tiny_task(a, dev:torch.device) -> Task:
    "A task of one random image per class: it only serves to train the synthetic buffers and to give `distill` shapes."
    g = torch.Generator().manual_seed(0)
    x = torch.randn(a.classes, a.channels, a.im_size, a.im_size, generator=g).to(dev)
    y = torch.arange(a.classes, device=dev)
    return Task('random', a.classes, x, y, x[:0], y[:0], x[:0], y[:0], Preprocess('none'), [str(c) for c in range(a.classes)],
                torch.arange(a.classes), dict(dataset='random', preprocess='none'))

def random_init(a, dev:torch.device) -> SynSet:
    "The initial synthetic set: `ipc` random images per class (values do not change the cost)."
    g = torch.Generator().manual_seed(1)
    x = torch.randn(a.classes*a.ipc, a.channels, a.im_size, a.im_size, generator=g).to(dev)
    return SynSet(x, torch.arange(a.classes, device=dev).repeat_interleave(a.ipc), a.classes, Preprocess('none'))

def mtt_config(a, syn_steps:int, mode:str, iterations:int=1) -> MTTConfig:
    "SelMatch's CIFAR-10 IPC 500 settings (lr_img 1000, syn_lr 1e-3, DSA, momentum 0.5) with this run's shapes; lr_lr 0."
    # lr_lr = 0 (authors: 1e-5) keeps syn_lr at 1e-3: on random images and barely trained experts its gradient pushes it
    # negative within one iteration and the student diverges by N = 20; the SGD step on syn_lr runs all the same
    return MTTConfig(dataset='random', ipc=a.ipc, preprocess='none', net=a.net, net_kwargs=net_kwargs(a), syn_steps=syn_steps,
                     expert_epochs=a.expert_epochs, max_start_epoch=a.max_start_epoch, iterations=iterations, lr_img=1000.0,
                     lr_lr=0.0, lr_teacher=1e-3, batch_syn=a.batch_syn, augment='dsa', alpha=a.alpha, recompute=MODES[mode][0],
                     compile=MODES[mode][1])

def build_buffers(a, root:Path) -> dict:
    "One buffer per size in `--experts`, written by `train_buffer` (1 step per epoch on the tiny task); {K: info}."
    dev = torch.device(a.device)
    task, out, prev = tiny_task(a, dev), {}, None
    for K in sorted(set(a.experts)):
        cfg = ExpertConfig(dataset='random', preprocess='none', net=a.net, net_kwargs=net_kwargs(a), num_experts=K,
                           epochs=a.buffer_epochs, augment='none', parallel=min(K, 8) if dev.type == 'cuda' else 1)
        t0 = time.perf_counter()
        # start from the previous (smaller) buffer, hard-linked, so train_buffer resumes and trains only the new experts
        if prev is not None: shutil.copytree(prev, root/f'experts{K}', copy_function=os.link)
        buf = train_buffer(task, cfg, root/f'experts{K}', progress=False)
        prev = buf.path
        out[K] = dict(path=str(buf.path), num_params=buf.num_params, bytes_per_expert=(buf.path/expert_file(0)).stat().st_size,
                      build_s=time.perf_counter() - t0)
    if dev.type == 'cuda': torch.cuda.empty_cache()
    return out

def mtt_loop(task:Task, buf:Buffer, init:SynSet, cfg:MTTConfig):
    "`mtt.MTTRun`, the state and single iteration `mtt.distill` runs: returns step(clock), one iteration with its phases timed."
    run = MTTRun(task, buf, init, cfg)
    return lambda clock: run.step(0, clock)['loss']  # the loss is read every iteration (a device sync), as in distill

def measure_iteration(a, syn_steps:int, mode:str, path:str) -> dict:
    "Phase times, peak memory and (optionally) `distill`'s own time per iteration for one (N, mode)."
    with flush_denormal(): return _measure_iteration(a, syn_steps, mode, path)  # as distill's loop

def _measure_iteration(a, syn_steps:int, mode:str, path:str) -> dict:
    dev = torch.device(a.device)
    task, init = tiny_task(a, dev), random_init(a, dev)
    buf = Buffer(path, task=task, net=a.net, net_kwargs=net_kwargs(a))
    times = {k: [] for k in PHASES}
    @contextlib.contextmanager
    def clock(name):
        sync(dev); t = time.perf_counter()
        yield
        sync(dev); times[name].append(time.perf_counter() - t)
    t0 = time.perf_counter()
    mtt_loop(task, buf, init, mtt_config(a, 1, mode))(clock)  # load kernels and libraries first (and compile)
    sync(dev)
    first_s = time.perf_counter() - t0
    rss0, reset = rss()['now'], reset_peak_rss()
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
    step = mtt_loop(task, buf, init, mtt_config(a, syn_steps, mode))
    losses = [step(clock) for _ in range(a.warmup)]
    times = {k: [] for k in PHASES}
    totals = []
    for _ in range(a.iters):
        losses.append(step(clock))
        totals.append(sum(times[k][-1] for k in PHASES))
    r = dict(syn_steps=syn_steps, mode=mode, recompute=MODES[mode][0], compile=MODES[mode][1], first_iteration_s=first_s,
             s_per_it=statistics.median(totals), s_per_it_all=totals,
             phases_s={k: statistics.median(v) for k, v in times.items()},
             peak_gpu_gib=torch.cuda.max_memory_allocated(dev)/GIB if dev.type == 'cuda' else None,
             peak_gpu_reserved_gib=torch.cuda.max_memory_reserved(dev)/GIB if dev.type == 'cuda' else None,
             rss_before_mib=rss0, rss_growth_mib=rss()['peak'] - rss0, peak_rss_reset=reset, losses=losses,
             losses_finite=bool(np.isfinite(losses).all()))
    if not a.no_distill_check:  # the library loop itself: (time of warmup + iters iterations - time of warmup) / iters
        def run(n):
            sync(dev); t = time.perf_counter()
            distill(task, buf, init, mtt_config(a, syn_steps, mode, iterations=n), progress=False)
            sync(dev); return time.perf_counter() - t
        w = max(a.warmup, 1)
        r['distill_s_per_it'] = (run(w + a.iters) - run(w))/a.iters
    return r

def measure_host(a, K:int, path:str, eager:bool) -> dict:
    "Peak RSS growth of `distill` over a K-expert buffer (`eager`: with all K trajectories also held in RAM, as the authors)."
    dev = torch.device(a.device)
    task, init = tiny_task(a, dev), random_init(a, dev)
    cfg = lambda n: mtt_config(a, 1, 'recompute', iterations=n)  # N = 1: the test is about the buffer, not the student
    distill(task, path, init, cfg(1), progress=False)  # load kernels, CUDA context and libraries first
    sync(dev)
    rss0, reset = rss()['now'], reset_peak_rss()
    held = [torch.from_numpy(np.load(Path(path)/expert_file(i))) for i in range(K)] if eager else []
    s = distill(task, path, init, cfg(a.host_iters), progress=False)
    sync(dev)
    m = rss()
    return dict(experts=K, eager=eager, iterations=a.host_iters, experts_touched=len(set(s.meta['trace']['expert'])),
                held_mib=sum(t.numel()*4 for t in held)/MIB, rss_before_mib=rss0, rss_growth_mib=m['peak'] - rss0,
                rss_after_mib=m['now'], peak_rss_reset=reset)

def run_one(job:dict, a, malloc:bool=False) -> dict:
    "Run one measurement in a fresh process, so its peak memory is its own (`malloc`: with MALLOC_ENV); errors are recorded."
    env = {**os.environ, **(MALLOC_ENV if malloc else {})}
    p = subprocess.run([sys.executable, __file__, '--one', json.dumps(dict(job, args=vars(a)))], capture_output=True, text=True, env=env)
    if p.returncode: return dict(job, error=p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])

def slope(rows:list, key:str) -> float|None:
    "Least-squares growth of `key` per student step over the N sweep."
    pts = [(r['syn_steps'], r[key]) for r in rows if 'error' not in r and r.get(key) is not None]
    if len({n for n, _ in pts}) < 2: return None
    return float(np.polyfit(*zip(*pts), 1)[0])

def vs_graph(rows:list, mem_key:str) -> list:
    "Each mode's time per iteration and memory as multiples of the graph mode's at the same N."
    ok = {(r['mode'], r['syn_steps']): r for r in rows if 'error' not in r}
    ratio = lambda r, g, k: r[k]/g[k] if r.get(k) is not None and g.get(k) else None
    return [dict(syn_steps=N, mode=m, s_per_it=ratio(r, ok[('graph', N)], 's_per_it'), **{mem_key: ratio(r, ok[('graph', N)], mem_key)})
            for (m, N), r in ok.items() if m != 'graph' and ('graph', N) in ok]

def main(argv=None) -> dict:
    "Build the synthetic buffers, time the N sweep in both modes, measure host memory vs experts, print and write the JSON."
    t_start, load_start = time.time(), os.getloadavg()
    a = parse_args(argv)
    if a.one is not None:
        j = json.loads(a.one)
        a = argparse.Namespace(**{**j['args'], 'one': a.one})
        if j.get('memory_only'): a = argparse.Namespace(**{**vars(a), 'warmup': 0, 'iters': 1, 'no_distill_check': True})
        r = measure_iteration(a, j['syn_steps'], j['mode'], j['path']) if j['kind'] == 'iteration' else \
            measure_host(a, j['experts'], j['path'], j['eager'])
        print(json.dumps(r))
        return r
    dev = torch.device(a.device)
    modes = {'both': ['graph', 'recompute'], 'on': ['recompute'], 'off': ['graph']}[a.recompute] + (['compiled'] if a.compile else [])
    root = Path(tempfile.mkdtemp(prefix='mtt_step-', dir=a.tmp))
    try:
        bufs = build_buffers(a, root)
        big = bufs[max(bufs)]
        n_syn, n_d = a.classes*a.ipc, round(a.alpha*a.ipc)*a.classes
        print(f"mtt_step: {a.net} width {a.width} depth {a.depth}, {a.channels}x{a.im_size}x{a.im_size}, {a.classes} classes, "
              f"{big['num_params']:,} params; IPC {a.ipc} ({n_syn} images, {n_d} distilled, alpha {a.alpha}), batch_syn "
              f"{a.batch_syn}, DSA, M {a.expert_epochs}; {dev} ({torch.get_num_threads()} threads, load average "
              f"{load_start[0]:.1f}); {a.warmup} warm-up + {a.iters} timed iterations, buffer of {max(bufs)} experts")
        print(f"{'mode':>9} {'N':>4} | {'load':>6} {'plan':>6} {'grad':>7} {'update':>6} {'s/it':>7} {'distill':>8} | "
              f"{'peak GPU GiB':>12} {'reserved':>8} {'RSS+ MiB':>9}")
        rows = []
        for rc in modes:
            for N in a.syn_steps:
                job = dict(kind='iteration', syn_steps=N, mode=rc, recompute=MODES[rc][0], compile=MODES[rc][1], path=big['path'])
                r = run_one(job, a)
                if dev.type == 'cpu' and 'error' not in r:  # memory from a separate short run with MALLOC_ENV (slows timing)
                    m = run_one(dict(job, memory_only=True), a, malloc=True)
                    r.update(rss_growth_default_malloc_mib=r['rss_growth_mib'], rss_growth_mib=m.get('rss_growth_mib'),
                             memory_run=m)
                rows.append(r)
                if 'error' in r:
                    print(f"{rc:>9} {N:>4} | failed: {r['error'].strip().splitlines()[-1][:90]}")
                    continue
                ph, f = r['phases_s'], lambda v, w, d: '-'.rjust(w) if v is None else f'{v:>{w}.{d}f}'
                if not r['losses_finite']: print(f'warning: non-finite matching loss at N={N}; timings may not be representative')
                print(f"{rc:>9} {N:>4} | {ph['load']:>6.3f} {ph['plan']:>6.3f} {ph['grad']:>7.3f} {ph['update']:>6.3f} "
                      f"{r['s_per_it']:>7.3f} {f(r.get('distill_s_per_it'), 8, 3)} | {f(r['peak_gpu_gib'], 12, 2)} "
                      f"{f(r['peak_gpu_reserved_gib'], 8, 2)} {f(r['rss_growth_mib'], 9, 0)}")
        mem_key = 'peak_gpu_gib' if dev.type == 'cuda' else 'rss_growth_mib'
        scaling = {rc: dict(s_per_step=slope([r for r in rows if r['mode'] == rc], 's_per_it'),
                            memory_per_step=slope([r for r in rows if r['mode'] == rc], mem_key),
                                 memory_unit='GiB' if dev.type == 'cuda' else 'MiB') for rc in modes}
        for rc, s in scaling.items():
            if s['s_per_step'] is not None:
                print(f"{rc}: +{s['s_per_step']*1e3:.1f} ms and {s['memory_per_step']:+.3g} {s['memory_unit']} "
                      f"({'peak GPU' if dev.type == 'cuda' else 'peak RSS growth'}) per extra student step")
        ratios = vs_graph(rows, mem_key)
        for r in ratios:
            print(f"N {r['syn_steps']}, {r['mode']} / graph: time x{r['s_per_it']:.2f}, memory x{r[mem_key]:.2f}"
                  if r[mem_key] is not None else f"N {r['syn_steps']}, {r['mode']} / graph: time x{r['s_per_it']:.2f}")

        print(f"\nhost memory vs experts: {a.host_iters} distill iterations (N 1) picking random "
              f"experts; {big['bytes_per_expert']/MIB:.1f} MiB per expert file ({a.buffer_epochs + 1} snapshots)")
        print(f"{'experts':>7} {'buffer MiB':>10} | {'Buffer (mmap) RSS+ MiB':>22} {'touched':>7} | {'all in RAM RSS+ MiB':>19}")
        host = []
        for K in (sorted(bufs) if a.host_iters else []):
            m = run_one(dict(kind='host', experts=K, eager=False, path=bufs[K]['path']), a, malloc=True)
            e = run_one(dict(kind='host', experts=K, eager=True, path=bufs[K]['path']), a, malloc=True)
            host.append(dict(experts=K, buffer_mib=K*bufs[K]['bytes_per_expert']/MIB, mmap=m, eager=e))
            g = lambda r: f"{r['rss_growth_mib']:.0f}" if 'error' not in r else 'failed'
            print(f"{K:>7} {K*bufs[K]['bytes_per_expert']/MIB:>10.0f} | {g(m):>22} {m.get('experts_touched', '-'):>7} | {g(e):>19}")
        ok = [h for h in host if 'error' not in h['mmap']]
        host_delta = ok[-1]['mmap']['rss_growth_mib'] - ok[0]['mmap']['rss_growth_mib'] if len(ok) > 1 else None
        host_ok = host_delta is not None and host_delta < big['bytes_per_expert']/MIB
        if host_delta is not None:
            print(f"Buffer: peak RSS growth changes by {host_delta:+.0f} MiB from {ok[0]['experts']} to {ok[-1]['experts']} "
                  f"experts (one expert file is {big['bytes_per_expert']/MIB:.1f} MiB): "
                  f"{'independent of' if host_ok else 'GROWS with'} the number of experts")

        verdict = []
        if dev.type == 'cuda':
            N = 55 if 55 in a.syn_steps else max(a.syn_steps)
            note = '' if is_target_setting(a) else ' (NOT the issue setting: options differ)'
            for r in rows:
                if r['syn_steps'] != N: continue
                if 'error' in r: verdict.append(f"{r['mode']} N={N}: failed{note}"); continue
                t_ok, m_ok = r['s_per_it'] <= TARGET['s_per_it'], r['peak_gpu_gib'] <= TARGET['peak_gpu_gib']
                verdict.append(f"{r['mode']} N={N}{note}: {r['s_per_it']:.3f} s/it (target <= "
                               f"{TARGET['s_per_it']}, authors {AUTHORS['s_per_it']}: {'PASS' if t_ok else 'FAIL'}), peak "
                               f"{r['peak_gpu_gib']:.2f} GiB (target <= {TARGET['peak_gpu_gib']:.0f}, authors "
                               f"{AUTHORS['peak_gpu_gib']}: {'PASS' if m_ok else 'FAIL'})")
            verdict.append('host memory vs experts: not tested (give --experts at least two sizes)' if host_delta is None else
                           f"host memory independent of the number of experts: {'PASS' if host_ok else 'FAIL'}")
        else: verdict.append('targets are for one H100; CPU numbers are for scaling only')
        print('\nverdict: ' + '\nverdict: '.join(verdict))
    finally: shutil.rmtree(root, ignore_errors=True)

    result = dict(benchmark='mtt_step', config=vars(a), target_setting=is_target_setting(a), targets=TARGET, authors=AUTHORS,
                  buffers={str(k): v for k, v in bufs.items()}, iteration=rows, scaling=scaling, vs_graph=ratios, host_memory=host,
                  host_growth_delta_mib=host_delta, host_independent=host_ok, verdict=verdict,
                  torch_threads=torch.get_num_threads(), cpu_count=os.cpu_count(), omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
                  load_avg_1_5_15=dict(start=load_start, end=os.getloadavg()),
                  notes=dict(modes='graph: one autograd graph of all N student steps (recompute=False, the default); recompute: '
                                   'the backward one student step at a time (recompute=True), eager; compiled: recompute with '
                                   'compile=True, the student step and its VJP compiled by torch.compile in each process during '
                                   'the untimed first iteration (first_iteration_s, N = 1, includes compiling); vs_graph: s_per_it '
                                   'and memory of each mode divided by the graph mode\'s at the same N',
                             data='synthetic: the buffers are written by trajectories.train_buffer on a tiny random task (one '
                                  'image per class, one step per epoch; each larger buffer resumes the smaller one, hard-linked), '
                                  'the synthetic set is random; the cost of an iteration depends only on the shapes, not on the '
                                  'values',
                             lr='SelMatch CIFAR-10 IPC 500: lr_img 1000, initial syn_lr 1e-3, momentum 0.5, M 2, DSA; but lr_lr 0 '
                                '(authors 1e-5): with random data syn_lr would turn negative and the student diverge; the SGD '
                                'step on syn_lr still runs. losses_finite says whether every timed loss was finite',
                             phases='load: pick expert and start epoch, Buffer.snapshot x2 from the memory-mapped file to the '
                                    'device; plan: student_plan (minibatches + DSA parameters); grad: matching_grad; update: '
                                    'gradients onto the distilled rows, SGD step on pixels and syn_lr, read the loss. Each phase '
                                    'is bracketed by device syncs; s_per_it is the median of the per-iteration sums',
                             distill_s_per_it='mtt.distill itself: (time of warmup + iters iterations - time of warmup '
                                              'iterations) / iters; no syncs inside the loop beyond the ones distill makes',
                             memory='each measurement runs in its own process. CUDA: torch.cuda.max_memory_allocated (and '
                                    'max_memory_reserved) over the warm-up and timed iterations, including the set, the optimiser '
                                    'state and the snapshots. CPU: peak RSS (VmHWM, reset with /proc/self/clear_refs) minus RSS '
                                    'before the iterations, after a 1-step warm-up that loads the kernels, measured in a separate '
                                    'run of 1 iteration with glibc MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ = 64 KiB '
                                    'so that freed tensors leave RSS (that setting slows CPU training about 2x, so the timed run '
                                    'uses the default allocator; its RSS growth is rss_growth_default_malloc_mib)',
                             host_memory='peak RSS growth of a distill run of host_iters iterations over a K-expert buffer '
                                         '(N = 1, recompute on; MALLOC_ENV as above), after a 1-iteration warm-up run; "all in RAM" '
                                         'additionally holds every trajectory of the buffer as tensors, as the authors\' code '
                                         'does, to show what the measurement sees when memory does grow with K'),
                  command=' '.join([Path(sys.executable).name, *sys.argv]), torch_version=torch.__version__,
                  wall_time_s=time.time() - t_start, provenance=provenance(dev))
    if a.section:  # beside the file's other runs
        result = {**(json.loads(Path(a.out).read_text()) if Path(a.out).exists() else {}), a.section: result}
    atomic_write_json(a.out, result)
    print(f'wrote {a.out}')
    return result

if __name__ == '__main__': main()
