"""Re-export a shipped model from its training checkpoint without retraining, e.g. to add the streaming
form: `python -m training.reexport --word alexa [--checkpoint model-r0.pt] [--out models/alexa.onnx]`.

The shipped file's threshold and word duration are kept (read from its `hushword` metadata), the
checkpoint defaults to the one the calibration recorded (`report.json`), and before anything is
written the new full-window graph must give the shipped graph's scores (onnxruntime, random windows
within 1e-5): a checkpoint that did not make the shipped model is refused. The reference scores
(models/<word>.reference.json) are regenerated from the new file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .common import REPO, load_json, log, word_dir
from .evaluate import WINDOW


def shipped_metadata(path: Path) -> dict:
    import onnx

    m = onnx.load(str(path))
    for p in m.metadata_props:
        if p.key == "hushword":
            return json.loads(p.value)
    sys.exit(f"{path}: no `hushword` metadata")


def max_difference(a: Path, b: Path, model, n: int = 32) -> float:
    """Max |scores(a) - scores(b)| of two full-window ONNX files over random plausible windows."""
    import onnxruntime as ort

    sa = ort.InferenceSession(str(a), providers=["CPUExecutionProvider"])
    sb = ort.InferenceSession(str(b), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    F = model.conv_in.in_channels
    mean, std = model.mean.numpy(), 1 / model.inv_std.numpy()
    worst = 0.0
    for _ in range(n):
        x = (mean[:, None] + std[:, None] * rng.standard_normal((F, WINDOW))).astype(np.float32)[None]
        worst = max(worst, float(np.abs(sa.run(["scores"], {"features": x})[0]
                                        - sb.run(["scores"], {"features": x})[0]).max()))
    return worst


def main(argv=None):
    from .export import export_onnx, reference
    from .train import load_model

    p = argparse.ArgumentParser(prog="python -m training.reexport", description=__doc__.split("\n\n")[0])
    p.add_argument("--word", required=True)
    p.add_argument("--checkpoint", help="default: the calibrated checkpoint in report.json")
    p.add_argument("--shipped", help="the model to reproduce (default models/<word>.onnx)")
    p.add_argument("--out", help="default: overwrite --shipped")
    p.add_argument("--channels", type=int, default=64)
    a = p.parse_args(argv)
    shipped = Path(a.shipped or REPO / "models" / f"{a.word}.onnx")
    out = Path(a.out or shipped)
    ck = a.checkpoint or load_json(word_dir(a.word) / "report.json", {}).get("calibration", {}).get("model")
    if not ck:
        sys.exit(f"no checkpoint given and none recorded in {word_dir(a.word) / 'report.json'}")
    meta = shipped_metadata(shipped)
    model = load_model(ck, a.channels)
    tmp = out.with_suffix(".new.onnx")
    export_onnx(model, a.word, tmp, meta["threshold"], meta["word_duration_ms"])
    diff = max_difference(shipped, tmp, model)
    log(f"{ck}: max |new - shipped| full-window score = {diff:.2e}")
    if diff > 1e-5:
        tmp.unlink()
        sys.exit(f"{ck} did not make {shipped} (scores differ by {diff:.2e}); pass the right --checkpoint")
    tmp.replace(out)
    reference(out, a.word, model=model)


if __name__ == "__main__":
    main()
