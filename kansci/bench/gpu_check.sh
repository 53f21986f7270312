#!/usr/bin/env bash
# One command for a machine with a CUDA GPU: the CUDA tests, then the speed bench, results under $OUT.
#
#   OUT=gpu_results bash kansci/bench/gpu_check.sh
#
# Runs from a plain checkout (PYTHONPATH=., nothing installed) with the machine's python3,
# torch, pytest, numpy, scipy, sympy, pandas and tqdm.  pykan is timed when importable; to
# bring it to a machine without network, put its wheel in ./.whl first (on a machine with
# network: python3 -m pip download --no-deps --only-binary=:all: -d .whl pykan==0.2.8).
# Every stage has its own time limit and writes its files as it goes, so a stage cut short
# keeps what it measured; the whole script stays under about 8 minutes.  Files:
#   env.txt            torch, CUDA and GPU
#   tests.txt          pytest of tests/test_device.py (CUDA equals CPU, no host sync, compiled = reference)
#   speed_eager.json   bench: eager and recompute steps, all GPU shapes (+ .txt, the printed table)
#   speed_compile.json bench: torch.compile and compile with CUDA graphs (+ .txt)
set -u
cd "$(dirname "$0")/../.."
OUT="${OUT:-gpu_results}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}."
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" > /dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl \
        && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi

{
    date -u +"%Y-%m-%dT%H:%MZ"
    git rev-parse --short HEAD 2>/dev/null || echo "commit: (no git here)"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
    $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
    $PY -c "import kan; print('pykan', getattr(kan, '__version__', 'importable'))" 2>/dev/null || echo "pykan not importable"
} 2>&1 | tee "$OUT/env.txt"

echo "== tests (CUDA equivalence, no host synchronisation, compiled step) =="
timeout 150 $PY -m pytest -q -p no:cacheprovider -m "slow or not slow" -rs tests/test_device.py 2>&1 \
    | tee "$OUT/tests.txt" | tail -15

echo "== speed: eager and recompute =="
timeout 120 $PY -m kansci.bench.speed --device cuda --modes eager,recompute --json "$OUT/speed_eager.json" 2>&1 \
    | tee "$OUT/speed_eager.txt"

echo "== speed: torch.compile, then with CUDA graphs (compiling takes most of this stage) =="
timeout 180 $PY -m kansci.bench.speed --device cuda --modes compile,compile-graphs --no-pykan \
    --shape 8,32,32,1@10000 --shape 8,32,32,1@1000000 --shape 4,10,1@10000 --shape 64,256,256,1@100000 \
    --json "$OUT/speed_compile.json" 2>&1 | tee "$OUT/speed_compile.txt"
echo "done: $OUT"
