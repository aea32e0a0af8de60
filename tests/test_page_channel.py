"""The page channel's server side without a browser (realtime/peer.py): the per-frame result message, the offer
and media routes' refusals, and the local-only offer. The browser end to end is tests/test_app_browser.py."""
from __future__ import annotations

import asyncio
import json

import numpy as np

from realtime import peer
from realtime.overlay import Overlay
from realtime.webrtc import LiveLink


def _call(method: str, path: str, body: bytes = b"", client=("127.0.0.1", 50000), headers=()):
    """One request through the routes as an ASGI app: (status, headers, body)."""
    from starlette.routing import Router

    app = Router(routes=peer.routes())
    sent = []
    first = True

    async def receive():  # the request once, then (as a client does) a disconnect when the response is over
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": body, "more_body": False}
        while not (sent and sent[-1]["type"] == "http.response.body" and not sent[-1].get("more_body")):
            await asyncio.sleep(0.005)
        return {"type": "http.disconnect"}

    async def send(m):
        sent.append(m)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers], "client": client,
             "server": ("127.0.0.1", 8501), "scheme": "http", "root_path": "", "http_version": "1.1"}
    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return (start["status"], {k.decode(): v.decode() for k, v in start["headers"]},
            b"".join(m.get("body", b"") for m in sent[1:]))


def test_result_message_is_json_the_page_can_draw():
    lm = np.random.default_rng(0).random((33, 3)).astype(np.float32)
    mask = np.ones(33, bool)
    mask[5] = False
    lm[7] = np.nan
    ov = Overlay(t=1.23456, landmarks=lm, mask=mask, exercise="squat", confidence=np.float32(0.9), count=3,
                 phase="lowering", cue="Sit deeper", highlight=(np.int64(25),), tag=4294967290, latency_ms=12.34,
                 suggestion=[("squat", np.float32(0.55)), ("lunge", 0.3)])
    m = json.loads(peer.result_message(ov, {"state": "in_set", "frames_in": 10, "progress": np.float64(0.5)}))
    assert m["type"] == "result" and m["v"] == peer.PROTOCOL and m["rtp"] == 4294967290 and m["t"] == 1.235
    assert len(m["lm"]) == 33 and m["lm"][5] is None and m["lm"][7] is None  # masked / not found: not drawn
    assert m["lm"][0] == [round(float(lm[0, 0]), 4), round(float(lm[0, 1]), 4)]
    assert m["hl"] == [25] and m["count"] == 3 and m["cue"] == "Sit deeper" and m["server_ms"] == 12.3
    assert m["suggestion"][0][0] == "squat" and abs(m["suggestion"][0][1] - 0.55) < 1e-6
    assert m["state"] == "in_set" and m["frames_in"] == 10 and m["progress"] == 0.5  # the session's brief()
    none = json.loads(peer.result_message(Overlay(), {}))
    assert none["lm"] is None and none["rtp"] is None


def test_offer_route_refuses_what_it_must():
    link = LiveLink()
    tok = peer.register(link)
    offer = {"token": tok, "sdp": "v=0\r\n", "type": "offer"}
    assert _call("POST", peer.OFFER_ROUTE, b"{not json")[0] == 400
    assert _call("POST", peer.OFFER_ROUTE, json.dumps(dict(offer, type="answer")).encode())[0] == 400
    assert _call("POST", peer.OFFER_ROUTE, json.dumps(dict(offer, token="x" * 32)).encode())[0] == 404
    assert _call("POST", peer.OFFER_ROUTE, json.dumps(dict(offer, token="../../etc")).encode())[0] == 404
    assert _call("POST", peer.OFFER_ROUTE, b"x" * (peer.MAX_SDP + 1))[0] == 413
    status, _, body = _call("POST", peer.OFFER_ROUTE, json.dumps(offer).encode(), client=("192.0.2.7", 4000))
    assert status == 403 and b"this computer only" in body
    assert peer.register(link) == tok  # one token per tab


def test_media_route_serves_only_the_registered_file_in_ranges(tmp_path, monkeypatch):
    monkeypatch.delenv("SPOTTER_ALLOW_REMOTE", raising=False)
    f = tmp_path / "clip.mp4"
    f.write_bytes(bytes(range(256)) * 40)  # 10240 bytes
    link = LiveLink()
    tok = peer.register(link)
    url = peer.allow_media(tok, f)
    status, headers, body = _call("GET", url, headers=[("Range", "bytes=100-199")])
    assert status == 206 and body == f.read_bytes()[100:200] and headers["content-range"] == "bytes 100-199/10240"
    status, _, body = _call("GET", url)
    assert status == 200 and body == f.read_bytes()
    assert _call("GET", url.rsplit("/", 1)[0] + "/0123456789abcdef")[0] == 404  # another id
    assert _call("GET", url.replace(tok, "y" * 32))[0] == 404  # another tab's token
    assert _call("GET", url, client=("192.0.2.7", 4000))[0] == 403
    assert peer.allow_media(tok, f) == url  # the page script's next rerun: the same file keeps its address
    g = tmp_path / "other.mp4"
    g.write_bytes(b"x" * 100)
    url2 = peer.allow_media(tok, g)  # another replay in the same tab replaces the old one
    assert url2 != url and _call("GET", url)[0] == 404 and _call("GET", url2)[0] == 200


def test_the_offer_keeps_only_candidates_that_stay_on_this_machine():
    sdp = ("v=0\r\na=candidate:1 1 udp 2113937151 3f6c1b5e-aaaa.local 51000 typ host\r\n"
           "a=candidate:2 1 udp 2113937151 127.0.0.1 51001 typ host\r\na=end-of-candidates\r\n")
    out = peer.local_offer(sdp)
    assert ".local" not in out and "127.0.0.1 51001" in out and out.endswith("a=end-of-candidates\r\n")


def _answer_video_codecs(monkeypatch, codec_env=None, offer_only=None, inspect=None):
    """The page's offer (an aiortc peer standing in for the browser: a send-only video transceiver and the data
    channel) through the server's ``_accept``; the answer's video codecs in its order of preference."""
    from aiortc import RTCPeerConnection, RTCRtpSender

    if codec_env is None:
        monkeypatch.delenv("SPOTTER_VIDEO_CODEC", raising=False)
    else:
        monkeypatch.setenv("SPOTTER_VIDEO_CODEC", codec_env)

    class Link:  # what _accept uses of a LiveLink, without loading the pose model
        connection = sink = event_sink = None

        def prepare(self):
            pass

        def ended(self):
            pass

    async def run():
        page = RTCPeerConnection()
        page.createDataChannel("spotter")
        tr = page.addTransceiver("video", direction="sendonly")
        if offer_only:
            tr.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                                    if c.mimeType.lower() in (offer_only, "video/rtx")])
        await page.setLocalDescription(await page.createOffer())
        link = Link()
        ans = await peer._accept(link, page.localDescription.sdp, "offer")
        if inspect is not None:
            inspect(link.connection)
        await link.connection.close("test")
        await page.close()
        return ans["sdp"]

    sdp = asyncio.run(run())
    video = sdp.split("m=video ")[1].split("m=")[0]
    pts = video.splitlines()[0].split()[2:]  # "m=video " <port> <proto> <payload types, preferred first>
    names = {ln.split()[0].split(":")[1]: ln.split()[1].split("/")[0].lower()
             for ln in video.splitlines() if ln.startswith("a=rtpmap:")}
    return [names[p] for p in pts if names[p] != "rtx"]


def test_the_answer_lists_the_chosen_codec_first_and_falls_back_to_vp8(monkeypatch):
    # the browser offers both (an aiortc offer lists VP8 first, H.264 after): VP8 by default
    assert _answer_video_codecs(monkeypatch)[0] == "vp8"
    # SPOTTER_VIDEO_CODEC=h264: the server's answer puts H.264 first whatever the offer's order; VP8 stays in it
    codecs = _answer_video_codecs(monkeypatch, codec_env="h264")
    assert codecs[0] == "h264" and "vp8" in codecs
    # a browser without an H.264 encoder offers VP8 only: the answer is VP8 (not an empty, failed negotiation)
    assert _answer_video_codecs(monkeypatch, codec_env="h264", offer_only="video/vp8") == ["vp8"]
    # a wrong value falls back to the default
    assert _answer_video_codecs(monkeypatch, codec_env="av1")[0] == "vp8"


def _estimator(conn):
    (tr,) = [t for t in conn.pc.getTransceivers() if t.kind == "video"]
    return getattr(tr.receiver, "_RTCRtpReceiver__remote_bitrate_estimator")


def test_a_local_connection_never_asks_the_browser_for_less_than_its_cap(monkeypatch):
    """On one machine the server's bandwidth estimate (REMB) measures only its own CPU load: under load it asked
    the browser for ~200 kbit/s. A local connection holds it at the page's cap; a remote one keeps aiortc's."""
    from aiortc.rate import RemoteBitrateEstimator

    seen = {}
    monkeypatch.delenv("SPOTTER_ALLOW_REMOTE", raising=False)
    _answer_video_codecs(monkeypatch, inspect=lambda c: seen.setdefault("local", _estimator(c)))
    monkeypatch.setenv("SPOTTER_ALLOW_REMOTE", "1")
    _answer_video_codecs(monkeypatch, inspect=lambda c: seen.setdefault("remote", _estimator(c)))
    assert isinstance(seen["local"], peer._EstimateFloor) and seen["local"].floor_bps == peer.SEND_MAX_BPS
    assert isinstance(seen["remote"], RemoteBitrateEstimator)

    # aiortc's own estimator, alone and behind the floor, fed the same ~330 kbit/s whose arrival falls ever further
    # behind its send times (a receiver that waits for a CPU): its estimate drops well below the cap, what the
    # floored one reports does not
    raw, floored = RemoteBitrateEstimator(), peer._EstimateFloor(RemoteBitrateEstimator(), peer.SEND_MAX_BPS)
    raw_reports, reports = [], []
    for i in range(2000):
        sent_s = i * 0.012  # 83 packets a second of 500 bytes
        arrival_ms = 1000 + sent_s * 1000 + max(0, i - 300) * 0.5
        packet = dict(abs_send_time=int(sent_s * (1 << 18)) & 0xFFFFFF, arrival_time_ms=int(arrival_ms),
                      payload_size=500, ssrc=7)
        for est, out in ((raw, raw_reports), (floored, reports)):
            r = est.add(**packet)
            if r is not None:
                out.append(r)
    assert reports and len(reports) == len(raw_reports)
    assert min(bps for bps, _ in raw_reports) < peer.SEND_MAX_BPS / 2
    assert all(bps == max(b0, peer.SEND_MAX_BPS) and ssrcs == [7]
               for (bps, ssrcs), (b0, _) in zip(reports, raw_reports))
    assert peer.hold_bitrate_estimate(type("T", (), {"receiver": object()})()) is False  # aiortc changed: no-op
