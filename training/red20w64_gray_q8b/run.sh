#!/usr/bin/env bash
# Step 13b of the shipped denoiser's recipe (README), a second try at issue 26 (8-bit input):
# step 12's model (../red20w64_gray_mix7) trained on with a smaller share of 8-bit noisy
# patches (--quantize 0.3: rounded and clipped as a saved photo is) in one long cosine cycle
# like steps 11-12 (lr 8e-5 to 1e-6 over 4,800 steps; step 13's shorter, lower cycle with half
# the patches quantized lost 0.06 dB on float input at sigma 25). Same data as steps 7-12
# (Train400 at four scales plus 250 synthetic woven textures), sigma 10:55, fresh Adam state,
# seed 17. Validated at sigma 25 on 8-bit input, on eleven T91 images (step 13's prepare.py):
# outside Set12 and BSD68, which it is reported on; the float protocol is checked on the same
# images afterwards with `rednet eval` before anything is reported.
# Stopped at step 981 of 4,800 (validation 29.75 dB at step 800) and not continued: these
# eleven T91 images, stored as Y (16..235), have no pixel near black or white, so clipped
# noise never shows on them (../gray_val_full/prepare.py), and on full-range validation images
# fine-tuning bought less than the clipping correction that now follows the network
# (rednet_cupy/clipping.py; README, "the 8-bit protocol"), which costs float input nothing.
# checkpoint.npz is not kept (see .gitignore). Re-run to resume. Needs the standard datasets
# (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -d ../red20_gray_ms/data ] || python ../red20_gray_ms/prepare.py "$data"
[ -d ../red20w64_gray_grat/data ] || python ../red20w64_gray_grat/prepare.py
[ -d ../red20w64_gray_mix/data ] || python ../red20w64_gray_mix/prepare.py
[ -d ../red20w64_gray_q8/val ] || python ../red20w64_gray_q8/prepare.py "$data"
if [ -f checkpoint.npz ]; then
    start="--resume"
else
    [ -f ../red20w64_gray_mix7/model.npz ] || bash ../red20w64_gray_mix7/run.sh
    start="--init ../red20w64_gray_mix7/model.npz"
fi
rednet train --data ../red20w64_gray_mix/data --val ../red20w64_gray_q8/val \
    --task denoise --levels 10:55 --quantize 0.3 --val-level 25 --val-8bit \
    --patch-size 50 --batch-size 16 \
    --steps 4800 --lr 8e-5 --lr-min 1e-6 --schedule cosine --warmup 100 --seed 17 \
    --val-every 800 --ckpt-every 100 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
