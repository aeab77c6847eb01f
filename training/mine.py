"""Hard-negative mining: score all train-split negative audio (real corpora, TTS near-misses, TTS
speech, other words) in one causal pass each, keep the spots that score high (peak picking with 1 s
suppression), and add re-augmented sequences around them to the pool as `hard-r<round>`."""

from __future__ import annotations

import numpy as np

from .common import log, save_json, stable_hash, word_dir
from .dataset import HOP, FRAME_LEN, build_pool, hard_source_audio, load_sources, pool_knobs
from .evaluate import frame_probs, stream_features


def _stream_feats(src, source: str) -> np.ndarray:
    d = word_dir(src.word) / "mine"
    d.mkdir(exist_ok=True)
    x = hard_source_audio(src, source)
    p = d / f"{source.replace(':', '_')}-{len(x)}.npy"
    if not p.exists():
        for old in d.glob(f"{source.replace(':', '_')}-*.npy"):
            old.unlink()
        np.save(p, stream_features(x).astype(np.float16))
    return np.load(p).astype(np.float32)


def peaks(p: np.ndarray, thr: float, start: int, suppress: int = 100, max_n: int = 10 ** 6):
    cand = np.nonzero(p >= thr)[0]
    cand = cand[cand >= start]
    order = cand[np.argsort(-p[cand])]
    taken = np.zeros(len(p), bool)
    out = []
    for i in order:
        if taken[i]:
            continue
        out.append(int(i))
        taken[max(0, i - suppress): i + suppress] = True
        if len(out) >= max_n:
            break
    return out


def mine(word: str, round_: int, model, max_items: int = 2500, thr: float = 0.05, n_aug: int = 2,
         workers: int = 2, src=None) -> dict:
    from tqdm import tqdm

    src = src or load_sources(word, verbose=False, knobs=pool_knobs(word))
    sources = [f"real:{c.name}" for c in src.train_corpora if c.hours("train") > 0]
    sources += [f"synth:{s.name}" for s in [src.adv, src.speech, *src.other_pos] if s is not None and s.clips]
    sources += [f"noisy:{s}" for s in sources if not s.startswith("real:noise") and not s.startswith("real:music")]
    found = []
    stats = {}
    for s in tqdm(sources, desc=f"mine r{round_}", mininterval=2):
        F = _stream_feats(src, s)
        if F.shape[1] < model.rf:
            continue
        p = frame_probs(model, F)[0]
        pk = peaks(p, thr, model.rf - 1)
        stats[s] = {"hours": F.shape[1] / 360000, "peaks": len(pk),
                    "above_0.5": int(len(peaks(p, 0.5, model.rf - 1)))}
        found += [(float(p[i]), s, i * HOP + FRAME_LEN) for i in pk]
    found.sort(key=lambda t: -t[0])
    # keep the hardest, but never let one source take everything
    items, per_src = [], {}
    cap = max(50, int(0.5 * max_items))
    for sc, s, sample in found:
        if per_src.get(s, 0) >= cap:
            continue
        per_src[s] = per_src.get(s, 0) + 1
        items.append({"source": s, "sample": int(sample), "score": sc})
        if len(items) >= max_items:
            break
    for s in stats:
        stats[s]["kept"] = per_src.get(s, 0)
        log(f"  {s:36s} {stats[s]['hours']:.3f} h  peaks>{thr}: {stats[s]['peaks']:5d}  >0.5: "
            f"{stats[s]['above_0.5']:4d}  kept {stats[s]['kept']}")
    log(f"mining round {round_}: {len(found)} spots above {thr}, kept {len(items)} x {n_aug} augmentations")
    save_json(word_dir(word) / f"mine-r{round_}.json", {"stats": stats, "items": items[:200], "n_items": len(items)})
    if items:
        # deterministic order and seeds; each copy is re-augmented like the positives
        tasks = [dict(it) for _a in range(n_aug) for it in items]
        d = word_dir(word) / "pool"
        for p in d.glob(f"hard-r{round_}-*.npz"):
            p.unlink()  # a re-run mines with the current model: replace, don't mix
        build_pool(src, f"hard-r{round_}", "hard", len(tasks), workers, items=tasks,
                   seed_base=stable_hash(f"r{round_}") & 0xFFFF)
    return {"n_items": len(items), "stats": stats}
