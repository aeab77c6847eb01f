"""Shared helpers: cache paths, audio I/O, deterministic splits, timing and logging."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SR = 16000

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("HUSHWORD_CACHE", Path.home() / ".cache" / "hushword"))
SHARED_DATA = Path(os.environ.get("HUSHWORD_DATA", REPO.parent / "shared" / "data"))
if not SHARED_DATA.exists() and Path("/work/shared/data").exists():
    SHARED_DATA = Path("/work/shared/data")
SYNTH = Path(os.environ.get("HUSHWORD_SYNTH", CACHE / "synth"))
ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds")
ASTERISK_MOH = Path("/usr/share/asterisk/moh")


def word_dir(word: str) -> Path:
    d = CACHE / "train" / word
    d.mkdir(parents=True, exist_ok=True)
    return d


def log(*args):
    print(time.strftime("[%H:%M:%S]"), *args, flush=True)


@contextlib.contextmanager
def timed(what: str, timings: dict | None = None):
    t0 = time.time()
    log(f"{what} ...")
    yield
    dt = time.time() - t0
    log(f"{what} done in {dt:.1f} s")
    if timings is not None:
        timings[what] = round(timings.get(what, 0.0) + dt, 1)


def set_threads(n: int = 2):
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    try:
        import torch

        torch.set_num_threads(n)
        torch.set_num_interop_threads(1)
    except (ImportError, RuntimeError):
        pass


def stable_hash(s: str) -> int:
    return int.from_bytes(hashlib.sha1(s.encode()).digest()[:8], "little")


def split_of(key: str, val_fraction: float = 0.3) -> str:
    """Deterministic train/val split from a hash of the key (a path, or path#chunk)."""
    return "val" if (stable_hash(key) % 10000) < val_fraction * 10000 else "train"


def _resample(x: np.ndarray, sr: int) -> np.ndarray:
    if sr == SR:
        return x
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(sr, SR)
    return resample_poly(x, SR // g, sr // g).astype(np.float32)


def load_audio(path: str | Path) -> np.ndarray:
    """Mono float32 at 16 kHz in [-1, 1). WAV/FLAC via soundfile, anything else via ffmpeg."""
    path = str(path)
    if path.endswith(".g722") or path.endswith(".gsm") or path.endswith(".ulaw"):
        fmt = {"g722": ["-f", "g722"], "gsm": ["-f", "gsm"], "ulaw": ["-f", "mulaw", "-ar", "8000"]}[
            path.rsplit(".", 1)[1]
        ]
        out = subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", *fmt, "-i", path, "-ac", "1", "-ar", str(SR),
             "-f", "f32le", "-"],
            check=True, capture_output=True,
        ).stdout
        return np.frombuffer(out, dtype=np.float32).copy()
    import soundfile as sf

    x, sr = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    return _resample(x, sr).astype(np.float32)


def write_wav(path: str | Path, x: np.ndarray):
    import soundfile as sf

    sf.write(str(path), np.clip(x, -1, 1 - 1 / 32768), SR, subtype="PCM_16")


def to_i16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def from_i16(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) / 32768.0


def save_json(path: Path, obj):
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    tmp.replace(path)


def load_json(path: Path, default=None):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return default


def frontend():
    """The engine's front end (training/features.py): (features_fn, default_config)."""
    stub = os.environ.get("HUSHWORD_FEATURES_STUB")  # developer override: path to a module file
    if stub:
        import importlib.util

        spec = importlib.util.spec_from_file_location("hushword_fe_stub", stub)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod.features, mod.default_config
    try:
        from training.features import default_config, features
    except ImportError as e:  # pragma: no cover
        sys.exit(f"training/features.py is missing or broken ({e}); it is the numpy twin of the Rust front end")
    return features, default_config


# Knobs of one training run, shared by the stages' command line and `training.arms`:
# (flag, type, default, help); the train() keyword is the flag's name with '_' for '-'.
TRAIN_KNOBS = (
    ("--lr", float, 3e-3, None),
    ("--channels", int, 64, None),
    ("--cmn", int, 0, "train only: cepstral mean normalization, each feature's mean over the last N frames "
                      "subtracted inside the model (model.causal_mean; 0: off; 100 measured worse; not exportable: "
                      "the engine's front end has none)"),
    ("--hard-weight", float, 2.0, None),
    ("--domain", float, 0.0, "loss weight of the voice-adversarial head (real vs TTS voices on negatives, gradient "
                             "reversal; train.VoiceAdversary; 0: off)"),
    ("--vtlp", float, 0.0, "train: vocal tract length perturbation of 80%% of the sequences, envelope moved by a "
                           "factor in [1/(1+r), 1+r] (train.VocalTractWarp; 0: off; 0.1 and 0.2 measured worse)"),
    ("--swa", float, 0.0, "train: average the weights over this last share of the steps (stochastic weight "
                          "averaging, train.WeightAverage) and keep the average instead of the best epoch (0: off; "
                          "0.3 measured no better)"),
    ("--real-weight", float, 1.0, "train: loss weight of the frames of real voices (negatives all; 1: as the rest; "
                                  "0.3 measured worse)"),
)


def add_knob_args(parser) -> None:
    """Adds TRAIN_KNOBS to an argparse parser."""
    for flag, kind, default, text in TRAIN_KNOBS:
        parser.add_argument(flag, type=kind, default=default, help=text)
