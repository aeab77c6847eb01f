"""Which real recordings of the word does a model miss, and why.

    python -m training.diagnose --word computer --model models/computer.onnx [--json out.json]

Scores every real recording of the word (the folders of `training.evalsets`, never trained on) one
by one: the recording between 1 s and 0.5 s of silence, windows of the model every 3 frames, the
engine's 2-score smoothing, the maximum. Beside each score it measures the voice's median F0
(WORLD's dio, voiced frames) and the noise floor (10th percentile of 10 ms frame energies), and
prints the share scoring under 0.5 by F0 band. It then applies controlled changes to the worst
recordings: a pitch shift down (pitch and formants, librosa), a slow-down without a pitch change, and
the spectral envelope moved along frequency on the features (augment.mfcc_warp_matrix). If only the
first raises their scores, the model has not seen voices that high (the finding behind `dataset
--p-voice`). Every change is also applied to as many random recordings: the lowest scores rise under
almost any change (regression to the mean), so a change is only a cause where it moves the worst
recordings far more than random ones (the envelope moves, behind `train --vtlp`, did not;
training/README.md). Last, it measures how near each recording's voice is to the synthetic
positives (speaker embeddings, `speaker_coverage`): the finding behind training/synth/speakers.py.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .common import CACHE, SR, load_audio, log
from .features import default_config, features
from .evalsets import REAL_POSITIVES
from .export import full_window_scores

F0_BANDS = ((0, 180), (180, 260), (260, 1000))


def clip_features(x: np.ndarray, cfg: dict) -> np.ndarray:
    """Features [n_features, T] of the clip placed between 1 s and 0.5 s of silence."""
    y = np.concatenate([np.zeros(SR, np.float32), x.astype(np.float32), np.zeros(SR // 2, np.float32)])
    y = y + np.random.default_rng(0).standard_normal(len(y)).astype(np.float32) * 1e-5
    return features(y, cfg).T


def features_score(sess, f: np.ndarray) -> float:
    """Max smoothed score of the model over features [n_features, T]."""
    s = np.array(full_window_scores(sess, f))
    return float(((s + np.r_[s[:1], s[:-1]]) / 2).max())


def clip_score(sess, x: np.ndarray, cfg: dict) -> float:
    """Max smoothed score of the model over the clip placed between 1 s and 0.5 s of silence."""
    return features_score(sess, clip_features(x, cfg))


def median_f0(x: np.ndarray) -> float:
    """Median F0 of the voiced frames (WORLD dio + stonemask), NaN when fewer than 5 are voiced."""
    import pyworld

    y = x.astype(np.float64)
    f0, t = pyworld.dio(y, SR, f0_floor=65.0, f0_ceil=600.0, frame_period=10.0)
    f0 = pyworld.stonemask(y, f0, t, SR)
    v = f0[f0 > 0]
    return float(np.median(v)) if len(v) >= 5 else float("nan")


def noise_floor_db(x: np.ndarray) -> float:
    fr = x[: len(x) // 160 * 160].reshape(-1, 160)
    return float(np.percentile(10 * np.log10((fr ** 2).mean(1) + 1e-12), 10))


def synthetic_f0_quantiles(word: str, n: int = 300) -> list[float] | None:
    """Median-F0 quantiles of n random synthetic positives (as synthesized, before augmentation)."""
    from .common import SYNTH

    man = SYNTH / f"pos-{word}" / "manifest.jsonl"
    if not man.exists():
        return None
    clips = [json.loads(line)["path"] for line in man.read_text().splitlines() if line.strip()]
    pick = np.random.default_rng(0).permutation(len(clips))[:n]
    f0 = np.array([median_f0(load_audio(SYNTH / clips[i])) for i in pick])
    return np.nanpercentile(f0, [10, 25, 50, 75, 90]).round(1).tolist()


def _changes(sess, cfg: dict) -> dict:
    """Controlled changes of a recording -> the model's score of the changed recording."""
    import librosa

    from . import augment as A

    def on_audio(fn):
        return lambda x: clip_score(sess, fn(x).astype(np.float32), cfg)

    def envelope(alpha):  # the spectral envelope moved along frequency on the features (`train --vtlp`)
        m = A.mfcc_warp_matrix(alpha, cfg)
        return lambda x: features_score(sess, m @ clip_features(x, cfg))

    out = {"pitch -3 semitones": on_audio(lambda x: A.pitch(x, -3.0)),
           "slowed 0.8 (same pitch)": on_audio(lambda x: librosa.effects.time_stretch(x, rate=0.8))}
    out.update({f"envelope x{a:g} (features)": envelope(a) for a in (0.85, 0.89, 1.12, 1.18)})
    return out


def _shift(v: np.ndarray, before: np.ndarray) -> dict:
    """Scores v of changed recordings against their scores as recorded."""
    return {"median_score": float(np.median(v)), "over_0.5": float((v > 0.5).mean()),
            "up": float((v > before + 0.05).mean()), "down": float((v < before - 0.05).mean())}


def _ranks(v: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(v).astype(np.float64)


def partial_spearman(a: np.ndarray, b: np.ndarray, controls: list[np.ndarray]) -> float:
    """Spearman correlation of a and b with the controls' ranks regressed out of both."""
    c = np.column_stack([_ranks(x) for x in controls] + [np.ones(len(a))])
    ra, rb = _ranks(a), _ranks(b)
    ea = ra - c @ np.linalg.lstsq(c, ra, rcond=None)[0]
    eb = rb - c @ np.linalg.lstsq(c, rb, rcond=None)[0]
    return float(np.corrcoef(ea, eb)[0, 1])


def speaker_coverage(word: str, files: list[Path], scores: np.ndarray, floors: np.ndarray) -> dict:
    """How near each real recording's voice is to the synthetic positives (training/synth/speakers.py:
    mean cosine similarity of its speaker embedding to the 5 nearest positives), and how that relates
    to its score: Spearman, the same with the noise floor partialled out, and the share under 0.5 by
    fifth of coverage."""
    from scipy.stats import spearmanr

    from .corpora import load_synth
    from .synth.speakers import Encoder, cached_embeddings, coverage

    enc = Encoder()
    pos = load_synth(f"pos-{word}", verbose=False)
    keys = [c["path"] for c in pos.clips]
    pe = cached_embeddings(CACHE / "speakers" / f"pos-{word}.npz", keys, pos.clip, enc, "positives")
    re = cached_embeddings(CACHE / "speakers" / f"real-{word}.npz", [p.name for p in files],
                           lambda i: load_audio(files[i]), enc, "real recordings")
    cov = coverage(re, pe)
    edges = np.quantile(cov, np.linspace(0, 1, 6))
    fifths = []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        m = (cov >= lo) & ((cov < hi) if i < 4 else (cov <= hi))
        fifths.append({"coverage": [round(float(lo), 3), round(float(hi), 3)], "n": int(m.sum()),
                       "under_0.5": float((scores[m] < 0.5).mean()), "median_score": float(np.median(scores[m]))})
    return {"positives": len(keys), "spearman": float(spearmanr(cov, scores)[0]),
            "spearman_floor_partialled": partial_spearman(cov, scores, [floors]), "fifths": fifths,
            "speakers": speaker_groups(re, scores, cov), "coverage": cov.round(4).tolist()}


SAME_SPEAKER = 0.15  # cosine distance at which recordings are grouped as one speaker (average linkage)


def speaker_groups(emb: np.ndarray, scores: np.ndarray, cov: np.ndarray) -> list[dict]:
    """The recordings grouped by speaker (agglomerative clustering of the speaker embeddings), with
    each group's size, share under 0.5 and mean coverage, most missed first: crowd-sourced sets hold
    about ten recordings per speaker, so a miss rate over recordings is mostly a miss rate over
    a few dozen speakers."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(emb) < 2:
        return []
    lab = fcluster(linkage(emb, "average", metric="cosine"), SAME_SPEAKER, "distance")
    groups = []
    for k in np.unique(lab):
        m = lab == k
        groups.append({"n": int(m.sum()), "missed": int((scores[m] < 0.5).sum()),
                       "coverage": round(float(cov[m].mean()), 3)})
    return sorted(groups, key=lambda g: (-g["missed"], -g["n"]))


def diagnose(word: str, model: Path, n_worst: int = 40, speakers: bool = True) -> dict:
    import onnxruntime as ort
    from tqdm import tqdm

    folder = CACHE / "eval" / word / "positives-real"
    files = sorted(folder.glob("*.wav"))
    if word not in REAL_POSITIVES or not files:
        raise SystemExit(f"no real recordings of '{word}' in {folder}: run `python -m training.evalsets --word {word}`")
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    cfg = default_config()
    rows = []
    for p in tqdm(files, desc="score", mininterval=5):
        x = load_audio(p)
        rows.append({"file": p.name, "score": clip_score(sess, x, cfg), "f0_hz": median_f0(x),
                     "floor_db": noise_floor_db(x)})
    s = np.array([r["score"] for r in rows])
    f0 = np.array([r["f0_hz"] for r in rows])
    out = {"model": str(model), "recordings": len(rows), "under_0.5": float((s < 0.5).mean()),
           "f0_quantiles_hz": np.nanpercentile(f0, [10, 25, 50, 75, 90]).round(1).tolist(), "bands": []}
    for lo, hi in F0_BANDS:
        m = (f0 >= lo) & (f0 < hi)
        out["bands"].append({"f0_hz": [lo, hi], "n": int(m.sum()),
                             "under_0.5": float((s[m] < 0.5).mean()) if m.any() else None})
    out["synthetic_f0_quantiles_hz"] = synthetic_f0_quantiles(word)
    worst = np.argsort(s)[:n_worst]
    rand = np.random.default_rng(0).permutation(len(files))[:n_worst]
    clips = {i: load_audio(files[i]) for i in {*worst, *rand}}
    out["worst"], out["random"] = {}, {}
    for key, idx in (("worst", worst), ("random", rand)):
        out[key]["as recorded"] = _shift(s[idx], s[idx])
    for name, score_of in _changes(sess, cfg).items():
        for key, idx in (("worst", worst), ("random", rand)):
            out[key][name] = _shift(np.array([score_of(clips[i]) for i in idx]), s[idx])
    if speakers:
        out["speakers"] = speaker_coverage(word, files, s, np.array([r["floor_db"] for r in rows]))
    out["rows"] = rows
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--word", required=True)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--worst", type=int, default=40, help="how many of the lowest-scoring recordings to alter")
    ap.add_argument("--json", type=Path, help="write every recording's score, F0 and floor here")
    ap.add_argument("--no-speakers", action="store_true", help="skip the speaker-coverage section")
    a = ap.parse_args()
    r = diagnose(a.word.lower(), a.model, a.worst, speakers=not a.no_speakers)
    log(f"{a.model}: {r['recordings']} real recordings, {100 * r['under_0.5']:.1f}% score under 0.5; "
        f"median F0 quantiles 10/25/50/75/90%: {r['f0_quantiles_hz']} Hz (synthetic positives: "
        f"{r['synthetic_f0_quantiles_hz']} Hz)")
    for b in r["bands"]:
        u = "n/a" if b["under_0.5"] is None else f"{100 * b['under_0.5']:.1f}%"
        log(f"  F0 {b['f0_hz'][0]}-{b['f0_hz'][1]} Hz: {b['n']} recordings, {u} under 0.5")
    for key in ("worst", "random"):
        for name, v in r[key].items():
            log(f"  {a.worst} {key}, {name}: median score {v['median_score']:.3f}, {100 * v['over_0.5']:.0f}% over "
                f"0.5; {100 * v['up']:.0f}% rose and {100 * v['down']:.0f}% fell by more than 0.05")
    if "speakers" in r:
        sp = r["speakers"]
        log(f"speaker coverage by {sp['positives']} synthetic positives: Spearman with the score "
            f"{sp['spearman']:.2f} ({sp['spearman_floor_partialled']:.2f} with the noise floor partialled out)")
        for f in sp["fifths"]:
            log(f"  coverage {f['coverage'][0]:.3f}-{f['coverage'][1]:.3f}: {f['n']} recordings, "
                f"{100 * f['under_0.5']:.0f}% under 0.5, median score {f['median_score']:.3f}")
        g = sp["speakers"]
        missed = sum(x["missed"] for x in g)
        log(f"  {len(g)} speaker groups (embedding distance < {SAME_SPEAKER}); the {missed} recordings under 0.5 "
            f"by group: " + ", ".join(f"{x['missed']}/{x['n']} (coverage {x['coverage']:.3f})" for x in g if x["missed"]))
    if a.json:
        a.json.write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
