#!/usr/bin/env bash
# The one prepared call for a lent GPU machine (the `device` tool, issue 19): the CUDA tests, then
# bench/bench_device.py at the sizes, then bench_training.py's DD-PPO table on 1-8 CPU ranks. That
# machine has torch in its image but no package registry, so Engram's other needs travel as wheels in .whl
# (ignored by git), fetched here beforehand with
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 \
#     --platform manylinux2014_x86_64 -d .whl mujoco==3.3.0 gymnasium farama-notifications psygnal \
#     tomli-w tensorboardX glfw pyopengl
# and the call is `run(command="bash bench/device_check.sh", carry=[".whl"])`. Training renders nothing, so
# MuJoCo's GL is off (the machine has no EGL loader unless one is carried). Results land in $OUT.
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 MUJOCO_GL=disable
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, mujoco, gymnasium; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'mujoco', mujoco.__version__, 'gymnasium', gymnasium.__version__)" | tee -a "$OUT/gpu.txt"
start=$(date +%s)
timeout 200 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$OUT/test_cuda.txt" | tail -40
echo "tests took $(( $(date +%s) - start )) s"
start=$(date +%s)
timeout "${BENCH_TIMEOUT:-300}" python3 bench/bench_device.py --device cuda --envs 256,1024,4096 --iterations 1 2>&1 | tee "$OUT/bench_device.txt"
echo "bench took $(( $(date +%s) - start )) s"
# DD-PPO's scaling on cores of its own (this machine has 16; the 2-core development VM shares its two).
start=$(date +%s)
timeout "${RANKS_TIMEOUT:-280}" python3 bench/bench_training.py --ranks 1,2,4,8 --iterations 1 --repeats 1 2>&1 | tee "$OUT/bench_ranks.txt"
echo "ranks took $(( $(date +%s) - start )) s"
