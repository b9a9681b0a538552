#!/usr/bin/env bash
# Reproduce the bundled weights/synthflowers from scratch: the same sequence and settings as
# scripts/reproduce_synthbirds.sh (see there), on SynthFlowers (make-dataset --domain flowers).
# Usage: scripts/reproduce_synthflowers.sh [DATA_DIR] [RUNS_DIR] [WEIGHTS_DIR]
#   defaults: data/synthflowers runs/synthflowers weights/synthflowers
DOMAIN=flowers exec "$(dirname "$0")/reproduce_synthbirds.sh" "$@"
