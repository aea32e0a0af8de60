"""Exercise router: features, synthesiser, the shared decision procedure, shipped weights, and the figures of the model
card on the real dev clips (held out by clip: each clip scored by a model that never saw it)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from pipeline.movement.router.features import N_FEAT, T, features_from_window, motion_energy
from pipeline.movement.router import LABELS, UNKNOWN, WEIGHTS_DIR, DecisionParams, LiveRouter, Router, decide, load_router
from pipeline.pose.landmarks import MIRROR

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".." / "shared" / "data" / "clips" / "manifest.csv"
MORE = ROOT / ".." / "shared" / "data" / "more_clips" / "manifest.csv"
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
    # (float32: an angle's velocity near a straight joint, where arccos is steepest, moves by a few 1e-4)
    assert np.allclose(f, f2, atol=5e-4)


def test_feature_mirror_invariance():
    for seed in range(len(LABELS)):
        px, world, vis, r = _synthetic_window(seed, LABELS[seed])
        f = features_from_window(px, world, vis)
        pm = px[:, MIRROR].copy()
        pm[..., 0] = r.width - pm[..., 0]
        wm = world[:, MIRROR].copy()
        wm[..., 0] *= -1
        fm = features_from_window(pm, wm, vis[:, MIRROR])
        assert np.allclose(f, fm, atol=1e-4)
        assert abs(motion_energy(px) - motion_energy(pm)) < 1e-5


def _kinds():
    from models import synth as S

    out = [(f"deadlift_{k}", lambda b, t, r, k=k: S.m_deadlift(b, t, r, kind=k))
           for k in ("conventional", "sumo", "romanian", "stiff_leg", "trap_bar", "dumbbell", "dumbbell_rdl")]
    out += [(f"lunge_{k}", lambda b, t, r, k=k: S.m_lunge(b, t, r, kind=k)) for k in ("split", "reverse", "forward",
                                                                                      "walking", "side")]
    out += [(name, fn) for name, (fn, _) in S.NEGATIVES.items()]
    return out


@pytest.mark.parametrize("name,fn", _kinds(), ids=[k for k, _ in _kinds()])
def test_synthesiser_kinds_keep_bones_and_floor(name, fn):
    """Every deadlift and lunge variant and every family of negatives (dancing, jumps, hinges that are not deadlifts...):
    constant bone lengths, finite, nothing below the floor; positives carry their repetition phase."""
    from models.synth import Body

    for seed in range(8):
        rng = np.random.default_rng(seed)
        t = np.arange(0, 6, 1 / 30)
        m = fn(Body.random(rng), t, rng)
        assert np.isfinite(m.P).all()
        for a, b in [(11, 13), (13, 15), (12, 14), (14, 16), (23, 25), (25, 27), (24, 26), (26, 28)]:
            d = np.linalg.norm(m.P[:, a] - m.P[:, b], axis=-1)
            assert d.max() - d.min() < 1e-6, (m.kind, a, b)
        assert m.P[..., 1].min() > -0.1, m.kind
        if m.label != "unknown":
            assert np.ptp(m.active) > 0.5, m.kind
    from models.synth import NEGATIVES

    assert (m.label == "unknown") == (name in NEGATIVES)  # lateral lunges are lunges (one rep per leg)


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


def _p(label, p=0.8):
    """A probability vector with ``p`` on ``label`` and the rest spread over the other labels."""
    v = np.full(len(LABELS), (1 - p) / (len(LABELS) - 1))
    v[LABELS.index(label)] = p
    return v


def test_decide_static_is_unknown():
    prm = DecisionParams(gate=0.05)
    ends = np.arange(20) * 0.25 + 1.5
    P = np.tile(_p("push_up"), (20, 1))
    d = decide(ends, P, np.full(20, 0.01), prm, "model")  # confident push-up windows but no movement
    assert d.label == "unknown" and d.note == "no movement"
    d = decide(ends, P, np.full(20, 0.2), prm, "model")
    assert d.label == "push_up" and d.confidence == pytest.approx(0.8)
    assert d.t_commit == pytest.approx(ends[prm.n(prm.commit_s) - 1])


def test_vote_tolerates_an_odd_window_not_a_split():
    """One stray window in the commit span does not stop the commit; a span split between two exercises does."""
    prm = DecisionParams(gate=0.05)
    n = prm.n(prm.commit_s)
    ends = np.arange(n) * 0.25 + 1.5
    E = np.full(n, 0.2)
    P = np.tile(_p("deadlift", 0.85), (n, 1))
    P[n // 2] = _p("squat", 0.7)
    assert decide(ends, P, E, prm, "model").label == "deadlift"
    P = np.array([_p("deadlift", 0.8) if k % 2 else _p("squat", 0.8) for k in range(3 * n)])
    d = decide(np.arange(3 * n) * 0.25 + 1.5, P, np.full(3 * n, 0.2), prm, "model")
    assert d.label == "unknown"
    # idle windows between reps neither vote nor break the vote
    P = np.tile(_p("lunge", 0.8), (2 * n, 1))
    E = np.where(np.arange(2 * n) % 2 == 0, 0.2, 0.01)
    assert decide(np.arange(2 * n) * 0.25 + 1.5, P, E, prm, "model").label == "lunge"


def test_switch_and_drop_and_last_label():
    """Batch reports the exercise the procedure was last committed to: a squat set then a lunge set -> lunge; a squat
    set then a long stretch of other movement -> still squat (the live clock dropped back to unknown meanwhile)."""
    prm = DecisionParams(gate=0.05)
    P = np.array([_p("squat", 0.85)] * 12 + [_p("lunge", 0.85)] * 16)
    ends = np.arange(len(P)) * 0.25 + 1.5
    d = decide(ends, P, np.full(len(P), 0.2), prm, "model")
    assert d.label == "lunge" and d.t_commit > ends[12]
    P = np.array([_p("squat", 0.85)] * 12 + [_p("unknown", 0.9)] * 30)
    assert decide(np.arange(len(P)) * 0.25 + 1.5, P, np.full(len(P), 0.2), prm, "model").label == "squat"
    from pipeline.movement.router import Decider

    dd = Decider(prm)
    for k, p in enumerate(P):
        dd.push(1.5 + 0.25 * k, p, True)
    assert dd.label is None and dd.last_label == LABELS.index("squat")


def _summary(rom=(90, 90, 90, 90, 90), legs=0.9, hands_below=1.5):
    return np.r_[np.zeros(8), rom, legs, hands_below].astype(np.float32)


def test_plausibility_needs_the_range_of_motion_and_the_legs():
    """Confident squat windows whose knees barely move (a front raise with straight legs), lunge windows with the
    legs out of view, or push-up windows whose wrists never come below the shoulders (lying face down: supermans)
    are not committed; the same windows with the range of motion, the legs seen and the body on its hands are."""
    prm = DecisionParams(gate=0.05)
    n = 3 * prm.n(prm.commit_s)
    ends, E = np.arange(n) * 0.25 + 1.5, np.full(n, 0.2)
    for label, bad in (("squat", _summary(rom=(8, 90, 90, 90, 8))), ("lunge", _summary(legs=0.1)),
                       ("push_up", _summary(rom=(90, 10, 10, 90, 90))), ("deadlift", _summary(rom=(90, 90, 90, 12, 90))),
                       ("push_up", _summary(hands_below=0.6))):
        P = np.tile(_p(label, 0.85), (n, 1))
        assert decide(ends, P, E, prm, "model", angles=np.tile(bad, (n, 1))).label == "unknown", label
        assert decide(ends, P, E, prm, "model", angles=np.tile(_summary(), (n, 1))).label == label, label
    # a press does not need the legs
    P = np.tile(_p("shoulder_press", 0.85), (n, 1))
    assert decide(ends, P, E, prm, "model", angles=np.tile(_summary(legs=0.0), (n, 1))).label == "shoulder_press"


def test_short_clip_is_settled_at_the_end():
    """A clip with fewer moving windows than the vote needs is decided by the same vote at its end."""
    prm = DecisionParams(gate=0.05)
    P = np.tile(_p("deadlift", 0.9), (3, 1))
    d = decide(np.array([1.5, 1.75, 2.0]), P, np.full(3, 0.2), prm, "model")
    assert d.label == "deadlift"
    P[1] = _p("unknown", 0.9)
    assert decide(np.array([1.5, 1.75, 2.0]), P, np.full(3, 0.2), prm, "model").label == "unknown"


def test_repetition_score():
    from pipeline.movement.router import repetition_score

    t = np.arange(48) * 0.25
    rng = np.random.default_rng(0)
    for period in (1.2, 2.2, 4.0):  # reps of 1.2-4 s, with jitter on top
        rep = np.stack([0.5 + 0.2 * np.sin(2 * np.pi * t / period) + 0.02 * rng.normal(size=48),
                        0.4 + 0.001 * rng.normal(size=48)], 1)
        assert repetition_score(rep) > 0.55, period
    for seed in range(20):  # jitter alone, or a single slow movement (sitting down), is no repetition
        noise = 0.5 + 0.03 * np.random.default_rng(seed).normal(size=(48, 8))
        assert repetition_score(noise) < 0.5
    assert repetition_score(np.stack([np.linspace(0.3, 0.8, 48)], 1)) < 0.5
    assert repetition_score(np.full((48, 2), 0.5)) == 0.0


def test_shipped_weights_small_and_load():
    for f in ("router.pt", "router_baseline.npz", "router_meta.json"):
        assert (WEIGHTS_DIR / f).exists()
    assert (WEIGHTS_DIR / "router.pt").stat().st_size < 1_500_000
    from pipeline.movement.router.nets import n_params

    r = load_router("model")
    assert all(n_params(n) <= 300_000 for n in r.nets)
    x = np.zeros((3, T, N_FEAT), np.float32)
    p = r.window_probs(x, np.zeros(3))
    assert p.shape == (3, len(LABELS)) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert tuple(r.labels) == LABELS and UNKNOWN == len(LABELS) - 1
    b = load_router("baseline")
    assert b.window_probs(x, np.zeros(3)).shape == (3, len(LABELS))
    # the shipped network is the ensemble of the fold models (each can be loaded alone for held-out figures)
    n_folds = len(set(r.meta["real"]["folds"].values()))
    assert len(r.nets) == n_folds >= 2
    one = Router("model", member=1)
    assert len(one.nets) == 1 and one.window_probs(x, np.zeros(3)).shape == (3, len(LABELS))


needs_clips = pytest.mark.skipif(not (MANIFEST.exists() and MORE.exists()), reason="real clips not available")


@pytest.fixture(scope="module")
def real_eval():
    os.environ.setdefault("SPOTTER_CACHE", str(ROOT / ".cache" / "spotter"))
    from models.evaluate_router import evaluate_all

    # the held-out network and the shipped network's fit (the baseline's rows of the card are the same procedure with
    # the trees: `python -m models.evaluate_router` regenerates them; evaluating them here would add minutes)
    return evaluate_all(kinds=("model",))


def _card_rows():
    """``(manifest, what) -> (correct, n, live agree)`` from the model card's tables."""
    text = CARD.read_text()
    out = {}
    for sec in re.split(r"^### ", text, flags=re.M)[1:]:
        name = sec.split(" ", 1)[0]
        for what, key in (("network, held out", "model"), ("baseline", "baseline"), ("network as shipped", "fit")):
            m = re.search(rf"^\| {what}[^|]*\| (\d+)/(\d+) [^|]*\|[^|]*\| \d+ \| (\d+)/\d+ ", sec, re.M)
            if m:
                out[(name, key)] = tuple(int(g) for g in m.groups())
    return out


@needs_clips
def test_weights_reproduce_model_card(real_eval):
    """The held-out figures (fold models) and the shipped network's fit, as the card states them."""
    card = _card_rows()
    assert len(card) == 9, card  # three dev sets x (held out, baseline, as shipped)
    for name, kinds in real_eval["heldout"].items():
        for kind in ("model",):
            r = kinds[kind]
            assert (r["correct"], r["n"], r["live_agree"]) == card[(name, kind)], (name, kind)
        f = real_eval["fit"][name]
        assert (f["correct"], f["n"], f["live_agree"]) == card[(name, "fit")], name


@needs_clips
def test_held_out_network_meets_the_bar(real_eval):
    """Issue 11: six labels, the 27 dev clips do not lose accuracy (25/27 before), no dev negative is called a
    deadlift or a lunge (or any exercise); every clip is scored by a model that never saw it."""
    clips = real_eval["heldout"]["clips"]["model"]
    assert clips["n"] == 27 and clips["correct"] >= 25, [(c["file"], c["pred"]) for c in clips["clips"]]
    for kinds in real_eval["heldout"].values():
        r = kinds["model"]
        assert not r["negatives_called_exercise"], r["negatives_called_exercise"]
        assert all(c["scored_by"].startswith("fold") and not c["trained_on"] for c in r["clips"])
    more = real_eval["heldout"]["more_clips"]["model"]
    assert more["correct"] >= more["n"] - 3
    if "more_clips2" in real_eval["heldout"]:
        more2 = real_eval["heldout"]["more_clips2"]["model"]
        assert more2["n"] == 21 and more2["correct"] >= 19, [(c["file"], c["pred"]) for c in more2["clips"]]


@needs_clips
def test_live_label_equals_batch_label_whatever_frames_are_dropped(real_eval):
    """On every dev clip the live router fed every frame ends on the batch label at the batch's commit time (the same
    procedure over the same windows). Fed every other frame or an irregular 8-15 fps (each through its own causal
    cleaner), it ends on the batch label too wherever the batch decision stands on evidence: a clip long enough for a
    commit vote, decided with confidence >= 0.5. Which frames arrived may move a borderline clip across the line
    between an exercise and `unknown` (the held-out network abstains on a side-view dumbbell press at 0.58 that the
    live router, fed fewer frames, calls a press); it never turns one exercise into another. Those are at most two."""
    prm = DecisionParams()
    loose = []
    for kinds in list(real_eval["heldout"].values()):
        for r in kinds.values():
            for c in r["clips"]:
                assert c["live"]["all"]["label"] == c["pred"], (r["kind"], c["file"], c["live"])
                if c["live_agrees"]:
                    continue
                abstain = c["pred"] == "unknown" or all(v["label"] in (c["pred"], "unknown") for v in c["live"].values())
                assert c["windows"] < prm.n(prm.commit_s) or c["confidence"] < 0.5 or abstain, (r["kind"], c["file"], c)
                loose.append((r["kind"], c["file"]))
        for c in kinds["model"]["clips"]:
            if c["pred"] != "unknown":
                assert c["live"]["all"]["commit_s"] == c["batch_commit_s"]
    assert len(loose) <= 2, loose


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


def test_live_router_scores_due_windows_in_flush_with_the_same_decisions():
    """update() only notes the windows a frame makes due; flush() scores them (the live session calls it once the
    frame's result is out), else the next update() or finish() does: flushing after every frame gives the same
    states, windows and commit time as never flushing, and update() itself then scores nothing."""
    from pipeline.movement.router.features import HOP_S, WIN_S
    from models.synth import synth_clip, to_pose_frames
    from pipeline.pose.cleaning import PoseCleaner

    _, r = synth_clip("squat", np.random.default_rng(5), duration=8.0)
    cl = PoseCleaner()
    clean = [cl.update(pf) for pf in to_pose_frames(r)]
    a, b = LiveRouter(load_router("model")), LiveRouter(load_router("model"))
    sa, sb, in_update, in_flush = [], [], 0, 0
    for cf in clean:
        n0 = a.n_evals
        sa.append(a.update(cf))
        in_update += a.n_evals - n0
        n1 = a.n_evals
        a.flush()
        in_flush += a.n_evals - n1
        sb.append(b.update(cf))
    fa, fb = a.finish(), b.finish()
    assert in_update == 0 and in_flush >= (clean[-1].t - clean[0].t - WIN_S) / HOP_S - 2  # a window every HOP_S
    key = lambda st: (st.label, st.committed, round(st.confidence, 6), st.window, st.t_commit, st.dropped)  # noqa: E731
    assert [key(s) for s in sa] == [key(s) for s in sb] and key(fa) == key(fb)
    assert a.windows == b.windows and a.n_evals == b.n_evals and a.last_t_commit == b.last_t_commit
    assert any(s.committed and s.label == "squat" for s in sa)
