#!/usr/bin/env bash
# Measures a gray denoiser on the 8-bit protocol (what a user's noisy photo is): Set12 and
# BSD68 at sigma 15, 25, 50, the noisy input of the i-th image drawn from default_rng(1000 + i),
# rounded and clipped to 0..255 as saving it to a PNG file does (`rednet eval --8bit`).
# With BM3D=1 BM3D runs on exactly the same inputs (needs `pip install bm3d`; about 40 min
# for BSD68 on 2 cores). Writes OUT/eval8_set12 and OUT/eval8_bsd68.
# LEVELS=25,50 measures those sigmas only. SETS="Set12" one set only.
# Usage: training/evaluate_8bit.sh OUT [MODEL]   (MODEL defaults to the shipped denoiser)
# Needs the standard datasets (DATASETS, default ../shared beside the repository).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: evaluate_8bit.sh OUT [MODEL]}
model=${2:-$here/../rednet_cupy/pretrained/red20_gray_denoise.npz}
data=${DATASETS:-$here/../../shared/datasets}
extra=()
[ "${BM3D:-0}" = 1 ] && extra=(--bm3d)
for set in ${SETS:-Set12 BSD68}; do
    rednet eval --8bit --data "$data/$set" --levels "${LEVELS:-15,25,50}" --model "$model" \
        --out "$out/eval8_${set,,}" --no-baselines "${extra[@]}" --device cpu
done
