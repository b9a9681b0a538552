#!/usr/bin/env bash
# Reproduce the bundled weights/synthbirds from scratch (issue 6):
#   make-dataset → train-text → train (GAN-INT-CLS) → train-style → evaluate.
# Every step resumes where an interrupted run stopped: run the script again to continue.
# Usage: scripts/reproduce_synthbirds.sh [DATA_DIR] [RUNS_DIR] [WEIGHTS_DIR]
# THREADS=N sets torch threads per step (default 2). Prints the CPU time each step took.
set -euo pipefail
DATA=${1:-data/synthbirds}
RUNS=${2:-runs/synthbirds}
OUT=${3:-weights/synthbirds}
THREADS=${THREADS:-2}
GAN_STEPS=${GAN_STEPS:-4000}
STYLE_STEPS=${STYLE_STEPS:-1500}
T2I="python -m t2i_core"

step() {  # step NAME COMMAND...: run it and print its wall and CPU time (all threads)
  local name=$1; shift
  echo "==> $name: $*"
  TIMEFORMAT="==> $name done: %R s wall, %U s user + %S s system CPU"
  time "$@"
}
resume_flag() { [ -f "$1/config.json" ] && echo --resume || true; }

if [ ! -f "$DATA/attributes.jsonl" ]; then  # written last: its presence means the dataset is complete
  step make-dataset $T2I make-dataset --out "$DATA"
fi
step train-text $T2I train-text --data "$DATA" --out "$RUNS/text" --preset small \
  --threads "$THREADS" $(resume_flag "$RUNS/text")
step train $T2I train --data "$DATA" --text-encoder "$RUNS/text/weights" --out "$RUNS/gan" \
  --preset small --variant gan-int-cls --steps "$GAN_STEPS" --threads "$THREADS" \
  --cond-aug --mode-seeking 1 --spectral-norm --ema 0.999 $(resume_flag "$RUNS/gan")
style_resume=$([ -f "$OUT/style_checkpoint.pt" ] && echo --resume || true)
step train-style $T2I train-style --weights "$RUNS/gan/weights" --out "$OUT" \
  --steps "$STYLE_STEPS" --threads "$THREADS" $style_resume
step evaluate $T2I evaluate --weights "$OUT" --data "$DATA" --write-config --out "$OUT/evaluation" \
  --threads "$THREADS"
