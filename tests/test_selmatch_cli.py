"""`distill-nb buffers` and `distill-nb selmatch` end to end: SIGKILLed jobs resume to the uninterrupted result; bad input fails fast."""
import json, signal, subprocess, time

import numpy as np
import pytest
import torch

from distill_nb.cli import run
from distill_nb.core import Checkpointer, SynSet

BUFFER = ['distill-nb', 'buffers', '--dataset', 'digits', '--experts', '4', '--epochs', '8', '--width', '32', '--depth', '2',
          '--preprocess', 'standardize', '--batch-size', '128', '--quiet']
SELMATCH = ['distill-nb', 'selmatch', '--dataset', 'digits', '--ipc', '10', '--iterations', '30', '--checkpoint-every', '2',
            '--k', '1', '--eval-epochs', '5', '--beta', '0.2', '--quiet']


def _kill_when(p, ready, timeout=300):
    "SIGKILL process `p` as soon as `ready()` holds."
    deadline = time.time() + timeout
    while not ready() and time.time() < deadline and p.poll() is None: time.sleep(0.02)
    p.send_signal(signal.SIGKILL); p.wait()


@pytest.fixture(scope='module')
def digits_buffer(tmp_path_factory):
    "The uninterrupted buffer, trained once for this module (in this process: the same numbers as the CLI in a subprocess)."
    out = tmp_path_factory.mktemp('buffers')/'full'
    run(BUFFER[1:] + ['--out', str(out)])
    return out


def test_killed_buffer_job_continues_from_the_last_finished_expert(tmp_path, digits_buffer):
    out = tmp_path/'killed'
    p = subprocess.Popen(BUFFER + ['--out', str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(p, lambda: (out/'expert_0001.npy').exists())
    done = json.loads((out/'manifest.json').read_text())['finished']
    assert 1 <= len(done) < 4, f'killed after {done}'
    resumed = subprocess.run(BUFFER + ['--out', str(out)], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    for i in range(4):
        a, b = np.load(digits_buffer/f'expert_{i:04d}.npy'), np.load(out/f'expert_{i:04d}.npy')
        assert a.shape == (9, b.shape[1]) and np.array_equal(a, b), i
    assert sorted(json.loads((out/'manifest.json').read_text())['finished']) == [0, 1, 2, 3]


def test_killed_selmatch_run_resumes_to_the_uninterrupted_result(tmp_path, digits_buffer):
    args = SELMATCH + ['--buffer', str(digits_buffer)]
    run(args[1:] + ['--out', str(tmp_path/'full')])  # uninterrupted, in this process (the same numbers as the console script)
    out = tmp_path/'killed'
    p = subprocess.Popen(args + ['--out', str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ck = out/'mtt'/'checkpoint.ckpt'
    _kill_when(p, ck.exists)
    assert ck.exists() and not (out/'synset.synset').exists(), 'killed before its first checkpoint or after it finished'
    assert 0 < Checkpointer(ck).load()[0] < 30
    resumed = subprocess.run(args + ['--out', str(out)], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    a, b = SynSet.load(tmp_path/'full'/'synset.synset'), SynSet.load(out/'synset.synset')
    assert torch.equal(a.images, b.images) and torch.equal(a.distilled, b.distilled) and a.lr == b.lr
    assert a.meta['trace'] == b.meta['trace']
    res = json.loads((out/'results.json').read_text())
    assert res['iterations'] == 30 and res['distilled'] == 50 and res['provenance']['torch']


def test_selmatch_bad_input_fails_before_work(tmp_path, capsys):
    cases = [(('--alpha', '1.5'), 'must be in [0, 1]'),
             (('--beta', '20'), 'does not fit in a class'),  # start = int(20 x IPC 10) = 200 ranks: past a digits class
             (('--buffer', str(tmp_path/'missing')), 'distill-nb buffers --dataset digits --net convnet_bn --width 32 --depth 2'),
             (('--score', 'cscore'), "No published scores exist for 'digits'"),  # C-scores exist only published
             (('--score', 'train_hardness', '--score-source', 'published'), 'train_hardness scores are only computed')]
    for args, msg in cases:  # in this process: each case fails before any work
        t = time.time()
        with pytest.raises(SystemExit) as e: run(['selmatch', '--dataset', 'digits', '--out', str(tmp_path/'x'), *args])
        err = capsys.readouterr().err
        assert e.value.code == 2 and msg in err and 'Traceback' not in err, (args, err)
        assert time.time() - t < 60, (args, 'took too long to fail')
