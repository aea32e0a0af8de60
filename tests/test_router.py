"""Exercise router: features, synthesiser, shipped weights, batch/live decisions on the real clips."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from models.features import N_FEAT, T, features_from_window, motion_energy
from models.router import LABELS, WEIGHTS_DIR, LiveRouter, decide, load_router
from pipeline.pose.landmarks import MIRROR

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".." / "shared" / "data" / "clips" / "manifest.csv"
CARD = ROOT / "models" / "MODEL_CARD.md"


def _synthetic_window(seed=0, label="squat"):
    from models.synth import Body, make_motion, render

    rng = np.random.default_rng(seed)
    t = np.arange(T) / 16.0
    m = make_motion(label, t, rng, Body.random(rng))
    r = render(m, t, rng, view="diag")
    r.present[:] = True
    img, world = r.image.copy(), r.world.copy()
    img = np.nan_to_num(img)
    px = img[..., :2] * np.array([r.width, r.height], np.float32)
    return px, np.nan_to_num(world), r.visibility, r


def test_feature_shape_and_finite():
    px, world, vis, _ = _synthetic_window()
    f = features_from_window(px, world, vis)
    assert f.shape == (T, N_FEAT)
    assert f.dtype == np.float32 and np.isfinite(f).all()


def test_feature_scale_invariance():
    px, world, vis, _ = _synthetic_window(1)
    f = features_from_window(px, world, vis)
    c = np.array([123.0, 45.0], np.float32)
    f2 = features_from_window((px - c) * 2.7 + c + 10.0, world * 1.3, vis)
    assert np.allclose(f, f2, atol=1e-4)


def test_feature_mirror_invariance():
    for seed in range(4):
        px, world, vis, r = _synthetic_window(seed, ["squat", "push_up", "shoulder_press", "unknown"][seed])
        f = features_from_window(px, world, vis)
        pm = px[:, MIRROR].copy()
        pm[..., 0] = r.width - pm[..., 0]
        wm = world[:, MIRROR].copy()
        wm[..., 0] *= -1
        fm = features_from_window(pm, wm, vis[:, MIRROR])
        assert np.allclose(f, fm, atol=1e-4)
        assert abs(motion_energy(px) - motion_energy(pm)) < 1e-5


@pytest.mark.parametrize("label", LABELS)
def test_synthesiser_valid_skeletons(label):
    from models.synth import synth_clip

    rng = np.random.default_rng(7)
    for _ in range(6):
        m, r = synth_clip(label, rng, duration=4.0)
        P = m.P
        assert P.shape == (len(r.t), 33, 3) and np.isfinite(P).all()
        # every limb bone keeps its length over time
        for a, b in [(11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (25, 27), (24, 26), (26, 28), (23, 24)]:
            d = np.linalg.norm(P[:, a] - P[:, b], axis=-1)
            assert d.max() - d.min() < 1e-6, (m.kind, a, b)
        # rendering: 33 landmarks, finite where present, visibility in [0, 1]
        assert r.image.shape == (len(r.t), 33, 3) and r.world.shape == (len(r.t), 33, 3)
        assert np.isfinite(r.image[r.present]).all() and np.isfinite(r.world[r.present]).all()
        assert (r.visibility >= 0).all() and (r.visibility <= 1).all()
        # body stays roughly above the floor
        assert P[..., 1].min() > -0.15, m.kind


def test_decide_static_is_unknown():
    from models.router import DecisionParams

    prm = DecisionParams(gate=0.05)
    ends = np.arange(20) * 0.25 + 1.5
    P = np.tile([0.1, 0.8, 0.05, 0.05], (20, 1))
    d = decide(ends, P, np.full(20, 0.01), prm, "model")  # confident push-up windows but no movement
    assert d.label == "unknown"
    d = decide(ends, P, np.full(20, 0.2), prm, "model")
    assert d.label == "push_up" and d.confidence == pytest.approx(0.8)


def test_shipped_weights_small_and_load():
    for f in ("router.pt", "router_baseline.npz", "router_meta.json"):
        assert (WEIGHTS_DIR / f).exists()
    assert (WEIGHTS_DIR / "router.pt").stat().st_size < 2_000_000
    from models.nets import n_params

    r = load_router("model")
    assert n_params(r.net) <= 300_000
    x = np.zeros((3, T, N_FEAT), np.float32)
    p = r.window_probs(x, np.zeros(3))
    assert p.shape == (3, 4) and np.allclose(p.sum(1), 1, atol=1e-5)
    b = load_router("baseline")
    assert b.window_probs(x, np.zeros(3)).shape == (3, 4)


def _card_numbers():
    text = CARD.read_text()
    out = {}
    for kind in ("model", "baseline"):
        m = re.search(rf"^\| {kind} \| (\d+)/(\d+)", text, re.M)
        out[kind] = (int(m.group(1)), int(m.group(2)))
    return out


needs_clips = pytest.mark.skipif(not MANIFEST.exists(), reason="real clips not available")


@pytest.fixture(scope="module")
def real_eval():
    os.environ.setdefault("SPOTTER_CACHE", "/tmp/spotcache")
    from models.evaluate_router import evaluate_router

    return {k: evaluate_router(MANIFEST, kind=k) for k in ("model", "baseline")}


@needs_clips
def test_shipped_weights_reproduce_model_card(real_eval):
    card = _card_numbers()
    for kind in ("model", "baseline"):
        r = real_eval[kind]
        assert (r["correct"], r["n"]) == card[kind], kind


@needs_clips
def test_network_meets_bar_on_dev_clips(real_eval):
    r = real_eval["model"]
    assert r["accuracy"] >= 0.9
    assert r["unknown_check_passed"]


@needs_clips
def test_live_matches_batch(real_eval):
    r = real_eval["model"]
    assert r["live_agree"] >= r["n"] - 1
    for c in r["clips"]:
        if c["pred"] != "unknown" and c["live_agrees"]:
            assert c["live_commit_s"] is not None


def test_live_router_override_and_cheap():
    from models.synth import synth_clip, to_pose_frames
    from pipeline.pose.cleaning import PoseCleaner

    rng = np.random.default_rng(3)
    _, r = synth_clip("squat", rng, duration=5.0)
    cl = PoseCleaner()
    lr = LiveRouter(load_router("model"))
    n = 0
    for pf in to_pose_frames(r):
        st = lr.update(cl.update(pf))
        n += 1
        if st.committed:
            assert st.label in LABELS
        else:
            assert st.label == "unknown"
    assert lr.n_evals <= n / 4  # not every frame
    lr.override("push_up")
    st = lr.update(cl.update(to_pose_frames(r)[-1]))
    assert st.label == "push_up" and st.source == "user"
    lr.override(None)
    assert lr.update(cl.update(to_pose_frames(r)[-1])).source == "model"
