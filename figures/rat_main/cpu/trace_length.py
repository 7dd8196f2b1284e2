"""Run by hand: how many meta-steps do rat_main's cpu settings need before the outer-loss trace flattens? (issue 11)
Kept as the record of why rat_main's cpu rows no longer use the authors' outer lr: these runs are at outer lr 1e-3, where
neither trace flattened inside the 45-minute cap; outer_lr.py chose 1e-2 on the validation split, and rat_main now scores
each run on that split during distillation (its validation trace, read by analysis.flattened).
  python trace_length.py run IPC STEPS [CKPT_DIR]   one long run of rat_main's cpu row for IPC (1 or 10), compiled recompute path,
                                                    checkpoints every 50 meta-steps in CKPT_DIR (default runs/trace_length/ipcIPC;
                                                    a finished run is read back from its checkpoint), writes trace_length_ipcIPC.json
  python trace_length.py report                     the table below and trace_length.png from those JSON files
  python trace_length.py eval IPC STEPS CKPT_DIR     the finished long run's set, read back from CKPT_DIR, evaluated as rat_main
                                                    evaluates (rat_bptt protocol, width 32, networks of seeds 0-2, test split),
                                                    beside the committed rat_main cpu number at its shorter length: written to
                                                    trace_length_eval_ipcIPC.json. Reported so that the choice between a longer
                                                    time cap and a shorter run can see what the extra meta-steps buy; no
                                                    setting is chosen from it (the step counts above come from the loss trace).
                                                    Measured (2026-11-30 ~23:55 UTC, at b4d46a6, on the checkpoints of the runs below):
                                                    IPC 1 1500 steps 31.8 +- 0.3 % (committed 500: 24.9 +- 1.0), IPC 10 900
                                                    steps 45.9 +- 0.9 % (committed 200: 39.3 +- 0.9); random real 12.0 / 28.2.
Measured (DISTILL_NB_DATA set, one thread, 2-core machine with both cores busy): IPC 1 1500 steps in 32 min (1.27 s per step),
IPC 10 900 steps in ~60 min (~4 s per step). The settings are exactly rat_main's cpu rows (T 60 / W 20, real batch 1000, init
real, ConvNet-3 width 32, seed 0) with more steps; backward='recompute' with compile=True gives the graph path's trace to float32
rounding (IPC 10's first 200 steps: the same means per fifth to 3 decimals as the committed rat_main run), ~0.8x the time.
The committed trace_length_ipc*.json: the meta-steps ran on 2026-11-30 from 18:31 UTC at 0fef28f (distill_nb/ identical to the
sha in their provenance, which is that of the call that read them back from the finished checkpoints: read_back true).
`run` and `report` read only the training split's outer loss; only `eval` touches the test split (see above).

Reading the trace: c (the window start) is redrawn once per pass over the real data (50 meta-steps at a real batch of 1000),
and the outer loss depends on how long the network trained (c + W steps), so the loss jumps between passes. The trend is read
from the mean per pass; `fit` also regresses the pass means on c and the pass index (a drop per pass at equal c).
Flatness rule (declared before the long runs finished): the drop a least-squares line through the last quarter of the first n
steps predicts across that quarter, plus 2 standard errors, is under 10 % of the run's drop (mean of its first 10 % minus mean
of its last 10 %)."""
import dataclasses, json, sys, time
from pathlib import Path
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]  # the repository (this file: figures/rat_main/cpu/)

def flat(loss) -> dict:
    "The flatness rule above on one trace."
    l = np.asarray(loss, float); n = len(l); q = l[3*n//4:]; x = np.arange(len(q))
    (sl, _), res, *_ = np.linalg.lstsq(np.c_[x, np.ones_like(x)], q, rcond=None)
    se = float(np.sqrt(res[0]/(len(q) - 2)/((x - x.mean())**2).sum())*len(q))
    k = max(1, n//10); total = float(l[:k].mean() - l[-k:].mean()); tail = float(-sl*len(q))
    return dict(n=n, run_drop=total, tail_drop=tail, tail_drop_se=se, flat=tail + 2*se < 0.1*total)

def passes(loss, c) -> list:
    "(c, mean loss, first step, length) of each block of equal c, i.e. each pass over the real data."
    l, c = np.asarray(loss, float), np.asarray(c); b = np.r_[0, np.cumsum(np.diff(c) != 0)]
    return [(int(c[b == i][0]), float(l[b == i].mean()), int(np.argmax(b == i)), int((b == i).sum())) for i in range(b.max() + 1)]

def fit(P) -> dict:
    "Pass means ~ a + g * c + s * pass index over full passes (>= 40 steps): s is the drop per pass at equal c."
    P = np.array([p for p in P if p[3] >= 40], float)
    A = np.c_[np.ones(len(P)), P[:, 0], np.arange(len(P))]; coef, *_ = np.linalg.lstsq(A, P[:, 1], rcond=None)
    return dict(per_c_step=float(coef[1]), per_pass=float(coef[2]), passes=len(P))

def run(ipc:int, steps:int, ckpt:Path):
    from distill_nb.core import atomic_write_json, provenance
    from distill_nb.rat_bptt import distill
    task, cfg = task_and_config(ipc, steps)
    t = time.time()
    s = distill(task, cfg, out=ckpt, progress=False, checkpoint_every=50)
    tr, took = s.meta['trace'], time.time() - t
    atomic_write_json(HERE/f'trace_length_ipc{ipc}.json', dict(
        command=f'python figures/rat_main/cpu/trace_length.py run {ipc} {steps}', config=dataclasses.asdict(cfg), steps=s.meta['steps'],
        distill_wall_time_s=s.meta['wall_time'], this_call_s=took,
        read_back=took < 0.5*s.meta['wall_time'],  # True: the meta-steps ran in an earlier call, read back from its checkpoint
        loss=[float(v) for v in tr['loss']],
        c=[int(v) for v in tr['c']], grad_norm=[float(v) for v in tr['grad_norm']], provenance=provenance('cpu')))

def task_and_config(ipc:int, steps:int):
    "rat_main's cpu task and row for IPC, with `steps` meta-steps, on the compiled recompute path (as the long runs)."
    import torch
    from distill_nb.data import load_dataset, prepare
    from distill_nb.rat_bptt import preset
    torch.set_num_threads(1)
    task = prepare(load_dataset('cifar10'), 'zca', val_per_class=10, seed=0)  # as rat_main (val_per_class 10, seed 0)
    return task, preset(f'cifar10-ipc{ipc}', steps=steps, unroll=60, window=20, real_batch=1000, init='real', net_kwargs={'width': 32},
                        backward='recompute', compile=True)

def evaluate_long(ipc:int, steps:int, ckpt:Path):
    "The finished long run's set (read back from `ckpt`) evaluated as rat_main does, beside the committed rat_main cpu row."
    from distill_nb.core import atomic_write_json, provenance
    from distill_nb.evaluate import evaluate, get_protocol
    from distill_nb.rat_bptt import distill, preset_eval
    task, cfg = task_and_config(ipc, steps)
    main = json.loads((HERE/'results.json').read_text())
    ev = {**preset_eval(f'cifar10-ipc{ipc}', cfg), **main['config']['eval_kw']}  # as rat_main: the preset's network, then eval_kw
    done = next(x for x in main['sets'] if x['method'] == 'RaT-BPTT' and x['ipc'] == ipc)
    want = done['runs'][0]['eval']  # checked before any work: the committed row's protocol and seeds
    if dataclasses.asdict(get_protocol(main['config']['eval_protocol'], **ev)) != want['protocol'] or list(range(main['config']['k'])) != want['seeds']:
        raise SystemExit(f"the protocol or seeds differ from rat_main's committed IPC {ipc} row (results.json); nothing evaluated")
    t = time.time()
    s = distill(task, cfg, out=ckpt, progress=False, checkpoint_every=50)
    if time.time() - t > 0.5*s.meta['wall_time'] or s.meta['steps'] != steps:
        raise SystemExit(f'{ckpt} did not hold a finished {steps}-step IPC {ipc} run (the meta-steps ran now); nothing evaluated')
    r = evaluate(s, task, main['config']['eval_protocol'], k=main['config']['k'], **ev)
    assert r.protocol == want['protocol'] and r.seeds == want['seeds'], 'not rat_main protocol'
    rand = next(x for x in main['sets'] if x['method'] == 'random real' and x['ipc'] == ipc)
    out = dict(command=f'python figures/rat_main/cpu/trace_length.py eval {ipc} {steps} CKPT_DIR', ipc=ipc, steps=steps,
               long=r.to_dict(), committed=dict(steps=done['runs'][0]['steps'], mean=done['mean'], std=done['std'],
                                               accs=done['runs'][0]['eval']['accs']),
               random_real=dict(mean=rand['mean'], std=rand['std']), eval_protocol=main['config']['eval_protocol'], eval_kw=ev,
               eval_wall_time_s=r.wall_time, provenance=provenance('cpu'))
    atomic_write_json(HERE/f'trace_length_eval_ipc{ipc}.json', out)
    print(f"IPC {ipc}: {steps} meta-steps {r.mean:.2f} +- {r.std:.2f} % (test) against {out['committed']['mean']:.2f} +- "
          f"{out['committed']['std']:.2f} at the committed {out['committed']['steps']}; random real {rand['mean']:.2f}")

def report():
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, 2, figsize=(11, 3.6)); out = {}
    for ax, f in zip(axs, sorted(HERE.glob('trace_length_ipc*.json'), key=lambda p: int(p.stem[16:]))):
        r = json.loads(f.read_text()); l, c = r['loss'], r['c']; P = passes(l, c); ipc = r['config']['ipc']
        checks = [flat(l[:n]) for n in range(100, len(l) + 1, 50)]
        first = next((ch['n'] for i, ch in enumerate(checks) if all(x['flat'] for x in checks[i:])), None)
        early, half = fit([p for p in P if p[2] < len(l)//2]), fit([p for p in P if p[2] >= len(l)//2])
        out[ipc] = dict(steps=len(l), s_per_step=r['distill_wall_time_s']/len(l), flat_from=first, first_half_fit=early, last_half_fit=half,
                        whole_fit=fit(P), pass_means=[dict(c=p[0], mean=p[1], start=p[2], steps=p[3]) for p in P], checks=checks)
        print(f"IPC {ipc}: {len(l)} steps, {out[ipc]['s_per_step']:.2f} s each; flat by the rule at every n from {first}; last half: "
              f"{half['per_pass']:+.4f} per pass at equal c ({half['passes']} passes; first half {early['per_pass']:+.4f})")
        print('  pass means (c: loss) ' + ' '.join(f'{p[0]}:{p[1]:.3f}' for p in P))
        ax.plot(l, alpha=0.25, lw=0.7, label='per meta-step')
        ax.step([p[2] for p in P] + [len(l)], [p[1] for p in P] + [P[-1][1]], where='post', label='mean per pass')
        g = out[ipc]['whole_fit']['per_c_step']  # the pass means moved to c = 20 with the fit's linear effect of c
        ax.step([p[2] for p in P] + [len(l)], [p[1] - g*(p[0] - 20) for p in P] + [P[-1][1] - g*(P[-1][0] - 20)], where='post',
                color='k', lw=1, label=f'mean per pass at c = 20 ({g:+.4f} per step of c)')
        for p in P: ax.annotate(str(p[0]), (p[2] + p[3]/2, p[1]), fontsize=6, ha='center', va='bottom')
        if first: ax.axvline(first, color='k', ls=':', lw=1, label=f'flat by the rule from step {first}')
        ax.set(xlabel='meta-step', ylabel='outer loss (training real batch)', title=f'CIFAR-10 IPC {ipc} (numbers: c of each pass)')
        ax.legend(fontsize=7)
    plt.tight_layout(); fig.savefig(HERE/'trace_length.png', dpi=120)
    from distill_nb.core import atomic_write_json
    atomic_write_json(HERE/'trace_length_summary.json', dict(rule=__doc__, by_ipc=out))

if __name__ == '__main__':
    if sys.argv[1] == 'eval': evaluate_long(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
    elif sys.argv[1] == 'run':
        ipc, steps = int(sys.argv[2]), int(sys.argv[3])
        run(ipc, steps, Path(sys.argv[4]) if len(sys.argv) > 4 else ROOT/f'runs/trace_length/ipc{ipc}')
    else: report()
