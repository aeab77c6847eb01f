"""Kokoro voice tables and the train / held-out split."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


class SetupError(RuntimeError):
    """The machine is not set up (training/setup.sh): stops a run instead of failing clips."""


CACHE = Path(os.environ.get("HUSHWORD_CACHE", Path.home() / ".cache" / "hushword"))
KOKORO_JS_VOICES = CACHE / "npm" / "package" / "voices"

NATIVE_US = ["af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole",
             "af_nova", "af_river", "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric",
             "am_fenrir", "am_liam", "am_michael", "am_onyx", "am_puck", "am_santa"]
NATIVE_GB = ["bf_alice", "bf_emma", "bf_isabella", "bf_lily", "bm_daniel", "bm_fable",
             "bm_george", "bm_lewis"]
# Non-English Kokoro voices reading English phonemes: accented English speakers.
ACCENTED = ["ef_dora", "em_alex", "ff_siwis", "hf_alpha", "hf_beta", "hm_omega", "hm_psi",
            "if_sara", "im_nicola", "pf_dora", "pm_alex"]
# Japanese / Chinese voices: only ever used as a minor part of a blend.
BLEND_ONLY = ["jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo", "zf_xiaobei",
              "zf_xiaoni", "zf_xiaoxiao", "zf_xiaoyi", "zm_yunjian", "zm_yunxi", "zm_yunxia",
              "zm_yunyang"]

# Never used by any training set (pos-*, adv-*, speech), alone or in a blend: these are the
# held-out synthetic test speakers (sets test-*, and the committed data/ samples).
HELD_OUT_VOICES = ["af_sarah", "am_puck", "bf_lily", "bm_fable"]
# The voice of the committed sample data/alexa_kokoro.wav (one of the held-out ones).
SAMPLE_VOICE = "af_sarah"

TRAIN_NATIVE = [v for v in NATIVE_US + NATIVE_GB if v not in HELD_OUT_VOICES]
TRAIN_SOLO = TRAIN_NATIVE + ACCENTED


def voice_lang(name: str) -> str | None:
    """'us' / 'gb' for native voices, None for others (caller chooses)."""
    return {"a": "us", "b": "gb"}.get(name[0])


_cache: dict[str, np.ndarray] = {}


def load_voice(name: str) -> np.ndarray:
    """(510, 256) float32 style table of one Kokoro voice (from the kokoro-js npm package)."""
    if name not in _cache:
        p = KOKORO_JS_VOICES / f"{name}.bin"
        if not p.exists():
            raise SetupError(
                f"{p} missing: run `npm pack kokoro-js@1.2.1` in {CACHE / 'npm'} and untar it")
        _cache[name] = np.fromfile(p, dtype=np.float32).reshape(-1, 256)
    return _cache[name]


def blend(spec: list[tuple[str, float]]) -> np.ndarray:
    """Weighted sum of voice tables (weights are normalised)."""
    tot = sum(w for _, w in spec)
    return sum(load_voice(v) * (w / tot) for v, w in spec)


def voice_label(spec: list[tuple[str, float]]) -> str:
    if len(spec) == 1:
        return spec[0][0]
    return "+".join(f"{v}:{w:.2f}" for v, w in spec)


def parse_voice_label(label: str) -> list[tuple[str, float]]:
    """The blend spec of a voice label (voice_label's inverse)."""
    if ":" not in label:
        return [(label, 1.0)]
    return [(p.split(":")[0], float(p.split(":")[1])) for p in label.split("+")]


def sample_train_voice(rng) -> list[tuple[str, float]]:
    """A training speaker: 45% a single voice, 40% a 2-voice blend, 15% a 3-voice blend."""
    r = rng.random()
    if r < 0.45:
        # native voices twice as likely as accented ones
        pool = TRAIN_NATIVE * 2 + ACCENTED
        return [(pool[rng.integers(len(pool))], 1.0)]
    n = 2 if r < 0.85 else 3
    names = list(rng.choice(TRAIN_NATIVE, size=n - 1, replace=False))
    extra = rng.random()
    if extra < 0.6:
        names.append(TRAIN_NATIVE[rng.integers(len(TRAIN_NATIVE))])
    elif extra < 0.85:
        names.append(ACCENTED[rng.integers(len(ACCENTED))])
    else:
        names.append(BLEND_ONLY[rng.integers(len(BLEND_ONLY))])
    names = list(dict.fromkeys(names))
    if len(names) == 1:
        names.append(TRAIN_NATIVE[(TRAIN_NATIVE.index(names[0]) + 1) % len(TRAIN_NATIVE)])
    w = rng.dirichlet([2.0] * len(names))
    # keep blend-only voices a minor component
    spec = [(str(v), float(max(0.1, min(x, 0.4)) if v in BLEND_ONLY else x)) for v, x in zip(names, w)]
    tot = sum(x for _, x in spec)
    return [(v, round(x / tot, 4)) for v, x in spec]


def sample_test_voice(rng) -> list[tuple[str, float]]:
    """A held-out test speaker: a held-out voice alone (50%) or a blend of two held-out voices."""
    if rng.random() < 0.5:
        return [(HELD_OUT_VOICES[rng.integers(len(HELD_OUT_VOICES))], 1.0)]
    a, b = rng.choice(HELD_OUT_VOICES, size=2, replace=False)
    w = float(rng.uniform(0.25, 0.75))
    return [(str(a), w), (str(b), 1 - w)]


def spec_lang(spec: list[tuple[str, float]], rng) -> str:
    """Pronunciation (us/gb) for a speaker: that of the heaviest native voice, else random."""
    for v, _ in sorted(spec, key=lambda t: -t[1]):
        lang = voice_lang(v)
        if lang:
            return lang
    return "us" if rng.random() < 0.6 else "gb"
