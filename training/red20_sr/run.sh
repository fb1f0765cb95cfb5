#!/usr/bin/env bash
# The shipped super-resolver (README): one RED20 (10 convolutions, 10 deconvolutions, skips
# every 2 layers, 64 feature maps, padding 1, residual) for x2, x3 and x4, trained from
# scratch on the 291 images (T91 + BSD200, less 10 BSD200 images kept for validation;
# prepare.py). Inputs are made as the SR papers make them (MATLAB's bicubic imresize down and
# back up, on whole images cropped to a multiple of the scale); batches of 16 random 50x50
# patches with flips/rotations, scales mixed in every batch. Adam lr 1e-3 with 500 warm-up
# steps, cosine decay to 1e-5; validation at x3 on the 10 held-out images.
# Re-run to resume. Needs the standard datasets (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -d data ] && [ -d val ] || python prepare.py "$data"
start=""
[ -f checkpoint.npz ] && start="--resume"
rednet train --data data --val val --task sr --levels 2,3,4 --val-level 3 \
    --preset RED20 --width 64 --patch-size 50 --batch-size 16 \
    --steps 16000 --lr 1e-3 --lr-min 1e-5 --schedule cosine --warmup 500 --seed 21 \
    --val-every 1000 --ckpt-every 100 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
