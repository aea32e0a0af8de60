"""Judgements a lifter can trust: measurement uncertainty, borderline vs raised, not judged with a reason,
dropped frames, the partial rep, getting up off the floor, heel lift, and the fault evaluation.

Real landmarks throughout (dev clips read in place from ../shared); a fault is *constructed* by changing a real
clip's landmarks (pipeline/tools/faults.py), so the rest of the motion stays real.
"""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from conftest import CLIPS, SHARED, clip_path

from pipeline.movement.analyzer import MovementAnalyzer
from pipeline.movement.exercises import REGISTRY, get
from pipeline.movement.exercises.base import Z_RAISE, IssueRule, normal_cdf
from pipeline.movement.run import MovementRun
from pipeline.movement.signals import frame_signals
from pipeline.pose.track import PoseTrack, clean_track, extract_pose
from pipeline.tools.faults import (
    depth_weight,
    evaluate_faults,
    lift_upper_body,
    modified,
    parse_fault,
    rep_outcomes,
    rotate_upper_body,
    scale_world_x,
    shift_img,
    subsample,
    torso_px,
)

MORE = SHARED / "data" / "more_clips"


def _track(name: str) -> PoseTrack:
    return extract_pose(clip_path(name), use_cache=True)[1]


def _more(rel: str) -> PoseTrack:
    p = MORE / rel
    if not p.exists():
        pytest.skip(f"{rel} not available (../shared/data/more_clips missing)")
    return extract_pose(p, use_cache=True)[1]


def run(track: PoseTrack, exercise: str):
    clean, _ = clean_track(track)
    return MovementRun(exercise, clean).evidence


# --------------------------------------------------------------------------- the margin itself
def test_raised_only_past_the_threshold_by_more_than_the_uncertainty():
    rule = IssueRule("x", "X", "m", ">", 10.0, "deg", "cue", noise=2.0)
    s = rule.sigma("side", visibility=0.95)
    assert s == pytest.approx(2.0)
    clear, border, raised = rule.judge(9.0, s), rule.judge(10.0 + 0.5 * s, s), rule.judge(10.0 + 2.0 * s, s)
    assert clear.status == "clear" and clear.confidence < 0.5
    assert border.status == "borderline" and 0.5 < border.confidence < 0.95
    assert raised.status == "raised" and raised.confidence > 0.95
    # exactly at the margin it is still borderline; just past it, raised
    assert rule.judge(10.0 + Z_RAISE * s - 1e-6, s).status == "borderline"
    assert rule.judge(10.0 + Z_RAISE * s + 1e-6, s).status == "raised"
    # confidence is the probability under a normal measurement error, the same for '<' rules
    low = IssueRule("y", "Y", "m", "<", 10.0, "deg", "cue", noise=2.0)
    assert low.judge(8.0, 2.0).confidence == pytest.approx(normal_cdf(1.0))
    # the uncertainty grows with a worse view, hidden joints and fewer frames
    assert rule.sigma("diagonal") > rule.sigma("side")
    assert rule.sigma("side", visibility=0.6) > rule.sigma("side", visibility=0.95)
    assert rule.sigma("side", coverage=2.0) > rule.sigma("side")
    assert rule.sigma("side", sampling=3.0) > rule.sigma("side")


def test_every_rule_declares_its_noise_moment_and_views():
    for name in ("squat", "push_up", "shoulder_press"):
        for r in get(name).issue_rules:
            for rr in (r, *r.alt):
                assert rr.noise > 0, rr.code
                assert rr.moment in ("bottom", "top", "peak"), rr.code
                assert rr.code == r.code and rr.cue == r.cue and rr.label == r.label
            views = r.all_views
            assert len(views) == len(set(views)), r.code  # one measurement per view


# --------------------------------------------------------------------------- borderline vs raised, real landmarks
def test_borderline_vs_raised_around_the_margin_real_landmarks():
    """Forward lean added to a real side-view squat in steps: inside the margin the issue is borderline (in the
    report, not cued, not a fix), past it raised; the status always agrees with value, threshold and margin."""
    from pipeline.coach import write_summary
    from pipeline.movement.routing import Decision
    from pipeline.report.artifacts import fill_evidence
    from pipeline.schema import PoseModel, QCModel, Report, VideoMeta

    tr = _track("sq09")
    w = depth_weight(tr, "squat")
    rule = next(r for r in get("squat").issue_rules if r.code == "forward_lean")
    seen = set()
    for deg in (33, 35, 37, 39, 41, 45):
        clean, _ = clean_track(modified(tr, lambda t: rotate_upper_body(t, deg, w)))
        ma = MovementAnalyzer(get("squat"))
        cues = [st.cue_code for st in (ma.update(c, frame_index=i) for i, c in enumerate(clean)) if st.cue_code]
        ev = ma.finish()
        assert ev.reps.count == 3
        for i in [x for x in ev.issues + ev.borderline if x.code == "forward_lean"]:
            past = rule.past(i.value)
            assert past > 0 and i.uncertainty > 0
            assert i.status == ("raised" if past > i.uncertainty else "borderline"), (deg, i)
            assert (i.confidence > 0.95) == (i.status == "raised")
            seen.add(i.status)
        if any(i.code == "forward_lean" for i in ev.borderline) and not any(i.code == "forward_lean"
                                                                           for i in ev.issues):
            assert "forward_lean" not in cues  # never cued live
            report = Report(video=VideoMeta(path="x.mp4", duration_s=float(tr.t[-1]), fps=24.0, width=1, height=1),
                            qc=QCModel(ok=True), pose=PoseModel(backend="t", frames=len(tr.t), detected_ratio=1.0,
                                                                valid_ratio=1.0))
            fill_evidence(report, ev, Decision("squat", 0.95, "model"))
            assert report.borderline and not [i for i in report.issues if i.code == "forward_lean"]
            s, v = write_summary(report, llm=False)
            assert v.passed, [(f.check, f.detail) for f in v.failures]
            assert "forward_lean" not in [f.code for f in s.fix_first]
            note = [c.text for c in s.confidence_notes if c.reason == "borderline"]
            assert note and "forward lean" in note[0].lower() and "borderline" in note[0].lower()
        if deg == 45:
            assert {i.rep for i in ev.issues if i.code == "forward_lean"} == {1, 2, 3}
            assert "forward_lean" in cues
    assert seen == {"borderline", "raised"}


def test_clean_demo_clips_stay_under_the_false_alarm_bar(rows):
    """On the dev clips of supported exercises (clean instructional demos) confident issues stay well under one
    rep in ten (Tempo's cues fire about 10 % of the time on purpose)."""
    reps = raised = 0
    for r in rows:
        if r["class"] not in ("squat", "push_up", "shoulder_press") or r["file"].startswith("shoulder_press/sp08"):
            continue  # sp08 demonstrates a mistake in its first half
        ev = run(extract_pose(CLIPS / r["file"], use_cache=True)[1], r["class"])
        reps += ev.reps.count
        raised += len(ev.issues)
    assert reps >= 30
    assert raised / reps < 0.10, (raised, reps)


# --------------------------------------------------------------------------- dropped frames
def _match(a: list[dict], b: list[dict]):
    """Pairs of rep outcomes of the same rep (by time) from two runs of one clip."""
    for x in a:
        y = min(b, key=lambda o: abs(o["t"] - x["t"]), default=None)
        if y is not None and abs(y["t"] - x["t"]) < 0.6:
            yield x, y


@pytest.mark.parametrize("case", ["sq08", "sq08_valgus", "sq09", "sq09_lean", "pu01", "pu01_sag", "sp05"])
def test_dropped_frames_never_contradict_the_full_video(case):
    """A live session that dropped frames (1 frame in 4, ~7 fps) may be less sure, never of a different mind:
    an issue raised on one side is raised, borderline or not judged on the other, never clear."""
    name, _, fault = case.partition("_")
    ex = {"sq": "squat", "pu": "push_up", "sp": "shoulder_press"}[name[:2]]
    tr = _track(name)
    if fault == "valgus":
        tr = modified(tr, lambda t: scale_world_x(t, [25, 26], 0.25, depth_weight(tr, "squat")))
    elif fault == "lean":
        tr = modified(tr, lambda t: rotate_upper_body(t, 45, depth_weight(tr, "squat")))
    elif fault == "sag":
        tr = modified(tr, lambda t: shift_img(t, [23, 24], 0, 0.5 * torso_px(tr), np.ones(len(t.t))))
    full = rep_outcomes(run(tr, ex))
    for every in (3, 4):
        low = rep_outcomes(run(subsample(tr, every), ex))
        pairs = list(_match(full, low))
        assert len(pairs) >= len(full) - 1
        for x, y in pairs:
            for code in {*x["status"], *y["status"]}:
                a, b = x["status"].get(code, "clear"), y["status"].get(code, "clear")
                assert {a, b} != {"raised", "clear"}, (case, every, code, x["rep"], a, b)
    if fault:
        code = {"valgus": "knee_valgus", "lean": "forward_lean", "sag": "hip_sag"}[fault]
        assert all(o["status"].get(code) == "raised" for o in full)


def test_front_view_squat_at_low_frame_rate_raises_no_knee_valgus(rows):
    """The live set that dropped to ~8 fps flagged 'knees caving in' where the full video flagged nothing."""
    for r in rows:
        if r["class"] != "squat" or not r["reps"].isdigit():
            continue
        tr = extract_pose(CLIPS / r["file"], use_cache=True)[1]
        full = run(tr, "squat")
        if full.view != "front":
            continue
        assert not [i for i in full.issues if i.code == "knee_valgus"], r["file"]
        for every in (3, 4):
            low = run(subsample(tr, every), "squat")
            assert not [i for i in low.issues if i.code == "knee_valgus"], (r["file"], every)


def test_too_few_frames_at_the_bottom_is_not_judged_with_the_reason():
    tr = _track("sq08")
    base = run(tr, "squat")
    bottoms = np.array([it.bottom_s for it in base.reps.items])
    keep = np.array([np.min(np.abs(bottoms - t)) > 0.3 for t in tr.t])
    holed = PoseTrack(t=tr.t[keep], image=tr.image[keep], world=tr.world[keep], visibility=tr.visibility[keep],
                      present=tr.present[keep], stats=tr.stats[keep], width=tr.width, height=tr.height)
    ev = run(holed, "squat")
    nj = {n.code: n for n in ev.not_judged}
    assert "knee_valgus" in nj and "frames" in nj["knee_valgus"].reason
    assert nj["knee_valgus"].reps
    assert not [i for i in ev.issues + ev.borderline if i.code == "knee_valgus"]


# --------------------------------------------------------------------------- counting: partial rep, getting up
def _append(tr: PoseTrack, seg: PoseTrack, gap: float = 1 / 30) -> PoseTrack:
    seg = PoseTrack(t=seg.t - seg.t[0] + tr.t[-1] + gap, image=seg.image, world=seg.world,
                    visibility=seg.visibility, present=seg.present, stats=seg.stats, width=tr.width, height=tr.height)
    return PoseTrack(t=np.concatenate([tr.t, seg.t]), image=np.concatenate([tr.image, seg.image]),
                     world=np.concatenate([tr.world, seg.world]),
                     visibility=np.concatenate([tr.visibility, seg.visibility]),
                     present=np.concatenate([tr.present, seg.present]), stats=np.concatenate([tr.stats, seg.stats]),
                     width=tr.width, height=tr.height)


def _slice(tr: PoseTrack, i0: int, i1: int) -> PoseTrack:
    sl = slice(i0, i1)
    return PoseTrack(t=tr.t[sl].copy(), image=tr.image[sl].copy(), world=tr.world[sl].copy(),
                     visibility=tr.visibility[sl].copy(), present=tr.present[sl].copy(), stats=tr.stats[sl].copy(),
                     width=tr.width, height=tr.height)


def _hold(tr: PoseTrack, seconds: float) -> PoseTrack:
    """The last frame of ``tr`` held still for ``seconds``."""
    n = int(seconds * 30)
    idx = np.full(n, len(tr.t) - 1)
    seg = PoseTrack(t=np.arange(n) / 30.0, image=tr.image[idx], world=tr.world[idx], visibility=tr.visibility[idx],
                    present=tr.present[idx], stats=tr.stats[idx], width=tr.width, height=tr.height)
    return _append(tr, seg)


def _live_and_batch(tr: PoseTrack, exercise: str):
    from pipeline.live import LivePipeline

    lp = LivePipeline(exercise=exercise, router=None, keep_frames=False)
    for pf, st in zip(tr.frames(), tr.frame_stats()):
        lp.process_pose(pf, st)
    res = lp.finish()
    return run(tr, exercise), lp, res


def test_half_push_up_then_hold_at_the_top_is_a_partial_rep():
    """One push-up that goes only part of the way down, then a hold at the top: 0 reps, 1 partial, live and
    batch alike; the shallow rep is not judged for form."""
    tr = _track("pu01")
    base = run(tr, "push_up")
    it = base.reps.items[0]
    i0 = int(np.searchsorted(tr.t, it.start_s)) - 15
    i1 = int(np.searchsorted(tr.t, it.end_s)) + 10
    rep = _slice(tr, max(0, i0), i1)
    half = modified(rep, lambda t: lift_upper_body(t, 0.8, depth_weight(rep, "push_up")))
    clip = _hold(half, 3.0)
    ev, lp, res = _live_and_batch(clip, "push_up")
    assert ev.reps.count == 0 and ev.reps.partial == 1
    assert lp.total_reps == 0
    assert [x.partial for x in ev.reps.items] == [True]
    assert not ev.issues and not ev.borderline
    # the same rep at full depth counts
    full, _, _ = _live_and_batch(_hold(rep, 3.0), "push_up")
    assert full.reps.count == 1 and full.reps.partial == 0


def _rotate_about_knees(seg: PoseTrack, deg_per_frame: np.ndarray) -> None:
    """Turn everything above the knees (head to hips) about the knees, upwards (image and world)."""
    up = list(range(0, 25))
    px = seg.image[:, :, :2] * (seg.width, seg.height)
    kc = (px[:, 25] + px[:, 26]) / 2
    hc = (px[:, 23] + px[:, 24]) / 2
    sign = np.where(hc[:, 0] > kc[:, 0], 1.0, -1.0)  # hips to the right of the knees: turn counter-clockwise
    a = np.radians(deg_per_frame) * -sign
    c, s = np.cos(a)[:, None], np.sin(a)[:, None]
    rel = px[:, up] - kc[:, None]
    px[:, up, 0] = kc[:, None, 0] + c * rel[..., 0] - s * rel[..., 1]
    px[:, up, 1] = kc[:, None, 1] + s * rel[..., 0] + c * rel[..., 1]
    seg.image[:, :, :2] = px / (seg.width, seg.height)
    W = seg.world
    kw = (W[:, 25] + W[:, 26]) / 2
    rel = W[:, up] - kw[:, None]
    W[:, up, 0] = kw[:, None, 0] + c * rel[..., 0] - s * rel[..., 1]
    W[:, up, 1] = kw[:, None, 1] + s * rel[..., 0] + c * rel[..., 1]


def test_getting_up_off_the_floor_after_the_last_push_up_is_not_a_rep():
    """After the last rep the athlete lowers to the floor and pushes up while kneeling up (the body rises about
    the knees with the arms straightening): it looks like a rep to the elbows but does not return to the plank
    of the set, so it is not counted - live or batch. The same ascent in the plank is a rep."""
    tr = _track("pu01")
    base = run(tr, "push_up")
    assert base.reps.count == 4
    it = base.reps.items[1]
    i0 = int(np.searchsorted(tr.t, it.start_s))
    i1 = int(np.searchsorted(tr.t, it.end_s)) + 10
    again, _, _ = _live_and_batch(_append(tr, _slice(tr, i0, i1)), "push_up")
    assert again.reps.count == 5

    seg = _slice(tr, i0, i1)
    ib = int(np.searchsorted(seg.t, it.bottom_s))
    w = np.clip((np.arange(len(seg.t)) - ib) / max(1, len(seg.t) - ib - 10), 0, 1)
    _rotate_about_knees(seg, 70.0 * w)
    s_top = frame_signals(clean_track(seg)[0][-1])
    assert s_top["torso_vertical"] > 0.5  # kneeling up, not a plank
    ev, lp, _ = _live_and_batch(_append(tr, seg), "push_up")
    assert ev.reps.count == 4 and lp.total_reps == 4


# --------------------------------------------------------------------------- heel lift
def test_heel_lift_signal_on_a_real_heel_lift():
    """The same lifter, camera and lift, with and without the heels coming up (more_clips, labelled by their
    source): the foot pitch the heel rules read rises on the heel-lift clip and not on the good one."""
    def end_pitch(tr):
        clean, _ = clean_track(tr)
        t_end = clean[-1].t
        v = [frame_signals(c).get("foot_pitch", math.nan) for c in clean if c.valid and c.t >= t_end - 0.5]
        return float(np.nanmedian(v))

    good = _more("deadlift/dl_good_single_side_jeffchen.mp4")
    lift = _more("deadlift/dl_heellift_single_side_jeffchen.mp4")
    assert end_pitch(lift) - end_pitch(good) > 10.0


def test_squat_heel_rise_is_raised_on_real_side_view_landmarks_and_not_on_clean_squats(rows):
    from pipeline.tools.faults import raise_heels

    tr = _track("sq03")
    lifted = run(modified(tr, lambda t: raise_heels(t, 30, depth_weight(tr, "squat"))), "squat")
    assert {i.rep for i in lifted.issues if i.code == "heel_rise"} == set(range(1, lifted.reps.count + 1))
    for r in rows:
        if r["class"] == "squat":
            ev = run(extract_pose(CLIPS / r["file"], use_cache=True)[1], "squat")
            assert not [i for i in ev.issues if i.code == "heel_rise"], r["file"]


# --------------------------------------------------------------------------- the fault evaluation
def test_fault_labels_map_to_rules():
    assert parse_fault("none", "squat").clean
    lab = parse_fault("incorrect (type not given by source); by eye: strong forward lean / hip hinge, chest drops",
                      "squat")
    assert not lab.clean and lab.codes == {"forward_lean"}
    lab = parse_fault("mixed: RIGHT person 0-5.5s = excessive forward lean + shallow depth (labelled Wrong); LEFT "
                      "person 11-14.3s = correct (labelled Correct)", "squat")
    assert lab.codes == {"forward_lean", "shallow_squat"} and len(lab.spans) == 2
    assert lab.spans[1][2].clean and lab.spans[0][:2] == (0.0, 5.5)
    assert parse_fault("heel lift (weight on toes during pull)", "squat").codes == {"heel_rise"}
    lab = parse_fault("incorrect; by eye: head/neck drops to floor first, hips lag high at bottom", "push_up")
    assert lab.codes == {"hip_pike"}
    assert parse_fault("incorrect; by eye: the bar wobbles", "push_up").unmapped


def test_eval_faults_scores_rules_and_clips(tmp_path, rows):
    """A small manifest: a clean demo, and a clean clip relabelled with a fault that it does not show (a miss
    the table must report as such, not as a hit)."""
    man = tmp_path / "faults.csv"
    with open(man, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["file", "class", "reps", "fault"])
        wr.writerow([str(clip_path("sq09")), "squat", "3", "none"])
        wr.writerow([str(clip_path("sq03")), "squat", "2", "by eye: heels lift off the floor"])
    res = evaluate_faults([man], progress=False, constructed=False)
    heel = res["rules"]["heel_rise"]
    assert heel["fault_clips"] == 1 and heel["raised"] == 0
    assert heel["missed"] + heel["borderline_only"] == 1
    lean = res["rules"]["forward_lean"]
    assert lean["fault_clips"] == 0 and lean["clean_reps"] == 3 and lean["false_alarms"] == 0
    assert res["clean"]["reps"] == 3 and res["clean"]["issues_per_rep"] == 0.0
    names = [c["file"] for c in res["clips"]]
    assert len(names) == 2 and res["clips"][1]["label_codes"] == ["heel_rise"]
    from pipeline.tools.faults import format_faults

    txt = format_faults(res)
    assert "| squat: heel_rise | 1 | 0 |" in txt and "Per clip" in txt


def test_registry_rules_all_scored():
    """Whatever the registry holds is scored (new exercises show up in the fault tables once registered)."""
    rules: dict = {}
    from pipeline.tools.faults import _score

    for name, ex in REGISTRY.items():
        _score(rules, name, parse_fault("none", name), [])
        assert {r.code for r in ex.issue_rules} <= set(rules)
