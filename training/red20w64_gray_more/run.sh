#!/usr/bin/env bash
# Step 5 of the shipped denoiser's recipe (README): the width-64 model after its
# texture-weighted fine-tune (../red20w64_gray_tex, step 1500, exported to its model.npz)
# trained on further on plain Train400 at four scales (../red20_gray_ms/prepare.py): same levels
# and patches, fresh Adam state, cosine from 1.2e-4 to 5e-6 over 2,600 steps (what fits in about
# 1.7 h at 0.4 steps/s on a 2-core machine). Finished in 98.5 min: Set12 32.17 / 29.87 / 26.67
# dB, BSD68 31.19 / 28.79 / 25.87 at sigma 15 / 25 / 50, above the width-48 model by 0.04 to
# 0.11 dB on both sets; exported as rednet_cupy/pretrained/red20_gray_denoise.npz, which it
# was until step 8 (../red20w64_gray_mix2) replaced it.
# checkpoint.npz is not kept (see .gitignore). Re-run to resume. Needs the standard datasets
# (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -d ../red20_gray_ms/data ] || python ../red20_gray_ms/prepare.py "$data"
[ -f ../red20w64_gray_tex/model.npz ] || bash ../red20w64_gray_tex/run.sh
start="--init ../red20w64_gray_tex/model.npz"
[ -f checkpoint.npz ] && start="--resume"
rednet train --data ../red20_gray_ms/data --val "$data/Set12" \
    --task denoise --levels 0:55 --val-level 25 --patch-size 50 --batch-size 16 \
    --steps 2600 --lr 1.2e-4 --lr-min 5e-6 --schedule cosine --warmup 150 --seed 5 \
    --val-every 1300 --ckpt-every 250 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
