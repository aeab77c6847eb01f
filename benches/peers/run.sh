#!/usr/bin/env bash
# Measures openWakeWord and microWakeWord against hushword on the same audio, one core, one thread.
# usage: benches/peers/run.sh [AUDIO.wav]   (default: one hour of hushword's synthetic speech)
# Needs python3.11 and PyPI; the venv lives in ~/.cache/hushword/peers-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=~/.cache/hushword/peers-venv
WHEELS=~/.cache/hushword/peers-wheels
if [ ! -x "$VENV/bin/python" ]; then
  python3.11 -m venv "$VENV"
  "$VENV/bin/pip" install -q "numpy<2" tflite-runtime openwakeword==0.6.0 pymicro-wakeword==2.5.0
fi
if [ ! -d "$WHEELS/wyoming_openwakeword/models" ]; then
  "$VENV/bin/pip" download -q --no-deps wyoming-openwakeword==1.8.2 -d "$WHEELS"
  (cd "$WHEELS" && "$VENV/bin/python" -m zipfile -e wyoming_openwakeword-1.8.2-py3-none-any.whl .)
fi
cargo build --release -q
AUDIO=${1:-target/bench-hour.wav}
[ -f "$AUDIO" ] || ./target/release/hushword bench --write-synthetic "$AUDIO" --seconds 3600
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
OUT=$(taskset -c 0 ./target/release/hushword bench "$AUDIO")
echo "$OUT"
PER_HOUR=$(echo "$OUT" | awk '/^cpu per hour/ {print $4}')
taskset -c 0 "$VENV/bin/python" benches/peers/measure.py "$AUDIO" --hushword-cpu-per-hour "$PER_HOUR" \
  --oww-models "$WHEELS/wyoming_openwakeword/models"
