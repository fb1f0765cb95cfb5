#!/usr/bin/env bash
# Step 6 of the shipped denoiser's recipe (README): step 5's model (../red20w64_gray_more,
# then shipped as rednet_cupy/pretrained/red20_gray_denoise.npz) fine-tuned on Train400 at
# four scales plus synthetic woven texture (prepare.py: striped and plaid gratings of period
# 2.5 to 8 px, bent and shaded, laid over Train400 crops; about a fifth of the patches).
# Set12's gap to BM3D is Barbara's cloth stripes, which Train400 hardly shows and the network
# can learn (fine-tuned on Barbara itself, a diagnostic, it gains 1.1 dB there); Train400's own
# periodic windows did not teach them (../red20w64_gray_per). Fresh Adam state, cosine from
# 1e-4 to 5e-6.
# 1,800 steps in 72 min (0.42 steps/s, 2-core Intel Xeon).
# Result: Set12 32.20 / 29.91 / 26.68 dB at sigma 15 / 25 / 50 (eval_set12) against the
# start's 32.17 / 29.87 / 26.67: Barbara +0.56 / +0.66 / +0.61 dB (29.05 at sigma 25; +0.47 by
# step 750), the other eleven images -0.09 to +0.06 (mostly -0.01 to -0.05, most at sigma 50).
# Validation 29.82 dB at step 600, 29.89 at the end (start 29.85). The mean of this model's
# and the start's weights (../red20w64_gray_more2/average.py, eval_set12_soup): 32.20 / 29.91 /
# 26.69, Barbara halfway (28.77), the others back near the start. BSD68 (eval_bsd68, sigma 25
# and 50 only): 28.77 / 25.84 dB against the start's 28.79 / 25.87: natural images lose a little.
# checkpoint.npz (finished) and soup.npz are not kept (see .gitignore). barbara.png (README):
# python barbara.py barbara.png "step 5=../red20w64_gray_more/model.npz" \
#     "step 10=../red20w64_gray_mix4/model.npz" \
#     "shipped (step 12)=../../rednet_cupy/pretrained/red20_gray_denoise.npz"
# Re-run to resume. Needs the standard datasets (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -d ../red20_gray_ms/data ] || python ../red20_gray_ms/prepare.py "$data"
[ -d data ] || python prepare.py
[ -f ../red20w64_gray_more/model.npz ] || bash ../red20w64_gray_more/run.sh
start="--init ../red20w64_gray_more/model.npz"
[ -f checkpoint.npz ] && start="--resume"
rednet train --data data --val "$data/Set12" \
    --task denoise --levels 0:55 --val-level 25 --patch-size 50 --batch-size 16 \
    --steps 1800 --lr 1e-4 --lr-min 5e-6 --schedule cosine --warmup 100 --seed 7 \
    --val-every 600 --ckpt-every 250 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
