"""The tools' plain logic, headless: the keypad and the budget, the keyboard wedge, the
developer panel, product enrolment and the staff audit log."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.devices import SimReading
from cart_app.domain import Product
from cart_app.engine import Engine
from cart_app.events import (
    ChangeKind,
    CompleteSession,
    Confirm,
    HandOff,
    RequestCheckout,
    ResetCart,
    StartSession,
)
from tests.ui.conftest import run
from ui.i18n import Translator
from ui.scanner import KeyboardWedge, product_gtin
from ui.staff_audit import StaffAuditError, StaffAuditLog, staff_rows
from ui.viewmodels.basket import BasketVM
from ui.viewmodels.devpanel import DevPanelVM, DevResult
from ui.viewmodels.enrolment import (
    MAX_SHOTS,
    MIN_SHOTS,
    EnrolmentVM,
    EnrolOutcome,
    Image,
    basket_crop,
    grab_shots,
)
from ui.viewmodels.keypad import BACK, CLEAR, MAX_BUDGET_CENTS, BudgetDialogVM, KeypadVM


# -- the keypad and the budget ---------------------------------------------------------------------
def test_keypad_reads_exact_fixed_point_amounts() -> None:
    pad = KeypadVM(decimals=2, max_digits=4)
    assert pad.value is None and pad.text == ""
    for key in "0012,505":
        pad.press(key)
    assert pad.text == "12,50" and pad.value == 1250  # leading zeros dropped, 2 decimals kept
    pad.press(",")  # a second comma is ignored
    pad.press(BACK)
    pad.press(BACK)
    assert pad.text == "12," and pad.value == 1200
    pad.press(BACK)
    for key in "99999":
        pad.press(key)
    assert pad.value == 129_900  # four whole digits at most
    pad.press(CLEAR)
    assert pad.value is None
    pad.set_value(4_550)
    assert pad.text == "45,5"
    grams = KeypadVM(decimals=0, max_digits=5)
    for key in "1,060x":
        grams.press(key)
    assert grams.value == 1060  # no decimals for grams; unknown keys ignored


def test_budget_dialog(tr: Translator) -> None:
    vm = BudgetDialogVM("SEK", tr)
    view = vm.open(25_000)
    assert view.open and view.amount == "250,00 kr" and view.can_remove
    vm.press("1")  # the first digit starts a new amount rather than extend 250
    vm.press("9")
    assert vm.view.amount == "19,00 kr" and vm.view.can_ok
    assert vm.confirm() == 1_900 and not vm.view.open
    vm.open(None)
    assert not vm.view.can_remove and not vm.view.can_ok
    assert vm.confirm() is None and vm.view.message == "Type an amount first."
    for key in "9999999":
        vm.press(key)
    assert vm.confirm() is None and vm.view.message.startswith("A budget can be at most")
    assert MAX_BUDGET_CENTS < 999_999 * 100
    assert vm.close().open is False


def test_the_shoppers_budget_replaces_the_configured_one_for_one_trip(
    demo_catalog: Catalog, engine: Engine, tr: Translator
) -> None:
    vm = BasketVM(demo_catalog, "SEK", tr)
    run(engine, StartSession())
    snap = run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    view = vm.update(snap)
    assert view.budget.visible and view.budget.cap_cents == 10_000  # configured: 100 kr
    assert view.budget.button == "Change budget"
    view = vm.set_budget(1_900)
    assert (view.budget.icon, view.budget.text) == (
        "!",
        "Close to your budget: 1,05 kr left of 19,00 kr",
    )
    view = vm.set_budget(1_000)
    assert view.budget.level == "over" and view.budget.text.startswith("Over your budget by")
    view = vm.set_budget(None)
    assert not view.budget.visible and view.budget.button == "Set budget"
    # The next trip starts from the store's default again.
    run(engine, RequestCheckout())
    run(engine, HandOff("k1"))
    run(engine, CompleteSession())
    run(engine, ResetCart())
    view = vm.update(run(engine, StartSession()))
    assert view.budget.visible and view.budget.cap_cents == 10_000


# -- the keyboard wedge ----------------------------------------------------------------------------
def test_the_wedge_turns_keys_into_codes(clock: FakeClock) -> None:
    codes: list[str] = []
    wedge = KeyboardWedge(codes.append, clock.monotonic, stale_s=2.0)
    wedge.text("7350999")
    wedge.text("000103")
    wedge.enter()
    wedge.text("SCSTAFF:badge-1\r")  # a scanner that sends CR as text
    wedge.enter()  # nothing typed: no code
    assert codes == ["7350999000103", "SCSTAFF:badge-1"]
    wedge.text("12")  # a stray key press, then the real scan much later
    clock.advance(5)
    wedge.text("7350999000127")
    assert wedge.pending == "7350999000127"
    wedge.enter()
    assert codes[-1] == "7350999000127"
    wedge.text("x" * 5000)
    assert len(wedge.pending) == 2000  # never more than a code can be


def test_product_codes() -> None:
    assert product_gtin("7350999000103") == "07350999000103"
    assert product_gtin(" 07350999000103 ") == "07350999000103"
    assert product_gtin("7350999000104") is None  # check digit wrong
    assert product_gtin("SCAPP:m1") is None


# -- the developer panel ---------------------------------------------------------------------------
class FakeSim:
    """Records what the panel asked; answers with ready futures."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []
        self.items_g = 0.0

    def _done(self, text: str) -> Future[str]:
        future: Future[str] = Future()
        future.set_result(text)
        return future

    def put(self, grams: float) -> Future[str]:
        self.calls.append(("put", grams))
        return self._done("put")

    def take(self, grams: float) -> Future[str]:
        self.calls.append(("take", grams))
        failed: Future[str] = Future()
        failed.set_exception(ValueError(f"no item of {grams:g} g in the basket"))
        return failed

    def lean(self, grams: float = 400.0, seconds: float = 1.5) -> Future[str]:
        self.calls.append(("lean", grams))
        return self._done("lean")

    def push(self, seconds: float = 1.0) -> Future[str]:
        self.calls.append(("push", seconds))
        return self._done("push")

    def reading(self) -> SimReading | None:
        return SimReading(self.items_g + 0.4, self.items_g, True)


def test_dev_panel_drives_the_simulator(demo_catalog: Catalog, tr: Translator) -> None:
    sim = FakeSim()
    products: Sequence[Product] = demo_catalog.products()
    vm = DevPanelVM(sim, products, tr, warnings=("no webcam at /dev/video0",))
    assert vm.available and not vm.visible and vm.grams == 250
    assert vm.toggle().visible and vm.view.warnings == ("no webcam at /dev/video0",)
    for key in "1060":
        vm.key(key)  # the first digit replaces the default 250
    assert vm.view.grams == "1 060 g"
    future = vm.act("put")
    assert future is not None and sim.calls == [("put", 1060.0)]
    assert vm.view.last.startswith("…")
    vm.done(DevResult("put", 1060.0))
    assert vm.view.last == "✓ 1 060 g put in"
    vm.done(DevResult("take", 1060.0, "no item of 1060 g in the basket"))
    assert vm.view.last == "✕ the simulator did not do it: no item of 1060 g in the basket"
    vm.preset(500)
    assert vm.grams == 500
    vm.next_product()
    assert vm.view.product.startswith(products[0].name) and vm.grams == round(
        products[0].nominal_weight_g
    )
    vm.next_product(-1)
    assert vm.view.product.startswith(products[-1].name)
    for action in ("lean", "push"):
        assert vm.act(action) is not None
    assert [c[0] for c in sim.calls] == ["put", "lean", "push"]
    sim.items_g = 1060.0
    assert vm.poll().reading == "Scale: 1 060 g, items 1 060 g (settled)"
    vm.key(CLEAR)
    assert vm.act("put") is None and vm.view.last == "✕ Set a weight first."
    assert not vm.toggle().visible


def test_no_simulator_no_panel(tr: Translator) -> None:
    vm = DevPanelVM(None, (), tr)
    assert not vm.available and not vm.toggle().visible and vm.act("put") is None


# -- enrolment -------------------------------------------------------------------------------------
class FakeFeed:
    def __init__(self, camera_id: str, image: Image | None) -> None:
        self._id = camera_id
        self.image = image

    @property
    def camera_id(self) -> str:
        return self._id

    def latest(self) -> tuple[Image, tuple[float, float, float, float]] | None:
        if self.image is None:
            return None
        return self.image, (0.25, 0.5, 0.5, 0.5)


class FakeEnroller:
    def __init__(self) -> None:
        self.enrolled: list[tuple[str, str, int, str]] = []

    def references(self, label: str) -> int:
        return 4 * sum(n for _sku, lb, n, _staff in self.enrolled if lb == label)

    def enrol(
        self, product: Product, label: str, images: Sequence[Image], staff: str
    ) -> EnrolOutcome:
        self.enrolled.append((product.sku, label, len(images), staff))
        return EnrolOutcome(label, 4 * len(images), self.references(label), "/data/gallery.npz")


def frame(value: int = 90) -> Image:
    image = np.zeros((40, 80, 3), dtype=np.uint8)
    image[20:, 20:60] = value  # the basket region of FakeFeed's ROI
    return image


def test_basket_crop_is_the_roi_and_a_copy() -> None:
    image = frame()
    crop = basket_crop(image, (0.25, 0.5, 0.5, 0.5))
    assert crop.shape == (20, 40, 3) and int(crop.min()) == 90
    image[:] = 0  # the camera reuses its buffer: the crop must not change with it
    assert int(crop.min()) == 90
    shots = grab_shots([FakeFeed("top", frame()), FakeFeed("side", None)])
    assert [s.camera_id for s in shots] == ["top"]


def test_enrolment_pick_capture_enrol(demo_catalog: Catalog, tr: Translator) -> None:
    enroller = FakeEnroller()
    vm = EnrolmentVM(demo_catalog, tr, feeds=[FakeFeed("top", frame())], enroller=enroller)
    assert vm.available and vm.view.note == "Pick the product to enrol."
    assert vm.capture_job() is None  # nothing picked yet
    rows = vm.search("mjölk").results
    assert rows[0].name == "Standardmjölk 3 % 1 l" and rows[0].detail.startswith("D-MILK-STD")
    vm.select("D-MILK-STD")
    assert vm.view.note == "Label Arla-Standard-Milk: 0 reference views so far."
    for _ in range(MIN_SHOTS - 1):
        job = vm.capture_job()
        assert job is not None and vm.view.busy and vm.capture_job() is None
        vm.captured(job(), None)
    assert len(vm.view.shots) == MIN_SHOTS - 1 and not vm.view.can_enrol
    assert vm.view.count.startswith(f"{MIN_SHOTS - 1} views captured")
    job = vm.capture_job()
    assert job is not None
    vm.captured(job(), None)
    vm.remove_shot(0)
    assert len(vm.view.shots) == MIN_SHOTS - 1
    job = vm.capture_job()
    assert job is not None
    vm.captured(job(), None)
    enrol = vm.enrol_job("badge-7")
    assert enrol is not None and vm.view.busy and not vm.view.can_capture
    vm.enrolled(enrol(), None)
    assert enroller.enrolled == [("D-MILK-STD", "Arla-Standard-Milk", MIN_SHOTS, "badge-7")]
    assert vm.view.shots == () and vm.view.message.startswith("✓ enrolled: 12 reference views")
    assert vm.view.note == "Label Arla-Standard-Milk: 12 reference views so far."


def test_enrolment_refusals_and_failures(demo_catalog: Catalog, tr: Translator) -> None:
    feed = FakeFeed("top", None)
    vm = EnrolmentVM(demo_catalog, tr, feeds=[feed], enroller=FakeEnroller())
    vm.select("J-LAGER-50CL")  # no recogniser label in the catalog
    assert vm.view.note.startswith("This product has no recogniser label")
    assert not vm.view.can_capture
    vm.select_code("7350999000127")  # a scanned barcode picks its product
    assert vm.product is not None and vm.product.sku == "D-MILK-MED"
    vm.select_code("0000000000000")
    assert vm.view.message == "No single product has the code 0000000000000."
    job = vm.capture_job()
    assert job is not None
    vm.captured(job(), None)  # the camera has no frame yet
    assert vm.view.message == "✕ no camera has a frame yet"
    vm.captured(None, OSError("camera gone"))
    assert vm.view.message == "✕ no capture: camera gone"
    feed.image = frame()
    for _ in range(MAX_SHOTS + 2):
        job = vm.capture_job()
        if job is not None:
            vm.captured(job(), None)
    assert len(vm.view.shots) == MAX_SHOTS and not vm.view.can_capture
    enrol = vm.enrol_job("s1")
    assert enrol is not None
    vm.enrolled(None, RuntimeError("disk full"))
    assert vm.view.message == "✕ not enrolled: disk full" and len(vm.view.shots) == MAX_SHOTS
    vm.clear()
    assert vm.view.shots == ()
    off = EnrolmentVM(demo_catalog, tr, feeds=[feed], enroller=None)
    assert not off.available and off.view.note.startswith("Recognition is off")
    assert EnrolmentVM(demo_catalog, tr).view.note.startswith("No camera runs")


# -- the staff audit log ---------------------------------------------------------------------------
def test_staff_audit_log_is_chained(tmp_path: Path, clock: FakeClock, tr: Translator) -> None:
    log = StaffAuditLog(tmp_path / "audit.jsonl", clock.wall)
    assert log.entries() == []
    details: dict[str, str | int | float] = {
        "sku": "D-MILK-MED",
        "name": "Mellanmjölk",
        "label": "L",
        "photos": 3,
        "views": 12,
    }
    log.append("badge-7", "enrol", details)
    log.append("pin", "enrol", {**details, "photos": 5, "views": 20})
    log.verify()
    entries = log.entries()
    assert [(e.staff, e.details["photos"]) for e in entries] == [("badge-7", 3), ("pin", 5)]
    rows = staff_rows(entries, tr)
    assert rows[0].what == "★ enrolled Mellanmjölk as L: 5 views (20 references) by staff pin"
    lines = log.path.read_bytes().splitlines()
    log.path.write_bytes(lines[0].replace(b"badge-7", b"badge-8") + b"\n" + lines[1] + b"\n")
    with pytest.raises(StaffAuditError, match="2: chain broken"):
        log.verify()
