#!/usr/bin/env bash
# Run HERE, before a session spends GPU time: fills device_data/ (git-ignored) with what benchmarks/device_run.sh needs on
# the lent GPU machine, which reaches no network and sees neither ../shared nor this repository's .git:
#   device_data/data/     the CIFAR-10 tarball and scores/ (copied from $DISTILL_NB_DATA, default ../shared/data; never committed)
#   device_data/wheels/   wheels of papermill, ipykernel and fastcore with everything they need, for the machine's Python
#                         (3.12, manylinux x86-64); device_run.sh installs only those its image lacks
#   device_data/GIT_SHA   this checkout's commit and whether tracked files outside figures/ differ from it (the provenance)
# Then, with the device tool (one call per step; the second while the machine is still warm):
#   run(command='bash benchmarks/device_run.sh gpu_check', carry=['device_data'], timeout_s=570)
#   run(command='bash benchmarks/device_run.sh dry_run', carry=['device_data'], timeout_s=330)
# About 40 MB travel (the limit is 64 MiB). PY_VERSION=3.11 fetches wheels for this machine's Python, to test device_run.sh here.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${DISTILL_NB_DATA:-$(cd .. && pwd)/shared/data}"
if [ ! -f "$data/cifar10-jpeg.tar.gz" ] || [ ! -d "$data/scores" ]; then
    echo "device_prepare: no cifar10-jpeg.tar.gz and scores/ in $data; set DISTILL_NB_DATA to the folder that holds them" >&2
    exit 2
fi
rm -rf device_data.tmp && mkdir -p device_data.tmp/data device_data.tmp/wheels
cp "$data/cifar10-jpeg.tar.gz" device_data.tmp/data/
cp -r "$data/scores" device_data.tmp/data/
platforms=()
for p in manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014 manylinux_2_5 manylinux1; do platforms+=(--platform "${p}_x86_64"); done
python3 -m pip download -q --disable-pip-version-check -d device_data.tmp/wheels --only-binary=:all: \
    --python-version "${PY_VERSION:-3.12}" --implementation cp "${platforms[@]}" papermill ipykernel "fastcore>=1.5.29,<2" \
    2>&1 | grep -v 'is ignored' || true
ls device_data.tmp/wheels/papermill-*.whl device_data.tmp/wheels/ipykernel-*.whl device_data.tmp/wheels/fastcore-*.whl > /dev/null
dirty=0; [ -n "$(git status --porcelain --untracked-files=no -- ':(top)' ':(top,exclude)figures')" ] && dirty=1
echo "$(git rev-parse HEAD) $dirty" > device_data.tmp/GIT_SHA
rm -rf device_data && mv device_data.tmp device_data
echo "device_data/: $(du -sh device_data | cut -f1) ($(ls device_data/wheels | wc -l) wheels), commit $(cat device_data/GIT_SHA)"
[ "$dirty" = 1 ] && echo "note: tracked files differ from that commit; commit first, so that the results' provenance names what ran"
exit 0
