"""The staff audit log: maintenance actions that change the cart but not a basket.

Basket changes are in the ledger; enrolling a product changes what the cameras recognise, on
every later trip, and is not a basket record. It goes here: one JSON object per line, appended
and flushed to disk before the action is reported done, each line carrying the SHA-256 of the
line before it, so that an edited or deleted line is found by :meth:`StaffAuditLog.verify`.
The maintenance screen's audit tab shows these rows above the session's ledger rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ui.i18n import Translator
from ui.viewmodels.audit import AuditRow

log = logging.getLogger(__name__)

FILE_NAME = "staff_audit.jsonl"


@dataclass(frozen=True, slots=True)
class StaffAuditEntry:
    """One staff action: who, what, when, and its details (plain JSON values)."""

    t_wall: float
    staff: str
    action: str
    details: Mapping[str, str | int | float] = field(default_factory=dict)


class StaffAuditError(Exception):
    """The log cannot be read, or its chain is broken (the message says where)."""


def _digest(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


class StaffAuditLog:
    """Append-only, hash-chained JSON lines at ``path``; safe to use from several threads."""

    def __init__(self, path: Path, wall: Callable[[], float] = time.time) -> None:
        """Created on the first append."""
        self.path = path
        self._wall = wall
        self._lock = threading.Lock()

    def append(self, staff: str, action: str, details: Mapping[str, str | int | float]) -> None:
        """Write one entry durably (flushed and fsynced) before returning."""
        with self._lock:
            prev = ""
            if self.path.exists():
                lines = self.path.read_bytes().splitlines()
                prev = _digest(lines[-1]) if lines else ""
            record = {
                "t": self._wall(),
                "staff": staff,
                "action": action,
                "details": dict(details),
                "prev": prev,
            }
            line = json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as out:
                out.write(line + b"\n")
                out.flush()
                os.fsync(out.fileno())
        log.info("staff audit: %s by %s: %s", action, staff, dict(details))

    def entries(self) -> list[StaffAuditEntry]:
        """Every entry, oldest first (nothing when the log does not exist yet)."""
        with self._lock:
            if not self.path.exists():
                return []
            lines = self.path.read_bytes().splitlines()
        out: list[StaffAuditEntry] = []
        for number, line in enumerate(lines, start=1):
            try:
                data = json.loads(line)
                out.append(
                    StaffAuditEntry(
                        float(data["t"]), str(data["staff"]), str(data["action"]), data["details"]
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise StaffAuditError(f"{self.path}:{number}: unreadable entry ({exc})") from exc
        return out

    def verify(self) -> None:
        """Raise :class:`StaffAuditError` naming the first line whose chain is broken."""
        with self._lock:
            lines = self.path.read_bytes().splitlines() if self.path.exists() else []
        prev = ""
        for number, line in enumerate(lines, start=1):
            try:
                stated = json.loads(line)["prev"]
            except (ValueError, KeyError, TypeError) as exc:
                raise StaffAuditError(f"{self.path}:{number}: unreadable entry ({exc})") from exc
            if stated != prev:
                raise StaffAuditError(f"{self.path}:{number}: chain broken (edited or removed)")
            prev = _digest(line)


def staff_rows(entries: list[StaffAuditEntry], tr: Translator) -> list[AuditRow]:
    """Staff audit entries as the audit tab's rows, newest first, in ``tr``'s language."""
    rows: list[AuditRow] = []
    for entry in reversed(entries):
        d = entry.details
        if entry.action == "enrol":
            what = tr(
                "enrol.audit",
                name=d.get("name", d.get("sku", "?")),
                label=d.get("label", "?"),
                photos=d.get("photos", 0),
                views=d.get("views", 0),
                staff=entry.staff,
            )
        else:
            what = f"{entry.action} ({entry.staff})"
        stamp = time.strftime("%H:%M:%S", time.localtime(entry.t_wall))
        rows.append(AuditRow(0, stamp, "★ " + what, str(d.get("gallery", ""))))
    return rows
