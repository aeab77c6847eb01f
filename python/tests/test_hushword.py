"""The Python package against the engine's own answers: `hushword detect` on data/*.wav,
exact pre-roll audio, chunking, reset, metadata, per-evaluation scores, errors as
exceptions, and the GIL released while processing. Run by .ci/run (pytest, in its venv)."""

import json
import os
import subprocess
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

import hushword

ROOT = Path(__file__).resolve().parents[2]
DATA_WAVS = sorted((ROOT / "data").glob("*.wav"))


def cli_binary():
    path = Path(os.environ.get("HUSHWORD_BIN", ROOT / "target" / "release" / "hushword"))
    if not path.exists():
        pytest.fail(f"{path} is missing: build the CLI first (cargo build --release) or set HUSHWORD_BIN")
    return path


def read_int16(path):
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (16000, 2, 1)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)


def cli_detections(path):
    out = subprocess.run([cli_binary(), "detect", "--json", str(path)], check=True,
                         capture_output=True, text=True).stdout
    # A file without detection gets a line too (`detections: []`, its best score): no keyword.
    return [d for d in map(json.loads, out.splitlines()) if "keyword" in d]


def as_tuples(detections):
    return [(d.keyword, d.score, d.time_s, d.start_s, d.end_s, len(d.pre_roll)) for d in detections]


def test_data_wavs_exist():
    assert len(DATA_WAVS) >= 3


@pytest.mark.parametrize("path", DATA_WAVS, ids=lambda p: p.name)
def test_same_detections_as_the_cli(path):
    expected = cli_detections(path)
    got = hushword.detect_file(path)
    assert [d.keyword for d in got] == [e["keyword"] for e in expected]
    for d, e in zip(got, expected):
        assert d.score == pytest.approx(e["score"], abs=1e-6)
        assert (d.time_s, d.start_s, d.end_s) == (e["time_s"], e["start_s"], e["end_s"])
        assert len(d.pre_roll) / hushword.SAMPLE_RATE == pytest.approx(e["pre_roll_s"])
    # Streaming the samples, whole or in pieces of any length, int16 or float32: the same.
    samples = read_int16(path)
    whole = as_tuples(hushword.Detector().process(samples))
    assert whole == as_tuples(got)
    det = hushword.Detector()
    rng = np.random.default_rng(7)
    pieces, offset = [], 0
    while offset < len(samples):
        n = int(rng.integers(1, 4000))
        pieces += det.process(samples[offset:offset + n])
        offset += n
    assert as_tuples(pieces) == whole
    as_float = hushword.Detector().process(samples.astype(np.float32) / 32768.0)
    assert as_tuples(as_float) == whole


def test_pre_roll_is_the_input_just_before_the_trigger():
    samples = read_int16(ROOT / "data" / "alexa_kokoro.wav")
    for pre_roll_ms in (2000, 500, 0):
        (d,) = hushword.Detector(pre_roll_ms=pre_roll_ms).process(samples)
        assert d.pre_roll.dtype == np.int16
        end = round(d.time_s * hushword.SAMPLE_RATE)
        n = pre_roll_ms * hushword.SAMPLE_RATE // 1000
        assert np.array_equal(d.pre_roll, samples[end - n:end])


def test_reset_starts_a_new_stream():
    samples = read_int16(ROOT / "data" / "alexa_kokoro.wav")
    det = hushword.Detector()
    first = as_tuples(det.process(samples))
    assert det.time_s == len(samples) / 16000
    det.reset()
    assert det.time_s == 0
    assert as_tuples(det.process(samples)) == first


def test_models_keywords_thresholds_and_options():
    det = hushword.Detector()
    assert det.keywords == ["alexa"]
    (meta,) = det.models
    assert meta["keywords"] == ["alexa"]
    assert meta["threshold"] == pytest.approx(0.9)
    assert meta["thresholds"] == {"alexa": pytest.approx(0.9)}
    assert meta["frontend"]["sample_rate"] == 16000
    assert "embedded" in meta["name"]
    both = hushword.Detector(model=[ROOT / "models" / "alexa.onnx", str(ROOT / "models" / "computer.onnx")],
                             threshold=0.5)
    assert both.keywords == ["alexa", "computer"]
    assert [m["thresholds"] for m in both.models] == [{"alexa": 0.5}, {"computer": 0.5}]
    # A threshold above every score: nothing fires.
    samples = read_int16(ROOT / "data" / "alexa_kokoro.wav")
    assert hushword.Detector(threshold=1.0).process(samples) == []


def test_scores_per_evaluation():
    samples = read_int16(ROOT / "data" / "alexa_kokoro.wav")
    det = hushword.Detector()
    scores = det.scores(samples)
    assert list(scores) == ["alexa"]
    times, values = scores["alexa"]
    assert times.dtype == np.float64 and values.dtype == np.float32
    assert len(times) == len(values) > 100
    assert np.allclose(np.diff(times), 0.03)  # evaluated every 3 frames of 10 ms
    (d,) = hushword.detect_file(ROOT / "data" / "alexa_kokoro.wav")
    at = int(np.argmin(np.abs(times - d.time_s)))
    assert times[at] == d.time_s and values[at] == pytest.approx(d.score)
    quiet = det.scores(np.zeros(16000, dtype=np.float32))["alexa"][1]
    assert quiet.max() < 0.5


def test_errors_are_exceptions_with_the_engine_message(tmp_path):
    with pytest.raises(hushword.HushwordError, match="/nonexistent.onnx"):
        hushword.Detector(model="/nonexistent.onnx")
    with pytest.raises(hushword.HushwordError, match="/nonexistent.wav: cannot open"):
        hushword.detect_file("/nonexistent.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(hushword.HushwordError, match="bad.wav: not a WAV"):
        hushword.detect_file(bad)
    with pytest.raises(hushword.HushwordError, match="threshold 1.5"):
        hushword.Detector(threshold=1.5)
    with pytest.raises(hushword.HushwordError, match="smoothing 0"):
        hushword.Detector(smoothing=0)
    det = hushword.Detector()
    with pytest.raises(TypeError, match="int16 or float32"):
        det.process(np.zeros(10, dtype=np.float64))
    with pytest.raises(TypeError, match="2-D"):
        det.process(np.zeros((2, 10), dtype=np.int16))
    with pytest.raises(TypeError, match="int16 or float32"):
        det.process([0.0, 1.0])
    with pytest.raises(TypeError, match="model must be"):
        hushword.Detector(model=3)
    with pytest.raises(hushword.HushwordError, match="not consumed"):
        det.process(np.array([0.0, np.nan], dtype=np.float32))
    assert det.time_s == 0  # the refused chunk was not consumed


def test_the_gil_is_released_while_processing():
    long_audio = np.tile(read_int16(ROOT / "data" / "no_wakeword.wav"), 128)  # ~10 min
    det = hushword.Detector()
    ticks, running = [0], [True]

    def count():
        while running[0]:
            ticks[0] += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.05)
    started, before = time.monotonic(), ticks[0]
    det.process(long_audio)
    elapsed, during = time.monotonic() - started, ticks[0] - before
    running[0] = False
    counter.join()
    # Holding the GIL for the whole call would leave the counter at (almost) zero.
    assert elapsed > 0.05, "too fast to tell"
    assert during > elapsed / 0.001 * 0.2, (during, elapsed)
