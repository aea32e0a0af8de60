"""Bounded per-frame storage for a live session: the newest frames stay in memory, older ones spill to disk
as compact numpy chunks, so an hour-long set does not grow the process. The set report reads its span back.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..intake.imagestats import FrameStats
from .cleaning import CleanFrame
from .estimator import PoseFrame

_REASONS = [None, "no_person", "subject_jump"]


def _pack(items: list[tuple[PoseFrame, CleanFrame, FrameStats]]) -> dict[str, np.ndarray]:
    P = [p for p, _, _ in items]
    C = [c for _, c, _ in items]
    S = [s for _, _, s in items]
    return dict(
        t=np.array([c.t for c in C], np.float64),
        p_image=np.stack([p.image for p in P]).astype(np.float32),
        p_world=np.stack([p.world for p in P]).astype(np.float32),
        p_vis=np.stack([p.visibility for p in P]).astype(np.float32),
        p_present=np.array([p.present for p in P], bool),
        wh=np.array([[c.width, c.height] for c in C], np.int32),
        c_image=np.stack([c.image for c in C]).astype(np.float32),
        c_world=np.stack([c.world for c in C]).astype(np.float32),
        c_vis=np.stack([c.visibility for c in C]).astype(np.float32),
        c_mask=np.stack([c.mask for c in C]).astype(bool),
        c_flags=np.array([[c.valid, c.filled, c.raw_present] for c in C], bool),
        c_reason=np.array([_REASONS.index(c.reason) if c.reason in _REASONS else 1 for c in C], np.int8),
        c_scale=np.array([c.scale_px for c in C], np.float32),
        c_norm=np.stack([c.norm for c in C]).astype(np.float32),
        c_seg=np.array([c.segment for c in C], np.int32),
        stats=np.array([(s.brightness, s.blur, s.motion) for s in S], np.float32),
    )


def _unpack(npz) -> list[tuple[PoseFrame, CleanFrame, FrameStats]]:
    z = {k: npz[k] for k in npz.files}  # read every array once (indexing an NpzFile re-reads the member)
    out = []
    seg = z.get("c_seg", np.zeros(len(z["t"]), np.int32))
    for i in range(len(z["t"])):
        t = float(z["t"][i])
        w, h = (int(v) for v in z["wh"][i])
        pf = PoseFrame(t=t, image=z["p_image"][i], world=z["p_world"][i], visibility=z["p_vis"][i],
                       present=bool(z["p_present"][i]), width=w, height=h)
        valid, filled, raw = (bool(v) for v in z["c_flags"][i])
        cf = CleanFrame(t=t, image=z["c_image"][i], world=z["c_world"][i], visibility=z["c_vis"][i],
                        mask=z["c_mask"][i], valid=valid, filled=filled, reason=_REASONS[int(z["c_reason"][i])],
                        scale_px=float(z["c_scale"][i]), norm=z["c_norm"][i], width=w, height=h, raw_present=raw,
                        segment=int(seg[i]))
        b, bl, m = (float(v) for v in z["stats"][i])
        out.append((pf, cf, FrameStats(t=t, brightness=b, blur=bl, motion=m)))
    return out


class Column:
    """Read-only view of one field (0 pose, 1 clean, 2 stats) of the frames still in memory."""

    def __init__(self, store: "FrameStore", k: int):
        self._s, self._k = store, k

    def __len__(self) -> int:
        return len(self._s._mem)

    def __bool__(self) -> bool:
        return bool(self._s._mem)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [r[self._k] for r in self._s._mem[i]]
        return self._s._mem[i][self._k]

    def __iter__(self):
        return (r[self._k] for r in self._s._mem)


class FrameStore:
    """Append-only frames of the set in progress with a bounded in-memory tail."""

    def __init__(self, spill_dir: str | Path | None = None, max_mem_frames: int = 5400, chunk_frames: int = 1800):
        self.chunk = max(1, min(chunk_frames, max_mem_frames // 2))
        self.max_mem = max_mem_frames
        self._floor = float("-inf")  # everything at or before this time was dropped
        self._dir = Path(spill_dir) if spill_dir else None
        self._own_dir = spill_dir is None
        self._mem: list[tuple[PoseFrame, CleanFrame, FrameStats]] = []
        self._chunks: list[tuple[float, float, Path]] = []  # (t_first, t_last, file)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def set_spill_dir(self, path: str | Path) -> None:
        """Spill into ``path`` (e.g. the session's folder) from now on."""
        self._dir = Path(path)
        self._own_dir = False

    @property
    def in_memory(self) -> int:
        return len(self._mem)

    @property
    def chunks(self) -> int:
        return len(self._chunks)

    def append(self, pf: PoseFrame, cf: CleanFrame, st: FrameStats) -> None:
        self._mem.append((pf, cf, st))
        self._n += 1
        if len(self._mem) > self.max_mem:
            self._spill(self._mem[: self.chunk])
            del self._mem[: self.chunk]

    def _spill(self, items) -> None:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="spotter-frames-"))
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._dir / f"chunk-{len(self._chunks):05d}-{items[0][1].t:.3f}.npz"
        np.savez(path, **_pack(items))
        self._chunks.append((items[0][1].t, items[-1][1].t, path))

    def span(self, t0: float, t1: float) -> tuple[list[PoseFrame], list[CleanFrame], list[FrameStats]]:
        """Frames with t0 <= t <= t1, from disk and memory, in time order."""
        t0 = max(t0, np.nextafter(self._floor, np.inf))
        rows: list[tuple[PoseFrame, CleanFrame, FrameStats]] = []
        for a, b, path in self._chunks:
            if b < t0 or a > t1:
                continue
            with np.load(path) as z:
                rows.extend(r for r in _unpack(z) if t0 <= r[1].t <= t1)
        rows.extend(r for r in self._mem if t0 <= r[1].t <= t1)
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]

    def drop_until(self, t: float) -> None:
        """Forget everything up to time ``t`` (a set was closed)."""
        self._floor = max(self._floor, t)
        keep = []
        for a, b, path in self._chunks:
            if b <= t:
                with contextlib.suppress(OSError):
                    path.unlink()
                self._n -= self.chunk  # every spilled chunk holds exactly ``chunk`` frames
            else:
                keep.append((a, b, path))
        self._chunks = keep
        k = 0
        while k < len(self._mem) and self._mem[k][1].t <= t:
            k += 1
        del self._mem[:k]
        self._n -= k

    def last(self) -> tuple[PoseFrame, CleanFrame, FrameStats] | None:
        return self._mem[-1] if self._mem else None

    def close(self) -> None:
        for _, _, path in self._chunks:
            with contextlib.suppress(OSError):
                path.unlink()
        self._chunks = []
        if self._own_dir and self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __del__(self):  # pragma: no cover - best effort cleanup
        with contextlib.suppress(Exception):
            self.close()
