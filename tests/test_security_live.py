"""Security of the live half: identifiers and stored paths (no traversal through replay, export or history,
no symlink out of the data folder), uploads checked before decoding, the server bound to localhost, model text
shown as text on the page, and the live path making no network call.

(Covered elsewhere: id validation and traversal in the store itself — tests/test_store.py; report.html escaping
— tests/test_report_html.py; the batch pipeline with sockets blocked — the lead's test.)
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, history_page

from pipeline.errors import InputError
from realtime import history
from realtime.store import Store

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT.parent / "shared" / "data" / "clips"
CLIP = CLIPS / "squat/sq05_barbell_highbar_front.mp4"
BAD_IDS = ["../../etc/passwd", "/etc/passwd", "..", "0" * 31 + "/", "0" * 32 + "\x00", "%2e%2e%2f" + "0" * 23,
           "A" * 32, "", None, 7]


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("GLOG_minloglevel", "2")
    if not os.environ.get("SPOTTER_CACHE") and (ROOT / ".cache" / "spotter").exists():
        monkeypatch.setenv("SPOTTER_CACHE", str(ROOT / ".cache" / "spotter"))


@pytest.fixture
def stored(tmp_path):
    """A store with one session and one set, files on disk as a live session leaves them."""
    store = Store(tmp_path / "data")
    sid = store.create_session("webcam")
    d = store.session_dir(sid)
    (d / "recording.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64)
    (d / "landmarks.jsonl").write_text("")
    (d / "events.jsonl").write_text(json.dumps({"type": "start", "t": 0, "pid": 1}) + "\n")
    store.set_files(sid, video=d / "recording.mp4", landmarks=d / "landmarks.jsonl", events=d / "events.jsonl")
    rd = d / "sets" / "set001"
    rd.mkdir(parents=True)
    (rd / "report.json").write_text("{}")
    (rd / "report.html").write_text("<html></html>")
    set_id = store.add_set(sid, index=1, exercise="squat", reps=2, start_s=0, end_s=5, reason="rest",
                           report_json="{}", report_dir=rd)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    return store, sid, set_id, outside


# ------------------------------------------------------------------------------------------- identifiers
@pytest.mark.parametrize("bad", BAD_IDS)
def test_history_replay_and_export_refuse_bad_ids(stored, bad):
    store, *_ = stored
    calls = [lambda: history.session_files(store, bad), lambda: history.export_paths(store, bad),
             lambda: history.rebuild_sets(store, bad), lambda: history.recover_session(store, bad),
             lambda: history.render_set_video(store, bad), lambda: store.delete_session(bad),
             lambda: store.report(bad)]
    for call in calls:
        with pytest.raises(InputError, match="invalid id"):
            call()
    assert (store.root / "spotter.sqlite3").exists()  # nothing deleted on the way


def test_valid_ids_export_their_files(stored):
    store, sid, set_id, _ = stored
    files = history.session_files(store, sid)
    assert files["video"].name == "recording.mp4" and files["landmarks"] and files["events"]
    assert sorted(history.export_paths(store, set_id)) == ["report.html", "report.json"]


@pytest.mark.parametrize("where", ["../../outside", "/etc", "sessions/../../outside"])
def test_tampered_stored_paths_are_refused(stored, where):
    """A database edited by hand (or by another program) cannot point exports or playback outside the folder."""
    store, sid, set_id, _ = stored
    with store._conn() as c:
        c.execute("UPDATE sets SET report_dir=? WHERE id=?", (where, set_id))
        c.execute("UPDATE sessions SET video=? WHERE id=?", (where + "/secret.txt", sid))
    with pytest.raises(InputError, match="escapes the data folder"):
        history.export_paths(store, set_id)
    with pytest.raises(InputError, match="escapes the data folder"):
        history.session_files(store, sid)


def test_symlinks_out_of_the_data_folder_are_refused(stored):
    store, sid, set_id, outside = stored
    d = store.session_dir(sid)
    # a file in the set's folder that links outside
    rd = d / "sets" / "set001"
    (rd / "report.html").unlink()
    (rd / "report.html").symlink_to(outside / "secret.txt")
    with pytest.raises(InputError, match="escapes the data folder"):
        history.export_paths(store, set_id)
    # the recording replaced by a link to a file outside
    (d / "recording.mp4").unlink()
    (d / "recording.mp4").symlink_to(outside / "secret.txt")
    with pytest.raises(InputError, match="escapes the data folder"):
        history.session_files(store, sid)
    # the whole session folder swapped for a link outside
    shutil.rmtree(d)
    d.symlink_to(outside, target_is_directory=True)
    with pytest.raises(InputError, match="escapes the data folder"):
        store.session_dir(sid)
    with pytest.raises(InputError, match="escapes the data folder"):
        store.delete_session(sid)
    assert (outside / "secret.txt").read_text() == "secret"  # untouched


def test_replay_of_a_path_that_is_not_a_video_is_refused():
    from realtime.replay import replay

    for p in ("/etc/passwd", "../../etc/passwd", "/etc", "/nonexistent/x.mp4"):
        with pytest.raises(InputError):
            replay(p, webrtc=False)


# ------------------------------------------------------------------------------------------- uploads
class _NoDecode:
    def __init__(self, *a, **k):
        raise AssertionError("decoded before the checks")


@pytest.mark.parametrize("name,data,msg", [
    ("set.exe", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100, "unsupported file type"),
    ("set", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100, "unsupported file type"),
    ("set.mp4.html", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100, "unsupported file type"),
    ("set.mp4", b"<html><script>alert(1)</script></html>" * 10, "first bytes"),
    ("set.mp4", b"\x1aE\xdf\xa3" + b"\x00" * 100, "first bytes"),  # a WebM named .mp4
    ("set.webm", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100, "first bytes"),
    ("set.avi", b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 100, "first bytes"),
    ("set.mov", b"", "empty"),
])
def test_uploads_are_checked_before_decoding(tmp_path, monkeypatch, name, data, msg):
    import pipeline.intake.video

    monkeypatch.setattr(pipeline.intake.video, "VideoReader", _NoDecode)
    store = Store(tmp_path / "data")
    with pytest.raises(InputError, match=msg):
        history.analyse_upload(store, name, data)
    assert store.list_sessions() == []  # nothing created, nothing written
    assert not any((tmp_path / "data" / "sessions").iterdir())


def test_upload_size_limit_is_checked_first():
    head = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 4
    with pytest.raises(InputError, match="larger than 10 MB"):
        history.check_upload("big.mp4", 10 * 2**20 + 1, head, max_bytes=10 * 2**20)
    assert history.check_upload("ok.MP4", 10 * 2**20, head, max_bytes=10 * 2**20) == ".mp4"
    assert history.check_upload("a.mkv", 100, b"\x1aE\xdf\xa3" + b"\x00" * 12) == ".mkv"
    assert history.check_upload("a.avi", 100, b"RIFF\x00\x00\x00\x00AVI LIST") == ".avi"


# ------------------------------------------------------------------------------------------- the server binds localhost
def _listen_addresses(port: int) -> list[str]:
    """Local addresses of the LISTEN sockets on ``port`` (from /proc/net/tcp and tcp6)."""
    out = []
    for f, fam in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 6)):
        try:
            lines = Path(f).read_text().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            local, state = ln.split()[1], ln.split()[3]
            addr, p = local.split(":")
            if int(p, 16) == port and state == "0A":
                out.append(f"{fam}:{addr}")
    return out


def _non_loopback_ipv4() -> list[str]:
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    addrs = [tok.split("/")[0] for ln in out.splitlines() for i, tok in enumerate(ln.split())
             if i > 0 and ln.split()[i - 1] == "inet"]
    return [a for a in addrs if not a.startswith("127.")]


def test_streamlit_listens_on_localhost_only_by_default(tmp_path):
    """``streamlit run streamlit_app.py`` with no address option: the project config binds 127.0.0.1 and turns
    usage statistics off; the port is not reachable on the machine's other addresses."""
    port = free_port()
    env = dict(os.environ, SPOTTER_DATA=str(tmp_path / "data"), GLOG_minloglevel="2")
    log = open(tmp_path / "st.log", "w")
    p = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
                          "--server.headless", "true"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not start: " + (tmp_path / "st.log").read_text()[-2000:])
        listen = _listen_addresses(port)
        assert listen == ["4:0100007F"], listen  # 127.0.0.1 only (no 0.0.0.0, no ::)
        for addr in _non_loopback_ipv4():
            with socket.socket() as s:
                s.settimeout(2)
                assert s.connect_ex((addr, port)) != 0, f"reachable on {addr}"
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
        log.close()
    cfg = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env=env).stdout
    assert 'address = "127.0.0.1"' in cfg and "gatherUsageStats = false" in cfg


def test_remote_clients_are_refused_unless_allowed(monkeypatch):
    """Second line of defence if the server is bound wider by mistake: the page serves loopback clients only,
    unless SPOTTER_ALLOW_REMOTE=1."""
    from realtime.webrtc import client_allowed

    monkeypatch.delenv("SPOTTER_ALLOW_REMOTE", raising=False)
    assert client_allowed(None) and client_allowed("127.0.0.1") and client_allowed("::1")
    assert not client_allowed("192.0.2.7") and not client_allowed("fd00::2") and not client_allowed("junk")
    monkeypatch.setenv("SPOTTER_ALLOW_REMOTE", "1")
    assert client_allowed("192.0.2.7")


# ------------------------------------------------------------------------------------------- model text on the page
EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def test_the_page_renders_model_text_as_text(tmp_path, monkeypatch):
    """A stored report whose summary, issue label and QC message contain HTML: the History page shows it as
    literal text; no element that allows HTML carries it."""
    rep = {"exercise": {"label": "squat" + EVIL}, "reps": {"count": 2},
           "summary": {"source": "model", "headline": "Great set " + EVIL, "what_you_did": "You squatted",
                       "fix_first": [{"code": "knee_valgus", "label": "Knees", "text": "Push " + EVIL}],
                       "next_session": ["Again " + EVIL], "disclaimer": "Not medical advice " + EVIL},
           "issues": [{"code": "knee_valgus", "label": "Knees " + EVIL, "rep": 1}],
           "qc": {"warnings": [{"code": "x", "message": "Light " + EVIL}]}}
    at = history_page(tmp_path, monkeypatch, rep, reps=2, end_s=5, title=EVIL)
    import html

    texts = "\n".join(t.value for t in at.text)
    for shown in ("Next time: Again " + EVIL,):
        assert shown in texts, texts  # shown, literally
    md = "\n".join(m.value for m in at.markdown)
    for shown in ("Great set " + EVIL, "Push " + EVIL):  # in Markdown and HTML elements: escaped, so shown as text
        assert html.escape(shown) in md, md
    for el in list(at.markdown) + list(at.caption):
        if el.proto.allow_html:
            assert "<script" not in el.value and "<img" not in el.value, el.value
        else:  # Markdown does not render raw HTML; and what came from a report is escaped
            assert "<script>" not in el.value, el.value


# ------------------------------------------------------------------------------------------- no network at run time
@pytest.fixture
def no_network(monkeypatch):
    """Every non-loopback connection, DNS lookup or datagram raises (and is recorded)."""
    attempts = []

    def loopback(addr) -> bool:
        if isinstance(addr, (str, bytes)):  # AF_UNIX path
            return True
        host = str(addr[0]) if isinstance(addr, tuple) and addr else ""
        return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")

    def guard(name, orig):
        def f(self, addr, *a):
            if not loopback(addr):
                attempts.append((name, addr))
                raise OSError(f"network blocked by the test: {name} {addr}")
            return orig(self, addr, *a)
        return f

    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, guard(name, getattr(socket.socket, name)))
    orig_sendto = socket.socket.sendto

    def sendto(self, data, *a):
        addr = a[-1]
        if not loopback(addr):
            attempts.append(("sendto", addr))
            raise OSError("network blocked by the test")
        return orig_sendto(self, data, *a)

    monkeypatch.setattr(socket.socket, "sendto", sendto)
    orig_gai = socket.getaddrinfo

    def gai(host, *a, **k):
        if host not in (None, "127.0.0.1", "::1", "localhost"):
            attempts.append(("getaddrinfo", host))
            raise socket.gaierror(f"DNS blocked by the test: {host}")
        return orig_gai(host, *a, **k)

    monkeypatch.setattr(socket, "getaddrinfo", gai)
    # the guard works
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    with pytest.raises(OSError):
        urllib.request.urlopen("http://example.org/", timeout=1)
    attempts.clear()
    return attempts


@pytest.mark.skipif(not CLIP.exists(), reason="real clips not found in ../shared")
def test_the_live_path_makes_no_network_call(tmp_path, no_network, monkeypatch):
    """A recorded live session with the real pose model (MediaPipe, created inside the block), the exercise
    router, the recorder, the store and the set report, with every non-loopback socket blocked."""
    from pipeline.intake.video import VideoReader
    from realtime.session import LiveSession, SessionConfig

    monkeypatch.delenv("SPOTTER_LLM_MODEL", raising=False)
    store = Store(tmp_path / "data")
    s = LiveSession(SessionConfig(exercise=None, source="webcam", llm=None), store=store, threaded=False)
    for fr in VideoReader(CLIP):
        s.on_frame(fr.image, fr.t)
    s.close("stream_ended")
    assert s.errors == 0, s.last_error
    assert sum(e.reps for e in s.sets) == 2 and all(e.report is not None for e in s.sets)
    deadline = time.time() + 30
    while time.time() < deadline and any(e.summary_status == "pending" for e in s.sets):
        time.sleep(0.1)
    rows = store.sets(s.session_id)
    assert rows and all(json.loads(r["report_json"])["summary"]["source"] == "deterministic" for r in rows)
    assert no_network == [], no_network
