"""``spotter eval --faults MANIFEST``: how well the issue rules judge real faults, and how often they cry wolf.

The manifest has a ``fault`` column (as ``../shared/data/more_clips/manifest.csv``): ``none`` for a clean set, a
description for a faulty one ("heel lift (weight on toes during pull)", "incorrect ...; by eye: strong forward
lean"), or ``mixed: ... 0-5.5s = forward lean ...; ... 11-14.3s = correct`` with time spans. The description is
mapped to rule codes by the words of each rule (its code, label and the knowledge card's terms, plus a few
synonyms below); a fault no rule covers is reported as such. A manifest without a ``fault`` column is scored
as clean (``--assume-clean``) or only listed.

Per rule it prints the hits on clips labelled with that fault (raised / borderline only / not judged / missed),
the false alarms per judged rep on clips labelled clean, and the borderline counts; per clip what was raised,
what was borderline and what was not judged; and, in a separate table, *constructed* faults: real landmarks of
dev clips with the fault added (the same constructions the tests use), judged on the full frame rate and on a
quarter of the frames (a live session that had to drop frames), against the unmodified clip.

Every clip is run with the exercise from the manifest (this measures judgement, not routing), frame by frame
through the movement stage the live path uses.

``python -m pipeline.tools.faults calibrate MANIFEST...`` prints the rep-to-rep spread of every rule's metric
on the clean sets of the manifests: the figures the rules' ``noise`` values were derived from
(``docs/judgement.md``).
"""
from __future__ import annotations

import copy
import csv
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import InputError
from ..movement.analyzer import SetEvidence
from ..movement.exercises import REGISTRY, get
from ..movement.run import MovementRun
from ..movement.signals import frame_signals
from ..pose.track import PoseTrack, clean_track, extract_pose

# extra wording for faults that clip sources describe in their own words (matched like the card terms)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "forward_lean": (r"hip hinge", r"chest drops?", r"torso (?:too )?(?:far )?forward"),
    "shallow_squat": (r"shallow depth", r"not (?:deep|low) enough", r"half squat"),
    "heel_rise": (r"heels? (?:lift\w*|rais\w*|ris\w*|up|com\w* up)", r"on (?:the |your |his |her )?toes"),
    "heel_lift": (r"heels? (?:lift\w*|rais\w*|ris\w*|up|com\w* up)", r"on (?:the |your |his |her )?toes"),
    "hip_pike": (r"hips? (?:lag\w* |stay\w* |too )?high",),
    "hip_sag": (r"hips? (?:sag\w*|drop\w*|low)", r"sagg\w*"),
    "knee_valgus": (r"knees? (?:cav\w*|in\b|collaps\w*)", r"valgus"),
    "incomplete_lockout": (r"lockout", r"not (?:fully )?locked"),
}
CLEAN_WORDS = re.compile(r"^\s*(?:none|n/?a|correct|clean|good|ok)?\s*$", re.I)
SEGMENT = re.compile(r"(\d+(?:\.\d+)?)\s*[-–]\s*(\d+(?:\.\d+)?)\s*s\b\s*=?\s*([^;]*)", re.I)


@dataclass
class FaultLabel:
    text: str
    clean: bool  # the clip (or span) is labelled clean
    codes: set[str] = field(default_factory=set)  # rules the label names
    unmapped: bool = False  # labelled faulty, but no rule covers what the label describes
    spans: list[tuple[float, float, "FaultLabel"]] = field(default_factory=list)  # mixed: per time span


def _terms(code: str, exercise: str) -> list[re.Pattern]:
    from ..coach.cards import load_cards

    pats = [re.escape(code.replace("_", " "))]
    rule = next((r for r in get(exercise).issue_rules if r.code == code), None)
    if rule is not None:
        pats.append(re.escape(rule.label.lower()))
    card = load_cards().issues.get(code)
    if card is not None:
        pats += [t for t in card.terms if len(t) > 6]  # short generic terms ("arch", "shifting") are too loose
    pats += list(SYNONYMS.get(code, ()))
    return [re.compile(rf"\b(?:{p})", re.I) for p in pats]


def parse_fault(text: str, exercise: str) -> FaultLabel:
    """A manifest ``fault`` cell -> the rule codes it names (for ``exercise``)."""
    text = (text or "").strip()
    if CLEAN_WORDS.match(text):
        return FaultLabel(text=text, clean=True)
    if text.lower().startswith("mixed"):
        spans = []
        for m in SEGMENT.finditer(text):
            sub = parse_fault(_strip_label_noise(m.group(3)), exercise)
            spans.append((float(m.group(1)), float(m.group(2)), sub))
        if spans:
            return FaultLabel(text=text, clean=False, codes=set().union(*[s.codes for _, _, s in spans]),
                              unmapped=all(s.unmapped for _, _, s in spans if not s.clean), spans=spans)
    body = _strip_label_noise(text)
    if re.fullmatch(r"\s*(?:correct|clean|good)\b.*", body, re.I):
        return FaultLabel(text=text, clean=True)
    codes = {r.code for r in get(exercise).issue_rules if any(p.search(body) for p in _terms(r.code, exercise))}
    return FaultLabel(text=text, clean=False, codes=codes, unmapped=not codes)


def _strip_label_noise(s: str) -> str:
    """Drop what a source says about its labels, not about the movement ("type not given by source")."""
    s = re.sub(r"\((?:type not given[^)]*|labelled[^)]*)\)", " ", s, flags=re.I)
    return s.strip()


# --------------------------------------------------------------------------- running one clip
def judge_track(track: PoseTrack, exercise: str) -> SetEvidence:
    clean, _ = clean_track(track)
    return MovementRun(exercise, clean).evidence


def subsample(track: PoseTrack, every: int) -> PoseTrack:
    """Every ``every``-th frame: what a live session that had to drop frames receives."""
    sl = slice(0, None, every)
    return PoseTrack(t=track.t[sl], image=track.image[sl], world=track.world[sl], visibility=track.visibility[sl],
                     present=track.present[sl], stats=track.stats[sl], width=track.width, height=track.height)


def rep_outcomes(ev: SetEvidence) -> list[dict]:
    """Per counted rep: its time, and for every rule raised / borderline / not judged (else clear)."""
    out = []
    for r in ev.rep_results:
        if r.rep.partial:
            continue
        st = {i.code: "raised" for i in r.issues}
        for i in r.borderline:
            st.setdefault(i.code, "borderline")
        for nj in r.unjudged:
            st.setdefault(nj.code, "not judged")
        out.append({"rep": r.item.index, "t": (r.item.start_s + r.item.end_s) / 2, "status": st})
    return out


def _status(outcomes: list[dict], code: str) -> str:
    got = [o["status"].get(code, "clear") for o in outcomes]
    for s in ("raised", "borderline", "clear", "not judged"):
        if s in got:
            return s
    return "no reps"


# --------------------------------------------------------------------------- the manifest evaluation
def read_fault_manifest(path: str | Path, assume_clean: bool = False) -> tuple[Path, list[dict]]:
    p = Path(path)
    if not p.exists():
        raise InputError(f"manifest not found: {p}")
    with open(p, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"file", "class"} <= rows[0].keys():
        raise InputError(f"manifest needs the columns file, class (and fault): {p}")
    if "fault" not in rows[0]:
        if not assume_clean:
            raise InputError(f"manifest has no fault column: {p} (use --assume-clean to score its clips as clean)")
        for r in rows:
            r["fault"] = "none"
    return p.parent, rows


def evaluate_faults(manifests: list[str | Path], use_cache: bool = True, progress: bool = True,
                    assume_clean: bool = False, constructed: bool = True) -> dict:
    clips, rules = [], {}
    for man in manifests:
        base, rows = read_fault_manifest(man, assume_clean)
        for k, row in enumerate(rows):
            ex = row["class"].strip()
            if ex not in REGISTRY:
                continue  # negatives (and exercises not supported yet) have no rules to judge
            if progress:
                print(f"[{k + 1}/{len(rows)}] {row['file']}", file=sys.stderr, flush=True)
            _, track = extract_pose(base / row["file"], use_cache=use_cache)
            ev = judge_track(track, ex)
            label = parse_fault(row.get("fault", ""), ex)
            outs = rep_outcomes(ev)
            clips.append(_clip_entry(row["file"], ex, ev, label, outs))
            _score(rules, ex, label, outs)
    res = {"clips": clips, "rules": rules, "clean": _clean_rate(clips)}
    if constructed:
        res["constructed"] = evaluate_constructed(use_cache=use_cache, progress=progress)
    return res


def _clip_entry(file: str, ex: str, ev: SetEvidence, label: FaultLabel, outs: list[dict]) -> dict:
    nj: dict[str, str] = {n.code: n.reason for n in ev.not_judged}
    return {"file": file, "exercise": ex, "view": ev.view, "reps": ev.reps.count, "partial": ev.reps.partial,
            "label": "clean" if label.clean else ("mixed" if label.spans else "fault"),
            "label_codes": sorted(label.codes), "unmapped": label.unmapped, "fault_text": label.text,
            "raised": [(i.code, i.rep, i.value, i.confidence) for i in ev.issues],
            "borderline": [(i.code, i.rep, i.value, i.confidence) for i in ev.borderline],
            "not_judged": nj, "clean_reps": _clean_reps(label, outs)}


def _clean_reps(label: FaultLabel, outs: list[dict]) -> list[dict]:
    """The reps of a clip (or of its clean spans) that are labelled clean."""
    if label.clean:
        return outs
    return [o for o in outs for a, b, sub in label.spans if sub.clean and a <= o["t"] <= b]


def _score(rules: dict, ex: str, label: FaultLabel, outs: list[dict]) -> None:
    for rule in get(ex).issue_rules:
        s = rules.setdefault(rule.code, {"exercise": ex, "label": rule.label, "fault_clips": 0, "raised": 0,
                                         "borderline_only": 0, "not_judged": 0, "missed": 0, "clean_reps": 0,
                                         "false_alarms": 0, "clean_borderline": 0})
        if rule.code in label.codes:
            reps = outs
            if label.spans:
                reps = [o for o in outs for a, b, sub in label.spans if rule.code in sub.codes and a <= o["t"] <= b]
            s["fault_clips"] += 1
            st = _status(reps, rule.code)
            key = {"raised": "raised", "borderline": "borderline_only", "not judged": "not_judged"}.get(st, "missed")
            s[key] += 1
        for o in _clean_reps(label, outs):
            st = o["status"].get(rule.code, "clear")
            if st == "not judged":
                continue
            s["clean_reps"] += 1
            s["false_alarms"] += st == "raised"
            s["clean_borderline"] += st == "borderline"


def _clean_rate(clips: list[dict]) -> dict:
    reps = sum(len(c["clean_reps"]) for c in clips)
    raised = sum(sum(1 for v in o["status"].values() if v == "raised") for c in clips for o in c["clean_reps"])
    border = sum(sum(1 for v in o["status"].values() if v == "borderline") for c in clips for o in c["clean_reps"])
    flagged = sum(1 for c in clips for o in c["clean_reps"] if "raised" in o["status"].values())
    return {"reps": reps, "confident_issues": raised, "borderline": border, "reps_with_issue": flagged,
            "issues_per_rep": raised / reps if reps else None}


# --------------------------------------------------------------------------- constructed faults
def depth_weight(track: PoseTrack, exercise: str) -> np.ndarray:
    """0 at the top of each rep, 1 at the bottom (from the clip's own counting signal)."""
    clean, _ = clean_track(track)
    sig = get(exercise).signal
    x = np.array([frame_signals(c).get(sig, np.nan) if c.valid else np.nan for c in clean])
    lo, hi = np.nanpercentile(x, 5), np.nanpercentile(x, 95)
    return np.nan_to_num(np.clip((hi - x) / (hi - lo), 0, 1))


def modified(track: PoseTrack, fn: Callable[[PoseTrack], None]) -> PoseTrack:
    tr = copy.deepcopy(track)
    fn(tr)
    return tr


def torso_px(tr: PoseTrack) -> float:
    img = tr.image[:, :, :2] * (tr.width, tr.height)
    sh = (img[:, 11] + img[:, 12]) / 2
    hp = (img[:, 23] + img[:, 24]) / 2
    return float(np.nanmedian(np.linalg.norm(sh - hp, axis=1)))


def bow(w):
    """0 at both ends of the movement (``w`` = 0 or 1), 1 half way: a path that bends out and comes back."""
    w = np.asarray(w, float)
    return 4.0 * w * (1.0 - w)


def shift_img(tr: PoseTrack, idx, dx_px, dy_px, w) -> None:
    tr.image[:, idx, 0] += (w * dx_px / tr.width)[:, None]
    tr.image[:, idx, 1] += (w * dy_px / tr.height)[:, None]


def rotate_upper_body(tr: PoseTrack, deg: float, w) -> None:
    """Lean the upper body (indices 0-22) around the hip centre, in the image and in world space."""
    up = list(range(0, 23))
    a = np.radians(deg) * w
    c, s = np.cos(a)[:, None], np.sin(a)[:, None]
    px = tr.image[:, :, :2] * (tr.width, tr.height)
    hc = (px[:, 23] + px[:, 24]) / 2
    rel = px[:, up] - hc[:, None]
    px[:, up, 0] = hc[:, None, 0] + c * rel[..., 0] - s * rel[..., 1]
    px[:, up, 1] = hc[:, None, 1] + s * rel[..., 0] + c * rel[..., 1]
    tr.image[:, :, :2] = px / (tr.width, tr.height)
    W = tr.world
    hw = (W[:, 23] + W[:, 24]) / 2
    rel = W[:, up] - hw[:, None]
    W[:, up, 0] = hw[:, None, 0] + c * rel[..., 0] - s * rel[..., 1]
    W[:, up, 1] = hw[:, None, 1] + s * rel[..., 0] + c * rel[..., 1]


def scale_world_x(tr: PoseTrack, idx, factor: float, w=None) -> None:
    """Move landmarks away from (factor > 1) or toward the body's mid line in world x (and image x)."""
    w = np.ones(len(tr.t)) if w is None else w
    f = 1 + (factor - 1) * w
    for arr, mid in ((tr.world, (tr.world[:, 23, 0] + tr.world[:, 24, 0]) / 2),
                     (tr.image, (tr.image[:, 23, 0] + tr.image[:, 24, 0]) / 2)):
        arr[:, idx, 0] = mid[:, None] + (arr[:, idx, 0] - mid[:, None]) * f[:, None]


def scale_flexion(tr: PoseTrack, chains, keep: float, w=None, add=None) -> None:
    """Scale each joint's flexion (180 - angle) by ``keep`` (weighted per frame by ``w``; minus ``add`` radians per
    frame, if given) by turning the distal segment about the joint in world space, moving the landmarks below it
    along. ``chains``: (proximal, joint, distal, extra...)."""
    W = tr.world
    k = keep if w is None else 1 + (keep - 1) * np.asarray(w, float)
    for a, j, d, *extra in chains:
        u = W[:, a] - W[:, j]
        f = W[:, d] - W[:, j]
        lu = np.linalg.norm(u, axis=1, keepdims=True)
        lf = np.linalg.norm(f, axis=1, keepdims=True)
        u = u / lu
        v = f - (f * u).sum(1, keepdims=True) * u
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)
        ang = np.arccos(np.clip((f / lf * u).sum(1), -1, 1))
        new = np.pi - (np.pi - ang) * k - (0.0 if add is None else np.asarray(add, float))
        nd = W[:, j] + lf * (np.cos(new)[:, None] * u + np.sin(new)[:, None] * v)
        delta = nd - W[:, d]
        for i in (d, *extra):
            W[:, i] += delta


def bend_elbows(tr: PoseTrack, keep: float, add=None) -> None:
    """Scale each elbow's flexion (180 - angle) by ``keep`` (and take ``add`` radians per frame off the angle, if
    given) by turning the forearm about the elbow (world)."""
    scale_flexion(tr, ((11, 13, 15), (12, 14, 16)), keep, add=add)


def raise_heels(tr: PoseTrack, deg: float, w) -> None:
    """Heels (and ankles) come up, the feet pivoting about the toes by ``deg`` * ``w`` (image and world)."""
    a = np.radians(deg) * w
    for heel, ank, toe in ((29, 27, 31), (30, 28, 32)):
        px = tr.image[:, :, :2] * (tr.width, tr.height)
        for j in (heel, ank):
            rel = px[:, j] - px[:, toe]
            # turn the point about the toe so that it rises (image y up), whichever way the foot points
            sgn = np.where(rel[:, 0] < 0, 1.0, -1.0)
            c, s = np.cos(a * sgn), np.sin(a * sgn)
            px[:, j, 0] = px[:, toe, 0] + c * rel[:, 0] - s * rel[:, 1]
            px[:, j, 1] = px[:, toe, 1] + s * rel[:, 0] + c * rel[:, 1]
        tr.image[:, :, :2] = px / (tr.width, tr.height)
        L = np.linalg.norm(tr.world[:, heel] - tr.world[:, toe], axis=1)
        tr.world[:, [heel, ank], 1] -= (np.sin(a) * L)[:, None]


def bend_arms_frontal(tr: PoseTrack, deg: float, w) -> None:
    """An unfinished press seen from the front: each upper arm turned ``deg`` * ``w`` out to the side about the
    shoulder (in the picture) with the forearm turned towards vertical (by ``w``), the hands following the
    wrists. Only the picture changes (the counting signal, the world elbow angle, keeps its range)."""
    px = tr.image[:, :, :2] * (tr.width, tr.height)
    mid = (px[:, 11, 0] + px[:, 12, 0]) / 2
    w = np.asarray(w, float)
    a = np.radians(deg) * w
    for s_i, e_i, w_i, hand in ((11, 13, 15, (17, 19, 21)), (12, 14, 16, (18, 20, 22))):
        u = px[:, e_i] - px[:, s_i]
        f = px[:, w_i] - px[:, e_i]
        f_len = np.linalg.norm(f, axis=1, keepdims=True)
        out = np.where(px[:, s_i, 0] < mid, -1.0, 1.0)  # away from the body's mid line
        c, s = np.cos(a * out), np.sin(a * out)
        new_e = px[:, s_i] + np.stack([c * u[:, 0] - s * u[:, 1], s * u[:, 0] + c * u[:, 1]], 1)
        vert = np.concatenate([np.zeros_like(f_len), -f_len], 1)
        nf = (1 - w)[:, None] * f + w[:, None] * vert
        nf *= f_len / np.maximum(np.linalg.norm(nf, axis=1, keepdims=True), 1e-6)
        new_w = new_e + nf
        d = new_w - px[:, w_i]
        px[:, e_i], px[:, w_i] = new_e, new_w
        for h in hand:
            px[:, h] += d
    tr.image[:, :, :2] = px / (tr.width, tr.height)


def bend_forearms_img(tr: PoseTrack, deg: float, w) -> None:
    """An unfinished lockout seen from the side: each forearm (wrist and hand) turned ``deg`` * ``w`` about the
    elbow in the picture, the way that closes the elbow angle. Only the picture changes (the counting signal, the
    world elbow angle, keeps its range)."""
    px = tr.image[:, :, :2] * (tr.width, tr.height)
    a_all = np.radians(deg) * np.asarray(w, float)
    for s_i, e_i, w_i, hand in ((11, 13, 15, (17, 19, 21)), (12, 14, 16, (18, 20, 22))):
        u = px[:, s_i] - px[:, e_i]
        f = px[:, w_i] - px[:, e_i]
        # turn the forearm towards the upper arm (sign of the 2D cross product)
        sgn = np.sign(f[:, 0] * u[:, 1] - f[:, 1] * u[:, 0])
        a = a_all * sgn
        c, s = np.cos(a), np.sin(a)
        for j in (w_i, *hand):
            r = px[:, j] - px[:, e_i]
            px[:, j, 0] = px[:, e_i, 0] + c * r[:, 0] - s * r[:, 1]
            px[:, j, 1] = px[:, e_i, 1] + s * r[:, 0] + c * r[:, 1]
    tr.image[:, :, :2] = px / (tr.width, tr.height)


def lift_upper_body(tr: PoseTrack, frac: float, w) -> None:
    """Push-up that stops high: the head, shoulders and elbows stay ``frac`` of a torso length higher at the
    bottom (image), the elbows bend less (world)."""
    tp = torso_px(tr)
    shift_img(tr, list(range(0, 15)), 0, -frac * tp, w)
    bend_elbows(tr, 1.0 - 0.5 * frac)


@dataclass
class Constructed:
    clip: str  # dev clip stem
    exercise: str
    code: str
    what: str
    make: Callable[[PoseTrack], PoseTrack]


def constructed_cases() -> list[Constructed]:
    """Real landmarks of dev clips with one fault added (as in tests/test_movement.py)."""
    def lean(tr):
        return modified(tr, lambda t: rotate_upper_body(t, 45, depth_weight(tr, "squat")))

    def high_hips(tr):
        return modified(tr, lambda t: shift_img(t, [23, 24], 0, -0.6 * torso_px(tr), depth_weight(tr, "squat")))

    def valgus(tr):
        return modified(tr, lambda t: scale_world_x(t, [25, 26], 0.25, depth_weight(tr, "squat")))

    def shift(tr):
        return modified(tr, lambda t: shift_img(t, list(range(0, 25)), 0.5 * torso_px(tr), 0,
                                                depth_weight(tr, "squat")))

    def heels(tr):
        return modified(tr, lambda t: raise_heels(t, 30, depth_weight(tr, "squat")))

    def sag(tr):
        return modified(tr, lambda t: shift_img(t, [23, 24], 0, 0.5 * torso_px(tr), np.ones(len(t.t))))

    def pike(tr):
        return modified(tr, lambda t: shift_img(t, [23, 24], 0, -0.6 * torso_px(tr), np.ones(len(t.t))))

    def shallow_push(tr):
        return modified(tr, lambda t: lift_upper_body(t, 0.45, depth_weight(tr, "push_up")))

    def flare(tr):
        return modified(tr, lambda t: scale_world_x(t, [13, 14], 2.4, depth_weight(tr, "push_up")))

    def soft_lockout_side(tr):
        return modified(tr, lambda t: bend_forearms_img(t, 50, 1 - depth_weight(tr, "shoulder_press")))

    def soft_lockout_front(tr):
        return modified(tr, lambda t: bend_arms_frontal(t, 25, 1 - depth_weight(tr, "shoulder_press")))

    def arch(tr):
        return modified(tr, lambda t: rotate_upper_body(t, -30, 1 - depth_weight(tr, "shoulder_press")))

    def uneven(tr):
        return modified(tr, lambda t: shift_img(t, [15, 17, 19, 21], 0, 0.5 * torso_px(tr),
                                                1 - depth_weight(tr, "shoulder_press")))

    def drift(tr):
        return modified(tr, lambda t: shift_img(t, list(range(13, 23)), 0.9 * torso_px(tr), 0,
                                                bow(1 - depth_weight(tr, "shoulder_press"))))

    return [
        Constructed("sq09", "squat", "forward_lean", "upper body leaned 45° more at the bottom", lean),
        Constructed("sq09", "squat", "shallow_squat", "hips 0.6 torso lengths higher at the bottom", high_hips),
        Constructed("sq08", "squat", "knee_valgus", "knees pulled in to 25 % of their width at the bottom", valgus),
        Constructed("sq08", "squat", "lateral_shift", "hips shifted half a torso sideways at the bottom", shift),
        Constructed("sq09", "squat", "heel_rise", "heels pivoted 30° up about the toes at the bottom", heels),
        Constructed("pu01", "push_up", "hip_sag", "hips half a torso below the line", sag),
        Constructed("pu01", "push_up", "hip_pike", "hips 0.6 torso lengths above the line", pike),
        Constructed("pu01", "push_up", "shallow_push_up", "shoulders stop 0.45 torso lengths higher", shallow_push),
        Constructed("pu08", "push_up", "elbow_flare", "elbows 2.4x wider at the bottom", flare),
        Constructed("sp05", "shoulder_press", "incomplete_lockout", "forearms turned 50° down at the top (side view)",
                    soft_lockout_side),
        Constructed("sp01", "shoulder_press", "incomplete_lockout", "upper arms turned 25° out at the top, "
                    "forearms vertical (front view)", soft_lockout_front),
        Constructed("sp05", "shoulder_press", "back_arch", "upper body leaned back 30° at the top", arch),
        Constructed("sp03", "shoulder_press", "uneven_press", "one hand half a torso lower at the top", uneven),
        Constructed("sp05", "shoulder_press", "bar_path_drift", "hands bowed 0.9 torso forward mid-press, back over the shoulders at lockout", drift),
    ]


def dev_clip(stem: str) -> Path | None:
    """A clip of ``../shared/data/clips`` by file stem prefix (None when the shared data is not there)."""
    import os

    root = Path(os.environ.get("SPOTTER_SHARED", Path(__file__).resolve().parents[3] / "shared")) / "data" / "clips"
    man = root / "manifest.csv"
    if not man.exists():
        return None
    with open(man, newline="") as f:
        for r in csv.DictReader(f):
            s = Path(r["file"]).stem
            if s == stem or s.startswith(stem + "_"):
                return root / r["file"]
    return None


def evaluate_constructed(use_cache: bool = True, progress: bool = True, every: int = 4) -> list[dict]:
    out = []
    for c in constructed_cases():
        path = dev_clip(c.clip)
        if path is None:
            continue
        if progress:
            print(f"[constructed] {c.clip} {c.code}", file=sys.stderr, flush=True)
        _, track = extract_pose(path, use_cache=use_cache)
        faulty = c.make(track)
        base, full, low = judge_track(track, c.exercise), judge_track(faulty, c.exercise), \
            judge_track(subsample(faulty, every), c.exercise)
        n = full.reps.count
        hit = sorted({i.rep for i in full.issues if i.code == c.code})
        out.append({"clip": c.clip, "exercise": c.exercise, "code": c.code, "what": c.what, "view": full.view,
                    "reps": n, "raised_reps": hit,
                    "full": _status(rep_outcomes(full), c.code),
                    "base": _status(rep_outcomes(base), c.code),
                    "dropped": _status(rep_outcomes(low), c.code), "every": every})
    return out


# --------------------------------------------------------------------------- printing
def format_faults(res: dict) -> str:
    L = ["Real clips (faults as labelled by their sources; exercise from the manifest)", ""]
    L.append("| rule | fault clips | raised | borderline only | not judged | missed | clean reps judged | "
             "false alarms / rep | borderline on clean |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for code, s in sorted(res["rules"].items(), key=lambda kv: (kv[1]["exercise"], kv[0])):
        fa = f"{s['false_alarms']}/{s['clean_reps']}" + (f" ({s['false_alarms'] / s['clean_reps']:.1%})"
                                                          if s["clean_reps"] else "")
        L.append(f"| {s['exercise']}: {code} | {s['fault_clips']} | {s['raised']} | {s['borderline_only']} | "
                 f"{s['not_judged']} | {s['missed']} | {s['clean_reps']} | {fa} | {s['clean_borderline']} |")
    c = res["clean"]
    if c["reps"]:
        L.append("")
        L.append(f"Clean-labelled reps: {c['reps']}; confident issues {c['confident_issues']} "
                 f"({c['issues_per_rep']:.1%} per rep; reps with one or more: {c['reps_with_issue']}); "
                 f"borderline {c['borderline']}.")
    L += ["", "Per clip", "", "| clip | exercise | view | reps | label | raised | borderline | not judged |",
          "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for cl in res["clips"]:
        lab = cl["label"] + (f" ({', '.join(cl['label_codes'])})" if cl["label_codes"] else
                             " (no rule covers it)" if cl["unmapped"] and cl["label"] != "clean" else "")
        raised = ", ".join(f"{code} r{rep} ({conf:.2f})" for code, rep, _, conf in cl["raised"]) or "-"
        border = ", ".join(f"{code} r{rep} ({conf:.2f})" for code, rep, _, conf in cl["borderline"]) or "-"
        nj = ", ".join(sorted(cl["not_judged"])) or "-"
        L.append(f"| {Path(cl['file']).stem} | {cl['exercise']} | {cl['view']} | {cl['reps']}"
                 f"{'+' + str(cl['partial']) + 'p' if cl['partial'] else ''} | {lab} | {raised} | {border} | {nj} |")
    if res.get("constructed"):
        every = res["constructed"][0]["every"]
        L += ["", f"CONSTRUCTED faults (real dev-clip landmarks with the fault added; not real faults). "
                  f"'dropped': the same with 1 frame in {every} (a live session that drops frames).", "",
              "| clip | rule | fault added | view | full frames | reps raised | dropped frames | unmodified clip |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for c in res["constructed"]:
            L.append(f"| {c['clip']} | {c['code']} | {c['what']} | {c['view']} | {c['full']} | "
                     f"{len(c['raised_reps'])}/{c['reps']} | {c['dropped']} | {c['base']} |")
    return "\n".join(L)


def run_faults(manifests: list[str], json_out: bool = False, assume_clean: bool = False,
               constructed: bool = True) -> int:
    res = evaluate_faults(manifests, progress=not json_out, assume_clean=assume_clean, constructed=constructed)
    if json_out:
        print(json.dumps(res, default=lambda o: None if isinstance(o, float) and math.isnan(o) else str(o)))
    else:
        print(format_faults(res))
    return 0


# --------------------------------------------------------------------------- noise calibration
def calibrate(manifests: list[str | Path], use_cache: bool = True, assume_clean: bool = True) -> dict:
    """Rep-to-rep spread of each rule's metric on clean sets (pooled within-set standard deviation), per view."""
    per: dict[tuple[str, str, str], list[list[float]]] = {}
    for man in manifests:
        base, rows = read_fault_manifest(man, assume_clean)
        for row in rows:
            ex = row["class"].strip()
            if ex not in REGISTRY or not parse_fault(row.get("fault", ""), ex).clean:
                continue
            _, track = extract_pose(base / row["file"], use_cache=use_cache)
            ev = judge_track(track, ex)
            vals: dict[tuple[str, str, str], list[float]] = {}
            for r in ev.rep_results:
                if r.rep.partial:
                    continue
                for rule0 in get(ex).issue_rules:
                    rule = rule0.for_view(r.view)
                    v = r.item.metrics.get(rule.metric) if rule is not None else None
                    if v is not None:
                        vals.setdefault((rule.code, rule.metric, r.view), []).append(float(v))
            for k, v in vals.items():
                per.setdefault(k, []).append(v)
    out = {}
    for (code, metric, view), sets in sorted(per.items()):
        multi = [s for s in sets if len(s) >= 2]
        dof = sum(len(s) - 1 for s in multi)
        sd = math.sqrt(sum((len(s) - 1) * float(np.var(s, ddof=1)) for s in multi) / dof) if dof else None
        out[f"{code}|{metric}|{view}"] = {"sets": len(sets), "reps": sum(len(s) for s in sets), "dof": dof,
                                          "pooled_sd": sd, "median": float(np.median([x for s in sets for x in s]))}
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m pipeline.tools.faults")
    p.add_argument("what", choices=["calibrate", "eval"])
    p.add_argument("manifests", nargs="+")
    p.add_argument("--json", action="store_true")
    p.add_argument("--assume-clean", action="store_true")
    a = p.parse_args(argv)
    if a.what == "eval":
        return run_faults(a.manifests, a.json, a.assume_clean)
    res = calibrate(a.manifests)
    if a.json:
        print(json.dumps(res))
    else:
        print(f"{'rule|metric|view':60s} {'sets':>4s} {'reps':>4s} {'dof':>4s} {'pooled sd':>10s} {'median':>9s}")
        for k, v in res.items():
            sd = "-" if v["pooled_sd"] is None else f"{v['pooled_sd']:.4f}"
            print(f"{k:60s} {v['sets']:4d} {v['reps']:4d} {v['dof']:4d} {sd:>10s} {v['median']:9.3f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
