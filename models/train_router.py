"""Train the exercise router on synthetic motion: ``python -m models.train_router --seed 0``.

1. synthesise clips (models.synth), run them through the real causal cleaner and the shared window
   feature function, label each window (the exercise when the window contains a good part of a
   repetition, ``unknown`` for negatives and for still stretches);
2. calibrate the motion-energy gate on synthetic windows;
3. train the temporal CNN (validation on held-out synthetic clips, split by clip);
4. train the boosted-trees baseline on the same windows;
5. write models/weights/{router.pt, router_baseline.npz, router_meta.json};
6. evaluate both on the real clips (test only) and write models/MODEL_CARD.md.
"""
from __future__ import annotations

import argparse
import json
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from .features import FEATURE_VERSION, HOP_S, N_FEAT, NEG_RANGE, POS_RANGE, RATE, WIN_S, ClipArrays, T, clip_windows
from .router import LABELS, WEIGHTS_DIR, DecisionParams

CLASS_MIX = {"squat": 0.21, "push_up": 0.21, "shoulder_press": 0.21, "unknown": 0.37}


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
        if label == "unknown" or rng_ < NEG_RANGE:
            y[k] = 3
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
    still = np.array([str(k) in still_kinds for k in kinds]) & (Y == 3)
    moving = Y < 3
    g_still = float(np.percentile(E[still], 90))
    g_move = float(np.percentile(E[moving], 2))
    return round(min(g_still, g_move), 4), g_still, g_move


def train_net(X, Y, G, seed: int, epochs: int, log):
    import torch
    from torch import nn

    from .nets import RouterNet, n_params

    torch.manual_seed(seed)
    keep = Y >= 0
    X, Y, G = X[keep], Y[keep], G[keep]
    clips = np.unique(G)
    rng = np.random.default_rng(seed + 1)
    val_clips = set(rng.choice(clips, size=max(1, len(clips) // 10), replace=False).tolist())
    is_val = np.array([g in val_clips for g in G])
    Xt = torch.from_numpy(X[~is_val].astype(np.float32))
    Yt = torch.from_numpy(Y[~is_val])
    Xv = torch.from_numpy(X[is_val].astype(np.float32))
    Yv = Y[is_val]
    net = RouterNet(N_FEAT)
    flat = Xt.reshape(-1, N_FEAT)
    net.mu.copy_(flat.mean(0))
    net.sd.copy_(flat.std(0).clamp_min(0.05))
    counts = np.bincount(Y[~is_val], minlength=4).astype(np.float64)
    w = torch.tensor((counts.sum() / (4 * np.maximum(counts, 1))) ** 0.5, dtype=torch.float32)
    lossf = nn.CrossEntropyLoss(weight=w, label_smoothing=0.05)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-3)
    bs = 256
    steps = epochs * int(np.ceil(len(Xt) / bs))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    log(f"net: {n_params(net)} parameters, train windows {len(Xt)}, val windows {len(Xv)} "
        f"({len(val_clips)} held-out synthetic clips), class counts {counts.astype(int).tolist()}")
    g = torch.Generator().manual_seed(seed)
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(len(Xt), generator=g)
        tot = 0.0
        t0 = time.time()
        for k in range(0, len(Xt), bs):
            idx = perm[k:k + bs]
            xb = Xt[idx]
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
            pv = torch.cat([net(Xv[k:k + 1024]) for k in range(0, len(Xv), 1024)]).argmax(-1).numpy()
        log(f"  epoch {ep + 1}/{epochs}: loss {tot / len(Xt):.4f}  synthetic val window acc {(pv == Yv).mean():.4f}"
            f"  ({time.time() - t0:.0f}s)")
    val_acc = float((pv == Yv).mean())
    return net, val_acc, is_val, keep


def train_baseline(X, E, Y, seed, log):
    from sklearn.ensemble import HistGradientBoostingClassifier

    from .baseline import TreeEnsemble, export_hgb, window_stats

    keep = Y >= 0
    S = np.concatenate([window_stats(X[keep][k:k + 4096].astype(np.float32), E[keep][k:k + 4096])
                        for k in range(0, int(keep.sum()), 4096)])
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clips", type=int, default=3000, help="synthetic clips")
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(WEIGHTS_DIR))
    ap.add_argument("--no-eval", action="store_true", help="skip the real-clip evaluation and model card")
    ap.add_argument("--manifest", default=None, help="real clips manifest (test only)")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    np.random.seed(a.seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = []

    def log(s):
        print(s, flush=True)
        lines.append(s)

    t_all = time.time()
    X, E, Y, G, kinds = make_dataset(a.seed, a.clips, a.workers)
    log(f"synthetic data: {a.clips} clips, {len(Y)} windows ({T} x {N_FEAT} at {RATE:g} Hz), "
        f"labelled {int((Y >= 0).sum())}, per class {np.bincount(Y[Y >= 0], minlength=4).tolist()} "
        f"({time.time() - t_all:.0f}s)")
    gate, g_still, g_move = calibrate_gate(E, Y, kinds)
    log(f"motion gate {gate} (90th pct of still synthetic windows {g_still:.4f}, 2nd pct of exercise windows "
        f"{g_move:.4f})")
    net, val_acc, _, _ = train_net(X, Y, G, a.seed, a.epochs, log)
    torch.save({"state_dict": net.state_dict(), "config": {"n_feat": N_FEAT}}, out / "router.pt")
    d = train_baseline(X, E, Y, a.seed, log)
    np.savez_compressed(out / "router_baseline.npz", **d)
    meta = {
        "labels": list(LABELS), "feature_version": FEATURE_VERSION, "window_s": WIN_S, "rate_hz": RATE,
        "samples": T, "hop_s": HOP_S, "n_feat": N_FEAT, "seed": a.seed, "synthetic_clips": a.clips,
        "synthetic_windows": int((Y >= 0).sum()), "synthetic_val_window_acc": round(val_acc, 4),
        "decision": vars(DecisionParams(gate=gate)),
    }
    meta["train_minutes"] = round((time.time() - t_all) / 60, 1)
    (out / "router_meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    log(f"weights written to {out} ({time.time() - t_all:.0f}s)")
    (out / "train_log.txt").write_text("\n".join(lines) + "\n")
    if a.no_eval:
        return
    from .evaluate_router import default_manifest, evaluate_router, format_router_eval, write_model_card

    man = a.manifest or default_manifest()
    results = {}
    for kind in ("model", "baseline"):
        import models.router as R

        R._CACHE.clear()
        results[kind] = evaluate_router(man, kind=kind, weights_dir=out)
        log(format_router_eval(results[kind]))
    if Path(a.out).resolve() == WEIGHTS_DIR:
        write_model_card(meta, results, lines, time.time() - t_all)
        print(f"model card written to {WEIGHTS_DIR.parent / 'MODEL_CARD.md'}")
    log(f"done in {time.time() - t_all:.0f}s")


if __name__ == "__main__":
    main()
