"""Compare training recipes on one pool: several seeds of each arm, measured with `hushword eval`.

    python -m training.arms --word computer --arm plain= --arm swa="--swa 0.3" --seeds 0,1

Why: two seeds of one recipe differ by 7 points of real FRR at 0.5 false accepts per hour and by 12
at 5 per hour (training/README.md), so one run of an arm is no evidence. Each arm trains from random
weights on the word's current pool (build it first with `python -m training dataset ...`: pool knobs
such as --p-voice belong to the pool, not to an arm) for --epochs x --steps, without mining. Its
checkpoint is calibrated on the validation data as `calibrate` does and exported to
~/.cache/hushword/arms/<word>/<arm>-s<seed>.onnx, without touching the word's own checkpoints or
report; a model already there for the same recipe is kept (resumable). One `hushword eval` run
then measures every model on the folders of `training.evalsets` (the validation split of the real
negatives, never trained on; the real recordings of the word where there are any, else the held-out
synthetic voices), clean and with real noise at 10 dB SNR, and the table gives each seed and the
mean of the seeds.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
from pathlib import Path

import numpy as np

from .common import CACHE, REPO, SYNTH, load_json, log, save_json, set_threads

FA_POINTS = (0.5, 5.0)


def arm_knobs(text: str) -> dict:
    """The train() keyword arguments of an arm's command-line text, e.g. "--swa 0.3 --channels 48"."""
    from .common import TRAIN_KNOBS, add_knob_args

    p = argparse.ArgumentParser(prog="arm", add_help=False, exit_on_error=False)
    add_knob_args(p)
    known = ", ".join(k[0] for k in TRAIN_KNOBS)
    try:
        knobs, rest = p.parse_known_args(shlex.split(text))
    except (argparse.ArgumentError, ValueError) as e:
        raise SystemExit(f"arm '{text}': {e} (knobs: {known})") from None
    if rest:
        raise SystemExit(f"arm '{text}': unknown {' '.join(rest)!r} (knobs: {known})")
    if knobs.cmn:
        raise SystemExit(f"arm '{text}': --cmn models cannot be exported, so no arm can measure them; use "
                         "`python -m training train --cmn N`, which prints their validation figures")
    return vars(knobs)


def train_arm(word: str, name: str, knobs: dict, seed: int, epochs: int, steps: int, out_dir: Path) -> Path:
    """Trains one seed of an arm and exports it at its calibrated threshold; returns the ONNX path."""
    from .export import export_calibrated
    from .train import load_model, train

    ck = out_dir / f"{name}-s{seed}.pt"
    onnx_path = ck.with_suffix(".onnx")
    recipe = dict(knobs, epochs=epochs, steps=steps, seed=seed)
    stamp = ck.with_suffix(".recipe.json")
    if onnx_path.exists() and load_json(stamp, {}) == recipe:  # resumable; a changed recipe retrains
        log(f"{onnx_path} exists for this recipe: kept")
        return onnx_path
    train(word, 0, epochs, steps_per_epoch=steps, seed=seed, out=ck, **knobs)
    export_calibrated(load_model(ck, knobs["channels"]), word, onnx_path)
    save_json(stamp, recipe)
    return onnx_path


def hushword_eval(word: str, models: list[Path], out_json: Path) -> dict:
    """One `hushword eval` run over every model (the release binary of this checkout)."""
    exe = REPO / "target" / "release" / "hushword"
    if not exe.exists():
        raise SystemExit(f"{exe} is missing: run `cargo build --release` first")
    ev = CACHE / "eval" / word
    if not (ev / "negatives-val").exists():
        raise SystemExit(f"no evaluation folders in {ev}: run `python -m training.evalsets --word {word}`")
    # real recordings of the word where there are any (computer), else the held-out synthetic voices
    pos = ev / "positives-real" if (ev / "positives-real").exists() else SYNTH / f"test-{word}"
    cmd = [str(exe), "eval", "--positives", str(pos),
           "--negatives", str(ev / "negatives-val"), "--noise", str(ev / "noise"), "--snr", "10",
           "--target-fa-per-hour", str(FA_POINTS[0]), "--json", str(out_json)]
    for m in models:
        cmd += ["--model", str(m)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out_json.read_text())


def frr_at(result: dict, fa_per_hour: float) -> float:
    """FRR at the lowest threshold of the report's curve with at most fa_per_hour false accepts."""
    ok = [p["frr"] for p in result["curve"] if p["fa_per_hour"] <= fa_per_hour]
    return min(ok) if ok else 1.0


def table(report: dict, runs: dict[str, list[Path]]) -> list[str]:
    """Markdown rows: per arm, each seed's and the mean FRR at FA_POINTS, clean / 10 dB."""
    by_model = {}
    for r in report["results"]:
        by_model.setdefault(r["model"], {})[r["condition"]] = r
    head = " | ".join(f"FRR at {fa:g} FA/h, clean / 10 dB" for fa in FA_POINTS)
    rows = [f"| arm | seed | {head} |", "|---|---|" + "---|" * len(FA_POINTS)]
    for name, paths in runs.items():
        vals = []
        for p in paths:
            conds = by_model[str(p)]
            v = [[frr_at(conds[c], fa) for c in ("clean", "snr_10db")] for fa in FA_POINTS]
            vals.append(v)
            rows.append(f"| {name} | {p.stem.rsplit('-s', 1)[1]} | "
                        + " | ".join(f"{100 * a:.1f}% / {100 * b:.1f}%" for a, b in v) + " |")
        mean = np.mean(np.array(vals), axis=0)
        rows.append(f"| {name} | mean | " + " | ".join(f"{100 * a:.1f}% / {100 * b:.1f}%" for a, b in mean) + " |")
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--word", required=True)
    ap.add_argument("--arm", action="append", required=True,
                    help="NAME=KNOBS, e.g. plain= or swa='--swa 0.3' (repeat)")
    ap.add_argument("--seeds", default="0,1", help="comma list of training seeds")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    set_threads(a.threads)
    word = a.word.lower()
    arms = {}
    for spec in a.arm:
        name, sep, text = spec.partition("=")
        if not sep or not name or "-s" in name:
            raise SystemExit(f"--arm {spec!r}: expected NAME=KNOBS with a NAME free of '-s', e.g. plain=")
        arms[name] = arm_knobs(text)
    try:
        seeds = [int(s) for s in a.seeds.split(",")]
    except ValueError:
        raise SystemExit(f"--seeds {a.seeds!r}: expected a comma list of integers") from None
    out_dir = CACHE / "arms" / word
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = {name: [train_arm(word, name, k, s, a.epochs, a.steps, out_dir) for s in seeds]
            for name, k in arms.items()}
    report = hushword_eval(word, [p for ps in runs.values() for p in ps], out_dir / "eval.json")
    rows = table(report, runs)
    (out_dir / "table.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))
    log(f"models, eval.json and table.md in {out_dir}")


if __name__ == "__main__":
    main()
