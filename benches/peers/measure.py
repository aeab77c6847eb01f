"""CPU cost of openWakeWord and microWakeWord on one WAV (16 kHz mono 16-bit), single-threaded,
in CPU-seconds per hour of audio, and the ratio to hushword's figure for the same file.

Run through ./run.sh (it builds the venv, pins one core and one thread). Audio is fed in the chunks
each engine's own streaming API expects (openWakeWord: 1280 samples = 80 ms; microWakeWord: 10 ms
byte chunks through its feature front end); only the engine calls are timed (process CPU time), the
WAV is read into memory first. Each engine runs in its own process: pymicro-wakeword bundles its own
TensorFlow Lite library, which cannot share a process with tflite-runtime's.

usage: python measure.py AUDIO.wav --hushword-cpu-per-hour S [--oww-models DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np


def read_wav(path: str) -> np.ndarray:
    with wave.open(path, "rb") as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SystemExit(f"{path}: need 16 kHz mono 16-bit WAV")
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def openwakeword(audio: np.ndarray, models_dir: Path) -> tuple[float, float]:
    from openwakeword.model import Model

    model = Model(wakeword_models=[str(models_dir / "alexa_v0.1.tflite")], inference_framework="tflite",
                  melspec_model_path=str(models_dir / "melspectrogram.tflite"),
                  embedding_model_path=str(models_dir / "embedding_model.tflite"), ncpu=1)
    best = 0.0
    start = time.process_time()
    for i in range(0, len(audio) - 1279, 1280):
        scores = model.predict(audio[i:i + 1280])
        best = max(best, max(scores.values()))
    return time.process_time() - start, best


def microwakeword(audio: np.ndarray) -> tuple[float, float]:
    from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

    mww = MicroWakeWord.from_builtin(Model.ALEXA)
    features = MicroWakeWordFeatures()
    data = audio.tobytes()
    best = 0.0
    start = time.process_time()
    for i in range(0, len(data) - 319, 320):
        for f in features.process_streaming(data[i:i + 320]):
            p = mww.process_streaming_prob(f)
            if p is not None:
                best = max(best, p)
    return time.process_time() - start, best


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("audio")
    p.add_argument("--hushword-cpu-per-hour", type=float, required=True)
    p.add_argument("--oww-models", type=Path, required=True, help="wyoming-openwakeword's models/ folder")
    p.add_argument("--engine", choices=["microWakeWord", "openWakeWord"], help="measure only this one, here")
    a = p.parse_args()
    if a.engine is None:
        print(f"audio {a.audio}")
        print(f"hushword        {a.hushword_cpu_per_hour:8.3f} CPU-s per hour of audio", flush=True)
        for engine in ["microWakeWord", "openWakeWord"]:
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--engine", engine], check=True)
        return
    audio = read_wav(a.audio)
    hours = len(audio) / 16000 / 3600
    if a.engine == "microWakeWord":
        cpu, best = microwakeword(audio)
    else:
        cpu, best = openwakeword(audio, a.oww_models)
    per_hour = cpu / hours
    print(f"{a.engine:15s} {per_hour:8.3f} CPU-s per hour of audio "
          f"({per_hour / a.hushword_cpu_per_hour:.0f}x hushword; max score {best:.3f})", flush=True)


if __name__ == "__main__":
    main()
