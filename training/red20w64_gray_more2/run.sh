#!/usr/bin/env bash
# The model of step 5 (../red20w64_gray_more, then shipped as
# rednet_cupy/pretrained/red20_gray_denoise.npz) trained on further on plain Train400 at four
# scales (../red20_gray_ms/prepare.py): same levels and patches, fresh Adam state, cosine from
# 1e-4 to 5e-6, a new seed so the patches differ from step 5's. Started with --steps 2600 (what
# fits in 1.7 h at step 5's 0.44 steps/s); this machine ran 0.28 to 0.31 steps/s, so resumed at
# step 392 with 1400 to fit the time at hand (log.txt records the resume); 1,400 steps in 1.1 h.
# Result: no gain. Set12 32.17 / 29.87 / 26.67 dB at sigma 15 / 25 / 50 (eval_set12), within
# 0.01 dB of the start at every level (32.169 / 29.870 / 26.666 -> 32.174 / 29.872 / 26.666);
# validation 29.85 dB before and after. The mean of the two models' weights (average.py,
# eval_set12_soup) gives 32.177 / 29.875 / 26.669: within 0.01 dB too. Fine-tunes at this
# learning rate have reached the floor of the start's basin; not shipped, BSD68 not run.
# Means across branches that split at ../red20w64_gray do worse at sigma 25 (Set12, whole
# images, same noise): this model, step 5's and ../red20w64_gray_p80's 29.864 dB; step 5's and
# p80's 29.857; those three with ../red20w64_gray_tex and ../red20w64_gray_per 29.856.
# checkpoint.npz is not kept (see .gitignore). Re-run to resume. Needs the standard datasets
# (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -d ../red20_gray_ms/data ] || python ../red20_gray_ms/prepare.py "$data"
[ -f ../red20w64_gray_more/model.npz ] || bash ../red20w64_gray_more/run.sh
start="--init ../red20w64_gray_more/model.npz"
[ -f checkpoint.npz ] && start="--resume"
rednet train --data ../red20_gray_ms/data --val "$data/Set12" \
    --task denoise --levels 0:55 --val-level 25 --patch-size 50 --batch-size 16 \
    --steps 1400 --lr 1e-4 --lr-min 5e-6 --schedule cosine --warmup 150 --seed 6 \
    --val-every 1400 --ckpt-every 250 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
