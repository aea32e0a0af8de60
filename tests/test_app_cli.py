"""The command line around the app (issue 23).

``spotter app`` stops cleanly: a stop signal reaches the app (Streamlit, a child process), which ends; nothing is
left listening and no child process stays behind (SIGTERM used to end ``spotter`` and leave Streamlit serving the
port). Also when ``spotter app`` itself is killed outright. ``spotter replay --direct`` exists, as documented."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port

ROOT = Path(__file__).resolve().parents[1]

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process tree via /proc (Linux)")


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _start(tmp_path):
    port = free_port()
    env = dict(os.environ, SPOTTER_DATA=str(tmp_path / "data"), GLOG_minloglevel="2")
    log = open(tmp_path / "app.log", "w")
    p = subprocess.Popen([sys.executable, "-m", "pipeline.tools.cli", "app", "--port", str(port)], cwd=ROOT, env=env,
                         stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 180
    while time.time() < deadline and p.poll() is None:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        p.kill()
        pytest.fail("the app did not start: " + (tmp_path / "app.log").read_text()[-2000:])
    kids = _children(p.pid)
    assert kids, "the app runs as a child process"
    return p, port, kids, log


def _gone(pids, port, timeout=40.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not any(_alive(k) for k in pids) and not _listening(port):
            return True
        time.sleep(0.2)
    return False


@linux
@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_stop_signal_to_spotter_app_leaves_nothing_listening_and_no_child(tmp_path, how):
    p, port, kids, log = _start(tmp_path)
    try:
        os.kill(p.pid, getattr(signal, how))
        rc = p.wait(60)
        assert _gone(kids, port), (how, [k for k in kids if _alive(k)], (tmp_path / "app.log").read_text()[-2000:])
        if how == "SIGTERM":
            assert rc == 0, rc  # a requested stop is a clean exit
            assert "Traceback" not in (tmp_path / "app.log").read_text()
    finally:
        for k in kids:
            if _alive(k):
                os.kill(k, signal.SIGKILL)
        if p.poll() is None:
            p.kill()
        log.close()


def test_replay_direct_feeds_the_session_without_webrtc():
    import json

    from conftest import clip_path

    clip = clip_path("sq05")
    r = subprocess.run([sys.executable, "-m", "pipeline.tools.cli", "replay", str(clip), "--direct", "--json",
                        "--mute", "--exercise", "squat"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert [(s["exercise"], s["reps"]) for s in out["sets"]] == [("squat", 2)], out
    assert out["timing"]["dropped_ratio"] == 0.0, out
