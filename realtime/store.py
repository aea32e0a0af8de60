"""The session store: one SQLite file (sessions, sets, reports, file paths) next to the session folders.

    store = Store()                      # $SPOTTER_DATA or ~/.local/share/spotter; Store(path) to choose
    sid = store.create_session("webcam", profile={...})
    store.session_dir(sid)               # <data>/sessions/<id>/ : recording, landmarks, events, set reports
    store.add_set(sid, index, exercise, reps, start_s, end_s, reason, report_json, report_dir)
    store.set_load(set_id, 60, "kg"); store.correct_reps(set_id, 12); store.delete_set(set_id)

A set row (``sets``, ``get_set``) gives ``reps`` = the count shown everywhere: the user's correction when there is
one, else Spotter's count; ``reps_counted`` = Spotter's own count (kept unchanged); ``corrected`` = whether they
differ; ``load_kg`` = the load entered (None: bodyweight). Each correction is also kept as labelled data in the
``corrections`` table (:meth:`Store.corrections`), locally like everything else.

Schema versions: ``PRAGMA user_version`` holds the version (:data:`SCHEMA_VERSION`); opening a database of an
older version migrates it in one transaction (columns and tables are only added: nothing is dropped or rewritten),
so a session recorded before the change keeps its sets and reports. A database from a newer Spotter is refused
with a plain message and left untouched.

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

from pipeline.errors import InputError, SpotterError

from .paths import check_id, data_dir, inside, new_id

# Version 0: the tables as they were before schema versions (commit cff5096). A new database is created with them and
# then migrated like an old one, so both follow one path.
SCHEMA_V0 = """
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
SCHEMA = SCHEMA_V0  # kept for callers that read it

# version -> the statements that bring the previous version to it (run in one transaction)
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        # the count the user says is right (NULL: Spotter's count stands); Spotter's own count stays in ``reps``
        "ALTER TABLE sets ADD COLUMN reps_corrected INTEGER",
        "ALTER TABLE sets ADD COLUMN corrected_at REAL",
        # the load as entered: value and unit (kg | lb); NULL: bodyweight (no external load)
        "ALTER TABLE sets ADD COLUMN load_value REAL",
        "ALTER TABLE sets ADD COLUMN load_unit TEXT",
        # a deleted set leaves a row with its id, session and index only (a crash recovery must not bring it back)
        "ALTER TABLE sets ADD COLUMN deleted_at REAL",
        # the set's progress figures, computed from its report (realtime/progress.py; a cache: NULL = compute)
        "ALTER TABLE sets ADD COLUMN figures_json TEXT",
        "CREATE INDEX IF NOT EXISTS sets_by_exercise ON sets(exercise)",
        """CREATE TABLE IF NOT EXISTS corrections (
            id TEXT PRIMARY KEY,
            set_id TEXT NOT NULL REFERENCES sets(id) ON DELETE CASCADE,
            session_id TEXT NOT NULL,
            exercise TEXT NOT NULL,
            field TEXT NOT NULL,         -- reps
            counted REAL,                -- what Spotter measured
            previous REAL,               -- the value shown before this correction
            value REAL,                  -- what the user says (NULL: the correction was withdrawn)
            start_s REAL,                -- the stretch of the session's recording the label is about
            end_s REAL,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS corrections_by_set ON corrections(set_id)",
    ),
}
SCHEMA_VERSION = max(MIGRATIONS)
LB_KG = 0.45359237
MAX_LOAD_KG = 1000.0
MAX_REPS = 1000


def load_kg(value: float | None, unit: str | None) -> float | None:
    """A load as entered, in kilograms (None: bodyweight)."""
    if value is None or unit is None:
        return None
    return float(value) * (LB_KG if unit == "lb" else 1.0)


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
        self._refuse_newer()
        with self._conn() as c:
            self._migrate(c)

    def _newer_error(self, v: int) -> StoreError:
        return StoreError(f"the session database {self.db_path} was written by a newer Spotter (schema {v}; this one "
                          f"knows up to {SCHEMA_VERSION}): update Spotter to open it — the file was not changed")

    def _refuse_newer(self) -> None:
        """A database of a newer schema is refused before anything writes to it (not even the journal mode)."""
        if not self.db_path.is_file():
            return
        try:
            c = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5.0)
            try:
                v = int(c.execute("PRAGMA user_version").fetchone()[0])
            finally:
                c.close()
        except sqlite3.Error:
            return  # locked or damaged: _conn says so in its own words
        if v > SCHEMA_VERSION:
            raise self._newer_error(v)

    def _migrate(self, c: sqlite3.Connection) -> None:
        """Bring the database to :data:`SCHEMA_VERSION` (one transaction; a concurrent opener waits, then finds
        it done). A newer version than this code knows is refused, untouched."""
        v = int(c.execute("PRAGMA user_version").fetchone()[0])
        if v > SCHEMA_VERSION:
            raise self._newer_error(v)
        if v == SCHEMA_VERSION:
            return
        c.execute("BEGIN IMMEDIATE")
        try:
            v = int(c.execute("PRAGMA user_version").fetchone()[0])  # another process may have migrated meanwhile
            if v == 0:
                for stmt in SCHEMA_V0.split(";"):
                    if stmt.strip():
                        c.execute(stmt)
            for target in range(v + 1, SCHEMA_VERSION + 1):
                for stmt in MIGRATIONS[target]:
                    c.execute(stmt)
                c.execute(f"PRAGMA user_version={int(target)}")
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        with self._conn() as c:
            return int(c.execute("PRAGMA user_version").fetchone()[0])

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
        """Newest first, with ``n_sets``, ``n_reps`` (corrected counts where the user corrected one) and the
        exercises; deleted sets are left out."""
        with self._conn() as c:
            rows = c.execute(
                "SELECT s.*, COUNT(t.id) AS n_sets, COALESCE(SUM(COALESCE(t.reps_corrected, t.reps)), 0) AS n_reps, "
                "GROUP_CONCAT(DISTINCT t.exercise) AS exercises FROM sessions s LEFT JOIN sets t "
                "ON t.session_id = s.id AND t.deleted_at IS NULL GROUP BY s.id ORDER BY s.created_at DESC LIMIT ?",
                (int(limit),)).fetchall()
        return [dict(r) for r in rows]

    def set_session_time(self, session_id: str, created_at: float) -> None:
        """Date a session (an import of an older video: ``spotter replay VIDEO --save --date``): its start becomes
        ``created_at`` (epoch seconds) and its end moves with it."""
        with self._conn() as c:
            c.execute("UPDATE sessions SET ended_at = CASE WHEN ended_at IS NULL THEN NULL "
                      "ELSE ended_at - created_at + ? END, created_at=? WHERE id=?",
                      (float(created_at), float(created_at), check_id(session_id)))

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
            c.execute("UPDATE sets SET report_json=?, summary_status=?, figures_json=NULL WHERE id=?",
                      (report_json, summary_status, check_id(set_id)))

    def set_summary_status(self, set_id: str, status: str) -> None:
        with self._conn() as c:
            c.execute("UPDATE sets SET summary_status=? WHERE id=?", (status, check_id(set_id)))

    @staticmethod
    def _set_row(r: sqlite3.Row) -> dict:
        """A set as callers see it: ``reps`` is the count to show (the correction if any), ``reps_counted``
        Spotter's own count, ``corrected`` whether they differ, ``load_kg`` the load (None: bodyweight)."""
        d = dict(r)
        d["reps_counted"] = d["reps"]
        if d.get("reps_corrected") is not None:
            d["reps"] = int(d["reps_corrected"])
        d["corrected"] = d["reps"] != d["reps_counted"]
        d["deleted"] = d.get("deleted_at") is not None
        d["load_kg"] = load_kg(d.get("load_value"), d.get("load_unit"))
        return d

    def sets(self, session_id: str, include_deleted: bool = False) -> list[dict]:
        """A session's sets in order (see :meth:`_set_row`); ``include_deleted``: with the rows deleted sets left."""
        q = "SELECT * FROM sets WHERE session_id=?" + ("" if include_deleted else " AND deleted_at IS NULL")
        with self._conn() as c:
            rows = c.execute(q + " ORDER BY idx", (check_id(session_id),)).fetchall()
        return [self._set_row(r) for r in rows]

    def get_set(self, set_id: str) -> dict | None:
        """One set (see :meth:`_set_row`), None when unknown or deleted."""
        with self._conn() as c:
            r = c.execute("SELECT * FROM sets WHERE id=? AND deleted_at IS NULL", (check_id(set_id),)).fetchone()
        return self._set_row(r) if r else None

    # -- what the user says about a set: load, count, delete --------------------------------------------
    def set_load(self, set_id: str, value: float | None, unit: str | None = "kg") -> None:
        """The load lifted in a set: ``value`` in ``unit`` (kg | lb); None = bodyweight (the default)."""
        sid = check_id(set_id)
        if value is None:
            unit = None
        else:
            unit = str(unit or "").lower()
            if unit not in ("kg", "lb"):
                raise InputError(f"load unit must be kg or lb, not {unit!r}")
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InputError(f"load must be a number, not {value!r}") from None
            if not (value > 0 and load_kg(value, unit) <= MAX_LOAD_KG):
                raise InputError(f"load must be more than 0 and at most {MAX_LOAD_KG:.0f} kg; leave it empty for "
                                 "bodyweight")
        with self._conn() as c:
            n = c.execute("UPDATE sets SET load_value=?, load_unit=? WHERE id=? AND deleted_at IS NULL",
                          (value, unit, sid)).rowcount
        if not n:
            raise InputError("no such set")

    def correct_reps(self, set_id: str, reps: int | None) -> dict:
        """The user's count for a set. Spotter's count is kept (``reps_counted``); the set is marked corrected when
        the two differ; every correction (a confirmation of Spotter's count too) is kept as labelled data in
        ``corrections``. ``None`` withdraws the correction. Returns the set row."""
        sid = check_id(set_id)
        if reps is not None:
            try:
                reps = int(reps)
            except (TypeError, ValueError):
                raise InputError(f"the count must be a whole number, not {reps!r}") from None
            if not 0 <= reps <= MAX_REPS:
                raise InputError(f"the count must be between 0 and {MAX_REPS}")
        with self._conn() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                r = c.execute("SELECT * FROM sets WHERE id=? AND deleted_at IS NULL", (sid,)).fetchone()
                if r is None:
                    raise InputError("no such set")
                previous = r["reps_corrected"] if r["reps_corrected"] is not None else r["reps"]
                stored = None if reps is None or reps == r["reps"] else reps
                now = time.time()
                c.execute("UPDATE sets SET reps_corrected=?, corrected_at=? WHERE id=?",
                          (stored, now if stored is not None else None, sid))
                c.execute("INSERT INTO corrections (id, set_id, session_id, exercise, field, counted, previous, value, "
                          "start_s, end_s, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                          (new_id(), sid, r["session_id"], r["exercise"], "reps", r["reps"], previous, reps,
                           r["start_s"], r["end_s"], now))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        return self.get_set(sid)

    def corrections(self, exercise: str | None = None) -> list[dict]:
        """The labelled data: every count correction, oldest first (with the session and the stretch of its
        recording it is about)."""
        q, args = "SELECT * FROM corrections", ()
        if exercise:
            q, args = q + " WHERE exercise=?", (exercise,)
        with self._conn() as c:
            return [dict(r) for r in c.execute(q + " ORDER BY created_at", args).fetchall()]

    def delete_set(self, set_id: str) -> None:
        """Delete a set: its report, load, corrections and report files go; a row with its id, session and index
        stays so that recovering the session's logs never brings the set back. The session's recording stays."""
        sid = check_id(set_id)
        with self._conn() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                r = c.execute("SELECT * FROM sets WHERE id=? AND deleted_at IS NULL", (sid,)).fetchone()
                if r is None:
                    raise InputError("no such set")
                c.execute("DELETE FROM corrections WHERE set_id=?", (sid,))
                c.execute("UPDATE sets SET deleted_at=?, report_json=NULL, figures_json=NULL, report_dir=NULL, "
                          "load_value=NULL, load_unit=NULL, reps_corrected=NULL, corrected_at=NULL WHERE id=?",
                          (time.time(), sid))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        d = self.path_of(r["report_dir"]) if r["report_dir"] else None
        if d is not None and d != self.root.resolve() and self.session_dir(r["session_id"]) in d.parents:
            shutil.rmtree(d, ignore_errors=True)

    # -- progress (realtime/progress.py) ------------------------------------------------------------------
    def progress_rows(self, exercise: str | None = None, since: float | None = None,
                      exclude_session: str | None = None) -> list[dict]:
        """Every stored set (not deleted) with its session's date, oldest first: the set row (see
        :meth:`_set_row`, without the report JSON) plus ``session_created_at``, ``session_title``,
        ``session_source``. ``since``: sessions that started at or after this epoch time."""
        q = ("SELECT t.id, t.session_id, t.idx, t.exercise, t.reps, t.start_s, t.end_s, t.reason, t.report_dir, "
             "t.summary_status, t.created_at, t.reps_corrected, t.corrected_at, t.load_value, t.load_unit, "
             "t.deleted_at, t.figures_json, t.report_json IS NOT NULL AS has_report, s.created_at AS "
             "session_created_at, s.title AS session_title, s.source AS session_source FROM sets t JOIN sessions s "
             "ON s.id = t.session_id WHERE t.deleted_at IS NULL")
        args: list = []
        if exercise:
            q += " AND t.exercise=?"
            args.append(exercise)
        if since is not None:
            q += " AND s.created_at>=?"
            args.append(float(since))
        if exclude_session:
            q += " AND t.session_id<>?"
            args.append(check_id(exclude_session))
        with self._conn() as c:
            rows = c.execute(q + " ORDER BY s.created_at, t.idx", args).fetchall()
        return [self._set_row(r) for r in rows]

    def cache_figures(self, set_id: str, figures_json: str | None) -> None:
        with self._conn() as c:
            c.execute("UPDATE sets SET figures_json=? WHERE id=?", (figures_json, check_id(set_id)))

    def report(self, set_id: str) -> dict[str, Any] | None:
        s = self.get_set(set_id)
        return json.loads(s["report_json"]) if s and s["report_json"] else None
