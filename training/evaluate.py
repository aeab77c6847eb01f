"""Validation: false accepts per hour on the validation split of real negatives, recall on held-out
synthetic voices (test-<word>) embedded in validation background speech (clean and at 10 dB SNR with
real validation noise), and for "computer" (report only) on the real recordings.

Detector maths (as the engine): the full-window model is evaluated every hop_frames (3) frames from
the first full window (frame window_frames - 1); scores are averaged over the last `smoothing` (2)
evaluations; an event fires when the smoothed score reaches the threshold and no event fired in the
previous refractory (1.5 s). The causal model's per-frame output at frame t >= rf - 1 equals the full
window ending at t, so one pass over a long stream gives every evaluation.
"""

from __future__ import annotations

import numpy as np

from . import augment as A
from .common import SHARED_DATA, SR, load_audio, load_json, log, save_json, stable_hash, word_dir

WINDOW, HOP_FRAMES, SMOOTH, REFRACTORY_S = 100, 3, 2, 1.5
THR_GRID = np.unique(np.concatenate([np.linspace(0.05, 0.95, 19), np.linspace(0.96, 0.99, 4),
                                     1 - np.logspace(-2.2, -5, 15)]))


def stream_features(x: np.ndarray, chunk_s: float = 60.0) -> np.ndarray:
    """Features [F, T] of a long stream, computed in chunks (identical to one call: each chunk after
    the first starts one hop early and drops its first frame, so pre-emphasis history is right)."""
    from .common import frontend

    fn, cfg = frontend()
    c = cfg()
    fl, hop = c["frame_length"], c["hop_length"]
    n_frames = 0 if len(x) < fl else (len(x) - fl) // hop + 1
    per = int(chunk_s * SR) // hop
    out = []
    for f0 in range(0, n_frames, per):
        f1 = min(n_frames, f0 + per)
        if f0 == 0:
            seg = x[: (f1 - 1) * hop + fl]
            out.append(np.asarray(fn(seg, c)))
        else:
            seg = x[(f0 - 1) * hop: (f1 - 1) * hop + fl]
            out.append(np.asarray(fn(seg, c))[1:])
    if not out:
        return np.zeros((c.get("n_mfcc", 20), 0), np.float32)
    return np.concatenate(out).T.astype(np.float32)


def frame_probs(model, feats: np.ndarray, chunk: int = 30000) -> np.ndarray:
    """Per-frame probabilities [K, T] of the causal model over one long feature stream."""
    import torch

    model.eval()
    rf = model.rf
    T = feats.shape[1]
    outs = []
    with torch.no_grad():
        for s in range(0, T, chunk):
            a = max(0, s - rf)
            z = model(torch.from_numpy(np.ascontiguousarray(feats[:, a: s + chunk]))[None])[0]
            outs.append(torch.sigmoid(z[:, s - a:]).numpy())
    return np.concatenate(outs, axis=1) if outs else np.zeros((1, 0), np.float32)


def batch_probs(model, feats: list[np.ndarray], batch: int = 64) -> list[np.ndarray]:
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(feats), batch):
            fs = feats[i: i + batch]
            T = max(f.shape[1] for f in fs)
            X = np.zeros((len(fs), fs[0].shape[0], T), np.float32)
            for j, f in enumerate(fs):
                X[j, :, : f.shape[1]] = f
                X[j, :, f.shape[1]:] = f[:, -1:]  # end padding never reaches earlier frames (causal)
            P = torch.sigmoid(model(torch.from_numpy(X))).numpy()
            out += [P[j, :, : f.shape[1]] for j, f in enumerate(fs)]
    return out


def evaluations(p: np.ndarray, smoothing: int = SMOOTH):
    """Evaluation frames and smoothed scores for one keyword's per-frame probabilities."""
    idx = np.arange(WINDOW - 1, len(p), HOP_FRAMES)
    s = p[idx].astype(np.float64)
    if smoothing > 1 and len(s):
        c = np.cumsum(np.concatenate([np.zeros(1), s]))
        k = np.minimum(np.arange(1, len(s) + 1), smoothing)
        s = (c[1:] - c[np.arange(len(s)) + 1 - k]) / k
    return idx, s


def count_events(s: np.ndarray, thr: float, refractory_evals: int) -> int:
    above = np.nonzero(s >= thr)[0]
    n, last = 0, -10 ** 12
    for i in above:
        if i - last >= refractory_evals:
            n += 1
            last = i
    return n


def refractory_evals() -> int:
    return int(round(REFRACTORY_S * 100 / HOP_FRAMES))


# ----------------------------------------------------------------------------------------------
# validation sets (cached per word)


def _context(corpora, rng, n, split="val"):
    speech = [c for c in corpora if c.category == "speech" and c.hours(split) > 0]
    c = speech[int(rng.integers(len(speech)))]
    segs = c.split_segments(split)
    i = int(rng.integers(len(segs)))
    out, got = [], 0
    while got < n:
        s = segs[i % len(segs)]
        x = c.segment_audio(s)
        out.append(x)
        got += len(x)
        i += 1
    x = np.concatenate(out)
    off = int(rng.integers(0, len(x) - n + 1))
    return x[off: off + n]


def _noise(corpora, rng, n, split="val"):
    noise = [c for c in corpora if c.category in ("noise", "music") and c.hours(split) > 0]
    if not noise:
        return A.coloured_noise(n, rng, 1.0)
    c = noise[int(rng.integers(len(noise)))]
    x = c.stream(split)
    while len(x) < n:
        x = np.concatenate([x, x])
    off = int(rng.integers(0, len(x) - n + 1))
    return x[off: off + n]


def embedded_positive(clip: np.ndarray, ws: int, we: int, corpora, seed: int, snr_db: float | None):
    """The word after 1.5 s of validation background speech, followed by 1 s of speech or quiet.
    Returns (audio, word_start, word_end) in samples."""
    rng = np.random.default_rng(seed)
    lvl = A.active_rms(clip)
    pre = _context(corpora, rng, int(1.5 * SR))
    pre = pre * (lvl / (A.active_rms(pre) + 1e-9) * 10 ** (rng.uniform(-10, 0) / 20))
    gap = np.zeros(int(rng.uniform(0.1, 0.4) * SR), np.float32)
    post = _context(corpora, rng, SR) if rng.random() < 0.5 else np.zeros(SR, np.float32)
    post = post * (lvl / (A.active_rms(post) + 1e-9) * 10 ** (rng.uniform(-10, 0) / 20))
    x = np.concatenate([pre, gap, clip, np.zeros(int(0.15 * SR), np.float32), post]).astype(np.float32)
    s0 = len(pre) + len(gap)
    x = x + A.coloured_noise(len(x), rng, 1.0) * lvl * 10 ** (-60 / 20)
    if snr_db is not None:
        x = A.add_at_snr(x, _noise(corpora, rng, len(x)), snr_db)
    x = A.set_level(x, rng, -20, -3)
    return x, s0 + ws, s0 + we


def padded_real(x: np.ndarray, seed: int, corpora, snr_db: float | None):
    """A real recording with 1 s before and 0.5 s after of noise at the level of its first 50 ms
    (so that the first full window is in place before the word)."""
    rng = np.random.default_rng(seed)
    floor = max(A.rms(x[: int(0.05 * SR)]), 1e-5)
    pre = A.coloured_noise(SR, rng, 1.0) * floor
    post = A.coloured_noise(SR // 2, rng, 1.0) * floor
    y = np.concatenate([pre, x, post]).astype(np.float32)
    if snr_db is not None:
        y = A.add_at_snr(y, _noise(corpora, rng, len(y)), snr_db)
        y = A.set_level(y, rng, -6, -3) if np.abs(y).max() >= 1 else y
    return y, SR, SR + len(x) + SR // 2


VAL_VERSION = 1


def _objs(arrs):
    o = np.empty(len(arrs), dtype=object)
    for i, a in enumerate(arrs):
        o[i] = a
    return o


def build_validation(word: str, corpora=None, verbose: bool = True) -> dict:
    """Features for the validation negatives and positives; cached in train/<word>/val/."""
    from tqdm import tqdm

    from .corpora import load_corpora, load_synth

    d = word_dir(word) / "val"
    d.mkdir(exist_ok=True)
    corpora = corpora if corpora is not None else load_corpora(word, verbose=False)
    test = load_synth(f"test-{word}", verbose)
    meta = load_json(d / "meta.json", {})
    want = {"version": VAL_VERSION, "test_clips": len(test.clips),
            "corpora": sorted(c.name for c in corpora)}
    if meta.get("key") != want:
        for p in d.glob("*.npz"):
            p.unlink()
    # negatives: one stream per corpus
    neg = {}
    for c in corpora:
        p = d / f"neg-{c.name}.npz"
        if not p.exists():
            x = c.stream("val")
            np.savez(p, F=stream_features(x) if len(x) else np.zeros((20, 0), np.float32))
        neg[c.name] = np.load(p)["F"]
    # synthetic held-out voices, clean and at 10 dB
    pos = {}
    for cond, snr in (("clean", None), ("snr10", 10.0)):
        p = d / f"test-{cond}.npz"
        if not p.exists() and test.clips:
            feats, spans, engines = [], [], []
            for i, cl in enumerate(tqdm(test.clips, desc=f"val test-{word} {cond}", leave=False, mininterval=3)):
                x = test.clip(i)
                y, ws, we = embedded_positive(x, cl["word_start"], cl["word_end"], corpora,
                                              stable_hash(f"{cl['path']}/{cond}") & 0xFFFFFFFF, snr)
                feats.append(stream_features(y))
                spans.append((max(0, (ws - 400) // 160), (we - 400) // 160 + 100))
                engines.append(cl.get("engine", "?"))
            np.savez(p, F=_objs(feats), spans=np.array(spans), engines=np.array(engines))
        if p.exists():
            z = np.load(p, allow_pickle=True)
            pos[cond] = (list(z["F"]), z["spans"], z["engines"])
    # real recordings of the word (report only; never trained or selected on)
    real = {}
    rdirs = [SHARED_DATA / "wakewords" / word, SHARED_DATA / "precise" / word]
    files = sorted(f for r in rdirs if r.exists() for f in r.glob("*.wav"))
    if files:
        for cond, snr in (("clean", None), ("snr10", 10.0)):
            p = d / f"real-{cond}.npz"
            if not p.exists():
                feats, spans = [], []
                for f in tqdm(files, desc=f"real {word} {cond}", leave=False, mininterval=3):
                    y, a, b = padded_real(load_audio(f), stable_hash(f"{f}/{cond}") & 0xFFFFFFFF, corpora, snr)
                    feats.append(stream_features(y))
                    spans.append((a // 160, (b - 400) // 160))
                np.savez(p, F=_objs(feats), spans=np.array(spans), engines=np.array(
                    [f.parent.parent.name for f in files]))
            z = np.load(p, allow_pickle=True)
            real[cond] = (list(z["F"]), z["spans"], z["engines"])
    save_json(d / "meta.json", {"key": want})
    hours = sum(f.shape[1] for f in neg.values()) / 100 / 3600
    if verbose:
        log(f"validation for {word}: negatives {hours:.3f} h in {len(neg)} corpora; "
            f"test-{word} {len(test.clips)} clips; real {word} recordings: {len(files)}")
    return {"neg": neg, "pos": pos, "real": real, "neg_hours": hours}


# ----------------------------------------------------------------------------------------------
# metrics


def score_validation(model, val: dict, kw: int = 0) -> dict:
    """Smoothed evaluation scores: per negative corpus (arrays) and per positive (max in its span)."""
    neg = {}
    for name, F in val["neg"].items():
        if F.shape[1] < WINDOW:
            continue
        _, s = evaluations(frame_probs(model, F)[kw])
        neg[name] = s
    pos = {}
    for group in ("pos", "real"):
        for cond, (feats, spans, engines) in val[group].items():
            probs = batch_probs(model, feats)
            best = []
            for p, (a, b) in zip(probs, spans):
                idx, s = evaluations(p[kw])
                sel = (idx >= a) & (idx <= b)
                best.append(s[sel].max() if sel.any() else 0.0)
            pos[f"{group}-{cond}"] = (np.array(best), np.asarray(engines))
    return {"neg": neg, "pos": pos, "neg_hours": val["neg_hours"]}


def choose_threshold(max_neg: float, margin_logit: float = 0.5, lo: float = 0.2, hi: float = 0.9999) -> float:
    z = np.log(max_neg + 1e-9) - np.log1p(-min(max_neg, 1 - 1e-9)) + margin_logit
    return float(np.clip(1 / (1 + np.exp(-z)), lo, hi))


def metrics(sc: dict, thr: float) -> dict:
    r = refractory_evals()
    fa = sum(count_events(s, thr, r) for s in sc["neg"].values())
    out = {"threshold": float(thr), "fa": int(fa), "fa_per_hour": fa / max(sc["neg_hours"], 1e-9)}
    for k, (best, _) in sc["pos"].items():
        out[f"frr_{k}"] = float(np.mean(best < thr)) if len(best) else None
    return out


def summary(sc: dict, margin_logit: float = 0.5) -> dict:
    max_neg = max((float(s.max()) for s in sc["neg"].values() if len(s)), default=0.0)
    thr = choose_threshold(max_neg, margin_logit)
    m = metrics(sc, thr)
    m["max_neg"] = max_neg
    m["worst_neg_corpus"] = max(sc["neg"], key=lambda k: sc["neg"][k].max() if len(sc["neg"][k]) else 0)
    pos = [v for k, v in m.items() if k.startswith("frr_pos-") and v is not None]
    m["select"] = 1 - float(np.mean(pos)) if pos else 0.0  # recall at the zero-FA threshold
    return m


def curve(sc: dict) -> list[dict]:
    return [metrics(sc, float(t)) for t in THR_GRID]


def print_curve(rows: list[dict], chosen: float | None = None):
    keys = [k for k in rows[0] if k.startswith("frr_")]
    log("threshold   FA  FA/h   " + "  ".join(f"{k[4:]:>12s}" for k in keys))
    for r in rows:
        mark = " <" if chosen is not None and abs(r["threshold"] - chosen) < 1e-12 else ""
        log(f"{r['threshold']:.5f} {r['fa']:4d} {r['fa_per_hour']:6.2f}  " + "  ".join(
            f"{(r[k] if r[k] is not None else float('nan')):12.3f}" for k in keys) + mark)


def per_engine(sc: dict, thr: float) -> dict:
    out = {}
    for k, (best, engines) in sc["pos"].items():
        d = {}
        for e in np.unique(engines):
            sel = engines == e
            d[str(e)] = {"n": int(sel.sum()), "frr": float(np.mean(best[sel] < thr))}
        out[k] = d
    return out


def top_negatives(sc: dict, corpora, n: int = 10) -> list[dict]:
    """The highest-scoring validation-negative spots with the file they come from."""
    rows = []
    by_name = {c.name: c for c in corpora}
    for name, s in sc["neg"].items():
        c = by_name.get(name)
        if c is None or not len(s):
            continue
        segs = c.split_segments("val")
        ends = np.cumsum([g["length"] for g in segs])
        order = np.argsort(-s)
        taken = []
        for i in order[: 200]:
            if any(abs(int(i) - j) < refractory_evals() for j in taken):
                continue
            taken.append(int(i))
            sample = (WINDOW - 1 + HOP_FRAMES * int(i)) * 160 + 400
            k = int(np.searchsorted(ends, sample, side="right"))
            k = min(k, len(segs) - 1)
            off = sample - (ends[k] - segs[k]["length"])
            rows.append({"score": float(s[i]), "corpus": name, "key": segs[k]["key"], "at_s": round(off / SR, 2)})
            if len(taken) >= 3:
                break
    rows.sort(key=lambda r: -r["score"])
    return rows[:n]
