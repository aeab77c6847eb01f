"""Post-processing: trim silence, resample to 16 kHz, peak-normalise, write atomically."""
from __future__ import annotations

import os

import numpy as np
import soundfile as sf
import soxr

SR = 16000
PEAK = 10 ** (-3 / 20)  # -3 dBFS


def trim(audio: np.ndarray, sr: int, margin_s: float = 0.05, rel_db: float = -40.0) -> np.ndarray:
    """Cut leading/trailing parts quieter than rel_db below the loudest 10 ms frame, keep a margin."""
    hop = max(1, int(0.01 * sr))
    n = len(audio) // hop
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    thr = rms.max() * 10 ** (rel_db / 20)
    idx = np.nonzero(rms > thr)[0]
    if len(idx) == 0:
        return audio[:0]
    m = int(margin_s * sr)
    return audio[max(0, idx[0] * hop - m): min(len(audio), (idx[-1] + 1) * hop + m)]


def finish(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mono float -> trimmed, 16 kHz, -3 dBFS peak float32."""
    audio = np.asarray(audio, np.float32)
    audio = audio - float(np.mean(audio)) if len(audio) else audio
    if sr != SR:
        audio = soxr.resample(audio, sr, SR, quality="HQ").astype(np.float32)
    audio = trim(audio, SR)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak > 0:
        audio = audio * (PEAK / peak)
    return audio


def write_atomic(path: str, audio: np.ndarray, sr: int = SR) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    sf.write(tmp, np.clip(audio, -1, 1), sr, subtype="PCM_16", format="WAV")
    os.replace(tmp, path)


def append_line(path: str, line: str) -> None:
    """Append one line with a single O_APPEND write (safe across concurrent processes)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line.rstrip("\n") + "\n").encode("utf-8"))
    finally:
        os.close(fd)
