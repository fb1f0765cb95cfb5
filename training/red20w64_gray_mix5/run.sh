#!/usr/bin/env bash
# A continuation of the shipped model (step 10, ../red20w64_gray_mix4) trained on
# further on the same data (Train400 at four scales plus 250 synthetic woven textures) and the
# same noise levels, 10:55: one more cosine restart, a little below mix4's peak.
# Fresh Adam state, seed 13, cosine from 4e-5 to 2e-6.
# 2,400 steps in 86 min (0.45-0.49 steps/s), stopped and resumed once at step 1,310. No gain:
# Set12 32.26 / 29.96 / 26.74 dB (eval_set12; 32.264 / 29.955 / 26.742) against the start's
# 32.264 / 29.962 / 26.750; per image -0.05 to +0.05 dB (Cameraman, Airplane and Parrot up,
# House, Monarch and Lena down, Barbara -0.02 / -0.005 / -0.01). Validation 29.92 dB at steps
# 800 to 1,400 (the start's restart had 29.84 at 800), 29.93 to 29.94 from 1,600 to the end.
# The mean of this model's and the start's weights (../red20w64_gray_more2/average.py): Set12
# 29.961 dB at sigma 25 (only that level measured), below the start alone. BSD68 not measured.
# Re-run to resume. Needs the standard datasets (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -f ../red20w64_gray_mix4/model.npz ] || bash ../red20w64_gray_mix4/run.sh
[ -d ../red20_gray_ms/data ] || python ../red20_gray_ms/prepare.py "$data"
[ -d ../red20w64_gray_grat/data ] || python ../red20w64_gray_grat/prepare.py
[ -d ../red20w64_gray_mix/data ] || python ../red20w64_gray_mix/prepare.py
start="--init ../red20w64_gray_mix4/model.npz"
[ -f checkpoint.npz ] && start="--resume"
rednet train --data ../red20w64_gray_mix/data --val "$data/Set12" \
    --task denoise --levels 10:55 --val-level 25 --patch-size 50 --batch-size 16 \
    --steps 2400 --lr 4e-5 --lr-min 2e-6 --schedule cosine --warmup 50 --seed 13 \
    --val-every 800 --ckpt-every 200 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
