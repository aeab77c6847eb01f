"""One command from a word to a model: synthesis, evaluation folders, then `make`.

    python -m training word "hey robot"            # -> models/hey-robot.onnx and its card

A thin wrapper over the existing stages, run in this order (each resumes, so re-running after an
interruption continues where it stopped):

1. `python -m training.synth --word W --engines kokoro --budget-minutes K` (neural voices, slow)
2. `python -m training.synth --word W --engines fast --target-pos N` (the other TTS engines)
3. `python -m training.evalsets --word W` (folders for `hushword eval`)
4. `python -m training make --word W --out models/<W>.onnx [make knobs]`

Anything after `--` is passed to `make` as it is (e.g. `-- --swa 0.3 --quick`). See
docs/custom-word.md for what it needs and what to expect.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from .common import REPO, SHARED_DATA


def model_name(word: str) -> str:
    """File-name form of a word or phrase: lower case, runs of other characters as one `-`."""
    return re.sub(r"[^a-z0-9]+", "-", word.lower()).strip("-") or "word"


def steps(word: str, out: Path, kokoro_minutes: float, fast_positives: int, make_args: list[str]):
    """The commands, in order, as argument lists for `python -m`."""
    synth = ["training.synth", "--word", word]
    return [
        synth + ["--engines", "kokoro", "--budget-minutes", str(kokoro_minutes)],
        synth + ["--engines", "fast", "--target-pos", str(fast_positives)],
        ["training.evalsets", "--word", word],
        ["training", "make", "--word", word, "--out", str(out)] + make_args,
    ]


def check_real_audio() -> None:
    """Exit with a clear message when there is no real negative audio to train against."""
    from .corpora import corpus_specs

    if not corpus_specs():
        sys.exit(
            f"no real audio found under {SHARED_DATA}: the model learns what is *not* the word from real "
            "recordings. Point HUSHWORD_DATA at a folder holding speech as FLAC under speech/ and noise as WAV "
            "under noise/ (any rate; convert with `ffmpeg -i in.mp3 -ar 16000 -ac 1 out.flac`), e.g. "
            "`HUSHWORD_DATA=~/my-audio python -m training word ...`; see docs/custom-word.md")


def main(argv: list[str]) -> None:
    make_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, make_args = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(prog="python -m training word", description=__doc__.splitlines()[0])
    p.add_argument("word", help='the wake word or phrase, e.g. "hey robot"')
    p.add_argument("--out", type=Path, help="model file (default models/<word>.onnx, spaces as -)")
    p.add_argument("--kokoro-minutes", type=float, default=60,
                   help="time budget of the Kokoro (neural) synthesis, the slow part (default 60)")
    p.add_argument("--fast-positives", type=int, default=4500,
                   help="word clips from the fast TTS engines (default 4500)")
    p.add_argument("--dry-run", action="store_true", help="print the commands only")
    a = p.parse_args(argv)
    word = " ".join(a.word.lower().split())
    out = a.out or REPO / "models" / f"{model_name(word)}.onnx"
    commands = steps(word, out, a.kokoro_minutes, a.fast_positives, make_args)
    if a.dry_run:
        for c in commands:
            print("python -m " + " ".join(f'"{x}"' if " " in x else x for x in c))
        return
    check_real_audio()
    for c in commands:
        print("==> python -m " + " ".join(c), flush=True)
        done = subprocess.run([sys.executable, "-m"] + c, cwd=REPO)
        if done.returncode != 0:
            sys.exit(f"`python -m {' '.join(c)}` failed (exit {done.returncode}); fix that and re-run: "
                     "finished stages are kept")
    print(f"model: {out}; card: {out.with_suffix('.md')}")
