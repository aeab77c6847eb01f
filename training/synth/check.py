"""Summarise a synth output folder: python -m training.synth.check [--out DIR]."""
from __future__ import annotations

import argparse
import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from . import voices


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(voices.CACHE / "synth"))
    out = Path(os.path.expanduser(ap.parse_args(argv).out))
    for man in sorted(out.glob("*/manifest.jsonl")):
        recs = [json.loads(l) for l in man.read_text(encoding="utf-8").splitlines() if l.strip()]
        by = defaultdict(list)
        for r in recs:
            by[r["engine"]].append(r["duration_s"])
        failed = out / man.parent.name / "failed.jsonl"
        nf = len(failed.read_text().splitlines()) if failed.exists() else 0
        print(f"{man.parent.name}: {len(recs)} clips, {nf} failed, {sum(sum(v) for v in by.values()) / 60:.1f} min")
        for e, d in sorted(by.items(), key=lambda kv: -len(kv[1])):
            d = np.array(d)
            print(f"  {e:9s} {len(d):5d}  dur {d.min():.2f}/{np.median(d):.2f}/{d.max():.2f} s")
        ps = Counter(r["phonemes"] for r in recs if r.get("phonemes") and man.parent.name.split("-")[0] in ("pos", "test"))
        if ps:
            print("  kokoro phonemes:", ", ".join(f"{p!r} x{n}" for p, n in ps.most_common(6)))
        held = [r for r in recs if r["engine"] == "kokoro" and any(h in (r.get("voice") or "") for h in voices.HELD_OUT_VOICES)]
        if held and not man.parent.name.startswith("test"):
            print(f"  WARNING: {len(held)} training clips use held-out voices")


if __name__ == "__main__":
    main()
