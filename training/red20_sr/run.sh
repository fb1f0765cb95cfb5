#!/usr/bin/env bash
# The shipped super-resolver (README): one RED20 (10 convolutions, 10 deconvolutions, skips
# every 2 layers, 64 feature maps, padding 1, residual) for x2, x3 and x4, trained from
# scratch on the 291 images (T91 + BSD200, less 10 BSD200 images kept for validation;
# prepare.py). Inputs are made as the SR papers make them (MATLAB's bicubic imresize down and
# back up, on whole images cropped to a multiple of the scale); batches of 16 random 50x50
# patches with flips/rotations, scales mixed in every batch; validation at x3 on the 10
# held-out images.
#
# Phase 1 (here): Adam lr 1e-3 with 500 warm-up steps on a cosine meant for 16,000 steps,
# stopped at step 2,200: validation had stood at 28.08 dB since step 1,000 (bicubic 27.49),
# the noise floor of that learning rate. Phase 2 (phase2/): from phase 1's weights, a fresh
# Adam and a shorter, lower cosine, 3e-4 to 1e-6 over 6,000 steps.
# Re-run to resume. Needs the standard datasets (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -d data ] && [ -d val ] || python prepare.py "$data"
common="--data data --val val --task sr --levels 2,3,4 --val-level 3 --patch-size 50
    --batch-size 16 --ckpt-every 100 --log-every 100 --device cpu --quiet"
start=""
[ -f checkpoint.npz ] && start="--resume"
# shellcheck disable=SC2086
rednet train $common --preset RED20 --width 64 \
    --steps 16000 --stop-at 2200 --lr 1e-3 --lr-min 1e-5 --schedule cosine --warmup 500 \
    --seed 21 --val-every 1000 --out . $start 2>&1 | tee -a log.txt
mkdir -p phase2
start="--init checkpoint.npz"
[ -f phase2/checkpoint.npz ] && start="--resume"
# shellcheck disable=SC2086
rednet train $common \
    --steps 6000 --lr 3e-4 --lr-min 1e-6 --schedule cosine --warmup 100 \
    --seed 22 --val-every 500 --out phase2 $start 2>&1 | tee -a phase2/log.txt
