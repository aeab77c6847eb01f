"""Causal temporal CNN (time last) with per-frame outputs.

features [B, F, T] -> fixed affine normalization -> causal Conv1d(F->C, k=3) -> BN -> ReLU ->
5 x residual [causal depthwise Conv1d k=5, dilation d -> BN -> ReLU -> pointwise C->C -> BN -> ReLU]
(d = 1, 2, 4, 8, 8) -> per-frame 1x1 Conv1d(C->K) logits [B, K, T].

Receptive field: 1 + 2 + 4 * (1+2+4+8+8) = 95 frames <= window_frames (100), so the output at the last
frame of a 100-frame window never sees padding: the full-window export form (valid convolutions, last
frame) equals the streaming/per-frame form exactly.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

DILATIONS = (1, 2, 4, 8, 8)
K_IN, K_DW = 3, 5


def receptive_field(dilations=DILATIONS) -> int:
    return 1 + (K_IN - 1) + sum((K_DW - 1) * d for d in dilations)


class Block(nn.Module):
    def __init__(self, c: int, d: int):
        super().__init__()
        self.d = d
        self.dw = nn.Conv1d(c, c, K_DW, dilation=d, groups=c, bias=False)
        self.bn1 = nn.BatchNorm1d(c)
        self.pw = nn.Conv1d(c, c, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(c)

    def forward(self, x, valid: bool = False):
        pad = (K_DW - 1) * self.d
        h = self.dw(x if valid else F.pad(x, (pad, 0)))
        h = F.relu(self.bn1(h))
        h = F.relu(self.bn2(self.pw(h)))
        return (x[:, :, pad:] if valid else x) + h


def causal_mean(x, frames: int):
    """Mean of each feature over the last `frames` frames up to and including each frame (fewer at the
    start of x): x [B, F, T] -> [B, F, T]. The cepstral mean normalization of `train --cmn`."""
    c = torch.cumsum(x, dim=2)
    before = F.pad(c, (frames, 0))[:, :, : c.shape[2]]
    n = torch.arange(1, x.shape[2] + 1, device=x.device, dtype=x.dtype).clamp(max=frames)
    return (c - before) / n


class KWS(nn.Module):
    def __init__(self, n_features: int = 20, channels: int = 64, n_keywords: int = 1, dilations=DILATIONS,
                 cmn_frames: int = 0):
        super().__init__()
        # training experiment only (train --cmn): the engine's front end has no mean normalization,
        # so the checkpoint is marked and train.load_model, which every later stage uses, refuses it
        self.cmn_frames = cmn_frames
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("inv_std", torch.ones(n_features))
        self.conv_in = nn.Conv1d(n_features, channels, K_IN, bias=False)
        self.bn_in = nn.BatchNorm1d(channels)
        self.blocks = nn.ModuleList([Block(channels, d) for d in dilations])
        self.head = nn.Conv1d(channels, n_keywords, 1)
        self.rf = receptive_field(dilations)

    def features(self, x, valid: bool = False):
        """x [B, F, T] raw features -> the last block's output [B, C, T] (what the heads read)."""
        if self.cmn_frames:
            x = x - causal_mean(x, self.cmn_frames)
        x = (x - self.mean[None, :, None]) * self.inv_std[None, :, None]
        x = self.conv_in(x if valid else F.pad(x, (K_IN - 1, 0)))
        x = F.relu(self.bn_in(x))
        for b in self.blocks:
            x = b(x, valid)
        return x

    def forward(self, x, valid: bool = False):
        """x [B, F, T] raw features -> logits [B, K, T] (T - rf + 1 frames when valid)."""
        return self.head(self.features(x, valid))


class FullWindow(nn.Module):
    """Export form: [1, F, window] -> sigmoid(logit at the last frame) [1, K]."""

    def __init__(self, m: KWS):
        super().__init__()
        self.m = m

    def forward(self, features):
        z = self.m(features, valid=True)
        return torch.sigmoid(z[:, :, -1])


def _fold(conv: nn.Conv1d, bn: nn.BatchNorm1d) -> nn.Conv1d:
    w = conv.weight.detach()
    s = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    new = nn.Conv1d(conv.in_channels, conv.out_channels, conv.kernel_size[0], dilation=conv.dilation[0],
                    groups=conv.groups, bias=True)
    new.weight.data = w * s[:, None, None]
    b0 = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    new.bias.data = (b0 - bn.running_mean) * s + bn.bias.detach()
    return new


def fold_batchnorm(m: KWS) -> KWS:
    """A copy with every BatchNorm folded into the convolution before it (eval-mode maths)."""
    import copy

    m = copy.deepcopy(m).eval()
    m.conv_in, m.bn_in = _fold(m.conv_in, m.bn_in), nn.Identity()
    for b in m.blocks:
        b.dw, b.bn1 = _fold(b.dw, b.bn1), nn.Identity()
        b.pw, b.bn2 = _fold(b.pw, b.bn2), nn.Identity()
    return m


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for n, p in m.named_parameters())


def macs_full_window(m: KWS, window: int = 100) -> int:
    """Multiply-accumulates of one full-window evaluation (valid convolutions)."""
    c = m.conv_in.out_channels
    f = m.conv_in.in_channels
    t = window - (K_IN - 1)
    macs = t * f * c * K_IN
    for b in m.blocks:
        t -= (K_DW - 1) * b.d
        macs += t * c * K_DW + t * c * c
    macs += m.head.out_channels * c  # only the last frame is needed (the export computes 1 frame more)
    return macs


class Streaming(nn.Module):
    """Streaming export form of a (BatchNorm-folded) KWS: the newest `hop` frames plus one state per
    causal convolution -> the score at the newest frame and the new states.

    forward(features [1, F, hop], state_0 [1, F, K_IN-1], state_1..5 [1, C, (K_DW-1)*d])
        -> (scores [1, K], new_state_0, ..., new_state_5)

    A state holds the last (k-1)*dilation input frames its convolution needs (time last, oldest first);
    all-zero states are exactly the zero left padding of the per-frame model, so from the first frame on
    the outputs equal KWS.forward (padded), and the full-window form once >= rf frames have been fed.
    State 0 holds normalized features (the convolution's input), not raw ones.
    """

    def __init__(self, m: KWS):
        super().__init__()
        self.m = m

    def state_shapes(self) -> list[tuple[int, int, int]]:
        m = self.m
        shapes = [(1, m.conv_in.in_channels, K_IN - 1)]
        shapes += [(1, m.conv_in.out_channels, (K_DW - 1) * b.d) for b in m.blocks]
        return shapes

    def forward(self, features, *states):
        m = self.m
        x = (features - m.mean[None, :, None]) * m.inv_std[None, :, None]
        new_states = []
        xin = torch.cat([states[0], x], dim=2)
        new_states.append(xin[:, :, xin.shape[2] - (K_IN - 1):])
        x = F.relu(m.bn_in(m.conv_in(xin)))
        for b, s in zip(m.blocks, states[1:]):
            xin = torch.cat([s, x], dim=2)
            new_states.append(xin[:, :, xin.shape[2] - s.shape[2]:])
            x = b(xin, valid=True)
        z = m.head(x)
        return (torch.sigmoid(z[:, :, -1]), *new_states)
