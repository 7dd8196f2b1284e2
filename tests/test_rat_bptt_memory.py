"""RaT-BPTT's recompute backward: peak host memory of a meta-step does not grow with the window W; the graph path's does."""
import dataclasses, json, os, subprocess, sys

from distill_nb.rat_bptt import RatConfig

from conftest import ROOT

SCRIPT = ROOT/'benchmarks'/'rat_bptt_memory.py'
# glibc returns freed blocks over 64 KiB to the system, so peak RSS follows the live tensors (as the benchmark's memory runs)
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'MALLOC_MMAP_THRESHOLD_': '65536', 'MALLOC_TRIM_THRESHOLD_': '65536'}


def config(W:int, backward:str, real_batch:int=32) -> RatConfig:
    "CIFAR-10 shapes, ConvNet-3 width 32, IPC 10, 2 images per class per inner step, T = W, the real batch in chunks of 16."
    return RatConfig(dataset='random', preprocess='none', ipc=10, unroll=W, window=W, mode='tbptt', batch_per_class=2,
                     real_batch=real_batch, outer_chunk=16, net_kwargs={'width': 32, 'depth': 3}, backward=backward)


def growth_mib(jobs:dict) -> dict:
    "Peak-RSS growth (MiB) of one meta-step of each config, one process each, all at once (after a warm-up step)."
    procs = {k: subprocess.Popen([sys.executable, str(SCRIPT), '--one',
                                  json.dumps(dict(cfg=dataclasses.asdict(c), device='cpu', repeats=0))],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV) for k, c in jobs.items()}
    mib = {}
    for k, p in procs.items():
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        r = json.loads(out.strip().splitlines()[-1])
        assert r['peak_rss_reset'], 'cannot reset the peak RSS here (/proc/self/clear_refs)'
        mib[k] = r['rss_growth_mib']
    return mib


def test_recompute_peak_memory_is_flat_in_the_window():
    mib = growth_mib({(W, b): config(W, b) for W, b in ((4, 'recompute'), (16, 'recompute'), (16, 'graph'))})
    # recompute keeps (params, Adam m, v) per window step: 3 x 25k floats = 0.3 MiB; measured +3.6 MiB from W 4 to 16
    assert mib[16, 'recompute'] - mib[4, 'recompute'] < 12, mib
    # the graph path keeps every window step's activations: measured about 16 MiB per step, 250 MiB more at W 16
    assert mib[16, 'graph'] - mib[16, 'recompute'] > 100, mib


def test_recompute_peak_memory_is_flat_in_the_real_batch():
    mib = growth_mib({rb: config(4, 'recompute', rb) for rb in (32, 512)})
    # 480 more real images are 5.6 MiB; measured +0.4 MiB in chunks of 16, and +228 MiB with outer_chunk=None (the whole batch's
    # activations at once), so the bound fails when the chunking does
    assert mib[512] - mib[32] < 25, mib
