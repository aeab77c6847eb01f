"""Real negative corpora (never containing the target word) and the synthetic TTS sets.

Real audio is decoded once into ~/.cache/hushword/corpora/<name>.npy (int16, all files concatenated)
with a JSON index of segments. Each short file is one segment; long files (music, noise) are cut into
10 s chunks. Every segment gets a deterministic train/val split from a hash of `path` (or
`path#chunk`), 70/30; validation segments are never trained on.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import (ASTERISK_MOH, ASTERISK_SOUNDS, CACHE, SHARED_DATA, SR, SYNTH, from_i16, load_audio, log,
                     save_json, split_of, to_i16)

CHUNK_S = 10.0
LONG_FILE_S = 30.0
# Folders of real speech with speakers known (speechocean762, LibriSpeech, ... as downloaded), one
# corpus per subfolder, named real-<folder>: split by speaker, half of the speakers for validation,
# so that at least 5 h of real speech from speakers never trained on measures false accepts.
REAL_SPEECH = Path(os.environ.get("HUSHWORD_REAL_SPEECH", CACHE / "real"))
SPEAKER_VAL_FRACTION = 0.5
AUDIO_SUFFIXES = (".wav", ".flac")


def corpus_specs() -> list[tuple[str, str, list[Path]]]:
    """(name, category, files) for every real corpus that exists on this machine."""
    d = SHARED_DATA
    specs = []

    def add(name, cat, files):
        files = sorted(files)
        if files:
            specs.append((name, cat, files))

    for sub in sorted((d / "wakewords").glob("*")):
        if sub.is_dir():
            add(f"wakewords-{sub.name}", "speech", sub.glob("*.wav"))
    for sub in sorted((d / "precise").glob("*")):
        if sub.is_dir() and sub.name != "licenses":
            add(f"precise-{sub.name}", "speech", sub.glob("*.wav"))
    add("librispeech", "speech", (d / "speech").rglob("*.flac"))
    add("noise", "noise", (d / "noise").rglob("*.wav"))
    if ASTERISK_SOUNDS.exists():
        seen = set()
        for lang in sorted(ASTERISK_SOUNDS.iterdir()):
            real = lang.resolve()  # en, en_US are symlinks to one voice directory
            if real in seen or not real.is_dir() or lang.is_symlink():
                continue
            seen.add(real)
            files = [p for p in lang.rglob("*") if p.suffix in (".g722", ".wav") and "/silence/" not in str(p)]
            add(f"asterisk-{lang.name}", "speech", files)
    add("music", "music", ASTERISK_MOH.glob("*.wav"))
    for sub in speaker_corpus_roots():
        add(f"real-{sub.name}", "speech", (p for p in sub.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES))
    return specs


def speaker_corpus_roots() -> list[Path]:
    """The speaker-labelled real speech folders under REAL_SPEECH (none when it does not exist)."""
    return sorted(p for p in REAL_SPEECH.glob("*") if p.is_dir()) if REAL_SPEECH.is_dir() else []


def speaker_of(path: Path, root: Path) -> str:
    """The speaker of a file in a corpus laid out as the canonical downloads are: speechocean762
    `WAVE/SPEAKERnnnn/x.WAV`, LibriSpeech `<split>/<speaker>/<chapter>/x.flac`; otherwise its folder."""
    parts = path.relative_to(root).parts[:-1]
    for p in parts:
        if re.fullmatch(r"SPEAKER\d+", p, re.IGNORECASE):
            return p
    if len(parts) >= 2 and parts[-1].isdigit() and parts[-2].isdigit():
        return parts[-2]
    return parts[-1] if parts else path.stem


def transcripts(root: Path) -> dict[str, str]:
    """Utterance id (the file's stem) -> transcript, from Kaldi `text` files (speechocean762) and
    LibriSpeech `*.trans.txt` files anywhere under root."""
    out = {}
    for f in [*root.rglob("text"), *root.rglob("*.trans.txt")]:
        for line in f.read_text(errors="replace").splitlines():
            parts = line.split(maxsplit=1)  # "<id> <text>", a space or a tab between
            if len(parts) == 2:
                out[parts[0]] = parts[1].strip()
    return out


def says_word(text: str, word: str) -> bool:
    """Whether a transcript holds the word (or phrase) as whole words, case-insensitive."""
    return re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE) is not None


def speaker_root(corpus_name: str) -> Path | None:
    """The folder of a speaker-labelled corpus (real-<folder>), None for the others."""
    return REAL_SPEECH / corpus_name[len("real-"):] if corpus_name.startswith("real-") else None


def excluded(corpus_name: str, word: str) -> bool:
    """A corpus holding real recordings of the target word is never used for its model."""
    return word.lower() in corpus_name.lower().split("-")


@dataclass
class Corpus:
    name: str
    category: str
    audio: np.ndarray  # int16, memory-mapped
    segments: list  # dicts: key, path, start, length, split

    def hours(self, split: str | None = None) -> float:
        n = sum(s["length"] for s in self.segments if split is None or s["split"] == split)
        return n / SR / 3600

    def split_segments(self, split: str):
        return [s for s in self.segments if s["split"] == split]

    def segment_audio(self, seg) -> np.ndarray:
        return from_i16(self.audio[seg["start"]: seg["start"] + seg["length"]])

    def stream(self, split: str) -> np.ndarray:
        """All segments of a split concatenated (float32)."""
        segs = self.split_segments(split)
        if not segs:
            return np.zeros(0, np.float32)
        return np.concatenate([self.segment_audio(s) for s in segs])


def _build(name: str, cat: str, files: list[Path]) -> None:
    out = CACHE / "corpora"
    out.mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    root = speaker_root(name)
    parts, segs, pos = [], [], 0
    for f in tqdm(files, desc=f"decode {name}", leave=False, mininterval=2):
        try:
            x = load_audio(f)
        except Exception as e:  # noqa: BLE001
            log(f"skip {f}: {e}")
            continue
        if len(x) < SR // 10:
            continue
        x16 = to_i16(x)
        parts.append(x16)
        # speaker corpora: every segment of a speaker in one split; others: by file (or chunk)
        speaker = speaker_of(f, root) if root is not None else None
        split = (lambda key: split_of(f"{name}/{speaker}", SPEAKER_VAL_FRACTION)) if speaker else split_of
        extra = {"speaker": speaker} if speaker else {}
        if len(x) > LONG_FILE_S * SR:
            n = int(CHUNK_S * SR)
            for i, s in enumerate(range(0, len(x), n)):
                ln = min(n, len(x) - s)
                key = f"{f}#{i}"
                segs.append(dict(key=key, path=str(f), start=pos + s, length=ln, split=split(key), **extra))
        else:
            segs.append(dict(key=str(f), path=str(f), start=pos, length=len(x), split=split(str(f)), **extra))
        pos += len(x)
    audio = np.concatenate(parts) if parts else np.zeros(0, np.int16)
    np.save(out / f"{name}.npy", audio)
    save_json(out / f"{name}.json", dict(name=name, category=cat, files=[str(f) for f in files], segments=segs))


def load_corpora(word: str | None = None, verbose: bool = True) -> list[Corpus]:
    """All real corpora usable as negatives for `word` (all of them when word is None)."""
    out = CACHE / "corpora"
    result = []
    for name, cat, files in corpus_specs():
        if word is not None and excluded(name, word):
            continue
        idx = out / f"{name}.json"
        meta = json.loads(idx.read_text()) if idx.exists() else None
        if meta is None or meta["files"] != [str(f) for f in files] or not (out / f"{name}.npy").exists():
            _build(name, cat, files)
            meta = json.loads(idx.read_text())
        audio = np.load(out / f"{name}.npy", mmap_mode="r")
        segments = meta["segments"]
        root = speaker_root(name)
        if word is not None and root is not None:
            # a sentence that says the word is no negative for it (speechocean762 has two "computer")
            said = {u for u, t in transcripts(root).items() if says_word(t, word)}
            segments = [sg for sg in segments if Path(sg["path"]).stem not in said]
            if verbose and len(segments) < len(meta["segments"]):
                log(f"  {name}: {len(meta['segments']) - len(segments)} utterances saying '{word}' left out")
        result.append(Corpus(name, cat, audio, segments))
    if verbose:
        tot = {"train": 0.0, "val": 0.0}
        log(f"real negative corpora{' for ' + word if word else ''} (hours train / val):")
        for c in result:
            tr, va = c.hours("train"), c.hours("val")
            tot["train"] += tr
            tot["val"] += va
            log(f"  {c.name:32s} {c.category:7s} {tr:6.3f} / {va:6.3f}  ({len(c.segments)} segments)")
        log(f"  {'total':32s} {'':7s} {tot['train']:6.3f} / {tot['val']:6.3f}")
        if word is not None:
            ex = [n for n, _, _ in corpus_specs() if excluded(n, word)]
            log(f"  excluded (hold the word '{word}'): {ex or 'none'}")
    return result


def write_split_lists(word: str, corpora: list[Corpus], dest: Path) -> None:
    for split in ("train", "val"):
        with open(dest / f"split-{split}.txt", "w") as f:
            for c in corpora:
                for s in c.split_segments(split):
                    f.write(f"{c.name}\t{s['key']}\t{s['length'] / SR:.2f}\n")


# ----------------------------------------------------------------------------------------------
# Synthetic sets (written by training/synth into ~/.cache/hushword/synth/<set>/manifest.jsonl)


@dataclass
class SynthSet:
    name: str
    audio: np.ndarray  # int16 concatenated
    clips: list  # manifest entries + start, length (+ word_start, word_end for word sets)

    def clip(self, i: int) -> np.ndarray:
        c = self.clips[i]
        return from_i16(self.audio[c["start"]: c["start"] + c["length"]])

    def hours(self) -> float:
        return sum(c["length"] for c in self.clips) / SR / 3600


def word_bounds(x: np.ndarray, rel_db: float = 35.0, above_floor_db: float | None = None) -> tuple[int, int]:
    """Energy-based start/end (samples) of the speech in a short clip: 10 ms frames within rel_db of
    the loudest frame and, with above_floor_db (for real recordings, which carry room and microphone
    noise), also that far above the clip's noise floor (its 10th-percentile frame)."""
    n = 160
    m = len(x) // n
    if m < 3:
        return 0, len(x)
    e = 10 * np.log10(np.mean(x[: m * n].reshape(m, n) ** 2, axis=1) + 1e-10)
    floor = e.max() - rel_db
    if above_floor_db is not None:
        floor = max(floor, np.percentile(e, 10) + above_floor_db)
    on = np.nonzero(e > floor)[0]
    if len(on) == 0:
        return 0, len(x)
    return int(on[0] * n), int(min(len(x), (on[-1] + 1) * n))


def read_manifest(set_name: str) -> list[dict]:
    p = SYNTH / set_name / "manifest.jsonl"
    if not p.exists():
        return []
    items = []
    for line in p.read_text().splitlines():
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line being written right now
    return items


def load_synth(set_name: str, verbose: bool = True) -> SynthSet:
    """Decode a synthetic set into the cache (incrementally: clips already decoded are kept)."""
    out = CACHE / "synthcache"
    out.mkdir(parents=True, exist_ok=True)
    idx_p, npy_p = out / f"{set_name}.json", out / f"{set_name}.npy"
    old = json.loads(idx_p.read_text()) if idx_p.exists() and npy_p.exists() else {"clips": []}
    have = {c["path"] for c in old["clips"]}
    items = [m for m in read_manifest(set_name) if m.get("path") and m["path"] not in have]
    clips = list(old["clips"])
    if items:
        audio_old = np.load(npy_p) if npy_p.exists() and clips else np.zeros(0, np.int16)
        parts, pos = [audio_old], len(audio_old)
        word_set = set_name.startswith(("pos-", "test-", "adv-"))
        for m in items:
            p = Path(m["path"])
            if not p.is_absolute():  # relative to the synth root (or to the set's folder)
                p = SYNTH / p if (SYNTH / p).exists() else SYNTH / set_name / p
            try:
                x = load_audio(p)
            except Exception:  # noqa: BLE001 - missing/partial file: skip, next run picks it up
                continue
            if len(x) < 800 or not np.isfinite(x).all() or np.abs(x).max() < 1e-4:
                continue
            c = dict(m)
            c["path"] = m["path"]
            c["start"], c["length"] = pos, len(x)
            if word_set:
                c["word_start"], c["word_end"] = word_bounds(x)
            parts.append(to_i16(x))
            clips.append(c)
            pos += len(x)
        # Atomic replace: another `make` (other word) may be reading the shared sets right now.
        tmp = npy_p.with_name(f"{npy_p.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, np.concatenate(parts))
        os.replace(tmp, npy_p)
        save_json(idx_p, {"clips": clips})
    audio = np.load(npy_p, mmap_mode="r") if npy_p.exists() and clips else np.zeros(0, np.int16)
    s = SynthSet(set_name, audio, clips)
    if verbose:
        engines = {}
        for c in clips:
            engines[c.get("engine", "?")] = engines.get(c.get("engine", "?"), 0) + 1
        log(f"synth {set_name:14s}: {len(clips):5d} clips, {s.hours() * 60:6.1f} min  {engines}")
    return s


def synth_summary(s: SynthSet) -> dict:
    eng, voices = {}, {}
    for c in s.clips:
        e = c.get("engine", "?")
        eng[e] = eng.get(e, 0) + 1
        voices.setdefault(e, set()).add(str(c.get("voice", "?")))
    return {"clips": len(s.clips), "minutes": round(s.hours() * 60, 1), "per_engine": eng,
            "voices": {e: len(v) for e, v in voices.items()}}
