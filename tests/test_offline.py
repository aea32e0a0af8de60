"""Local and private: the whole batch pipeline (pose, router, movement, summary, artifacts) runs with every
non-loopback network call blocked; a corrupt model file falls back to the deterministic summary."""
from __future__ import annotations

import socket

import pytest
from conftest import clip_path


class NetworkBlocked(AssertionError):
    pass


def _is_loopback(addr) -> bool:
    host = addr[0] if isinstance(addr, tuple) else addr
    return isinstance(host, str) and (host.startswith("127.") or host in ("::1", "localhost")) or \
        (isinstance(addr, (str, bytes)) and not isinstance(addr, tuple))  # AF_UNIX paths


@pytest.fixture
def no_network(monkeypatch):
    calls = []
    real_connect = socket.socket.connect

    def connect(self, addr):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(addr):
            calls.append(addr)
            raise NetworkBlocked(f"network call to {addr}")
        return real_connect(self, addr)

    def getaddrinfo(host, *a, **k):
        if host not in (None, "localhost", "127.0.0.1", "::1"):
            calls.append(host)
            raise NetworkBlocked(f"DNS lookup of {host}")
        return real_getaddrinfo(host, *a, **k)

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", lambda addr, *a, **k: (_ for _ in ()).throw(
        NetworkBlocked(f"create_connection {addr}")) if not _is_loopback(addr) else None)
    yield calls
    assert calls == [], f"network calls attempted: {calls}"


def test_batch_pipeline_runs_with_network_blocked(no_network, tmp_path, monkeypatch):
    from pipeline.analyze import analyze_file

    monkeypatch.delenv("SPOTTER_LLM_MODEL", raising=False)
    a = analyze_file(clip_path("sq05"), tmp_path, use_cache=False, llm=None)  # pose runs for real here
    rep = a.report
    assert rep.exercise.label == "squat" and rep.exercise.source == "model"
    assert rep.reps.count == 2 and rep.summary is not None and rep.verification.passed
    assert (tmp_path / "annotated.mp4").exists() and (tmp_path / "report.html").exists()


def test_live_pipeline_runs_with_network_blocked(no_network):
    from pipeline.live import LivePipeline
    from pipeline.pose.track import extract_pose
    from pipeline.report.setreport import build_set_report

    tr = extract_pose(clip_path("pu01"), use_cache=True)[1]
    lp = LivePipeline()  # the router and its weights load from the package, offline
    for pf, st in zip(tr.frames(), tr.frame_stats()):
        lp.process_pose(pf, st)
    res = lp.end_set("user")
    assert res is not None and res.exercise == "push_up" and res.reps == 4
    report, _ = build_set_report(res)
    assert report.reps.count == 4
    lp.close()


def test_corrupt_model_file_falls_back(tmp_path):
    from pipeline.analyze import analyze_file

    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"GGUF" + bytes(range(256)) * 64)
    a = analyze_file(clip_path("sq09"), None, exercise="squat", use_cache=True, llm=str(bad))
    from pipeline.coach import write_summary

    s, v = write_summary(a.report, llm=str(bad))
    assert s.source == "deterministic" and v.passed
    assert s.reason  # says why the model was not used
