#!/usr/bin/env bash
# Step 13 of the shipped denoiser's recipe (README): step 12's model (../red20w64_gray_mix7)
# fine-tuned for the images people have: half of the noisy training patches are rounded and
# clipped to 8 bits (--quantize 0.5), as a noisy photo saved to a PNG file is, so that the
# network learns the one-sided noise near black and white; the other half stay float, so the
# papers' protocol is still served. Same data as steps 7-12 (Train400 at four scales plus 250
# synthetic woven textures), sigma 10:55, fresh Adam state, seed 16, cosine from 5e-5 to 1e-6.
# Validated on eleven T91 images (prepare.py) at sigma 50 with 8-bit input: outside Set12 and
# BSD68, which it is reported on.
# Re-run to resume. Needs the standard datasets (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -d ../red20_gray_ms/data ] || python ../red20_gray_ms/prepare.py "$data"
[ -d ../red20w64_gray_grat/data ] || python ../red20w64_gray_grat/prepare.py
[ -d ../red20w64_gray_mix/data ] || python ../red20w64_gray_mix/prepare.py
[ -d val ] || python prepare.py "$data"
# A checkpoint here is resumed; without one the run starts from step 12's model (rebuilt by
# its run.sh if missing; it is byte-identical to the previously shipped
# rednet_cupy/pretrained/red20_gray_denoise.npz).
if [ -f checkpoint.npz ]; then
    start="--resume"
else
    [ -f ../red20w64_gray_mix7/model.npz ] || bash ../red20w64_gray_mix7/run.sh
    start="--init ../red20w64_gray_mix7/model.npz"
fi
rednet train --data ../red20w64_gray_mix/data --val val \
    --task denoise --levels 10:55 --quantize 0.5 --val-level 50 --val-8bit \
    --patch-size 50 --batch-size 16 \
    --steps 1600 --lr 5e-5 --lr-min 1e-6 --schedule cosine --warmup 100 --seed 16 \
    --val-every 400 --ckpt-every 100 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
