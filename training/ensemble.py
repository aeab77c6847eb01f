"""Average several trained models into one exported model, to measure an ensemble with the engine:

    python -m training.ensemble --word computer --out /tmp/e4.onnx A.pt B.pt C.pt D.pt

Why one model: `hushword eval` scores one model per `--model`, through the same detector as every
shipped model, so an ensemble is measured exactly like its members. N models of C channels become one
model of N x C channels whose layers are block-diagonal (each member's weights in its own block, zeros
between, so the blocks never mix), whose input convolution absorbs each member's own feature
normalization, and whose head averages the members' logits. Its scores are sigmoid(mean logit) of the
members, held to 1e-4 before export. A diagnostic: the dense N x C form spends N times the compute and
parameters the members need (a 4-model ensemble of 64 channels has 4 x 27k useful and ~300k stored
weights), so it is not a shipping format.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import log


def combine(members):
    """One BatchNorm-free KWS computing sigmoid(mean of the members' logits): members are KWS models
    with the same features, channels and dilations."""
    import torch

    from .model import KWS, fold_batchnorm

    ms = [fold_batchnorm(m) for m in members]
    n, c = len(ms), ms[0].conv_in.out_channels
    f = ms[0].conv_in.in_channels
    dil = tuple(b.d for b in ms[0].blocks)
    if any(m.conv_in.out_channels != c or tuple(b.d for b in m.blocks) != dil for m in ms):
        raise SystemExit("ensemble members must have the same channels and dilations")
    w = KWS(f, c * n, dilations=dil).eval()
    ref = ms[0]
    with torch.no_grad():
        w.mean.copy_(ref.mean)
        w.inv_std.copy_(ref.inv_std)
        for bn in [w.bn_in] + [x for b in w.blocks for x in (b.bn1, b.bn2)]:  # identities
            bn.weight.fill_(1.0)
            bn.bias.zero_()
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        w.conv_in.weight.zero_()
        w.head.weight.zero_()
        w.head.bias.zero_()
        for b in w.blocks:
            b.pw.weight.zero_()
        for i, m in enumerate(ms):
            s = slice(i * c, (i + 1) * c)
            # member i normalizes with its own statistics: (x - m_i) s_i = x0 (s_i / s_0) + (m_0 - m_i) s_i
            # where x0 = (x - m_0) s_0 is what the combined model's normalization gives
            scale = m.inv_std / ref.inv_std
            shift = (ref.mean - m.mean) * m.inv_std
            w.conv_in.weight[s] = m.conv_in.weight * scale[None, :, None]
            w.bn_in.bias[s] = m.conv_in.bias + (m.conv_in.weight * shift[None, :, None]).sum((1, 2))
            for bw, bm in zip(w.blocks, m.blocks):
                bw.dw.weight[s] = bm.dw.weight
                bw.bn1.bias[s] = bm.dw.bias
                bw.pw.weight[s, s] = bm.pw.weight
                bw.bn2.bias[s] = bm.pw.bias
            w.head.weight[:, s] = m.head.weight / n
            w.head.bias += m.head.bias / n
    return w


def max_logit_error(ensemble, members, n_windows: int = 8) -> float:
    """Max |ensemble logit - mean member logit| over random plausible full windows."""
    import torch

    from .evaluate import WINDOW

    g = torch.Generator().manual_seed(0)
    f = ensemble.conv_in.in_channels
    x = torch.randn(n_windows, f, WINDOW, generator=g) / ensemble.inv_std[None, :, None] \
        + ensemble.mean[None, :, None]
    with torch.no_grad():
        a = ensemble(x, valid=True)
        b = sum(m.eval()(x, valid=True) for m in members) / len(members)
    return float((a - b).abs().max())


def main(argv=None) -> None:
    from .export import export_calibrated
    from .train import load_model

    ap = argparse.ArgumentParser(prog="python -m training.ensemble", description=__doc__.splitlines()[0])
    ap.add_argument("--word", required=True)
    ap.add_argument("--out", required=True, help="ONNX path of the ensemble")
    ap.add_argument("--channels", type=int, default=64, help="channels of every member")
    ap.add_argument("checkpoints", nargs="+", help="the members' .pt checkpoints")
    a = ap.parse_args(argv)
    word = a.word.lower()
    for ck in a.checkpoints:
        if not Path(ck).is_file():
            raise SystemExit(f"{ck}: no such checkpoint")
    members = [load_model(ck, a.channels) for ck in a.checkpoints]
    ens = combine(members)
    err = max_logit_error(ens, members)
    log(f"{len(members)} members -> {ens.conv_in.out_channels} channels; max |ensemble - mean member| logit "
        f"= {err:.1e}")
    if err > 1e-4:
        raise SystemExit(f"the combined model differs from the members' mean by {err:.1e}")
    export_calibrated(ens, word, Path(a.out))


if __name__ == "__main__":
    main()
