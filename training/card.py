"""Model card models/<word>.md from the JSON records the stages leave in ~/.cache/hushword/train/<word>/."""

from __future__ import annotations

from pathlib import Path

from .common import load_json, word_dir


def _pct(v):
    return "n/a" if v is None else f"{100 * v:.1f}%"


EVAL_SETS = {"val": ("negatives-val", "Unseen negatives (validation split)"),
             "all": ("negatives-all", "All real negative speech (train split included)")}


def eval_command(word: str, onnx_path: Path, negatives: str, json_out: str | None = None) -> str:
    """The `hushword eval` command of the card (real positives where ../shared/data has them)."""
    from .evalsets import REAL_POSITIVES

    e = f"~/.cache/hushword/eval/{word}"
    pos = f"{e}/positives-real" if word in REAL_POSITIVES else f"~/.cache/hushword/synth/test-{word}"
    cmd = (f"hushword eval --positives {pos} --negatives {e}/{negatives} \\\n    --model {onnx_path} "
           f"--noise {e}/noise --snr 10 --target-fa-per-hour 0.5")
    return cmd + (f" --json {json_out}" if json_out else "")


def eval_section(word: str, onnx_path: Path) -> list[str]:
    """Tables from the `hushword eval` reports saved as ~/.cache/hushword/eval/<word>/report-{val,all}.json
    (written by the commands the section prints); empty when there are none."""
    from .common import CACHE

    L = []
    for key, (folder, title) in EVAL_SETS.items():
        rep = load_json(CACHE / "eval" / word / f"report-{key}.json")
        if not rep:
            continue
        if not L:
            L.append("\n## Measured with `hushword eval` on real audio\n")
        hours = rep["results"][0]["negative_hours"]
        L.append(f"{title}, {hours:.3f} h with the gaps around the positives; {rep['positives']} positives:\n")
        L.append("```sh\n" + eval_command(word, onnx_path, folder,
                                           f"~/.cache/hushword/eval/{word}/report-{key}.json") + "\n```\n")
        L.append("| condition | point | threshold | FRR | false accepts |\n|---|---|---|---|---|")
        for r in rep["results"]:
            pts = [("default", r["at_default"])] + [(f"at {p['requested_fa_per_hour']:g} FA/h", p)
                                                     for p in r["at_fa_per_hour"]]
            for name, p in pts:
                L.append(f"| {r['condition']} | {name} | {p['threshold']:.4f} | {100 * p['frr']:.2f}% "
                         f"({p['missed']}/{r['positives']}) | {p['false_accepts']} in {r['negative_hours']:.3f} h "
                         f"({p['fa_per_hour']:.3f}/h) |")
            lat = r.get("latency") or {}
            if lat.get("detected"):
                L.append(f"| {r['condition']} | latency | | after the end of speech ({lat['detected']} detected): "
                         f"median {lat['median_s']:.3f} s, p95 {lat['p95_s']:.3f} s | |")
        L.append("")
    return L


def write_card(word: str, onnx_path: Path) -> Path:
    wd = word_dir(word)
    rep = load_json(wd / "report.json", {})
    cal = rep.get("calibration", {})
    out = Path(onnx_path).with_suffix(".md")
    shipped = rep.get("shipped_threshold") or cal.get("threshold", float("nan"))
    L = []
    a = L.append
    a(f"# hushword model card: \"{word}\"\n")
    a(f"File: `{Path(onnx_path).name}` ({rep.get('onnx_bytes', 0) / 1024:.1f} KiB). Keyword `{word}`, "
      f"recommended threshold **{shipped:.4f}**, evaluated every "
      f"{rep.get('hop_frames', 3)} frames (30 ms) on a {rep.get('window_frames', 100)}-frame (1 s) window; "
      f"word duration {rep.get('word_duration_ms')} ms (median of the synthetic positives).\n")
    a("## Training data\n")
    a("No real recording of the wake word was used for training or model selection. Positives are "
      "synthetic text-to-speech only; real recordings are used as negatives (and, for \"computer\", only "
      "to measure).\n")
    a("| synthetic set | clips | minutes | clips per engine | voices per engine |\n|---|---|---|---|---|")
    for name, s in rep.get("synth", {}).items():
        a(f"| `{name}` | {s['clips']} | {s['minutes']} | {s['per_engine']} | {s['voices']} |")
    a("\n`test-*` sets use held-out voices and are never trained on; they select checkpoints and "
      "calibrate the threshold.\n")
    a("| real negative corpus | category | train h | validation h |\n|---|---|---|---|")
    for c in rep.get("corpora", []):
        a(f"| {c['name']} | {c['category']} | {c['train_h']:.3f} | {c['val_h']:.3f} |")
    if rep.get("excluded"):
        a(f"\nExcluded (they contain the word): {', '.join(rep['excluded'])}. Split: 70/30 by a hash of the "
          "file path (10 s chunks for long files); the speaker-labelled corpora (`real-*`: speechocean762, "
          "LibriSpeech dev-clean) 50/50 by speaker, so validation speakers are never trained on; lists in "
          "`~/.cache/hushword/train/<word>/split-*.txt`.\n")
    pool = rep.get("pool", {})
    a(f"\nTraining pool: {pool.get('pos', '?')} positive and {pool.get('neg', '?')} negative sequences of "
      f"2.8 s, plus {pool.get('hard', 0)} mined hard negatives ({rep.get('rounds', '?')} mining rounds).\n")
    a("## Augmentation\n")
    kn = pool.get("knobs", {})
    if kn.get("p_knnvc", 0) > 0:
        a(f"- word clip (positives, near-misses and other words alike): a real speaker's voice "
          f"({100 * kn['p_knnvc']:.0f}%): nearest-neighbour voice conversion (training/knnvc.py) to one of the "
          "training-split speakers of the speaker-labelled corpora, each frame's spectrum replaced by the mean "
          "of its 4 nearest frames of that speaker's speech (MFCCs with a local mean removed), Griffin-Lim")
    if kn.get("p_voice", 0) > 0:
        lo, hi = kn["voice_f0"]
        a(f"- word clip (positives, near-misses and other words alike): another speaker's voice range "
          f"({100 * kn['p_voice']:.0f}%): WORLD vocoder, F0 moved {lo:+g}..{hi:+g} semitones and the formants "
          f"by 0.3 of that +-{kn['voice_formant_jitter']:g} semitones (clipped to -2..+4); the others pitch "
          "shift +-2 semitones (30%); then speed perturbation 0.85-1.15 (resampling)")
    else:
        a("- word clip: speed perturbation 0.85-1.15 (resampling), pitch shift +-2 semitones (30%)")
    if kn.get("pos_engine_temper", 1.0) != 1.0:
        a(f"- positives drawn with TTS engine shares proportional to clips^{kn['pos_engine_temper']:g} "
          "(less Kokoro than synthesized)")
    a("- placement: random offset; real or TTS speech before it (60%), a TTS command from the same voice "
      "right after it (45%), or real speech after it\n"
      "- room: pyroomacoustics shoebox RIR bank (200 rooms, RT60 0.1-0.8 s), 50%\n"
      "- noise: real noise and music (train split), real babble, coloured noise; SNR 0-30 dB, 70%\n"
      "- microphone: 1-3 random peaking EQs (150 Hz-6 kHz, +-8 dB; 50%), high-pass 100-400 Hz, low-pass "
      "3.4-7.8 kHz (50%), self-noise floor, level -30..-1 dBFS peak\n"
      + (f"- vocal tract length perturbation on the features, drawn anew every time a sequence is used "
         f"(positives and negatives alike, 80%): the spectral envelope moved along frequency by a factor "
         f"{1 / (1 + rep['vtlp']):.3f}-{1 + rep['vtlp']:.3f} (`train.VocalTractWarp`)\n" if rep.get("vtlp") else "")
      + (f"- loss of the real-voice frames (real-speech negatives) weighted {rep['real_weight']:g}\n"
         if rep.get("real_weight", 1.0) != 1.0 else "")
      + (f"- weights averaged over the last {100 * rep['swa']:.0f}% of the steps of each round "
         "(`train.WeightAverage`)\n" if rep.get("swa") else "")
      + "- SpecAugment on features: 2 time masks (<= 10 frames), 2 coefficient masks (<= 3)\n"
      "- negatives: real speech (+ overlapping TTS), TTS sentences, TTS near-misses and other wake words "
      "embedded like positives, truncated starts of the word, noise/music, near-silence\n"
      "- mined hard negatives: found on the clean train-split streams and on copies under real noise at "
      "0-15 dB SNR, then re-augmented exactly like the positives (so no condition is a cue for the word)\n")
    a("## Model\n")
    m = rep.get("model", {})
    a(f"Causal temporal CNN, time last: fixed per-feature normalisation -> causal Conv1d(20->{m.get('channels')}, "
      "k=3) -> 5 residual blocks [causal depthwise Conv1d k=5, dilations 1,2,4,8,8 -> BN -> ReLU -> "
      "pointwise conv -> BN -> ReLU] -> 1x1 conv -> sigmoid at the last frame. BatchNorm folded at export. "
      f"Receptive field {m.get('rf')} frames (<= 100, so the full-window and streaming forms agree).\n")
    a(f"- parameters: {m.get('params')}\n- MACs per evaluation (full window): {m.get('macs_per_eval', 0):,}\n"
      f"- MACs per second of audio (one evaluation per 30 ms): {m.get('macs_per_s', 0):,}\n"
      f"- per-frame loss: target 1 from the word end to +250 ms, ignored from -150 ms to the end, 0 elsewhere\n")
    a("## Measured accuracy\n")
    a(f"Validation negatives: {cal.get('neg_hours', 0):.3f} h of real audio never trained on (list above). "
      "Events: smoothing over 2 evaluations, refractory 1.5 s.\n")
    a(f"At the calibrated threshold {cal.get('threshold', float('nan')):.4f} "
      f"(max validation-negative score {cal.get('max_neg', float('nan')):.4f} plus a margin)"
      + (f"; the model ships with {shipped:.4f}, the lowest threshold with no false accept in all the real "
         "negative speech, clean and at 10 dB SNR (`hushword eval` below)" if rep.get("shipped_threshold") else "")
      + ":\n")
    a("| measure | value |\n|---|---|")
    a(f"| false accepts on validation negatives | {cal.get('fa')} ({cal.get('fa_per_hour', 0):.2f} per hour) |")
    for k, v in cal.items():
        if k.startswith("frr_"):
            name = {"frr_pos-clean": "FRR, held-out synthetic voices, clean",
                    "frr_pos-snr10": "FRR, held-out synthetic voices, 10 dB SNR real noise",
                    "frr_real-clean": f"FRR, REAL \"{word}\" recordings (report only), clean",
                    "frr_real-snr10": f"FRR, REAL \"{word}\" recordings (report only), 10 dB SNR"}.get(k, k)
            a(f"| {name} | {_pct(v)} |")
    if rep.get("per_engine"):
        a("\nFRR per TTS engine of the held-out voices (and per source for real recordings):\n")
        for k, d in rep["per_engine"].items():
            a(f"- {k}: " + ", ".join(f"{e} {_pct(v['frr'])} (n={v['n']})" for e, v in d.items()))
    if rep.get("curve"):
        a("\nThreshold sweep:\n")
        keys = [k for k in rep["curve"][0] if k.startswith("frr_")]
        a("| threshold | FA | FA/h | " + " | ".join(keys) + " |\n|" + "---|" * (3 + len(keys)))
        for r in rep["curve"]:
            a(f"| {r['threshold']:.5f} | {r['fa']} | {r['fa_per_hour']:.2f} | "
              + " | ".join(_pct(r[k]) for k in keys) + " |")
    shown = Path("models") / Path(onnx_path).name if Path(onnx_path).parent.name == "models" else Path(onnx_path)
    L += eval_section(word, shown)
    a("\n## Reproduce\n")
    a("```sh\ntraining/setup.sh                      # once: apt + pip packages, venv in ~/.cache/hushword/venv\n"
      "source ~/.cache/hushword/venv/bin/activate\n"
      f"python -m training make --word {word} --out models/{word}.onnx {rep.get('make_args', '')}\n"
      + (f"python -m training export --word {word} --threshold {shipped:g}   # the shipped threshold\n"
         if rep.get("shipped_threshold") else "") +
      f"python -m training calibrate --word {word}   # re-measure the numbers above\n```\n")
    if rep.get("timings"):
        a("Stage timings on 2 CPU cores (seconds): " + ", ".join(f"{k} {v}" for k, v in rep["timings"].items()) + "\n")
    out.write_text("\n".join(L) + "\n")
    return out
