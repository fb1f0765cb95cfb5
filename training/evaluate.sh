#!/usr/bin/env bash
# Measures a gray denoiser on Set12 and BSD68 at sigma 15, 25, 50 (the DnCNN protocol: gray
# images, Gaussian noise seeded per image, PSNR/SSIM on the whole image), with and without
# the 8-fold self-ensemble; baselines from scikit-image on Set12. Writes OUT/eval_set12,
# OUT/eval_bsd68 and OUT/eval_set12_ensemble (skipped with NO_ENSEMBLE=1).
# Usage: training/evaluate.sh OUT [MODEL]   (MODEL defaults to the shipped denoiser)
# Needs the standard datasets (DATASETS, default ../shared beside the repository).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: evaluate.sh OUT [MODEL]}
model=${2:-$here/../rednet_cupy/pretrained/red20_gray_denoise.npz}
data=${DATASETS:-$here/../../shared/datasets}
rednet eval --data "$data/Set12" --levels 15,25,50 --model "$model" --out "$out/eval_set12" \
    --device cpu
rednet eval --data "$data/BSD68" --levels 15,25,50 --model "$model" --out "$out/eval_bsd68" \
    --no-baselines --device cpu
if [ "${NO_ENSEMBLE:-0}" != 1 ]; then
    rednet eval --data "$data/Set12" --levels 15,25,50 --model "$model" \
        --out "$out/eval_set12_ensemble" --no-baselines --ensemble --device cpu
fi
