"""Two CPU cores, one RaT-BPTT meta-batch of 2 networks: one process with 2 threads vs 2 gloo ranks with 1 thread each (torchrun).
Both run the same command (`distill-nb rat-bptt`, CIFAR-10-shaped ConvNet-3 unrolls on a class-balanced CIFAR-10 subset, or digits)
and produce the same set; the script times them side by side (alternating, median of the repeats) and writes one JSON."""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

from distill_nb.core import atomic_write_json, provenance


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--dataset', default='cifar10', choices=['cifar10', 'digits'], help='cifar10 needs $DISTILL_NB_DATA')
    p.add_argument('--steps', type=int, default=4, help='meta-steps per timed run')
    p.add_argument('--width', type=int, default=32, help='ConvNet width')
    p.add_argument('--unroll', type=int, default=20, help='T')
    p.add_argument('--window', type=int, default=10, help='W')
    p.add_argument('--real-batch', type=int, default=512, help='real images per meta-step (each network takes half)')
    p.add_argument('--repeats', type=int, default=2, help='timed runs per mode, alternating')
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'dist_cpu.json'))
    return p.parse_args(argv)


def command(a, out:Path) -> list:
    "The `distill-nb rat-bptt` arguments of one run (2 networks per meta-step, no evaluation worth timing)."
    ds = ['--dataset', 'cifar10', '--ipc', '10', '--val-per-class', '10'] if a.dataset == 'cifar10' else ['--dataset', 'digits', '--ipc', '1']
    return ['rat-bptt', *ds, '--steps', str(a.steps), '--width', str(a.width), '--unroll', str(a.unroll), '--window', str(a.window),
            '--real-batch', str(a.real_batch), '--nets-per-step', '2', '--k', '1', '--eval-steps', '1', '--checkpoint-every', '1000',
            '--out', str(out), '--quiet']


def timed(a, mode:str, out:Path) -> tuple:
    "(whole command, its meta-steps) in wall seconds: mode 'threads' (1 process x 2 threads) or 'ranks' (2 processes x 1 thread)."
    env = dict(os.environ)
    if mode == 'threads':
        cmd, env['OMP_NUM_THREADS'] = [sys.executable, '-m', 'distill_nb.cli', *command(a, out), '--threads', '2'], '2'
    else:
        cmd, env['OMP_NUM_THREADS'] = ['torchrun', '--standalone', '--nproc_per_node', '2', '-m', 'distill_nb.cli', *command(a, out),
                                       '--threads', '1'], '1'
    t = time.time()
    subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
    return time.time() - t, json.loads((out/'results.json').read_text())['distill_wall_time']


def main(argv=None):
    a, load0 = parse_args(argv), os.getloadavg()
    times, steps = {'threads': [], 'ranks': []}, {'threads': [], 'ranks': []}
    with tempfile.TemporaryDirectory() as d:
        for r in range(a.repeats):
            for mode in ('threads', 'ranks'):
                w, s = timed(a, mode, Path(d)/f'{mode}{r}')
                times[mode].append(w); steps[mode].append(s)
                print(f'{mode:>8} run {r}: {w:.1f} s, of which meta-steps {s:.1f} s', flush=True)
        sets = [json.loads((Path(d)/f'{m}0'/'results.json').read_text()) for m in ('threads', 'ranks')]
    med = {m: statistics.median(v) for m, v in times.items()}
    med_steps = {m: statistics.median(v) for m, v in steps.items()}
    ratio, ratio_steps = med['threads']/med['ranks'], med_steps['threads']/med_steps['ranks']
    print(f"meta-steps: 1 process x 2 threads {med_steps['threads']:.1f} s, 2 ranks x 1 thread {med_steps['ranks']:.1f} s "
          f"(ranks {ratio_steps:.2f}x as fast); whole command (start-up, data, {a.steps} meta-steps, a 1-step evaluation): "
          f"{med['threads']:.1f} s vs {med['ranks']:.1f} s ({ratio:.2f}x)")
    atomic_write_json(a.out, dict(benchmark='dist_cpu', args=vars(a), times_s=times, median_s=med, threads_over_ranks=ratio,
                                  meta_steps_s=steps, median_meta_steps_s=med_steps, threads_over_ranks_meta_steps=ratio_steps,
                                  world_size_recorded=[s.get('world_size') for s in sets], cpu_count=os.cpu_count(),
                                  load_avg_1_5_15=dict(start=load0, end=os.getloadavg()),
                                  command=' '.join([Path(sys.executable).name, *sys.argv]), provenance=provenance('cpu')))
    print(f'wrote {a.out}')


if __name__ == '__main__': main()
