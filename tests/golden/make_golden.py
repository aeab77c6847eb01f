"""Writes tests/golden/frontend_golden.json: reference features for tests/frontend_golden.rs.

Two independent references per case:
  * "librosa": librosa.stft(center=False, periodic hann, n_fft=512, win_length=400, hop 160,
    power=2) -> librosa.filters.mel(htk=True, norm=None, fmin=60, fmax=7600) -> ln(max(., 1e-6))
    -> scipy.fft.dct(type=2, norm='ortho')[:20]; pre-emphasis (when on) applied by hand first.
  * "features_py": training/features.py, the numpy twin the models are trained with.
Only features are stored, with the clip's path (relative to ../shared/data) and sample range;
the Rust test re-reads the audio itself. Run from the repository root:

    ~/.cache/hushword/venv/bin/python tests/golden/make_golden.py
"""

import json
import pathlib
import sys

import librosa
import numpy as np
import scipy.fft
import soundfile as sf

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "training"))
import features as fpy  # noqa: E402

EXCERPT = 8000  # 0.5 s -> 48 frames; keeps the JSON small
CLIPS = [
    "wakewords/jarvis/008a6329-b20c-4cfc-9ad4-9e7034bc5148.wav",
    "speech/librispeech-test-other/1688/1688-142285-0007.flac",
    "noise/speech-commands-background/doing_the_dishes.wav",
]
CONFIGS = {
    "default": fpy.default_config(),
    "preemphasis": {**fpy.default_config(), "preemphasis": 0.97},
}


def loudest_start(x: np.ndarray) -> int:
    """Start of the loudest EXCERPT-long stretch (on a 1600-sample grid): speech, not silence."""
    starts = range(0, len(x) - EXCERPT + 1, 1600)
    return max(starts, key=lambda s: float(np.sum(x[s:s + EXCERPT].astype(np.float64) ** 2)))


def librosa_reference(x: np.ndarray, cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    if cfg["preemphasis"]:
        x = fpy.preemphasize(x, cfg["preemphasis"])
    # librosa centres a short window inside n_fft (zeros on both sides) where hushword zero-pads
    # after it. That is a circular shift of the FFT input, invisible in |FFT|^2, once the signal
    # is padded by the offset on both sides so librosa's frame k sees hushword's samples.
    offset = (cfg["fft_size"] - cfg["frame_length"]) // 2
    x = np.pad(x, (offset, offset))
    spec = np.abs(librosa.stft(x, n_fft=cfg["fft_size"], hop_length=cfg["hop_length"],
                               win_length=cfg["frame_length"], window="hann", center=False)) ** 2
    mel_fb = librosa.filters.mel(sr=cfg["sample_rate"], n_fft=cfg["fft_size"], n_mels=cfg["n_mels"],
                                 fmin=cfg["fmin"], fmax=cfg["fmax"], htk=True, norm=None)
    log_mel = np.log(np.maximum(mel_fb @ spec, cfg["log_floor"])).T  # [frames, n_mels]
    mfcc = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=-1)[:, :cfg["n_mfcc"]]
    return log_mel.astype(np.float32), mfcc.astype(np.float32)


def rows(a: np.ndarray) -> list:
    return [[float(f"{v:.7g}") for v in r] for r in a]


def main() -> None:
    # The numpy twin's filter bank must be librosa's, weight for weight.
    fb = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, fmin=60, fmax=7600, htk=True, norm=None)
    np.testing.assert_array_equal(fpy.mel_filterbank(16000, 512, 40, 60.0, 7600.0), fb)
    cases = []
    for clip in CLIPS:
        audio, sr = sf.read(DATA / clip, dtype="float32")  # PCM_16 / 32768, as Rust reads it
        assert sr == 16000 and audio.ndim == 1, clip
        start = loudest_start(audio)
        x = audio[start:start + EXCERPT]
        for name, cfg in CONFIGS.items():
            ref_log_mel, ref_mfcc = librosa_reference(x, cfg)
            twin_log_mel = fpy.log_mel(x, cfg)
            twin_mfcc = fpy.mfcc(x, cfg)
            gap = max(np.abs(ref_log_mel - twin_log_mel).max(), np.abs(ref_mfcc - twin_mfcc).max())
            print(f"{clip} [{start}, +{EXCERPT}) {name}: {len(ref_mfcc)} frames, "
                  f"librosa vs features.py max abs {gap:.2e}")
            cases.append({
                "clip": clip, "start": start, "length": EXCERPT, "config_name": name, "config": cfg,
                "librosa": {"log_mel": rows(ref_log_mel), "mfcc": rows(ref_mfcc)},
                "features_py": {"log_mel": rows(twin_log_mel), "mfcc": rows(twin_mfcc)},
            })
    out = pathlib.Path(__file__).with_name("frontend_golden.json")
    out.write_text(json.dumps({"generator": "tests/golden/make_golden.py", "cases": cases},
                              separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
