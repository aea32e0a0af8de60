"""Bounded memory for long live sessions: frames spill to disk, per-frame signals are trimmed, and the set
report still sees the whole set."""
from __future__ import annotations

import numpy as np
from conftest import clip_path

from pipeline.live import LivePipeline
from pipeline.pose.framestore import FrameStore
from pipeline.pose.track import extract_pose


def looped_frames(name: str, loops: int, t_end: float):
    tr = extract_pose(clip_path(name), use_cache=True)[1]
    frames = [(pf, st) for pf, st in zip(tr.frames(), tr.frame_stats()) if pf.t <= t_end]
    span = frames[-1][0].t + 1 / 30
    for k in range(loops):
        for pf, st in frames:
            pf2 = type(pf)(**{**pf.__dict__, "t": pf.t + k * span})
            st2 = type(st)(**{**st.__dict__, "t": st.t + k * span})
            yield pf2, st2


def test_long_set_spills_to_disk_and_report_sees_everything(tmp_path):
    lp = LivePipeline(exercise="squat", router=None, spill_dir=str(tmp_path / "spill"), max_mem_frames=600)
    n = 0
    peak_mem = 0
    for pf, st in looped_frames("sq09", loops=6, t_end=12.3):
        lp.process_pose(pf, st)
        n += 1
        peak_mem = max(peak_mem, lp.frames.in_memory)
        assert len(lp.movement._t) <= 30 * lp.movement.keep_s * 1.5 + 700  # per-frame signals are trimmed
    assert peak_mem <= 600
    assert lp.frames.chunks >= 2 and list((tmp_path / "spill").glob("chunk-*.npz"))
    assert lp.count == 18  # 3 reps per loop, one long set
    res = lp.end_set("user")
    assert res.reps == 18
    # the report's frames come back from disk and memory, in order, covering the set
    t = np.array([c.t for c in res.clean])
    assert np.all(np.diff(t) > 0) and len(res.clean) == len(res.pose) == len(res.stats)
    assert t[0] <= res.evidence.reps.items[0].start_s and t[-1] >= res.evidence.reps.items[-1].end_s
    assert len(res.clean) > n * 0.9
    # chart series covers the whole set even though per-frame signals were trimmed
    series = res.analyzer.series()
    assert series["t"][0] < 1.0 and series["t"][-1] > 70
    lp.close()
    assert not list((tmp_path / "spill").glob("chunk-*.npz"))


def test_idle_time_without_reps_is_not_kept(tmp_path):
    lp = LivePipeline(exercise="push_up", router=None, spill_dir=str(tmp_path), max_mem_frames=600)
    for pf, st in looped_frames("sq09", loops=4, t_end=12.3):  # squats are not push-ups: no reps
        lp.process_pose(pf, st)
    assert lp.count == 0
    assert len(lp.frames) <= 30 * 31 + 300  # only the last ~30 s can still become a set
    lp.close()


def test_framestore_roundtrip(tmp_path):
    tr = extract_pose(clip_path("sq09"), use_cache=True)[1]
    from pipeline.pose.cleaning import PoseCleaner

    c = PoseCleaner()
    fs = FrameStore(tmp_path, max_mem_frames=100, chunk_frames=50)
    src = []
    for pf, st in zip(tr.frames(), tr.frame_stats()):
        cf = c.update(pf)
        fs.append(pf, cf, st)
        src.append((pf, cf, st))
    assert fs.in_memory <= 100 and fs.chunks > 3 and len(fs) == len(src)
    pose, clean, stats = fs.span(2.0, 9.0)
    want = [r for r in src if 2.0 <= r[1].t <= 9.0]
    assert len(clean) == len(want)
    for (p0, c0, s0), p1, c1, s1 in zip(want, pose, clean, stats):
        np.testing.assert_allclose(c0.image, c1.image)
        np.testing.assert_allclose(p0.world, p1.world)
        assert c0.valid == c1.valid and c0.reason == c1.reason and s0.brightness == np.float32(s1.brightness)
    fs.drop_until(9.0)
    assert fs.span(0, 9.0)[1] == [] and len(fs.span(9.0, 99)[1]) == sum(1 for r in src if r[1].t > 9.0)
