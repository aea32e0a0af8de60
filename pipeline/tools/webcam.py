"""A file as a webcam stream sees it: 640x480 letterboxed, at most 30 fps, through a VP8 encoder and decoder at the
bitrate a WebRTC link gives it, then pose. ``live equals batch`` is checked on these landmarks, without running a
WebRTC link for every test.

* Picture: the clip scaled into 640x480 with black bars, as ``realtime/tools/bench_browser.camera_file`` builds the
  browser's fake webcam (INTER_AREA), frames at their own timestamps but never closer than 1/30 s (a webcam's rate:
  a 60 fps clip loses every other frame, as the live session would).
* Codec: libvpx VP8 through PyAV with the settings aiortc 1.16 gives its own encoder (``aiortc.codecs.vpx``:
  CBR, realtime deadline, cpu-used -6, no lag, temporal denoiser 4, quantiser 2..56, one keyframe at the start),
  at ``bitrate`` bits per second (default 1.0 Mbit/s: the page caps its sender at 1.2 Mbit/s and sent 1.04 on
  average in ``spotter bench browser``; ``eval --codec-kbps`` tries others). Frames are decoded one at a time.
* Pose: the same estimator, image statistics and :class:`~pipeline.pose.track.PoseTrack` as a file analysis.

The landmarks are cached under ``SPOTTER_CACHE`` (``codec/``), keyed by the clip, the size, the rate and the
bitrate: the VP8 round trip and its pose run once per clip.
"""
from __future__ import annotations

import hashlib
import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from ..intake.config import cache_dir
from ..intake.imagestats import ImageStatsMeter, pose_box
from ..intake.video import Frame, VideoInfo, VideoReader
from ..pose.track import CACHE_VERSION, PoseTrack

log = logging.getLogger(__name__)
WEBCAM_SIZE = (640, 480)
WEBCAM_FPS = 30.0
DEFAULT_KBPS = 1000
ROUNDTRIP_VERSION = 1


def webcam_frames(path: str | os.PathLike, size: tuple[int, int] = WEBCAM_SIZE,
                  max_fps: float = WEBCAM_FPS) -> Iterator[Frame]:
    """The clip's upright frames letterboxed into ``size``, at most ``max_fps`` (later frames closer than one
    interval to the last kept one are skipped)."""
    import cv2

    W, H = size
    reader = VideoReader(path, long_side=max(W, H) * 4)  # (near) full resolution, scaled here
    last_t = -1e9
    n = 0
    try:
        for fr in reader:
            if fr.t - last_t < 1.0 / max_fps - 1e-3:
                continue
            last_t = fr.t
            h, w = fr.image.shape[:2]
            k = min(W / w, H / h)
            nw, nh = max(2, int(round(w * k))), max(2, int(round(h * k)))
            img = np.zeros((H, W, 3), np.uint8)
            y0, x0 = (H - nh) // 2, (W - nw) // 2
            img[y0:y0 + nh, x0:x0 + nw] = cv2.resize(fr.image, (nw, nh), interpolation=cv2.INTER_AREA)
            yield Frame(image=img, t=fr.t, index=n)
            n += 1
    finally:
        reader.close()


def vp8_roundtrip(frames: Iterator[Frame], kbps: int = DEFAULT_KBPS) -> Iterator[Frame]:
    """Each frame through a VP8 encoder (aiortc's settings, CBR at ``kbps``) and back through a decoder."""
    import av

    enc = dec = None
    bps = int(kbps * 1000)
    for fr in frames:
        h, w = fr.image.shape[:2]
        if enc is None:
            enc = av.CodecContext.create("libvpx", "w")
            enc.width, enc.height, enc.pix_fmt = w, h, "yuv420p"
            enc.bit_rate = bps
            enc.time_base = Fraction(1, 90000)
            enc.gop_size = 3000
            enc.qmin, enc.qmax = 2, 56
            enc.options = {"bufsize": str(bps), "cpu-used": "-6", "deadline": "realtime", "lag-in-frames": "0",
                           "minrate": str(bps), "maxrate": str(bps), "noise-sensitivity": "4",
                           "overshoot-pct": "15", "partitions": "0", "static-thresh": "1", "undershoot-pct": "100"}
            enc.thread_count = 1
            dec = av.CodecContext.create("libvpx", "r")
        vf = av.VideoFrame.from_ndarray(fr.image, format="rgb24").reformat(format="yuv420p")
        vf.pts = int(round(fr.t * 90000))
        vf.time_base = Fraction(1, 90000)
        for pkt in enc.encode(vf):
            for out in dec.decode(pkt):
                yield Frame(image=out.to_ndarray(format="rgb24"), t=fr.t, index=fr.index)


def _key(path: Path, size, max_fps: float, kbps: int) -> str:
    st = path.stat()
    h = hashlib.sha1(f"{CACHE_VERSION}|{ROUNDTRIP_VERSION}|{path.resolve()}|{st.st_size}|{int(st.st_mtime)}|"
                     f"{size}|{max_fps}|{kbps}".encode())
    return h.hexdigest()[:20]


def codec_cache_path(path: str | os.PathLike, kbps: int = DEFAULT_KBPS, size: tuple[int, int] = WEBCAM_SIZE,
                     max_fps: float = WEBCAM_FPS) -> Path:
    """Where ``codec_track`` keeps the clip's landmarks."""
    return cache_dir() / "codec" / f"{_key(Path(path), size, max_fps, kbps)}.npz"


def codec_track(path: str | os.PathLike, kbps: int = DEFAULT_KBPS, size: tuple[int, int] = WEBCAM_SIZE,
                max_fps: float = WEBCAM_FPS, use_cache: bool = True) -> tuple[VideoInfo, PoseTrack]:
    """Pose of the clip as received over a webcam's WebRTC link (see the module's docstring), cached."""
    from ..pose.estimator import MediaPipePose

    p = Path(path)
    reader = VideoReader(p)  # validates the file and gives its info
    info = reader.info
    reader.close()
    cpath = codec_cache_path(p, kbps, size, max_fps) if use_cache else None
    if cpath is not None and cpath.exists():
        try:
            track, _ = PoseTrack.load(cpath)
            return info, track
        except Exception as e:  # corrupt cache: recompute
            log.warning("ignoring unreadable codec cache %s: %s", cpath, e)
    est = MediaPipePose()
    meter = ImageStatsMeter()
    frames, stats = [], []
    try:
        for fr in vp8_roundtrip(webcam_frames(p, size, max_fps), kbps):
            pf = est.process(fr.image, fr.t)
            stats.append(meter.update(fr.image, fr.t, pose_box(pf.image, pf.visibility) if pf.present else None))
            frames.append(pf)
    finally:
        est.close()
    track = PoseTrack.from_frames(frames, stats)
    if cpath is not None:
        try:
            track.save(cpath)
        except OSError as e:
            log.warning("could not write codec cache: %s", e)
    return info, track


def _fill_one(job: tuple[str, str, int]) -> tuple[str, str, str | None]:
    kind, path, kbps = job
    try:
        if kind == "pose":
            from ..pose.track import extract_pose

            extract_pose(path, use_cache=True)
        else:
            codec_track(path, kbps=kbps)
        return kind, path, None
    except Exception as e:  # a bad clip is the caller's to report; the others still fill
        return kind, path, f"{type(e).__name__}: {e}"


def _quiet_worker() -> None:
    """A cache worker's C++ logging (MediaPipe's start-up lines) would interleave with the caller's output: errors come
    back as return values instead."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    except OSError:
        pass


def fill_caches(paths, codec: bool = True, kbps: int = DEFAULT_KBPS, workers: int | None = None,
                progress=None) -> list[tuple[str, str, str | None]]:
    """Put the pose of many clips -- from the file, and with ``codec`` as a webcam stream delivers it -- into the cache,
    on ``workers`` processes (default: one per core; a clip's pose and its VP8 round trip each run on about one core).
    What is cached already is skipped;
    ``progress(done, total)`` after each clip. Returns ``(kind, path, error or None)`` per job run."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from ..pose.track import pose_cache_path

    paths = [Path(p) for p in paths]
    jobs = [("pose", str(p), kbps) for p in paths if not pose_cache_path(p).exists()]
    if codec:
        jobs += [("codec", str(p), kbps) for p in paths if not codec_cache_path(p, kbps).exists()]
    if not jobs:
        return []
    jobs.sort(key=lambda j: -Path(j[1]).stat().st_size)  # the longest first: the workers finish together
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    out = []
    if workers == 1:
        for j in jobs:
            out.append(_fill_one(j))
            if progress:
                progress(len(out), len(jobs))
        return out
    from concurrent.futures.process import BrokenProcessPool

    # spawn, not fork: the parent may already hold MediaPipe's and torch's threads
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                 initializer=_quiet_worker) as ex:
            for f in as_completed([ex.submit(_fill_one, j) for j in jobs]):
                out.append(f.result())
                if progress:
                    progress(len(out), len(jobs))
    except BrokenProcessPool as e:  # a worker died (out of memory, killed): what is left fills here, one by one
        log.warning("cache workers stopped (%s): filling the rest in this process", e)
        done = {(k, p) for k, p, _ in out}
        for j in jobs:
            if (j[0], j[1]) not in done:
                out.append(_fill_one(j))
    return out


# ------------------------------------------------------------------------------------------- how far the codec moves
NOISE_SIGNALS = ("elbow", "knee", "hip", "hip_sagittal", "knee_max", "shoulder_height", "hand_reach", "hip_height")
NOISE_JOINTS = {"shoulders": (11, 12), "elbows": (13, 14), "wrists": (15, 16), "hips": (23, 24), "knees": (25, 26),
                "ankles": (27, 28)}


def codec_noise(path: str | os.PathLike, kbps: int = DEFAULT_KBPS) -> dict:
    """How the webcam's codec moves one clip's landmarks and signals: the same moments (matched by timestamp) posed
    from the file and from the VP8 round trip, both cleaned as live. Per joint group, the displacement in torso lengths
    (median, 95th percentile); per signal, the RMS difference and the signal's own range over the clip (5th to 95th
    percentile), whose ratio says how much of a rep the codec can fake or hide. Brightness of the clip (mean luma)."""
    from ..movement.signals import frame_signals
    from ..pose.track import clean_track, extract_pose

    _, a = extract_pose(path, use_cache=True)
    _, b = codec_track(path, kbps=kbps)
    ca, _ = clean_track(a)
    cb, _ = clean_track(b)
    ta = np.array([c.t for c in ca])
    disp = {k: [] for k in NOISE_JOINTS}
    sig_a = {k: [] for k in NOISE_SIGNALS}
    sig_b = {k: [] for k in NOISE_SIGNALS}
    for c in cb:
        i = int(np.argmin(np.abs(ta - c.t))) if len(ta) else -1
        if i < 0 or abs(ta[i] - c.t) > 0.01 or not (c.valid and ca[i].valid):
            continue
        d = np.linalg.norm(c.norm - ca[i].norm, axis=1)
        for k, js in NOISE_JOINTS.items():
            disp[k].append(float(np.nanmean(d[list(js)])))
        sa, sb = frame_signals(ca[i]), frame_signals(c)
        for k in NOISE_SIGNALS:
            sig_a[k].append(sa.get(k, np.nan))
            sig_b[k].append(sb.get(k, np.nan))
    out: dict = {"frames": len(disp["hips"]), "brightness": float(np.nanmean(a.stats[:, 0])) if len(a) else None,
                 "joints": {}, "signals": {}}
    for k, v in disp.items():
        v = np.array(v, float)
        v = v[np.isfinite(v)]
        if len(v):
            out["joints"][k] = {"median": float(np.median(v)), "p95": float(np.percentile(v, 95))}
    for k in NOISE_SIGNALS:
        x, y = np.array(sig_a[k], float), np.array(sig_b[k], float)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 10:
            continue
        rng = float(np.percentile(x[ok], 95) - np.percentile(x[ok], 5))
        out["signals"][k] = {"rms": float(np.sqrt(np.mean((x[ok] - y[ok]) ** 2))), "range": rng}
    return out
