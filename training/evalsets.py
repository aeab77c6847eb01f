"""Folders of real audio for `hushword eval`, built from the training pipeline's corpus split.

    python -m training.evalsets --word computer

writes ~/.cache/hushword/eval/<word>/:
  negatives-val/   the validation split of the real negative corpora (never trained on)
  negatives-all/   every real negative recording (train + validation splits)
  positives-real/  (only for words with real recordings in ../shared/data) the real wake words,
                   which are never used for training
  noise/           the real noise recordings
WAV/FLAC files are symlinked; formats `hushword eval` cannot read (G.722 prompts) are decoded to
16 kHz WAV with the same loader the training pipeline uses.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import soundfile as sf

from .common import CACHE, SHARED_DATA, SR, load_audio, log

REAL_POSITIVES = {
    "computer": ["wakewords/computer", "precise/computer"],
    "jarvis": ["wakewords/jarvis"],
    "snowboy": ["wakewords/snowboy"],
}


def _readable_as_is(src: Path) -> bool:
    """A file hushword reads directly (RIFF WAV or FLAC); some corpora name MP3 streams .wav."""
    with open(src, "rb") as f:
        return f.read(4) in (b"RIFF", b"fLaC")


def _place(src: Path, dst_dir: Path, tag: str) -> None:
    dst_dir.mkdir(parents=True, exist_ok=True)
    name = f"{tag}__{src.stem}"
    if src.suffix.lower() in (".wav", ".flac") and _readable_as_is(src):
        dst = dst_dir / f"{name}{src.suffix.lower()}"
        if not dst.exists():
            os.symlink(src, dst)
        return
    dst = dst_dir / f"{name}.wav"
    if not dst.exists():
        x = load_audio(src)
        tmp = dst.with_suffix(".tmp.wav")
        sf.write(str(tmp), x, SR, subtype="PCM_16")
        tmp.replace(dst)


def build(word: str) -> Path:
    root = CACHE / "eval" / word
    split_dir = CACHE / "train" / word
    if not (split_dir / "split-val.txt").exists():  # the split lists come from the corpora (cached)
        from .corpora import load_corpora, write_split_lists

        split_dir.mkdir(parents=True, exist_ok=True)
        write_split_lists(word, load_corpora(word, verbose=False), split_dir)
    # The validation split goes to both folders, the training split only to negatives-all.
    for split, folders in (("val", ("negatives-val", "negatives-all")), ("train", ("negatives-all",))):
        for row in (split_dir / f"split-{split}.txt").read_text().splitlines():
            corpus, path, _ = row.split("\t")
            path = path.split("#", 1)[0]  # long recordings are split into segments "file#k"
            if corpus in ("noise", "music"):
                continue
            for folder in folders:
                _place(Path(path), root / folder, corpus)
    for rel in REAL_POSITIVES.get(word, []):
        for p in sorted((SHARED_DATA / rel).glob("*.wav")):
            _place(p, root / "positives-real", rel.replace("/", "-"))
    for p in sorted((SHARED_DATA / "noise").rglob("*.wav")):
        _place(p, root / "noise", "noise")
    for sub in sorted(root.iterdir()):
        log(f"{sub}: {sum(1 for _ in sub.iterdir())} files")
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--word", required=True)
    build(ap.parse_args().word.lower())


if __name__ == "__main__":
    main()
