#!/usr/bin/env bash
# Reproduce the bundled weights/synthbirds (or, with DOMAIN=flowers, weights/synthflowers;
# scripts/reproduce_synthflowers.sh does that) from scratch:
#   make-dataset → train-text (φ) → train (--recipe fast) → train-style (--augment) → evaluate
#   → copy to WEIGHTS_DIR (its config.json records paths relative to the repository).
# Every step resumes where an interrupted run stopped: run the script again to continue.
#
# Usage: scripts/reproduce_synthbirds.sh [DATA_DIR] [RUNS_DIR] [WEIGHTS_DIR]
#   defaults: data/synthbirds runs/synthbirds weights/synthbirds (relative to the repository root;
#   synthflowers for DOMAIN=flowers; the default WEIGHTS_DIR replaces the bundled weights: give
#   another folder for experiments)
# Settings (environment): DOMAIN (birds or flowers), THREADS (torch threads, default 1), TEXT_STEPS (birds 5000, flowers 3000) and TEXT_RECIPE
#   (extra train-text flags; empty = the small preset's own recipe), GAN_STEPS (birds 4500, flowers 7000), GAN_RECIPE
#   (default "--recipe fast"; "--recipe paper" is Reed et al.'s exactly), STYLE_STEPS (1500),
#   STYLE_ARGS (default --augment: S also learns from photo-like degradations), PRESET (small),
#   and for quick checks DATASET_ARGS (extra make-dataset flags), TEXT_ARGS (extra train-text
#   flags), GAN_ARGS (extra train flags), EVAL_ARGS (default --write-config; --quick for a smoke run).
# Each step prints its wall and CPU time (user + system, all threads).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
absdir() { mkdir -p "$1" && (cd "$1" && pwd); }
DOMAIN=${DOMAIN:-birds}
case "$DOMAIN" in
  birds|flowers) NAME=synth$DOMAIN ;;
  *) echo "DOMAIN must be birds or flowers, got '$DOMAIN'" >&2; exit 2 ;;
esac
DATA=$(absdir "${1:-$ROOT/data/$NAME}")
RUNS=$(absdir "${2:-$ROOT/runs/$NAME}")
OUT=$(absdir "${3:-$ROOT/weights/$NAME}")
cd "$ROOT"
THREADS=${THREADS:-1}
TEXT_RECIPE=${TEXT_RECIPE-}
case "$DOMAIN" in  # the steps the bundled models were trained with
  # (φ: the birds' rich captions, with their bird-guide palette, need 5,000 steps: zero-shot
  # 0.963 at 3,000, 0.999 at 5,000; reports/quality/README.md, round 10)
  birds) GAN_STEPS=${GAN_STEPS:-4500}; TEXT_STEPS=${TEXT_STEPS:-5000} ;;
  # (--recipe fast keeps Reed's 76-pixel zoom-and-crop for SynthFlowers: RECIPE_DOMAINS)
  flowers) GAN_STEPS=${GAN_STEPS:-7000}; TEXT_STEPS=${TEXT_STEPS:-3000} ;;
esac
GAN_RECIPE=${GAN_RECIPE:---recipe fast}
STYLE_STEPS=${STYLE_STEPS:-1500}
STYLE_ARGS=${STYLE_ARGS---augment}
PRESET=${PRESET:-small}
EVAL_ARGS=${EVAL_ARGS:---write-config}
T2I="python -m t2i_core"
export OMP_NUM_THREADS=$THREADS

step() {  # step NAME COMMAND...
  local name=$1; shift
  echo "==> $name: $*"
  TIMEFORMAT="==> $name done: %R s wall, %U s user + %S s system CPU"
  time "$@"
}
resume_if() { [ -f "$1" ] && echo --resume || true; }
final_step() {  # the step a finished `train` exported its weights at (0: none yet)
  python -c 'import json, sys; print(json.load(open(sys.argv[1]))["training"]["final_step"])' "$1" \
    2>/dev/null || echo 0
}

if [ ! -f "$DATA/attributes.jsonl" ]; then  # written last: present means the dataset is complete
  # shellcheck disable=SC2086
  step make-dataset $T2I make-dataset --domain "$DOMAIN" --out "$DATA" --workers "$THREADS" ${DATASET_ARGS:-}
fi
# Finished steps are skipped, not re-run: a re-export would rewrite their weights (and make the
# style encoder below start over).
if [ -f "$RUNS/text/weights/text_encoder.safetensors" ]; then  # written when train-text finishes
  echo "==> train-text: finished earlier ($RUNS/text/weights), skipped"
else
  # shellcheck disable=SC2086
  step train-text $T2I train-text --data "$DATA" --out "$RUNS/text" --preset "$PRESET" \
    --steps "$TEXT_STEPS" --threads "$THREADS" --no-progress $(resume_if "$RUNS/text/config.json") \
    $TEXT_RECIPE ${TEXT_ARGS:-}
fi
# --recipe fast picks GAN-CLS for the birds (round 8) and GAN-INT-CLS with the 76-pixel zoom for
# SynthFlowers (RECIPE_DOMAINS in t2i_core/train/gan_config.py): the variants the bundled models
# were trained with.
if [ "$(final_step "$RUNS/gan/weights/config.json")" -ge "$GAN_STEPS" ]; then
  echo "==> train: finished earlier at step $(final_step "$RUNS/gan/weights/config.json"), skipped"
else
  # shellcheck disable=SC2086
  step train $T2I train --data "$DATA" --text-encoder "$RUNS/text/weights" --out "$RUNS/gan" \
    --preset "$PRESET" --steps "$GAN_STEPS" --threads "$THREADS" \
    $GAN_RECIPE --no-progress $(resume_if "$RUNS/gan/config.json") ${GAN_ARGS:-}
fi
FINAL=$RUNS/style/weights  # train-style's run folder is RUNS/style; its weights/ is the model
if [ "$RUNS/gan/weights/generator.safetensors" -nt "$RUNS/style/config.json" ]; then
  rm -rf "$RUNS/style"  # G changed since S was trained: start S again
fi
# shellcheck disable=SC2086
step train-style $T2I train-style --weights "$RUNS/gan/weights" --out "$RUNS/style" \
  --steps "$STYLE_STEPS" --threads "$THREADS" --no-progress $STYLE_ARGS \
  $(resume_if "$RUNS/style/config.json")
# shellcheck disable=SC2086
step evaluate $T2I evaluate --weights "$FINAL" --data "$DATA" --out "$RUNS/style/evaluation" \
  --threads "$THREADS" $EVAL_ARGS

mkdir -p "$OUT"
cp "$FINAL"/*.safetensors "$FINAL/config.json" "$OUT/"
rm -rf "$OUT/evaluation" && cp -r "$RUNS/style/evaluation" "$OUT/evaluation"
python -c 'import sys; from t2i_core.checkpoint import make_paths_relative; make_paths_relative(*sys.argv[1:])' \
  "$OUT" "$ROOT"
sed -i "s|$ROOT/||g" "$OUT"/evaluation/*.md "$OUT"/evaluation/*.json  # the report names no machine paths
echo "==> weights written to $OUT (figures: $OUT/evaluation/report.md)"
