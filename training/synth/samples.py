"""Write small committed sample WAVs into <repo>/data/ (python -m training.synth.samples).

- alexa_kokoro.wav : held-out Kokoro voice (voices.SAMPLE_VOICE): some speech, then "Alexa, what's the weather?"
- alexa_noisy.wav  : the same mixed with noise at 10 dB SNR (synthetic pink noise + synthetic babble by
                     default; --real-noise uses /work/shared/data/noise, but the shared data README
                     forbids copying that audio into the repository, so only use it for local files)
- no_wakeword.wav  : ordinary synthetic speech, another held-out voice, no wake word
Word boundaries of "Alexa" are written to data/samples.json.
"""
from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from . import audio as A
from . import engines as E
from . import voices
from .kokoro import Kokoro

REPO = Path(__file__).resolve().parents[2]


def _seg(k: Kokoro, text: str, voice: str, lang: str, speed: float = 1.0) -> np.ndarray:
    a, sr, _ = k.synth(text, [(voice, 1.0)], lang, speed)
    y = A.finish(a, sr)  # trimmed with 50 ms margins, 16 kHz, -3 dBFS
    return y


def _sil(s: float) -> np.ndarray:
    return np.zeros(int(s * A.SR), np.float32)


def _pink(n: int, rng) -> np.ndarray:
    f = np.fft.rfftfreq(n, 1 / A.SR)
    spec = (rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f))) / np.sqrt(np.maximum(f, 20))
    x = np.fft.irfft(spec, n)
    return (x / np.std(x)).astype(np.float32)


def synthetic_noise(n: int, rng) -> np.ndarray:
    """Pink noise plus distant synthetic babble (pico / flite sentences, summed)."""
    babble = np.zeros(n, np.float32)
    for text, fn in [("The meeting moved to Thursday afternoon, so we have plenty of time.", lambda t: E.pico(t, "en-GB")),
                     ("Could you pass me the bread and the butter, please?", lambda t: E.flite(t, "slt", 1.0)),
                     ("We spent three days in Norway last summer and loved it.", lambda t: E.pico(t, "en-US"))]:
        a, sr = fn(text)
        y = A.finish(a, sr)
        off = int(rng.integers(0, max(1, n - len(y)))) if len(y) < n else 0
        y = y[: n - off]
        babble[off: off + len(y)] += y
    babble = babble / (np.std(babble) + 1e-9)
    return 0.8 * _pink(n, rng) + 0.6 * babble


def real_noise(n: int, rng) -> np.ndarray:
    files = sorted(glob.glob("/work/shared/data/noise/**/*.wav", recursive=True))
    files = [f for f in files if "running_tap" in f] or files
    a, sr = sf.read(files[0], dtype="float32", always_2d=True)
    a = A.soxr.resample(a.mean(1), sr, A.SR) if sr != A.SR else a.mean(1)
    off = int(rng.integers(0, len(a) - n))
    return a[off: off + n]


def mix_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    active = speech[np.abs(speech) > 0.02 * np.max(np.abs(speech))]
    ps = np.mean(active ** 2)
    pn = np.mean(noise ** 2)
    y = speech + noise * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))
    return (y * (A.PEAK / np.max(np.abs(y)))).astype(np.float32)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(REPO / "data"))
    ap.add_argument("--real-noise", action="store_true")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    k = Kokoro(threads=1)
    v = voices.SAMPLE_VOICE
    lead = _seg(k, "I was reading about the old harbour.", v, "us", 1.05)
    wake = _seg(k, "Alexa,", v, "us", 1.05)
    cmd = _seg(k, "what's the weather?", v, "us", 1.05)
    pre = _sil(0.25)
    parts = [pre, lead, _sil(0.3)]
    t_wake = sum(len(p) for p in parts) / A.SR
    parts += [wake, _sil(0.05), cmd, _sil(0.25)]
    y = np.concatenate(parts)
    info = {"alexa_kokoro.wav": {"voice": v, "engine": "kokoro", "text": "I was reading about the old harbour. Alexa, what's the weather?",
                                 "wake_word": "alexa", "wake_start_s": round(t_wake + 0.05, 3),
                                 "wake_end_s": round(t_wake + len(wake) / A.SR - 0.05, 3),
                                 "duration_s": round(len(y) / A.SR, 3)}}
    A.write_atomic(str(out / "alexa_kokoro.wav"), y)
    noise = real_noise(len(y), rng) if args.real_noise else synthetic_noise(len(y), rng)
    A.write_atomic(str(out / "alexa_noisy.wav"), mix_snr(y, noise, 10.0))
    info["alexa_noisy.wav"] = {**info["alexa_kokoro.wav"], "snr_db": 10,
                               "noise": "speech-commands running_tap (CC-BY-4.0)" if args.real_noise else "synthetic pink noise + pico/flite babble"}
    v2 = voices.HELD_OUT_VOICES[3]
    neg = _seg(k, "Could you turn off the lights in the kitchen, and then play some music for me?", v2, "gb", 0.95)
    neg = np.concatenate([_sil(0.25), neg, _sil(0.25)])
    A.write_atomic(str(out / "no_wakeword.wav"), neg)
    info["no_wakeword.wav"] = {"voice": v2, "engine": "kokoro", "wake_word": None,
                               "text": "Could you turn off the lights in the kitchen, and then play some music for me?",
                               "duration_s": round(len(neg) / A.SR, 3)}
    (out / "samples.json").write_text(json.dumps(info, indent=1) + "\n")
    for f in info:
        print(f, info[f]["duration_s"], "s", (out / f).stat().st_size // 1024, "KB")


if __name__ == "__main__":
    main()
