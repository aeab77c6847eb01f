"""Group a folder of short clips by speaker (the wake-word collections name no speaker).

    python -m training.speakers --clips DIR [DIR ...] --out groups.json [--threshold 0.30]

Each clip gets a resemblyzer speaker embedding (a d-vector, unit length); clips are clustered
by agglomerative clustering with average linkage on cosine distance, cut at --threshold. The
command prints the group sizes and, as a check on the grouping, the mean cosine distance
within groups and between group centroids; the groups go to --out as JSON
({"threshold": t, "groups": [[path, ...], ...]}, largest first). docs/enroll.md uses it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .common import log


def embed(paths: list[Path]) -> np.ndarray:
    from resemblyzer import VoiceEncoder, preprocess_wav

    encoder = VoiceEncoder("cpu", verbose=False)
    out = np.zeros((len(paths), 256), np.float32)
    for i, p in enumerate(paths):
        wav = preprocess_wav(p)
        if len(wav) < 1600:  # trimmed to almost nothing: embed the raw clip instead
            import soundfile as sf

            wav, _ = sf.read(p, dtype="float32")
            wav = wav if wav.ndim == 1 else wav.mean(axis=1)
        out[i] = encoder.embed_utterance(wav)
    return out


def cluster(emb: np.ndarray, threshold: float) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=threshold
    )
    return model.fit_predict(emb)


def statistics(emb: np.ndarray, labels: np.ndarray) -> dict:
    """Mean cosine distance within groups (pairs) and between group centroids (groups >= 2)."""
    within, centroids = [], []
    for g in np.unique(labels):
        e = emb[labels == g]
        if len(e) < 2:
            continue
        d = 1.0 - e @ e.T
        within.append(d[np.triu_indices(len(e), 1)].mean())
        c = e.mean(axis=0)
        centroids.append(c / np.linalg.norm(c))
    c = np.array(centroids)
    between = 1.0 - c @ c.T if len(c) >= 2 else np.zeros((1, 1))
    iu = np.triu_indices(len(c), 1)
    return {
        "within_mean": float(np.mean(within)) if within else float("nan"),
        "between_mean": float(between[iu].mean()) if len(c) >= 2 else float("nan"),
        "between_min": float(between[iu].min()) if len(c) >= 2 else float("nan"),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", nargs="+", required=True, type=Path, help="folders of clips")
    ap.add_argument("--out", type=Path, required=True, help="groups as JSON")
    ap.add_argument("--threshold", type=float, default=0.30, help="cosine distance cut")
    args = ap.parse_args(argv)
    paths = []
    for d in args.clips:
        found = sorted(p for p in d.rglob("*") if p.suffix.lower() in (".wav", ".flac"))
        if not found:
            print(f"speakers: {d}: no .wav or .flac clips", file=sys.stderr)
            return 1
        paths += found
    log(f"embedding {len(paths)} clips")
    emb = embed(paths)
    labels = cluster(emb, args.threshold)
    groups = sorted(
        ([str(paths[i]) for i in np.flatnonzero(labels == g)] for g in np.unique(labels)),
        key=len,
        reverse=True,
    )
    stats = statistics(emb, labels)
    sizes = [len(g) for g in groups]
    print(f"{len(paths)} clips, {len(groups)} groups at cosine distance {args.threshold}")
    print(f"sizes: {sizes}")
    print(f"groups with >= 6 clips: {sum(s >= 6 for s in sizes)} ({sum(s for s in sizes if s >= 6)} clips)")
    print(
        f"mean distance within groups {stats['within_mean']:.3f}; between group centroids "
        f"mean {stats['between_mean']:.3f}, min {stats['between_min']:.3f}"
    )
    args.out.write_text(
        json.dumps({"threshold": args.threshold, "stats": stats, "groups": groups}, indent=1)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
