"""The durable outbox: one message per key, held/ready/delivered/dead, survives reopening."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cart_app.clock import FakeClock
from cart_app.store.outbox import Outbox, OutboxError


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox.open(tmp_path / "outbox.sqlite3", FakeClock())


def test_enqueue_is_idempotent_by_key(outbox: Outbox) -> None:
    assert outbox.enqueue("k1", "handoff", '{"a":1}', session_id="s1")
    assert not outbox.enqueue("k1", "handoff", '{"a":2}', session_id="s1")
    entries = outbox.entries()
    assert [(e.key, e.payload) for e in entries] == [("k1", '{"a":1}')]


def test_order_and_states(outbox: Outbox) -> None:
    outbox.enqueue("s", "session", "{}")
    outbox.enqueue("h", "handoff", "{}", held=True)
    outbox.enqueue("t", "telemetry", "{}")
    assert [e.key for e in outbox.ready()] == ["s", "t"]
    assert outbox.release("h")
    assert not outbox.release("h")
    assert [e.key for e in outbox.ready()] == ["s", "h", "t"]  # seq order kept
    outbox.mark_failed(["s"], "offline")
    entry = outbox.get("s")
    assert entry is not None and entry.attempts == 1 and entry.last_error == "offline"
    outbox.mark_delivered(["s"], '{"ok":true}')
    outbox.mark_dead(["h"], "409 already-paid")
    assert outbox.get("s").state == "delivered"  # type: ignore[union-attr]
    assert outbox.get("h").state == "dead"  # type: ignore[union-attr]
    assert outbox.pending_count() == 1


def test_discard_only_drops_held(outbox: Outbox) -> None:
    outbox.enqueue("h", "handoff", "{}", held=True)
    outbox.enqueue("r", "handoff", "{}")
    assert outbox.discard("h")
    assert not outbox.discard("r")  # a released handoff is never dropped
    assert [e.key for e in outbox.entries()] == ["r"]


def test_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    first = Outbox.open(path, FakeClock())
    first.enqueue("h", "handoff", '{"basket":1}', session_id="s1", held=True)
    first.close()
    again = Outbox.open(path, FakeClock())
    held = again.held()
    assert [(e.key, e.session_id, e.payload) for e in held] == [("h", "s1", '{"basket":1}')]
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_telemetry_is_trimmed_but_never_handoffs(outbox: Outbox) -> None:
    outbox.enqueue("h", "handoff", "{}")
    for i in range(10):
        outbox.enqueue(f"t{i}", "telemetry", "{}")
    assert outbox.trim_telemetry(3) == 7
    assert [e.key for e in outbox.ready()] == ["h", "t7", "t8", "t9"]


def test_prune_delivered(tmp_path: Path) -> None:
    clock = FakeClock()
    outbox = Outbox.open(tmp_path / "o.sqlite3", clock)
    outbox.enqueue("a", "session", "{}")
    outbox.mark_delivered(["a"])
    clock.advance(100)
    assert outbox.prune_delivered(older_than_s=200) == 0
    clock.advance(200)
    assert outbox.prune_delivered(older_than_s=200) == 1


def test_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE x (y)")
    conn.commit()
    conn.close()
    with pytest.raises(OutboxError, match="not a smartcart outbox"):
        Outbox.open(path, FakeClock())


def test_unknown_kind_is_refused(outbox: Outbox) -> None:
    with pytest.raises(ValueError, match="unknown outbox kind"):
        outbox.enqueue("x", "parcel", "{}")  # type: ignore[arg-type]
