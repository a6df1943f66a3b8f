"""The basket ledger: a crash-safe, hash-chained, append-only session log in SQLite.

Every change to a session is one row, committed durably (WAL, ``synchronous=FULL``) before
:meth:`Ledger.append` returns; the engine treats that return as "confirmed". The basket is a
fold over a session's records (:mod:`cart_app.basket`), so a restart restores it exactly.

One SHA-256 chain runs over the whole file in ``seq`` order, so editing, deleting, inserting or
reordering rows is detected both by :meth:`Ledger.verify` and whenever a session is read.

Threading: one writer, the engine thread. Calls are serialised by a lock, so a stray call from
another thread is safe, but they are not meant to be concurrent. A second process appending to
the same file stays correct (each append reads the chain tip inside its write transaction), but
nothing in the cart does that. See ``docs/ledger.md`` for the format and failure modes.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from cart_app.basket import BasketFoldError, BasketState, apply, empty_basket
from cart_app.clock import Clock
from cart_app.ledger_codec import (
    GENESIS_HASH,
    CodecError,
    decode_record,
    encode_record,
    entry_hash,
)
from cart_app.ledger_file import (
    APPLICATION_ID,
    COLUMNS,
    SCHEMA_VERSION,
    TABLE,
    LedgerCorruptError,
    LedgerError,
    LedgerRecordError,
    LedgerTamperedError,
    LedgerVersionError,
    LedgerWriteError,
    open_connection,
    wrap_sqlite_error,
)
from cart_app.records import Record, SessionStarted, StateChanged
from cart_app.session import SessionState

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "ChainReport",
    "Ledger",
    "LedgerCorruptError",
    "LedgerEntry",
    "LedgerError",
    "LedgerRecordError",
    "LedgerTamperedError",
    "LedgerVersionError",
    "LedgerWriteError",
    "Salvage",
    "salvage",
]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One committed row: ``record`` as appended, with its place in the chain."""

    seq: int
    session_id: str
    t_wall: float
    record: Record
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Outcome of :meth:`Ledger.verify`; ``problem`` is empty when ``ok``."""

    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    problem: str = ""


class _Row(NamedTuple):
    seq: int
    session_id: str
    t_wall: float
    kind: str
    payload: str
    prev_hash: str
    hash: str


class _Break(NamedTuple):
    seq: int
    problem: str


def _row_hash(row: _Row, seq: int | None = None) -> str | None:
    try:
        return entry_hash(
            row.prev_hash,
            seq=row.seq if seq is None else seq,
            session_id=row.session_id,
            t_wall=row.t_wall,
            kind=row.kind,
            payload_json=row.payload,
        )
    except (CodecError, TypeError, ValueError):
        return None


def _check_chain(rows: Iterable[_Row], first_seq: int, prev_hash: str | None) -> _Break | int:
    """Walk ``rows`` (ascending seq) from ``first_seq``; the first break, or how many were good.

    ``prev_hash`` is the hash the first row must link to, or None when the first row is only
    the boundary before a segment (its own link is not checked).
    """
    expected = first_seq
    for row in rows:
        if row.seq != expected:
            return _Break(expected, f"seq {expected} is missing (row deleted)")
        if _row_hash(row) != row.hash:
            # The hash covers seq, so a row that hashes under a neighbouring seq was moved.
            if row.seq > 1 and _row_hash(row, row.seq - 1) == row.hash:
                return _Break(
                    row.seq - 1,
                    f"the row of seq {row.seq - 1} was renumbered to {row.seq}: "
                    f"a row was inserted at seq {row.seq - 1}",
                )
            if _row_hash(row, row.seq + 1) == row.hash:
                return _Break(
                    row.seq,
                    f"the row of seq {row.seq + 1} is now at seq {row.seq}: rows were "
                    f"reordered or renumbered",
                )
            return _Break(row.seq, "the row's content does not match its hash (edited)")
        if prev_hash is not None and row.prev_hash != prev_hash:
            if row.seq == 1:
                return _Break(1, "the first row does not start from the genesis hash")
            # Row seq itself is intact, so what it recorded as its predecessor was replaced.
            return _Break(
                row.seq - 1,
                f"seq {row.seq - 1} is not the row seq {row.seq} was chained to "
                f"(rewritten with a new hash, or inserted or moved there)",
            )
        prev_hash = row.hash
        expected += 1
    return expected - first_seq


class Ledger:
    """An open ledger file. Create with :meth:`open`; one writer (the engine thread)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, clock: Clock) -> None:
        """Use :meth:`open`; this only wraps an already checked connection."""
        self._path = path
        self._conn = conn
        self._clock = clock
        self._lock = threading.Lock()

    # --- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, clock: Clock) -> Ledger:
        """Open the ledger at ``path``, creating it (and its folder) if absent.

        Raises :class:`LedgerVersionError` for a file of another format version and
        :class:`LedgerCorruptError` for a file that is not a smartcart ledger or is damaged;
        in both cases the file is not modified.
        """
        path = Path(path)
        return cls(path, open_connection(path), clock)

    @property
    def path(self) -> Path:
        """The ledger file."""
        return self._path

    def close(self) -> None:
        """Close the file. Everything appended is already durable."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- writing ------------------------------------------------------------------------------

    def append(self, session_id: str, record: Record) -> LedgerEntry:
        """Append ``record`` to ``session_id``'s log and commit it durably before returning.

        A return means confirmed: the row survives a crash or power cut from then on. On
        :class:`LedgerWriteError` nothing was written. A record that cannot be stored (NaN or
        infinite numbers) raises :class:`~cart_app.ledger_codec.CodecError` before any write.
        """
        (entry,) = self.append_all(session_id, [record])
        return entry

    def append_all(self, session_id: str, records: Sequence[Record]) -> list[LedgerEntry]:
        """Append ``records`` to ``session_id``'s log in one durable transaction: all or none.

        One engine command may need several records (a session start is ``SessionStarted``
        then ``StateChanged(shopping)``; a handoff is ``HandoffQueued`` then
        ``StateChanged(handed_off)``). Committing them together means a crash or power cut
        never leaves half a command in the ledger (a handoff key on a basket that is still in
        checkout, say). Each row is still its own link of the chain. On
        :class:`LedgerWriteError` nothing was written; every record is encoded (and a
        :class:`~cart_app.ledger_codec.CodecError` raised) before anything is.
        """
        encoded = [encode_record(record) for record in records]
        if not encoded:
            return []
        t_wall = float(self._clock.wall())
        entries: list[LedgerEntry] = []
        with self._lock:
            conn = self._conn
            try:
                # IMMEDIATE takes the write lock first, so the tip read below is the real tip.
                conn.execute("BEGIN IMMEDIATE")
                tip = conn.execute(
                    f"SELECT seq, hash FROM {TABLE} ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev_hash = (1, GENESIS_HASH) if tip is None else (tip[0] + 1, tip[1])
                for record, (kind, payload) in zip(records, encoded, strict=True):
                    digest = entry_hash(
                        prev_hash,
                        seq=seq,
                        session_id=session_id,
                        t_wall=t_wall,
                        kind=kind,
                        payload_json=payload,
                    )
                    conn.execute(
                        f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (seq, session_id, t_wall, kind, payload, prev_hash, digest),
                    )
                    entries.append(LedgerEntry(seq, session_id, t_wall, record, prev_hash, digest))
                    seq, prev_hash = seq + 1, digest
                conn.execute("COMMIT")
            except (sqlite3.Error, UnicodeError) as exc:
                with contextlib.suppress(sqlite3.Error):
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                raise LedgerWriteError(self._path, f"append failed, not confirmed: {exc}") from exc
        return entries

    # --- reading ------------------------------------------------------------------------------

    def entries(self, session_id: str) -> list[LedgerEntry]:
        """Every entry of ``session_id`` in order, after checking the chain that covers them.

        Raises :class:`LedgerTamperedError` when the chain from the row before the session's
        first through its last row is broken, and :class:`LedgerRecordError` for a row this
        version cannot decode.
        """
        return [self._entry(row) for row in self._session_rows(session_id)]

    def records(self, session_id: str) -> list[Record]:
        """The records of ``session_id`` in order (see :meth:`entries` for the errors)."""
        return [entry.record for entry in self.entries(session_id)]

    def session_ids(self) -> list[str]:
        """Every session in the file, oldest first (by its first row)."""
        with self._lock, self._reading():
            rows = self._conn.execute(
                f"SELECT session_id, MIN(seq) AS first FROM {TABLE} "
                f"GROUP BY session_id ORDER BY first"
            ).fetchall()
        return [str(row[0]) for row in rows]

    def latest_session_id(self) -> str | None:
        """The session to restore after a restart, or None when there is nothing to restore.

        That is the most recently started session (by its first row), unless it reached
        ``DONE``: then the trip is over and the cart starts idle. Older unfinished sessions
        are never restored: a newer session means the cart has moved on to another shopper.
        """
        with self._lock, self._reading():
            latest = self._conn.execute(
                f"SELECT session_id, MIN(seq) AS first FROM {TABLE} "
                f"GROUP BY session_id ORDER BY first DESC LIMIT 1"
            ).fetchone()
        if latest is None:
            return None
        session_id = str(latest[0])
        # Read through the chain check: a forged DONE row must not silently empty the basket.
        for row in self._session_rows(session_id):
            if row.kind == "state_changed":
                record = self._entry(row).record
                if isinstance(record, StateChanged) and record.state is SessionState.DONE:
                    return None
        return session_id

    def verify(self) -> ChainReport:
        """Recompute the whole chain from the genesis hash and decode every row."""
        with self._lock, self._reading():
            rows = self._rows("ORDER BY seq", ())
        outcome = _check_chain(rows, 1, GENESIS_HASH)
        if isinstance(outcome, _Break):
            checked = max(outcome.seq - 1, 0)
            return ChainReport(False, checked, outcome.seq, outcome.problem)
        for row in rows:
            try:
                decode_record(row.kind, row.payload)
            except CodecError as exc:
                return ChainReport(False, row.seq - 1, row.seq, f"undecodable record: {exc}")
        return ChainReport(True, outcome)

    # --- helpers ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise wrap_sqlite_error(self._path, exc) from exc

    def _session_rows(self, session_id: str) -> list[_Row]:
        """The rows of ``session_id``, once the stretch of chain that covers them checks out."""
        with self._lock, self._reading():
            first, last = self._conn.execute(
                f"SELECT MIN(seq), MAX(seq) FROM {TABLE} WHERE session_id = ?", (session_id,)
            ).fetchone()
            if first is None:
                return []
            # The row before the session anchors its first link (the genesis hash for seq 1).
            start = max(first - 1, 1)
            rows = self._rows("WHERE seq BETWEEN ? AND ? ORDER BY seq", (start, last))
        outcome = _check_chain(rows, start, GENESIS_HASH if start == 1 else None)
        if isinstance(outcome, _Break):
            raise LedgerTamperedError(self._path, outcome.seq, outcome.problem)
        return [row for row in rows if row.session_id == session_id]

    def _rows(self, where: str, params: tuple[object, ...]) -> list[_Row]:
        cursor = self._conn.execute(f"SELECT {COLUMNS} FROM {TABLE} {where}", params)
        return [_Row(*row) for row in cursor]

    def _entry(self, row: _Row) -> LedgerEntry:
        try:
            record = decode_record(row.kind, row.payload)
        except CodecError as exc:
            raise LedgerRecordError(self._path, row.seq, str(exc)) from exc
        return LedgerEntry(row.seq, row.session_id, row.t_wall, record, row.prev_hash, row.hash)


# --- salvage ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Salvage:
    """What could be trusted in a damaged ledger (see :func:`salvage`).

    ``rows`` is how many rows from seq 1 were read, chain-checked and decoded before the first
    that could not be (``first_bad_seq``, with ``problem``; None when every row was good).
    ``basket`` is the last good basket: the fold of the latest session's rows among those, as
    a restart would restore it (empty when that session was paid), and ``session_id`` its id.
    """

    rows: int
    first_bad_seq: int | None
    problem: str
    session_id: str | None
    basket: BasketState


def salvage(path: Path) -> Salvage:
    """Read the trustworthy prefix of a ledger that cannot be opened, without changing it.

    For staff and audit when :meth:`Ledger.open` refuses a damaged file (a corrupt page, a
    broken chain): the file and its WAL are copied aside and the copy is read row by row by
    primary key from seq 1, so a damaged page costs the rows on it and after it, not the
    rows before. Each row must recompute its hash and link to the one before. The original
    files are never written to.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="ledger-salvage-") as tmp:
        copy = Path(tmp) / path.name
        try:
            shutil.copyfile(path, copy)
        except OSError as exc:
            raise LedgerError(path, f"cannot read: {exc}") from exc
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            with contextlib.suppress(OSError):
                shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        records: list[tuple[str, Record]] = []
        first_bad: int | None = None
        problem = ""
        prev_hash = GENESIS_HASH
        try:
            conn = sqlite3.connect(copy, isolation_level=None)
        except sqlite3.Error as exc:
            return _salvaged([], 1, f"SQLite cannot open it: {exc}")
        try:
            seq = 1
            while True:
                try:
                    found = conn.execute(
                        f"SELECT {COLUMNS} FROM {TABLE} WHERE seq = ?", (seq,)
                    ).fetchone()
                except sqlite3.Error as exc:
                    first_bad, problem = seq, f"SQLite cannot read it: {exc}"
                    break
                if found is None:
                    first_bad, problem = _missing(conn, seq)
                    break
                row = _Row(*found)
                if _row_hash(row) != row.hash or row.prev_hash != prev_hash:
                    first_bad, problem = seq, "the row does not fit the hash chain"
                    break
                try:
                    record = decode_record(row.kind, row.payload)
                except CodecError as exc:
                    first_bad, problem = seq, f"undecodable record: {exc}"
                    break
                records.append((row.session_id, record))
                prev_hash = row.hash
                seq += 1
        finally:
            conn.close()
        return _salvaged(records, first_bad, problem)


def _missing(conn: sqlite3.Connection, seq: int) -> tuple[int | None, str]:
    """Why no row ``seq`` was found: the end of the log (None), or damage before later rows."""
    try:
        later = conn.execute(f"SELECT max(seq) FROM {TABLE}").fetchone()[0]
        if later is None or later < seq:
            count = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
            if count < seq - 1:
                return seq, f"only {count} rows are readable, fewer than the chain before seq {seq}"
            return None, ""
    except sqlite3.Error as exc:
        return seq, f"SQLite cannot read past it: {exc}"
    return seq, f"seq {seq} is missing but the log goes on to seq {later} (a damaged page)"


def _salvaged(records: list[tuple[str, Record]], first_bad: int | None, problem: str) -> Salvage:
    latest = next((sid for sid, r in reversed(records) if isinstance(r, SessionStarted)), None)
    if latest is None and records:
        latest = records[-1][0]
    basket = empty_basket()
    if latest is not None:
        mine = [r for sid, r in records if sid == latest]
        if any(isinstance(r, StateChanged) and r.state is SessionState.DONE for r in mine):
            basket = empty_basket()
        else:
            for record in mine:
                try:
                    basket = apply(basket, record)
                except BasketFoldError:
                    break
    return Salvage(len(records), first_bad, problem, latest, basket)
