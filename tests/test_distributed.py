"""torch.distributed on CPU (gloo, two ranks under torchrun): two ranks equal one process with the same meta-batch; a killed rank
brings the job down and a restart (with any world size) resumes to the uninterrupted result; mismatched ranks are refused."""
import json, os, signal, subprocess, sys, time
from pathlib import Path

import psutil
import pytest
import torch

from distill_nb.cli import run

JOB = str(Path(__file__).with_name('dist_job.py'))
ENV = dict(os.environ, OMP_NUM_THREADS='1')
pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason='this torch build has no torch.distributed')


def one(kind, out, *kw, timeout=300):
    "The job in one plain process."
    return subprocess.run([sys.executable, JOB, kind, str(out), *kw], capture_output=True, text=True, timeout=timeout, env=ENV)


def torchrun(args, n=2):
    "The torchrun command for `n` ranks on this machine."
    return ['torchrun', '--standalone', '--nproc_per_node', str(n), *args]


def two(kind, out, *kw, timeout=300):
    "The job on two gloo ranks."
    return subprocess.run(torchrun([JOB, kind, str(out), *kw]), capture_output=True, text=True, timeout=timeout, env=ENV)


def rel(a, b) -> float:
    "Relative error of `a` against `b`."
    return float((a - b).norm()/b.norm())


def test_two_ranks_equal_one_process_with_the_same_meta_batch(tmp_path):
    kinds = 'rat,buffers,match,accuracies'  # RaT-BPTT (2 nets), expert buffer, MTT (2 segments), evaluation (3 seeds)
    r1, r2 = one(kinds, tmp_path/'one.pt', f'buffer={tmp_path/"b1"}'), two(kinds, tmp_path/'two.pt', f'buffer={tmp_path/"b2"}')
    assert r1.returncode == 0, r1.stderr[-3000:]
    assert r2.returncode == 0, r2.stderr[-3000:]
    a, b = torch.load(tmp_path/'one.pt'), torch.load(tmp_path/'two.pt')
    assert rel(b['rat']['images'], a['rat']['images']) <= 1e-10 and b['rat']['c'] == a['rat']['c']
    assert max(abs(x - y)/abs(y) for x, y in zip(b['rat']['loss'], a['rat']['loss'])) <= 1e-10
    assert all(torch.equal(x, y) for x, y in zip(a['buffers']['experts'], b['buffers']['experts']))  # each expert: one rank, same seed
    assert rel(b['match']['images'], a['match']['images']) <= 1e-10 and abs(b['match']['lr'] - a['match']['lr']) <= 1e-10*abs(a['match']['lr'])
    assert b['accuracies']['accs'] == a['accuracies']['accs']  # seeds 0 and 2 on rank 0, seed 1 on rank 1
    # the two networks of a meta-step are different networks: one of them alone gives another set
    r3 = one('rat', tmp_path/'one_net.pt', 'nets=1')
    assert r3.returncode == 0, r3.stderr[-3000:]
    assert rel(torch.load(tmp_path/'one_net.pt')['rat']['images'], a['rat']['images']) > 1e-3


def _kill_rank(p, rank, ready, timeout=120):
    "SIGKILL the worker of `rank` under torchrun process `p` once `ready()` holds."
    deadline = time.time() + timeout
    while time.time() < deadline and p.poll() is None and not ready(): time.sleep(0.05)
    for c in psutil.Process(p.pid).children(recursive=True):
        try:
            if c.environ().get('RANK') == str(rank): c.send_signal(signal.SIGKILL); return True
        except psutil.Error: pass
    return False


def test_a_killed_rank_ends_the_job_and_a_restart_with_any_world_size_resumes(tmp_path):
    run, steps = tmp_path/'run', 'steps=6'
    ref = one('rat', tmp_path/'ref.pt', steps)  # uninterrupted, one process, the same meta-batch (2 networks)
    assert ref.returncode == 0, ref.stderr[-3000:]
    p = subprocess.Popen(torchrun([JOB, 'rat', str(tmp_path/'x.pt'), steps, f'run={run}']), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=ENV)
    ck = run/'checkpoint.ckpt'
    assert _kill_rank(p, 1, ck.exists), 'rank 1 not found'
    t = time.time()
    _, err = p.communicate(timeout=120)
    assert p.returncode != 0 and time.time() - t < 60, 'the job did not end after a rank died'
    assert 'exitcode' in err and '-9' in err, err[-2000:]  # torchrun names the failed rank and the signal
    assert ck.exists() and not (tmp_path/'x.pt').exists()
    # restart in ONE process: the meta-batch (nets_per_step) is unchanged, so the result is the uninterrupted one
    again = one('rat', tmp_path/'x.pt', steps, f'run={run}')
    assert again.returncode == 0, again.stderr[-3000:]
    a, b = torch.load(tmp_path/'ref.pt')['rat'], torch.load(tmp_path/'x.pt')['rat']
    assert rel(b['images'], a['images']) <= 1e-10 and b['c'] == a['c'] and len(b['loss']) == 6
    # another meta-batch is another run: refused
    other = one('rat', tmp_path/'y.pt', steps, 'nets=3', f'run={run}')
    assert other.returncode != 0 and 'different config' in other.stderr, other.stderr[-2000:]


def test_a_killed_buffer_job_resumes_with_another_world_size(tmp_path):
    full = one('buffers', tmp_path/'full.pt', f'buffer={tmp_path/"full"}', 'epochs=20')
    assert full.returncode == 0, full.stderr[-3000:]
    buf = tmp_path/'killed'
    p = subprocess.Popen(torchrun([JOB, 'buffers', str(tmp_path/'k.pt'), f'buffer={buf}', 'epochs=20']), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=ENV)
    assert _kill_rank(p, 0, lambda: any(buf.glob('expert_*.npy')))
    p.wait(timeout=120)
    finished = sorted(int(f.stem.split('_')[1]) for f in buf.glob('expert_*.npy'))
    assert 1 <= len(finished) < 4, finished
    again = one('buffers', tmp_path/'k.pt', f'buffer={buf}', 'epochs=20')  # one process picks up the rest
    assert again.returncode == 0, again.stderr[-3000:]
    man = json.loads((buf/'manifest.json').read_text())
    assert man['finished'] == [0, 1, 2, 3] and man['runs'][-1]['world_size'] == 1
    assert all(torch.equal(x, y) for x, y in zip(torch.load(tmp_path/'full.pt')['buffers']['experts'],
                                                 torch.load(tmp_path/'k.pt')['buffers']['experts']))


def test_ranks_started_with_different_configs_are_refused(tmp_path):
    r = two('rat', tmp_path/'x.pt', 'seed_per_rank=1', 'timeout=30')
    assert r.returncode != 0 and 'different RaT-BPTT configs: rat.seed' in r.stderr, r.stderr[-3000:]
    fewer = two('rat', tmp_path/'x.pt', 'nets=1', 'timeout=30')  # a meta-batch smaller than the world: a rank would idle
    assert fewer.returncode != 0 and 'nets_per_step=1 but 2 ranks' in fewer.stderr, fewer.stderr[-3000:]


def test_the_cli_runs_under_torchrun(tmp_path):
    out = tmp_path/'rat'
    r = subprocess.run(torchrun(['-m', 'distill_nb.cli', 'rat-bptt', '--dataset', 'digits', '--ipc', '1', '--steps', '3', '--k', '2',
                                 '--eval-steps', '20', '--out', str(out), '--quiet']), capture_output=True, text=True, timeout=300, env=ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out/'results.json').read_text())
    assert res['world_size'] == 2 and res['config']['rat']['nets_per_step'] == 2 and len(res['test']['accs']) == 2
    assert r.stdout.count('wrote') == 1  # rank 0 alone reports
    ev = subprocess.run(torchrun(['-m', 'distill_nb.cli', 'eval', str(out/'synset.synset'), '--k', '3', '--out', str(tmp_path/'ev.json'),
                                  '--quiet']), capture_output=True, text=True, timeout=300, env=ENV)
    assert ev.returncode == 0, ev.stderr[-3000:]
    alone = run(['eval', str(out/'synset.synset'), '--k', '3', '--quiet'])  # one process, this one
    assert json.loads((tmp_path/'ev.json').read_text())['accs'] == alone.accs  # seeds 0, 2 on rank 0 and 1 on rank 1: the same numbers
