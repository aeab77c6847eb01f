"""Pool of augmented training sequences with per-frame targets.

Each example is SEQ_FRAMES frames (~2.8 s) of features (float16, [n_features, T]) and int8 per-frame
labels: 1 = the wake word has just ended (word end .. end + POS_MS), 0 = not the word, -1 = ignored
(the first RF frames, which see the model's zero padding, and the ambiguous frames just before the
word end). Sequences are built on the waveform, augmented, then passed through training/features.py
(exactly the engine's front end). Shards of SHARD examples are written to
~/.cache/hushword/train/<word>/pool/<pool>-<i>.npz; existing shards are kept (resumable).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import augment as A
from .common import SR, log, stable_hash, word_dir
from .corpora import SynthSet, excluded, load_corpora, load_synth, word_bounds

SEQ_FRAMES = 280
FRAME_LEN, HOP = 400, 160
SEQ_SAMPLES = FRAME_LEN + (SEQ_FRAMES - 1) * HOP
RF_FRAMES = 95  # receptive field of the model (see model.py); labels before it are ignored
SHARD = 500


@dataclass
class Knobs:
    pos_ms: int = 250  # target 1 from the word end to end + pos_ms
    pre_ignore_ms: int = 150  # ignore from end - pre_ignore_ms to the word end
    post_ignore_ms: int = 100  # ignore after the positive span
    p_reverb: float = 0.5
    p_noise: float = 0.7
    snr_lo: float = 0.0
    snr_hi: float = 30.0
    p_band: float = 0.5
    p_eq: float = 0.5
    p_channel: float = 0.0  # 0.5 measured worse (see training/README.md); kept for experiments
    engine_match: bool = False  # idem
    p_pitch: float = 0.3
    # another speaker's voice range (augment.voice_shift) for every TTS word clip (positives,
    # near-misses, other words): F0 shifted by voice_f0 semitones, formants by ~0.3 of that plus
    # voice_formant_jitter; real speakers' F0 reaches far above the TTS voices' (see README)
    p_voice: float = 0.0
    # a real speaker's voice (training/knnvc.py: nearest-neighbour voice conversion to a training-split
    # speaker of the speaker-labelled corpora) for this share of every TTS word clip, positives and
    # negatives alike, so that the conversion itself is no cue for the word; voice_shift on the rest
    p_knnvc: float = 0.0
    voice_f0: tuple = (-3.0, 9.0)
    voice_formant_jitter: float = 1.5
    pos_engine_temper: float = 1.0  # positives drawn with engine shares ~ clips**temper (1: as synthesized)
    # real corpora (name prefixes) left out of the training negatives and of mining; validation and
    # `hushword eval` still count their false accepts (an experiment, see training/README.md)
    drop_corpora: tuple = ()
    # TTS engine labels whose clips are left out of every synthetic set (e.g. kokoro-random, the
    # control of training/synth/speakers.py)
    skip_engines: tuple = ()
    speed_lo: float = 0.85
    speed_hi: float = 1.15


@dataclass
class Sources:
    word: str
    corpora: list = field(default_factory=list)  # real negatives, train split only is used
    pos: SynthSet | None = None
    adv: SynthSet | None = None
    other_pos: list = field(default_factory=list)
    speech: SynthSet | None = None
    knobs: Knobs = field(default_factory=Knobs)

    def __post_init__(self):
        self.bank = None
        if self.knobs.p_knnvc > 0:
            from .knnvc import build_bank

            self.bank = build_bank(self.corpora)
        self.train_corpora = [c for c in self.corpora if not c.name.startswith(tuple(self.knobs.drop_corpora))]
        self.speech_corpora = [c for c in self.train_corpora if c.category == "speech" and c.hours("train") > 0]
        self.noise_corpora = [c for c in self.train_corpora if c.category in ("noise", "music") and c.hours("train") > 0]
        self._train_segs = {c.name: c.split_segments("train") for c in self.corpora}
        # real recordings of one other wake word each (never the target): the auxiliary heads' words
        self.aux_corpora = [c for c in self.train_corpora if c.name.startswith(("wakewords-", "precise-"))
                            and "not-wake-words" not in c.name and not excluded(c.name, self.word)
                            and self._train_segs[c.name]]
        w = np.array([np.sqrt(c.hours("train")) for c in self.speech_corpora])
        self.speech_w = w / w.sum() if len(w) else w
        # TTS commands by (engine, voice) so a positive can be followed by the same voice
        self.by_voice = {}
        if self.speech is not None:
            for i, c in enumerate(self.speech.clips):
                self.by_voice.setdefault((c.get("engine"), str(c.get("voice"))), []).append(i)
        # Negative TTS clips are drawn with the engine mix of the positives, so that the timbre of
        # one TTS engine (Kokoro makes most positives) is never a cue for the word; real voices,
        # which sound like no engine, would otherwise score low.
        target = engine_shares(self.pos) if self.pos is not None and self.knobs.engine_match else {}
        self._pick = {s.name: engine_matched_p(s, target)
                      for s in [self.adv, self.speech, *self.other_pos] if s is not None and s.clips}
        # Positives: Kokoro makes most clips; tempering the engine shares (sqrt: temper 0.5) gives the
        # other engines' voices more weight in the pool.
        if self.pos is not None and self.pos.clips and self.knobs.pos_engine_temper != 1.0:
            sh = engine_shares(self.pos)
            t = {e: v ** self.knobs.pos_engine_temper for e, v in sh.items()}
            self._pick[self.pos.name] = engine_matched_p(self.pos, {e: v / sum(t.values()) for e, v in t.items()},
                                                         floor=0.0)

    def pick(self, s: SynthSet, rng) -> int:
        """Index of a clip of TTS set s: engines drawn in the proportions set up above (negatives: the
        positives' mix with `engine_match`; positives: tempered shares), else uniformly."""
        p = self._pick.get(s.name)
        return int(rng.choice(len(s.clips), p=p)) if p is not None else int(rng.integers(len(s.clips)))


def engine_shares(s: SynthSet) -> dict[str, float]:
    """Share of each TTS engine among the clips of s."""
    eng = [c.get("engine") for c in s.clips]
    return {e: eng.count(e) / len(eng) for e in set(eng)} if eng else {}


def engine_matched_p(s: SynthSet, target: dict[str, float], floor: float = 0.2) -> np.ndarray:
    """Per-clip probabilities drawing s's engines in the proportions `target`; `floor` of the mass
    stays uniform so that engines absent from the target still appear."""
    eng = [c.get("engine") for c in s.clips]
    counts = {e: eng.count(e) for e in set(eng)}
    w = np.array([target.get(e, 0.0) / counts[e] for e in eng])
    u = np.full(len(eng), 1.0 / len(eng))
    return u if w.sum() == 0 else (1 - floor) * w / w.sum() + floor * u


def load_sources(word: str, verbose: bool = True, knobs: Knobs | None = None) -> Sources:
    corpora = load_corpora(word, verbose=verbose)
    from .corpora import read_manifest
    from .common import SYNTH

    others = []
    if SYNTH.exists():
        for d in sorted(SYNTH.iterdir()):
            if d.name.startswith("pos-") and d.name != f"pos-{word}" and read_manifest(d.name):
                others.append(load_synth(d.name, verbose))
    knobs = knobs or Knobs()

    def keep(s: SynthSet) -> SynthSet:
        if not knobs.skip_engines:
            return s
        return SynthSet(s.name, s.audio, [c for c in s.clips if c.get("engine") not in knobs.skip_engines])

    return Sources(word, corpora, pos=keep(load_synth(f"pos-{word}", verbose)),
                   adv=keep(load_synth(f"adv-{word}", verbose)), other_pos=[keep(s) for s in others],
                   speech=keep(load_synth("speech", verbose)), knobs=knobs)


# ----------------------------------------------------------------------------------------------
# waveform building blocks


def real_stream(src: Sources, rng, n: int, corpora=None, weights=None) -> np.ndarray:
    """n samples of contiguous train-split audio from one real corpus (segments concatenated)."""
    corpora = corpora if corpora is not None else src.speech_corpora
    if not corpora:
        return np.zeros(n, np.float32)
    c = corpora[rng.choice(len(corpora), p=weights if weights is not None else None)]
    segs = src._train_segs[c.name]
    i = int(rng.integers(len(segs)))
    out, got = [], 0
    first = True
    while got < n:
        s = segs[i % len(segs)]
        off = int(rng.integers(0, max(1, s["length"] - min(n, s["length"]) + 1))) if first else 0
        first = False
        take = min(n - got, s["length"] - off)
        out.append(c.segment_audio(s)[off: off + take])
        got += take
        i += 1
    return np.concatenate(out)


def tts_stream(src: Sources, rng, n: int, first: int | None = None) -> np.ndarray:
    """n samples of TTS sentences with short pauses between them."""
    if src.speech is None or not src.speech.clips:
        return real_stream(src, rng, n)
    out, got = [], 0
    while got < n:
        i = first if first is not None else src.pick(src.speech, rng)
        first = None
        x = src.speech.clip(i)
        x = x * (10 ** (rng.uniform(-6, 6) / 20))
        out.append(x)
        gap = np.zeros(int(rng.uniform(0.05, 0.6) * SR), np.float32)
        out.append(gap)
        got += len(x) + len(gap)
    y = np.concatenate(out)
    off = int(rng.integers(0, len(y) - n + 1))
    return y[off: off + n]


def noise_stream(src: Sources, rng, n: int) -> np.ndarray:
    if src.noise_corpora and rng.random() < 0.6:
        return real_stream(src, rng, n, src.noise_corpora)
    if rng.random() < 0.5 and src.speech_corpora:  # babble-like: real speech as background
        return real_stream(src, rng, n) + (real_stream(src, rng, n) if rng.random() < 0.5 else 0)
    return A.coloured_noise(n, rng)


def word_clip(s: SynthSet, rng, k: Knobs, i: int | None = None, bank=None):
    """A word clip (trimmed around its energy bounds) with a real speaker's voice (bank, knnvc) or
    another voice range, then speed and pitch augmentation.
    Returns (audio, word_start, word_end) in samples of the returned audio."""
    i = int(rng.integers(len(s.clips))) if i is None else i
    c = s.clips[i]
    x = s.clip(i)
    ws, we = c.get("word_start", 0), c.get("word_end", len(x))
    a = max(0, ws - int(rng.uniform(0, 0.05) * SR))
    b = min(len(x), we + int(rng.uniform(0.02, 0.08) * SR))
    x, ws, we = x[a:b], ws - a, we - a
    converted = bank is not None and rng.random() < k.p_knnvc and len(x) > 2048
    if converted:
        from .knnvc import convert

        x = convert(x, *bank.speaker(int(rng.integers(len(bank.speakers)))))
    shifted = not converted and k.p_voice > 0 and rng.random() < k.p_voice and len(x) > 2048
    if shifted:
        st = rng.uniform(*k.voice_f0)
        x = A.voice_shift(x, st, float(np.clip(0.3 * st + rng.uniform(-1, 1) * k.voice_formant_jitter, -2.0, 4.0)))
    f = rng.uniform(k.speed_lo, k.speed_hi)
    if abs(f - 1) > 0.01:
        x = A.speed(x, f)
        ws, we = int(ws / f), int(we / f)
    if not (shifted or converted) and rng.random() < k.p_pitch and len(x) > 2048:
        x = A.pitch(x, rng.uniform(-2.0, 2.0))
    return x, ws, min(we, len(x)), c


def embed(src: Sources, rng, clip: np.ndarray, ws: int, we: int, meta: dict | None, end_at: int,
          follow: bool = True):
    """Place `clip` so its word end lands at sample end_at, with speech before (sometimes) and a TTS
    command after (sometimes). Returns the dry sequence."""
    n = SEQ_SAMPLES
    seq = np.zeros(n, np.float32)
    start = end_at - we
    lvl = A.active_rms(clip) + 1e-6
    # context before the word
    r = rng.random()
    if r < 0.6 and start - ws > int(0.3 * SR):
        gap = int(rng.uniform(0.05, 0.7) * SR)
        m = max(0, start + ws - gap)
        if m > 0:
            ctx = real_stream(src, rng, m) if rng.random() < 0.5 else tts_stream(src, rng, m)
            ctx = ctx * (lvl / (A.active_rms(ctx) + 1e-6) * 10 ** (rng.uniform(-10, 4) / 20))
            seq[:m] = ctx
    # the word
    a, b = max(0, start), min(n, start + len(clip))
    seq[a:b] += clip[a - start: b - start]
    # what follows
    after = b + int(rng.uniform(0.0, 0.3) * SR)
    if follow and after < n - SR // 10:
        r = rng.random()
        m = n - after
        if r < 0.45 and src.speech is not None and src.speech.clips:
            key = (meta.get("engine"), str(meta.get("voice"))) if meta else None
            cand = src.by_voice.get(key) if key else None
            i = int(rng.choice(cand)) if cand else None
            tail = tts_stream(src, rng, m, first=i) if i is not None else tts_stream(src, rng, m)
            if i is not None:
                x = src.speech.clip(i)
                _, e = 0, len(x)
                tail = np.concatenate([x, np.zeros(max(0, m - e), np.float32)])[:m]
            tail = tail * (lvl / (A.active_rms(tail) + 1e-6) * 10 ** (rng.uniform(-4, 2) / 20))
            seq[after:] += tail
        elif r < 0.6:
            tail = real_stream(src, rng, m)
            seq[after:] += tail * (lvl / (A.active_rms(tail) + 1e-6) * 10 ** (rng.uniform(-10, 0) / 20))
    return seq


def finish(src: Sources, rng, seq: np.ndarray, k: Knobs, light: bool = False) -> np.ndarray:
    """Room, noise, microphone and level."""
    x = seq
    if rng.random() < (k.p_reverb * (0.6 if light else 1)):
        x = A.reverb(x, rng)
    if src.speech_corpora and rng.random() < k.p_channel:
        x = A.channel_transfer(x, real_stream(src, rng, 2 * SR), rng)
    if rng.random() < (k.p_noise * (0.6 if light else 1)):
        x = A.add_at_snr(x, noise_stream(src, rng, len(x)), rng.uniform(k.snr_lo, k.snr_hi))
    # microphone self-noise floor, always: TTS clips carry digital silence that real microphones never
    # give, and a model must not learn "digital silence around it" as a cue for the word
    x = x + A.coloured_noise(len(x), rng) * (A.active_rms(x) * 10 ** (-rng.uniform(35, 70) / 20))
    if rng.random() < k.p_eq:
        x = A.peaking_eq(x, rng)
    if rng.random() < k.p_band:
        x = A.band_limit(x, rng)
    return A.set_level(x, rng)


def frame_of_sample(e: int) -> int:
    """First frame whose last sample is at or after sample e."""
    return max(0, int(np.ceil((e - FRAME_LEN) / HOP)))


def labels_for(word_end: int | None, k: Knobs) -> np.ndarray:
    y = np.zeros(SEQ_FRAMES, np.int8)
    if word_end is not None:
        f = frame_of_sample(word_end)
        p, pre, post = k.pos_ms // 10, k.pre_ignore_ms // 10, k.post_ignore_ms // 10
        y[max(0, f - pre): f] = -1
        y[f: f + p] = 1
        y[f + p: f + p + post] = -1
    y[:RF_FRAMES] = -1
    return y


# ----------------------------------------------------------------------------------------------
# example recipes


def word_end_at(rng, ws: int, we: int) -> int:
    """Where a word (start ws, end we in its clip) ends in a sequence: late enough that the whole word
    and 150 ms past the receptive field fit before it, at least 0.3 s before the sequence ends."""
    lo = max(we - ws + int(0.05 * SR), (RF_FRAMES + 15) * HOP + FRAME_LEN)
    return int(rng.integers(lo, max(lo + 1, SEQ_SAMPLES - int(0.3 * SR))))


def make_positive(src: Sources, rng):
    k = src.knobs
    clip, ws, we, meta = word_clip(src.pos, rng, k, src.pick(src.pos, rng), src.bank)
    end_at = word_end_at(rng, ws, we)
    seq = embed(src, rng, clip, ws, we, meta, end_at)
    return finish(src, rng, seq, k), labels_for(end_at, k)


VOICE_REAL, VOICE_TTS, VOICE_UNKNOWN = 1, 0, -1


def voice_labels(voice: int, end_at: int | None = None) -> np.ndarray:
    """Per-frame voice domain of a negative (what `train --domain` uses): `voice` on every frame past
    the receptive field, or, for a TTS word embedded in other audio (end_at), only on the frames where
    the positives carry their label, whose receptive field holds the word; VOICE_UNKNOWN elsewhere."""
    d = np.full(SEQ_FRAMES, VOICE_UNKNOWN, np.int8)
    if end_at is None:
        d[RF_FRAMES:] = voice
    else:
        d[labels_for(end_at, Knobs(post_ignore_ms=0)) == 1] = voice
    return d


def make_negative(src: Sources, rng, recipe: str | None = None):
    """A negative sequence: (audio, labels, voice domain labels; see voice_labels)."""
    k = src.knobs
    r = rng.random() if recipe is None else None
    n = SEQ_SAMPLES
    voice = np.full(SEQ_FRAMES, VOICE_UNKNOWN, np.int8)
    if recipe == "real" or (r is not None and r < 0.33):
        seq = real_stream(src, rng, n, weights=src.speech_w)
        voice = voice_labels(VOICE_REAL)
        if rng.random() < 0.3:  # overlapping talkers / TV
            t = tts_stream(src, rng, n)
            seq = seq + t * (A.active_rms(seq) / (A.active_rms(t) + 1e-6) * 10 ** (rng.uniform(-10, 0) / 20))
            voice[:] = VOICE_UNKNOWN
    elif recipe == "tts" or (r is not None and r < 0.53):
        seq = tts_stream(src, rng, n)
        voice = voice_labels(VOICE_TTS)
    elif recipe == "adv" or (r is not None and r < 0.85):
        q = rng.random()
        if src.adv is not None and src.adv.clips and q < 0.6:
            clip, ws, we, meta = word_clip(src.adv, rng, k, src.pick(src.adv, rng), src.bank)
        elif src.other_pos and q < 0.8:
            s = src.other_pos[int(rng.integers(len(src.other_pos)))]
            clip, ws, we, meta = word_clip(s, rng, k, src.pick(s, rng), src.bank)
        else:  # the first part of the word only: the model must wait for the end
            clip, ws, we, meta = word_clip(src.pos, rng, k, bank=src.bank)
            cut = ws + int((we - ws) * rng.uniform(0.3, 0.65))
            clip, we = clip[:cut] * np.minimum(1, np.linspace(30, 0, cut)).astype(np.float32), cut
        end_at = word_end_at(rng, ws, we)
        seq = embed(src, rng, clip, ws, we, meta, end_at)
        voice = voice_labels(VOICE_TTS, end_at)
    elif r is not None and r < 0.95:
        seq = noise_stream(src, rng, n)
    else:
        seq = A.coloured_noise(n, rng) * 10 ** (rng.uniform(-60, -30) / 20)
        if rng.random() < 0.3:
            seq[: int(rng.integers(0, n))] = 0  # digital silence, then the mic comes alive
    return finish(src, rng, seq, k), labels_for(None, k), voice


# ----------------------------------------------------------------------------------------------
# auxiliary real keywords
#
# Real recordings of OTHER wake words (never the target) train extra output heads that are dropped at
# export. The shared layers then have to find words in real voices and real microphones (hundreds of
# crowd-sourced speakers), not only in TTS voices, which is what the target head needs on real speech.


def make_aux(src: Sources, rng):
    """A real recording of auxiliary word k, embedded like a positive. Returns (audio, target labels
    (all 'not the word'), labels of head k, k + 1)."""
    k = src.knobs
    ci = int(rng.integers(len(src.aux_corpora)))
    c = src.aux_corpora[ci]
    segs = src._train_segs[c.name]
    x = c.segment_audio(segs[int(rng.integers(len(segs)))])
    ws, we = word_bounds(x, above_floor_db=10.0)
    a = max(0, ws - int(rng.uniform(0.02, 0.1) * SR))
    b = min(len(x), we + int(rng.uniform(0.02, 0.1) * SR))
    x, ws, we = x[a:b].copy(), ws - a, we - a
    ramp = min(len(x) // 4, int(0.02 * SR))
    if ramp > 1:
        x[:ramp] *= np.linspace(0, 1, ramp, dtype=np.float32)
        x[-ramp:] *= np.linspace(1, 0, ramp, dtype=np.float32)
    f = rng.uniform(0.9, 1.1)
    if abs(f - 1) > 0.01:
        x = A.speed(x, f)
        ws, we = int(ws / f), min(len(x), int(we / f))
    end_at = word_end_at(rng, ws, we)
    seq = embed(src, rng, x, ws, we, None, end_at)
    return finish(src, rng, seq, k, light=True), labels_for(None, k), labels_for(end_at, k), ci + 1


def make_hard(src: Sources, rng, item: dict):
    """A mined hard negative: the audio around a high-scoring spot, re-augmented."""
    k = src.knobs
    n = SEQ_SAMPLES
    x = hard_source_audio(src, item["source"])
    peak = item["sample"]
    end_at = int(rng.integers((RF_FRAMES + 30) * HOP + FRAME_LEN, n - int(0.05 * SR)))
    a = peak - end_at
    seq = np.zeros(n, np.float32)
    lo, hi = max(0, a), min(len(x), a + n)
    if hi > lo:
        seq[lo - a: hi - a] = x[lo:hi]
    # The same room/noise/microphone chain as the positives: if mined negatives were cleaner than the
    # positives, the model would learn "clean audio means no wake word" (seen in session 1: clean FRR
    # twice the 10 dB FRR after mining).
    return finish(src, rng, seq, k), labels_for(None, k)


_hard_cache = {}


def hard_source_audio(src: Sources, source: str) -> np.ndarray:
    """Mining streams: 'real:<corpus>' (train split concatenated) or 'synth:<set>' (clips
    concatenated with 0.3 s gaps)."""
    if source in _hard_cache:
        return _hard_cache[source]
    if source.startswith("noisy:"):
        # the same stream under real noise at 0-15 dB SNR, seeded by the source name, so mining finds
        # what fires in noise (the false accepts that noisy conditions add) and make_hard can re-read it
        base = hard_source_audio(src, source[len("noisy:"):])
        rng = np.random.default_rng(stable_hash(source) & 0xFFFFFFFF)
        x = np.empty_like(base)
        step = 30 * SR  # a new noise draw and SNR every 30 s
        for a in range(0, len(base), step):
            seg = base[a: a + step]
            x[a: a + len(seg)] = A.add_at_snr(seg, noise_stream(src, rng, len(seg)), rng.uniform(0, 15))
        _hard_cache[source] = x
        return x
    kind, name = source.split(":", 1)
    if kind == "real":
        c = next(c for c in src.corpora if c.name == name)
        x = c.stream("train")
    else:
        s = {st.name: st for st in [src.adv, src.speech, *src.other_pos] if st is not None}[name]
        gap = np.zeros(int(0.3 * SR), np.float32)
        x = np.concatenate([np.concatenate([s.clip(i), gap]) for i in range(len(s.clips))])
    _hard_cache[source] = x
    return x


# ----------------------------------------------------------------------------------------------
# pool generation

_SRC: Sources | None = None
_FEAT = None
_TEACHER = None  # training/teacher.py Teacher, per worker, when the pool carries teacher embeddings


def teacher_enabled() -> bool:
    """Pool shards carry teacher embeddings (E) for distillation when HUSHWORD_TEACHER=1 (it makes the
    pool about 3 times slower to build)."""
    return os.environ.get("HUSHWORD_TEACHER", "0") == "1"


def _init_worker():
    import warnings

    warnings.filterwarnings("ignore")
    os.environ["OMP_NUM_THREADS"] = "1"
    import librosa  # noqa: F401 - import (slow) once per worker, not in the first pitch shift

    global _FEAT, _TEACHER
    from .common import frontend

    if teacher_enabled():
        from .teacher import Teacher

        _TEACHER = Teacher()

    fn, cfg = frontend()
    c = cfg()
    _FEAT = lambda x: fn(x, c)  # noqa: E731


def _one(task):
    kind, seed, item = task
    rng = np.random.default_rng(seed)
    for _attempt in range(5):
        try:
            extra = ()
            if kind == "aux":
                x, y, ya, ki = make_aux(_SRC, rng)
                extra = (ya, ki)
            elif kind == "pos":
                x, y = make_positive(_SRC, rng)
            elif kind == "hard":
                x, y = make_hard(_SRC, rng, item)
            else:
                x, y, voice = make_negative(_SRC, rng)
                extra = (voice,)
            x = np.nan_to_num(x.astype(np.float32))
            f = np.asarray(_FEAT(x), dtype=np.float32)
            assert f.shape[0] == SEQ_FRAMES, f.shape
            if _TEACHER is not None:
                extra = (*extra, _TEACHER.embed(x).astype(np.float16))
            return (f.T.astype(np.float16), y, *extra)
        except (ValueError, IndexError) as e:  # a degenerate random draw: try another
            err = e
    raise err


def build_pool(src: Sources, name: str, kind: str, count: int, workers: int = 2, items: list | None = None,
               seed_base: int = 0) -> list[Path]:
    """Write ceil(count/SHARD) shards <pool>/<name>-<i>.npz; keeps shards already there."""
    global _SRC
    from tqdm import tqdm

    d = word_dir(src.word) / "pool"
    d.mkdir(parents=True, exist_ok=True)
    shards = []
    n_shards = (count + SHARD - 1) // SHARD
    todo = []
    for si in range(n_shards):
        p = d / f"{name}-{si:03d}.npz"
        shards.append(p)
        if not p.exists():
            todo.append(si)
    if not todo:
        return shards
    _SRC = src
    ctx = mp.get_context("fork")
    with ctx.Pool(workers, initializer=_init_worker) if workers > 1 else _Serial() as pool:
        bar = tqdm(total=len(todo) * SHARD, desc=f"pool {name}", mininterval=3)
        for si in todo:
            lo, hi = si * SHARD, min(count, (si + 1) * SHARD)
            tasks = [(kind, stable_hash(f"{src.word}/{name}/{seed_base}/{i}") & 0xFFFFFFFF,
                      items[i % len(items)] if items else None) for i in range(lo, hi)]
            res = list(pool.imap(_one, tasks, chunksize=8))
            X = np.stack([r[0] for r in res])
            Y = np.stack([r[1] for r in res])
            extra = {"YA": np.stack([r[2] for r in res]), "K": np.array([r[3] for r in res], np.int8)} \
                if kind == "aux" else {}
            if kind == "neg":
                extra["D"] = np.stack([r[2] for r in res])
            if teacher_enabled():
                extra["E"] = np.stack([r[-1] for r in res])
            tmp = d / f"{name}-{si:03d}.tmp.npz"
            np.savez(tmp, X=X, Y=Y, **extra)
            tmp.replace(shards[si])
            bar.update(hi - lo)
        bar.close()
    return shards


class _Serial:
    def __enter__(self):
        _init_worker()
        return self

    def __exit__(self, *a):
        return False

    def imap(self, fn, tasks, chunksize=1):
        return map(fn, tasks)


def load_pool(word: str, names: list[str] | None = None, teacher: bool = False, voice: bool = False):
    """All shards (or those whose name starts with one of names): X [N,F,T] f16, Y [N,T] i8, pool tag;
    with `teacher`, also the teacher embeddings E [N,n,96] f16 (None if a shard has none); with
    `voice`, then the per-frame voice domain labels D [N,T] i8 (VOICE_UNKNOWN where a shard has none)."""
    d = word_dir(word) / "pool"
    Xs, Ys, tags, Es, Ds = [], [], [], [], []
    for p in sorted(d.glob("*.npz")):
        if p.name.endswith(".tmp.npz"):
            continue
        tag = p.name.rsplit("-", 1)[0]
        if tag == "aux" or (names is not None and tag not in names):
            continue
        z = np.load(p)
        Xs.append(z["X"])
        Ys.append(z["Y"])
        Es.append(z["E"] if "E" in z.files else None)
        Ds.append(z["D"] if "D" in z.files else np.full(z["Y"].shape, VOICE_UNKNOWN, np.int8))
        tags += [tag] * len(z["Y"])
    if not Xs:
        raise SystemExit(f"no training pool in {d}: run `python -m training dataset --word {word}` first")
    out = np.concatenate(Xs), np.concatenate(Ys), np.array(tags)
    if teacher:
        out = (*out, np.concatenate(Es) if all(e is not None for e in Es) else None)
    if voice:
        out = (*out, np.concatenate(Ds))
    return out


def load_aux(word: str):
    """The auxiliary pool: X [N,F,T] f16, labels of the auxiliary head YA [N,T] i8, head K [N] (1..n),
    and the auxiliary corpus names (head k is names[k-1]); None when there is none."""
    from .common import load_json

    d = word_dir(word) / "pool"
    shards = sorted(p for p in d.glob("aux-*.npz") if not p.name.endswith(".tmp.npz"))
    names = load_json(word_dir(word) / "aux.json", {}).get("corpora")
    if not shards or not names:
        return None
    zs = [np.load(p) for p in shards]
    E = np.concatenate([z["E"] for z in zs]) if all("E" in z.files for z in zs) else None
    return (np.concatenate([z["X"] for z in zs]), np.concatenate([z["YA"] for z in zs]),
            np.concatenate([z["K"] for z in zs]), names, E)


def build_aux_pool(src: Sources, count: int, workers: int = 2):
    """Sequences around real recordings of the auxiliary words (see make_aux)."""
    from .common import load_json, save_json

    names = [c.name for c in src.aux_corpora]
    p = word_dir(src.word) / "aux.json"
    if count <= 0 or not names:
        return
    if load_json(p, {}).get("corpora") != names:
        for old in (word_dir(src.word) / "pool").glob("aux-*.npz"):
            old.unlink()
        save_json(p, {"corpora": names})
    log(f"auxiliary real keywords: {', '.join(names)}")
    build_pool(src, "aux", "aux", count, workers)


POOL_VERSION = 8  # 8: speaker-labelled corpora, knnvc; 7: negatives carry voice domain labels (D); 6: the recipe of 3 again (5's knobs default off); 5: channel transfer from real recordings; 4: negative TTS drawn with the positives' engine mix


def pool_knobs(word: str) -> Knobs:
    """The knobs the word's pool was built with (pool.json), so that mining adds to it alike."""
    from .common import load_json

    kn = load_json(word_dir(word) / "pool.json", {}).get("knobs", {})
    fields = Knobs.__dataclass_fields__
    return Knobs(**{n: tuple(v) if isinstance(v, list) else v for n, v in kn.items() if n in fields})


def knob_dict(k: Knobs) -> dict:
    """The knobs as JSON values (what pool.json records: a pool is rebuilt when they change)."""
    from dataclasses import asdict

    return {n: list(v) if isinstance(v, tuple) else v for n, v in asdict(k).items()}


def dataset(word: str, n_pos: int, n_neg: int, workers: int = 2, verbose: bool = True, fresh: bool = False,
            n_aux: int = 0, knobs: Knobs | None = None):
    src = load_sources(word, verbose, knobs)
    if src.pos is None or len(src.pos.clips) == 0:
        raise SystemExit(f"no synthetic positives in pos-{word}: run the synthesis first (training/synth)")
    from .augment import make_rir_bank
    from .corpora import write_split_lists

    make_rir_bank()
    write_split_lists(word, src.corpora, word_dir(word))
    # The pool is reused (and extended) as long as the synthetic positives have not grown by half
    # since it was built; then it is rebuilt from scratch (with `fresh`, always).
    from .common import load_json, save_json

    d = word_dir(word) / "pool"
    meta_p = word_dir(word) / "pool.json"
    meta = load_json(meta_p, {})
    n_clips = len(src.pos.clips)
    fe = os.environ.get("HUSHWORD_FEATURES_STUB") or "training/features.py"
    if (fresh or not meta or n_clips >= 1.5 * meta.get("pos_clips", 0) or meta.get("version") != POOL_VERSION
            or meta.get("frontend") != fe or meta.get("knobs") != knob_dict(src.knobs)):
        if d.exists():
            for p in d.glob("*.npz"):
                p.unlink()
        meta = {"pos_clips": n_clips, "version": POOL_VERSION, "frontend": fe,
                "knobs": knob_dict(src.knobs),
                "adv_clips": len(src.adv.clips) if src.adv else 0,
                "speech_clips": len(src.speech.clips) if src.speech else 0}
        save_json(meta_p, meta)
        log(f"new training pool on {n_clips} positive clips")
    else:
        log(f"reusing the training pool built on {meta['pos_clips']} positive clips (now {n_clips})")
    build_pool(src, "pos", "pos", n_pos, workers)
    build_pool(src, "neg", "neg", n_neg, workers)
    build_aux_pool(src, n_aux, workers)
    return src
