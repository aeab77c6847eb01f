"""hushword training pipeline.

    python -m training make --word alexa --out models/alexa.onnx

Stages (each resumable, all state in ~/.cache/hushword/): corpora, rirs, dataset, train, mine,
calibrate, export, reference, card. See training/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .common import REPO, load_json, log, save_json, set_threads, timed, word_dir


def _report_update(word: str, **kw):
    p = word_dir(word) / "report.json"
    r = load_json(p, {})
    r.update(kw)
    save_json(p, r)
    return r


def _pool_update(word: str, **kw):
    """Merge kw into the report's description of the training pool."""
    p = load_json(word_dir(word) / "report.json", {}).get("pool", {})
    p.update(kw)
    _report_update(word, pool=p)


def stage_corpora(a):
    from .corpora import load_corpora, synth_summary, load_synth, excluded, corpus_specs

    cs = load_corpora(a.word)
    synth = {}
    for s in (f"pos-{a.word}", f"adv-{a.word}", "speech", f"test-{a.word}"):
        synth[s] = synth_summary(load_synth(s))
    _report_update(a.word, corpora=[{"name": c.name, "category": c.category, "train_h": c.hours("train"),
                                     "val_h": c.hours("val")} for c in cs],
                   excluded=[n for n, _, _ in corpus_specs() if excluded(n, a.word)], synth=synth)
    return cs


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.split(",") if x)


def stage_dataset(a):
    from .dataset import Knobs, dataset

    src = dataset(a.word, a.pos, a.neg, a.workers, fresh=a.fresh, n_aux=a.aux,
                  knobs=Knobs(pos_engine_temper=a.pos_engine_temper, p_voice=a.p_voice, p_knnvc=a.p_knnvc,
                              drop_corpora=_comma_list(a.drop_corpora), skip_engines=_comma_list(a.skip_engines)))
    import numpy as np

    durs = [(c["word_end"] - c["word_start"]) / 16 for c in src.pos.clips]
    from .dataset import knob_dict

    _report_update(a.word, word_duration_ms=int(np.median(durs)))
    _pool_update(a.word, pos=a.pos, neg=a.neg, knobs=knob_dict(src.knobs))
    return src


def stage_train(a, round_: int, epochs: int, init=None, lr=None):
    from .train import train

    _report_update(a.word, vtlp=a.vtlp, swa=a.swa, real_weight=a.real_weight)
    return train(a.word, round_, epochs, init=init, lr=lr or a.lr, channels=a.channels, steps_per_epoch=a.steps,
                 hard_weight=a.hard_weight, aux_weight=a.aux_weight, distill=a.distill, seed=a.seed,
                 domain=a.domain, vtlp=a.vtlp, swa=a.swa, real_weight=a.real_weight, cmn=a.cmn)


def _model_path(word, round_=None):
    wd = word_dir(word)
    if round_ is not None:
        return wd / f"model-r{round_}.pt"
    ms = sorted(wd.glob("model-r*.pt"), key=lambda p: int(p.stem.split("-r")[1]))
    if not ms:
        sys.exit(f"no trained model in {wd}: run `python -m training train --word {word}`")
    return ms[-1]


def _best_round(word: str, rounds: int) -> int:
    """The round whose best checkpoint has the highest validation recall at zero validation false
    accepts; ties go to the later round (it has seen more hard negatives)."""

    scores = []
    for r in range(rounds + 1):
        best = load_json(word_dir(word) / f"train-r{r}.json", {}).get("best") or {}
        scores.append((best.get("select", -1.0), r))
        log(f"round {r}: validation recall at zero false accepts {best.get('select', float('nan')):.3f}")
    return max(scores)[1]


def stage_mine(a, round_: int):
    from .mine import mine
    from .train import load_model

    m = load_model(_model_path(a.word, round_ - 1), a.channels)
    return mine(a.word, round_, m, max_items=a.mine_items, thr=a.mine_thr, n_aug=a.mine_aug, workers=a.workers)


def stage_calibrate(a, model_path=None):
    from .evaluate import build_validation, curve, per_engine, print_curve, score_validation, summary
    from .model import macs_full_window, n_params
    from .train import load_model

    mp = Path(model_path or a.model or _model_path(a.word))
    m = load_model(mp, a.channels)
    val = build_validation(a.word)
    sc = score_validation(m, val)
    s = summary(sc, a.margin)
    rows = curve(sc)
    from .evaluate import metrics

    chosen = metrics(sc, s["threshold"])
    rows = sorted(rows + [chosen], key=lambda r: r["threshold"])
    print_curve(rows, chosen=s["threshold"])
    cal = dict(s, neg_hours=val["neg_hours"], model=str(mp))
    log(f"threshold {s['threshold']:.4f} (max validation negative {s['max_neg']:.4f} in {s['worst_neg_corpus']}): "
        f"FA {s['fa']} ({s['fa_per_hour']:.2f}/h on {val['neg_hours']:.3f} h); "
        + ", ".join(f"{k[4:]} FRR {v:.3f}" for k, v in s.items() if k.startswith("frr_") and v is not None))
    from .corpora import load_corpora
    from .evaluate import top_negatives

    tops = top_negatives(sc, load_corpora(a.word, verbose=False))
    log("highest-scoring validation negatives:")
    for t in tops:
        log(f"  {t['score']:.4f}  {t['corpus']:28s} {t['key']} @ {t['at_s']} s")
    pe = per_engine(sc, s["threshold"])
    for k, d in pe.items():
        log(f"  {k}: " + ", ".join(f"{e} {v['frr']:.3f} (n={v['n']})" for e, v in d.items()))
    macs = macs_full_window(m)
    _report_update(a.word, calibration=cal, curve=rows, per_engine=pe, top_negatives=tops,
                   model={"channels": a.channels, "rf": m.rf, "params": n_params(m), "macs_per_eval": macs,
                          "macs_per_s": int(macs * 100 / 3)})
    return cal, m


def stage_export(a, m=None, cal=None):
    from .export import export_onnx, reference
    from .train import load_model

    r = load_json(word_dir(a.word) / "report.json", {})
    cal = cal or r.get("calibration")
    if cal is None:
        sys.exit("run `calibrate` first")
    m = m or load_model(cal["model"], a.channels)
    out = Path(a.out or REPO / "models" / f"{a.word}.onnx")
    thr = a.threshold or cal["threshold"]
    if a.threshold:
        log(f"threshold {a.threshold} given (calibration chose {cal['threshold']:.4f})")
        _report_update(a.word, shipped_threshold=a.threshold)
    export_onnx(m, a.word, out, thr, r.get("word_duration_ms", 600))
    reference(out, a.word, model=m)
    _report_update(a.word, onnx_bytes=out.stat().st_size, window_frames=100, hop_frames=3)
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["word"]:  # one command from a word to a model (training/word.py)
        from .word import main as word_main

        return word_main(argv[1:])
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=["make", "corpora", "rirs", "dataset", "train", "mine", "calibrate", "export",
                                     "reference", "card"])
    p.add_argument("--word", required=True)
    p.add_argument("--out", help="ONNX path (default models/<word>.onnx)")
    p.add_argument("--model", help="checkpoint for calibrate (default: the last round's)")
    p.add_argument("--quick", action="store_true", help="short schedule (smaller pool, fewer epochs)")
    p.add_argument("--pos", type=int, help="positive sequences in the pool")
    p.add_argument("--neg", type=int, help="negative sequences in the pool")
    p.add_argument("--fresh", action="store_true", help="rebuild the pool from scratch")
    p.add_argument("--epochs", type=int, help="epochs of the first round")
    p.add_argument("--ft-epochs", type=int, help="epochs of each fine-tuning round after mining")
    p.add_argument("--rounds", type=int, default=2, help="hard-negative mining rounds")
    p.add_argument("--round", type=int, default=0, help="for train/mine: which round")
    p.add_argument("--scratch", action="store_true", help="train: start from random weights in any round")
    p.add_argument("--pos-engine-temper", type=float, default=1.0,
                   help="dataset: draw positives with TTS engine shares ~ clips**x (1: as synthesized; "
                        "0.5 gives engines other than Kokoro more weight)")
    p.add_argument("--p-voice", type=float, default=0.0,
                   help="dataset: share of TTS word clips given another speaker's pitch and formants "
                        "(augment.voice_shift; 0: off)")
    p.add_argument("--p-knnvc", type=float, default=0.0,
                   help="dataset: share of TTS word clips re-voiced by a real speaker of the speaker-labelled "
                        "corpora (training/knnvc.py; 0: off)")
    p.add_argument("--drop-corpora", default="",
                   help="dataset: comma list of real corpus name prefixes left out of the training negatives "
                        "and of mining (still counted in validation), e.g. wakewords-jarvis,wakewords-snowboy")
    p.add_argument("--skip-engines", default="",
                   help="dataset: comma list of TTS engine labels left out of every synthetic set "
                        "(e.g. kokoro-random or kokoro-target, see training/synth/speakers.py)")
    p.add_argument("--seed", type=int, default=0, help="train: seed of the weights and the batch order")
    p.add_argument("--steps", type=int, help="steps per epoch of 64 sequences (default 150; --quick 100)")
    p.add_argument("--aux", type=int, default=0,
                   help="sequences around real recordings of other wake words (auxiliary heads; 0: none)")
    p.add_argument("--aux-weight", type=float, default=0.0,
                   help="loss weight of auxiliary word heads on the real recordings (0: off; 0.5 measured worse)")
    p.add_argument("--distill", type=float, default=0.0,
                   help="loss weight of the teacher-embedding distillation (training/teacher.py; needs a pool "
                        "built with HUSHWORD_TEACHER=1; 0: off; 1.0 measured worse)")
    from .common import add_knob_args

    add_knob_args(p)  # --lr, --channels, --hard-weight, --domain, --vtlp, --swa, --real-weight
    p.add_argument("--mine-items", type=int, default=2500)
    p.add_argument("--mine-thr", type=float, default=0.05)
    p.add_argument("--mine-aug", type=int, default=2)
    p.add_argument("--margin", type=float, default=0.5, help="threshold = max val negative + margin (logits)")
    p.add_argument("--threshold", type=float, help="export with this threshold instead of the calibrated one "
                   "(e.g. raised until `hushword eval` finds no false accept in all real negatives)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    if a.cmn and a.stage != "train":
        p.error(f"--cmn {a.cmn}: a training experiment only (stage train); its models cannot be exported")
    a.word = a.word.lower()
    q = a.quick
    a.pos = a.pos or (2000 if q else 6000)
    a.neg = a.neg or (4000 if q else 12000)
    a.epochs = a.epochs or (6 if q else 12)
    a.ft_epochs = a.ft_epochs or (3 if q else 5)
    a.steps = a.steps or (100 if q else 150)
    if q and a.mine_items == 2500:
        a.mine_items = 1000
    set_threads(a.threads)
    timings = {}
    t0 = time.time()
    if a.stage == "corpora":
        stage_corpora(a)
    elif a.stage == "rirs":
        from .augment import make_rir_bank

        make_rir_bank()
    elif a.stage == "dataset":
        stage_dataset(a)
    elif a.stage == "train":
        init = str(_model_path(a.word, a.round - 1)) if a.round > 0 and not a.scratch else None
        stage_train(a, a.round, a.epochs if init is None else a.ft_epochs, init=init,
                    lr=a.lr if init is None else a.lr / 3)
    elif a.stage == "mine":
        stage_mine(a, max(1, a.round))
    elif a.stage == "calibrate":
        stage_calibrate(a)
    elif a.stage == "export":
        stage_export(a)
    elif a.stage == "reference":
        from .export import reference

        reference(Path(a.out or REPO / "models" / f"{a.word}.onnx"), a.word)
    elif a.stage == "card":
        from .card import write_card

        log(f"model card -> {write_card(a.word, Path(a.out or REPO / 'models' / f'{a.word}.onnx'))}")
    elif a.stage == "make":
        make_args = " ".join(x for x in (argv or sys.argv[1:]) if x not in ("make",))
        _report_update(a.word, make_args=" ".join(
            s for s in make_args.split() if s not in (a.word, "--word", "--out", a.out or "")), rounds=a.rounds)
        with timed("corpora", timings):
            stage_corpora(a)
        with timed("dataset", timings):
            stage_dataset(a)
        with timed("train r0", timings):
            stage_train(a, 0, a.epochs)
        for r in range(1, a.rounds + 1):
            with timed(f"mine r{r}", timings):
                stage_mine(a, r)
            with timed(f"train r{r}", timings):
                stage_train(a, r, a.ft_epochs, init=str(_model_path(a.word, r - 1)), lr=a.lr / 3)
        import numpy as np

        from .dataset import load_pool

        _, _, tags = load_pool(a.word)
        _pool_update(a.word, pos=a.pos, neg=a.neg, hard=int(np.char.startswith(tags.astype(str), "hard").sum()))
        best_round = _best_round(a.word, a.rounds)
        _report_update(a.word, best_round=best_round)
        with timed("calibrate", timings):
            cal, m = stage_calibrate(a, _model_path(a.word, best_round))
        with timed("export", timings):
            out = stage_export(a, m, cal)
        timings["total"] = round(time.time() - t0, 1)
        _report_update(a.word, timings=timings)
        from .card import write_card

        log(f"model card -> {write_card(a.word, out)}")
        log("timings (s): " + ", ".join(f"{k} {v}" for k, v in timings.items()))


if __name__ == "__main__":
    main()
