"""Run by hand after sel_main's cpu run (usage: python mtt_ipc100_validation.py 100; DISTILL_NB_DATA set).
Choose sel_main's cpu iteration budget per setting on the VALIDATION split (declared before running):
run MTT (random real init, alpha 1) exactly as sel_main's cpu row, checkpointed at 80/160/240/320 iterations; at each,
evaluate 2 networks on the validation split (SelMatch protocol, sel_main's cpu overrides) and record the matching-loss trace.
Rule: the budget is the checkpoint with the highest mean validation accuracy; a later checkpoint must beat an earlier one
by more than 0.5 points to be chosen (ties go to fewer iterations). The test split is never touched here."""
import dataclasses, json, sys, time, tempfile
from pathlib import Path
import torch
from distill_nb.data import load_dataset, prepare
from distill_nb.evaluate import evaluate, random_synset
from distill_nb.selmatch import preset, preset_eval, selmatch
from distill_nb.trajectories import ExpertConfig, train_buffer

ROOT = Path(__file__).resolve().parents[3]  # the repository (this file: figures/sel_main/cpu/)
ipc = int(sys.argv[1]); name = {25: 'cifar10-ipc250', 100: 'cifar10-ipc1000'}[ipc]
torch.set_num_threads(1)
ds = load_dataset('cifar10')
task = prepare(ds, 'standardize', val_per_class=20, train_per_class=500, seed=0, device='cpu')
ecfg = ExpertConfig(dataset='cifar10', preprocess='standardize', seed=0, net='convnet_bn', net_kwargs={'width': 32}, num_experts=8, epochs=10, batch_size=256)
buf = train_buffer(task, ecfg, str(ROOT/'runs/buffers/cifar10-cpu'), progress=False)
st = dict(ipc=ipc, net_kwargs={'width': 32}, syn_steps=20, batch_syn=50, max_start_epoch=8, iterations=80, eval_epochs=100 if ipc == 25 else 25, betas=[0.0, 0.4, 0.8])
cfg = dataclasses.replace(preset(name, **st), init='random', alpha=1.0, seed=0)
ev = {**preset_eval(cfg), 'net': 'convnet', 'net_kwargs': {'width': 32}, 'lr': 0.01}
out = Path(tempfile.mkdtemp())/f'ipc{ipc}'  # record.json is written here
rec = dict(ipc=ipc, preset=name, rule=__doc__, eval=ev, points=[])
def val(s): r = evaluate(s, task, 'selmatch', k=2, split='val', **ev); return dict(accs=r.accs, mean=r.mean)
rec['points'].append(dict(iterations=0, **val(random_synset(task, ipc, 0))))
print(rec['points'][-1], flush=True)
for it in (80, 160, 240, 320):
    t0 = time.time()
    s = selmatch(task, dataclasses.replace(cfg, iterations=it), buf, out=out/'run', checkpoint_every=80, progress=False)
    rec['points'].append(dict(iterations=it, wall_s=time.time() - t0, final_loss=s.meta['trace']['loss'][-1], **val(s)))
    rec['trace'] = s.meta['trace']['loss']
    print({k: v for k, v in rec['points'][-1].items()}, flush=True)
    out.mkdir(parents=True, exist_ok=True); Path(out/'record.json').write_text(json.dumps(rec, indent=1))
