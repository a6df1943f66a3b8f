"""Security and privacy through the wired cart: evidence crops from the vision worker kept and
deleted by the app's :class:`~cart_app.evidence.EvidenceStore`, signed staff badges issued by
``smartcart store-admin`` and checked in the touchscreen's ``scanned()`` path, and a PIN
lockout that survives a restart.

Each test builds the cart from configuration text (``CartApp.build`` and ``ui.wiring``), so
what is checked is what a cart runs, not the parts alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from cart_app.app import CartApp
from cart_app.clock import FakeClock
from cart_app.events import (
    ChangeKind,
    CompleteSession,
    Confirm,
    HandOff,
    RequestCheckout,
    Sensed,
    StartSession,
)
from cart_app.evidence import session_folder_name
from cart_app.store.badge import issue_badge
from cart_app.store.token import CartKey
from tests.reliability.helpers import build_app, wait_until
from tests.reliability.rig import Stock
from ui.controller import CartUi
from ui.i18n import Translator
from ui.staff_auth import LOCKOUT_FILE, PinLockoutStore, hash_pin, verify_pin
from ui.viewmodels.maintenance import FIRST_LOCKOUT_S, StaffAuth
from ui.wiring import build_deps
from vision.motion import MotionResult
from vision.types import Candidate, Direction, ItemObservation
from vision.worker import VisionWorker

pytestmark = [pytest.mark.security, pytest.mark.timeout(180)]

DAY_S = 86_400.0
FRAME = (480, 640, 3)


# --- evidence: basket-region crops only, deleted with the trip ------------------------------------


class OneItemTracker:
    """A tracker that follows one item across the basket opening for ``frames`` frames, then
    reports it (the worker crops the box it gives, as with the real tracker)."""

    def __init__(self, box: tuple[float, float, float, float], frames: int = 3) -> None:
        self.box = box
        self.frames = frames
        self.seen = 0
        self.track = 0

    def primary_box(self) -> tuple[float, float, float, float] | None:
        return self.box

    def update(
        self, motion: object, candidates: Sequence[Candidate] = (), barcode: object = None
    ) -> list[ItemObservation]:
        self.seen += 1
        if self.seen % self.frames:
            return []
        self.track += 1
        return [ItemObservation("cam0", Direction.INTO, tuple(candidates), None, 0.0, self.track)]

    def flush(self) -> list[ItemObservation]:
        return []


class AwakeGate:
    """A motion gate that always sees movement (an item passing)."""

    def update(self, image: object, t: float) -> MotionResult:
        return MotionResult(t, 0.2, True)


def _privacy_app(tmp_path: Path, clock: FakeClock, retention_days: float) -> CartApp:
    return build_app(
        tmp_path,
        "[scale]\ndriver = 'none'\n"
        "[[cameras]]\nid = 'cam0'\nsource = 'demo'\n"
        f"[privacy]\nkeep_evidence_crops = true\nevidence_retention_days = {retention_days}\n",
        clock,
    )


def _pass_item(app: CartApp, box: tuple[float, float, float, float]) -> None:
    """An item crosses the basket opening in front of the app's camera, through a vision worker
    wired as the app wires its own (observations to the engine, crops to the evidence hook)."""
    (own,) = [p for p in app.parts if isinstance(p, VisionWorker)]
    assert app.evidence is not None and own.on_crop == app.evidence.on_item_crop
    worker = VisionWorker(
        own.capture,
        AwakeGate(),  # type: ignore[arg-type]
        OneItemTracker(box),  # type: ignore[arg-type]
        lambda obs: app.engine.submit(Sensed(obs)),
        on_crop=own.on_crop,
    )
    rng = np.random.default_rng(1)
    for t in range(3):
        worker.process(rng.integers(0, 255, FRAME, dtype=np.uint8), float(t))


def _pay(app: CartApp) -> None:
    for command in (RequestCheckout(), HandOff("h1", "token"), CompleteSession("paid")):
        app.engine.call(command, timeout=10)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.png")) if root.exists() else []


def test_a_trips_crops_are_kept_then_deleted_when_it_ends(
    tmp_path: Path, figures: dict[str, object]
) -> None:
    clock = FakeClock()
    app = _privacy_app(tmp_path, clock, 0)
    root = app.loaded.resolve(app.loaded.config.paths.data_dir) / "evidence"
    with app:
        _pass_item(app, (0.4, 0.4, 0.2, 0.2))  # idle cart: a passer-by is never kept
        assert _files(root) == []
        session = app.engine.call(StartSession("evidence"), timeout=10)
        app.engine.call(Confirm(ChangeKind.ADD, Stock.of(app.catalog).unit[0]), timeout=10)
        _pass_item(app, (0.3, 0.3, 0.3, 0.3))  # a basket-region crop: kept
        _pass_item(app, (0.0, 0.0, 1.0, 1.0))  # "the crop" is the whole frame: refused
        kept = _files(root)
        assert len(kept) == 1
        assert kept[0].parent.name == session_folder_name("evidence")  # no trip id in names
        height, width = 480 * 0.3, 640 * 0.3
        image = kept[0].read_bytes()
        assert image[:8] == b"\x89PNG\r\n\x1a\n"
        assert abs(int.from_bytes(image[16:20], "big") - width) <= 1
        assert abs(int.from_bytes(image[20:24], "big") - height) <= 1
        _pay(app)
        wait_until(lambda: _files(root) == [], "the paid trip's images deleted")
        assert session.basket.session_id == "evidence"  # type: ignore[union-attr]
    assert not root.exists() or not any(root.iterdir())
    figures["evidence_deleted_at_end"] = "1 crop kept of 3 passes (idle, whole frame refused)"


def test_retention_keeps_a_trips_crops_exactly_that_long(tmp_path: Path) -> None:
    clock = FakeClock()
    app = _privacy_app(tmp_path, clock, 2)
    root = app.loaded.resolve(app.loaded.config.paths.data_dir) / "evidence"
    with app:
        app.engine.call(StartSession("disputed"), timeout=10)
        _pass_item(app, (0.3, 0.3, 0.3, 0.3))
        _pay(app)
        clock.advance(2 * DAY_S - 60)
        app.engine.call(StartSession("next"), timeout=10)  # trips go on: purges run
        assert app.evidence is not None and app.evidence.purge() == 0
        assert len(_files(root)) == 1, "kept for the dispute period"
        clock.advance(120)
        assert app.evidence.purge() == 1
        assert _files(root) == []
    # A crashed cart ends its trips at the next start too: nothing outlives its retention.
    restarted = _privacy_app(tmp_path, clock, 0)
    with restarted:
        assert _files(root) == []


# --- signed staff badges through the CLI, the config and scanned() --------------------------------


def _store_admin(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    from cart_app.cli import main

    assert main(["store-admin", *args]) == 0
    return capsys.readouterr().out.strip()


def _badge_ui(tmp_path: Path, key_hex: str, clock: FakeClock) -> CartUi:
    app = build_app(
        tmp_path,
        f"[scale]\ndriver = 'none'\n[maintenance]\nbadge_public_keys = ['{key_hex}']\n",
        clock,
    )
    return CartUi(build_deps(app))


def _scan(ui: CartUi, text: str) -> None:
    before = ui.staff.view
    ui.scanned(text)

    def checked() -> bool:
        ui.bridge.dispatch()  # the test's thread plays the Kivy thread
        return ui.staff.view is not before  # the check's outcome was delivered

    wait_until(checked, "badge checked")


def test_signed_badges_unlock_offline_and_refusals_are_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], figures: dict[str, object]
) -> None:
    key_file = tmp_path / "badge_key.pem"
    key_hex = _store_admin(["badge-key", "--key-file", str(key_file)], capsys)
    clock = FakeClock()
    now = int(clock.wall())
    badge = _store_admin(
        ["issue-badge", "--key-file", str(key_file), "--staff-id", "kim", "--now", str(now)],
        capsys,
    )
    assert badge.startswith("SB1:")
    issue_old = ["issue-badge", "--key-file", str(key_file), "--staff-id", "old", "--now"]
    expired = _store_admin([*issue_old, str(now - 10 * 3600), "--valid-hours", "8"], capsys)
    forged = issue_badge(CartKey.generate(), "eve", frozenset({"maintenance"}), now, now + 3600)
    calibration_only = issue_badge(
        CartKey.load_or_create(key_file), "cal", frozenset({"calibration"}), now, now + 3600
    )
    ui = _badge_ui(tmp_path, key_hex, clock)
    ui.attach()
    try:
        refused = 0
        for text in (expired, forged, calibration_only, badge[:-4] + "AAAA"):
            _scan(ui, text)
            assert not ui.staff.unlocked, text
            assert "Badge refused" in ui.staff.view.message
            refused += 1
        _scan(ui, badge)
        assert ui.staff.unlocked and ui.staff.staff_id == "kim"
        audit = ui.deps.staff_audit
        assert audit is not None
        entries = [(e.staff, e.action, str(e.details.get("why", ""))) for e in audit.entries()]
        assert entries == [
            ("?", "badge refused", "BadgeExpired"),
            ("?", "badge refused", "BadgeUnknownKey"),
            ("?", "badge refused", "BadgeError"),
            ("?", "badge refused", "BadgeForged"),
            ("kim", "badge unlock", ""),
        ]
        audit.verify()  # hash-chained: no entry can be dropped quietly
    finally:
        ui.detach()
    figures["signed_badges_wired"] = f"1 unlock, {refused} refused and audited"


def test_a_cart_without_badge_keys_refuses_signed_badges(tmp_path: Path) -> None:
    clock = FakeClock()
    app = build_app(tmp_path, "[scale]\ndriver = 'none'\n", clock)
    ui = CartUi(build_deps(app))
    key = CartKey.generate()
    now = int(clock.wall())
    ui.scanned(issue_badge(key, "kim", frozenset({"maintenance"}), now, now + 60))
    assert not ui.staff.unlocked and "badge_public_keys" in ui.staff.view.message


# --- the PIN lockout survives a restart -----------------------------------------------------------


def test_pin_lockout_survives_a_restart(tmp_path: Path) -> None:
    stored = hash_pin("4711", n=2**10)
    store = PinLockoutStore(tmp_path / LOCKOUT_FILE)
    clock = FakeClock()

    def pad(boot: FakeClock) -> StaffAuth:
        return StaffAuth(stored, Translator("en"), boot.monotonic, lockout=store, wall=boot.wall)

    def wrong(auth: StaffAuth) -> None:
        for digit in "0000":
            auth.press(digit)
        pin = auth.submit()
        assert pin is not None
        auth.pin_checked(verify_pin(pin, stored))

    auth = pad(clock)
    for _ in range(3):
        wrong(auth)
    assert auth.wait_s() == FIRST_LOCKOUT_S
    saved = json.loads((tmp_path / LOCKOUT_FILE).read_text())
    assert saved["failures"] == 3 and not list(tmp_path.glob("*.part"))

    # Power off and on 10 s later: the monotonic clock starts again, the wall clock goes on.
    clock.advance(10)
    rebooted = FakeClock(start=5.0, wall_offset=clock.wall() - 5.0)
    auth = pad(rebooted)
    assert auth.wait_s() == FIRST_LOCKOUT_S - 10, "the wait goes on after a restart"
    for digit in "4711":
        auth.press(digit)
    assert auth.submit() is None, "not even the right PIN is checked during the wait"
    rebooted.advance(auth.wait_s())
    wrong(auth)
    assert auth.wait_s() == 2 * FIRST_LOCKOUT_S, "the backoff doubles on, not from zero"

    # A damaged file never locks staff out for longer than the longest wait.
    (tmp_path / LOCKOUT_FILE).write_text("{not json")
    assert pad(rebooted).wait_s() == 0
