"""`distill-nb reproduce` end to end on CPU: papermill runs a real experiment notebook, a second run skips it, a changed config is refused."""
import json, os, signal, subprocess, sys, threading, time

import pytest

ARGS = ['distill-nb', 'reproduce', '--profile', 'smoke', '--only', 'rat_main',
        '--set', 'settings=[{preset: digits-smoke, ipc: 1, steps: 30}]', 'eval_every=10', 'k=2', 'full_data=false']


def test_reproduce_runs_a_notebook_then_skips_it_and_refuses_another_config(tmp_path):
    r = subprocess.run(ARGS + ['--out', str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path/'rat_main'/'smoke'
    res = json.loads((out/'results.json').read_text())
    rows = {x['method']: x for x in res['rows']}
    assert set(rows) == {'RaT-BPTT', 'random real'} and all(len(x['accs']) == 2 and x['setting'] == 'IPC 1' for x in rows.values())
    run = next(s for s in res['sets'] if s['method'] == 'RaT-BPTT')['runs'][0]
    assert run['steps'] == 30 and [e['step'] for e in run['val_trace']] == [10, 20, 30]  # the validation trace (eval_every=10)
    assert run['flat']['from_step'] == 10 and run['flat']['gain'] == run['val_trace'][2]['val'] - run['val_trace'][0]['val']
    assert 'validation trace over the second half of each run: digits IPC 1' in res['budget']
    assert [c['id'] for c in res['claims']] == ['beats_random'] and res['budget'].startswith('1 distilled set(s) x 2 networks')
    assert res['config']['profile'] == 'smoke' and 'distill-nb reproduce' in res['config']['command']
    assert (out/'rat_main.png').stat().st_size > 10_000 and (out/'rat_main.ipynb').exists()
    rec = json.loads((out/'reproduce.json').read_text())
    assert rec['status'] == 'done' and rec['params']['k'] == 2 and rec['wall_time_s'] > 0
    readme = (tmp_path/'README.md').read_text()
    assert '### rat_main (smoke)' in readme and '| digits | IPC 1 | RaT-BPTT |' in readme and 'by a wide margin. Ours: **' in readme
    mtime = (out/'results.json').stat().st_mtime
    again = subprocess.run(ARGS + ['--out', str(tmp_path), '--no-report'], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and 'skipped' in again.stdout + again.stderr, again.stdout + again.stderr
    assert (out/'results.json').stat().st_mtime == mtime
    other = subprocess.run(ARGS[:-2] + ['k=3', 'full_data=false', '--out', str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert other.returncode == 2 and 'different config' in other.stderr and "['k']" in other.stderr, other.stderr


def test_reproduce_bad_input_fails_before_work(tmp_path, capsys):
    from distill_nb.cli import run
    cases = [(['--profile', 'fast'], 'known profiles: smoke, cpu, quick, paper'),
             (['--only', 'rat_mian'], 'known experiments: rat_main'),
             (['--only', 'rat_main', '--set', 'stepz=3'], "does not declare parameter(s) ['stepz']"),
             (['--kernel', 'no-such-kernel'], 'python -m ipykernel install')]
    for args, msg in cases:  # in this process: the console script itself runs in the test above
        with pytest.raises(SystemExit) as e: run(['reproduce', '--out', str(tmp_path), *args])
        err = capsys.readouterr().err
        assert e.value.code == 2 and msg in err and 'Traceback' not in err, (args, err)
    assert not any(tmp_path.iterdir())  # nothing was started


def test_reproduce_reports_a_failing_notebook_and_exits_1(tmp_path):
    r = subprocess.run(['distill-nb', 'reproduce', '--only', 'rat_main', '--set', 'settings=[{preset: no-such-preset}]',
                        '--out', str(tmp_path), '--no-report'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and 'rat_main' in r.stderr and 'failed' in r.stdout, r.stdout + r.stderr
    assert 'no-such-preset' in r.stdout  # the summary line names the error
    rec = json.loads((tmp_path/'rat_main'/'smoke'/'reproduce.json').read_text())
    assert rec['status'] == 'failed' and 'no-such-preset' in rec['error'] and not (tmp_path/'rat_main'/'smoke'/'results.json').exists()


def test_interrupted_runner_stops_its_notebook():
    "Ctrl-C while `run_child` waits kills and reaps the child (papermill), as subprocess.run does, and re-raises."
    from distill_nb.reproduce import run_child
    marker = f'time.sleep(60.{os.getpid()})'  # a command line only this test's child has
    # Ctrl-C as a terminal sends it: to the process, not to one thread (raise_signal in the timer thread only reaches that
    # thread, where a signal mask inherited from an earlier test in this pytest worker can hold it: seen once in CI), and
    # with Python's default handler whatever an earlier test in this worker installed
    old_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    old_mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        t0 = time.time()
        with pytest.raises(KeyboardInterrupt): run_child([sys.executable, '-c', f'import time; {marker}'], dict(os.environ))
        assert time.time() - t0 < 10
    finally: signal.signal(signal.SIGINT, old_handler); signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    left = subprocess.run(['pgrep', '-f', marker.replace('(', r'\(').replace(')', r'\)')], capture_output=True, text=True).stdout
    assert not left.strip(), f'the child is still running: {left}'
