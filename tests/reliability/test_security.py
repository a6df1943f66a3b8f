"""Hostile use: maintenance unlock, basket integrity and privacy.

Maintenance: the PIN is a salted slow hash; wrong PINs lock the pad with a doubling wait;
badges are signed by the store with an expiry (forged, altered, foreign and expired ones are
refused); maintenance locks itself when left alone; every staff action is in the ledger.
Basket: a tampered ledger stops the start; a weight change during checkout or after handoff
kills the token at the store; coupons are checked against the catalog and used once per trip.
Privacy: frames never leave the cart, only basket-region crops are kept and only when asked,
a session's images are deleted when it ends (or after the configured retention), and nothing
identifying a shopper reaches the logs.

Existing tests this suite counts on are listed in ``docs/reliability.md``.
"""

from __future__ import annotations

import ast
import base64
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.domain import Coupon, EvidenceSource
from cart_app.engine import CartSnapshot
from cart_app.events import (
    ApplyCoupon,
    ChangeKind,
    CommandRejected,
    Confirm,
    RequestCheckout,
    ResetCart,
    Sensed,
    StartSession,
)
from cart_app.evidence import EvidenceError, EvidenceSettings, EvidenceStore
from cart_app.fusion.choices import OTHER
from cart_app.ledger import Ledger, LedgerError
from cart_app.records import LineVoided, PromptAnswered, StateChanged
from cart_app.session import SessionState
from cart_app.store.badge import (
    BadgeExpired,
    BadgeForged,
    BadgeMalformed,
    BadgeUnknownKey,
    issue_badge,
    verify_badge,
)
from cart_app.store.contract import HandoffRequest, SessionStart, TelemetryBatch
from cart_app.store.token import CartKey, verify_token
from scale.types import WeightChange
from tests.reliability.helpers import build_app, wait_until
from tests.reliability.power_cut import StoreForCuts
from tests.reliability.rig import Stock, open_cart, seed_folder
from tests.ui.conftest import build_engine, run
from ui.i18n import Translator
from ui.staff_auth import N, R, hash_pin, parse_hash, verify_pin
from ui.viewmodels.maintenance import FIRST_LOCKOUT_S, MAX_LOCKOUT_S, MaintenanceVM, StaffAuth

pytestmark = [pytest.mark.security, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]
FAST_N = 2**10


# --- maintenance unlock ---------------------------------------------------------------------------


def test_pin_is_a_salted_slow_hash() -> None:
    first, second = hash_pin("4711"), hash_pin("4711")
    assert first != second, "the same PIN must hash differently (a fresh salt each time)"
    n, r, _p, salt, key = parse_hash(first)
    assert (n, r) == (N, R) and n >= 2**14 and r >= 8  # about 16 MiB and tens of ms per guess
    assert len(salt) >= 16 and len(key) >= 32
    assert "4711" not in first
    assert verify_pin("4711", first) and verify_pin("4711", second)
    assert not verify_pin("4712", first) and not verify_pin("", first)
    # The stored form alone does not give the PIN away: every 4-digit guess costs a scrypt.
    source = (REPO / "ui" / "staff_auth.py").read_text()
    assert "hmac.compare_digest" in source  # constant-time comparison


def test_wrong_pins_lock_the_pad_with_a_doubling_wait(clock: FakeClock) -> None:
    auth = StaffAuth(hash_pin("4711", n=FAST_N), Translator("en"), clock.monotonic)
    waits: list[int] = []
    for _attempt in range(10):
        wait = auth.wait_s()
        if wait:
            # Locked out: even the right PIN is not checked until the wait is over.
            for digit in "4711":
                auth.press(digit)
            assert auth.submit() is None
            clock.advance(wait)
        for digit in "0000":
            auth.press(digit)
        pin = auth.submit()
        assert pin == "0000"
        auth.pin_checked(verify_pin(pin, auth.pin_hash))
        waits.append(auth.wait_s())
    assert waits == [0, 0, 30, 60, 120, 240, 480, 900, 900, 900]
    assert waits[2] == FIRST_LOCKOUT_S and max(waits) == MAX_LOCKOUT_S
    assert not auth.unlocked
    clock.advance(auth.wait_s())
    for digit in "4711":
        auth.press(digit)
    pin = auth.submit()
    assert pin is not None
    auth.pin_checked(verify_pin(pin, auth.pin_hash))
    assert auth.unlocked and auth.staff_id == "pin"


def test_maintenance_locks_itself_after_inactivity(clock: FakeClock) -> None:
    auth = StaffAuth(hash_pin("4711", n=FAST_N), Translator("en"), clock.monotonic, 120.0)
    auth.badge_checked(True, "kim")
    assert auth.unlocked
    clock.advance(100.0)
    auth.touch()  # staff did something
    clock.advance(100.0)
    assert not auth.tick() and auth.unlocked
    clock.advance(20.0)
    assert auth.tick() and not auth.unlocked and auth.staff_id == ""


def test_signed_badges_with_expiry() -> None:
    store_key, other_key = CartKey.generate(), CartKey.generate()
    trusted = {store_key.key_id: store_key.public_key()}
    now = 1_800_000_000
    badge = issue_badge(store_key, "kim", frozenset({"maintenance"}), now - 60, now + 3600)
    checked = verify_badge(badge, trusted, now)
    assert checked.staff_id == "kim" and checked.roles == {"maintenance"}

    with pytest.raises(BadgeExpired, match="expired"):
        verify_badge(badge, trusted, now + 3600 + 61)
    with pytest.raises(BadgeExpired, match="future"):
        verify_badge(badge, trusted, now - 3600)
    foreign = issue_badge(other_key, "kim", frozenset({"maintenance"}), now, now + 60)
    with pytest.raises(BadgeUnknownKey):
        verify_badge(foreign, trusted, now)
    # Every altered character: refused, never accepted as another badge.
    body = badge[4:]
    refused = 0
    for at in range(len(body)):
        for ch in "AZ27":
            if body[at] == ch:
                continue
            altered = badge[:4] + body[:at] + ch + body[at + 1 :]
            with pytest.raises((BadgeMalformed, BadgeUnknownKey, BadgeForged, BadgeExpired)):
                verify_badge(altered, trusted, now)
            refused += 1
    assert refused > 400
    # The signature of a basket token never passes as a badge (domain separation).
    raw = base64.b32decode(body + "=" * (-len(body) % 8))
    resigned = raw[:-64] + store_key.sign(b"smartcart/basket-token/v1\x00" + raw[:-64])
    forged = "SB1:" + base64.b32encode(resigned).decode().rstrip("=")
    with pytest.raises(BadgeForged):
        verify_badge(forged, trusted, now)


def test_every_staff_action_is_in_the_ledger(
    tmp_path: Path, demo_catalog: Catalog, clock: FakeClock
) -> None:
    engine, ledger = build_engine(tmp_path, demo_catalog, clock)
    vm = MaintenanceVM(demo_catalog, "SEK", Translator("en"))
    try:
        engine.restore()
        run(engine, StartSession("audit"))
        run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 2))
        run(engine, Confirm(ChangeKind.ADD, "FV-BANANA", 1, weight_g=500.0))
        # A weight that nothing explains: fusion asks; staff resolve it for the shopper.
        now = clock.monotonic()
        engine.handle(Sensed(WeightChange(777.0, 0.0, 777.0, now, now + 0.4)))
        clock.advance(10.0)  # no late observation comes
        engine.tick()
        asked = engine.snapshot
        assert asked.basket.pending_prompts, asked
        vm.update(asked)
        (prompt,) = vm.view.prompts
        # An answer that is carried out: "something else" (":other") only opens the product
        # picker, which sends the product staff name (tests/ui/test_picker_vm.py).
        answer = next(a for a, _label in prompt.answers if a != OTHER)
        run(engine, vm.resolve_prompt(prompt.prompt_id, answer, "kim"))
        vm.update(run(engine, vm.void_line(3, "kim")))
        for command in vm.end_session("kim"):
            run(engine, command)
        records = ledger.records("audit")
    finally:
        engine.stop()
        ledger.close()
    voided = [r for r in records if isinstance(r, LineVoided)]
    assert voided and all("kim" in r.reason for r in voided)
    assert all(r.evidence is not None and r.evidence.source is EvidenceSource.STAFF for r in voided)
    assert all("kim" in (r.evidence.note if r.evidence else "") for r in voided)
    answered = [r for r in records if isinstance(r, PromptAnswered)]
    # Not passed off as the shopper's, and naming who answered.
    assert answered and answered[0].answered_by == "staff kim"
    states = [r for r in records if isinstance(r, StateChanged)]
    assert any(r.state is SessionState.LOCKED and "kim" in r.reason for r in states)
    assert any("unlocked by kim" in r.reason for r in states)


def test_staff_actions_name_the_staff_member(
    tmp_path: Path, demo_catalog: Catalog, clock: FakeClock
) -> None:
    engine, ledger = build_engine(tmp_path, demo_catalog, clock)
    try:
        engine.restore()
        run(engine, StartSession("audit"))
        run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
        run(engine, RequestCheckout())
        from cart_app.events import CompleteSession, HandOff

        run(engine, HandOff("h1", "token"))
        run(engine, CompleteSession("paid at a staffed lane (staff kim)"))
        vm = MaintenanceVM(demo_catalog, "SEK", Translator("en"))
        vm.update(engine.snapshot)
        (reset_cart,) = vm.end_session("kim")  # "reset cart" on a paid basket
        run(engine, reset_cart)
        records = ledger.records("audit")
    finally:
        engine.stop()
        ledger.close()
    reset = [r for r in records if isinstance(r, StateChanged) and r.state is SessionState.IDLE]
    assert reset and "staff kim" in reset[-1].reason


# --- basket integrity -----------------------------------------------------------------------------


def test_a_tampered_ledger_stops_the_start(tmp_path: Path) -> None:
    app = build_app(tmp_path, "[scale]\ndriver = 'none'\n")
    with app:
        app.engine.call(StartSession("tamper"), timeout=10)
        sku = Stock.of(app.catalog).unit[0]
        for _ in range(3):
            app.engine.call(Confirm(ChangeKind.ADD, sku), timeout=10)
        path = app.ledger.path
    # Someone with the file lowers a quantity, dropping the accident guard first.
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute(
        "UPDATE ledger_entries SET payload = replace(payload, '\"quantity\":1', '\"quantity\":0')"
        " WHERE kind = 'line_added' AND seq = 4"
    )
    conn.commit()
    conn.close()
    restarted = build_app(tmp_path, "[scale]\ndriver = 'none'\n")
    with pytest.raises(LedgerError, match="hash chain broken at seq 4"):
        restarted.start()
    restarted.stop()
    with Ledger.open(path, FakeClock()) as ledger:
        report = ledger.verify()
        assert not report.ok and report.first_bad_seq == 4


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StoreForCuts]:
    server = StoreForCuts(tmp_path / "store")
    yield server
    server.close()


def _lane_verify(store: StoreForCuts, token: str) -> dict[str, object]:
    lane_key = store.db.add_principal("lane", f"lane-{time.monotonic_ns()}")
    answer = requests.post(
        f"{store.url}/v1/lane/verify",
        json={"token": token, "lane_id": "lane-sec"},
        headers={"Authorization": f"Bearer {lane_key}"},
        timeout=10,
    )
    body: dict[str, object] = answer.json()
    return body


def test_weight_change_during_checkout_and_after_handoff_kills_the_token(
    tmp_path: Path, store: StoreForCuts
) -> None:
    seed_folder(tmp_path / "cart")
    cart = open_cart(
        tmp_path / "cart",
        store_url=store.url,
        api_key=store.api_key,
        wall_offset=float(int(time.time())),
        id_prefix="sec",
    )
    # The rig's engine has no fusion; a settled weight change reaches it as fusion turns it
    # into a Confirm, which reopens shopping in the same step (architecture, refinement 4).
    stock = Stock.of(cart.catalog)
    try:
        cart.engine.call(StartSession("weigh"), timeout=10)
        cart.engine.call(Confirm(ChangeKind.ADD, stock.unit[0], 2), timeout=10)
        cart.engine.call(RequestCheckout(), timeout=10)
        # During checkout: the basket changes, checkout is left, there is nothing to pay yet.
        cart.engine.call(Confirm(ChangeKind.ADD, stock.unit[1]), timeout=10)
        assert cart.engine.snapshot.basket.state is SessionState.SHOPPING
        cart.engine.call(RequestCheckout(), timeout=10)
        ticket = cart.link.hand_off()
        wait_until(lambda: cart.outbox.pending_count() == 0, "handoff delivered")
        assert _lane_verify(store, ticket.token)["payable"] is True
        # After handoff: the token dies at the store once the void arrives.
        cart.engine.call(Confirm(ChangeKind.ADD, stock.unit[2]), timeout=10)
        assert cart.engine.snapshot.basket.state is SessionState.SHOPPING
        wait_until(lambda: cart.outbox.pending_count() == 0, "void delivered")
        verdict = _lane_verify(store, ticket.token)
        assert verdict["payable"] is False and verdict["status"] == "void"
        # The token's signature is still genuine: it is dead because the store says so.
        key = CartKey.load_or_create(tmp_path / "cart" / "cart_key.pem")
        verify_token(ticket.token, key.public_key(), time.time())
    finally:
        cart.stop()


def test_fusion_turns_a_weight_change_in_checkout_into_reopened_shopping(
    tmp_path: Path, demo_catalog: Catalog, clock: FakeClock
) -> None:
    engine, ledger = build_engine(tmp_path, demo_catalog, clock)
    try:
        engine.restore()
        run(engine, StartSession("weigh"))
        run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
        run(engine, RequestCheckout())
        now = clock.monotonic()
        event = engine.handle(Sensed(WeightChange(1030.0, 1030.0, 2060.0, now, now + 0.4)))
        assert isinstance(event, CartSnapshot)
        assert event.basket.state is SessionState.SHOPPING
    finally:
        engine.stop()
        ledger.close()


def test_coupons_are_checked_against_the_catalog_and_used_once_per_trip(
    tmp_path: Path, demo_catalog: Catalog, clock: FakeClock
) -> None:
    engine, ledger = build_engine(tmp_path, demo_catalog, clock)
    try:
        engine.restore()
        run(engine, StartSession("coupons"))
        run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 2))

        def refused(coupon: Coupon) -> str:
            event = engine.handle(ApplyCoupon(coupon))
            assert isinstance(event, CommandRejected), event
            return event.reason

        assert "does not sell" in refused(Coupon("X1", 100, sku="NO-SUCH-SKU"))
        assert "negative" in refused(Coupon("X2", -500))
        assert "both" in refused(Coupon("X3", 100, 10))
        assert "no amount" in refused(Coupon("X4"))
        assert "percent" in refused(Coupon("X5", percent_off=150))
        assert "not a valid code" in refused(Coupon("", 100))
        assert "not a valid code" in refused(Coupon("A" * 65, 100))
        assert "not a valid code" in refused(Coupon("TAB\tCODE", 100))
        snap = run(engine, ApplyCoupon(Coupon("SAVE1", 100, sku="D-MILK-STD")))
        assert [c.code for c in snap.basket.coupons] == ["SAVE1"]
        assert "already applied" in refused(Coupon("SAVE1", 100, sku="D-MILK-STD"))
        assert "already applied" in refused(Coupon("SAVE1", 50))
        assert snap.receipt is not None and snap.receipt.total_discount_cents == 100
        # A new trip may use the code again (single use is per session).
        run(engine, RequestCheckout())
        from cart_app.events import CompleteSession, HandOff

        run(engine, HandOff("h1", "t"))
        run(engine, CompleteSession())
        run(engine, ResetCart())
        run(engine, StartSession("next"))
        run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
        assert [c.code for c in run(engine, ApplyCoupon(Coupon("SAVE1", 100))).basket.coupons]
    finally:
        engine.stop()
        ledger.close()


# --- privacy --------------------------------------------------------------------------------------


def _imports(folder: Path) -> set[str]:
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def test_frames_stay_on_the_cart() -> None:
    # Vision has no way to send anything: no network library anywhere in the package.
    network = {"socket", "requests", "urllib3", "http", "urllib", "ftplib", "smtplib", "cart_app"}
    assert not _imports(REPO / "vision") & network
    # What the cart sends the store has no field that could carry an image.
    for model in (HandoffRequest, SessionStart, TelemetryBatch):
        schema = str(model.model_json_schema()).lower()
        for word in ("image", "frame", "jpeg", "png", "photo", "crop", "base64", "binary"):
            assert word not in schema, (model.__name__, word)


def test_only_basket_region_crops_are_kept_and_only_when_asked(tmp_path: Path) -> None:
    clock = FakeClock()
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    crop = frame[100:260, 200:360]
    off = EvidenceStore(tmp_path / "off", EvidenceSettings(), clock)
    assert off.save_crop("s1", "cam0", crop, frame.shape) is None  # off by default
    assert not (tmp_path / "off").exists()
    store = EvidenceStore(tmp_path / "ev", EvidenceSettings(keep_crops=True), clock)
    with pytest.raises(EvidenceError, match="not a basket-region crop"):
        store.save_crop("s1", "cam0", frame, frame.shape)
    with pytest.raises(EvidenceError, match="needs a session"):
        store.save_crop("", "cam0", crop, frame.shape)
    saved = store.save_crop("s1", "cam0", crop, frame.shape)
    assert saved is not None and saved.exists()
    assert "s1" not in str(saved.relative_to(tmp_path))  # folder named by a hash


@pytest.mark.parametrize("retention_s", [0.0, 3600.0])
def test_a_sessions_images_are_deleted_when_it_ends(
    tmp_path: Path, demo_catalog: Catalog, clock: FakeClock, retention_s: float
) -> None:
    engine, ledger = build_engine(tmp_path, demo_catalog, clock)
    store = EvidenceStore(
        tmp_path / "evidence", EvidenceSettings(keep_crops=True, retention_s=retention_s), clock
    )
    engine.subscribe(store.on_engine_event)
    crop = np.full((120, 100, 3), 200, dtype=np.uint8)
    try:
        engine.restore()
        run(engine, StartSession("paid-trip"))
        for _ in range(3):
            store.save_crop("paid-trip", "cam0", crop, (480, 640))
        run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
        run(engine, RequestCheckout())
        from cart_app.events import CompleteSession, HandOff

        run(engine, HandOff("h1", "t"))
        assert len(store.sessions()) == 1
        run(engine, CompleteSession())
        if retention_s == 0:
            assert store.sessions() == []  # deleted when the trip ended
        else:
            assert len(store.sessions()) == 1  # kept for disputes...
            clock.advance(retention_s - 1)
            assert store.purge() == 0
            clock.advance(1)
            assert store.purge() == 1  # ...and not a second longer
            assert store.sessions() == []
        # A trip abandoned by a crash is ended at the next start.
        store.save_crop("crashed-trip", "cam0", crop, (480, 640))
        restarted = EvidenceStore(store.root, store.settings, clock)
        restarted.start(current_session=None)
        clock.advance(retention_s)
        restarted.purge()
        assert restarted.sessions() == []
    finally:
        engine.stop()
        ledger.close()


def _trip_by_loyalty_card(tmp_path: Path, card: str, store: StoreForCuts) -> tuple[Path, str]:
    """A trip started by scanning a loyalty card at the welcome screen, handed off to the
    store: the shopper's card passes through the UI's model, the engine, the ledger, the
    outbox and the store link."""
    from ui.viewmodels.session import SessionVM, classify_code

    store_table = f"[store]\nmode = 'http'\nbase_url = '{store.url}'\napi_key = '{store.api_key}'\n"
    app = build_app(
        tmp_path, "[scale]\ndriver = 'none'\n", store=store_table, top="cart_id = 'cart-rel'\n"
    )
    assert app.store_link is not None
    vm = SessionVM(Translator("en"), "Demo")
    with app:
        start = vm.scanned(classify_code(card))
        assert start is not None
        app.engine.call(start, timeout=10)
        sku = Stock.of(app.catalog).unit[0]
        app.engine.call(Confirm(ChangeKind.ADD, sku, 2), timeout=10)
        app.engine.call(RequestCheckout(), timeout=10)
        app.store_link.hand_off()
        session_id = app.engine.snapshot.basket.session_id
        wait_until(lambda: store.db.count_handoffs(session_id) == 1, "handoff at the store")
        path = app.ledger.path
    return path, session_id


def test_nothing_identifying_a_shopper_is_logged_or_sent(
    tmp_path: Path, store: StoreForCuts, caplog: pytest.LogCaptureFixture
) -> None:
    card = "LOYAL-7741-0093-2215"
    with caplog.at_level(logging.DEBUG):
        ledger_path, _session = _trip_by_loyalty_card(tmp_path, card, store)
    assert caplog.records, "the trip logged nothing at all: the check would be vacuous"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert card not in logged
    # Nor did it reach the store, or the outbox on its way there.
    store_files = [p for p in (tmp_path / "store").iterdir() if p.is_file()]
    outbox_files = [p for p in ledger_path.parent.iterdir() if "outbox" in p.name]
    assert store_files and outbox_files
    for path in store_files + outbox_files:
        assert card.encode() not in path.read_bytes(), path


def test_the_ledger_does_not_keep_a_loyalty_card_number(
    tmp_path: Path, store: StoreForCuts
) -> None:
    card = "LOYAL-7741-0093-2215"
    path, session_id = _trip_by_loyalty_card(tmp_path, card, store)
    with Ledger.open(path, FakeClock()) as ledger:
        stored = "\n".join(repr(r) for r in ledger.records(session_id))
    assert card not in stored
