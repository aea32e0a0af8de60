"""``spotter bench browser CLIP [--seconds S] [--json] [--exercise EX]``: the live loop as a user runs it.

1. starts the real app (``realtime/app_server.py``: the Streamlit page + the page channel) on a free local port,
   with a temporary data folder;
2. drives Debian's Chromium (headless, through Playwright) with the clip as the webcam: the clip is converted
   to a 640x480, 30 fps Y4M file in a temporary folder (letterboxed, frames repeated or skipped to 30 fps, with
   2 s of an empty view before it — the user pressing START and stepping back — and 1 s after it) and played
   by Chromium's fake capture device (``--use-file-for-fake-video-capture``); the bench presses START and lets
   the file play once (``S`` defaults to the file's length, ``--loops N`` plays it N times: Chromium loops it);
3. presses STOP, waits for the session to be stored, prints the figures and shuts everything down.

Figures (``--json``: one object with exactly these keys):

* ``processed_fps``: results received by the page per second (one per frame the server analysed), over the
  window from the first result to STOP;
* ``dropped_ratio``: frames the server received but skipped because a newer one was waiting (``LiveSession``'s
  one-slot mailbox), over frames received;
* ``overlay_latency_ms_p50`` / ``_p95``: camera frame captured → its overlay painted on the page's canvas, in
  the page's clock (see ``realtime/web/spotter_live/main.js``: the result carries the frame's RTP timestamp,
  which the page maps to the frame's capture time);
* ``server_cpu_cores`` / ``browser_cpu_cores``: CPU time of the app process and of every Chromium process this
  bench started, over the window, in cores (1.0 = one core busy);
* ``reps``: total reps of the sets the session stored; ``seconds``: the window's length.

The text output adds details, among them the voice's latency (``realtime/web/spotter_live/voice.js``): for each
spoken count, from the capture of the camera frame that completed the rep to the count's audio starting in the
page, p50 / p95 (the same clock as the overlay latency).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from fractions import Fraction
from pathlib import Path
from typing import Optional

from pipeline.errors import InputError, SpotterError

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("processed_fps", "dropped_ratio", "overlay_latency_ms_p50", "overlay_latency_ms_p95", "server_cpu_cores",
        "browser_cpu_cores", "reps", "seconds")
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
               "--use-fake-device-for-media-stream"]
_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class BrowserUnavailable(SpotterError):
    exit_code = 2


def chromium_path() -> Optional[str]:
    return shutil.which("chromium") or shutil.which("chromium-browser")


# ------------------------------------------------------------------------------------------------ camera file
def camera_file(clip: str | Path, out: Path, size=(640, 480), fps: int = 30, lead_s: float = 2.0,
                tail_s: float = 1.0, hold_s: float = 0.0) -> tuple[Path, float]:
    """``clip`` as a camera file for Chromium's fake capture: raw Y4M (``out`` ending in ``.y4m``, like a
    webcam's uncompressed frames) or MJPEG (``.mjpeg``, much smaller); ``size``, ``fps``, letterboxed, frames
    repeated or skipped to the rate by timestamp; ``lead_s`` seconds with no one in view before the clip (the
    user pressing START and stepping back; the connection comes up meanwhile) and ``tail_s`` after it;
    ``hold_s`` seconds of the clip's last picture, frozen, between the clip and the tail (a camera whose picture
    stopped: identical frames). Returns (path, duration of the whole file in seconds)."""
    import av
    import cv2
    import numpy as np

    from pipeline.intake.video import VideoReader

    W, H = size
    path = Path(out)
    n = 0
    mjpeg = path.suffix.lower() == ".mjpeg"
    with av.open(str(path), "w", format="mjpeg" if mjpeg else "yuv4mpegpipe") as c:
        s = c.add_stream("mjpeg" if mjpeg else "rawvideo", rate=fps)
        s.width, s.height, s.pix_fmt = W, H, "yuvj420p" if mjpeg else "yuv420p"
        s.time_base = Fraction(1, fps)
        canvas = np.zeros((H, W, 3), np.uint8)
        last = None

        def emit(img):
            nonlocal n
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = n
            for p in s.encode(vf):
                c.mux(p)
            n += 1

        for _ in range(int(round(lead_s * fps))):
            emit(canvas)
        t_lead = n / fps
        for fr in VideoReader(str(clip)):
            h, w = fr.image.shape[:2]
            k = min(W / w, H / h)
            nw, nh = max(2, int(round(w * k))), max(2, int(round(h * k)))
            img = canvas.copy()
            y0, x0 = (H - nh) // 2, (W - nw) // 2
            img[y0:y0 + nh, x0:x0 + nw] = cv2.resize(fr.image, (nw, nh), interpolation=cv2.INTER_AREA)
            while n / fps - t_lead <= fr.t + 1e-6:  # every output tick up to this frame shows the latest frame
                emit(last if last is not None and n / fps - t_lead < fr.t - 1e-6 else img)
            last = img
        if last is None:
            raise InputError(f"no frames decoded from {clip}")
        emit(last)
        for _ in range(int(round(hold_s * fps))):
            emit(last)
        for _ in range(int(round(tail_s * fps))):
            emit(canvas)
        for p in s.encode(None):
            c.mux(p)
    return path, n / fps


# ------------------------------------------------------------------------------------------------ processes
def _cpu_s(pids) -> float:
    tot = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            tot += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return tot / _TCK


def _threads_sched(pid: int) -> dict[str, tuple[float, float, int]]:
    """Per thread name: seconds on a CPU, seconds runnable but waiting for one (the run queue), time slices
    (/proc/<pid>/task/<tid>/schedstat, nanoseconds; threads of the same name added up)."""
    out: dict[str, tuple[float, float, int]] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, wait, n = (int(x) for x in f.read().split()[:3])
        except (OSError, ValueError):
            continue
        a = out.get(name, (0.0, 0.0, 0))
        out[name] = (a[0] + run / 1e9, a[1] + wait / 1e9, a[2] + n)
    return out


def _sched_delta(a: dict, b: dict, dt: float, frames: int, top: int = 6) -> dict[str, dict]:
    """What each server thread did per analysed frame between two ``_threads_sched`` snapshots (ms)."""
    rows = {}
    for k, (run, wait, n) in b.items():
        r0, w0, n0 = a.get(k, (0.0, 0.0, 0))
        rows[k] = {"run_ms": (run - r0) * 1000 / max(1, frames), "runqueue_ms": (wait - w0) * 1000 / max(1, frames),
                   "slices": (n - n0) / max(1, frames), "runqueue_share": (wait - w0) / dt if dt > 0 else 0.0}
    best = sorted(rows.items(), key=lambda kv: -kv[1]["run_ms"])[:top]
    return {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in best}


def _sender(st0: dict, st1: dict) -> dict:
    """The browser's video sender between two spotterStats: its codec and encoder, encode ms a frame, pacer ms a
    packet, the bitrate it sent at, and at the end its target bitrate and what limits its quality (cpu,
    bandwidth or none)."""
    a, b = st0.get("sender") or {}, st1.get("sender") or {}
    out = {k: b[k] for k in ("codec", "encoder") if b.get(k)}
    try:
        frames = b["frames_encoded"] - a["frames_encoded"]
        out["encode_ms_per_frame"] = round((b["encode_s"] - a["encode_s"]) * 1000 / frames, 2)
        packets = b["packets"] - a["packets"]
        out["packets_per_frame"] = round(packets / frames, 2)
        out["pacer_ms_per_packet"] = round((b["pacer_s"] - a["pacer_s"]) * 1000 / packets, 2)
        out["kbit_per_s"] = round((b["bytes"] - a["bytes"]) * 8 / 1000 / (b["at_s"] - a["at_s"]))
        out["target_kbit_per_s_at_end"] = round(b["target_bps"] / 1000)
        out["quality_limited_by_at_end"] = b["limited_by"]
    except (KeyError, TypeError, ZeroDivisionError):  # an older browser without these totals
        pass
    return out


def _machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (/proc/stat: everything but idle and iowait)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v[:8]) - v[3] - v[4]) / _TCK
    except (OSError, ValueError):
        return 0.0


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def _descendants(pid: int) -> list[int]:
    kids, out, todo = _children_map(), [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _chromium_pids(root_pid: int) -> list[int]:
    out = []
    for p in _descendants(root_pid):
        try:
            if "chrom" in os.path.basename(os.readlink(f"/proc/{p}/exe")):
                out.append(p)
        except OSError:
            pass
    return out


def _chromium_by_type(pids) -> dict[str, float]:
    """CPU seconds of Chromium's processes by kind (browser, renderer, gpu-process, utility: video capture,
    network, audio...)."""
    out: dict[str, float] = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                args = f.read().replace(b"\0", b" ").split()  # (Chromium rewrites its title: one string)
        except OSError:
            continue
        kind = "browser"
        for a in args:
            if a.startswith(b"--type="):
                kind = a[7:].decode(errors="replace")
            elif a.startswith(b"--utility-sub-type="):
                kind = "utility:" + a.split(b".")[-1].decode(errors="replace")
        out[kind] = out.get(kind, 0.0) + _cpu_s([p])
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """The real app (``realtime/app_server.py``) on a free local port with its own data folder."""

    def __init__(self, data: Path, log: Path, port: Optional[int] = None, env: Optional[dict] = None):
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = data
        self.log_path = log
        self._log = open(log, "w")
        e = dict(os.environ, SPOTTER_DATA=str(data), GLOG_minloglevel="2", **(env or {}))
        from ..app_server import command

        self.proc = subprocess.Popen(command(self.port), cwd=ROOT, env=e, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).read() == b"ok":
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SpotterError("the app did not start: " + self.log_tail())

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text()[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


# ------------------------------------------------------------------------------------------------ the page
def component_frame(page, timeout: float = 180.0):
    """The live component's frame (``realtime/web/spotter_live``) once its script is running."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for fr in page.frames:
            if "spotter_live" in (fr.url or ""):
                try:
                    if fr.evaluate("typeof window.spotterStats === 'function' && !!window.spotter.args"):
                        return fr
                except Exception:
                    pass
        page.wait_for_timeout(250)  # (not time.sleep: Playwright's sync API learns of new frames while waiting)
    raise SpotterError("the live view did not appear on the page")


def open_page(pw, url: str, camera: Optional[Path], exercise: Optional[str] = None):
    """Chromium (headless) on the app with ``camera`` as the webcam; returns (browser, page)."""
    args = list(CHROME_ARGS) + ([f"--use-file-for-fake-video-capture={camera}"] if camera else [])
    browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=args)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    if camera:
        ctx.grant_permissions(["camera"], origin=url)
    page = ctx.new_page()
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_text("Spotter — local workout form coach").wait_for(timeout=90000)
    if exercise:
        choose_exercise(page, exercise)
    return browser, page


def choose_exercise(page, exercise: str) -> None:
    label = {"squat": "Squat", "push_up": "Push-up", "shoulder_press": "Shoulder press"}[exercise]
    box = page.locator("[data-testid=stSelectbox]").filter(has_text="Exercise").locator("input").first
    box.click(timeout=60000)
    page.get_by_role("option", name=label, exact=True).click()
    deadline = time.time() + 30
    while box.input_value() != label and time.time() < deadline:
        time.sleep(0.2)


def wait_results(frame, n: int = 1, timeout: float = 60.0) -> dict:
    deadline = time.time() + timeout
    st = {}
    while time.time() < deadline:
        st = frame.evaluate("window.spotterStats()")
        if st.get("results", 0) >= n or st.get("error"):
            break
        time.sleep(0.2)
    if st.get("error"):
        raise SpotterError(f"the page says: {st['error']}")
    if st.get("results", 0) < n:
        raise SpotterError(f"no result reached the page within {timeout:.0f} s (state {st.get('state')})")
    return st


def camera_seconds(frame) -> float:
    """Seconds since the page started sending its camera (0 before)."""
    return float(frame.evaluate("window.spotter.cameraAt === null ? 0 : "
                                "(performance.now() - window.spotter.cameraAt) / 1000"))


def wait_camera(page, frame, seconds: float, progress: bool = False) -> None:
    """Until the page has sent its camera for ``seconds`` (the camera file starts when it is opened)."""
    while True:
        c = camera_seconds(frame)
        if c >= seconds:
            return
        if progress:
            print(f"  {c:5.1f} s: {frame.evaluate('window.spotter.results')} results", file=sys.stderr)
        page.wait_for_timeout(1000 * min(1.0, seconds - c))


def stored_sets(data: Path, source: Optional[str] = None, timeout: float = 60.0) -> tuple[Optional[dict], list]:
    """The newest session in the data folder once it has ended, and its sets."""
    from ..store import Store

    store = Store(data)
    deadline = time.time() + timeout
    sess, rows = None, []
    while time.time() < deadline:
        ss = [s for s in store.list_sessions() if source is None or s["source"] == source]
        if ss:
            sess = ss[0]
            if sess["status"] != "live":
                rows = store.sets(sess["id"])
                break
        time.sleep(0.3)
    return sess, rows


def _pct(a, q):
    import numpy as np

    return round(float(np.percentile(np.asarray(a, float), q)), 1) if len(a) else None


def machine() -> str:
    """The CPU model and core count (the figures depend on them: this project's machines have been hosts ~2.5×
    apart in speed)."""
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), None)
    except OSError:
        pass
    return f"{model or platform.processor() or 'unknown CPU'}, {os.cpu_count()} cores"


def pose_alone_ms(camera: Path, skip: int = 60, frames: int = 60) -> Optional[float]:
    """MediaPipe pose alone (one thread of this process, nothing else running) on ``frames`` frames of the camera
    file after its ``skip`` lead-in frames: the machine's speed for this work, printed next to the figures."""
    import av

    from pipeline.pose.estimator import MediaPipePose

    imgs = []
    with av.open(str(camera)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= skip:
                imgs.append(f.to_ndarray(format="rgb24"))
            if len(imgs) >= frames + 5:
                break
    if len(imgs) < 10:
        return None
    est = MediaPipePose()
    try:
        for i, im in enumerate(imgs[:5]):  # graph start-up and the first detection
            est.process(im, i / 30)
        t0 = time.perf_counter()
        for i, im in enumerate(imgs[5:]):
            est.process(im, (i + 5) / 30)
        return round((time.perf_counter() - t0) * 1000.0 / (len(imgs) - 5), 1)
    finally:
        est.close()


def _p50_p95(xs) -> tuple:
    return _pct(xs, 50), _pct(xs, 95)


def bench_browser(clip: str, seconds: Optional[float] = None, json_out: bool = False,
                  exercise: Optional[str] = None, keep: Optional[Path] = None,
                  py_spy: Optional[Path] = None, loops: int = 1, page_profile: Optional[Path] = None) -> dict:
    """Run the benchmark (see the module docstring); ``keep``: a folder for a screenshot and the app's log;
    ``py_spy``: write a py-spy profile of the app over the window there (raw collapsed stacks, per thread);
    ``page_profile``: write V8's CPU profile of the page's JavaScript over the window there (``.cpuprofile``,
    which Chromium's DevTools open) and print where its time went."""
    if chromium_path() is None:
        raise BrowserUnavailable("chromium not found (Debian: apt-get install chromium; see .ci/install_browser.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        raise BrowserUnavailable("the playwright package is missing: .venv/bin/pip install -e '.[test]' (or bash "
                                 ".ci/install_browser.sh, which also installs Debian's chromium)") from e
    if not Path(clip).is_file():
        raise InputError(f"file not found: {clip}")
    tmp = Path(tempfile.mkdtemp(prefix="spotter-bench-browser-"))
    app = None
    try:
        cam, file_s = camera_file(clip, tmp / "camera.y4m")
        secs = float(seconds) if seconds else file_s * max(1, int(loops))
        pose_alone = pose_alone_ms(cam)
        app = App(tmp / "data", tmp / "app.log")
        app.wait_ready()
        with sync_playwright() as pw:
            browser, page = open_page(pw, app.url, cam, exercise)
            try:
                fr = component_frame(page)
                fr.get_by_role("button", name="START").click()
                wait_results(fr, 1, timeout=180)
                me = os.getpid()
                srv = [app.proc.pid] + _descendants(app.proc.pid)
                c_srv0, c_br0, t0 = _cpu_s(srv), _cpu_s(_chromium_pids(me)), time.time()
                sc0 = _threads_sched(app.proc.pid)
                m0, me0 = _machine_busy_s(), _cpu_s([me] + _descendants(me))
                br0 = _chromium_by_type(_chromium_pids(me))
                st0 = fr.evaluate("window.spotterStats()")
                spy = None
                if py_spy is not None:
                    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
                    if not Path(exe).exists():
                        raise SpotterError("--py-spy needs py-spy (pip install py-spy)")
                    spy = subprocess.Popen([exe,
                                            "record", "-f", "raw", "-r", "100", "--threads", "-o", str(py_spy),
                                            "-d", str(max(1, int(secs - camera_seconds(fr)) - 1)), "-p", str(app.proc.pid)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                cdp = prof = None
                if page_profile is not None:
                    cdp = page.context.new_cdp_session(page)
                    cdp.send("Profiler.enable")
                    cdp.send("Profiler.setSamplingInterval", {"interval": 500})
                    cdp.send("Profiler.start")
                wait_camera(page, fr, secs, progress=not json_out)
                dt = time.time() - t0
                if cdp is not None:
                    prof = cdp.send("Profiler.stop")["profile"]
                    Path(page_profile).write_text(json.dumps(prof))
                c_srv1, c_br1 = _cpu_s(srv), _cpu_s(_chromium_pids(me))
                sc1 = _threads_sched(app.proc.pid)
                m1, me1 = _machine_busy_s(), _cpu_s([me] + _descendants(me))
                br1 = _chromium_by_type(_chromium_pids(me))
                if spy is not None:
                    spy.wait(30)
                st1 = fr.evaluate("window.spotterStats()")
                # the voice (voice.js): each spoken count's latency from the capture of the frame that completed
                # the rep to its audio starting in the page (and to leaving the speakers, by the browser's estimate)
                spoken = fr.evaluate("window.spotterVoice ? window.spotterVoice.played.filter(e => e.kind === "
                                     "'count').map(e => [e.latency_ms, e.heard_latency_ms, e.start - e.arrived]) : []")
                voice = fr.evaluate("""window.spotterVoice ? (() => {
                    const rc = window.spotterVoice.received.filter(e => e.kind === 'count');
                    const ch = new Map(window.spotter.countChanges.map(c => [c.t, c.at]));
                    return {received: rc.length, skipped: window.spotterVoice.skipped.map(e => e.kind + ':' + e.why),
                            after_result_ms: rc.filter(e => ch.has(e.t)).map(e => e.at - ch.get(e.t))}; })() : null""")
                if keep is not None:
                    page.screenshot(path=str(Path(keep) / "bench_browser.png"))
                fr.get_by_role("button", name="STOP").click()
                sess, rows = stored_sets(tmp / "data")
            except BaseException:
                if keep is not None:
                    page.screenshot(path=str(Path(keep) / "bench_browser_failed.png"), full_page=True)
                raise
            finally:
                browser.close()
        last = st1.get("last") or {}
        n_in, n_drop = last.get("frames_in") or 0, last.get("frames_dropped") or 0
        lat = st1.get("lat") or []
        res = {
            "processed_fps": round((st1["results"] - st0["results"]) / dt, 2) if dt > 0 else 0.0,
            "dropped_ratio": round(n_drop / n_in, 4) if n_in else 0.0,
            "overlay_latency_ms_p50": _pct(lat, 50), "overlay_latency_ms_p95": _pct(lat, 95),
            "server_cpu_cores": round((c_srv1 - c_srv0) / dt, 3), "browser_cpu_cores": round((c_br1 - c_br0) / dt, 3),
            "reps": int(sum(r["reps"] for r in rows)), "seconds": round(dt, 2),
        }
        details = {"clip": str(clip), "camera_file_seconds": round(file_s, 2), "frames_in": n_in,
                   "machine": machine(), "pose_alone_ms": pose_alone,
                   "frames_processed": last.get("frames_processed"), "frames_dropped": n_drop,
                   "latency_samples": len(lat), "latency_clock_found": st1.get("clock_found"),
                   "overlay_latency_ms_p99": _pct(lat, 99),
                   "spoken_counts": len(spoken), "voice": voice,
                   "count_voice_latency_ms_p50_p95": _p50_p95([a for a, _, _ in spoken if a is not None]),
                   "count_voice_heard_ms_p50_p95": _p50_p95([b for _, b, _ in spoken if b is not None]),
                   "count_voice_page_ms_p50_p95": _p50_p95([c for _, _, c in spoken]),
                   "server_ms_p50_p95": (st1.get("server_ms_p50"), st1.get("server_ms_p95")),
                   "server_wait_ms_p50_p95": (st1.get("wait_ms_p50"), st1.get("wait_ms_p95")),
                   "server_pose_ms_p50_p95": (st1.get("pose_ms_p50"), st1.get("pose_ms_p95")),
                   "server_rest_ms_p50_p95": (st1.get("rest_ms_p50"), st1.get("rest_ms_p95")),
                   "sender": _sender(st0, st1),
                   "server_threads_per_frame": _sched_delta(sc0, sc1, dt, st1["results"] - st0["results"]),
                   "frames_sent": st1.get("frames_sent"), "send_cap_fps": st1.get("send_cap"),
                   "panel_reruns": (st1.get("panel_posts") or 0) - (st0.get("panel_posts") or 0),
                   "camera": st1.get("video"), "sets": [(r["exercise"], r["reps"]) for r in rows],
                   "session_status": sess["status"] if sess else None, "load_avg": os.getloadavg(),
                   # what else ran meanwhile: the machine's busy cores minus this bench and all it started
                   "other_cpu_cores": round(max(0.0, (m1 - m0) - (me1 - me0)) / dt, 2),
                   "browser_processes_cores": {k: round((v - br0.get(k, 0.0)) / dt, 3) for k, v in sorted(
                       br1.items(), key=lambda kv: -(kv[1] - br0.get(kv[0], 0.0)))},
                   "server_threads_cores": {k: round((v[0] - sc0.get(k, (0.0,))[0]) / dt, 3) for k, v in sorted(
                       sc1.items(), key=lambda kv: -(kv[1][0] - sc0.get(kv[0], (0.0,))[0]))[:8]}}
        if keep is not None:
            for f in save_latency_series(st1, st0.get("now"), Path(keep)):
                print(f"saved {f}", file=sys.stderr)
        if json_out:
            print(json.dumps({k: res[k] for k in KEYS}))
        else:
            print(format_result(res, details))
            if prof is not None:
                print(profile_summary(prof, dt))
        return {**res, "details": details}
    finally:
        if app is not None:
            app.stop()
            if keep is not None:
                shutil.copy(app.log_path, Path(keep) / "app.log")
        shutil.rmtree(tmp, ignore_errors=True)


def save_latency_series(st: dict, start_ms, folder: Path) -> list[Path]:
    """``latency.csv`` (each painted result: seconds into the run, overlay latency, the server's part of it) and
    ``latency.png`` (the same over time, with the session panel's reruns marked) in ``folder``: a p95 says how bad
    the tail is, the picture says whether it is spread out or comes in bursts, and what the bursts line up with."""
    pairs = list(zip(st.get("lat") or [], st.get("lat_at") or []))  # pushed and dropped together by the page
    if not pairs:
        return []
    t0 = start_ms if isinstance(start_ms, (int, float)) else pairs[0][1][0]
    rows = [((painted - t0) / 1000.0, float(l), srv) for l, (painted, srv) in pairs]
    reruns = [(t - t0) / 1000.0 for t in (st.get("panel_at") or []) if t >= t0]
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "latency.csv"
    with open(csv_path, "w") as f:
        f.write("t_s,overlay_latency_ms,server_ms\n")
        for t, l, srv in rows:
            f.write(f"{t:.3f},{l:.1f},{'' if srv is None else round(float(srv), 1)}\n")
    out = [csv_path]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:  # the figures above and the CSV are the result; the picture is a convenience
        return out
    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=110)
    ax.plot([r[0] for r in rows], [r[1] for r in rows], lw=0.6, color="tab:blue",
            label="overlay latency (capture → painted)")
    srv = [(r[0], r[2]) for r in rows if r[2] is not None]
    if srv:
        ax.plot([a for a, _ in srv], [b for _, b in srv], lw=0.6, color="tab:orange", label="of which on the server")
    for i, t in enumerate(reruns):
        ax.axvline(t, color="grey", lw=0.8, ls=":", label="session panel rerun" if i == 0 else None)
    ax.axhline(100, color="tab:red", lw=0.8, label="goal: p95 ≤ 100 ms")
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("ms")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    png = folder / "latency.png"
    fig.savefig(png)
    plt.close(fig)
    return out + [png]


def profile_summary(prof: dict, seconds: float, top: int = 15) -> str:
    """Self time of a V8 ``.cpuprofile`` by function (name, file, line), in cores over ``seconds``."""
    nodes = {n["id"]: n for n in prof.get("nodes", [])}
    dts = prof.get("timeDeltas", [])
    self_us: dict[int, float] = {}
    for i, nid in enumerate(prof.get("samples", [])):  # a sample's time is the delta to the next one
        if i + 1 < len(dts):
            self_us[nid] = self_us.get(nid, 0.0) + max(0, dts[i + 1])
    by: dict[str, float] = {}
    for nid, us in self_us.items():
        cf = nodes[nid]["callFrame"]
        url = cf.get("url", "").rsplit("/", 1)[-1]
        key = f"{cf.get('functionName') or '(anonymous)'} {url}:{cf.get('lineNumber', -1) + 1}" if url else \
            (cf.get("functionName") or "(anonymous)")
        by[key] = by.get(key, 0.0) + us
    total = sum(v for k, v in by.items() if k not in ("(idle)", "(program)"))
    lines = [f"page JavaScript (V8 profile, main thread; '(program)' = the browser's own work outside JS): "
             f"{total / 1e6 / seconds:.3f} cores in JS and GC"]
    for k, v in sorted(by.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {v / 1e6 / seconds:6.3f}  {k}")
    return "\n".join(lines)


def format_result(r: dict, d: dict) -> str:
    lat = (f"{r['overlay_latency_ms_p50']} / {r['overlay_latency_ms_p95']} ms"
           if r["overlay_latency_ms_p95"] is not None else "not measured")
    return "\n".join([
        f"{d['clip']} as a {d['camera'][0]}x{d['camera'][1]} 30 fps webcam in headless Chromium, {r['seconds']:.1f} s",
        f"this machine: {d.get('machine')}; MediaPipe pose alone on the clip's frames before the run: "
        f"{d.get('pose_alone_ms')} ms a frame (the figures below scale with it)",
        f"processed: {r['processed_fps']:.1f} fps ({d['frames_processed']} of {d['frames_in']} frames received; "
        f"dropped {r['dropped_ratio']:.1%}); the page sent {d.get('frames_sent')} frames (its send rate follows what "
        f"the server analyses: capped at {d.get('send_cap_fps') or 30} fps at the end; the camera gives 30)",
        f"overlay latency (camera capture → painted) p50 / p95: {lat} ({d['latency_samples']} samples); "
        f"of which on the server (frame received → result ready) p50 / p95: "
        f"{d['server_ms_p50_p95'][0]} / {d['server_ms_p50_p95'][1]} ms (waiting in the mailbox for the pose stage "
        f"{d['server_wait_ms_p50_p95'][0]} / {d['server_wait_ms_p50_p95'][1]} ms, pose itself "
        f"{d['server_pose_ms_p50_p95'][0]} / {d['server_pose_ms_p50_p95'][1]} ms, the rest: RGB conversion, "
        f"hand-off, all after pose {d['server_rest_ms_p50_p95'][0]} / {d['server_rest_ms_p50_p95'][1]} ms)",
        "the browser's video sender: " + (", ".join(f"{k} {v}" for k, v in d["sender"].items()) or "no figures"),
        f"CPU: server {r['server_cpu_cores']:.2f} cores, browser {r['browser_cpu_cores']:.2f} cores, "
        f"together {r['server_cpu_cores'] + r['browser_cpu_cores']:.2f}",
        f"reps counted: {r['reps']} (sets {d['sets']}); Streamlit reruns of the session panel the page asked for: "
        f"{d.get('panel_reruns')} (when the state or the sets changed)",
        f"spoken counts: {d['spoken_counts']} (count messages received: {(d['voice'] or {}).get('received')}, "
        f"skipped: {(d['voice'] or {}).get('skipped')}; the count's message arrived after the result showing it: "
        f"p50 / p95 {' / '.join(map(str, _p50_p95((d['voice'] or {}).get('after_result_ms') or [])))} "
        f"ms); rep completed (its frame captured) → count's audio started in the page "
        f"p50 / p95: {d['count_voice_latency_ms_p50_p95'][0]} / {d['count_voice_latency_ms_p50_p95'][1]} ms "
        f"(→ out of the speakers, the browser's output latency added: {d['count_voice_heard_ms_p50_p95'][0]} / "
        f"{d['count_voice_heard_ms_p50_p95'][1]} ms); of which in the page (message arrived → audio started) "
        f"p50 / p95: {d['count_voice_page_ms_p50_p95'][0]} / {d['count_voice_page_ms_p50_p95'][1]} ms",
        "browser processes (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in d["browser_processes_cores"].items()),
        "server threads (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in d["server_threads_cores"].items()),
        "server threads per analysed frame (ms on a CPU / ms runnable but waiting for a CPU / time slices): "
        + ", ".join(f"{k} {v['run_ms']:.1f} / {v['runqueue_ms']:.1f} / {v['slices']:.1f}"
                    for k, v in d["server_threads_per_frame"].items()),
        f"other processes meanwhile: {d['other_cpu_cores']:.2f} cores busy; load average: "
        f"{' '.join(f'{x:.2f}' for x in d['load_avg'])}"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="spotter bench browser", description=__doc__.split("\n")[0])
    p.add_argument("clip")
    p.add_argument("--seconds", type=float, default=None,
                   help="how long to run from START (default: the camera file once: 2 s lead-in + clip + 1 s)")
    p.add_argument("--loops", type=int, default=1, help="without --seconds: play the camera file this many times")
    p.add_argument("--json", action="store_true")
    p.add_argument("--exercise", choices=["squat", "push_up", "shoulder_press"], default=None)
    p.add_argument("--keep", type=Path, default=None, help="folder for a screenshot and the app's log")
    p.add_argument("--py-spy", type=Path, default=None, help="write a py-spy profile of the app here")
    p.add_argument("--page-profile", type=Path, default=None,
                   help="write V8's CPU profile of the page here (.cpuprofile) and print where its time went")
    a = p.parse_args(argv)
    try:
        bench_browser(a.clip, a.seconds, a.json, a.exercise, keep=a.keep, py_spy=a.py_spy, loops=a.loops,
                      page_profile=a.page_profile)
    except SpotterError as e:
        print(f"spotter: error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
