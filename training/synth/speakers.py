"""Kokoro speakers aimed at the real voices that the synthetic positives cover worst.

    python -m training.synth.speakers --word computer --n 250 [--mode search|target|random]

Why: a speaker embedding trained on real speech (Resemblyzer's GE2E encoder; its weights ship in
the PyPI wheel) predicts how the model scores a real recording of the word. For the shipped
"computer" model, the mean cosine similarity of a real recording to its 5 nearest synthetic
positives correlates with its score (Spearman 0.53; 0.42 with the noise floor partialled out): of
the fifth of the real recordings nearest to some synthetic voice 1% score under 0.5, of the fifth
farthest 40% (training/README.md). The model misses the voices it has not heard.

Targets are recordings from the real negative corpora (train split: other wake words, ordinary
speech; never a recording of the word itself), drawn from the half least covered by the current
positives. For each, a blend of Kokoro training voices is chosen (`search`, the default: the best of
--candidates random blends by the embedding a ridge regression predicts for it; `target`: non-negative
least squares on the single voices' embeddings, at most 3 voices), the word is synthesized in it,
and the clip goes to the positives as engine `kokoro-<mode>`, with the embedding similarity it
reached. `--mode random` makes the control: the random blends of the ordinary Kokoro synthesis.
Text, pronunciation and speed come from the synthesis planner (training/synth/run.py) in every
mode. `dataset --skip-engines` leaves any of them out of a pool. Resumable; embeddings are cached
under ~/.cache/hushword/speakers/.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import audio as A
from . import voices
from .run import DUR_LIMITS, KOKORO, Planner, Synth

SR = 16000
MODE_SEED = {"random": 1, "search": 2, "target": 3}  # planner seed offsets: no mode repeats another's clips
TOP_K = 5
MAX_VOICES = 3
BASE_TEXT = "The quick brown fox jumps over the lazy dog, and then it rests."


class Encoder:
    """Resemblyzer's speaker encoder on one CPU thread; embeddings are unit vectors."""

    def __init__(self):
        import torch
        from resemblyzer import VoiceEncoder

        torch.set_num_threads(1)
        self.enc = VoiceEncoder("cpu", verbose=False)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)[: 6 * SR]
        return self.enc.embed_utterance(x / (np.abs(x).max() + 1e-6) * 0.5).astype(np.float32)


def cached_embeddings(path: Path, keys: list[str], audio_of, enc: Encoder, what: str) -> np.ndarray:
    """Embeddings of the items `keys` (audio_of(i) gives item i's 16 kHz audio), cached by key."""
    have = {}
    if path.exists():
        z = np.load(path, allow_pickle=False)
        have = dict(zip(z["keys"].tolist(), z["emb"]))
    todo = [i for i, k in enumerate(keys) if k not in have]
    if todo:
        from tqdm import tqdm

        for i in tqdm(todo, desc=f"embed {what}", mininterval=20, file=sys.stdout, ncols=100):
            have[keys[i]] = enc(audio_of(i))
        path.parent.mkdir(parents=True, exist_ok=True)
        ks = sorted(have)
        np.savez(path, keys=np.array(ks), emb=np.stack([have[k] for k in ks]))
    return np.stack([have[k] for k in keys]) if keys else np.zeros((0, 256), np.float32)


def coverage(targets: np.ndarray, pool: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Per target, the mean cosine similarity of its k nearest pool embeddings."""
    s = targets @ pool.T
    k = min(k, s.shape[1])
    return np.sort(s, axis=1)[:, -k:].mean(1)


def solve_blend(target: np.ndarray, base: np.ndarray, names: list[str]) -> list[tuple[str, float]]:
    """The blend (at most MAX_VOICES voices, weights summing to 1) whose weighted sum of base
    embeddings is nearest the target (non-negative least squares)."""
    from scipy.optimize import nnls

    w, _ = nnls(base.T.astype(np.float64), target.astype(np.float64))
    if w.sum() <= 0:
        w = np.maximum(base @ target, 0) + 1e-6
    keep = np.argsort(w)[::-1][:MAX_VOICES]
    keep = [i for i in keep if w[i] >= 0.1 * w[keep[0]]]
    tot = sum(w[i] for i in keep)
    return [(names[i], round(float(w[i] / tot), 4)) for i in keep]


STYLE_ROW = 20  # the style-table row of a ~20-token utterance (the word and a little more)


class EmbeddingPredictor:
    """Ridge regression from a blend's Kokoro style vector to the speaker embedding of what Kokoro
    says in it, fitted on the Kokoro clips already synthesized (held-out cosine ~0.93 against 0.81
    for the mean embedding), so that thousands of candidate blends can be screened without
    synthesizing them."""

    def __init__(self, specs: list, emb: np.ndarray, lam: float = 10.0):
        x = np.stack([voices.blend(s)[STYLE_ROW] for s in specs])
        self.mu, self.sd, self.ym = x.mean(0), x.std(0) + 1e-6, emb.mean(0)
        xn = (x - self.mu) / self.sd
        self.w = np.linalg.solve(xn.T @ xn + lam * np.eye(xn.shape[1]), xn.T @ (emb - self.ym))

    def __call__(self, specs: list) -> np.ndarray:
        x = np.stack([voices.blend(s)[STYLE_ROW] for s in specs])
        p = ((x - self.mu) / self.sd) @ self.w + self.ym
        return p / np.linalg.norm(p, axis=1, keepdims=True)


def real_targets(word: str, max_items: int, rng) -> tuple[list[str], list]:
    """(keys, loader) of up to max_items train-split segments of the real speech corpora."""
    from ..corpora import load_corpora

    segs = []
    for c in load_corpora(word, verbose=False):
        if c.category != "speech":
            continue
        for s in c.split_segments("train"):
            segs.append((c, s))
    pick = rng.permutation(len(segs))[:max_items]
    items = [segs[i] for i in pick]
    keys = [f"{c.name}/{s['key']}" for c, s in items]
    return keys, lambda i: items[i][0].segment_audio(items[i][1])


def blend_chooser(mode: str, pos, idx: dict, enc: Encoder, cache: Path, n_candidates: int, synth: Synth):
    """fn(target embedding, planned spec) -> the Kokoro blend to synthesize for that target."""
    if mode == "random":  # the planner's own random blend
        return lambda target, planned: planned
    if mode == "target":  # least squares on the single voices' embeddings
        names = list(voices.TRAIN_SOLO)

        def solo(i):
            s = {"engine": KOKORO, "text": BASE_TEXT, "spec": [(names[i], 1.0)],
                 "lang": voices.voice_lang(names[i]) or "us", "speed": 1.0}
            return A.finish(*synth(s))

        base = cached_embeddings(cache / "base-voices.npz", names, solo, enc, "base voices")
        return lambda target, planned: solve_blend(target, base, names)
    kok = [c for c in pos.clips if c.get("engine") == KOKORO]
    kemb = cached_embeddings(cache / f"{pos.name}.npz", [c["path"] for c in kok],
                             lambda i: pos.clip(idx[kok[i]["path"]]), enc, "kokoro positives")
    predict = EmbeddingPredictor([voices.parse_voice_label(str(c["voice"])) for c in kok], kemb)
    cands = [voices.sample_train_voice(np.random.default_rng([5, i])) for i in range(n_candidates)]
    cand_emb = predict(cands)
    return lambda target, planned: cands[int(np.argmax(cand_emb @ target))]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.synth.speakers", description=__doc__.splitlines()[0])
    ap.add_argument("--word", required=True)
    ap.add_argument("--n", type=int, default=250, help="clips to synthesize")
    ap.add_argument("--mode", choices=("search", "target", "random"), default="search",
                    help="search: the best of --candidates random blends by predicted embedding; "
                         "target: least squares on the single voices' embeddings; random: the control")
    ap.add_argument("--candidates", type=int, default=4000, help="search: random blends screened per run")
    ap.add_argument("--targets", type=int, default=1500, help="real recordings to draw targets from")
    ap.add_argument("--out", default=str(voices.CACHE / "synth"))
    a = ap.parse_args(argv)
    word = a.word.lower()
    out = Path(a.out)
    set_name = f"pos-{word}"
    engine = f"kokoro-{a.mode}"
    man = out / set_name / "manifest.jsonl"
    done = set()
    if man.exists():
        done = {json.loads(line)["id"] for line in man.read_text().splitlines() if line.strip()}
    cache = voices.CACHE / "speakers"
    enc, synth = Encoder(), Synth()
    plan = Planner([word], out, seed=1234 + MODE_SEED[a.mode])
    from ..corpora import load_synth

    pos = load_synth(set_name, verbose=False)
    idx = {c["path"]: i for i, c in enumerate(pos.clips)}
    pos_keys = [c["path"] for c in pos.clips if not str(c.get("engine", "")).startswith("kokoro-")]
    pos_emb = cached_embeddings(cache / f"{set_name}.npz", pos_keys, lambda i: pos.clip(idx[pos_keys[i]]), enc,
                                "positives")
    t_keys, t_audio = real_targets(word, a.targets, np.random.default_rng(7))
    t_emb = cached_embeddings(cache / "real-targets.npz", t_keys, t_audio, enc, "real targets")
    cov = coverage(t_emb, pos_emb)
    # the less covered half, in random order: the very least covered are often noise, not voice
    order = np.argsort(cov)[: max(1, len(cov) // 2)]
    order = order[np.random.default_rng(11).permutation(len(order))]
    print(f"[speakers] {len(t_keys)} real targets, coverage by {len(pos_keys)} positives: "
          f"median {np.median(cov):.3f}, 10th pct {np.percentile(cov, 10):.3f}", flush=True)
    choose = blend_chooser(a.mode, pos, idx, enc, cache, a.candidates, synth)

    t0, made = time.time(), 0
    lo, hi = DUR_LIMITS["pos"]
    for j in range(a.n):
        cid = f"{engine}-{j:05d}"
        if cid in done:
            continue
        ti = int(order[j % len(order)])
        s = plan.spec(set_name, KOKORO, j)
        s["spec"] = choose(t_emb[ti], s["spec"])
        if a.mode != "random":  # the pronunciation follows the chosen blend's heaviest native voice
            s["lang"] = voices.spec_lang(s["spec"], np.random.default_rng([j, MODE_SEED[a.mode]]))
        y = A.finish(*synth(s))
        if not lo <= len(y) / SR <= hi:
            continue
        e = enc(y)
        rel = f"{set_name}/{engine}/{cid}.wav"
        A.write_atomic(str(out / rel), y)
        rec = {"path": rel, "id": cid, "set": set_name, "engine": engine, "text": s["text"],
               "voice": voices.voice_label(s["spec"]), "speed": s["speed"], "lang": s["lang"],
               "phonemes": s["phonemes"], "duration_s": round(len(y) / SR, 3), "target": t_keys[ti],
               "target_coverage": round(float(cov[ti]), 4), "target_similarity": round(float(e @ t_emb[ti]), 4)}
        A.append_line(str(man), json.dumps(rec, ensure_ascii=False))
        made += 1
        if made % 25 == 0:
            print(f"[speakers] {made} clips, {60 * made / (time.time() - t0):.1f}/min", flush=True)
    print(f"[speakers] done: {made} new {engine} clips in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
