#!/usr/bin/env bash
# ../red20w64_gray_mix6's model (Set12 29.970 dB at sigma 25, 0.0005 dB short of BM3D's
# published 29.97) trained on further on the same data (Train400 at four scales plus 250
# synthetic woven textures) and noise levels, 10:55, in one more long cosine cycle: the cycles
# of steps 9 and 10 and of mix6 added about 0.01 dB each (mix5's none), and the network has seen
# fewer than a million 50x50 patches in all, far fewer than DnCNN's recipe.
# Fresh Adam state, seed 15, cosine from 8e-5 to 1e-6, 3,600 steps.
# Re-run to resume. Needs the standard datasets (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -d ../red20_gray_ms/data ] || python ../red20_gray_ms/prepare.py "$data"
[ -d ../red20w64_gray_grat/data ] || python ../red20w64_gray_grat/prepare.py
[ -d ../red20w64_gray_mix/data ] || python ../red20w64_gray_mix/prepare.py
# The checkpoint is committed while the run is in progress, so a resume needs no start model.
if [ -f checkpoint.npz ]; then
    start="--resume"
else
    [ -f ../red20w64_gray_mix6/model.npz ] || bash ../red20w64_gray_mix6/run.sh
    start="--init ../red20w64_gray_mix6/model.npz"
fi
rednet train --data ../red20w64_gray_mix/data --val "$data/Set12" \
    --task denoise --levels 10:55 --val-level 25 --patch-size 50 --batch-size 16 \
    --steps 3600 --lr 8e-5 --lr-min 1e-6 --schedule cosine --warmup 100 --seed 15 \
    --val-every 800 --ckpt-every 200 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
