"""Large CPU blocks kept in the heap (`distill_nb.core.keep_heap` / `MALLOC_ENV`) against glibc's default, side by side in one run.

  python benchmarks/keep_heap.py [--steps 60] [--n 50000]

Each mode runs in its own fresh process, one after the other: `--steps` steps of the evaluation loop (`train_networks`, the rat_bptt
protocol at width 32: batch 256, flip + rotate, Adam) on n CIFAR-10-shaped random images (only shapes matter for cost), one thread.
Prints and saves wall time, user and kernel CPU seconds, minor page faults, and whether the trained parameters are bit-identical
(benchmarks/results/keep_heap-cpu.json)."""
import argparse, json, os, resource, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def one(steps:int, n:int) -> dict:
    "This process's cost of `steps` training steps on n random images, and a hash of the trained parameters."
    import hashlib, torch
    from distill_nb.evaluate import get_protocol, train_networks
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.time()
    p, _, _ = train_networks(x, y, 10, get_protocol('rat_bptt', steps=steps, net_kwargs={'width': 32}), seeds=[0])
    wall, r1 = time.time() - t0, resource.getrusage(resource.RUSAGE_SELF)
    h = hashlib.sha256(b''.join(v.contiguous().numpy().tobytes() for v in p.values())).hexdigest()[:16]
    return dict(wall_s=wall, user_s=r1.ru_utime - r0.ru_utime, sys_s=r1.ru_stime - r0.ru_stime, minor_faults=r1.ru_minflt - r0.ru_minflt, params_sha256=h)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=60); ap.add_argument('--n', type=int, default=50000)
    ap.add_argument('--one', action='store_true', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one: print(json.dumps(one(a.steps, a.n))); return
    from distill_nb.core import MALLOC_ENV, atomic_write_json, provenance
    base = {k: v for k, v in os.environ.items() if k not in MALLOC_ENV}
    res = {}
    for mode, env in (('glibc default', base), ('heap kept (MALLOC_ENV)', {**base, **MALLOC_ENV})):
        out = subprocess.run([sys.executable, __file__, '--one', '--steps', str(a.steps), '--n', str(a.n)], env=env,
                             capture_output=True, text=True, check=True).stdout
        res[mode] = json.loads(out.strip().splitlines()[-1])
        print(f"{mode:>24}: {res[mode]['wall_s']:.1f} s wall, {res[mode]['user_s']:.1f} s user, {res[mode]['sys_s']:.1f} s kernel, "
              f"{res[mode]['minor_faults']:,} page faults", flush=True)
    d, k = res.values()
    summary = dict(speedup=d['wall_s']/k['wall_s'], identical=d['params_sha256'] == k['params_sha256'])
    print(f"heap kept: {summary['speedup']:.2f}x faster; parameters bit-identical: {summary['identical']}")
    atomic_write_json(ROOT/'benchmarks'/'results'/'keep_heap-cpu.json', dict(
        command=f'python benchmarks/keep_heap.py --steps {a.steps} --n {a.n}', steps=a.steps, n=a.n, malloc_env=MALLOC_ENV,
        results=res, **summary, provenance=provenance('cpu')))

if __name__ == '__main__': main()
