#!/usr/bin/env bash
# ../red20w64_gray_grat's model trained on further on the same data (Train400 at four scales
# plus synthetic woven texture, ../red20w64_gray_grat/prepare.py): Barbara was still rising
# there (+0.47 dB at step 750, +0.66 at step 1,800) while the other Set12 images had lost
# 0.01 to 0.09 dB. Fresh Adam state, a new seed, cosine from 6e-5 to 5e-6.
# 1,000 steps in 35 min (0.47 steps/s). Result: no further gain. Set12 32.21 / 29.91 / 26.67 dB
# (eval_set12) against the start's 32.20 / 29.91 / 26.68; Barbara +0.03 more (29.08 at
# sigma 25), House and Starfish a little lower still. Validation 29.89 dB before and after.
# checkpoint.npz (finished) is not kept (see .gitignore).
# Re-run to resume. Needs the standard datasets (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -f ../red20w64_gray_grat/model.npz ] || bash ../red20w64_gray_grat/run.sh
[ -d ../red20_gray_ms/data ] || python ../red20_gray_ms/prepare.py "$data"
[ -d ../red20w64_gray_grat/data ] || python ../red20w64_gray_grat/prepare.py
start="--init ../red20w64_gray_grat/model.npz"
[ -f checkpoint.npz ] && start="--resume"
rednet train --data ../red20w64_gray_grat/data --val "$data/Set12" \
    --task denoise --levels 0:55 --val-level 25 --patch-size 50 --batch-size 16 \
    --steps 1000 --lr 6e-5 --lr-min 5e-6 --schedule cosine --warmup 50 --seed 8 \
    --val-every 1000 --ckpt-every 250 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
