#!/usr/bin/env bash
# Step 2 of the shipped gray denoiser's recipe (README; shipped alone before the width-64 runs):
# a fine-tune of training/red20_gray at step 18,000 (init.npz) on Train400 at four scales
# (prepare.py writes them to ./data), same levels and patches, a short cosine from 2e-4. Re-run
# to resume. Needs the standard datasets (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -d data ] || python prepare.py "$data"
start="--init init.npz"
[ -f checkpoint.npz ] && start="--resume"
rednet train --data data --val "$data/Set12" \
    --task denoise --levels 0:55 --val-level 25 --patch-size 50 --batch-size 16 \
    --steps 4500 --lr 2e-4 --lr-min 1e-5 --schedule cosine --warmup 200 --seed 1 \
    --val-every 1500 --ckpt-every 500 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
