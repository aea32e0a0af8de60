"""Deadlift and lunge (issue 11): counts on the dev clips (live == batch, also at half and a third of the frame
rate), every issue rule and variation on real landmarks or on real landmarks with a controlled fault added, the
Romanian deadlift not flagged for its hinge, sumo not flagged, which leg led each lunge, and the product around
them (report, summary and verifier, eval manifests).

The exercise is forced (``exercise=``) so the tests do not depend on the router's weights.
"""
from __future__ import annotations

import copy
import csv

import numpy as np
import pytest
from conftest import CLIPS, SHARED
from test_movement import (
    assert_issue,
    bend_elbows,
    depth_weight,
    issues_of,
    modified,
    rotate_upper_body,
    run,
    shift_img,
    torso_px,
)

from pipeline.movement.exercises import get
from pipeline.movement.run import MovementRun
from pipeline.tools.faults import scale_flexion
from pipeline.movement.signals import frame_signals
from pipeline.pose.landmarks import MIRROR
from pipeline.pose.track import PoseTrack, clean_track, extract_pose

MORE = SHARED / "data" / "more_clips"
DL_2REPS = "deadlift/dl_2reps_studio_side_jrplatin.mp4"
DL_GOOD = "deadlift/dl_good_single_side_jeffchen.mp4"
DL_HEEL = "deadlift/dl_heellift_single_side_jeffchen.mp4"
RDL = "deadlift/rdl_3reps_gym_side_sebitzu.mp4"
RDL_DB = "unknown/un01_dumbbell_rdl_front.mp4"  # clips/: a dumbbell Romanian deadlift from a front diagonal
LUNGES = "unknown/un04_lunges_front_overlays.mp4"
WALKING_LUNGES = "unknown/un10_walking_lunges_toward_cam.mp4"

# (folder, file, exercise, true reps) -- the data README's counts
COUNTED = [(MORE, DL_2REPS, "deadlift", 2), (MORE, DL_GOOD, "deadlift", 1), (MORE, RDL, "deadlift", 3),
           (CLIPS, LUNGES, "lunge", 2), (CLIPS, WALKING_LUNGES, "lunge", 3)]


def track(folder, name) -> PoseTrack:
    p = folder / name
    if not p.exists():
        pytest.skip(f"{p} not available (../shared/data missing)")
    return extract_pose(p, use_cache=True)[1]


def dl(name):
    return track(MORE, name)


def clip(name):
    return track(CLIPS, name)


def signal_of(tr: PoseTrack, key: str) -> np.ndarray:
    clean, _ = clean_track(tr)
    return np.array([frame_signals(c).get(key, np.nan) if c.valid else np.nan for c in clean])


def facing(tr: PoseTrack) -> float:
    """+1 when the athlete faces +x in the picture (and in world x), else -1 (from the nose against the hips)."""
    nose = tr.image[:, 0, 0]
    hips = (tr.image[:, 23, 0] + tr.image[:, 24, 0]) / 2
    return 1.0 if np.nanmedian(nose - hips) > 0 else -1.0


def live_count(tr: PoseTrack, exercise: str, step: int = 1) -> int:
    from pipeline.live import LivePipeline

    lp = LivePipeline(exercise=exercise, router=None, keep_frames=False)
    for k, (pf, st) in enumerate(zip(tr.frames(), tr.frame_stats())):
        if k % step == 0:
            lp.process_pose(pf, st)
    return lp.total_reps


def retime(tr: PoseTrack, t0: float, t1: float, factor: float) -> PoseTrack:
    """Play the frames between t0 and t1 ``factor`` times as long (0.2 = five times faster)."""
    out = copy.deepcopy(tr)
    t = out.t.copy()
    inside = (t >= t0) & (t <= t1)
    t[inside] = t0 + (t[inside] - t0) * factor
    t[t > t1] -= (1 - factor) * (t1 - t0)
    out.t = t
    return out


def concat(*parts: PoseTrack) -> PoseTrack:
    """Frames of several tracks one after the other, timestamps continuing at 30 fps across the joins."""
    ts, t_end = [], -1 / 30
    for p in parts:
        t = p.t - p.t[0] + t_end + 1 / 30
        ts.append(t)
        t_end = t[-1]
    first = parts[0]
    return PoseTrack(t=np.concatenate(ts), image=np.concatenate([p.image for p in parts]),
                     world=np.concatenate([p.world for p in parts]),
                     visibility=np.concatenate([p.visibility for p in parts]),
                     present=np.concatenate([p.present for p in parts]),
                     stats=np.concatenate([p.stats for p in parts]), width=first.width, height=first.height)


def frames(tr: PoseTrack, i0: int, i1: int, reverse: bool = False) -> PoseTrack:
    sl = slice(i0, i1)
    idx = np.arange(len(tr.t))[sl]
    if reverse:
        idx = idx[::-1]
    return PoseTrack(t=np.sort(tr.t[idx]), image=tr.image[idx].copy(), world=tr.world[idx].copy(),
                     visibility=tr.visibility[idx].copy(), present=tr.present[idx].copy(), stats=tr.stats[idx].copy(),
                     width=tr.width, height=tr.height)


def to_side_view(tr: PoseTrack) -> None:
    """Turn the body 90 degrees about the vertical in world space: a front-view clip seen from the side (the
    3D angles stay the same, the view the analyzer reads from the world landmarks becomes "side")."""
    x, z = tr.world[:, :, 0].copy(), tr.world[:, :, 2].copy()
    tr.world[:, :, 0], tr.world[:, :, 2] = z, -x


def mirror(tr: PoseTrack) -> None:
    """Swap left and right (the same movement led by the other leg)."""
    tr.image[:] = tr.image[:, MIRROR]
    tr.world[:] = tr.world[:, MIRROR]
    tr.visibility[:] = tr.visibility[:, MIRROR]
    tr.image[:, :, 0] = 1 - tr.image[:, :, 0]
    tr.world[:, :, 0] = -tr.world[:, :, 0]


def hips_first(tr: PoseTrack, extra: float = 25.0) -> np.ndarray:
    """Per-frame forward rotation (degrees) of the upper body that makes each pull a hips-first pull: while the hips
    make the first half of their rise the chest stays down and the torso tips ``extra`` degrees further forward,
    then it comes back to the clip's own path by lockout."""
    px = tr.image[:, :, :2] * (tr.width, tr.height)
    h = (px[:, 27, 1] + px[:, 28, 1]) / 2 - (px[:, 23, 1] + px[:, 24, 1]) / 2  # hip height over the ankles, pixels
    lean = signal_of(tr, "torso_lean")
    deg = np.zeros(len(tr.t))
    for it in run(tr, "deadlift").reps.items:
        i_s, i_e = (int(np.searchsorted(tr.t, x)) for x in (it.start_s, it.end_s))
        i0 = i_s + int(np.nanargmin(h[i_s:i_e + 1]))
        p = np.clip((h[i0:i_e + 1] - h[i0]) / max(np.nanmax(h[i0:i_e + 1]) - h[i0], 1.0), 0, 1)
        target = lean[i0] + extra * np.minimum(1.0, p / 0.33)
        env = np.where(p <= 0.5, 1.0, np.clip((1 - p) / 0.5, 0, 1))
        deg[i0:i_e + 1] = np.nan_to_num(np.maximum(0.0, target - lean[i0:i_e + 1]) * env)
    return deg * facing(tr)


# --------------------------------------------------------------------------- counting
@pytest.mark.parametrize("folder,name,exercise,reps", COUNTED, ids=[c[1].split("/")[-1] for c in COUNTED])
def test_dev_clips_count_exactly_live_equals_batch(folder, name, exercise, reps):
    tr = track(folder, name)
    assert run(tr, exercise).reps.count == reps
    assert live_count(tr, exercise) == reps
    # live drops frames on a slow machine
    assert live_count(tr, exercise, step=2) == reps
    assert live_count(tr, exercise, step=3) == reps


def test_dumbbell_romanian_deadlift_from_the_front_counts_its_three_reps():
    tr = clip(RDL_DB)
    ev = run(tr, "deadlift")
    assert ev.reps.count == 3 and live_count(tr, "deadlift") == 3
    assert "romanian_deadlift" in {v.code for v in ev.variations}


def test_heel_lift_clip_ends_short_of_lockout_and_is_not_a_full_lockout():
    """The source's heel-lift pull ends on the toes just short of lockout (1 by the lenient rule): Spotter counts
    it only because the hips pass the lockout gate, and does not pass its lockout as clean: 150 degrees at the top
    is inside the measuring noise of a lockout (correct pulls read 152-176 in the dev clips), so it is borderline,
    never a clean lockout."""
    ev = run(dl(DL_HEEL), "deadlift")
    assert ev.reps.count <= 1
    if ev.reps.count:
        assert "soft_lockout" in {i.code for i in ev.issues} | {b.code for b in ev.borderline}


def test_clip_starting_at_lockout_counts_each_later_down_and_up():
    tr = dl(DL_2REPS)
    first = run(tr, "deadlift").reps.items[0]
    k = int(np.searchsorted(tr.t, first.end_s + 0.3))  # cut: the clip now opens standing at lockout
    cut = frames(tr, k, len(tr.t))
    assert run(cut, "deadlift").reps.count == 1
    assert live_count(cut, "deadlift") == 1


def test_pull_that_stalls_before_lockout_is_partial_not_a_rep():
    """A pull that stops at the knees and goes back down, then a full pull: one rep, and the stalled pull is
    reported as a partial rep (never counted)."""
    tr = dl(DL_GOOD)
    hip = signal_of(tr, "hip")
    k = int(np.argmax(hip > 110))  # the bar around knee height
    stalled = concat(frames(tr, 0, k), frames(tr, 0, k, reverse=True), frames(tr, 0, len(tr.t)))
    ev = run(stalled, "deadlift")
    assert ev.reps.count == 1 and ev.reps.partial == 1
    first, second = ev.reps.items
    assert first.partial and not second.partial and first.end_s < second.start_s + 1e-6
    assert live_count(stalled, "deadlift") == 1
    # the stall alone, clip ending on the floor: no rep, one partial
    alone = run(concat(frames(tr, 0, k), frames(tr, 0, k, reverse=True)), "deadlift")
    assert alone.reps.count == 0 and alone.reps.partial == 1


def test_upright_floor_setup_counts_its_first_pull():
    """A sumo-style setup (torso upright, hip angle above 100 deg at the floor, hands at the shins): the clip starts
    at the bottom, so the first pull counts."""
    tr = dl(DL_GOOD)
    d = depth_weight(tr, "deadlift")

    def upright(t):
        keep = t.image[:, 15:23].copy(), t.world[:, 15:23].copy()  # the hands stay on the bar
        rotate_upper_body(t, -55 * facing(tr), d)
        t.image[:, 15:23], t.world[:, 15:23] = keep

    up = modified(tr, upright)
    assert np.nanmin(signal_of(up, "hip")[:5]) > 100
    assert run(up, "deadlift").reps.count == 1
    assert live_count(up, "deadlift") == 1


def test_a_long_rest_on_the_floor_between_pulls_keeps_counting():
    tr = dl(DL_2REPS)
    items = run(tr, "deadlift").reps.items
    i = int(np.searchsorted(tr.t, items[1].bottom_s))
    rest = concat(frames(tr, 0, i), *[frames(tr, i, i + 1)] * 300, frames(tr, i, len(tr.t)))  # +10 s at the bottom
    assert run(rest, "deadlift").reps.count == 2


def test_walking_is_not_counted_as_lunges():
    for name in ("unknown/un06_treadmill_walking.mp4", "unknown/un11_street_walking_multi_person.mp4"):
        tr = clip(name)
        assert run(tr, "lunge").reps.count == 0, name
        assert live_count(tr, "lunge") == 0, name


def test_walking_lunges_are_not_aborted_by_the_walking_gate():
    """Walking lunges travel; with the walking gate on they would be cut."""
    from dataclasses import replace

    tr = clip(WALKING_LUNGES)
    assert get("lunge").walk_gate is False
    clean, _ = clean_track(tr)
    assert MovementRun("lunge", clean).evidence.reps.count == 3
    # the same clip sliding sideways across the picture at a walking pace (a side-view walking lunge)
    moving = modified(tr, lambda t: t.image.__setitem__((slice(None), slice(None), 0),
                                                      t.image[:, :, 0] + (0.08 * (t.t - t.t[0]))[:, None]))
    assert run(moving, "lunge").reps.count == 3
    from pipeline.movement.analyzer import MovementAnalyzer

    gated = MovementAnalyzer(replace(get("lunge"), walk_gate=True), walk_speed=0.3)
    for cf in clean_track(moving)[0]:
        gated.update(cf)
    assert gated.counter.count < 3  # the gate would have aborted reps: the hook matters


# --------------------------------------------------------------------------- lunge: which leg led
def test_lunge_reports_the_front_leg_of_each_rep():
    walk = run(clip(WALKING_LUNGES), "lunge")
    assert [it.side for it in walk.reps.items] == ["right", "left", "right"]  # walking lunges alternate
    assert walk.reps.set_metrics["reps_left_leg"] == 1 and walk.reps.set_metrics["reps_right_leg"] == 2
    assert walk.reps.set_metrics["lr_depth_diff_deg"] is not None  # left/right asymmetry across the set
    tr = clip(LUNGES)
    assert [it.side for it in run(tr, "lunge").reps.items] == ["right", "right"]
    mirrored = run(modified(tr, mirror), "lunge")
    assert mirrored.reps.count == 2 and [it.side for it in mirrored.reps.items] == ["left", "left"]
    # from the side (same world landmarks turned 90 degrees) the front leg is the same
    side = run(modified(tr, to_side_view), "lunge")
    assert side.view == "side" and [it.side for it in side.reps.items] == ["right", "right"]


# --------------------------------------------------------------------------- deadlift rules
def test_clean_deadlifts_raise_no_issues():
    for name in (DL_2REPS, DL_GOOD, RDL):
        assert run(dl(name), "deadlift").issues == [], name
    assert run(clip(RDL_DB), "deadlift").issues == []


def test_rounded_back_is_never_guessed():
    for name in (DL_2REPS, RDL):
        ev = run(dl(name), "deadlift")
        nj = {n.code: n for n in ev.not_judged}
        assert "rounded_back" in nj and "spine" in nj["rounded_back"].reason
        assert not issues_of(ev, "rounded_back") and not [b for b in ev.borderline if b.code == "rounded_back"]


def test_issue_heel_lift_real_clip_and_constructed():
    ev = run(dl(DL_HEEL), "deadlift")
    assert_issue(ev, "heel_lift", 1)
    assert not issues_of(run(dl(DL_GOOD), "deadlift"), "heel_lift")
    tr = dl(DL_GOOD)
    tp = torso_px(tr)
    up = 1 - depth_weight(tr, "deadlift")  # heels rise as the lifter stands up
    ev2 = run(modified(tr, lambda t: shift_img(t, [29, 30], 0, -0.15 * tp, up)), "deadlift")
    assert_issue(ev2, "heel_lift", 1)


def test_issue_soft_lockout_constructed():
    tr = dl(DL_2REPS)
    top = 1 - depth_weight(tr, "deadlift")
    ev = run(modified(tr, lambda t: rotate_upper_body(t, 32 * facing(tr), top)), "deadlift")  # leaning over the bar
    assert ev.reps.count == 2
    assert_issue(ev, "soft_lockout", 2)


def test_issue_hips_rise_first_constructed_and_romanian_explains_it():
    assert not issues_of(run(dl(DL_2REPS), "deadlift"), "hips_rise_first")
    tr = dl(DL_GOOD)
    assert not issues_of(run(tr, "deadlift"), "hips_rise_first")
    ev = run(modified(tr, lambda t: rotate_upper_body(t, 1.0, hips_first(tr))), "deadlift")
    assert ev.reps.count == 1
    assert_issue(ev, "hips_rise_first", 1)
    # the same change on a Romanian deadlift (a hinge from lockout): the variation explains it
    r = dl(RDL)
    ev2 = run(modified(r, lambda t: rotate_upper_body(t, 1.0, hips_first(r))), "deadlift")
    assert "romanian_deadlift" in {v.code for v in ev2.variations}
    assert not issues_of(ev2, "hips_rise_first") and "hips_rise_first" in {n.code for n in ev2.not_judged}


def test_issue_chest_down_constructed():
    tr = dl(DL_2REPS)
    ev = run(modified(tr, lambda t: rotate_upper_body(t, 20 * facing(tr), depth_weight(tr, "deadlift"))), "deadlift")
    assert_issue(ev, "chest_down", 2)


def test_issue_bar_drift_constructed():
    tr = dl(DL_2REPS)
    tp = torso_px(tr)
    d = depth_weight(tr, "deadlift")
    bell = 4 * d * (1 - d)  # away from the legs mid-pull, back over the feet at the floor and at lockout
    ev = run(modified(tr, lambda t: shift_img(t, list(range(13, 23)), 1.0 * tp * facing(tr), 0, bell)), "deadlift")
    assert_issue(ev, "bar_drift", 2)


def test_issue_arms_bending_constructed():
    ev = run(modified(dl(DL_2REPS), lambda t: bend_elbows(t, 2.8)), "deadlift")
    assert ev.reps.count == 2
    assert_issue(ev, "arms_bending", 2)


def test_issue_fast_lowering_constructed():
    tr = dl(DL_2REPS)
    base = run(tr, "deadlift")
    rep2 = base.reps.items[1]
    assert rep2.metrics["lowering_s"] > 1.0 and not issues_of(base, "fast_lowering")
    fast = retime(tr, rep2.start_s, rep2.bottom_s, 0.1)  # the descent before the second pull, dropped
    ev = run(fast, "deadlift")
    assert ev.reps.count == 2
    assert_issue(ev, "fast_lowering", 1)


# --------------------------------------------------------------------------- deadlift variations
def test_variation_romanian_not_flagged_for_its_hinge():
    for tr in (dl(RDL), clip(RDL_DB)):
        ev = run(tr, "deadlift")
        assert "romanian_deadlift" in {v.code for v in ev.variations}
        assert ev.issues == []
        for code in ("hips_rise_first", "chest_down"):
            assert not [b for b in ev.borderline if b.code == code]
    for name in (DL_2REPS, DL_GOOD):
        assert "romanian_deadlift" not in {v.code for v in run(dl(name), "deadlift").variations}


def _floor_pull_from_the_front() -> PoseTrack:
    """The dumbbell Romanian deadlift (front diagonal) with the hands taken down to the floor at the bottom: a
    pull from the floor seen from the front."""
    tr = clip(RDL_DB)
    d = depth_weight(tr, "deadlift")
    px = tr.image[:, :, :2] * (tr.width, tr.height)
    shin = np.nanmedian(np.abs(px[:, 27, 1] - px[:, 25, 1]))
    return modified(tr, lambda t: shift_img(t, list(range(15, 23)), 0, 0.6 * shin, d))


def test_variation_conventional_deadlift_constructed():
    ev = run(_floor_pull_from_the_front(), "deadlift")
    codes = {v.code for v in ev.variations}
    assert "conventional_deadlift" in codes and "romanian_deadlift" not in codes and "sumo_deadlift" not in codes


def test_variation_sumo_deadlift_constructed_and_not_flagged():
    conv = _floor_pull_from_the_front()
    d = depth_weight(conv, "deadlift")

    def sumo(t):
        mid_w = (t.world[:, 23, 0] + t.world[:, 24, 0]) / 2
        mid_i = (t.image[:, 23, 0] + t.image[:, 24, 0]) / 2
        for idx, f in (([25, 26, 27, 28, 29, 30, 31, 32], 2.0), (list(range(15, 23)), 0.45)):
            t.world[:, idx, 0] = mid_w[:, None] + (t.world[:, idx, 0] - mid_w[:, None]) * f
            t.image[:, idx, 0] = mid_i[:, None] + (t.image[:, idx, 0] - mid_i[:, None]) * f

    base = run(conv, "deadlift")
    ev = run(modified(conv, sumo), "deadlift")
    assert ev.reps.count == base.reps.count == 3
    assert "sumo_deadlift" in {v.code for v in ev.variations}
    assert "conventional_deadlift" not in {v.code for v in ev.variations}
    # wide stance, hands inside the knees: not a fault
    assert {i.code for i in ev.issues} <= {i.code for i in base.issues}
    assert not [b for b in ev.borderline if b.code not in {x.code for x in base.borderline}]
    assert d.max() > 0.9


# --------------------------------------------------------------------------- lunge rules
def test_clean_lunges_raise_no_issues():
    for name in (LUNGES, WALKING_LUNGES):
        assert run(clip(name), "lunge").issues == [], name


def test_issue_shallow_lunge_constructed_from_the_side():
    tr = clip(LUNGES)
    d = depth_weight(tr, "lunge")
    knees = ((23, 25, 27, 29, 31), (24, 26, 28, 30, 32))

    def shallow(t):
        to_side_view(t)
        scale_flexion(t, knees, 0.5, d)

    base = run(modified(tr, to_side_view), "lunge")
    assert base.view == "side" and not issues_of(base, "shallow_lunge")
    ev = run(modified(tr, shallow), "lunge")
    assert ev.reps.count == 2
    assert_issue(ev, "shallow_lunge", 2)
    # the front view does not judge it
    assert "shallow_lunge" in {n.code for n in run(modified(tr, lambda t: scale_flexion(t, knees, 0.5, d)),
                                                   "lunge").not_judged}


def test_issue_lunge_forward_lean_constructed_from_the_side():
    tr = clip(LUNGES)
    d = depth_weight(tr, "lunge")

    def lean(t):
        to_side_view(t)
        # after the turn the athlete faces +x or -x in world space: lean toward the toes of the front foot
        fwd = np.sign(np.nanmedian(t.world[:, 32, 0] - t.world[:, 30, 0])) or 1.0
        rotate_upper_body(t, 40 * fwd, d)

    ev = run(modified(tr, lean), "lunge")
    assert ev.view == "side"
    assert_issue(ev, "lunge_forward_lean", 2)


def _side_feet(t: PoseTrack, tp: float) -> None:
    """Feet drawn as seen from the side in the picture: toes a foot length ahead of the heels (facing +x)."""
    for heel, toe, ank in ((29, 31, 27), (30, 32, 28)):
        t.image[:, heel, 0] = t.image[:, ank, 0] - 0.1 * tp / t.width
        t.image[:, toe, 0] = t.image[:, ank, 0] + 0.35 * tp / t.width
        t.image[:, toe, 1] = t.image[:, heel, 1] = t.image[:, ank, 1] + 0.08 * tp / t.height


def test_issue_knee_past_toes_constructed_from_the_side():
    tr = clip(LUNGES)
    tp = torso_px(tr)
    d = depth_weight(tr, "lunge")

    def side(t):
        to_side_view(t)
        _side_feet(t, tp)

    base = run(modified(tr, side), "lunge")
    assert base.view == "side" and not issues_of(base, "knee_past_toes")

    def past(t):
        side(t)
        shift_img(t, [26], 0.85 * tp, 0, d)  # the right (front) knee far ahead of its toes at the bottom

    ev = run(modified(tr, past), "lunge")
    assert_issue(ev, "knee_past_toes", 2)


def test_issue_front_knee_valgus_constructed():
    tr = clip(LUNGES)
    tp = torso_px(tr)
    d = depth_weight(tr, "lunge")
    inward = np.sign(np.nanmedian(tr.image[:, 23, 0] - tr.image[:, 24, 0]))  # right knee toward the left hip
    ev = run(modified(tr, lambda t: shift_img(t, [26], 0.3 * tp * inward, 0, d)), "lunge")
    assert ev.view == "front"
    assert_issue(ev, "front_knee_valgus", 2)


def test_issue_lateral_balance_constructed():
    tr = clip(LUNGES)
    tp = torso_px(tr)
    d = depth_weight(tr, "lunge")
    ev = run(modified(tr, lambda t: shift_img(t, list(range(0, 25)), 0.7 * tp, 0, d)), "lunge")
    assert_issue(ev, "lateral_balance", 2)


# --------------------------------------------------------------------------- lunge variations
def test_variations_walking_and_forward_lunge_real():
    walk = {v.code for v in run(clip(WALKING_LUNGES), "lunge").variations}
    assert "walking_lunge" in walk and not walk & {"forward_lunge", "reverse_lunge", "split_squat"}
    fwd = {v.code for v in run(clip(LUNGES), "lunge").variations}
    assert "forward_lunge" in fwd and not fwd & {"walking_lunge", "reverse_lunge", "split_squat"}


def test_variation_reverse_lunge_constructed():
    """The front foot stays planted where it lands and the back foot makes the same step instead."""
    tr = clip(LUNGES)
    ev = run(tr, "lunge")
    bottoms = [int(np.searchsorted(tr.t, it.bottom_s)) for it in ev.reps.items]

    def reverse(t):
        right, left = [28, 30, 32], [27, 29, 31]  # the right leg is the front leg on both reps
        b = bottoms[np.argmin([abs(b - len(t.t) / 2) for b in bottoms])]
        r_b = t.image[b, right, :2].copy()
        l_b = t.image[b, left, :2].copy()
        for i in range(len(t.t)):
            step = t.image[i, right, :2] - r_b
            t.image[i, right, :2] = r_b
            t.image[i, left, :2] = l_b - step

    codes = {v.code for v in run(modified(tr, reverse), "lunge").variations}
    assert "reverse_lunge" in codes and "forward_lunge" not in codes and "walking_lunge" not in codes


def test_variation_split_squat_constructed():
    """No step: the feet stay where they are at the bottom, and stay split at the top."""
    tr = clip(LUNGES)
    b = int(np.searchsorted(tr.t, run(tr, "lunge").reps.items[0].bottom_s))
    top = 1 - depth_weight(tr, "lunge")

    def split(t):
        feet = [27, 28, 29, 30, 31, 32]
        t.image[:, feet, :2] = t.image[b, feet, :2]
        mid = (t.world[:, 23, 0] + t.world[:, 24, 0]) / 2
        legs = [25, 26, 27, 28, 29, 30, 31, 32]
        f = 1 + 1.8 * top
        t.world[:, legs, 0] = mid[:, None] + (t.world[:, legs, 0] - mid[:, None]) * f[:, None]

    ev = run(modified(tr, split), "lunge")
    assert ev.reps.count == 2
    codes = {v.code for v in ev.variations}
    assert "split_squat" in codes and not codes & {"forward_lunge", "reverse_lunge", "walking_lunge"}


# --------------------------------------------------------------------------- live cues, report, summary
def test_live_cue_for_a_deadlift_fault():
    from pipeline.movement.analyzer import MovementAnalyzer

    clean, _ = clean_track(modified(dl(DL_2REPS), lambda t: bend_elbows(t, 2.8)))
    ma = MovementAnalyzer(get("deadlift"))
    cues = [st.cue for st in (ma.update(c) for c in clean) if st.cue]
    assert cues and cues[0] == "Long arms, pull with the legs"


@pytest.mark.parametrize("folder,name,exercise", [(MORE, DL_HEEL, "deadlift"), (CLIPS, WALKING_LUNGES, "lunge")])
def test_report_summary_and_verifier(tmp_path, folder, name, exercise):
    from pipeline.analyze import analyze_file
    from pipeline.schema import Report

    p = folder / name
    if not p.exists():
        pytest.skip(f"{p} not available")
    a = analyze_file(p, tmp_path, exercise=exercise, use_cache=True, render=False, llm=False)
    rep = Report.model_validate_json((tmp_path / "report.json").read_text())
    assert rep.exercise.label == exercise and rep.reps.count >= 1
    assert rep.verification is not None and rep.verification.passed, rep.verification
    html = (tmp_path / "report.html").read_text()
    assert rep.summary.headline in html or rep.summary.headline.replace("'", "&#x27;") in html
    if exercise == "lunge":
        assert [it.side for it in rep.reps.items] == ["right", "left", "right"]
        assert "Front leg: left on rep 2, right on reps 1 and 3." in rep.summary.what_you_did
        assert "<th>leg</th>" in html
        assert "walking_lunge" in {v.code for v in rep.variations}
    else:
        assert {i.code for i in rep.issues} >= {"heel_lift"}
        assert "rounded_back" in {n.code for n in rep.not_judged}
    assert a.movement is not None


def test_verifier_checks_deadlift_and_lunge_counts():
    from pipeline.coach import verify_summary
    from pipeline.coach.deterministic import deterministic_summary
    from pipeline.coach.samples import sample_report

    r = sample_report("lunge", reps=4)
    for i, it in enumerate(r.reps.items):
        it.side = "left" if i % 2 else "right"
    s = deterministic_summary(r)
    assert "Front leg: left on reps 2 and 4, right on reps 1 and 3." in s.what_you_did
    assert verify_summary(s, r) == []
    s.looked_good = ["You finished 6 lunges."]
    assert [f.check for f in verify_summary(s, r)] == ["rep_count"]
    d = sample_report("deadlift", reps=1, issues={"heel_lift": [1], "soft_lockout": [1]})
    sd = deterministic_summary(d)
    assert "2 issues" in sd.headline and verify_summary(sd, d) == []
    sd.next_session = ["Your squat looked strong."]
    assert "exercise" in [f.check for f in verify_summary(sd, d)]


def test_eval_reads_both_manifests_with_the_refiled_lunges():
    from pipeline.tools.evaluate import LABELS, read_manifest

    assert {"deadlift", "lunge"} <= set(LABELS)
    base, rows = read_manifest(CLIPS / "manifest.csv") if (CLIPS / "manifest.csv").exists() else pytest.skip()
    by = {r["file"]: r for r in rows}
    assert by[LUNGES]["class"] == "lunge" and by[LUNGES]["reps"] == "2"
    assert by[WALKING_LUNGES]["class"] == "lunge" and by[WALKING_LUNGES]["reps"] == "3"
    if (MORE / "manifest.csv").exists():
        _, more = read_manifest(MORE / "manifest.csv")
        m = {r["file"]: r for r in more}
        assert m[DL_2REPS]["class"] == "deadlift" and m[DL_2REPS]["reps"] == "2"
        assert m[DL_HEEL]["reps"] == "" and "heel" in m[DL_HEEL]["fault"]
        with open(MORE / "manifest.csv", newline="") as f:
            assert len(more) == len(list(csv.DictReader(f)))


def test_every_deadlift_and_lunge_rule_and_variation_is_tested_here():
    src = open(__file__).read()
    for name in ("deadlift", "lunge"):
        ex = get(name)
        for code in [r.code for r in ex.issue_rules] + [v.code for v in ex.variation_rules]:
            assert f'"{code}"' in src, code
