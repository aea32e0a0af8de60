"""The session store: one SQLite file (sessions, sets, reports, file paths) next to the session folders.

    store = Store()                      # $SPOTTER_DATA or ~/.local/share/spotter; Store(path) to choose
    sid = store.create_session("webcam", profile={...})
    store.session_dir(sid)               # <data>/sessions/<id>/ : recording, landmarks, events, set reports
    store.add_set(sid, index, exercise, reps, start_s, end_s, reason, report_json, report_dir)

Every call opens its own short-lived connection, so any thread may use the same ``Store`` object (WAL mode,
busy timeout). Ids are validated before they become paths; paths kept in the database are relative to the
data folder and resolved under it. A locked or damaged database raises :class:`StoreError` with a plain
message; nothing is ever deleted or rewritten to "repair" it.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

from pipeline.errors import SpotterError

from .paths import check_id, data_dir, inside, new_id

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    ended_at REAL,
    status TEXT NOT NULL,            -- live | ended | interrupted
    source TEXT NOT NULL,            -- webcam | upload | replay
    title TEXT,
    profile_json TEXT,
    video TEXT,                      -- paths relative to the data folder
    landmarks TEXT,
    events TEXT,
    note TEXT
);
CREATE TABLE IF NOT EXISTS sets (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    exercise TEXT NOT NULL,
    reps INTEGER NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    reason TEXT NOT NULL,
    report_json TEXT,
    report_dir TEXT,
    summary_status TEXT,             -- deterministic | pending | model | failed
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sets_by_session ON sets(session_id, idx);
"""


class StoreError(SpotterError):
    """The session database cannot be used (locked by another program, damaged, not writable)."""


class Store:
    def __init__(self, root: str | Path | None = None, db_path: str | Path | None = None):
        self.root = data_dir(root)
        self.db_path = Path(db_path) if db_path else self.root / "spotter.sqlite3"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / "sessions").mkdir(exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the data folder {self.root}: {e.strerror or e}") from None
        with self._conn() as c:
            c.executescript(SCHEMA)

    # -- plumbing ---------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        try:
            c = sqlite3.connect(self.db_path, timeout=5.0, isolation_level=None)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the session database {self.db_path}: {e}") from None
        try:
            c.row_factory = sqlite3.Row
            c.execute("PRAGMA foreign_keys=ON")
            c.execute("PRAGMA busy_timeout=5000")
            with contextlib.suppress(sqlite3.OperationalError):
                c.execute("PRAGMA journal_mode=WAL")
            yield c
        except sqlite3.OperationalError as e:
            msg = str(e)
            if "locked" in msg or "busy" in msg:
                raise StoreError(f"the session database {self.db_path} is locked by another program; close it "
                                 "and try again (nothing was lost: recordings stay on disk)") from None
            raise StoreError(f"session database error ({self.db_path}): {msg}") from None
        except sqlite3.DatabaseError as e:
            raise StoreError(f"the session database {self.db_path} is damaged ({e}); move it aside to start a "
                             "new one — the recordings in the sessions folder are kept") from None
        finally:
            c.close()

    def _rel(self, p: Path | None) -> str | None:
        if p is None:
            return None
        return str(Path(p).resolve().relative_to(self.root.resolve()))

    def path_of(self, rel: str | None) -> Path | None:
        """A stored relative path, resolved under the data folder (never outside it)."""
        if not rel:
            return None
        return inside(self.root, rel)

    # -- sessions ---------------------------------------------------------------------------------------
    def session_dir(self, session_id: str) -> Path:
        return inside(self.root, "sessions", check_id(session_id))

    def create_session(self, source: str, *, title: str | None = None, profile: dict | None = None,
                       session_id: str | None = None) -> str:
        sid = check_id(session_id) if session_id else new_id()
        d = self.session_dir(sid)
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create {d}: {e.strerror or e}") from None
        with self._conn() as c:
            c.execute("INSERT INTO sessions (id, created_at, status, source, title, profile_json) "
                      "VALUES (?, ?, 'live', ?, ?, ?)",
                      (sid, time.time(), source, title, json.dumps(profile) if profile else None))
        return sid

    def set_files(self, session_id: str, *, video: Path | None = None, landmarks: Path | None = None,
                  events: Path | None = None) -> None:
        sid = check_id(session_id)
        with self._conn() as c:
            for col, p in (("video", video), ("landmarks", landmarks), ("events", events)):
                if p is not None:
                    c.execute(f"UPDATE sessions SET {col}=? WHERE id=?", (self._rel(p), sid))

    def end_session(self, session_id: str, status: str = "ended", note: str | None = None) -> None:
        with self._conn() as c:
            c.execute("UPDATE sessions SET status=?, ended_at=?, note=COALESCE(?, note) WHERE id=?",
                      (status, time.time(), note, check_id(session_id)))

    def get_session(self, session_id: str) -> dict | None:
        with self._conn() as c:
            r = c.execute("SELECT * FROM sessions WHERE id=?", (check_id(session_id),)).fetchone()
        return dict(r) if r else None

    def list_sessions(self, limit: int = 200) -> list[dict]:
        with self._conn() as c:
            rows = c.execute(
                "SELECT s.*, COUNT(t.id) AS n_sets, COALESCE(SUM(t.reps), 0) AS n_reps, "
                "GROUP_CONCAT(DISTINCT t.exercise) AS exercises FROM sessions s LEFT JOIN sets t "
                "ON t.session_id = s.id GROUP BY s.id ORDER BY s.created_at DESC LIMIT ?", (int(limit),)).fetchall()
        return [dict(r) for r in rows]

    def delete_session(self, session_id: str) -> None:
        sid = check_id(session_id)
        d = self.session_dir(sid)
        with self._conn() as c:
            c.execute("DELETE FROM sessions WHERE id=?", (sid,))
        shutil.rmtree(d, ignore_errors=True)

    def live_sessions(self) -> list[dict]:
        """Sessions still marked live (their process ended without closing them: a crash or a restart)."""
        with self._conn() as c:
            return [dict(r) for r in c.execute("SELECT * FROM sessions WHERE status='live'").fetchall()]

    # -- sets -------------------------------------------------------------------------------------------
    def add_set(self, session_id: str, *, index: int, exercise: str, reps: int, start_s: float, end_s: float,
                reason: str, report_json: str | None, report_dir: Path | None,
                summary_status: str = "deterministic") -> str:
        set_id = new_id()
        with self._conn() as c:
            c.execute("INSERT INTO sets (id, session_id, idx, exercise, reps, start_s, end_s, reason, report_json, "
                      "report_dir, summary_status, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                      (set_id, check_id(session_id), int(index), exercise, int(reps), float(start_s), float(end_s),
                       reason, report_json, self._rel(report_dir), summary_status, time.time()))
        return set_id

    def update_set_report(self, set_id: str, report_json: str, summary_status: str) -> None:
        with self._conn() as c:
            c.execute("UPDATE sets SET report_json=?, summary_status=? WHERE id=?",
                      (report_json, summary_status, check_id(set_id)))

    def set_summary_status(self, set_id: str, status: str) -> None:
        with self._conn() as c:
            c.execute("UPDATE sets SET summary_status=? WHERE id=?", (status, check_id(set_id)))

    def sets(self, session_id: str) -> list[dict]:
        with self._conn() as c:
            rows = c.execute("SELECT * FROM sets WHERE session_id=? ORDER BY idx", (check_id(session_id),)).fetchall()
        return [dict(r) for r in rows]

    def get_set(self, set_id: str) -> dict | None:
        with self._conn() as c:
            r = c.execute("SELECT * FROM sets WHERE id=?", (check_id(set_id),)).fetchone()
        return dict(r) if r else None

    def report(self, set_id: str) -> dict[str, Any] | None:
        s = self.get_set(set_id)
        return json.loads(s["report_json"]) if s and s["report_json"] else None
