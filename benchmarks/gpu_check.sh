#!/usr/bin/env bash
# Everything that needs an NVIDIA GPU, in one run from a source checkout (nothing installed):
#   machine   nvidia-smi, versions, `rednet info`
#   tests     the whole suite; its cuda tests run because a GPU is usable (NaN-poisoned outputs)
#   notebooks the tutorials at full size, on the GPU
#   bench     benchmarks/bench_ops.py: every op, training steps and inference against PyTorch
#   ladder    benchmarks/bench_conv_ladder.py: every convolution version and precision, checked,
#             timed hot and cold against cuDNN and cuBLAS, and a RED30 step per version; the
#             fastest verified version per precision goes to rednet_cupy/ops/verified.json
#             (commit it: it becomes the cuda default on this architecture)
#   demo      `rednet demo` on cuda, timed
#   recipe    the shipped model's training recipe for 300 steps on cuda (its speed there);
#             only when DATASETS names the folder holding Train400 and Set12
# Logs and results go to $RESULTS (default benchmarks/results/gpu_<date>/). A failing part
# is reported and the others still run; the exit status says whether all passed.
#
#   benchmarks/gpu_check.sh                         # all parts
#   benchmarks/gpu_check.sh tests bench             # only these parts
#   DATASETS=../shared/datasets benchmarks/gpu_check.sh recipe
#
# Needs Python with numpy, cupy, pillow, scikit-image, PyWavelets, tqdm, matplotlib and
# pytest; nbclient, nbformat and ipykernel for the notebooks (else their tests are skipped,
# with the reason); torch for the comparison in `bench` (else only ours is timed).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
py=${PYTHON:-python3}
results=${RESULTS:-benchmarks/results/gpu_$(date +%F)}
mkdir -p "$results"
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(machine tests notebooks bench ladder demo recipe)
failed=()

run_part() {  # run_part NAME COMMAND...: log to $results/NAME.log, time it, note a failure
    local name=$1 t0=$SECONDS
    shift
    echo "== $name: $*"
    if "$@" > "$results/$name.log" 2>&1; then
        echo "   ok in $((SECONDS - t0)) s"
    else
        echo "   FAILED in $((SECONDS - t0)) s: see $results/$name.log"
        failed+=("$name")
    fi
    tail -n 4 "$results/$name.log" | sed 's/^/   | /'
}

for part in "${parts[@]}"; do
    case $part in
    machine)
        run_part machine bash -ec "nvidia-smi; $py -c 'import cupy; cupy.show_config()'; \
            $py -m rednet_cupy info" ;;
    tests)
        run_part tests "$py" -m pytest -q -rs -p no:cacheprovider ;;
    notebooks)
        run_part notebooks env REDNET_TUTORIAL_SMALL=0 "$py" -m pytest -q -rs \
            -p no:cacheprovider tests/test_tutorials.py ;;
    bench)
        run_part bench "$py" benchmarks/bench_ops.py --device cuda --out "$results/ops_cuda.md" ;;
    ladder)
        run_part ladder "$py" benchmarks/bench_conv_ladder.py --device cuda --record-default \
            --out "$results/conv_ladder.md" ;;
    demo)
        run_part demo "$py" -m rednet_cupy demo --device cuda --quiet --out "$results/demo" ;;
    recipe)
        if [ -z "${DATASETS:-}" ]; then
            echo "== recipe: skipped (set DATASETS to the folder holding Train400 and Set12)"
            continue
        fi
        run_part recipe "$py" -m rednet_cupy train --data "$DATASETS/Train400" \
            --val "$DATASETS/Set12" --preset RED20 --width 48 --padding 1 --task denoise \
            --levels 0:55 --val-level 25 --patch-size 50 --batch-size 16 --steps 300 \
            --lr 1e-3 --warmup 100 --seed 0 --val-every 300 --ckpt-every 300 --log-every 100 \
            --device cuda --quiet --out "$results/recipe" ;;
    *)
        echo "unknown part '$part': expected machine, tests, notebooks, bench, ladder, demo or recipe" >&2
        exit 2 ;;
    esac
done

if [ ${#failed[@]} -eq 0 ]; then
    echo "all parts passed; results in $results"
else
    echo "FAILED: ${failed[*]}; results in $results"
    exit 1
fi
