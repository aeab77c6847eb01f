"""Training with masked per-frame BCE on the sequence pool, SpecAugment, balanced batches with
oversampled hard negatives; checkpoint selection on validation data (never trained on)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import log, save_json, word_dir
from .dataset import VOICE_REAL, load_aux, load_pool
from .evaluate import build_validation, score_validation, summary
from .model import KWS, n_params


def norm_stats(X: np.ndarray, Y: np.ndarray, cmn: int = 0):
    """Per-feature mean/std over the frames that carry a label (not the masked warm-up), after the
    model's cepstral mean normalization over `cmn` frames when it has one."""
    import torch

    from .model import causal_mean

    idx = np.random.default_rng(0).choice(len(X), size=min(len(X), 3000), replace=False)
    fr = []
    for i in idx:
        m = Y[i] >= 0
        x = X[i].astype(np.float32)
        if cmn:
            x = x - causal_mean(torch.from_numpy(x[None]), cmn)[0].numpy()
        fr.append(x[:, m])
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


class VocalTractWarp:
    """On-the-fly vocal tract length perturbation of training batches (augment.mfcc_warp_matrix):
    each sequence, positive or negative, gets with probability p its spectral envelope moved along
    frequency by a factor drawn log-uniformly in [1 / (1 + r), 1 + r], a new one every time it is
    drawn, so that the word is not tied to where a TTS voice's formants sit. Tried because moving the
    envelope raised the scores of the real "computer" recordings the model misses most; that was
    mostly regression to the mean, and trained with it real recall did not improve (measured in
    training/README.md, "Vocal tract length perturbation")."""

    def __init__(self, r: float, p: float = 0.8, n: int = 33):
        import torch

        from .augment import mfcc_warp_bank

        self.p = p
        self.bank = torch.from_numpy(mfcc_warp_bank(1 / (1 + r), 1 + r, n))  # n odd: the middle factor is 1
        self.identity = n // 2  # the middle factor of the log-spaced bank is 1

    def __call__(self, x, rng):
        """x: float32 torch batch [B, n_mfcc, T] of raw features; returns the warped batch."""
        import torch

        k = rng.integers(0, len(self.bank), len(x))
        k[rng.random(len(x)) >= self.p] = self.identity
        return torch.einsum("bij,bjt->bit", self.bank[torch.from_numpy(k)], x)


class WeightAverage:
    """Stochastic weight averaging (Izmailov et al., 2018) over the tail of training: the mean of the
    weights every `every` steps from step `start` on, then BatchNorm statistics recomputed on pool
    batches. Why: the scores of real recordings swing under small perturbations the model was not
    trained on (training/README.md), the mark of a sharp minimum, and averaged weights sit in a
    flatter one that moves less under a shift from synthetic to real voices (SWAD, Cha et al., 2021).
    Replaces the checkpoint selection of the plain recipe (the last, averaged model is kept).
    Measured no better than the plain recipe (training/README.md, "Weight averaging")."""

    def __init__(self, model, start: int, every: int = 10):
        from torch.optim.swa_utils import AveragedModel

        self.model, self.start, self.every, self.n = model, start, every, 0
        self.avg = AveragedModel(model)

    def step(self, step: int):
        if step >= self.start and (step - self.start) % self.every == 0:
            self.avg.update_parameters(self.model)
            self.n += 1

    def finish(self, X: np.ndarray, rng, batch: int, n_batches: int = 60):
        """The averaged model with BatchNorm statistics of n_batches random pool batches."""
        import torch

        m = self.avg.module
        for mod in m.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.reset_running_stats()
                mod.momentum = None  # cumulative average over the batches below
        m.train()
        with torch.no_grad():
            for _ in range(n_batches):
                m(torch.from_numpy(X[rng.choice(len(X), batch)].astype(np.float32)))
        return m.eval()


def aux_loss(model, aux, rng, n: int, mean):
    """Per-frame BCE of the auxiliary heads on a batch of real auxiliary-word sequences: head k is
    1 after word k ends and 0 elsewhere; the other auxiliary heads are 0 throughout (another word)."""
    import torch
    import torch.nn.functional as F

    X, YA, K = aux[:3]
    bi = rng.choice(len(K), n)
    xb = spec_augment(torch.from_numpy(X[bi].astype(np.float32)), rng, mean)
    ya = torch.from_numpy(YA[bi].astype(np.float32))
    z = model(xb)[:, 1:]  # [n, n_aux, T]
    onehot = F.one_hot(torch.from_numpy(K[bi].astype(np.int64)) - 1, z.shape[1]).float()[:, :, None]
    m = (ya >= 0).float()[:, None, :].expand_as(z)
    tgt = onehot * ya.clamp(min=0)[:, None, :]
    return (F.binary_cross_entropy_with_logits(z, tgt, reduction="none") * m).sum() / m.sum()


class Distiller:
    """Holds the student to the teacher's speech embeddings (training/teacher.py): a 1x1 head from the
    last block's output to the 96 standardized embedding dimensions, MSE at the frames aligned with
    each embedding. The head is dropped at export."""

    def __init__(self, model, E: np.ndarray, aux, rng):
        import torch.nn as nn

        from .teacher import DIM

        sample = E[rng.choice(len(E), min(len(E), 2000), replace=False)].astype(np.float32).reshape(-1, DIM)
        self.mu, self.sd = sample.mean(0), sample.std(0) + 1e-3
        self.E = E
        # the real auxiliary-word sequences and their embeddings, when the aux pool carries them
        self.aux = (aux[0], aux[4]) if aux is not None and aux[4] is not None else None
        self.head = nn.Conv1d(model.conv_in.out_channels, DIM, 1)
        self.model = model

    def _mse(self, h, E):
        import torch

        from .teacher import target_frames

        k, t = target_frames(E.shape[1], self.model.rf, h.shape[2])
        tgt = (E[:, k].astype(np.float32) - self.mu) / self.sd  # [B, nk, 96]
        pred = self.head(h[:, :, t])  # [B, 96, nk]
        return ((pred - torch.from_numpy(tgt).transpose(1, 2)) ** 2).mean()

    def loss(self, h, bi, rng, n_aux: int, mean):
        """MSE on the batch's own sequences, plus n_aux real auxiliary-word sequences (real voices)."""
        import torch

        total = self._mse(h, self.E[bi])
        if self.aux is not None and n_aux > 0:
            X, E = self.aux
            ai = rng.choice(len(E), n_aux)
            xa = spec_augment(torch.from_numpy(X[ai].astype(np.float32)), rng, mean)
            total = total + self._mse(self.model.features(xa), E[ai])
        return total


class VoiceAdversary:
    """Domain-adversarial training against the one cue synthetic-only positives offer: every positive
    is a TTS voice and most real voices are negatives, so "sounds like a real recording" predicts "not
    the word". A small head learns to tell real from TTS voices from the last block's output, on
    negative frames only (dataset.voice_labels; on negatives the voice says nothing about the class,
    so the head cannot read the word), and a gradient reversal layer makes the shared layers remove
    what it reads. The reversal strength ramps up as 2 / (1 + exp(-10 p)) - 1 over training (Ganin et
    al., 2016). The head is dropped at export."""

    def __init__(self, model, D: np.ndarray, hidden: int = 32):
        import torch.nn as nn

        self.D = D
        c = model.conv_in.out_channels
        self.head = nn.Sequential(nn.Conv1d(c, hidden, 1), nn.ReLU(), nn.Conv1d(hidden, 1, 1))
        self.hits, self.seen = 0.0, 0
        self.reverse = _gradient_reversal()

    def loss(self, h, bi, progress: float):
        """Class-balanced BCE of the voice head on the batch's labelled frames; the shared layers get
        the reversed gradient."""
        import torch
        import torch.nn.functional as F

        d = torch.from_numpy(self.D[bi].astype(np.float32))
        real, tts = d == 1, d == 0
        if not real.any() or not tts.any():
            return h.sum() * 0
        lam = 2.0 / (1.0 + np.exp(-10.0 * progress)) - 1.0
        z = self.head(self.reverse.apply(h, lam))[:, 0]
        bce = F.binary_cross_entropy_with_logits(z, d.clamp(min=0), reduction="none")
        with torch.no_grad():  # balanced accuracy: 0.5 means the voice can no longer be told
            self.hits += 0.5 * ((z[real] > 0).float().mean() + (z[tts] <= 0).float().mean()).item()
            self.seen += 1
        return 0.5 * (bce[real].mean() + bce[tts].mean())

    def accuracy(self) -> float:
        """Balanced accuracy since the last call."""
        a = self.hits / max(1, self.seen)
        self.hits, self.seen = 0.0, 0
        return a


def _gradient_reversal():
    """Identity forward; the gradient times -lam backward."""
    import torch

    class GradReverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, lam):
            ctx.lam = lam
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return -ctx.lam * g, None

    return GradReverse


def target_only(sd: dict) -> dict:
    """A state dict with the target head alone (what export, mining and calibration load)."""
    sd = {k: v.clone() for k, v in sd.items()}
    sd["head.weight"], sd["head.bias"] = sd["head.weight"][:1], sd["head.bias"][:1]
    return sd


CMN_KEY = "cmn_frames"  # marks a checkpoint trained with --cmn, which no later stage can use


def checkpoint_state(model) -> dict:
    import torch

    sd = target_only(model.state_dict())
    if model.cmn_frames:
        sd[CMN_KEY] = torch.tensor(model.cmn_frames)
    return sd


def train(word: str, round_: int, epochs: int, init: str | None = None, lr: float = 3e-3, batch: int = 64,
          channels: int = 64, hard_weight: float = 2.0, neg_frac: float = 0.6, pos_weight: float = 1.0,
          steps_per_epoch: int | None = None, seed: int = 0, verbose: bool = True, aux_weight: float = 0.0,
          aux_batch: int = 16, distill: float = 0.0, domain: float = 0.0, vtlp: float = 0.0,
          swa: float = 0.0, real_weight: float = 1.0, cmn: int = 0, out: Path | None = None) -> dict:
    """Trains round `round_` and saves its checkpoint as train/<word>/model-r<round_>.pt (or `out`,
    with its history beside it as .json); returns the kept checkpoint's validation summary."""
    import torch
    import torch.nn.functional as F

    wd = word_dir(word)
    t0 = time.time()
    X, Y, tags, *E, D = load_pool(word, teacher=distill > 0, voice=True)
    E = E[0] if E else None
    is_pos = (Y == 1).any(axis=1)
    is_hard = np.char.startswith(tags.astype(str), "hard")
    pos_idx = np.nonzero(is_pos)[0]
    neg_idx = np.nonzero(~is_pos)[0]
    nw = np.where(is_hard[neg_idx], hard_weight, 1.0)
    nw = nw / nw.sum()
    log(f"pool: {len(pos_idx)} positive, {len(neg_idx)} negative ({is_hard.sum()} mined hard) sequences, "
        f"{X.nbytes / 1e6:.0f} MB, loaded in {time.time() - t0:.1f} s")

    aux = load_aux(word) if aux_batch > 0 and (aux_weight > 0 or distill > 0) else None
    n_aux = len(aux[3]) if aux is not None and aux_weight > 0 else 0
    if n_aux:
        log(f"auxiliary heads on real recordings of {', '.join(aux[3])}: {len(aux[2])} sequences, "
            f"{aux_batch} per batch, loss weight {aux_weight}")

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + 1000 * round_)
    model = KWS(n_features=X.shape[1], channels=channels, n_keywords=1 + n_aux, cmn_frames=cmn)
    dist = Distiller(model, E, aux, rng) if distill > 0 and E is not None else None
    adv = VoiceAdversary(model, D) if domain > 0 else None
    warp = VocalTractWarp(vtlp) if vtlp > 0 else None
    if warp is not None:
        log(f"vocal tract length perturbation: factors {1 / (1 + vtlp):.3f}-{1 + vtlp:.3f} on {warp.p:.0%} "
            "of sequences")
    if adv is not None:
        log(f"voice-adversarial head (weight {domain}) on {(D == 1).sum()} real-voice and {(D == 0).sum()} "
            "TTS-voice negative frames")
    if dist is not None:
        log(f"distilling the teacher's speech embeddings (weight {distill}) on {len(E)} pool sequences"
            + (f" and {len(dist.aux[1])} real auxiliary-word sequences" if dist.aux is not None else ""))
    if init:
        sd = torch.load(init, weights_only=True)
        was = int(sd.pop(CMN_KEY, 0))
        if was != cmn:
            raise SystemExit(f"{init} was trained with --cmn {was}: fine-tune it with the same --cmn, not {cmn}")
        if n_aux:  # a saved model has the target head only: the auxiliary heads start fresh
            sd["head.weight"] = torch.cat([sd["head.weight"], model.head.weight.data[1:]])
            sd["head.bias"] = torch.cat([sd["head.bias"], model.head.bias.data[1:]])
        model.load_state_dict(sd)
        log(f"fine-tuning from {init}")
    else:
        mean, std = norm_stats(X, Y, cmn)
        model.mean.copy_(torch.from_numpy(mean))
        model.inv_std.copy_(torch.from_numpy(1 / std))
    mean = model.mean.numpy().copy()
    log(f"model: {n_params(model)} parameters, receptive field {model.rf} frames")

    val = build_validation(word, verbose=verbose)
    n_pos_b = int(round(batch * (1 - neg_frac)))
    steps = steps_per_epoch or max(20, int(len(pos_idx) / n_pos_b))
    params = list(model.parameters()) + (list(dist.head.parameters()) if dist is not None else []) \
        + (list(adv.head.parameters()) if adv is not None else [])
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-3)
    total = max(4, epochs * steps)
    # with weight averaging the one-cycle schedule ends where the averaging starts, and the averaged
    # tail runs at a constant lr / 5 (SWA needs a learning rate that keeps the weights moving)
    cycle = max(4, int(total * (1 - swa))) if swa > 0 else total
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=cycle,
                                                pct_start=max(2 / cycle, 0.15 if not init else 0.05))
    best, best_sel, history = None, -1.0, []
    ck = Path(out) if out else wd / f"model-r{round_}.pt"
    avg = WeightAverage(model, cycle) if swa > 0 else None
    for ep in range(epochs):
        model.train()
        te = time.time()
        tot = 0.0
        for _step in range(steps):
            bi = np.concatenate([rng.choice(pos_idx, n_pos_b), rng.choice(neg_idx, batch - n_pos_b, p=nw)])
            xb = torch.from_numpy(X[bi].astype(np.float32))
            yb = torch.from_numpy(Y[bi].astype(np.float32))
            wb = torch.from_numpy(np.where(is_hard[bi], hard_weight, 1.0).astype(np.float32))[:, None]
            if warp is not None:
                xb = warp(xb, rng)
            xb = spec_augment(xb, rng, mean)
            h = model.features(xb)
            z = model.head(h)[:, 0]
            m = (yb >= 0).float()
            tgt = yb.clamp(min=0)
            w = m * wb * torch.where(tgt > 0, torch.full_like(tgt, pos_weight), torch.ones_like(tgt))
            if real_weight != 1.0:  # frames of real voices alone (dataset.voice_labels), all negatives
                w = w * torch.where(torch.from_numpy(D[bi]) == VOICE_REAL, real_weight, 1.0)
            loss = (F.binary_cross_entropy_with_logits(z, tgt, reduction="none") * w).sum() / m.sum()
            if n_aux:
                loss = loss + aux_weight * aux_loss(model, aux, rng, aux_batch, mean)
            if dist is not None:
                loss = loss + distill * dist.loss(h, bi, rng, aux_batch, mean)
            if adv is not None:
                loss = loss + domain * adv.loss(h, bi, (ep * steps + _step) / total)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step = ep * steps + _step
            if avg is None or step + 1 < cycle:
                sched.step()
            elif step + 1 == cycle:  # the averaged tail runs at a constant lr / 5
                for g in opt.param_groups:
                    g["lr"] = lr / 5
            if avg is not None:
                avg.step(step)
            tot += loss.item()
        sc = score_validation(model, val)
        s = summary(sc)
        s.update(epoch=ep, loss=tot / steps, seconds=round(time.time() - te, 1))
        if adv is not None:
            s["voice_accuracy"] = round(adv.accuracy(), 4)
        history.append(s)
        frr = "  ".join(f"{k[4:]}={v:.3f}" for k, v in s.items() if k.startswith("frr_") and v is not None)
        log(f"r{round_} epoch {ep + 1}/{epochs} loss {s['loss']:.4f}"
            + (f" (voice head accuracy {s['voice_accuracy']:.3f})" if adv is not None else "")
            + f"  max val neg {s['max_neg']:.4f} "
            f"({s['worst_neg_corpus']}) -> thr {s['threshold']:.4f}: {frr}  [{s['seconds']} s]")
        if s["select"] > best_sel or (s["select"] == best_sel and best is not None and s["max_neg"] < best["max_neg"]):
            best_sel, best = s["select"], s
            torch.save(checkpoint_state(model), ck)
    if avg is not None:  # the averaged weights replace the best epoch's
        model = avg.finish(X, rng, batch)
        s = summary(score_validation(model, val))
        s.update(epoch=epochs - 1, averaged_from_step=avg.start, averaged=avg.n)
        log(f"r{round_} weights averaged over the last {avg.n} checkpoints (from step {avg.start}): max val neg "
            f"{s['max_neg']:.4f} -> thr {s['threshold']:.4f}: "
            + "  ".join(f"{k[4:]}={v:.3f}" for k, v in s.items() if k.startswith("frr_") and v is not None))
        history.append(s)
        best_sel, best = s["select"], s
        torch.save(checkpoint_state(model), ck)
    kept = f"weights averaged from step {avg.start}" if avg is not None else f"best epoch {best['epoch'] + 1}"
    log(f"round {round_}: {kept} (recall at zero-FA threshold {best_sel:.3f}) -> {ck}")
    history_path = ck.with_suffix(".json") if out else wd / f"train-r{round_}.json"
    save_json(history_path, {"history": history, "best": best, "params": n_params(model), "steps_per_epoch": steps,
                             "batch": batch, "lr": lr, "hard_weight": hard_weight, "init": init, "vtlp": vtlp,
                             "swa": swa, "real_weight": real_weight, "cmn": cmn})
    return best


def load_model(path, channels: int = 64, n_features: int = 20):
    import torch

    sd = torch.load(path, weights_only=True)
    if CMN_KEY in sd:
        raise SystemExit(f"{path}: trained with --cmn {int(sd[CMN_KEY])}, a training experiment that no later "
                         "stage (mine, calibrate, export) can use")
    m = KWS(n_features=n_features, channels=channels)
    m.load_state_dict(sd)
    return m.eval()
