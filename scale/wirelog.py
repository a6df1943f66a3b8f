"""A bounded raw wire log: every byte to and from the scale, with timestamps, switchable live.

Maintenance mode turns it on to see what a misbehaving scale really sends. It keeps the last
``capacity`` chunks in memory (a ring: a chatty scale can never exhaust memory) and, when given a
file, appends one line per chunk there too::

    12.345678 rx "$W,17,812345,799001,805512,790040*76\\r\\n"
    12.351002 tx "SI\\r\\n"

The time is the scale thread's monotonic clock; the bytes are escaped so that every byte value
survives a round trip through :func:`read_wirelog` (a recorded session can replay them). The file
is bounded too: past ``max_file_bytes`` it is renamed to ``<name>.1`` (replacing an older one)
and a new file is started, so a log left on over a weekend cannot fill the disk.
"""

from __future__ import annotations

import codecs
import logging
import math
import re
import threading
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 4096
DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024


class Direction(StrEnum):
    """Which way the bytes went, seen from the cart."""

    RX = "rx"  # from the scale
    TX = "tx"  # to the scale


@dataclass(frozen=True, slots=True)
class WireEntry:
    """One chunk of bytes as it crossed the wire."""

    t: float
    direction: Direction
    data: bytes


def escape(data: bytes) -> str:
    """``data`` as printable ASCII inside double quotes (``\\r``, ``\\n``, ``\\xNN`` escapes)."""
    body = codecs.escape_encode(data)[0].decode("ascii")
    return '"' + body.replace('"', "\\x22") + '"'


_ESCAPED_BODY = re.compile(r"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\(?:[\\'tnr]|x[0-9a-fA-F]{2}))*")
"""What :func:`escape` writes between the quotes: printable ASCII but ``"`` and ``\\``, and
the escapes ``\\\\``, ``\\'``, ``\\t``, ``\\n``, ``\\r``, ``\\xNN``."""


def unescape(text: str) -> bytes:
    """Inverse of :func:`escape`; ``ValueError`` when ``text`` is not an escaped chunk.

    Only what :func:`escape` writes is accepted: an unknown escape (``\\A``), a raw quote or
    a control character is a damaged line, not bytes to guess at.
    """
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"not a quoted chunk: {text[:40]!r}")
    body = text[1:-1]
    if not _ESCAPED_BODY.fullmatch(body):
        raise ValueError(f"not an escaped chunk (bad escape or raw character): {text[:40]!r}")
    return codecs.escape_decode(body.encode("ascii"))[0]


def format_entry(entry: WireEntry) -> str:
    """The wire log file's line for ``entry`` (without the newline)."""
    return f"{entry.t:.6f} {entry.direction.value} {escape(entry.data)}"


def parse_entry(line: str) -> WireEntry:
    """Read one wire log line back; ``ValueError`` names what is wrong with it."""
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) != 3:
        raise ValueError(f"not a wire log line: {line[:60]!r}")
    t_text, direction, data = parts
    t = float(t_text)
    if not math.isfinite(t):
        raise ValueError(f"not a time: {t_text[:20]!r}")
    return WireEntry(t, Direction(direction), unescape(data))


def read_wirelog(path: Path) -> list[WireEntry]:
    """Every entry of a wire log file, in order (for replay and for tests)."""
    with path.open(encoding="ascii") as fh:
        return [parse_entry(line) for line in fh if line.strip()]


class WireLog:
    """The switchable raw log. Thread-safe: the scale thread records, maintenance switches.

    While off, :meth:`record` costs one attribute read, so the service may call it for every
    chunk unconditionally.
    """

    def __init__(
        self, capacity: int = DEFAULT_CAPACITY, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    ) -> None:
        if capacity < 1 or max_file_bytes < 1:
            raise ValueError("capacity and max_file_bytes must be positive")
        self._ring: deque[WireEntry] = deque(maxlen=capacity)
        self._max_file_bytes = max_file_bytes
        self._lock = threading.Lock()
        self._enabled = False
        self._path: Path | None = None
        self._file: TextIO | None = None
        self._file_bytes = 0
        self.dropped_file_writes = 0

    @property
    def enabled(self) -> bool:
        """Whether chunks are being recorded."""
        return self._enabled

    @property
    def path(self) -> Path | None:
        """The file being written, if any."""
        return self._path

    def enable(self, path: Path | None = None) -> None:
        """Start recording (into the ring, and appending to ``path`` when given).

        ``OSError`` when the file cannot be opened; the log is then left as it was.
        """
        with self._lock:
            if path is not None and path != self._path:
                new_file = path.open("a", encoding="ascii")
                self._close_file()
                self._file, self._path = new_file, path
                self._file_bytes = path.stat().st_size
            self._enabled = True

    def disable(self) -> None:
        """Stop recording and close the file; the ring keeps what it holds."""
        with self._lock:
            self._enabled = False
            self._close_file()

    def clear(self) -> None:
        """Forget the entries held in memory."""
        with self._lock:
            self._ring.clear()

    def entries(self) -> list[WireEntry]:
        """A copy of the entries held in memory, oldest first."""
        with self._lock:
            return list(self._ring)

    def record(self, t: float, direction: Direction, data: bytes) -> None:
        """Log one chunk if the log is on. Never raises: a full disk must not stop the scale."""
        if not self._enabled or not data:
            return
        entry = WireEntry(t, direction, bytes(data))
        with self._lock:
            if not self._enabled:
                return
            self._ring.append(entry)
            if self._file is not None:
                self._write(entry)

    def _write(self, entry: WireEntry) -> None:
        assert self._file is not None and self._path is not None
        line = format_entry(entry) + "\n"
        try:
            if self._file_bytes + len(line) > self._max_file_bytes and self._file_bytes:
                self._file.close()
                self._path.replace(self._path.with_name(self._path.name + ".1"))
                self._file = self._path.open("a", encoding="ascii")
                self._file_bytes = 0
            self._file.write(line)
            self._file.flush()
            self._file_bytes += len(line)
        except (OSError, ValueError) as exc:
            # ValueError: a failed rotation left the file closed. Losing log lines is
            # acceptable; losing the scale is not. Say so once.
            self.dropped_file_writes += 1
            if self.dropped_file_writes == 1:
                log.error("wire log %s: %s; further lines go to memory only", self._path, exc)

    def _close_file(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError as exc:
                log.warning("wire log %s: close failed: %s", self._path, exc)
        self._file = None
        self._path = None
        self._file_bytes = 0
