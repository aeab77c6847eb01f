"""Export: fold BatchNorm, full-window form [1, F, 100] -> [1, K] as the main ONNX graph (legacy
exporter, opset 13) with the `hushword` metadata, plus the streaming form ([1, F, hop] + states ->
scores + states, training/model.py `Streaming`) embedded in the same file as base64 under the
metadata key `hushword.streaming` (docs/model-format.md); onnxruntime checks against torch, and the
reference scores for the engine's tests (models/<word>.reference.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .common import REPO, SR, log, save_json
from .evaluate import HOP_FRAMES, WINDOW, frame_probs, stream_features
import base64
import io

from .model import FullWindow, Streaming, fold_batchnorm

STREAMING_KEY = "hushword.streaming"
KERNEL_KEY = "hushword.kernel"


def export_onnx(model, word: str, out: Path, threshold: float, word_duration_ms: int, extra: dict | None = None):
    import onnx
    import onnxruntime as ort
    import torch

    from .common import frontend

    _, default_config = frontend()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    folded = fold_batchnorm(model).eval()
    fw = FullWindow(folded).eval()
    F = model.conv_in.in_channels
    dummy = torch.zeros(1, F, WINDOW)
    tmp = out.with_suffix(".tmp.onnx")
    torch.onnx.export(fw, (dummy,), str(tmp), input_names=["features"], output_names=["scores"],
                      opset_version=13, dynamo=False, do_constant_folding=True)
    m = onnx.load(str(tmp))
    meta = {"format": 1, "keywords": [word], "frontend": default_config(), "window_frames": WINDOW,
            "hop_frames": HOP_FRAMES, "threshold": round(float(threshold), 6),
            "word_duration_ms": int(word_duration_ms)}
    streaming_bytes, meta["streaming"] = export_streaming(folded, HOP_FRAMES)
    kernel_bytes, meta["kernel"] = export_kernel(folded)
    if extra:
        meta.update(extra)
    del m.metadata_props[:]
    p = m.metadata_props.add()
    p.key, p.value = "hushword", json.dumps(meta)
    p = m.metadata_props.add()
    p.key, p.value = STREAMING_KEY, base64.b64encode(streaming_bytes).decode("ascii")
    p = m.metadata_props.add()
    p.key, p.value = KERNEL_KEY, base64.b64encode(kernel_bytes).decode("ascii")
    m.producer_name = "hushword-training"
    onnx.checker.check_model(m)
    onnx.save(m, str(out))
    tmp.unlink()

    # checks: onnxruntime == torch (full window), and full window == streaming per-frame model
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    mean = model.mean.numpy()
    std = 1 / model.inv_std.numpy()
    X = (mean[None, :, None] + std[None, :, None] * rng.standard_normal((16, F, WINDOW))).astype(np.float32)
    err_ort = 0.0
    with torch.no_grad():
        for x in X:
            a = sess.run(["scores"], {"features": x[None]})[0]
            b = fw(torch.from_numpy(x[None])).numpy()
            c = torch.sigmoid(model.eval()(torch.from_numpy(x[None]))[:, :, -1]).numpy()  # padded, unfolded
            err_ort = max(err_ort, float(np.abs(a - b).max()), float(np.abs(a - c).max()))
    log(f"exported {out} ({out.stat().st_size / 1024:.1f} KiB); max |onnxruntime - torch| = {err_ort:.2e}")
    if err_ort > 1e-4:
        raise SystemExit(f"ONNX and torch disagree by {err_ort}")
    err_stream = check_streaming(model, sess, streaming_bytes, meta["streaming"])
    log(f"streaming form: {len(streaming_bytes) / 1024:.1f} KiB; max |streaming - full window| = {err_stream:.2e}"
        " (onnxruntime, random stream, every evaluation after the first full window)")
    if err_stream > 1e-4:
        raise SystemExit(f"streaming and full-window forms disagree by {err_stream}")
    return meta, err_ort


def export_calibrated(model, word: str, out: Path):
    """Exports `model` at the threshold `calibrate` would give it (no false accept on the validation
    negatives, plus the margin) with the word duration the pool recorded: how the experiment tools
    (training.arms, training.ensemble) export what they measure."""
    from .common import load_json, word_dir
    from .evaluate import build_validation, score_validation, summary

    thr = summary(score_validation(model, build_validation(word, verbose=False)))["threshold"]
    duration = load_json(word_dir(word) / "report.json", {}).get("word_duration_ms", 600)
    return export_onnx(model, word, out, thr, duration)


def export_streaming(folded, hop: int) -> tuple[bytes, dict]:
    """The streaming form of a folded model as ONNX bytes, and its `streaming` metadata object."""
    import onnx
    import torch

    st = Streaming(folded).eval()
    shapes = st.state_shapes()
    F = folded.conv_in.in_channels
    n = len(shapes)
    ins = ["features"] + [f"state_in_{i}" for i in range(n)]
    outs = ["scores"] + [f"state_out_{i}" for i in range(n)]
    dummy = (torch.zeros(1, F, hop), *[torch.zeros(*s) for s in shapes])
    buf = io.BytesIO()
    torch.onnx.export(st, dummy, buf, input_names=ins, output_names=outs, opset_version=13, dynamo=False,
                      do_constant_folding=True)
    m = onnx.load_from_string(buf.getvalue())
    m.producer_name = "hushword-training"
    onnx.checker.check_model(m)
    desc = {"graph": STREAMING_KEY, "encoding": "base64", "hop_frames": hop, "receptive_field": folded.rf,
            "input": "features", "output": "scores",
            "states": [{"input": i, "output": o, "shape": list(s)} for i, o, s in zip(ins[1:], outs[1:], shapes)]}
    return m.SerializeToString(), desc


def export_kernel(folded) -> tuple[bytes, dict]:
    """The folded weights as one little-endian f32 blob for the engine's native streaming kernel
    (src/model/kernel.rs), and its `kernel` metadata object. Order (PyTorch layouts): mean[F],
    inv_std[F], conv_in.weight[C][F][k_in], conv_in.bias[C], then per block dw.weight[C][k_dw],
    dw.bias[C], pw.weight[C][C], pw.bias[C], then head.weight[K][C], head.bias[K]."""
    from .model import K_DW, K_IN

    m = folded
    parts = [m.mean, m.inv_std, m.conv_in.weight, m.conv_in.bias]
    for b in m.blocks:
        parts += [b.dw.weight, b.dw.bias, b.pw.weight, b.pw.bias]
    parts += [m.head.weight, m.head.bias]
    blob = np.concatenate([p.detach().numpy().astype("<f4").ravel() for p in parts]).tobytes()
    desc = {"blob": KERNEL_KEY, "encoding": "base64", "arch": "tcn-1", "n_features": m.conv_in.in_channels,
            "channels": m.conv_in.out_channels, "k_in": K_IN, "k_dw": K_DW,
            "dilations": [int(b.d) for b in m.blocks], "n_keywords": m.head.out_channels}
    return blob, desc


def run_streaming(sess, desc: dict, feats: np.ndarray) -> np.ndarray:
    """Scores [K, n_hops] of the streaming form fed `feats` [F, T] hop by hop from zero states; hop i ends
    at frame (i + 1) * hop - 1 + offset where offset = T % hop frames at the start are skipped."""
    hop = desc["hop_frames"]
    states = {s["input"]: np.zeros(s["shape"], np.float32) for s in desc["states"]}
    outs = [desc["output"]] + [s["output"] for s in desc["states"]]
    start = feats.shape[1] % hop
    scores = []
    for t in range(start, feats.shape[1], hop):
        r = sess.run(outs, {desc["input"]: np.ascontiguousarray(feats[None, :, t:t + hop], dtype=np.float32),
                            **states})
        scores.append(r[0][0])
        states = {s["input"]: v for s, v in zip(desc["states"], r[1:])}
    return np.array(scores).T


def check_streaming(model, full_sess, streaming_bytes: bytes, desc: dict, frames: int = 400) -> float:
    """Max |streaming - full window| over a random stream, at every full-window evaluation point."""
    import onnxruntime as ort

    sess = ort.InferenceSession(streaming_bytes, providers=["CPUExecutionProvider"])
    hop = desc["hop_frames"]
    F = model.conv_in.in_channels
    rng = np.random.default_rng(1)
    mean, std = model.mean.numpy(), 1 / model.inv_std.numpy()
    feats = (mean[:, None] + std[:, None] * rng.standard_normal((F, frames))).astype(np.float32)
    s = run_streaming(sess, desc, feats)  # hop i ends at frame start + (i+1)*hop - 1
    start = frames % hop
    worst = 0.0
    for i in range(s.shape[1]):
        end = start + (i + 1) * hop - 1
        if end < WINDOW - 1 or (end - (WINDOW - 1)) % HOP_FRAMES:
            continue
        w = np.ascontiguousarray(feats[None, :, end - WINDOW + 1: end + 1])
        full = full_sess.run(["scores"], {"features": w})[0][0]
        worst = max(worst, float(np.abs(full - s[:, i]).max()))
    return worst


def full_window_scores(sess, feats: np.ndarray) -> list[float]:
    """Scores of the full-window model every HOP_FRAMES frames from the first full window."""
    out = []
    for t in range(WINDOW - 1, feats.shape[1], HOP_FRAMES):
        w = np.ascontiguousarray(feats[:, t - WINDOW + 1: t + 1][None], dtype=np.float32)
        out.append(float(sess.run(["scores"], {"features": w})[0][0, 0]))
    return out


def reference(onnx_path: Path, word: str, data_dir: Path | None = None, model=None) -> Path:
    """models/<word>.reference.json: per-evaluation scores for every 16 kHz WAV in data/."""
    import onnxruntime as ort
    import soundfile as sf

    data_dir = data_dir or (REPO / "data")
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    files, skipped = {}, []
    worst = 0.0
    for f in sorted(data_dir.glob("*.wav")) if data_dir.exists() else []:
        x, sr = sf.read(str(f), dtype="float32", always_2d=True)
        if sr != SR:
            skipped.append(f"{f.name} ({sr} Hz)")
            continue
        x = x.mean(axis=1)
        feats = stream_features(x)
        s = full_window_scores(sess, feats)
        if model is not None and s:  # the causal per-frame pass gives the same numbers
            p = frame_probs(model, feats)[0][WINDOW - 1:: HOP_FRAMES]
            worst = max(worst, float(np.abs(p - np.array(s)).max()))
        files[f.relative_to(REPO).as_posix() if f.is_relative_to(REPO) else str(f)] = {
            "samples": int(len(x)), "channels": 1, "first_eval_frame": WINDOW - 1,
            "max_score": max(s) if s else None, "scores": [round(v, 7) for v in s]}
    out = Path(onnx_path).with_suffix(".reference.json")
    save_json(out, {"model": Path(onnx_path).name, "keyword": word, "window_frames": WINDOW,
                    "hop_frames": HOP_FRAMES,
                    "note": "scores of the full-window ONNX model (onnxruntime) on features from "
                            "training/features.py; evaluation i covers frames [first_eval_frame + "
                            "i*hop_frames - window_frames + 1, first_eval_frame + i*hop_frames]; "
                            "multi-channel files are averaged to mono; files not at 16 kHz are skipped",
                    "skipped": skipped, "files": files})
    log(f"reference scores for {len(files)} WAV files -> {out}"
        + (f" (streaming vs full window max diff {worst:.1e})" if model is not None and files else ""))
    return out
