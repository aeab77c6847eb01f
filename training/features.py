"""numpy twin of hushword's Rust front end (src/frontend/), for training.

The maths is fixed by docs/model-format.md; tests/golden/make_golden.py writes this module's
output next to librosa's, and the Rust test `tests/frontend_golden.rs` holds the Rust front end
equal to both. Everything is float32 (as in Rust) and vectorised over frames, and over clips when
given a 2-D batch of equal-length clips, so tens of thousands of 1-2 s clips take seconds.

    >>> import numpy as np
    >>> x = np.zeros(16000, np.float32)
    >>> features(x, default_config()).shape
    (98, 20)
"""

from __future__ import annotations

import functools

import numpy as np

_FIELDS = (
    "sample_rate", "frame_length", "hop_length", "fft_size", "window", "preemphasis",
    "n_mels", "fmin", "fmax", "log_floor", "n_mfcc", "features",
)


def default_config() -> dict:
    """The `FrontendConfig` defaults of docs/model-format.md, as the JSON dict in a model."""
    return {
        "sample_rate": 16000, "frame_length": 400, "hop_length": 160, "fft_size": 512,
        "window": "hann", "preemphasis": 0.0, "n_mels": 40, "fmin": 60.0, "fmax": 7600.0,
        "log_floor": 1e-6, "n_mfcc": 20, "features": "mfcc",
    }


def _full(cfg: dict) -> dict:
    unknown = set(cfg) - set(_FIELDS)
    if unknown:
        raise ValueError(f"unknown front-end fields: {sorted(unknown)}")
    out = default_config()
    out.update(cfg)
    if out["sample_rate"] != 16000:
        raise ValueError("only sample_rate 16000 is supported")
    return out


def n_features(cfg: dict) -> int:
    cfg = _full(cfg)
    return cfg["n_mfcc"] if cfg["features"] == "mfcc" else cfg["n_mels"]


def frame_count(n_samples: int, cfg: dict) -> int:
    """Frames of a signal: no centring or padding, a frame exists once its last sample has arrived."""
    cfg = _full(cfg)
    if n_samples < cfg["frame_length"]:
        return 0
    return (n_samples - cfg["frame_length"]) // cfg["hop_length"] + 1


def window(kind: str, length: int) -> np.ndarray:
    """Periodic Hann/Hamming, computed in float64 then rounded (as Rust does)."""
    a0, a1 = {"hann": (0.5, 0.5), "hamming": (0.54, 0.46)}[kind]
    n = np.arange(length, dtype=np.float64)
    return (a0 - a1 * np.cos(2.0 * np.pi * n / length)).astype(np.float32)


def hz_to_mel(f):
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, fft_size: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """[n_mels, fft_size/2+1], identical to librosa.filters.mel(htk=True, norm=None)."""
    bins = np.fft.rfftfreq(fft_size, d=1.0 / sample_rate)
    edges = mel_to_hz(np.linspace(hz_to_mel(float(fmin)), hz_to_mel(float(fmax)), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lo) / (mid - lo)
    falling = (hi - bins[None, :]) / (hi - mid)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def dct_matrix(n_mfcc: int, n_mels: int) -> np.ndarray:
    """[n_mfcc, n_mels] orthonormal DCT-II basis (scipy.fft.dct(type=2, norm='ortho'))."""
    i = np.arange(n_mfcc, dtype=np.float64)[:, None]
    b = np.arange(n_mels, dtype=np.float64)[None, :]
    scale = np.where(i == 0, np.sqrt(1.0 / n_mels), np.sqrt(2.0 / n_mels))
    return (scale * np.cos(np.pi * i * (2 * b + 1) / (2 * n_mels))).astype(np.float32)


@functools.lru_cache(maxsize=16)
def _tables(key: tuple):
    cfg = dict(zip(_FIELDS, key))
    win = window(cfg["window"], cfg["frame_length"])
    mel = mel_filterbank(cfg["sample_rate"], cfg["fft_size"], cfg["n_mels"], cfg["fmin"], cfg["fmax"])
    dct = dct_matrix(cfg["n_mfcc"], cfg["n_mels"])
    # Transposed, contiguous copies so the per-frame products are plain GEMMs.
    return win, np.ascontiguousarray(mel.T), np.ascontiguousarray(dct.T)


def preemphasize(samples: np.ndarray, a: float) -> np.ndarray:
    """y[n] = x[n] - a x[n-1], x[-1] = 0, in float32 along the last axis."""
    x = np.asarray(samples, dtype=np.float32)
    if a == 0.0:
        return x
    y = x.copy()
    y[..., 1:] = x[..., 1:] - np.float32(a) * x[..., :-1]
    return y


def log_mel(samples: np.ndarray, cfg: dict) -> np.ndarray:
    """Log-mel energies, [frames, n_mels] (or [clips, frames, n_mels] for a 2-D batch)."""
    cfg = _full(cfg)
    win, mel_t, _ = _tables(tuple(cfg[k] for k in _FIELDS))
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim not in (1, 2):
        raise ValueError("samples must be [n] or [clips, n]")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples contain NaN or infinity")
    x = preemphasize(x, cfg["preemphasis"])
    n_frames = frame_count(x.shape[-1], cfg)
    shape = x.shape[:-1] + (n_frames, cfg["n_mels"])
    if n_frames == 0:
        return np.zeros(shape, np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, cfg["frame_length"], axis=-1)
    frames = frames[..., ::cfg["hop_length"], :][..., :n_frames, :] * win
    spec = np.fft.rfft(frames, n=cfg["fft_size"], axis=-1)
    power = (spec.real.astype(np.float32) ** 2 + spec.imag.astype(np.float32) ** 2)
    mel = power @ mel_t
    return np.log(np.maximum(mel, np.float32(cfg["log_floor"]))).astype(np.float32)


def features(samples_f32: np.ndarray, cfg: dict) -> np.ndarray:
    """What the model eats: [frames, n_features] (or [clips, frames, n_features])."""
    cfg = _full(cfg)
    logs = log_mel(samples_f32, cfg)
    if cfg["features"] == "log_mel":
        return logs
    _, _, dct_t = _tables(tuple(cfg[k] for k in _FIELDS))
    return (logs @ dct_t).astype(np.float32)


def mfcc(samples_f32: np.ndarray, cfg: dict) -> np.ndarray:
    """MFCC regardless of cfg['features']."""
    return features(samples_f32, {**cfg, "features": "mfcc"})
