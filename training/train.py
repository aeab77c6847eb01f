"""Training with masked per-frame BCE on the sequence pool, SpecAugment, balanced batches with
oversampled hard negatives; checkpoint selection on validation data (never trained on)."""

from __future__ import annotations

import time

import numpy as np

from .common import log, save_json, word_dir
from .dataset import load_pool
from .evaluate import build_validation, score_validation, summary
from .model import KWS, n_params


def norm_stats(X: np.ndarray, Y: np.ndarray):
    """Per-feature mean/std over the frames that carry a label (not the masked warm-up)."""
    idx = np.random.default_rng(0).choice(len(X), size=min(len(X), 3000), replace=False)
    fr = []
    for i in idx:
        m = Y[i] >= 0
        fr.append(X[i][:, m].astype(np.float32))
    f = np.concatenate(fr, axis=1)
    return f.mean(axis=1), f.std(axis=1) + 1e-3


def spec_augment(x, rng, mean, n_time=2, max_t=10, n_freq=2, max_f=3):
    """In place on a float32 torch batch [B, F, T]: masked spans are set to the feature mean."""
    import torch

    B, Fdim, T = x.shape
    mean_t = torch.from_numpy(mean)[:, None]
    for b in range(B):
        if rng.random() < 0.2:
            continue
        for _ in range(n_time):
            w = int(rng.integers(0, max_t + 1))
            t0 = int(rng.integers(0, T - w + 1))
            x[b, :, t0: t0 + w] = mean_t
        for _ in range(n_freq):
            w = int(rng.integers(0, max_f + 1))
            f0 = int(rng.integers(1, Fdim - w + 1)) if Fdim - w > 1 else 0
            x[b, f0: f0 + w, :] = mean_t[f0: f0 + w]
    return x


def train(word: str, round_: int, epochs: int, init: str | None = None, lr: float = 3e-3, batch: int = 64,
          channels: int = 64, hard_weight: float = 2.0, neg_frac: float = 0.6, pos_weight: float = 1.0,
          steps_per_epoch: int | None = None, seed: int = 0, verbose: bool = True) -> dict:
    import torch
    import torch.nn.functional as F

    wd = word_dir(word)
    t0 = time.time()
    X, Y, tags = load_pool(word)
    is_pos = (Y == 1).any(axis=1)
    is_hard = np.char.startswith(tags.astype(str), "hard")
    pos_idx = np.nonzero(is_pos)[0]
    neg_idx = np.nonzero(~is_pos)[0]
    nw = np.where(is_hard[neg_idx], hard_weight, 1.0)
    nw = nw / nw.sum()
    log(f"pool: {len(pos_idx)} positive, {len(neg_idx)} negative ({is_hard.sum()} mined hard) sequences, "
        f"{X.nbytes / 1e6:.0f} MB, loaded in {time.time() - t0:.1f} s")

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + 1000 * round_)
    model = KWS(n_features=X.shape[1], channels=channels)
    if init:
        model.load_state_dict(torch.load(init, weights_only=True))
        log(f"fine-tuning from {init}")
    else:
        mean, std = norm_stats(X, Y)
        model.mean.copy_(torch.from_numpy(mean))
        model.inv_std.copy_(torch.from_numpy(1 / std))
    mean = model.mean.numpy().copy()
    log(f"model: {n_params(model)} parameters, receptive field {model.rf} frames")

    val = build_validation(word, verbose=verbose)
    n_pos_b = int(round(batch * (1 - neg_frac)))
    steps = steps_per_epoch or max(20, int(len(pos_idx) / n_pos_b))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    total = max(4, epochs * steps)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total,
                                                pct_start=max(2 / total, 0.15 if not init else 0.05))
    best, best_sel, history = None, -1.0, []
    ck = wd / f"model-r{round_}.pt"
    for ep in range(epochs):
        model.train()
        te = time.time()
        tot = 0.0
        for _step in range(steps):
            bi = np.concatenate([rng.choice(pos_idx, n_pos_b), rng.choice(neg_idx, batch - n_pos_b, p=nw)])
            xb = torch.from_numpy(X[bi].astype(np.float32))
            yb = torch.from_numpy(Y[bi].astype(np.float32))
            wb = torch.from_numpy(np.where(is_hard[bi], hard_weight, 1.0).astype(np.float32))[:, None]
            xb = spec_augment(xb, rng, mean)
            z = model(xb)[:, 0]
            m = (yb >= 0).float()
            tgt = yb.clamp(min=0)
            w = m * wb * torch.where(tgt > 0, torch.full_like(tgt, pos_weight), torch.ones_like(tgt))
            loss = (F.binary_cross_entropy_with_logits(z, tgt, reduction="none") * w).sum() / m.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item()
        sc = score_validation(model, val)
        s = summary(sc)
        s.update(epoch=ep, loss=tot / steps, seconds=round(time.time() - te, 1))
        history.append(s)
        frr = "  ".join(f"{k[4:]}={v:.3f}" for k, v in s.items() if k.startswith("frr_") and v is not None)
        log(f"r{round_} epoch {ep + 1}/{epochs} loss {s['loss']:.4f}  max val neg {s['max_neg']:.4f} "
            f"({s['worst_neg_corpus']}) -> thr {s['threshold']:.4f}: {frr}  [{s['seconds']} s]")
        if s["select"] > best_sel or (s["select"] == best_sel and best is not None and s["max_neg"] < best["max_neg"]):
            best_sel, best = s["select"], s
            torch.save(model.state_dict(), ck)
    log(f"round {round_}: best epoch {best['epoch'] + 1} (recall at zero-FA threshold {best_sel:.3f}) -> {ck}")
    save_json(wd / f"train-r{round_}.json", {"history": history, "best": best, "params": n_params(model),
                                            "steps_per_epoch": steps, "batch": batch, "lr": lr,
                                            "hard_weight": hard_weight, "init": init})
    return best


def load_model(path, channels: int = 64, n_features: int = 20):
    import torch

    m = KWS(n_features=n_features, channels=channels)
    m.load_state_dict(torch.load(path, weights_only=True))
    return m.eval()
