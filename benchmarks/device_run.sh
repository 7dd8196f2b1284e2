#!/usr/bin/env bash
# Run ON the lent GPU machine (the device tool), from the repository root, with device_data/ carried (benchmarks/device_prepare.sh):
#   gpu_check   benchmarks/gpu_check.py at its GPU settings (under 8 minutes) -> $OUT/gpu_check-cuda.json, $OUT/gpu_check.log
#   dry_run     distill-nb reproduce --profile quick --dry-run on the GPU: every quick notebook's CUDA path with budgets clamped,
#               stopped after $DRY_RUN_LIMIT s (default 270; finished experiments are kept) -> $OUT/dry_run_quick.tgz
#               (results, reports, executed notebooks and figures), $OUT/dry_run.log
# Both also write $OUT/machine.txt (nvidia-smi, torch, the packages installed from the carried wheels).
# DEVICE=cpu runs the same steps on a CPU (gpu_check in --tiny mode), to test this script before any GPU time is spent.
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-}
if [ "$what" != gpu_check ] && [ "$what" != dry_run ]; then echo "usage: bash benchmarks/device_run.sh gpu_check|dry_run" >&2; exit 2; fi
if [ -z "${OUT:-}" ] || [ ! -d "$OUT" ]; then echo "device_run: \$OUT must be a folder (the device tool sets it)" >&2; exit 2; fi
D=${DEVICE_DATA:-$PWD/device_data}  # DEVICE_DATA: another folder of that shape (tests/test_gpu_check_tiny.py)
if [ ! -f "$D/GIT_SHA" ] || [ ! -d "$D/wheels" ] || { [ "$what" = dry_run ] && [ ! -f "$D/data/cifar10-jpeg.tar.gz" ]; }; then
    echo "device_run: $D is missing or incomplete: run bash benchmarks/device_prepare.sh here, and carry device_data" >&2
    exit 2
fi
data=(); [ -f "$D/data/cifar10-jpeg.tar.gz" ] && data=(--data "$D/data")  # gpu_check without it: digits and random tensors
dev=${DEVICE:-cuda}
start=$(date +%s)
site=/tmp/distill_nb_site
# the carried wheels whose project this Python does not have already (one version of each; nothing else is replaced)
python3 - "$D/wheels" "$site" > "$OUT/machine.txt" 2>&1 <<'EOF' || { cat "$OUT/machine.txt"; exit 2; }
import importlib.metadata as md, re, subprocess, sys
from pathlib import Path
norm = lambda s: re.sub(r'[-_.]+', '-', s).lower()
have = {norm(d.metadata['Name']) for d in md.distributions() if d.metadata['Name']}
wheels = sorted(w for w in Path(sys.argv[1]).glob('*.whl') if norm(w.name.split('-')[0]) not in have)
done, names = Path(sys.argv[2])/'.installed', '\n'.join(sorted(w.name for w in Path(sys.argv[1]).glob('*.whl')))
again = done.exists() and done.read_text() == names  # an earlier call on this (still warm) machine installed these wheels
if again: wheels = []
elif wheels:
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-index', '--no-deps', '--no-compile', '--no-cache-dir',
                    '--disable-pip-version-check', '--target', sys.argv[2], *map(str, wheels)], check=True)
print(f'python {sys.version.split()[0]}; installed from {sys.argv[1]} into {sys.argv[2]}:',
      ' '.join(w.name.split('-')[0] for w in wheels) or ('none (an earlier call did)' if again else 'none'))
done.parent.mkdir(parents=True, exist_ok=True); done.write_text(names)
EOF
read -r sha dirty < "$D/GIT_SHA"
export PYTHONPATH="$PWD:$site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 DISTILL_NB_DATA="$D/data" \
       DISTILL_NB_CACHE=/tmp/distill_nb_cache DISTILL_NB_GIT_SHA="$sha" DISTILL_NB_GIT_DIRTY="$dirty"
{ echo "commit $sha (dirty $dirty); $(date -u +%FT%TZ)"
  python3 -c "import torch, distill_nb; print('torch', torch.__version__, '| cuda', torch.version.cuda, '|', torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU', '| distill_nb', distill_nb.__version__)"
  nvidia-smi 2>&1 | head -15 || true; } >> "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

if [ "$what" = gpu_check ]; then
    tiny=(); [ "$dev" = cpu ] && tiny=(--tiny)
    python3 benchmarks/gpu_check.py --device "$dev" "${tiny[@]}" "${data[@]}" --out "$OUT/gpu_check-$dev.json" 2>&1 | tee "$OUT/gpu_check.log"
    rc=${PIPESTATUS[0]}
else
    dry=/tmp/distill_nb_dry
    rm -rf "$dry"
    timeout -s INT "${DRY_RUN_LIMIT:-270}" python3 -m distill_nb.cli reproduce --profile quick --dry-run --device "$dev" --out "$dry" \
        2>&1 | tee "$OUT/dry_run.log"
    rc=${PIPESTATUS[0]}
    [ "$rc" = 124 ] && echo "stopped after ${DRY_RUN_LIMIT:-270} s: the experiments that finished are in the archive" | tee -a "$OUT/dry_run.log"
    # the expert buffers (work/) stay behind; one archive, as few files come back
    tar -czf "$OUT/dry_run_quick.tgz" -C "$dry" --exclude=./work . 2>> "$OUT/dry_run.log"
fi
echo "device_run $what: exit $rc after $(( $(date +%s) - start )) s" | tee -a "$OUT/machine.txt"
exit "$rc"
