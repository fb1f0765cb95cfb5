#!/usr/bin/env bash
# The shipped gray denoiser's training run. Re-run this script to resume where the last
# checkpoint left off (the first run starts from scratch). Needs ../shared/datasets.
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
resume=""
[ -f checkpoint.npz ] && resume="--resume"
rednet train --data "$data/Train400" --preset RED10 --width 64 --padding 1 \
    --task denoise --levels 0:55 --val-level 25 --patch-size 50 --batch-size 16 \
    --steps 100000 --lr 1e-3 --lr-min 1e-5 --schedule cosine --seed 0 \
    --val-every 2000 --ckpt-every 500 --log-every 100 --device cpu --quiet --out . $resume \
    2>&1 | tee -a log.txt
