#!/usr/bin/env bash
# Reproduce the bundled weights/synthbirds from scratch (issue 6):
#   make-dataset → train-text → train (GAN-INT-CLS) → train-style → evaluate → copy to WEIGHTS_DIR.
# Every step resumes where an interrupted run stopped: run the script again to continue.
#
# Usage: scripts/reproduce_synthbirds.sh [DATA_DIR] [RUNS_DIR] [WEIGHTS_DIR]
#   defaults: data/synthbirds runs/synthbirds weights/synthbirds
# Settings (environment): THREADS (torch threads, default 1), GAN_STEPS (4000), STYLE_STEPS (1500),
#   PRESET (small), and for quick checks DATASET_ARGS (extra make-dataset flags), TEXT_ARGS,
#   GAN_ARGS (extra train flags), EVAL_ARGS (default --write-config; --quick for a smoke run).
# Each step prints its wall and CPU time (user + system, all threads).
set -euo pipefail
DATA=${1:-data/synthbirds}
RUNS=${2:-runs/synthbirds}
OUT=${3:-weights/synthbirds}
THREADS=${THREADS:-1}
GAN_STEPS=${GAN_STEPS:-4000}
STYLE_STEPS=${STYLE_STEPS:-1500}
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

if [ ! -f "$DATA/attributes.jsonl" ]; then  # written last: present means the dataset is complete
  # shellcheck disable=SC2086
  step make-dataset $T2I make-dataset --out "$DATA" --workers "$THREADS" ${DATASET_ARGS:-}
fi
# shellcheck disable=SC2086
step train-text $T2I train-text --data "$DATA" --out "$RUNS/text" --preset "$PRESET" \
  --threads "$THREADS" --no-progress $(resume_if "$RUNS/text/config.json") ${TEXT_ARGS:-}
# shellcheck disable=SC2086
step train $T2I train --data "$DATA" --text-encoder "$RUNS/text/weights" --out "$RUNS/gan" \
  --preset "$PRESET" --variant gan-int-cls --steps "$GAN_STEPS" --threads "$THREADS" \
  --mode-seeking 1 --spectral-norm --ema 0.999 --no-progress \
  $(resume_if "$RUNS/gan/config.json") ${GAN_ARGS:-}
if [ "$RUNS/gan/weights/generator.safetensors" -nt "$RUNS/final/style_checkpoint.pt" ]; then
  rm -f "$RUNS/final/style_checkpoint.pt"  # G changed since S was trained: start S again
fi
step train-style $T2I train-style --weights "$RUNS/gan/weights" --out "$RUNS/final" \
  --steps "$STYLE_STEPS" --threads "$THREADS" --no-progress \
  $(resume_if "$RUNS/final/style_checkpoint.pt")
# shellcheck disable=SC2086
step evaluate $T2I evaluate --weights "$RUNS/final" --data "$DATA" --out "$RUNS/final/evaluation" \
  --threads "$THREADS" $EVAL_ARGS

mkdir -p "$OUT"
cp "$RUNS"/final/*.safetensors "$RUNS/final/config.json" "$OUT/"
rm -rf "$OUT/evaluation" && cp -r "$RUNS/final/evaluation" "$OUT/evaluation"
echo "==> weights written to $OUT (figures: $OUT/evaluation/report.md)"
