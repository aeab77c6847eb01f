"""Plan + generation loop: deterministic per-clip specs, interleaved rounds, resumable."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from . import audio as A
from . import texts, voices

KOKORO = "kokoro"
FAST = ["piper", "rhvoice", "pico", "festival", "mbrola", "espeak", "flite"]
ALL_ENGINES = [KOKORO] + FAST

# Clips per engine for the default targets (pos 1500, adv 1500, speech 400, test 150).
MIX = {
    "pos": {"kokoro": 1000, "piper": 110, "rhvoice": 90, "pico": 60, "festival": 70, "mbrola": 60,
            "espeak": 70, "flite": 40},
    "adv": {"kokoro": 800, "piper": 150, "rhvoice": 130, "pico": 80, "festival": 100, "mbrola": 90,
            "espeak": 100, "flite": 50},
    "speech": {"kokoro": 200, "piper": 40, "rhvoice": 40, "pico": 25, "festival": 25, "mbrola": 25,
               "espeak": 30, "flite": 15},
    "test": {"kokoro": 150},
}
DEFAULT_TARGET = {k: sum(v.values()) for k, v in MIX.items()}
DUR_LIMITS = {"pos": (0.25, 2.5), "test": (0.25, 2.5), "adv": (0.15, 3.5), "speech": (1.0, 12.0)}


def _rng(*keys) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(str(k).encode()) for k in keys])


def _choice_w(rng, items):
    w = np.array([x[1] for x in items], float)
    return items[rng.choice(len(items), p=w / w.sum())][0]


def set_kind(name: str) -> str:
    return name.split("-")[0]


def allocation(kind: str, target: int) -> dict[str, int]:
    mix = MIX[kind]
    tot = sum(mix.values())
    return {e: int(round(n * target / tot)) for e, n in mix.items()}


class Planner:
    def __init__(self, words: list[str], out: Path, seed: int = 1234):
        self.words = [w.lower() for w in words]
        self.seed = seed
        self.out = out
        self.neigh = {}
        for w in self.words:
            f = out / f"nearmiss-{w}.json"
            if f.exists():
                self.neigh[w] = json.loads(f.read_text())
            else:
                self.neigh[w] = texts.near_misses(w)
                out.mkdir(parents=True, exist_ok=True)
                f.write_text(json.dumps(self.neigh[w], indent=0))

    def text_for(self, set_name: str, rng) -> str:
        kind = set_kind(set_name)
        if kind == "speech":
            return texts.speech_sentence(rng, exclude=tuple(self.words))
        word = set_name.split("-", 1)[1]
        if kind in ("pos", "test"):
            return _choice_w(rng, texts.positive_texts(word))
        return texts.adversarial_text(word, self.neigh[word], rng)

    def spec(self, set_name: str, engine: str, i: int) -> dict:
        """Everything needed to synthesize clip i of (set, engine); deterministic."""
        rng = _rng(self.seed, set_name, engine, i)
        text = self.text_for(set_name, rng)
        s = {"id": f"{engine}-{i:05d}", "set": set_name, "engine": engine, "text": text}
        if engine == KOKORO:
            spk = voices.sample_test_voice(rng) if set_kind(set_name) == "test" else voices.sample_train_voice(rng)
            s["spec"] = spk
            s["voice"] = voices.voice_label(spk)
            s["lang"] = voices.spec_lang(spk, rng)
            s["speed"] = round(float(rng.uniform(0.8, 1.25)), 3)
            s["g2p"] = "espeak" if rng.random() < 0.15 else "lexicon"
        elif engine == "piper":
            ls = float(rng.uniform(0.8, 1.3))
            s.update(voice="joe", lang="us", speed=round(1 / ls, 3), length_scale=round(ls, 3),
                     noise_scale=round(float(rng.uniform(0.4, 1.0)), 3),
                     noise_w=round(float(rng.uniform(0.5, 1.2)), 3))
            s["pitch_cents"] = int(rng.uniform(-300, 300)) if rng.random() < 0.6 else 0
        elif engine == "rhvoice":
            v = ["alan", "bdl", "clb", "slt"][rng.integers(4)]
            rate = int(rng.uniform(80, 140))  # percent, 100 = normal
            s.update(voice=v, lang="gb" if v == "alan" else "us", rate=rate, pitch=int(rng.uniform(70, 140)),
                     speed=round(rate / 100, 3))
        elif engine == "pico":
            lang = ["en-US", "en-GB"][rng.integers(2)]
            tempo = float(rng.uniform(0.85, 1.2))
            s.update(voice=lang, lang="gb" if lang == "en-GB" else "us", speed=round(tempo, 3),
                     pitch_cents=int(rng.uniform(-350, 350)))
        elif engine == "festival":
            v = ["cmu_us_slt_arctic_hts", "cmu_us_slt_arctic_hts", "kal_diphone", "rab_diphone"][rng.integers(4)]
            st = float(rng.uniform(0.8, 1.25))
            s.update(voice=v, lang="gb" if v == "rab_diphone" else "us", stretch=round(st, 3),
                     speed=round(1 / st, 3), pitch_cents=int(rng.uniform(-250, 250)) if rng.random() < 0.5 else 0)
        elif engine == "mbrola":
            v = ["mb-us1", "mb-us2", "mb-us3", "mb-en1"][rng.integers(4)]
            wpm = int(rng.uniform(130, 200))
            s.update(voice=v, lang="gb" if v == "mb-en1" else "us", wpm=wpm, pitch=int(rng.uniform(25, 75)),
                     speed=round(wpm / 165, 3))
        elif engine == "espeak":
            from .engines import ESPEAK_VARIANTS, ESPEAK_VOICES
            v = ESPEAK_VOICES[rng.integers(len(ESPEAK_VOICES))]
            var = ESPEAK_VARIANTS[rng.integers(len(ESPEAK_VARIANTS))]
            wpm = int(rng.uniform(120, 210))
            s.update(voice=f"{v}+{var}", base=v, variant=var, lang="us" if v.startswith("en-us") or v == "en-029" else "gb",
                     wpm=wpm, pitch=int(rng.uniform(20, 80)), speed=round(wpm / 165, 3))
        elif engine == "flite":
            v = ["kal", "kal16", "slt", "rms", "awb"][rng.integers(5)]
            st = float(rng.uniform(0.8, 1.25))
            s.update(voice=v, lang="gb" if v == "awb" else "us", stretch=round(st, 3), speed=round(1 / st, 3),
                     pitch_cents=int(rng.uniform(-250, 250)) if rng.random() < 0.5 else 0)
        return s


class Synth:
    """Lazily constructed engines."""

    def __init__(self):
        self._kokoro = None
        self._piper = None

    def __call__(self, s: dict):
        from . import engines as E
        eng = s["engine"]
        if eng == KOKORO:
            from . import g2p
            from .kokoro import Kokoro
            if self._kokoro is None:
                self._kokoro = Kokoro(threads=1)
            ps = g2p.phonemize(s["text"], s["lang"], use_espeak_only=s.get("g2p") == "espeak")
            a, sr, ps = self._kokoro.synth(s["text"], s["spec"], s["lang"], s["speed"], phonemes=ps)
            s["phonemes"] = ps
            return a, sr
        if eng == "piper":
            if self._piper is None:
                self._piper = E.Piper()
            a, sr = self._piper(s["text"], s["length_scale"], s["noise_scale"], s["noise_w"])
        elif eng == "rhvoice":
            a, sr = E.rhvoice(s["text"], s["voice"], s["rate"], s["pitch"])
        elif eng == "pico":
            a, sr = E.pico(s["text"], s["voice"])
            a, sr = E.sox_pitch_tempo(a, sr, s["pitch_cents"], s["speed"])
            return a, sr
        elif eng == "festival":
            a, sr = E.festival(s["text"], s["voice"], s["stretch"])
        elif eng == "mbrola":
            a, sr = E.espeak(s["text"], s["voice"], s["wpm"], s["pitch"])
        elif eng == "espeak":
            a, sr = E.espeak(s["text"], s["base"], s["wpm"], s["pitch"], s["variant"])
        elif eng == "flite":
            a, sr = E.flite(s["text"], s["voice"], s["stretch"])
        else:
            raise ValueError(eng)
        if s.get("pitch_cents"):
            a, sr = E.sox_pitch_tempo(a, sr, s["pitch_cents"], 1.0)
        return a, sr


def read_done(out: Path, set_name: str) -> set[str]:
    done = set()
    for fn in ("manifest.jsonl", "failed.jsonl"):
        p = out / set_name / fn
        if p.exists():
            for line in p.read_text(encoding="utf-8").splitlines():
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if fn == "failed.jsonl" or (out / r["path"]).exists():
                    done.add(r["id"])
    return done


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m training.synth", description=__doc__)
    ap.add_argument("--word", action="append", help="wake word (repeatable); default alexa + computer")
    ap.add_argument("--out", default=str(voices.CACHE / "synth"))
    ap.add_argument("--budget-minutes", type=float, default=0, help="stop after this long (0 = no limit)")
    ap.add_argument("--target-pos", type=int, default=DEFAULT_TARGET["pos"])
    ap.add_argument("--target-adv", type=int, default=DEFAULT_TARGET["adv"])
    ap.add_argument("--target-speech", type=int, default=DEFAULT_TARGET["speech"])
    ap.add_argument("--target-test", type=int, default=DEFAULT_TARGET["test"])
    ap.add_argument("--engines", default="all", help="comma list, or 'all', 'fast' (everything but kokoro)")
    ap.add_argument("--sets", default="", help="comma list of set kinds to run (pos,adv,speech,test)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--dry-run", action="store_true", help="print the first specs and counts only")
    args = ap.parse_args(argv)

    words = args.word or ["alexa", "computer"]
    out = Path(os.path.expanduser(args.out))
    engines = {"all": ALL_ENGINES, "fast": FAST}.get(args.engines) or args.engines.split(",")
    kinds = args.sets.split(",") if args.sets else ["pos", "adv", "speech", "test"]
    targets = {"pos": args.target_pos, "adv": args.target_adv, "speech": args.target_speech,
               "test": args.target_test}
    sets = []
    for kind in ("pos", "adv", "test"):
        if kind in kinds:
            sets += [(f"{kind}-{w.lower()}", kind) for w in words]
    if "speech" in kinds:
        sets.append(("speech", "speech"))

    plan = Planner(words, out, args.seed)
    synth = Synth()
    queue = []  # (order key, set, engine, i)
    for set_name, kind in sets:
        done = read_done(out, set_name)
        for eng, n in allocation(kind, targets[kind]).items():
            if eng not in engines:
                continue
            for i in range(n):
                if f"{eng}-{i:05d}" not in done:
                    queue.append(((i + 0.5) / n, set_name, eng, i))
    queue.sort()
    print(f"[synth] words={words} engines={engines} pending={len(queue)} out={out}", flush=True)
    if args.dry_run:
        for _, set_name, eng, i in queue[:20]:
            print(plan.spec(set_name, eng, i))
        return

    from tqdm import tqdm
    t_start = time.time()
    n_ok = defaultdict(int)
    t_eng = defaultdict(float)
    a_eng = defaultdict(float)
    stats_path = out / f"stats-{args.engines.replace(',', '_')}.json"
    last_stats = 0.0
    bar = tqdm(total=len(queue), mininterval=20, file=sys.stdout, dynamic_ncols=False, ncols=100)
    for _, set_name, eng, i in queue:
        if args.budget_minutes and time.time() - t_start > args.budget_minutes * 60:
            print("[synth] budget reached, stopping", flush=True)
            break
        s = plan.spec(set_name, eng, i)
        rel = f"{set_name}/{eng}/{s['id']}.wav"
        t0 = time.time()
        err = None
        try:
            raw, sr = synth(s)
            y = A.finish(raw, sr)
            dur = len(y) / A.SR
            lo, hi = DUR_LIMITS[set_kind(set_name)]
            if float(np.max(np.abs(raw))) < 1e-3:
                err = "silent"
            elif not lo <= dur <= hi:
                err = f"duration {dur:.2f}s outside [{lo},{hi}]"
        except voices.SetupError:
            raise  # not the clip's fault: recording it as failed would skip it forever
        except Exception as e:  # noqa: BLE001 - one failed clip must not stop the run
            err = f"{type(e).__name__}: {e}"[:300]
        dt = time.time() - t0
        t_eng[eng] += dt
        rec_common = {"id": s["id"], "set": set_name, "engine": eng, "text": s["text"]}
        if err:
            A.append_line(str(out / set_name / "failed.jsonl"), json.dumps({**rec_common, "error": err}))
            tqdm.write(f"[synth] fail {rel} {s['text']!r}: {err}")
        else:
            A.write_atomic(str(out / rel), y)
            rec = {"path": rel, **rec_common, "voice": s.get("voice"), "speed": s.get("speed"),
                   "lang": s.get("lang"), "duration_s": round(dur, 3)}
            for k in ("phonemes", "pitch_cents", "noise_scale", "noise_w", "pitch"):
                if s.get(k) is not None:
                    rec[k] = s[k]
            A.append_line(str(out / set_name / "manifest.jsonl"), json.dumps(rec, ensure_ascii=False))
            n_ok[eng] += 1
            a_eng[eng] += dur
        bar.update(1)
        if time.time() - last_stats > 60:
            last_stats = time.time()
            st = {e: {"clips": n_ok[e], "compute_s": round(t_eng[e], 1),
                      "clips_per_min": round(60 * n_ok[e] / max(t_eng[e], 1e-6), 1),
                      "audio_s": round(a_eng[e], 1)} for e in t_eng}
            stats_path.write_text(json.dumps(st, indent=1))
            tqdm.write("[synth] " + " ".join(f"{e}:{v['clips']}@{v['clips_per_min']}/min" for e, v in st.items()))
    bar.close()
    st = {e: {"clips": n_ok[e], "compute_s": round(t_eng[e], 1),
              "clips_per_min": round(60 * n_ok[e] / max(t_eng[e], 1e-6), 1),
              "audio_s": round(a_eng[e], 1)} for e in t_eng}
    stats_path.write_text(json.dumps(st, indent=1))
    print("[synth] done:", json.dumps(st), flush=True)
