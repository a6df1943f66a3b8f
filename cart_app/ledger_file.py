"""The ledger's SQLite file: schema, identity and version checks, creation, connection.

Everything here either yields a connection set up for durable appends (WAL,
``synchronous=FULL``) or refuses the file without writing to it. :mod:`cart_app.ledger` builds
the log on top; ``docs/ledger.md`` describes the format.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Final

SCHEMA_VERSION: Final = 1
"""The ledger format this code reads and writes, kept in ``PRAGMA user_version``."""

APPLICATION_ID: Final = 0x53434C47
"""``PRAGMA application_id`` of a smartcart ledger ("SCLG"), to tell it from other SQLite files."""

_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_CORRUPT_CODES: Final = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
TABLE: Final = "ledger_entries"

_SCHEMA: Final = f"""
CREATE TABLE {TABLE} (
    seq        INTEGER PRIMARY KEY CHECK (seq > 0),
    session_id TEXT NOT NULL,
    t_wall     REAL NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
) STRICT;
CREATE INDEX {TABLE}_session ON {TABLE} (session_id, seq);
-- Append-only against accidents (a bug, a stray tool); tampering on purpose is what the hash
-- chain is for.
CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
"""

COLUMNS: Final = "seq, session_id, t_wall, kind, payload, prev_hash, hash"


class LedgerError(Exception):
    """Base of every ledger failure; ``path`` names the file."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class LedgerVersionError(LedgerError):
    """The file was written by another (newer) version of the format; it was not touched."""

    def __init__(self, path: Path, found: int, supported: int) -> None:
        newer = "a newer" if found > supported else "an older"
        super().__init__(
            path,
            f"ledger schema version {found} is from {newer} smartcart; this version reads "
            f"version {supported} only. The file was left unchanged.",
        )
        self.found = found
        self.supported = supported


class LedgerCorruptError(LedgerError):
    """The file is not a smartcart ledger, or SQLite finds it damaged; it was not touched."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(path, f"not a usable ledger: {detail}. The file was left unchanged.")
        self.detail = detail


class LedgerTamperedError(LedgerError):
    """The hash chain is broken: a row was edited, deleted, inserted or moved."""

    def __init__(self, path: Path, seq: int, problem: str) -> None:
        super().__init__(path, f"ledger hash chain broken at seq {seq}: {problem}")
        self.seq = seq
        self.problem = problem


class LedgerRecordError(LedgerError):
    """A row with an intact hash cannot be decoded (a newer writer's record kind, or a bug)."""

    def __init__(self, path: Path, seq: int, detail: str) -> None:
        super().__init__(path, f"cannot read the record at seq {seq}: {detail}")
        self.seq = seq
        self.detail = detail


class LedgerWriteError(LedgerError):
    """An append did not commit; the change is not confirmed and the ledger is unchanged."""


def open_connection(path: Path) -> sqlite3.Connection:
    """A connection to the ledger at ``path``, creating the file (and folder) if absent.

    Raises :class:`LedgerVersionError` or :class:`LedgerCorruptError` without modifying an
    existing file that this version must not use, and :class:`LedgerError` for other failures.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = -1
    except OSError as exc:
        raise LedgerError(path, f"cannot open: {exc}") from exc
    if size <= 0:
        _refuse_orphan_wal(path)
        _create(path)
    elif _probe(path):
        _init_in_place(path)
    return _connect(path)


def wrap_sqlite_error(path: Path, exc: sqlite3.Error) -> LedgerError:
    """The ledger error for a SQLite failure: corrupt for SQLite's damage codes."""
    if getattr(exc, "sqlite_errorname", "") in _CORRUPT_CODES:
        return LedgerCorruptError(path, f"SQLite says {exc}")
    return LedgerError(path, f"SQLite error: {exc}")


def _refuse_orphan_wal(path: Path) -> None:
    """An empty or missing file next to a non-empty WAL holds data: never replace it."""
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise LedgerCorruptError(
            path, f"the database file is missing or empty but {wal.name} holds data"
        )


def _init_schema(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for statement in _SCHEMA.split(";\n"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("COMMIT")


def _create(path: Path) -> None:
    """Build a fresh ledger beside ``path`` and rename it into place.

    A crash while creating leaves either no ledger or a complete empty one, never a half
    initialised file that a later open would have to guess about.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.init-{os.getpid()}")
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            _init_schema(conn)
        finally:
            conn.close()  # the last close checkpoints and removes tmp's WAL
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except (OSError, sqlite3.Error) as exc:
        raise LedgerError(path, f"cannot create the ledger: {exc}") from exc


def _probe(path: Path) -> bool:
    """Check an existing file without writing to it; True when it is an empty SQLite file.

    Read-only, so that a file this version must refuse is left byte for byte as it was.
    """
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise LedgerError(path, f"cannot read: {exc}") from exc
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise LedgerCorruptError(path, "it is not a SQLite database (bad header)")
    # The header answers the common refusals without SQLite touching anything, not even
    # creating -wal and -shm files; SQLite's own read below also sees commits still in a WAL.
    _check_identity(
        path,
        app_id=int.from_bytes(header[68:72], "big"),
        version=int.from_bytes(header[60:64], "big"),
    )
    side_files = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    absent = [side for side in side_files if not side.exists()]
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = sorted(str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master"))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise wrap_sqlite_error(path, exc) from exc
    finally:
        # A read-only open of a WAL file may leave an empty -wal and a -shm index behind; they
        # hold nothing, so remove the ones that were not there before.
        for side in absent:
            with contextlib.suppress(OSError):
                if side.name.endswith("-shm") or side.stat().st_size == 0:
                    side.unlink()
    _check_identity(path, app_id=app_id, version=version)
    if version == 0:
        if tables:
            raise LedgerCorruptError(
                path, f"it is a SQLite database of something else (tables {tables})"
            )
        return True
    if TABLE not in tables:
        raise LedgerCorruptError(path, f"the {TABLE} table is missing")
    return False


def _check_identity(path: Path, *, app_id: int, version: int) -> None:
    if app_id not in {0, APPLICATION_ID}:
        raise LedgerCorruptError(
            path, f"it is a SQLite file of another application (application_id {app_id:#x})"
        )
    if version not in {0, SCHEMA_VERSION}:
        raise LedgerVersionError(path, version, SCHEMA_VERSION)


def _init_in_place(path: Path) -> None:
    """Lay the schema into an existing SQLite file that holds nothing at all."""
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            _init_schema(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise wrap_sqlite_error(path, exc) from exc


def _connect(path: Path) -> sqlite3.Connection:
    # check_same_thread is off because the composition root opens the ledger and the engine
    # thread uses it; Ledger's lock serialises access instead.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        if mode.lower() != "wal":
            raise LedgerError(path, f"cannot switch the ledger to WAL mode (got {mode!r})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise LedgerCorruptError(path, "SQLite integrity check failed: " + "; ".join(problems))
    except sqlite3.Error as exc:
        conn.close()
        raise wrap_sqlite_error(path, exc) from exc
    except LedgerError:
        conn.close()
        raise
    return conn
