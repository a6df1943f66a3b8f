"""Staff PIN hashing, lockout and auto-lock; staff actions; the audit log; device health."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.domain import Evidence, EvidenceSource
from cart_app.engine import Engine
from cart_app.events import (
    Ask,
    ChangeKind,
    CompleteSession,
    Confirm,
    HandOff,
    Lock,
    RequestCheckout,
    StartSession,
)
from cart_app.ledger import Ledger
from cart_app.session import SessionState
from cart_app.store.link import LinkState, LinkStatus
from tests.ui.conftest import build_engine, run
from ui.i18n import Translator
from ui.staff_auth import PinHashError, hash_pin, main, parse_hash, verify_pin
from ui.viewmodels.audit import audit_rows
from ui.viewmodels.health import BAD_ICON, OK_ICON, WARN_ICON, HealthVM, battery_percent
from ui.viewmodels.maintenance import MaintenanceVM
from ui.viewmodels.staff_login import FIRST_LOCKOUT_S, StaffAuth

FAST_N = 2**10  # a cheap hash for tests; the parameters travel in the stored string


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_pin("4711", n=FAST_N)


def test_pin_hash_round_trip(stored: str) -> None:
    assert stored.startswith("scrypt$1024$8$1$")
    assert verify_pin("4711", stored)
    assert not verify_pin("4712", stored)
    assert not verify_pin("abcd", stored)
    assert hash_pin("4711", n=FAST_N) != stored  # a fresh salt every time
    assert parse_hash(hash_pin("123456"))[0] == 2**14  # the default cost


@pytest.mark.parametrize(
    "bad",
    ["", "md5$x", "scrypt$1000$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==", "scrypt$1024$8$1$!!$!!"],
)
def test_malformed_hashes_are_refused(bad: str) -> None:
    with pytest.raises(PinHashError):
        parse_hash(bad)


def test_short_pins_are_refused() -> None:
    with pytest.raises(ValueError, match="4 to 12 digits"):
        hash_pin("12")


def test_hash_pin_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["12"]) == 2
    assert main(["98765"]) == 0
    assert verify_pin("98765", capsys.readouterr().out.strip())


def test_pin_pad_and_lockout_with_backoff(stored: str, tr: Translator, clock: FakeClock) -> None:
    auth = StaffAuth(stored, tr, clock.monotonic, auto_lock_s=120)
    for d in "47":
        auth.press(d)
    assert auth.view.masked == "●●"
    auth.backspace()
    assert auth.view.masked == "●"
    auth.press("x")  # not a digit: ignored
    assert auth.view.masked == "●"
    assert auth.submit() == "4"
    # Three wrong tries, then a wait that doubles with each further failure.
    auth.pin_checked(False)
    assert auth.view.message == "Wrong PIN. 2 tries left before a wait."
    assert auth.submit() is None  # empty
    auth.press("1")
    assert auth.submit() == "1"
    auth.pin_checked(False)
    auth.press("1")
    assert auth.submit() == "1"
    auth.pin_checked(False)
    assert auth.wait_s() == int(FIRST_LOCKOUT_S)
    auth.press("4")
    assert auth.submit() is None
    assert auth.view.message.startswith("Too many wrong PINs")
    clock.advance(FIRST_LOCKOUT_S)
    auth.press("1")
    assert auth.submit() == "1"
    auth.pin_checked(False)
    assert auth.wait_s() == int(2 * FIRST_LOCKOUT_S)
    clock.advance(2 * FIRST_LOCKOUT_S)
    auth.press("4")
    assert auth.submit() == "4"
    auth.pin_checked(True)
    assert auth.unlocked and auth.staff_id == "pin"


def test_only_one_check_at_a_time(stored: str, tr: Translator, clock: FakeClock) -> None:
    auth = StaffAuth(stored, tr, clock.monotonic)
    auth.press("1")
    assert auth.submit() == "1"
    auth.press("2")
    assert auth.submit() is None
    assert auth.view.message == "Checking…"


def test_auto_lock_after_inactivity(stored: str, tr: Translator, clock: FakeClock) -> None:
    auth = StaffAuth(stored, tr, clock.monotonic, auto_lock_s=120)
    auth.badge_checked(True, "staff-7")
    assert auth.unlocked and auth.staff_id == "staff-7"
    clock.advance(100)
    auth.touch()
    clock.advance(100)
    assert not auth.tick()
    clock.advance(20)
    assert auth.tick()
    assert not auth.unlocked
    assert auth.view.message == "Maintenance locked itself after a while without use."


def test_badges_and_missing_pin(tr: Translator, clock: FakeClock) -> None:
    auth = StaffAuth("", tr, clock.monotonic)
    assert not auth.view.pin_enabled
    assert auth.view.message == "No staff PIN is configured: scan a staff badge."
    auth.press("1")
    assert auth.submit() is None
    auth.badge_checked(False, None, "expired")
    assert auth.view.message == "Badge refused: expired"
    auth.badge_failed("store unreachable")
    assert auth.view.message == "Badge could not be checked: store unreachable"
    broken = StaffAuth("scrypt$bad", tr, clock.monotonic)
    assert not broken.view.pin_enabled and "not a scrypt PIN hash" in broken.view.message


def test_staff_actions_through_the_engine(
    engine: Engine, demo_catalog: Catalog, tr: Translator
) -> None:
    vm = MaintenanceVM(demo_catalog, "SEK", tr)
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 2))
    run(engine, Confirm(ChangeKind.ADD, "FV-BANANA", 1, weight_g=500.0))
    vm.update(run(engine, Ask("staff_needed", ("D-MILK-MED", ":scan", ":none"))))
    view = vm.view
    assert [line.text for line in view.lines] == [
        "#3  2 × Standardmjölk 3 % 1 l",
        "#4  Bananer ekologiska  0,500 kg",
    ]
    (prompt,) = view.prompts
    assert prompt.title == "A member of staff will help you."
    assert prompt.answers == (
        ("D-MILK-MED", "1 × Mellanmjölk 1,5 % 1 l"),
        (":none", "Nothing went in"),
    )
    assert view.state == "shopping" and view.can_end and not view.can_reset
    # Resolving goes through fusion: the chosen product is added.
    snap = run(engine, vm.resolve_prompt(prompt.prompt_id, "D-MILK-MED"))
    assert snap.basket.pending_prompts == ()
    assert snap.basket.lines[-1].sku == "D-MILK-MED"
    snap = run(engine, vm.void_line(3, "staff-7"))
    assert [line.sku for line in snap.basket.lines] == ["FV-BANANA", "D-MILK-MED"]
    # Ending an abandoned trip voids every line and returns the cart to idle.
    vm.update(snap)
    for command in vm.end_session("staff-7"):
        snap = run(engine, command)
    assert snap.basket.state is SessionState.IDLE


def test_end_trip_of_a_handed_off_basket_completes_it(
    engine: Engine, demo_catalog: Catalog, tr: Translator
) -> None:
    vm = MaintenanceVM(demo_catalog, "SEK", tr)
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    run(engine, RequestCheckout())
    vm.update(run(engine, HandOff("h1", "t")))
    assert vm.end_session("s1") == [CompleteSession("paid at a staffed lane (staff s1)")]
    snap = run(engine, vm.end_session("s1")[0])
    vm.update(snap)
    assert vm.view.can_reset
    assert run(engine, vm.reset("s1")).basket.state is SessionState.IDLE


def test_a_locked_cart_is_unlocked_or_ended(
    engine: Engine, demo_catalog: Catalog, tr: Translator
) -> None:
    vm = MaintenanceVM(demo_catalog, "SEK", tr)
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    vm.update(run(engine, Lock("tamper")))
    view = vm.view
    assert view.can_unlock_cart and view.state == "locked"
    for command in vm.end_session("s1"):
        snap = run(engine, command)
    assert snap.basket.state is SessionState.IDLE and snap.basket.lines == ()


def test_audit_log_rows(tmp_path: Path, demo_catalog: Catalog, clock: FakeClock) -> None:
    engine, ledger = build_engine(tmp_path, demo_catalog, clock)
    try:
        run(engine, StartSession(session_id="s1"))
        scan = Evidence(EvidenceSource.BARCODE, weight_delta_g=1061.0, gtin="07350999000103")
        run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1, evidence=scan))
        rows = audit_rows(ledger.entries("s1"), lambda sku: f"<{sku}>")
    finally:
        ledger.close()
    assert [r.what for r in rows] == [
        "+ line 3: 1 × <D-MILK-STD>",
        "→ shopping: shopper",
        "session started on cart-ui",
    ]
    assert rows[0].evidence == "barcode; +1 061 g; gtin 07350999000103"
    assert rows[0].seq == 3 and len(rows[0].time) == 8


def test_health_rows_and_weight_trace(tmp_path: Path, clock: FakeClock) -> None:
    sample = SimpleNamespace(t=1.0, grams=812.5)
    scale = SimpleNamespace(
        status=lambda: SimpleNamespace(state="ok", reason="frames arrive", last_sample=sample)
    )
    camera = SimpleNamespace(
        name="cam-top",
        stats=lambda: SimpleNamespace(
            camera_id="top", state="running", fps=14.8, frames=900, drops=3, last_error=None
        ),
    )
    link = LinkStatus(LinkState.OFFLINE, "unreachable", 0.0, 4)
    vm = HealthVM(
        cameras=[camera],
        scale=scale,
        link=lambda: link,
        data_dir=tmp_path,
        battery=lambda: (15, "Discharging"),
        monotonic=clock.monotonic,
    )
    view = vm.poll()
    rows = {r.name: r for r in view.rows}
    assert rows["camera top"].icon == OK_ICON
    assert rows["camera top"].detail == "14.8 fps, 900 frames, 3 dropped"
    assert (rows["scale"].icon, rows["scale"].state) == (OK_ICON, "ok")
    assert (rows["store"].icon, rows["store"].detail) == (
        BAD_ICON,
        "unreachable; 4 waiting to send",
    )
    assert rows["disk"].state in ("ok", "low")
    assert (rows["battery"].icon, rows["battery"].detail) == (WARN_ICON, "15 %, discharging")
    assert view.trace == ((0.0, 812.5),) and view.weight == "812.5 g"
    clock.advance(1)
    sample.t, sample.grams = 2.0, 900.0
    clock.advance(40)
    sample.t = 3.0
    view = vm.poll()
    assert view.trace == ((0.0, 900.0),)  # older than the trace window: dropped


def test_health_without_devices(clock: FakeClock, tmp_path: Path) -> None:
    vm = HealthVM(monotonic=clock.monotonic, battery=lambda: None)
    rows = {r.name: r for r in vm.poll().rows}
    assert rows["camera"].detail == "no camera running"
    assert rows["scale"].state == "none"
    assert rows["store"].state == "embedded"
    assert rows["battery"].state == "unknown"
    # No battery directory at all reads as unknown, not an error.
    assert battery_percent(tmp_path / "missing") is None


def test_battery_from_sysfs(tmp_path: Path) -> None:
    bat = tmp_path / "BAT0"
    bat.mkdir()
    (bat / "type").write_text("Battery\n")
    (bat / "capacity").write_text("87\n")
    (bat / "status").write_text("Charging\n")
    ac = tmp_path / "AC"
    ac.mkdir()
    (ac / "type").write_text("Mains\n")
    assert battery_percent(tmp_path) == (87, "Charging")


def test_ledger_fixture_is_closed(tmp_path: Path, clock: FakeClock) -> None:
    with Ledger.open(tmp_path / "l.sqlite3", clock) as ledger:
        assert ledger.latest_session_id() is None


def test_calibration_wizard_steps_and_save() -> None:
    from scale.calibration import Calibration
    from ui.viewmodels.calibration import CalibrationVM

    saved: list[Calibration] = []

    def apply(cal: Calibration) -> str:
        saved.append(cal)
        return "/data/scale_calibration.json"

    # One reading per step: empty, then 2000 g on each corner loading mostly its own cell.
    zero = (1000.0, 1000.0, 1000.0, 1000.0)
    corners = [tuple(1000.0 + (20000.0 if i == j else 500.0) for i in range(4)) for j in range(4)]
    vm = CalibrationVM(available=True, capture=lambda: zero, apply=apply)
    assert vm.view.available and not vm.view.can_capture
    vm.change_reference(+500)
    assert vm.view.reference == "reference weight 2500 g"
    vm.start()
    assert vm.view.progress == "step 1 of 5" and vm.view.step.startswith("Empty the basket")
    for counts in [zero, *corners]:
        job = vm.capture_job()
        assert job is not None and vm.view.busy and vm.capture_job() is None
        vm.captured(counts, None)
    assert vm.view.can_save and vm.view.progress == "5 of 5 done"
    vm.save()
    assert len(saved) == 1 and vm.view.message.startswith("✓ saved to /data/")


def test_calibration_wizard_reports_failures() -> None:
    from ui.viewmodels.calibration import CalibrationVM

    vm = CalibrationVM(available=True, capture=lambda: (), apply=lambda c: "")
    vm.start()
    assert vm.capture_job() is not None
    vm.captured(None, TimeoutError("no complete capture within 10 s"))
    assert vm.view.message == "✕ no complete capture within 10 s" and vm.view.can_capture
    assert not CalibrationVM(available=False).view.available
