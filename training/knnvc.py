"""Nearest-neighbour voice conversion of TTS word clips to real speakers (kNN-VC on spectra).

Every positive the model has ever heard was a TTS voice, and the real speakers it misses sound like
none of them. Real speech from hundreds of speakers is at hand (speaker-labelled corpora, see
corpora.REAL_SPEECH) but none of it says the word. kNN-VC (Baas, van Niekerk and Kamper, 2023)
re-voices an utterance with a target speaker's own frames: each frame of the source is replaced by
the average of its k nearest frames of the target speaker's speech, matched in a space that
carries the phone more than the voice. Here that space is the front end's MFCCs with a local mean
subtracted (about a word's length of the speaker's speech: cepstral mean normalisation removes
most of the vocal tract and microphone colouring), and what replaces a frame is the average
magnitude spectrum of its neighbours; Griffin-Lim, started from the source's phase, makes audio of
it, so the clip then passes through the same room, noise and microphone chain as every other clip.
The model eats MFCCs, which keep the spectral envelope and little of the phase or fine harmonics,
so what Griffin-Lim leaves imperfect it mostly does not see.

The bank holds the speech frames (energy gate) of the training-split speakers of every speaker-
labelled corpus, at most MAX_FRAMES_PER_SPEAKER each, and is built once into the cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import CACHE, log, save_json
from .corpora import REAL_SPEECH

N_FFT, WIN, HOP = 512, 400, 160
N_MFCC = 20
CMN_FRAMES = 70  # local mean over ~0.7 s of the speaker's speech: about one word, like a source clip
MAX_FRAMES_PER_SPEAKER = 6000  # 60 s of speech
MIN_FRAMES_PER_SPEAKER = 1500  # fewer (15 s) gives too few neighbours per phone
SPEECH_GATE_DB = 35.0  # frames within this of the speaker's loudest 1% count as speech
K = 4
GL_ITERS = 12
BANK_VERSION = 1


def _window() -> np.ndarray:
    """The front end's Hann window, centred in the FFT frame."""
    from .features import window

    pad = (N_FFT - WIN) // 2
    return np.pad(window("hann", WIN), (pad, N_FFT - WIN - pad))


_WIN = _window()


def stft(x: np.ndarray) -> np.ndarray:
    """[frames, N_FFT/2+1] complex, frames centred every HOP samples (x padded by N_FFT/2)."""
    x = np.pad(x.astype(np.float32), N_FFT // 2)
    n = 1 + (len(x) - N_FFT) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP][:n] * _WIN
    return np.fft.rfft(frames, axis=-1)


def istft(spec: np.ndarray, length: int) -> np.ndarray:
    """Inverse of stft (weighted overlap-add), `length` samples."""
    frames = np.fft.irfft(spec, n=N_FFT, axis=-1) * _WIN
    n = N_FFT + HOP * (len(frames) - 1)
    y, wsum = np.zeros(n, np.float64), np.zeros(n, np.float64)
    for i, f in enumerate(frames):
        y[i * HOP: i * HOP + N_FFT] += f
        wsum[i * HOP: i * HOP + N_FFT] += _WIN.astype(np.float64) ** 2
    y = y / np.maximum(wsum, 1e-3)
    y = y[N_FFT // 2: N_FFT // 2 + length]
    return np.pad(y, (0, length - len(y))).astype(np.float32)


_MEL_DCT = None


def _mel_dct() -> np.ndarray:
    """[N_FFT/2+1, N_MFCC]: power spectrum -> (log) mel -> DCT, the front end's tables."""
    global _MEL_DCT
    if _MEL_DCT is None:
        from .features import dct_matrix, default_config, mel_filterbank

        c = default_config()
        _MEL_DCT = (mel_filterbank(16000, N_FFT, c["n_mels"], c["fmin"], c["fmax"]), dct_matrix(N_MFCC, c["n_mels"]))
    return _MEL_DCT


def mfcc_of(mag: np.ndarray) -> np.ndarray:
    """[frames, N_MFCC] MFCCs of magnitude spectra."""
    mel, dct = _mel_dct()
    return np.log(np.maximum((mag.astype(np.float32) ** 2) @ mel.T, 1e-8)) @ dct.T


def speech_frames(mag: np.ndarray) -> np.ndarray:
    """Boolean mask of the frames within SPEECH_GATE_DB of the loudest 1%."""
    e = 10 * np.log10((mag.astype(np.float64) ** 2).sum(axis=1) + 1e-12)
    return e > np.percentile(e, 99) - SPEECH_GATE_DB


def local_cmn(m: np.ndarray, span: int = CMN_FRAMES) -> np.ndarray:
    """Each frame minus the mean of the `span` frames around it (edges: the nearest full span)."""
    if len(m) <= span:
        return m - m.mean(axis=0)
    c = np.cumsum(np.vstack([np.zeros((1, m.shape[1])), m]), axis=0)
    lo = np.clip(np.arange(len(m)) - span // 2, 0, len(m) - span)
    return m - (c[lo + span] - c[lo]) / span


@dataclass
class Bank:
    keys: np.ndarray  # [N, N_MFCC] float32, local-CMN MFCCs of the speech frames
    mags: np.ndarray  # [N, N_FFT/2+1] float16 magnitude spectra of the same frames
    speakers: list  # dicts: name, start, count

    def speaker(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        s = self.speakers[i]
        a, b = s["start"], s["start"] + s["count"]
        return self.keys[a:b], self.mags[a:b]


def bank_dir() -> Path:
    return CACHE / "knnvc"


def build_bank(corpora: list) -> Bank | None:
    """The bank of the training-split speakers of the speaker-labelled corpora (cached; rebuilt when
    the speakers change); None when there are no such corpora (see corpora.REAL_SPEECH)."""
    d = bank_dir()
    d.mkdir(parents=True, exist_ok=True)
    segs_by = {}
    for c in corpora:
        for s in c.split_segments("train"):
            if s.get("speaker"):
                segs_by.setdefault(f"{c.name}/{s['speaker']}", (c, []))[1].append(s)
    names = sorted(segs_by)
    if not names:
        log(f"knnvc: no speaker-labelled real speech (folders under {REAL_SPEECH}): voice conversion off")
        return None
    meta_p = d / "bank.json"
    meta = json.loads(meta_p.read_text()) if meta_p.exists() else {}
    if meta.get("version") == BANK_VERSION and meta.get("candidates") == names:
        return load_bank()
    from tqdm import tqdm

    keys, mags, speakers, pos = [], [], [], 0
    for name in tqdm(names, desc="knnvc bank", mininterval=3):
        c, segs = segs_by[name]
        k_parts, m_parts, got = [], [], 0
        for s in segs:
            mag = np.abs(stft(c.segment_audio(s))).astype(np.float32)
            keep = speech_frames(mag)
            if keep.sum() < 10:
                continue
            k_parts.append(local_cmn(mfcc_of(mag[keep])))
            m_parts.append(mag[keep])
            got += int(keep.sum())
            if got >= MAX_FRAMES_PER_SPEAKER:
                break
        if got < MIN_FRAMES_PER_SPEAKER:
            continue
        k, m = np.concatenate(k_parts)[:MAX_FRAMES_PER_SPEAKER], np.concatenate(m_parts)[:MAX_FRAMES_PER_SPEAKER]
        keys.append(k.astype(np.float32))
        mags.append(m.astype(np.float16))
        speakers.append({"name": name, "start": pos, "count": len(k)})
        pos += len(k)
    if not speakers:
        log(f"knnvc: no speaker has {MIN_FRAMES_PER_SPEAKER / 100:.0f} s of speech: voice conversion off")
        return None
    np.save(d / "keys.npy", np.concatenate(keys))
    np.save(d / "mags.npy", np.concatenate(mags))
    save_json(meta_p, {"version": BANK_VERSION, "candidates": names, "speakers": speakers})
    log(f"knnvc bank: {len(speakers)} speakers, {pos} frames ({pos / 100 / 3600:.2f} h of speech)")
    return load_bank()


def load_bank() -> Bank:
    d = bank_dir()
    meta = json.loads((d / "bank.json").read_text())
    return Bank(np.load(d / "keys.npy", mmap_mode="r"), np.load(d / "mags.npy", mmap_mode="r"), meta["speakers"])


def convert(x: np.ndarray, keys: np.ndarray, mags: np.ndarray, k: int = K, gl_iters: int = GL_ITERS) -> np.ndarray:
    """The clip x (float32, 16 kHz) re-voiced by the speaker whose bank frames are (keys, mags)."""
    spec = stft(x)
    mag = np.abs(spec)
    q = mfcc_of(mag)
    speech = speech_frames(mag)
    q = q - (q[speech].mean(axis=0) if speech.any() else q.mean(axis=0))
    # squared distances |q|^2 - 2 q.k + |k|^2, the k smallest per source frame
    kk = np.asarray(keys, dtype=np.float32)
    dist = (kk ** 2).sum(axis=1)[None, :] - 2.0 * q @ kk.T
    idx = np.argpartition(dist, k, axis=1)[:, :k]
    new = np.asarray(mags, dtype=np.float32)[idx].mean(axis=1)
    # keep the source's loudness contour (silences stay silent, the level of each frame follows it)
    src_e = np.sqrt((mag ** 2).sum(axis=1) + 1e-12)
    new_e = np.sqrt((new ** 2).sum(axis=1) + 1e-12)
    new *= (src_e / new_e)[:, None]
    phase = spec / np.maximum(mag, 1e-9)
    for _ in range(gl_iters):
        y = istft(new * phase, len(x))
        s2 = stft(y)
        phase = s2 / np.maximum(np.abs(s2), 1e-9)
    y = istft(new * phase, len(x))
    peak = np.abs(y).max()
    return (y * (np.abs(x).max() / peak if peak > 0 else 1.0)).astype(np.float32)
