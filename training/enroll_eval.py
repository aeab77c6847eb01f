"""Per-speaker evaluation of speaker profiles (docs/enroll.md).

    python -m training.enroll_eval --groups groups.json --model models/computer.onnx \\
        --negatives ~/.cache/hushword/eval/computer/negatives-val --out docs/enroll-computer.json

For every speaker group (from training.speakers) with at least --min-clips clips: the first
--enrol clips (in file-name order, i.e. random for the uuid-named collections) enrol a profile
with `hushword enroll`; the rest are the test clips. `hushword eval` then scores the test clips
(clean, and mixed with --noise at 10 dB) without and with the profile, and the false accepts per
hour with the profile active on --negatives. Prints the per-speaker table (markdown) and writes
every number to --out. Only the hushword binary does the work; this script only drives it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import REPO, log

BIN = Path(os.environ.get("HUSHWORD_BIN", REPO / "target" / "release" / "hushword"))


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True)


def evaluate(model, positives: Path, negatives, profile, mode_args, threads, noise=None) -> dict:
    """Runs hushword eval (clean, or at 10 dB of `noise`); returns its result at the model's
    threshold with the set of missed clip names."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [BIN, "eval", "--model", model, "--positives", positives, "--negatives", *negatives,
               "--threads", threads, "--json", out.name]
        if noise:
            cmd += ["--noise", noise, "--snr", "10"]
        if profile:
            cmd += ["--profile", profile, *mode_args]
        p = run(cmd)
        if p.returncode != 0:
            raise RuntimeError(f"eval failed: {p.stderr.strip()}")
        report = json.loads(Path(out.name).read_text())
    result = report["results"][-1]  # the noisy condition when there is one
    at = result["at_default"]
    return {
        "condition": result["condition"],
        # `hushword eval` lists each miss as {"file", "best_score", "best_time_s"}
        "missed": sorted(Path(m["file"] if isinstance(m, dict) else m).name for m in result["missed"]),
        "positives": result["positives"],
        "false_accepts": at["false_accepts"],
        "negative_hours": result["negative_hours"],
        "fa_per_hour": at["fa_per_hour"],
    }


def link(clips, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for c in clips:
        (folder / Path(c).name).symlink_to(Path(c).resolve())
    return folder


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--groups", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--negatives", type=Path, nargs="+", required=True)
    ap.add_argument("--noise", type=Path, help="noise folder for the 10 dB condition")
    ap.add_argument("--min-clips", type=int, default=6)
    ap.add_argument("--enrol", type=int, default=3)
    ap.add_argument("--only-enrolled", action="store_true")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    groups = [sorted(g) for g in json.loads(args.groups.read_text())["groups"]]
    groups = [g for g in groups if len(g) >= args.min_clips]
    mode = ["--only-enrolled"] if args.only_enrolled else []
    work = Path(tempfile.mkdtemp(prefix="enroll_eval_"))
    # The 10 dB condition measures misses only: its negatives are the shipped 5 s clip.
    short_negatives = [REPO / "data" / "no_wakeword.wav"]
    summary = {"groups": []}
    for gi, clips in enumerate(groups):
        enrol, test = clips[: args.enrol], clips[args.enrol:]
        tdir = link(test, work / f"g{gi}")
        row = {"group": gi, "clips": len(clips), "enrol": enrol, "tests": len(test)}
        # Base and profile see the very same streams (same clips, seed, gaps and noise).
        clean = evaluate(args.model, tdir, args.negatives, None, mode, args.threads)
        row["base"] = {"clean": clean["missed"]}
        row["base_fa_per_hour"] = clean["fa_per_hour"]
        summary["negative_hours"] = clean["negative_hours"]
        if args.noise:
            noisy = evaluate(args.model, tdir, short_negatives, None, mode, args.threads, args.noise)
            row["base"]["snr_10db"] = noisy["missed"]
        profile = work / f"g{gi}.profile"
        p = run([BIN, "enroll", "--model", args.model, "--out", profile, *enrol])
        if p.returncode != 0:
            row["refused"] = p.stderr.strip()
            log(f"group {gi}: enrolment refused: {row['refused'].splitlines()[0]}")
        else:
            row["enrolled"] = p.stdout
            clean = evaluate(args.model, tdir, args.negatives, profile, mode, args.threads)
            row["profile"] = {"clean": clean["missed"]}
            row["fa_per_hour"] = clean["fa_per_hour"]
            row["false_accepts"] = clean["false_accepts"]
            if args.noise:
                noisy = evaluate(args.model, tdir, short_negatives, profile, mode, args.threads,
                                 args.noise)
                row["profile"]["snr_10db"] = noisy["missed"]
        log(f"group {gi}: " + json.dumps({k: row.get(k) for k in ("tests", "base_fa_per_hour", "fa_per_hour")})
            + " missed " + json.dumps({w: {c: len(m) for c, m in row.get(w, {}).items()} for w in ("base", "profile")}))
        summary["groups"].append(row)
        args.out.write_text(json.dumps(summary, indent=1))
    print_table(summary)
    return 0


def print_table(summary: dict) -> None:
    def frr(row, which, cond):
        missed = row.get(which, {}).get(cond)
        if missed is None:
            return "-"
        return f"{100 * len(missed) / row['tests']:.0f}% ({len(missed)}/{row['tests']})"

    print(f"negatives: {summary.get('negative_hours', 0):.2f} h")
    print("| group | clips | test | base FRR clean | profile FRR clean | base FRR 10 dB | profile FRR 10 dB | FA/h base | FA/h with profile |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in summary["groups"]:
        fa = f"{r['fa_per_hour']:.2f}" if "fa_per_hour" in r else "refused"
        print(f"| {r['group']} | {r['clips']} | {r['tests']} | {frr(r, 'base', 'clean')} | "
              f"{frr(r, 'profile', 'clean')} | {frr(r, 'base', 'snr_10db')} | "
              f"{frr(r, 'profile', 'snr_10db')} | {r['base_fa_per_hour']:.2f} | {fa} |")


if __name__ == "__main__":
    sys.exit(main())
