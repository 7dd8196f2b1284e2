"""The GPU check's tiny mode (`benchmarks/gpu_check.py --device cpu --tiny`): every step of the script a GPU session runs, at tiny
shapes on one CPU thread, so it is known to work before GPU time is spent. It also checks that RaT-BPTT's graph and recompute
backward agree (float64, and 20 float32 meta-steps) and that vmapped evaluation equals sequential; performance targets read
"n/a (cpu)". Run here, inside the pytest pool, rather than as its own step after it, so its 30-40 s of one thread share the workers."""
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_tiny_runs_every_step_and_the_paths_agree(tmp_path):
    out = tmp_path/'gpu_check-tiny.json'
    r = subprocess.run([sys.executable, str(ROOT/'benchmarks'/'gpu_check.py'), '--device', 'cpu', '--tiny', '--out', str(out)],
                       capture_output=True, text=True, timeout=1200, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    print(r.stdout[-4000:])
    assert r.returncode == 0 and 'correctness: PASS' in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads(out.read_text())
    assert set(res['steps']) == {'agree', 'rat', 'mtt', 'eval', 'expert', 'ceiling'} and res['correctness_failed'] == [], res['table']
    assert not any('error' in v for v in res['steps'].values()), {k: v.get('error') for k, v in res['steps'].items()}
