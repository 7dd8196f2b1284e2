"""`distill-nb rat-bptt` end to end: a SIGKILLed run resumes to the uninterrupted result; bad input fails fast."""
import json, signal, subprocess, time

import pytest
import torch

from distill_nb.cli import run
from distill_nb.core import Checkpointer, SynSet

ARGS = ['distill-nb', 'rat-bptt', '--dataset', 'digits', '--ipc', '1', '--steps', '40', '--checkpoint-every', '5',
        '--k', '1', '--eval-steps', '20', '--quiet']


def test_killed_rat_bptt_run_resumes_to_the_uninterrupted_result(tmp_path):
    run(ARGS[1:] + ['--out', str(tmp_path/'full')])  # uninterrupted, in this process (the same numbers as the console script)
    out = tmp_path/'killed'
    p = subprocess.Popen(ARGS + ['--out', str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ck = out/'checkpoint.ckpt'
    deadline = time.time() + 300
    while not ck.exists() and time.time() < deadline and p.poll() is None: time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    assert ck.exists() and not (out/'synset.synset').exists(), 'killed before its first checkpoint or after it finished'
    step = Checkpointer(ck).load()[0]
    assert 0 < step < 40
    resumed = subprocess.run(ARGS + ['--out', str(out)], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    a, b = SynSet.load(tmp_path/'full'/'synset.synset'), SynSet.load(out/'synset.synset')
    assert torch.equal(a.images, b.images) and a.meta['trace'] == b.meta['trace']
    res = json.loads((out/'results.json').read_text())
    assert res['meta_steps'] == 40 and res['config']['rat']['seed'] == 0 and res['provenance']['torch']


def test_rat_bptt_bad_input_fails_before_work(tmp_path, capsys):
    cases = [(('--window', '300'), 'larger than the unroll'),
             (('--dataset', 'cifar100', '--data', str(tmp_path)), 'needs the cifar100 dataset'),
             (('--ipc', '7'), 'No preset for cifar10 IPC 7'),
             (('--dataset', 'digits', '--ipc', '500', '--out', str(tmp_path/'x')), 'smallest class'),
             (('--preset', 'cifar10-ipc10', '--mode', 'sometimes'), "mode='sometimes'"),
             (('--dataset', 'cifar11'), "unknown dataset 'cifar11'")]
    for args, msg in cases:  # in this process: each case fails before any work
        t = time.time()
        with pytest.raises(SystemExit) as e: run(['rat-bptt', *args])
        err = capsys.readouterr().err
        assert e.value.code == 2 and msg in err and 'Traceback' not in err, (args, err)
        assert time.time() - t < 60, (args, 'took too long to fail')
