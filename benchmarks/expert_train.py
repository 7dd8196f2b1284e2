"""Expert-training throughput for MTT/SelMatch buffers: experts trained one at a time vs K at once (vmapped)."""
import argparse, os, shutil, statistics, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch

from common import sync
from distill_nb.core import atomic_write_json, provenance, resolve_device
from distill_nb.data import load_dataset, prepare
from distill_nb.trajectories import ExpertConfig, train_buffer

def parse_args(argv=None) -> argparse.Namespace:
    "Command-line options; defaults depend on the device."
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--device', default=None, help="'cpu', 'cuda', 'cuda:N' (default: cuda if available, else cpu)")
    p.add_argument('--dataset', default='digits', choices=['digits', 'cifar10'], help='training data of the experts')
    p.add_argument('--data', default=None, help='folder holding the dataset (default: $DISTILL_NB_DATA)')
    p.add_argument('--train-per-class', type=int, default=None, help='subsample the training split (CPU runs); default: all')
    p.add_argument('--experts', type=int, default=None, help='experts trained per mode (default: the largest --parallel)')
    p.add_argument('--parallel', type=int, nargs='+', default=None, help='K values to time (default: 1 4 on CPU, 1 2 4 8 on GPU)')
    p.add_argument('--epochs', type=int, default=None, help='epochs per expert (default: 2 on CPU, 5 on GPU)')
    p.add_argument('--net', default='convnet_bn', help='expert network')
    p.add_argument('--width', type=int, default=None, help='ConvNet width (default: 32 on CPU, 128 on GPU)')
    p.add_argument('--depth', type=int, default=None, help='ConvNet depth (default: 2 for 8x8 digits, 3 otherwise)')
    p.add_argument('--batch', type=int, default=256, help='minibatch size')
    p.add_argument('--augment', default='none', help="'none' (SelMatch) or 'dsa' (MTT)")
    p.add_argument('--repeats', type=int, default=1, help='timed repeats per K (the median is reported)')
    p.add_argument('--out', default=None, help='JSON file (default: benchmarks/results/expert_train-<device type>.json)')
    a = p.parse_args(argv)
    a.device = str(resolve_device(a.device))
    gpu = torch.device(a.device).type == 'cuda'
    if a.parallel is None: a.parallel = [1, 2, 4, 8] if gpu else [1, 4]
    if a.experts is None: a.experts = max(a.parallel)
    if a.epochs is None: a.epochs = 5 if gpu else 2
    if a.width is None: a.width = 128 if gpu else 32
    if a.depth is None: a.depth = 2 if a.dataset == 'digits' else 3
    if a.out is None: a.out = str(Path(__file__).parent/'results'/f'expert_train-{torch.device(a.device).type}.json')
    return a

def run_mode(task, cfg:ExpertConfig, out:Path) -> float:
    "Train a fresh buffer of `cfg.num_experts` experts into `out` (files and manifest included); return seconds."
    shutil.rmtree(out, ignore_errors=True)
    sync(task.device)
    t0 = time.perf_counter()
    train_buffer(task, cfg, out, progress=False)
    sync(task.device)
    return time.perf_counter() - t0

def final_gap(a:Path, b:Path, n:int) -> float:
    "Max |difference| between the trajectories of experts 0..n-1 in two buffers (same seeds, different K)."
    return max(float(np.abs(np.load(a/f'expert_{i:04d}.npy') - np.load(b/f'expert_{i:04d}.npy')).max()) for i in range(n))

def main(argv=None) -> dict:
    "Time buffer training for every K, check the experts agree across K, print a table and write the JSON."
    t_start, load_start = time.time(), os.getloadavg()
    args = parse_args(argv)
    dev = torch.device(args.device)
    # standardisation instead of ZCA: the cost of training does not depend on the preprocessing, and fitting ZCA on
    # CIFAR-10 (3072 x 3072 in float64) would dominate a short CPU run
    task = prepare(load_dataset(args.dataset, path=args.data), 'standardize', train_per_class=args.train_per_class,
                   test_per_class=10, device=dev)
    base = ExpertConfig(dataset=args.dataset, preprocess='standardize', net=args.net,
                        net_kwargs={'width': args.width, 'depth': args.depth}, epochs=args.epochs, batch_size=args.batch,
                        augment=args.augment)
    tmp = Path(tempfile.mkdtemp(prefix='expert_train-'))
    try:
        k_max = max(args.parallel)
        run_mode(task, ExpertConfig(**{**vars(base), 'epochs': 1, 'num_experts': k_max, 'parallel': k_max}), tmp/'warmup')
        modes = {}
        for K in args.parallel:
            cfg = ExpertConfig(**{**vars(base), 'num_experts': args.experts, 'parallel': K})
            if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
            times = [run_mode(task, cfg, tmp/f'k{K}') for _ in range(args.repeats)]
            med = statistics.median(times)
            modes[K] = dict(times_s=times, median_s=med, expert_epochs_per_s=args.experts*args.epochs/med,
                            s_per_expert_epoch=med/(args.experts*args.epochs),
                            max_memory_allocated=torch.cuda.max_memory_allocated(dev) if dev.type == 'cuda' else None,
                            max_abs_diff_vs_k1=final_gap(tmp/'k1', tmp/f'k{K}', args.experts) if 1 in args.parallel else None)
        bytes_per_expert = (tmp/f'k{args.parallel[0]}'/'expert_0000.npy').stat().st_size
    finally: shutil.rmtree(tmp, ignore_errors=True)

    ref = modes.get(1, modes[args.parallel[0]])['expert_epochs_per_s']
    for m in modes.values(): m['speedup_vs_k1'] = m['expert_epochs_per_s']/ref if 1 in args.parallel else None
    n, steps = len(task.x_train), -(-len(task.x_train)//min(args.batch, len(task.x_train)))
    print(f"expert_train: {args.dataset} ({n} training images, {steps} steps/epoch), {args.net} width {args.width} depth "
          f"{args.depth}, {args.experts} experts x {args.epochs} epochs, batch {args.batch}, augment {args.augment!r}, "
          f"{dev} ({torch.get_num_threads()} CPU threads, load average {load_start[0]:.1f} at start)")
    print(f"{'K':>3} {'median s':>9} {'exp-ep/s':>9} {'speedup':>8} {'peak MiB':>9} {'|diff| vs K=1':>14}")
    for K, m in modes.items():
        mem = '-' if m['max_memory_allocated'] is None else f"{m['max_memory_allocated']/2**20:.0f}"
        sp = '-' if m['speedup_vs_k1'] is None else f"{m['speedup_vs_k1']:.2f}x"
        gap = '-' if m['max_abs_diff_vs_k1'] is None else f"{m['max_abs_diff_vs_k1']:.1e}"
        print(f"{K:>3} {m['median_s']:>9.2f} {m['expert_epochs_per_s']:>9.3f} {sp:>8} {mem:>9} {gap:>14}")
    result = dict(benchmark='expert_train', config=vars(args), n_train=n, steps_per_epoch=steps,
                  bytes_per_expert=bytes_per_expert, torch_threads=torch.get_num_threads(), cpu_count=os.cpu_count(),
                  omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
                  load_avg_1_5_15=dict(start=load_start, end=os.getloadavg()), modes={str(k): v for k, v in modes.items()},
                  notes=dict(expert_epochs_per_s='experts x epochs / wall time of train_buffer (training, the per-epoch '
                                                 'copy of the parameters to the host, and writing the files and manifest)',
                             max_abs_diff_vs_k1='largest |difference| of any saved parameter of the same expert trained '
                                                'with K=1 and with K (vmapped kernels round differently)',
                             preprocess='standardize (timing does not depend on it)',
                             load_avg='other processes on the machine slow CPU timings badly'),
                  command=' '.join([Path(sys.executable).name, *sys.argv]), torch_version=torch.__version__,
                  wall_time_s=time.time() - t_start, provenance=provenance(dev))
    atomic_write_json(args.out, result)
    print(f'wrote {args.out}')
    return result

if __name__ == '__main__': main()
