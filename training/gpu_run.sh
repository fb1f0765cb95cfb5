#!/usr/bin/env bash
# Gray-denoiser training on a GPU available for a few minutes, in one command: prepares the data,
# measures how many training steps a second this GPU runs, then trains for as many steps
# as fit in BUDGET seconds (a cosine schedule needs its length up front), with the test
# suite running beside it; leaves the run, its log, the test log and a summary in OUT.
#
#   here:   training/gpu_run.sh pack   # fill the ignored folder .gpu/: Train400, Set12,
#                                      # the start model (INIT), the PyWavelets wheel
#   there:  OUT=... BUDGET=420 bash training/gpu_run.sh run     # .gpu copied along
#   here:   training/evaluate.sh RUN_DIR RUN_DIR/model.npz      # Set12 and BSD68 on the CPU
#
# `run` takes about BUDGET + 90 s (data, probe, export). Settings (environment, defaults
# below): INIT start model, LR peak learning rate, LR_MIN, WARMUP, BATCH, SEED, LEVELS,
# TESTS=0 to skip the tests,
# PREP="training/<run> ..." to train on the data the last of those runs' prepare.py writes to
# its data/, each run prepared in turn (default: the woven-texture mix of the shipped model's
# last step, "training/red20w64_gray_grat training/red20w64_gray_mix"; PREP= for plain
# Train400 at four scales), DEVICE (cpu to try the script here with a small BUDGET).
# Everything it needs is in .gpu, so the GPU machine needs no network access and no copy of
# the datasets.
set -uo pipefail
cd "$(dirname "$0")/.."
pack=.gpu
py=${PYTHON:-python3}

if [ "${1:-}" = pack ]; then
    src=${DATASETS:-../shared/datasets}
    init=${INIT:-rednet_cupy/pretrained/red20_gray_denoise.npz}
    [ -f "$init" ] || { echo "no start model $init (export one: rednet export CKPT -o $init)"; exit 1; }
    rm -rf "$pack" && mkdir -p "$pack/Train400" "$pack/Set12" "$pack/whl" .git/info
    cp "$src"/Train400/*.png "$pack/Train400/" && cp "$src"/Set12/*.png "$pack/Set12/" || exit 1
    cp "$init" "$pack/init.npz"
    "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$pack/whl" "PyWavelets==1.8.0" || exit 1
    grep -qx "/$pack/" .git/info/exclude 2>/dev/null || echo "/$pack/" >> .git/info/exclude
    tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
    extra=$(git ls-files -z --others --exclude-standard | xargs -0 -r du -cb | tail -1 | cut -f1)
    packed=$(du -sb "$pack" | cut -f1)
    total=$(( (tree + ${extra:-0} + packed) / 1048576 ))
    echo "packed $pack: $((packed / 1048576)) MiB; with the working tree $total MiB (limit 64)"
    [ "$total" -lt 64 ] || { echo "too large to travel: ignore or remove untracked files"; exit 1; }
    exit 0
fi
[ "${1:-}" = run ] || { echo "usage: training/gpu_run.sh pack|run"; exit 2; }

out=${OUT:-/tmp/gpu_run}
budget=${BUDGET:-420}
dev=${DEVICE:-cuda}
mkdir -p "$out"
export PYTHONPATH="$PWD:/tmp/site" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
t0=$SECONDS
note() { echo "$*" | tee -a "$out/session.md"; }
note "# GPU training session $(date -u '+%F %H:%M') UTC"
note "device: $(nvidia-smi -L 2>/dev/null | head -1 || echo "$dev (no nvidia-smi)")"
if compgen -G "$pack/whl/*.whl" > /dev/null; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$pack"/whl/*.whl || note "wheel install failed"
fi

"$py" training/red20_gray_ms/prepare.py "$pack" > /dev/null || exit 1
data=training/red20_gray_ms/data
for run in ${PREP-training/red20w64_gray_grat training/red20w64_gray_mix}; do
    "$py" "$run/prepare.py" > /dev/null || exit 1
    data=$run/data
done
note "data: $data ($(ls "$data" | wc -l) images), ready after $((SECONDS - t0)) s"

# The whole test suite beside the training: on a GPU its cuda tests run too.
tests=""
if [ "${TESTS:-1}" = 1 ]; then
    ( timeout $((budget + 120)) "$py" -m pytest -q -rs -p no:cacheprovider > "$out/tests.log" 2>&1
      echo "pytest exit status $?" >> "$out/tests.log" ) &
    tests=$!
fi
finish_tests() {  # wait for the tests, if they run, and note their outcome
    [ -n "$tests" ] || return 0
    wait "$tests"
    note "tests: $(tail -n 2 "$out/tests.log" | tr '\n' ' ')"
}

common=(--data "$data" --val "$pack/Set12" --init "$pack/init.npz" --task denoise
        --levels "${LEVELS:-10:55}" --val-level 25 --patch-size 50
        --batch-size "${BATCH:-16}" --lr "${LR:-2e-4}" --lr-min "${LR_MIN:-5e-6}"
        --schedule cosine --seed "${SEED:-5}" --device "$dev" --quiet)
# Probe: 250 steps logged every 50; the rate between steps 100 and 200 leaves out the
# kernels' compilation (first steps) and the final validation.
rm -rf /tmp/probe
"$py" -m rednet_cupy train "${common[@]}" --warmup 0 --steps 250 --ckpt-every 50 \
    --log-every 50 --val-every 100000 --out /tmp/probe > /tmp/probe.log 2>&1
rate=$("$py" - <<'EOF'
import re
r = dict(re.findall(r"step (\d+)/250: .*?([\d.]+) steps/s", open("/tmp/probe.log").read()))
t = lambda s: int(s) / float(r[s])  # seconds from the start to step s
print(f"{100 / (t('200') - t('100')):.3f}" if "100" in r and "200" in r else "")
EOF
)
if [ -z "$rate" ]; then
    note "probe failed; its log:"; tail -n 30 /tmp/probe.log | tee -a "$out/session.md"
    finish_tests
    exit 1
fi
left=$((budget - (SECONDS - t0) - 40))  # 40 s: validations, checkpoints, export
steps=$("$py" -c "print(int($rate * $left) // 100 * 100)")
if [ "$steps" -lt 200 ]; then
    note "probe: $rate steps/s; too slow for BUDGET=$budget (${left} s left), no training"
    finish_tests
    exit 1
fi
note "probe: $rate steps/s (batch ${BATCH:-16}); training $steps steps in ~$left s"

"$py" -m rednet_cupy train "${common[@]}" --warmup "${WARMUP:-$((steps / 20))}" \
    --steps "$steps" --val-every $((steps / 4)) --ckpt-every $((steps / 8)) \
    --log-every 100 --out "$out/run" > "$out/train.log" 2>&1
note "training finished after $((SECONDS - t0)) s in all: $(grep -E "^(done|validation PSNR)" "$out/train.log" | tr '\n' ' ')"
finish_tests
