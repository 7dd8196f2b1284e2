"""The GPU check's tiny mode, through the wrapper a GPU session runs (`DEVICE=cpu bash benchmarks/device_run.sh gpu_check`, which
runs `benchmarks/gpu_check.py --device cpu --tiny`): every step of the script at tiny shapes on one CPU thread, so it is known to
work before GPU time is spent. It also checks that RaT-BPTT's graph and recompute backward agree (float64, and 20 float32
meta-steps) and that vmapped evaluation equals sequential; performance targets read "n/a (cpu)". Run here, inside the pytest
pool, rather than as its own step after it, so its 30-40 s of one thread share the workers."""
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_tiny_runs_every_step_and_the_paths_agree(tmp_path):
    dd, out = tmp_path/'device_data', tmp_path/'out'  # the carried folder's shape, without data or wheels (this venv has them)
    (dd/'wheels').mkdir(parents=True); out.mkdir()
    (dd/'GIT_SHA').write_text('0123abc 0\n')
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'OUT': str(out), 'DEVICE': 'cpu', 'DEVICE_DATA': str(dd),
           'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # python3: this interpreter
    r = subprocess.run(['bash', str(ROOT/'benchmarks'/'device_run.sh'), 'gpu_check'], capture_output=True, text=True, timeout=1200, env=env)
    print(r.stdout[-4000:])
    assert r.returncode == 0 and 'correctness: PASS' in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads((out/'gpu_check-cpu.json').read_text())
    assert set(res['steps']) == {'agree', 'rat', 'mtt', 'eval', 'expert', 'ceiling'} and res['correctness_failed'] == [], res['table']
    assert not any('error' in v for v in res['steps'].values()), {k: v.get('error') for k, v in res['steps'].items()}
    assert 'correctness: PASS' in (out/'gpu_check.log').read_text()  # the log is among the files that come back
    assert 'commit 0123abc (dirty 0)' in (out/'machine.txt').read_text()


def test_device_run_refuses_bad_input_at_once(tmp_path):
    "No $OUT, an unknown step, or no device_data/: a one-line error and exit 2, before anything is installed or run."
    base = {**os.environ, 'DEVICE_DATA': str(tmp_path/'absent')}
    for args, env, msg in ((['gpu_check'], {k: v for k, v in base.items() if k != 'OUT'}, '$OUT must be a folder'),
                           (['check'], {**base, 'OUT': str(tmp_path)}, 'usage: bash benchmarks/device_run.sh gpu_check|dry_run'),
                           (['dry_run'], {**base, 'OUT': str(tmp_path)}, 'run bash benchmarks/device_prepare.sh here')):
        r = subprocess.run(['bash', str(ROOT/'benchmarks'/'device_run.sh'), *args], capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 2 and msg in r.stderr, (args, r.stderr)
