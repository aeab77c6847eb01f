"""Waveform augmentation: speed/pitch, room reverberation (pyroomacoustics RIR bank), noise at an SNR,
microphone-like band limiting and gain."""

from __future__ import annotations

import numpy as np

from .common import CACHE, SR, log

RIR_BANK = CACHE / "rirs.npz"


def make_rir_bank(n: int = 200, seed: int = 1234) -> None:
    """Shoebox rooms with random size, RT60 0.1-0.8 s, source/mic positions. Resumable (one file)."""
    if RIR_BANK.exists():
        return
    import pyroomacoustics as pra
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    rirs, rt60s = [], []
    for _ in tqdm(range(n), desc="RIR bank", mininterval=2):
        for _attempt in range(20):
            dims = np.array([rng.uniform(2.5, 9.0), rng.uniform(2.5, 7.0), rng.uniform(2.3, 3.5)])
            rt60 = rng.uniform(0.1, 0.8)
            try:
                absorption, max_order = pra.inverse_sabine(rt60, dims)
            except ValueError:
                continue
            break
        room = pra.ShoeBox(dims, fs=SR, materials=pra.Material(absorption), max_order=min(max_order, 12),
                           use_rand_ism=True, max_rand_disp=0.05)
        src = rng.uniform([0.4, 0.4, 0.8], dims - [0.4, 0.4, 0.5])
        mic = rng.uniform([0.4, 0.4, 0.7], dims - [0.4, 0.4, 0.8])
        room.add_source(src)
        room.add_microphone(mic)
        room.compute_rir()
        h = np.asarray(room.rir[0][0], dtype=np.float64)
        # late tail: the image method with a capped order under-estimates long reverb; add an
        # exponentially decaying noise tail matching the RT60
        t = np.arange(int(rt60 * SR * 1.2)) / SR
        tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
        d0 = int(np.argmax(np.abs(h)))
        if len(h) < d0 + len(t):
            h = np.pad(h, (0, d0 + len(t) - len(h)))
        h[d0: d0 + len(t)] += tail * np.abs(h[d0]) * 0.02
        h = h[max(0, d0 - 40):]  # drop the propagation delay (keep 2.5 ms before the direct path)
        h = h[: int(SR * min(1.0, rt60 * 1.2 + 0.05))]
        h = h / (np.abs(h).max() + 1e-9)
        rirs.append(h.astype(np.float32))
        rt60s.append(rt60)
    lens = np.array([len(h) for h in rirs])
    flat = np.concatenate(rirs)
    RIR_BANK.parent.mkdir(parents=True, exist_ok=True)
    np.savez(RIR_BANK, flat=flat, lens=lens, rt60=np.array(rt60s))
    log(f"RIR bank: {n} rooms, mean length {lens.mean() / SR:.2f} s")


_rirs = None


def rirs() -> list[np.ndarray]:
    global _rirs
    if _rirs is None:
        z = np.load(RIR_BANK)
        offs = np.concatenate([[0], np.cumsum(z["lens"])])
        _rirs = [z["flat"][offs[i]: offs[i + 1]] for i in range(len(z["lens"]))]
    return _rirs


def reverb(x: np.ndarray, rng) -> np.ndarray:
    from scipy.signal import fftconvolve

    h = rirs()[rng.integers(len(rirs()))]
    y = fftconvolve(x, h)[: len(x)]
    # keep the level of the dry signal roughly
    return (y * (np.sqrt(np.mean(x ** 2) + 1e-12) / np.sqrt(np.mean(y ** 2) + 1e-12))).astype(np.float32)


def speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Speed perturbation by resampling (changes tempo and pitch): factor > 1 is faster/shorter."""
    from scipy.signal import resample_poly

    up = 100
    down = int(round(100 * factor))
    if down == up:
        return x
    return resample_poly(x, up, down).astype(np.float32)


def pitch(x: np.ndarray, semitones: float) -> np.ndarray:
    import librosa

    return librosa.effects.pitch_shift(x, sr=SR, n_steps=semitones).astype(np.float32)


def voice_shift(x: np.ndarray, f0_semitones: float, formant_semitones: float) -> np.ndarray:
    """Another speaker's voice range: the WORLD vocoder (pyworld) moves the pitch and the formants
    (spectral envelope warped along frequency) independently, as they differ between real speakers
    (a child's F0 is an octave above a man's, its formants only ~25% higher). Pitch-shifting by
    resampling moves both together and cannot make a high voice with adult formants. Duration kept."""
    import pyworld

    y = x.astype(np.float64)
    f0, sp, ap = pyworld.wav2world(y, SR, frame_period=5.0)
    f0 = f0 * 2 ** (f0_semitones / 12)
    if abs(formant_semitones) > 0.01:
        bins = np.arange(sp.shape[1], dtype=np.float64)
        src = bins / 2 ** (formant_semitones / 12)  # output bin k reads the envelope at k / ratio
        sp = np.stack([np.interp(src, bins, row) for row in sp])
        ap = np.stack([np.interp(src, bins, row) for row in ap])
    out = pyworld.synthesize(f0, sp, ap, SR, 5.0)[: len(x)]
    out = np.pad(out, (0, len(x) - len(out)))
    peak = np.abs(out).max()
    return (out * (np.abs(x).max() / peak if peak > 0 else 1.0)).astype(np.float32)


def coloured_noise(n: int, rng, alpha: float | None = None) -> np.ndarray:
    """1/f^alpha noise: 0 white, 1 pink, 2 brown, -1 blue."""
    if alpha is None:
        alpha = rng.choice([0.0, 1.0, 2.0, -1.0, rng.uniform(-1, 2)])
    from scipy.fft import irfft, next_fast_len

    out_n, n = n, next_fast_len(max(n, 2), real=True)
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.arange(n // 2 + 1, dtype=np.float64)
    f[0] = 1.0
    spec *= f ** (-alpha / 2)
    spec[0] = 0
    y = irfft(spec, n)[:out_n]
    return (y / (np.std(y) + 1e-12)).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def active_rms(x: np.ndarray) -> float:
    """RMS over the louder half of 20 ms frames (speech level, ignoring pauses)."""
    n = 320
    m = len(x) // n
    if m < 2:
        return rms(x)
    e = np.mean(x[: m * n].reshape(m, n).astype(np.float64) ** 2, axis=1)
    e = np.sort(e)[m // 2:]
    return float(np.sqrt(e.mean() + 1e-12))


def add_at_snr(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    s = active_rms(x)
    g = s / (rms(noise) + 1e-9) * 10 ** (-snr_db / 20)
    return (x + g * noise[: len(x)]).astype(np.float32)


def band_limit(x: np.ndarray, rng) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    y = x
    if rng.random() < 0.8:
        hp = rng.uniform(100, 400)
        y = sosfilt(butter(2, hp, "highpass", fs=SR, output="sos"), y)
    if rng.random() < 0.7:
        lp = rng.uniform(3400, 7800)
        y = sosfilt(butter(4, lp, "lowpass", fs=SR, output="sos"), y)
    return np.asarray(y, dtype=np.float32)


def ltas(x: np.ndarray, n_fft: int = 512) -> np.ndarray:
    """Long-term average power spectrum (n_fft // 2 + 1 bins) of the louder half of x's frames."""
    hop = n_fft // 2
    m = max(1, (len(x) - n_fft) // hop + 1)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:m] * np.hanning(n_fft)
    p = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    e = p.sum(axis=1)
    loud = p[e >= np.median(e)]
    return loud.mean(axis=0) + 1e-12


def channel_transfer(x: np.ndarray, ref: np.ndarray, rng, max_db: float = 15.0) -> np.ndarray:
    """Give x the spectral envelope of a real recording `ref` (its microphone, room and speaker
    population), partially: the smoothed ratio of their long-term spectra, clipped to +-max_db and
    raised to a random strength, applied as a zero-phase filter. Real recordings all sound like their
    channels; TTS never does, so without this a model can learn "real channel" as a cue against the
    word. Level is kept (unit mean power gain)."""
    g_db = 10 * np.log10(ltas(ref) / ltas(x))
    k = 9
    g_db = np.convolve(np.pad(g_db, k // 2, mode="edge"), np.ones(k) / k, mode="valid")
    g_db = np.clip(g_db - np.median(g_db), -max_db, max_db) * rng.uniform(0.5, 1.0)
    n = len(x)
    X = np.fft.rfft(x)
    f = np.linspace(0, 1, len(g_db))
    g = 10 ** (np.interp(np.linspace(0, 1, len(X)), f, g_db) / 20)
    y = np.fft.irfft(X * g, n)
    return (y * (rms(x) / (rms(y) + 1e-12))).astype(np.float32)


def peaking_eq(x: np.ndarray, rng, n_max: int = 3) -> np.ndarray:
    """1..n_max random peaking filters (RBJ biquads: centre 150-6000 Hz log-uniform, +-8 dB, Q
    0.5-2.5): the colouring of different microphones, enclosures and vocal tracts, which band
    limiting alone does not cover."""
    from scipy.signal import lfilter

    y = x.astype(np.float64)
    for _ in range(int(rng.integers(1, n_max + 1))):
        f0 = float(np.exp(rng.uniform(np.log(150.0), np.log(6000.0))))
        gain_db, q = rng.uniform(-8.0, 8.0), rng.uniform(0.5, 2.5)
        a_lin = 10 ** (gain_db / 40)
        w0 = 2 * np.pi * f0 / SR
        alpha = np.sin(w0) / (2 * q)
        b = np.array([1 + alpha * a_lin, -2 * np.cos(w0), 1 - alpha * a_lin])
        a = np.array([1 + alpha / a_lin, -2 * np.cos(w0), 1 - alpha / a_lin])
        y = lfilter(b / a[0], a / a[0], y)
    return y.astype(np.float32)


def set_level(x: np.ndarray, rng, lo_db: float = -30.0, hi_db: float = -1.0) -> np.ndarray:
    """Scale so the peak sits at a random level in dBFS; keeps within [-1, 1)."""
    peak = np.abs(x).max() + 1e-9
    target = 10 ** (rng.uniform(lo_db, hi_db) / 20)
    return np.clip(x * (target / peak), -1.0, 1.0 - 1 / 32768).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# feature-domain augmentation (applied on the fly to training batches)


def mfcc_warp_matrix(alpha: float, cfg: dict | None = None) -> np.ndarray:
    """[n_mfcc, n_mfcc] linear map that moves the spectral envelope an MFCC vector describes along
    frequency by the factor alpha (vocal tract length perturbation, Jaitly & Hinton 2013): what sat
    at f is moved to alpha * f, so alpha > 1 is a shorter vocal tract (higher formants). The MFCCs
    are turned back into the smoothed log-mel envelope they describe (the orthonormal DCT's
    transpose), the envelope is re-read at f / alpha between the mel band centres (edges held), and
    the DCT is applied again. The model only sees those coefficients, so warping the envelope they
    carry is what warping the voice would show it, for the cost of one small matrix product; unlike
    a waveform formant shift (augment.voice_shift), a new factor can be drawn every time a sequence
    is used."""
    from .features import dct_matrix, default_config, hz_to_mel, mel_to_hz

    c = dict(default_config(), **(cfg or {}))
    if c["features"] != "mfcc":
        raise ValueError(f"mfcc_warp_matrix needs MFCC features, not {c['features']!r}")
    n_mels, n_mfcc = c["n_mels"], c["n_mfcc"]
    lo, hi = hz_to_mel(float(c["fmin"])), hz_to_mel(float(c["fmax"]))
    centres_mel = np.linspace(lo, hi, n_mels + 2)[1:-1]
    src_hz = np.clip(mel_to_hz(centres_mel) / alpha, mel_to_hz(centres_mel[0]), mel_to_hz(centres_mel[-1]))
    pos = (hz_to_mel(src_hz) - centres_mel[0]) / (centres_mel[1] - centres_mel[0])  # fractional band
    i0 = np.clip(np.floor(pos).astype(int), 0, n_mels - 2)
    frac = pos - i0
    w = np.zeros((n_mels, n_mels))
    w[np.arange(n_mels), i0] = 1 - frac
    w[np.arange(n_mels), i0 + 1] += frac
    d = dct_matrix(n_mfcc, n_mels).astype(np.float64)
    return (d @ w @ d.T).astype(np.float32)


def mfcc_warp_bank(lo: float, hi: float, n: int, cfg: dict | None = None) -> np.ndarray:
    """[n, n_mfcc, n_mfcc] warp matrices for factors log-spaced over [lo, hi]."""
    return np.stack([mfcc_warp_matrix(a, cfg) for a in np.geomspace(lo, hi, n)])
