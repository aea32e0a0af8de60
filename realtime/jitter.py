"""A video frame leaves aiortc's jitter buffer as soon as its last packet is in, not one frame later.

aiortc (1.16) assembles a video frame when the first packet of the *next* frame arrives (a new RTP timestamp
closes the previous frame), so every frame waits one frame interval — 33 ms at 30 fps — before it is decoded,
which is a third of the live loop's latency goal. Senders mark the last packet of each video frame (the RTP
marker bit; RFC 7741 for VP8, RFC 6184 for H.264); Chrome always does. :class:`MarkerJitterBuffer` releases a
frame when the packets from the buffer's origin up to a marked packet are all present and share one timestamp,
and otherwise behaves exactly like aiortc's buffer (a frame whose marked packet was lost still leaves when the
next frame starts; audio is untouched).

:func:`install` puts it in place of aiortc's class for the receivers created afterwards (it is looked up by
name when an ``RTCRtpReceiver`` is built); the page channel (``realtime/peer.py``) and the loopback replay call
it. If aiortc's internals change shape, :func:`install` leaves aiortc alone and says so in the log.
"""
from __future__ import annotations

import logging
from typing import Optional

log = logging.getLogger(__name__)

_installed = False


def _classes():
    from aiortc import jitterbuffer

    return jitterbuffer.JitterBuffer, jitterbuffer.JitterFrame


def _make():
    base, frame_cls = _classes()

    class MarkerJitterBuffer(base):
        """aiortc's JitterBuffer, with video frames released at their marker bit (see the module docstring)."""

        def _remove_frame(self, sequence_number: int) -> Optional[frame_cls]:
            if self._is_video and self._origin is not None:
                packets = []
                timestamp = None
                for count in range(self.capacity):
                    packet = self._packets[(self._origin + count) % self._capacity]
                    if packet is None:
                        break
                    if timestamp is None:
                        timestamp = packet.timestamp
                    elif packet.timestamp != timestamp:
                        break  # a frame without its marked packet: aiortc's rule below
                    packets.append(packet)
                    if packet.marker:
                        self.remove(count + 1)
                        return frame_cls(data=b"".join([p._data for p in packets]), timestamp=timestamp)
            return super()._remove_frame(sequence_number)

    return MarkerJitterBuffer


def install() -> bool:
    """Make aiortc's video receivers release frames at their marker bit. Idempotent; False if not possible."""
    global _installed
    if _installed:
        return True
    try:
        from aiortc import rtcrtpreceiver

        base, _ = _classes()
        probe = base(capacity=4, is_video=True)
        if rtcrtpreceiver.JitterBuffer is not base or not all(
                hasattr(probe, a) for a in ("_packets", "_origin", "_capacity", "_is_video", "_remove_frame", "remove")):
            raise AttributeError("aiortc's JitterBuffer is not the one this was written for")
        rtcrtpreceiver.JitterBuffer = _make()
        _installed = True
        return True
    except Exception as e:  # an aiortc release with another shape: its own buffer (one frame more latency)
        log.warning("low-latency jitter buffer not installed: %s", e)
        return False
