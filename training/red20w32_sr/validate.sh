#!/usr/bin/env bash
# Scores a super-resolution model (default: this run's checkpoint) on the ten validation
# images (BSD200 images held out of training, outside Set5, Set14 and B100) at x2, x3 and x4,
# beside bicubic. Writes OUT/results.md, scores.csv and grid.png.
# The ship rule, fixed before the run ends: the model ships if its plain-inference gain over
# bicubic here reaches SRCNN's published gain on B100, the test set these images resemble
# (BSD images both): 1.80 / 1.20 / 0.94 dB at x2 / x3 / x4. The test sets are then measured
# once, for the README (../red20_sr/evaluate.sh).
# Usage: training/red20w32_sr/validate.sh OUT [MODEL]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: validate.sh OUT [MODEL]}
model=${2:-$here/checkpoint.npz}
rednet eval --task sr --levels 2,3,4 --data "$here/../red20_sr/val" --model "$model" \
    --out "$out" --device cpu
