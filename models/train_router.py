"""Train the exercise router: ``python -m models.train_router --seed 0``.

1. synthesise clips (models.synth), run them through the real causal cleaner and the shared window
   feature function, label each window (the exercise when the window contains a good part of a
   repetition, ``unknown`` for negatives and for still stretches);
2. calibrate the motion-energy gate on synthetic windows;
3. real movement (models.realdata): augmented landmark sequences of the dev clips, labelled from their exercise spans;
4. cross-validation split by clip: the dev clips are grouped by source into ``--folds`` folds; fold model k is trained on
   synthetic motion + the real clips of the other folds and is the only model that reports the clips of fold k;
5. the shipped network is the ensemble of the fold models (mean probability; each dev clip was seen by all but one
   of them, so its figures on the dev clips are a training fit, never an accuracy); the boosted-trees baseline on
   the synthetic windows only;
6. write models/weights/{router.pt (the fold models, half precision), router_baseline.npz, router_meta.json};
7. evaluate (models.evaluate_router) and write models/MODEL_CARD.md.
"""
from __future__ import annotations

import argparse
import json
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from pipeline.movement.router import LABELS, UNKNOWN, WEIGHTS_DIR, DecisionParams
from pipeline.movement.router.features import (FEATURE_VERSION, HOP_S, N_FEAT, NEG_RANGE, POS_RANGE, RATE, WIN_S, ClipArrays,
                                              T, clip_windows)

CLASS_MIX = {"squat": 0.13, "push_up": 0.12, "shoulder_press": 0.12, "deadlift": 0.14, "lunge": 0.14, "unknown": 0.35}
N_CLS = len(LABELS)


def _clip_job(args):
    seed, i, label = args
    from pipeline.pose.cleaning import PoseCleaner

    from .synth import synth_clip, to_pose_frames

    rng = np.random.default_rng([seed, i])
    m, r = synth_clip(label, rng)
    cl = PoseCleaner()
    frames = [cl.update(pf) for pf in to_pose_frames(r)]
    clip = ClipArrays.from_frames(frames)
    ends, f, e, ok = clip_windows(clip, hop=0.5)
    ends = ends[ok]
    y = np.full(len(ends), -1, np.int64)
    li = LABELS.index(label)
    for k, te in enumerate(ends):
        w = (r.t > te - WIN_S) & (r.t <= te + 1e-9)
        rng_ = float(np.ptp(m.active[w])) if w.any() else 0.0
        if label == "unknown" or m.label == "unknown" or rng_ < NEG_RANGE:
            y[k] = UNKNOWN
        elif rng_ >= POS_RANGE:
            y[k] = li
    return f.astype(np.float16), e.astype(np.float32), y, m.kind, r.info["view"]


def make_dataset(seed: int, n_clips: int, workers: int = 2):
    rng = np.random.default_rng(seed)
    labels = rng.choice(list(CLASS_MIX), size=n_clips, p=list(CLASS_MIX.values()))
    jobs = [(seed, i, str(lab)) for i, lab in enumerate(labels)]
    if workers > 1:
        with get_context("fork").Pool(workers, initializer=_worker_init) as pool:
            res = pool.map(_clip_job, jobs, chunksize=16)
    else:
        res = [_clip_job(j) for j in jobs]
    X = np.concatenate([r[0] for r in res])
    E = np.concatenate([r[1] for r in res])
    Y = np.concatenate([r[2] for r in res])
    G = np.concatenate([np.full(len(r[2]), i) for i, r in enumerate(res)])
    kinds = np.concatenate([np.full(len(r[2]), r[3], dtype=object) for r in res])
    return X, E, Y, G, kinds


def _worker_init():
    import torch

    torch.set_num_threads(1)


def calibrate_gate(E, Y, kinds) -> float:
    """Motion-energy gate from synthetic windows: above the jitter of still poses, below real movement."""
    still_kinds = ("idle_stand", "idle_sit", "idle_plank", "idle_forearm_plank", "idle_side_plank", "idle_kneel",
                   "idle_lying")
    still = np.array([str(k) in still_kinds for k in kinds]) & (Y == UNKNOWN)
    moving = Y < UNKNOWN  # exercise windows and the partial ones left out (as calibrated before)
    g_still = float(np.percentile(E[still], 90))
    g_move = float(np.percentile(E[moving], 2))
    return round(min(g_still, g_move), 4), g_still, g_move


def train_net(X, Y, G, seed: int, epochs: int, log, Xr=None, Yr=None, val_clips=None):
    """The temporal CNN on synthetic windows (X, Y, clip ids G) plus real windows (Xr, Yr) when given. Validation:
    held-out synthetic clips (``val_clips``, or a seeded tenth of them). Windows stay float16 until a batch is drawn."""
    import torch
    from torch import nn

    from pipeline.movement.router.nets import RouterNet, n_params

    torch.manual_seed(seed)
    keep = Y >= 0
    X, Y, G = X[keep], Y[keep], G[keep]
    if val_clips is None:
        val_clips = _val_clips(G, seed)
    is_val = np.isin(G, list(val_clips))
    Xtr, Ytr = X[~is_val], Y[~is_val]
    n_real = 0
    if Xr is not None and len(Xr):
        kr = Yr >= 0
        Xtr = np.concatenate([Xtr, Xr[kr]])
        Ytr = np.concatenate([Ytr, Yr[kr]])
        n_real = int(kr.sum())
    Xt = torch.from_numpy(np.ascontiguousarray(Xtr, np.float16))
    Yt = torch.from_numpy(Ytr)
    Xv = torch.from_numpy(np.ascontiguousarray(X[is_val], np.float16))
    Yv = Y[is_val]
    net = RouterNet(N_FEAT, n_cls=N_CLS)
    flat = torch.cat([Xt[k:k + 4096].float().reshape(-1, N_FEAT) for k in range(0, len(Xt), 4096)])
    net.mu.copy_(flat.mean(0))
    net.sd.copy_(flat.std(0).clamp_min(0.05))
    del flat
    counts = np.bincount(Ytr, minlength=N_CLS).astype(np.float64)
    w = torch.tensor((counts.sum() / (N_CLS * np.maximum(counts, 1))) ** 0.5, dtype=torch.float32)
    lossf = nn.CrossEntropyLoss(weight=w, label_smoothing=0.05)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-3)
    bs = 256
    steps = epochs * int(np.ceil(len(Xt) / bs))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    log(f"net: {n_params(net)} parameters, train windows {len(Xt)} ({n_real} real), val windows {len(Xv)} "
        f"({len(val_clips)} held-out synthetic clips), class counts {counts.astype(int).tolist()}")
    g = torch.Generator().manual_seed(seed)
    pv = np.zeros(0)
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(len(Xt), generator=g)
        tot = 0.0
        t0 = time.time()
        for k in range(0, len(Xt), bs):
            idx = perm[k:k + bs]
            xb = Xt[idx].float()
            # small feature-space augmentation: time shift by one sample, gaussian noise
            if torch.rand(1, generator=g).item() < 0.5:
                xb = torch.roll(xb, shifts=int(torch.randint(-2, 3, (1,), generator=g)), dims=1)
            xb = xb + 0.03 * torch.randn(xb.shape, generator=g) * net.sd
            loss = lossf(net(xb), Yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach()) * len(idx)
        net.eval()
        with torch.inference_mode():
            pv = torch.cat([net(Xv[k:k + 1024].float()) for k in range(0, len(Xv), 1024)]).argmax(-1).numpy()
        log(f"  epoch {ep + 1}/{epochs}: loss {tot / len(Xt):.4f}  synthetic val window acc {(pv == Yv).mean():.4f}"
            f"  ({time.time() - t0:.0f}s)")
    val_acc = float((pv == Yv).mean()) if len(Yv) else 0.0
    return net, val_acc


def _val_clips(G, seed: int) -> set:
    clips = np.unique(G)
    rng = np.random.default_rng(seed + 1)
    return set(rng.choice(clips, size=max(1, len(clips) // 10), replace=False).tolist())


def save_nets(nets, path: Path, half: bool = True) -> None:
    """The networks (an ensemble: one per fold) in one file, half precision."""
    import torch

    members = [{k: (v.half() if half and v.is_floating_point() else v) for k, v in n.state_dict().items()} for n in nets]
    torch.save({"members": members, "config": {"n_feat": N_FEAT, "n_cls": N_CLS}}, path)


def ensemble_val_acc(nets, X, Y, G, val_clips) -> float:
    import torch

    keep = (Y >= 0) & np.isin(G, list(val_clips))
    Xv, Yv = torch.from_numpy(np.ascontiguousarray(X[keep], np.float16)), Y[keep]
    with torch.inference_mode():
        p = sum(torch.cat([torch.softmax(n.eval()(Xv[k:k + 1024].float()), -1) for k in range(0, len(Xv), 1024)])
                for n in nets)
    return float((p.argmax(-1).numpy() == Yv).mean())


def train_baseline(X, E, Y, seed, log):
    from sklearn.ensemble import HistGradientBoostingClassifier

    from .baseline import TreeEnsemble, export_hgb, window_stats

    keep = Y >= 0
    Xk, Ek = X[keep], E[keep]
    S = np.concatenate([window_stats(Xk[k:k + 4096].astype(np.float32), Ek[k:k + 4096])
                        for k in range(0, len(Xk), 4096)])
    y = Y[keep]
    clf = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, max_leaf_nodes=31, l2_regularization=1.0,
                                         early_stopping=True, validation_fraction=0.1, random_state=seed)
    t0 = time.time()
    clf.fit(S, y)
    log(f"baseline: {S.shape[1]} window statistics, {clf.n_iter_} boosting iterations, {time.time() - t0:.0f}s")
    d = export_hgb(clf)
    te = TreeEnsemble(d)
    chk = S[:500]
    err = float(np.abs(te.predict_proba(chk) - clf.predict_proba(chk)).max())
    assert err < 1e-5, f"exported trees disagree with scikit-learn ({err})"
    return d


def _synthetic(a, log):
    """Synthetic windows, optionally kept in / reused from ``--data-cache`` (experiments with the same data)."""
    if a.data_cache and Path(a.data_cache).exists():
        z = np.load(a.data_cache, allow_pickle=False)
        log(f"synthetic data read from {a.data_cache}")
        return z["X"], z["E"], z["Y"], z["G"], z["kinds"].astype(object)
    X, E, Y, G, kinds = make_dataset(a.seed, a.clips, a.workers)
    if a.data_cache:
        np.savez(a.data_cache, X=X, E=E, Y=Y, G=G, kinds=kinds.astype(str))
    return X, E, Y, G, kinds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clips", type=int, default=4200, help="synthetic clips")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--real-aug", type=int, default=6, help="augmented copies of each dev clip (0: synthetic only)")
    ap.add_argument("--folds", type=int, default=3, help="cross-validation folds over the dev clips")
    ap.add_argument("--out", default=str(WEIGHTS_DIR))
    ap.add_argument("--data-cache", default=None, help="npz keeping the synthetic windows between runs (experiments)")
    ap.add_argument("--no-eval", action="store_true", help="skip the real-clip evaluation and model card")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: on a shared 2-core machine two threads wait on each other)")
    a = ap.parse_args(argv)
    import torch

    from .realdata import clip_key, dev_rows, folds, real_dataset, use_repo_cache

    use_repo_cache()

    torch.set_num_threads(a.threads)
    np.random.seed(a.seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = []

    def log(s):
        print(s, flush=True)
        lines.append(s)

    t_all = time.time()
    log(f"seed {a.seed}, torch threads {a.threads}, epochs {a.epochs}")
    X, E, Y, G, kinds = _synthetic(a, log)
    log(f"synthetic data: {a.clips} clips, {len(Y)} windows ({T} x {N_FEAT} at {RATE:g} Hz), "
        f"labelled {int((Y >= 0).sum())}, per class {np.bincount(Y[Y >= 0], minlength=N_CLS).tolist()} "
        f"({time.time() - t_all:.0f}s)")
    gate, g_still, g_move = calibrate_gate(E, Y, kinds)
    log(f"motion gate {gate} (90th pct of still synthetic windows {g_still:.4f}, 2nd pct of exercise windows "
        f"{g_move:.4f})")
    rows = dev_rows(LABELS) if a.real_aug > 0 else []
    real_meta = {}
    Xr = Er = Yr = Gr = None
    if rows:
        t0 = time.time()
        Xr, Er, Yr, Gr = real_dataset(rows, LABELS, a.real_aug, a.seed, log)
        keys = [clip_key(r) for r in rows]
        log(f"real data: {len(rows)} dev clips x {a.real_aug} augmented copies, {len(Yr)} windows, labelled "
            f"{int((Yr >= 0).sum())}, per class {np.bincount(Yr[Yr >= 0], minlength=N_CLS).tolist()} "
            f"({time.time() - t0:.0f}s)")
        fold_of = folds(rows, a.folds) if a.folds > 1 else {}
        real_meta = {"clips": keys, "augmented_copies": a.real_aug, "windows": int((Yr >= 0).sum()), "folds": fold_of}
    decision = vars(DecisionParams(gate=gate))
    val_clips = _val_clips(G[Y >= 0], a.seed)
    meta = {
        "labels": list(LABELS), "feature_version": FEATURE_VERSION, "window_s": WIN_S, "rate_hz": RATE,
        "samples": T, "hop_s": HOP_S, "n_feat": N_FEAT, "seed": a.seed, "synthetic_clips": a.clips,
        "synthetic_windows": int((Y >= 0).sum()), "decision": decision,
    }
    nets = []
    fold_ids = sorted(set(real_meta.get("folds", {}).values()))
    for f in fold_ids:
        train_clips = [i for i, r in enumerate(rows) if real_meta["folds"][clip_key(r)] != f]
        m = np.isin(Gr, train_clips)
        log(f"fold {f}: real clips for training {len(train_clips)}, held out {len(rows) - len(train_clips)}")
        net_f, _ = train_net(X, Y, G, a.seed + f, a.epochs, log, Xr[m], Yr[m], val_clips)
        nets.append(net_f)
    if not nets:  # synthetic only: one network
        net, _ = train_net(X, Y, G, a.seed, a.epochs, log, None, None, val_clips)
        nets = [net]
    save_nets(nets, out / "router.pt")
    val_acc = ensemble_val_acc(nets, X, Y, G, val_clips)
    log(f"shipped network: the mean of {len(nets)} fold models; synthetic val window acc {val_acc:.4f}")
    d = train_baseline(X, E, Y, a.seed, log)
    np.savez_compressed(out / "router_baseline.npz", **d)
    meta["synthetic_val_window_acc"] = round(val_acc, 4)
    meta["real"] = real_meta
    meta["train_minutes"] = round((time.time() - t_all) / 60, 1)
    (out / "router_meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    log(f"weights written to {out} ({time.time() - t_all:.0f}s)")
    (out / "train_log.txt").write_text("\n".join(lines) + "\n")
    if a.no_eval:
        return
    import pipeline.movement.router.core as R

    from .evaluate_router import evaluate_all, format_router_eval, write_model_card

    R._CACHE.clear()
    res = evaluate_all(out)
    for name, kinds_ in res["heldout"].items():
        for r in kinds_.values():
            print(format_router_eval(r))
        print(format_router_eval(res["fit"][name]))
    if out.resolve() == WEIGHTS_DIR:
        write_model_card(meta, res, lines)
        print(f"model card written to {WEIGHTS_DIR.parent / 'MODEL_CARD.md'}")
    print(f"done in {time.time() - t_all:.0f}s")


if __name__ == "__main__":
    main()
