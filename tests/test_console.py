"""The installed `distill-nb` console script: the README's first run, and clear errors for bad input."""
import json, subprocess

import pytest

from distill_nb.cli import run


def _cli(*args, **kw):
    return subprocess.run(['distill-nb', *args], capture_output=True, text=True, timeout=600, **kw)


def test_quickstart_on_digits_writes_artifacts_and_beats_chance(tmp_path):
    r = _cli('quickstart', '--k', '2', '--steps', '200', '--out', str(tmp_path/'q'))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'q'/'results.json').read_text())
    full, rand = res['results']['full data'], res['results']['random IPC 10']
    assert full['mean'] >= 90 and rand['mean'] >= 50 and full['mean'] > rand['mean']
    assert res['provenance']['torch'] and res['config']['seed'] == 0
    for f in ('random.synset', 'random.png', 'random.pt'): assert (tmp_path/'q'/f).stat().st_size > 0


def test_bad_input_fails_fast_with_a_clear_message(tmp_path, capsys):
    cases = [(('data', 'info', 'svhn'), 'Known datasets'),
             (('data', 'info', 'cifar100', '--path', str(tmp_path)), 'DISTILL_NB_DATA'),
             (('quickstart', '--ipc', '1000'), 'has only'),
             (('quickstart', '--device', 'cuda:9'), 'cuda'),
             (('quickstart', '--preprocess', 'pca'), 'Unknown preprocessing'),
             (('eval', str(tmp_path/'missing.synset')), 'no such file')]
    for args, msg in cases:  # in this process (the console script itself is exercised by the quickstart test above)
        with pytest.raises(SystemExit) as e: run(list(args))
        err = capsys.readouterr().err
        assert e.value.code == 2, (args, err)
        assert msg in err and 'Traceback' not in err, (args, err)
