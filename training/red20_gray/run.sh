#!/usr/bin/env bash
# The first run of the shipped gray denoiser (README: step 1 of 8): RED20 (skips every 2
# layers), 48 feature maps, padding 1, residual; one blind model for sigma 0..55; Train400
# patches, Set12 for validation. The run started with --steps 50000; it was resumed with --steps
# 20000 at step 6767 and with --steps 18000 at step 7299, so that the cosine decay completed
# within reach (the schedule follows the current --steps; log.txt records each resume). It
# finished at step 18000, which ../red20_gray_ms fine-tunes (step 2; widened and trained on by
# steps 3-5). A second cycle then began with --steps 30000 (the cosine restarts from about
# 3.6e-4 at step 18000 and decays to 1e-5 again at step 30000). It was stopped at step 28310
# with validation at 29.50 dB, below step 18000's 29.73, and was not shipped; the checkpoint
# here is step 28310 (commit d70dc7c holds step 18000's). Re-run this script to resume where the
# last checkpoint left off (the first run starts from scratch). Needs the standard datasets
# (DATASETS=/path/to/datasets, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
resume=""
[ -f checkpoint.npz ] && resume="--resume"
rednet train --data "$data/Train400" --val "$data/Set12" \
    --preset RED20 --width 48 --padding 1 \
    --task denoise --levels 0:55 --val-level 25 --patch-size 50 --batch-size 16 \
    --steps 30000 --lr 1e-3 --lr-min 1e-5 --schedule cosine --warmup 1000 --seed 0 \
    --val-every 2500 --ckpt-every 500 --log-every 100 --device cpu --quiet --out . $resume \
    2>&1 | tee -a log.txt
