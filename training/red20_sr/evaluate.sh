#!/usr/bin/env bash
# Measures a super-resolution model on Set5, Set14 and B100 at x2, x3 and x4 by the SR papers'
# protocol (rednet_cupy/evaluate.py), with plain inference and with the 8-fold self-ensemble,
# each table beside bicubic and the published SRCNN, VDSR and RED30 rows. Writes
# OUT/eval_<set> and OUT/eval_<set>_ensemble (results.md, scores.csv, grid.png).
# Usage: training/red20_sr/evaluate.sh OUT [MODEL]   (MODEL: the shipped super-resolver)
# Needs the standard datasets (DATASETS, default ../shared beside the repository).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: evaluate.sh OUT [MODEL]}
model=${2:-$here/../../rednet_cupy/pretrained/red20_sr.npz}
data=${DATASETS:-$here/../../../shared/datasets}
for set in Set5 Set14 B100; do
    lower=$(echo "$set" | tr '[:upper:]' '[:lower:]')
    rednet eval --task sr --levels 2,3,4 --data "$data/$set" --model "$model" \
        --out "$out/eval_$lower" --device cpu
    rednet eval --task sr --levels 2,3,4 --data "$data/$set" --model "$model" \
        --out "$out/eval_${lower}_ensemble" --ensemble --device cpu
done
