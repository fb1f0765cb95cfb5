#!/usr/bin/env bash
# Measures the shipped denoiser on Set12 and BSD68 at sigma 15, 25, 50 (the DnCNN protocol:
# gray images, Gaussian noise seeded per image, PSNR/SSIM on the whole image), with and
# without the 8-fold self-ensemble; baselines from scikit-image on Set12. Writes eval_*/.
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
model=../../rednet_cupy/pretrained/red20_gray_denoise.npz
rednet eval --data "$data/Set12" --levels 15,25,50 --model "$model" --out eval_set12 --device cpu
rednet eval --data "$data/BSD68" --levels 15,25,50 --model "$model" --out eval_bsd68 \
    --no-baselines --device cpu
rednet eval --data "$data/Set12" --levels 15,25,50 --model "$model" --out eval_set12_ensemble \
    --no-baselines --ensemble --device cpu
