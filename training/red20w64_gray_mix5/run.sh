#!/usr/bin/env bash
# A continuation of the shipped model (step 10, ../red20w64_gray_mix4) trained on
# further on the same data (Train400 at four scales plus 250 synthetic woven textures) and the
# same noise levels, 10:55: one more cosine restart, a little below mix4's peak.
# Fresh Adam state, seed 13, cosine from 4e-5 to 2e-6.
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
