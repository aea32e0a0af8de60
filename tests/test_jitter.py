"""realtime/jitter.py: a video frame leaves the jitter buffer with its last (marked) packet, not one frame later."""
from aiortc.rtp import RtpPacket

from realtime import jitter


def _pkt(seq, ts, marker=0, data=b"x"):
    p = RtpPacket(payload_type=96, marker=marker, sequence_number=seq, timestamp=ts, ssrc=1)
    p._data = data
    return p


def _buffer():
    assert jitter.install()
    from aiortc import rtcrtpreceiver

    return rtcrtpreceiver.JitterBuffer(capacity=128, is_video=True)


def test_install_replaces_the_receivers_buffer_once():
    from aiortc import jitterbuffer, rtcrtpreceiver

    assert jitter.install() and jitter.install()
    cls = rtcrtpreceiver.JitterBuffer
    assert cls is not jitterbuffer.JitterBuffer and issubclass(cls, jitterbuffer.JitterBuffer)


def test_a_frame_leaves_with_its_marked_packet():
    jb = _buffer()
    assert jb.add(_pkt(100, 3000, data=b"a"))[1] is None
    assert jb.add(_pkt(101, 3000, data=b"b"))[1] is None
    _, frame = jb.add(_pkt(102, 3000, marker=1, data=b"c"))
    assert frame is not None and frame.data == b"abc" and frame.timestamp == 3000
    # the next frame, alone in one packet, leaves at once too (aiortc's own buffer would hold it until 104)
    _, frame = jb.add(_pkt(103, 6000, marker=1, data=b"d"))
    assert frame is not None and frame.data == b"d" and frame.timestamp == 6000


def test_packets_out_of_order_wait_for_the_gap():
    jb = _buffer()
    assert jb.add(_pkt(10, 90, data=b"a"))[1] is None
    assert jb.add(_pkt(12, 90, marker=1, data=b"c"))[1] is None  # 11 missing: not complete
    _, frame = jb.add(_pkt(11, 90, data=b"b"))
    assert frame is not None and frame.data == b"abc"


def test_a_frame_whose_marked_packet_is_lost_leaves_when_the_next_frame_starts():
    # the frame's marked packet (22) never arrives; aiortc's rule: the packets of one timestamp in a row form a
    # frame once another timestamp follows them
    jb2 = _buffer()
    assert jb2.add(_pkt(20, 90, data=b"a"))[1] is None
    assert jb2.add(_pkt(21, 90, data=b"b"))[1] is None
    _, frame = jb2.add(_pkt(22, 180, data=b"c"))
    assert frame is not None and frame.data == b"ab" and frame.timestamp == 90
    _, frame = jb2.add(_pkt(23, 180, marker=1, data=b"d"))
    assert frame is not None and frame.data == b"cd" and frame.timestamp == 180


def test_audio_buffers_are_unchanged():
    from aiortc import rtcrtpreceiver

    jitter.install()
    jb = rtcrtpreceiver.JitterBuffer(capacity=16, prefetch=4)
    outs = [jb.add(_pkt(i, 960 * i, marker=1))[1] for i in range(4)]
    assert outs == [None] * 4  # audio keeps its prefetch (and ignores the marker)
