"""Writes the small seed corpus of the fuzz targets (fuzz/corpus/<target>/); run from the repo
root with any Python 3 that has numpy and soundfile (e.g. the training venv). Deterministic."""
import os
import shutil
import struct

import numpy as np
import soundfile as sf

rng = np.random.default_rng(7)
root = "fuzz/corpus"
tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(600) / 16000)).astype(np.float32)

wav = f"{root}/wav"
sf.write(f"{wav}/pcm16_16k_mono.wav", tone, 16000, subtype="PCM_16")
sf.write(f"{wav}/pcm8_8k_stereo.wav", np.stack([tone[:200], -tone[:200]], 1), 8000, subtype="PCM_U8")
sf.write(f"{wav}/pcm24_44k.wav", tone[:300], 44100, subtype="PCM_24")
sf.write(f"{wav}/pcm32_22k.wav", tone[:100], 22050, subtype="PCM_32")
sf.write(f"{wav}/float_48k.wav", tone[:150], 48000, subtype="FLOAT")
sf.write(f"{wav}/flac16_16k.flac", tone, 16000, subtype="PCM_16", format="FLAC")
sf.write(f"{wav}/flac24_32k_stereo.flac", np.stack([tone[:100], tone[:100]], 1), 32000,
         subtype="PCM_24", format="FLAC")
with open(f"{wav}/header_only.wav", "wb") as f:
    f.write(b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
            + b"data" + struct.pack("<I", 0))

models = "tests/fixtures/models"
for name in ["energy.onnx", "no_metadata.onnx", "malformed_json.onnx", "not_onnx.onnx"]:
    shutil.copy(f"{models}/{name}", f"{root}/model_bytes/{name}")

# Structured targets read their input through `arbitrary`: seeds are just varied bytes.
for target in ["model_metadata", "detector"]:
    for i, size in enumerate([0, 16, 64, 256, 1024]):
        with open(f"{root}/{target}/seed{i}", "wb") as f:
            f.write(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
print({t: len(os.listdir(f"{root}/{t}")) for t in os.listdir(root)})
