#!/usr/bin/env bash
# Step 12 of the shipped denoiser's recipe (README): step 11's model (../red20w64_gray_mix6;
# Set12 29.970 dB at sigma 25, 0.0005 dB short of BM3D's published 29.97) trained on further on
# the same data (Train400 at four scales plus 250 synthetic woven textures) and noise levels,
# 10:55, in one more long cosine cycle: the cycles of steps 9 and 10 and of mix6 added about
# 0.01 dB each (mix5's none), and the network has seen fewer than a million 50x50 patches in
# all, far fewer than DnCNN's recipe.
# Fresh Adam state, seed 15, cosine from 8e-5 to 1e-6, 3,600 steps.
# 3,600 steps in 153 min (0.35-0.40 steps/s), stopped and resumed twice. Set12 32.29 / 29.99 /
# 26.80 dB (eval_set12; 32.287 / 29.993 / 26.800) against the start's 32.275 / 29.970 / 26.759:
# Barbara +0.07 / +0.11 / +0.13, the other eleven images -0.03 to +0.03 / -0.02 to +0.05 /
# +0.01 to +0.09. BM3D's published 32.37 / 29.97 / 26.72: 0.08 dB short at sigma 15, 0.02 and
# 0.08 ahead at sigma 25 and 50. BSD68 31.25 / 28.84 / 25.92 (eval_bsd68; 31.246 / 28.844 /
# 25.921) against step 10's 31.230 / 28.826 / 25.896 (step 11's was not measured): 0.18 / 0.27
# / 0.30 dB ahead of BM3D's published 31.07 / 28.57 / 25.62.
# 8-fold self-ensemble on Set12 (eval_set12_ensemble): 32.41 / 30.09 / 26.91 dB.
# Validation 29.89 dB at step 800, 29.95 at 1,600, 29.94 at 2,400, 29.97 at the end.
# Exported as rednet_cupy/pretrained/red20_gray_denoise.npz; model.npz (the same file) and the
# finished checkpoint.npz are not kept (see .gitignore).
# Re-run to resume. Needs the standard datasets (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -d ../red20_gray_ms/data ] || python ../red20_gray_ms/prepare.py "$data"
[ -d ../red20w64_gray_grat/data ] || python ../red20w64_gray_grat/prepare.py
[ -d ../red20w64_gray_mix/data ] || python ../red20w64_gray_mix/prepare.py
# A checkpoint here is resumed; without one the run starts from step 11's model (rebuilt by
# its run.sh if missing).
if [ -f checkpoint.npz ]; then
    start="--resume"
else
    [ -f ../red20w64_gray_mix6/model.npz ] || bash ../red20w64_gray_mix6/run.sh
    start="--init ../red20w64_gray_mix6/model.npz"
fi
rednet train --data ../red20w64_gray_mix/data --val "$data/Set12" \
    --task denoise --levels 10:55 --val-level 25 --patch-size 50 --batch-size 16 \
    --steps 3600 --lr 8e-5 --lr-min 1e-6 --schedule cosine --warmup 100 --seed 15 \
    --val-every 800 --ckpt-every 200 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
