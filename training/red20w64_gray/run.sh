#!/usr/bin/env bash
# Step 3 of the shipped denoiser's recipe (README): the width-48 model (../red20_gray_ms, step
# 4500) widened to 64 feature maps by widen.py (same function at step 0: new channels feed
# nothing until training grows their weights), then trained on Train400 at four scales
# (../red20_gray_ms/prepare.py) with the same levels and patches, cosine from 2e-4. Started with
# --steps 5000; resumed at step 635 with --steps 3400 and at step 1579 with --steps 3000 to fit
# the time at hand (the cosine follows the current --steps; log.txt records each resume).
# Finished at step 3000 in 1.7 h. Re-run to resume. Needs the standard datasets (DATASETS,
# default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -d ../red20_gray_ms/data ] || python ../red20_gray_ms/prepare.py "$data"
[ -f init.npz ] || python widen.py ../red20_gray_ms/model48.npz init.npz --width 64 --seed 0
start="--init init.npz"
[ -f checkpoint.npz ] && start="--resume"
rednet train --data ../red20_gray_ms/data --val "$data/Set12" \
    --task denoise --levels 0:55 --val-level 25 --patch-size 50 --batch-size 16 \
    --steps 3000 --lr 2e-4 --lr-min 1e-5 --schedule cosine --warmup 300 --seed 2 \
    --val-every 1250 --ckpt-every 250 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
