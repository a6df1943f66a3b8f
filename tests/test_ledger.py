"""The basket ledger: codec round trips, durable appends, the hash chain, refusing bad files."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import tempfile
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cart_app.basket import empty_basket, fold, restore
from cart_app.clock import FakeClock
from cart_app.domain import Coupon, Evidence, EvidenceSource
from cart_app.ledger import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    ChainReport,
    Ledger,
    LedgerCorruptError,
    LedgerRecordError,
    LedgerTamperedError,
    LedgerVersionError,
    LedgerWriteError,
)
from cart_app.ledger_codec import (
    GENESIS_HASH,
    KIND_BY_TYPE,
    CodecError,
    UnknownKindError,
    canonical_json,
    decode_record,
    encode_record,
    entry_hash,
)
from cart_app.records import (
    CouponApplied,
    HandoffQueued,
    LineAdded,
    LineRemoved,
    LineVoided,
    PromptAnswered,
    PromptOpened,
    Record,
    SessionStarted,
    StateChanged,
    TareApplied,
)
from cart_app.session import SessionState

# --- strategies -------------------------------------------------------------------------------

texts = st.text(max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False)
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)

evidence = st.builds(
    Evidence,
    source=st.sampled_from(EvidenceSource),
    weight_delta_g=st.none() | finite,
    gtin=st.none() | texts,
    vision_label=st.none() | texts,
    vision_probability=st.none() | finite,
    camera_id=st.none() | texts,
    note=texts,
)
coupons = st.builds(
    Coupon, code=texts, amount_off_cents=ints, percent_off=ints, sku=st.none() | texts
)

STRATEGIES: dict[type[Record], st.SearchStrategy[Record]] = {
    SessionStarted: st.builds(SessionStarted, session_id=texts, cart_id=texts),
    LineAdded: st.builds(
        LineAdded,
        line_id=ints,
        sku=texts,
        quantity=ints,
        weight_g=finite,
        unit_price_cents=st.none() | ints,
        evidence=st.none() | evidence,
    ),
    LineRemoved: st.builds(
        LineRemoved, line_id=ints, quantity=ints, weight_g=finite, evidence=st.none() | evidence
    ),
    LineVoided: st.builds(LineVoided, line_id=ints, reason=texts, evidence=st.none() | evidence),
    CouponApplied: st.builds(CouponApplied, coupon=coupons),
    PromptOpened: st.builds(
        PromptOpened,
        prompt_id=texts,
        reason=texts,
        choices=st.lists(texts, max_size=4).map(tuple),
        deadline=finite,
    ),
    PromptAnswered: st.builds(PromptAnswered, prompt_id=texts, answer=texts, answered_by=texts),
    TareApplied: st.builds(TareApplied, weight_g=finite, reason=texts),
    StateChanged: st.builds(StateChanged, state=st.sampled_from(SessionState), reason=texts),
    HandoffQueued: st.builds(HandoffQueued, idempotency_key=texts, token=texts),
}
records = st.one_of(*STRATEGIES.values())


def test_every_record_type_has_a_strategy_and_a_kind() -> None:
    union = set(typing.get_args(Record))
    assert set(STRATEGIES) == union
    assert set(KIND_BY_TYPE) == union
    assert len(set(KIND_BY_TYPE.values())) == len(union)


# --- codec ------------------------------------------------------------------------------------


@given(records)
@settings(max_examples=400)
def test_codec_round_trips_every_record(record: Record) -> None:
    kind, payload = encode_record(record)
    assert kind == KIND_BY_TYPE[type(record)]
    assert decode_record(kind, payload) == record
    # Canonical: re-encoding the parsed payload gives the same bytes.
    assert canonical_json(json.loads(payload)) == payload
    assert payload.isascii()


def test_codec_round_trips_floats_exactly() -> None:
    for grams in (0.1, 1e-300, 123456789.123456789, -0.0, 5e-324, 1.7976931348623157e308):
        kind, payload = encode_record(TareApplied(grams, "bag"))
        decoded = decode_record(kind, payload)
        assert isinstance(decoded, TareApplied)
        assert decoded.weight_g.hex() == grams.hex()


def test_enums_and_nested_values_are_stored_by_value() -> None:
    record = LineAdded(3, "milk", 1, evidence=Evidence(EvidenceSource.BARCODE, gtin="123"))
    kind, payload = encode_record(record)
    assert kind == "line_added"
    assert json.loads(payload)["evidence"]["source"] == "barcode"
    assert json.loads(encode_record(StateChanged(SessionState.CHECKOUT))[1])["state"] == "checkout"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(bad: float) -> None:
    with pytest.raises(CodecError, match="non-finite"):
        encode_record(TareApplied(bad, "bag"))


def test_unknown_kind_names_it_and_a_newer_version() -> None:
    with pytest.raises(UnknownKindError, match=r"'basket_teleported'.*newer version"):
        decode_record("basket_teleported", "{}")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"weight_g": 1.0}', "missing field 'reason'"),
        ('{"weight_g": 1.0, "reason": "x", "colour": "red"}', r"unknown fields \['colour'\]"),
        ('{"weight_g": "heavy", "reason": "x"}', "weight_g: expected a number"),
        ('{"weight_g": true, "reason": "x"}', "weight_g: expected a number"),
        ("[1, 2]", "expected a JSON object"),
        ("{not json", "not JSON"),
    ],
)
def test_malformed_payloads_are_refused(payload: str, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        decode_record("tare_applied", payload)


def test_unknown_enum_value_is_refused() -> None:
    with pytest.raises(CodecError, match="unknown session state 'hovering'"):
        decode_record("state_changed", '{"reason":"","state":"hovering"}')


# --- appending and reading --------------------------------------------------------------------


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger" / "cart.sqlite3"


@pytest.fixture
def ledger(ledger_path: Path) -> Iterator[Ledger]:
    with Ledger.open(ledger_path, FakeClock()) as opened:
        yield opened


def _session(session_id: str = "s1") -> list[Record]:
    return [
        SessionStarted(session_id, "cart-1"),
        StateChanged(SessionState.SHOPPING, "start"),
        LineAdded(1, "milk", 2, evidence=Evidence(EvidenceSource.VISION, 1032.5)),
        LineAdded(2, "apples", 0, 412.3, evidence=Evidence(EvidenceSource.BARCODE, gtin="2")),
        PromptOpened("p1", "weight without item", ("bag", "item"), 1_767_225_700.0),
        PromptAnswered("p1", "bag", "shopper"),
        TareApplied(35.5, "own bag"),
        LineRemoved(1, 1),
        CouponApplied(Coupon("SAVE5", amount_off_cents=500)),
        LineVoided(2, "shopper correction"),
        StateChanged(SessionState.CHECKOUT),
        HandoffQueued("key-1", "signed-token"),
    ]


def _fill(ledger: Ledger, session: list[Record], session_id: str = "s1") -> None:
    for record in session:
        ledger.append(session_id, record)


def test_append_chains_entries_from_the_genesis_hash(ledger: Ledger) -> None:
    clock_start = FakeClock().wall()
    entries = [ledger.append("s1", record) for record in _session()]
    assert [e.seq for e in entries] == list(range(1, 13))
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    assert all(e.t_wall == clock_start for e in entries)
    # The documented formula, computed independently.
    first = entries[0]
    kind, payload = encode_record(first.record)
    message = canonical_json([1, "s1", clock_start, kind, json.loads(payload)])
    expected = hashlib.sha256(bytes.fromhex(GENESIS_HASH) + message.encode()).hexdigest()
    assert first.hash == expected


def test_t_wall_comes_from_the_injected_clock(ledger_path: Path) -> None:
    clock = FakeClock(start=0.0, wall_offset=1_000.0)
    with Ledger.open(ledger_path, clock) as ledger:
        first = ledger.append("s", SessionStarted("s", "c"))
        clock.advance(2.5)
        second = ledger.append("s", StateChanged(SessionState.SHOPPING))
    assert (first.t_wall, second.t_wall) == (1_000.0, 1_002.5)


def test_reopening_gives_identical_entries(ledger_path: Path) -> None:
    with Ledger.open(ledger_path, FakeClock()) as ledger:
        _fill(ledger, _session())
        written = ledger.entries("s1")
    with Ledger.open(ledger_path, FakeClock()) as reopened:
        assert reopened.entries("s1") == written
        assert reopened.records("s1") == _session()
        assert reopened.verify().ok


@given(st.lists(records, min_size=1, max_size=6))
@settings(max_examples=40, deadline=None)
def test_any_records_survive_a_reopen(session: list[Record]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "l.sqlite3"
        with Ledger.open(path, FakeClock()) as ledger:
            _fill(ledger, session, "h")
        with Ledger.open(path, FakeClock()) as reopened:
            assert reopened.records("h") == session
            assert reopened.verify() == ChainReport(True, len(session))


def test_sessions_are_read_apart_even_when_interleaved(ledger: Ledger) -> None:
    ledger.append("a", SessionStarted("a", "c"))
    ledger.append("b", SessionStarted("b", "c"))
    ledger.append("a", StateChanged(SessionState.SHOPPING))
    ledger.append("b", LineAdded(1, "milk", 1))
    assert ledger.records("a") == [SessionStarted("a", "c"), StateChanged(SessionState.SHOPPING)]
    assert [e.seq for e in ledger.entries("b")] == [2, 4]
    assert ledger.records("nobody") == []
    assert ledger.session_ids() == ["a", "b"]


def test_file_uses_wal_and_the_ledger_identity(ledger: Ledger, ledger_path: Path) -> None:
    ledger.append("s", SessionStarted("s", "c"))
    conn = sqlite3.connect(ledger_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    finally:
        conn.close()


def test_rows_cannot_be_updated_or_deleted_by_accident(ledger: Ledger, ledger_path: Path) -> None:
    _fill(ledger, _session())
    conn = sqlite3.connect(ledger_path)
    try:
        for statement in ("UPDATE ledger_entries SET kind = 'x'", "DELETE FROM ledger_entries"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
    finally:
        conn.close()
    assert ledger.records("s1") == _session()


def test_append_after_close_is_not_confirmed(ledger_path: Path) -> None:
    ledger = Ledger.open(ledger_path, FakeClock())
    ledger.close()
    with pytest.raises(LedgerWriteError, match="not confirmed"):
        ledger.append("s", SessionStarted("s", "c"))


def test_append_refuses_a_record_it_cannot_store(ledger: Ledger) -> None:
    with pytest.raises(CodecError):
        ledger.append("s", TareApplied(float("nan"), "bag"))
    assert ledger.records("s") == []


# --- which session a restart restores ---------------------------------------------------------


def test_empty_ledger_restores_an_empty_idle_basket(ledger: Ledger) -> None:
    assert ledger.latest_session_id() is None
    assert restore(ledger) == empty_basket()


def test_restore_folds_the_latest_session(ledger_path: Path) -> None:
    with Ledger.open(ledger_path, FakeClock()) as ledger:
        _fill(ledger, _session("old"), "old")
        _fill(ledger, _session("new")[:5], "new")
    with Ledger.open(ledger_path, FakeClock()) as reopened:
        assert reopened.latest_session_id() == "new"
        assert restore(reopened) == fold(_session("new")[:5])


def test_a_finished_session_is_not_restored(ledger: Ledger) -> None:
    _fill(ledger, _session("old"), "old")  # never finished, but superseded
    _fill(ledger, _session("s2"), "s2")
    ledger.append("s2", StateChanged(SessionState.HANDED_OFF))
    assert ledger.latest_session_id() == "s2"
    ledger.append("s2", StateChanged(SessionState.DONE))
    assert ledger.latest_session_id() is None
    ledger.append("s2", StateChanged(SessionState.IDLE, "next shopper"))
    assert ledger.latest_session_id() is None
    assert restore(ledger) == empty_basket()


# --- tampering --------------------------------------------------------------------------------


def _tamper(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # What an attacker must do first: the triggers only stop accidents.
        conn.execute("DROP TRIGGER ledger_entries_no_update")
        conn.execute("DROP TRIGGER ledger_entries_no_delete")
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def _rehash(path: Path, seq: int) -> None:
    """Recompute one row's hash after an edit, as a careful attacker would (but not the next)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        row = conn.execute(
            "SELECT prev_hash, session_id, t_wall, kind, payload FROM ledger_entries WHERE seq = ?",
            (seq,),
        ).fetchone()
        digest = entry_hash(
            row[0], seq=seq, session_id=row[1], t_wall=row[2], kind=row[3], payload_json=row[4]
        )
        conn.execute("UPDATE ledger_entries SET hash = ? WHERE seq = ?", (digest, seq))
    finally:
        conn.close()


def _two_sessions(path: Path) -> None:
    with Ledger.open(path, FakeClock()) as ledger:
        _fill(ledger, _session("s1"), "s1")  # seq 1..12
        _fill(ledger, _session("s2"), "s2")  # seq 13..24


def _assert_broken(path: Path, session_id: str, seq: int, problem: str) -> None:
    with Ledger.open(path, FakeClock()) as ledger:
        with pytest.raises(LedgerTamperedError, match=problem) as info:
            ledger.records(session_id)
        assert info.value.seq == seq
        assert str(path) in str(info.value)
        report = ledger.verify()
        assert not report.ok
        assert report.first_bad_seq == seq
        assert report.entries_checked == seq - 1
        assert problem in report.problem


EDITED_PAYLOAD = (
    """UPDATE ledger_entries SET payload = replace(payload, '"quantity":2', '"quantity":1') """
    "WHERE seq = 15"
)


def test_edited_payload_is_detected_at_its_seq(ledger_path: Path) -> None:
    _two_sessions(ledger_path)
    _tamper(ledger_path, EDITED_PAYLOAD)
    _assert_broken(ledger_path, "s2", 15, "content does not match its hash")


def test_deleted_middle_row_is_detected_at_its_seq(ledger_path: Path) -> None:
    _two_sessions(ledger_path)
    _tamper(ledger_path, "DELETE FROM ledger_entries WHERE seq = 18")
    _assert_broken(ledger_path, "s2", 18, "seq 18 is missing")


def test_deleted_first_row_of_a_session_is_detected(ledger_path: Path) -> None:
    _two_sessions(ledger_path)
    _tamper(ledger_path, "DELETE FROM ledger_entries WHERE seq = 13")
    _assert_broken(ledger_path, "s2", 13, "seq 13 is missing")


def test_swapped_rows_are_detected_at_the_first(ledger_path: Path) -> None:
    _two_sessions(ledger_path)
    _tamper(
        ledger_path,
        "UPDATE ledger_entries SET seq = 1000 WHERE seq = 16",
        "UPDATE ledger_entries SET seq = 16 WHERE seq = 20",
        "UPDATE ledger_entries SET seq = 20 WHERE seq = 1000",
    )
    _assert_broken(ledger_path, "s2", 16, "does not match its hash")


def test_swapped_neighbours_are_reported_as_reordered(ledger_path: Path) -> None:
    _two_sessions(ledger_path)
    _tamper(
        ledger_path,
        "UPDATE ledger_entries SET seq = 1000 WHERE seq = 16",
        "UPDATE ledger_entries SET seq = 16 WHERE seq = 17",
        "UPDATE ledger_entries SET seq = 17 WHERE seq = 1000",
    )
    _assert_broken(ledger_path, "s2", 16, "reordered")


def test_rehashed_row_is_detected_by_the_next_link(ledger_path: Path) -> None:
    _two_sessions(ledger_path)
    _tamper(ledger_path, EDITED_PAYLOAD)
    _rehash(ledger_path, 15)
    _assert_broken(ledger_path, "s2", 15, "not the row seq 16 was chained to")


def test_inserted_row_is_detected_at_its_seq(ledger_path: Path) -> None:
    _two_sessions(ledger_path)
    # Make room at seq 18 by renumbering the rows after it, then forge a row that hashes
    # correctly and links to seq 17.
    _tamper(
        ledger_path,
        "UPDATE ledger_entries SET seq = seq + 1001 WHERE seq >= 18",
        "UPDATE ledger_entries SET seq = seq - 1000 WHERE seq > 1000",
    )
    kind, payload = encode_record(LineAdded(9, "caviar", 1))
    conn = sqlite3.connect(ledger_path, isolation_level=None)
    try:
        prev = conn.execute("SELECT hash FROM ledger_entries WHERE seq = 17").fetchone()[0]
        digest = entry_hash(
            prev, seq=18, session_id="s2", t_wall=0.0, kind=kind, payload_json=payload
        )
        conn.execute(
            "INSERT INTO ledger_entries VALUES (18, 's2', 0.0, ?, ?, ?, ?)",
            (kind, payload, prev, digest),
        )
    finally:
        conn.close()
    _assert_broken(ledger_path, "s2", 18, "inserted at seq 18")


def test_row_moved_to_another_session_is_detected(ledger_path: Path) -> None:
    _two_sessions(ledger_path)
    _tamper(ledger_path, "UPDATE ledger_entries SET session_id = 's1' WHERE seq = 14")
    _assert_broken(ledger_path, "s2", 14, "does not match its hash")


def test_tampering_elsewhere_does_not_block_an_intact_session(ledger_path: Path) -> None:
    _two_sessions(ledger_path)
    _tamper(ledger_path, "UPDATE ledger_entries SET payload = '{}' WHERE seq = 5")
    with Ledger.open(ledger_path, FakeClock()) as ledger:
        # Restore reads only the current session's stretch of the chain; verify() sees all.
        assert ledger.records("s2") == _session("s2")
        assert ledger.verify().first_bad_seq == 5


def test_a_newer_writers_record_kind_is_named(ledger_path: Path) -> None:
    with Ledger.open(ledger_path, FakeClock()) as ledger:
        tip = ledger.append("s", SessionStarted("s", "c"))
    digest = entry_hash(
        tip.hash, seq=2, session_id="s", t_wall=1.0, kind="teleport", payload_json="{}"
    )
    _tamper(
        ledger_path,
        f"INSERT INTO ledger_entries VALUES (2, 's', 1.0, 'teleport', '{{}}', "
        f"'{tip.hash}', '{digest}')",
    )
    with Ledger.open(ledger_path, FakeClock()) as ledger:
        with pytest.raises(LedgerRecordError, match=r"seq 2.*'teleport'.*newer version"):
            ledger.records("s")
        report = ledger.verify()
        assert (report.ok, report.first_bad_seq) == (False, 2)
        assert "teleport" in report.problem


# --- files that must be refused and left alone ------------------------------------------------


def _snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.parent.iterdir())}


def test_newer_version_is_refused_and_left_unchanged(ledger_path: Path) -> None:
    with Ledger.open(ledger_path, FakeClock()) as ledger:
        _fill(ledger, _session())
    conn = sqlite3.connect(ledger_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = _snapshot(ledger_path)
    with pytest.raises(LedgerVersionError) as info:
        Ledger.open(ledger_path, FakeClock())
    message = str(info.value)
    assert str(ledger_path) in message
    assert f"version {SCHEMA_VERSION + 1}" in message
    assert f"version {SCHEMA_VERSION} only" in message
    assert (info.value.found, info.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
    assert _snapshot(ledger_path) == before


def test_newer_version_with_a_live_wal_is_refused(ledger_path: Path) -> None:
    # A newer writer crashed: its latest commits are still in the WAL, not the main file.
    with Ledger.open(ledger_path, FakeClock()) as ledger:
        _fill(ledger, _session())
    conn = sqlite3.connect(ledger_path)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    main_before = ledger_path.read_bytes()
    try:
        with pytest.raises(LedgerVersionError):
            Ledger.open(ledger_path, FakeClock())
        assert ledger_path.read_bytes() == main_before
    finally:
        conn.close()


@pytest.mark.parametrize(
    "content",
    [
        b"this is a shopping list, not a database\n" * 40,
        b"SQLite format 3\x00" + bytes(range(256)) * 20,
        b"\x00" * 4096,
    ],
    ids=["text", "sqlite-header-garbage", "zeros"],
)
def test_non_ledger_file_is_refused_and_left_unchanged(ledger_path: Path, content: bytes) -> None:
    ledger_path.parent.mkdir(parents=True)
    ledger_path.write_bytes(content)
    with pytest.raises(LedgerCorruptError) as info:
        Ledger.open(ledger_path, FakeClock())
    assert str(ledger_path) in str(info.value)
    assert "left unchanged" in str(info.value)
    assert _snapshot(ledger_path) == {ledger_path.name: content}


def test_another_applications_database_is_refused(ledger_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(ledger_path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.commit()
    conn.close()
    before = _snapshot(ledger_path)
    with pytest.raises(LedgerCorruptError, match="recipes"):
        Ledger.open(ledger_path, FakeClock())
    assert _snapshot(ledger_path) == before


def test_damaged_pages_are_refused_and_left_unchanged(ledger_path: Path) -> None:
    with Ledger.open(ledger_path, FakeClock()) as ledger:
        for n in range(300):
            ledger.append(
                "s", LineAdded(n, f"sku-{n}", 1, evidence=Evidence(EvidenceSource.VISION))
            )
    data = bytearray(ledger_path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    # Scribble over the b-tree headers of some interior pages; the file header stays valid.
    for offset in range(2 * page, len(data) - page, page):
        data[offset : offset + 16] = b"\xff" * 16
    ledger_path.write_bytes(bytes(data))
    with pytest.raises(LedgerCorruptError):
        Ledger.open(ledger_path, FakeClock())
    assert ledger_path.read_bytes() == bytes(data)


def test_empty_file_becomes_a_ledger(ledger_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    ledger_path.touch()
    with Ledger.open(ledger_path, FakeClock()) as ledger:
        ledger.append("s", SessionStarted("s", "c"))
    with Ledger.open(ledger_path, FakeClock()) as ledger:
        assert ledger.records("s") == [SessionStarted("s", "c")]


def test_a_forged_done_row_cannot_empty_the_restored_basket(ledger_path: Path) -> None:
    _two_sessions(ledger_path)
    kind, payload = encode_record(StateChanged(SessionState.DONE, "forged"))
    _tamper(
        ledger_path,
        f"INSERT INTO ledger_entries VALUES (25, 's2', 0.0, '{kind}', '{payload}', "
        f"'{'0' * 64}', '{'0' * 64}')",
    )
    with Ledger.open(ledger_path, FakeClock()) as ledger:
        with pytest.raises(LedgerTamperedError) as info:
            restore(ledger)
        assert info.value.seq == 25
