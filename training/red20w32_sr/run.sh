#!/usr/bin/env bash
# A candidate super-resolver beside ../red20_sr: the same RED20 with 32 feature maps instead
# of 64, a quarter of the arithmetic per step, so about three to four times the steps in the
# same CPU hours. ../red20_sr underfits (0.4 dB over bicubic on its own training patches after
# 2,900 steps) and ../red20_sr/probe.py shows a small net learning at the same pace per step:
# steps, not width, look like the limit. It also starts as the identity (--identity-start:
# the output layer's weights zero): the default start's output is far from its input (RMS
# 0.6 here, 1.3 with 64 maps) and ../red20_sr spent its first 1,000 steps getting back to
# bicubic; in probe.py the identity start gains +0.46 / 0.52 / 0.61 / 0.62 dB at x3 by steps
# 100..400 against +0.16 / 0.37 / 0.44 / 0.49. Same data, pairs, patches and validation as
# ../red20_sr (its prepare.py); Adam 1e-3 with 500 warm-up steps, cosine to 1e-5 over 24,000
# steps, seed 23. Re-run to resume. Needs the standard datasets (DATASETS, default ../shared).
set -euo pipefail
cd "$(dirname "$0")"
data=${DATASETS:-../../../shared/datasets}
[ -d ../red20_sr/data ] && [ -d ../red20_sr/val ] || (cd ../red20_sr && python prepare.py "$data")
start=""
[ -f checkpoint.npz ] && start="--resume"
rednet train --data ../red20_sr/data --val ../red20_sr/val --task sr --levels 2,3,4 \
    --val-level 3 --preset RED20 --width 32 --patch-size 50 --batch-size 16 \
    --steps 24000 --lr 1e-3 --lr-min 1e-5 --schedule cosine --warmup 500 --seed 23 \
    --identity-start \
    --val-every 500 --ckpt-every 100 --log-every 100 --device cpu --quiet --out . $start \
    2>&1 | tee -a log.txt
