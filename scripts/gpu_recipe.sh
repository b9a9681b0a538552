#!/usr/bin/env bash
# The whole recipe on one GPU, with the same commands as on a CPU:
#   make-dataset → train-text → train --recipe fast (curve points every EVAL_EVERY steps) →
#   train-style → evaluate, for each preset in PRESETS (default: small, then reed).
# `--device cuda` turns on bf16 autocast and channels_last (t2i_core/train/amp.py).
# Each step prints its wall time; at the end, GPU images/s of the GAN step (from the trainer's
# log) and the curve of each preset. Every step resumes: rerun after an interruption.
#
# Usage: scripts/gpu_recipe.sh [DATA_DIR] [RUNS_DIR]
#   defaults: data/synthbirds runs/gpu_recipe
# Settings (environment): PRESETS ("small reed"), TEXT_STEPS (5000: the rich captions need them), GAN_STEPS (3000),
#   STYLE_STEPS (1500), BATCH (64), EVAL_EVERY (250), EXTRA_GAN_ARGS (extra train flags).
# Budget: the whole script was planned for <= 8 minutes on one H100/H200; record what it prints
# in benchmarks/README.md ("GPU").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
absdir() { mkdir -p "$1" && (cd "$1" && pwd); }
DATA=$(absdir "${1:-$ROOT/data/synthbirds}")
RUNS=$(absdir "${2:-$ROOT/runs/gpu_recipe}")
cd "$ROOT"
PRESETS=${PRESETS:-"small reed"}
TEXT_STEPS=${TEXT_STEPS:-5000}
GAN_STEPS=${GAN_STEPS:-3000}
STYLE_STEPS=${STYLE_STEPS:-1500}
BATCH=${BATCH:-64}
EVAL_EVERY=${EVAL_EVERY:-250}
T2I="python -m t2i_core"
DEV="--device cuda"

step() {  # step NAME COMMAND...
  local name=$1; shift
  echo "==> $name: $*"
  TIMEFORMAT="==> $name done: %R s wall"
  time "$@"
}
resume_if() { [ -f "$1" ] && echo --resume || true; }

python -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA GPU: this script is for a GPU machine (the CPU recipe is scripts/reproduce_synthbirds.sh)")'
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true

if [ ! -f "$DATA/attributes.jsonl" ]; then
  step make-dataset $T2I make-dataset --out "$DATA" --workers "$(nproc)"
fi
for PRESET in $PRESETS; do
  R="$RUNS/$PRESET"
  if [ ! -f "$R/text/weights/text_encoder.safetensors" ]; then
    step "train-text ($PRESET)" $T2I train-text --data "$DATA" --out "$R/text" --preset "$PRESET" \
      --steps "$TEXT_STEPS" $DEV --no-progress $(resume_if "$R/text/config.json")
  fi
  # shellcheck disable=SC2086
  step "train ($PRESET)" $T2I train --data "$DATA" --text-encoder "$R/text/weights" --out "$R/gan" \
    --preset "$PRESET" --recipe fast --steps "$GAN_STEPS" --batch-size "$BATCH" \
    --eval-every "$EVAL_EVERY" $DEV --no-progress $(resume_if "$R/gan/config.json") ${EXTRA_GAN_ARGS:-}
  if [ "$R/gan/weights/generator.safetensors" -nt "$R/style/config.json" ]; then
    rm -rf "$R/style"  # G changed since S was trained: start S again
  fi
  step "train-style ($PRESET)" $T2I train-style --weights "$R/gan/weights" --out "$R/style" \
    --steps "$STYLE_STEPS" $DEV --no-progress $(resume_if "$R/style/config.json")
  step "evaluate ($PRESET)" $T2I evaluate --weights "$R/style/weights" --data "$DATA" \
    --out "$R/style/evaluation" --json > "$R/style/evaluation.json"
  python - "$R/gan/log.jsonl" "$BATCH" "$PRESET" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sec = [r["sec_per_step"] for r in rows if r.get("event") == "train" and r.get("sec_per_step")]
print(f"==> {sys.argv[3]}: GAN step {statistics.median(sec):.4f} s median, "
      f"{int(sys.argv[2]) / statistics.median(sec):.0f} images/s")
for r in rows:
    if r.get("event") == "eval":
        print(f"    step {r['step']:5d}  text match {r['per_attribute']:.3f}  all correct {r['all_correct']:.3f}"
              f"  left share {r['facing_left_share']:.2f}  FD {r.get('frechet_judge', float('nan')):.1f}")
EOF
done
