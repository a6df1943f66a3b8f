"""The engine thread: the single writer of cart state.

Everything that changes the basket arrives as a command in the engine's inbox. The engine
decides (pure, :mod:`cart_app.decide`), appends the resulting records durably to the ledger, folds
them into the basket and publishes a snapshot to its listeners. One thread doing all writes keeps
ordering deterministic and replayable.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Protocol

from cart_app.basket import BasketFoldError, BasketState, apply, empty_basket, restore
from cart_app.clock import Clock
from cart_app.decide import DecideContext, ProductLookup, Rejected, decide, expired_prompts
from cart_app.domain import Coupon, Offer, PricingMode, Product
from cart_app.events import (
    Answer,
    ApplyCoupon,
    Command,
    CommandRejected,
    EngineFault,
    Lock,
    Sensed,
    StartSession,
)
from cart_app.fusion import Fuser
from cart_app.ledger import Ledger
from cart_app.offers import coupon_problem
from cart_app.pricing import (
    BudgetStatus,
    PricingError,
    PricingPolicy,
    Receipt,
    budget_status,
    price_basket,
)
from cart_app.records import LineAdded, Record
from cart_app.session import SessionState
from scale.types import WeightChange
from vision.types import ItemObservation

log = logging.getLogger(__name__)


class CatalogView(ProductLookup, Protocol):
    """What the engine reads from the catalog: products by SKU and the store's offers."""

    def offers(self) -> list[Offer]:
        """Active multi-buy offers."""
        ...

    def record_weighing(self, sku: str, grams: float) -> bool:
        """Learn one confirmed unit weight of ``sku``."""
        ...


@dataclass(frozen=True, slots=True)
class CartSnapshot:
    """Everything a screen shows, as of ``version`` (one per applied command)."""

    version: int
    basket: BasketState
    receipt: Receipt | None
    budget: BudgetStatus | None
    fault: str | None = None


EngineEvent = CartSnapshot | CommandRejected | EngineFault
Input = Command | Sensed
"""What the engine's inbox accepts: commands, and sensor readings for fusion."""
Listener = Callable[[EngineEvent], None]
InputTap = Callable[[float, Input], None]
"""Hears every input submitted from outside, with the monotonic time it arrived (a recorder)."""


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """The engine's named settings, from the ``[engine]``, ``[fusion]`` and ``[pricing]`` tables."""

    cart_id: str
    prompt_timeout_s: float
    inbox_poll_s: float
    stop_timeout_s: float
    budget_cap_cents: int | None = None
    budget_warn_ratio_bp: int = 9000


_STOP = object()
MAX_COUPON_CODE = 64
"""Longest coupon code accepted (a QR payload can hold far more)."""


def _name_staff(command: Command, answer: Answer) -> Command:
    """``command`` with the answering staff member's id, when it records ``answer``."""
    if (
        isinstance(command, Answer)
        and command.answered_by == "staff"
        and answer.answered_by == "staff"
        and answer.staff_id
    ):
        return replace(command, answered_by=f"staff {answer.staff_id}", staff_id=answer.staff_id)
    return command


def fold_all(state: BasketState, records: list[Record]) -> BasketState:
    """``state`` after ``records``; raises :class:`BasketFoldError` if one cannot apply."""
    for record in records:
        state = apply(state, record)
    return state


class Engine:
    """Owns the basket. Thread-safe API: :meth:`submit`, :meth:`call`, :meth:`subscribe`."""

    name = "engine"

    def __init__(
        self,
        ledger: Ledger,
        catalog: CatalogView,
        policy: PricingPolicy,
        clock: Clock,
        settings: EngineSettings,
        *,
        fuser: Fuser | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self._fuser = fuser
        self._new_id = new_id  # session ids; a replay passes a deterministic source
        self._input_taps: list[InputTap] = []
        self._ledger = ledger
        self._catalog = catalog
        self._policy = policy
        self._clock = clock
        self._settings = settings
        self._inbox: queue.Queue[tuple[Input, Future[EngineEvent] | None] | object] = queue.Queue()
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._state = empty_basket()
        self._version = 0
        self._fault: str | None = None
        self._snapshot: CartSnapshot | None = None
        self._snapshot_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Restore the basket from the ledger and start the engine thread."""
        self.restore()
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the commands already in the inbox, then end the thread."""
        if self._thread is None:
            return
        self._inbox.put(_STOP)
        self._thread.join(self._settings.stop_timeout_s)
        if self._thread.is_alive():
            log.error("engine did not stop within %.1f s", self._settings.stop_timeout_s)
        self._thread = None

    def restore(self) -> None:
        """Restore the basket from the ledger without a thread (a replay drives :meth:`handle`
        and :meth:`tick` itself, on its own clock)."""
        self._state = restore(self._ledger)
        with self._snapshot_lock:
            self._snapshot = self._make_snapshot()

    def tick(self) -> None:
        """Let time act now, as the engine thread does on every loop turn (for a replay)."""
        self._tick()

    # -- API for other threads -------------------------------------------------------------
    def submit(self, command: Input) -> None:
        """Queue ``command``; its outcome reaches listeners."""
        self._tap(command)
        self._inbox.put((command, None))

    def call(self, command: Input, timeout: float | None = None) -> EngineEvent:
        """Queue ``command`` and wait for its outcome (a snapshot, rejection or fault)."""
        self._tap(command)
        future: Future[EngineEvent] = Future()
        self._inbox.put((command, future))
        return future.result(timeout)

    def tap_inputs(self, tap: InputTap) -> None:
        """Hand every input submitted from now on to ``tap`` too (add before :meth:`start`)."""
        self._input_taps.append(tap)

    def _tap(self, command: Input) -> None:
        for tap in self._input_taps:
            try:
                tap(self._clock.monotonic(), command)
            except Exception:  # a recorder must never cost the shopper an input
                log.exception("engine input tap failed")

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` (on the engine thread) with every event; returns an unsubscribe."""
        with self._listeners_lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._listeners_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    @property
    def snapshot(self) -> CartSnapshot:
        """The latest published snapshot."""
        with self._snapshot_lock:
            if self._snapshot is None:
                return self._make_snapshot()
            return self._snapshot

    # -- engine thread ---------------------------------------------------------------------
    def _run(self) -> None:
        # Listeners hear the restored basket from the engine thread, like every other event.
        self._publish(self.snapshot)
        while True:
            try:
                item = self._inbox.get(timeout=self._settings.inbox_poll_s)
            except queue.Empty:
                try:
                    self._tick()
                except Exception:  # the thread outlives any one failure of the timers
                    log.exception("engine tick failed")
                continue
            if item is _STOP:
                return
            assert isinstance(item, tuple)
            command, future = item
            try:
                event = self.handle(command)
            except Exception as exc:  # a bug must cost one command, never the engine thread
                # The type only: a command's text may hold what a shopper scanned.
                log.exception("engine failed on a %s command", type(command).__name__)
                event = CommandRejected(command, f"internal error: {exc}")
                self._publish(event)
            if future is not None:
                future.set_result(event)
            try:
                self._tick()
            except Exception:
                log.exception("engine tick failed")

    def _tick(self) -> None:
        """Let time act: fusion's pairing windows and prompt deadlines."""
        if self._fuser is not None:
            # Fusion owns its prompts' deadlines (a timed-out prompt goes to staff).
            self._apply_all(self._fuser.tick(self._clock.monotonic(), self._state))
            return
        self._expire_prompts()

    def _expire_prompts(self) -> None:
        for answer in expired_prompts(self._state, self._clock.wall()):
            self.handle(answer)

    def handle(self, command: Input) -> EngineEvent:
        """Apply one input now. Only the engine thread (or a test without a thread) calls it.

        Sensor readings and the shopper's answers go through fusion when there is a fuser;
        everything else is decided and recorded directly.
        """
        fuser = self._fuser
        if isinstance(command, Sensed):
            if fuser is None:
                return self._reject(command, "no fusion configured for sensor readings")
            return self._sensed(fuser, command)
        if isinstance(command, Answer) and command.answered_by in ("shopper", "staff") and fuser:
            # Who answered goes with it: a staff answer is recorded (and audited) as staff's,
            # naming the staff member.
            commands = fuser.on_answer(
                command.prompt_id, command.answer, self._state, command.answered_by
            )
            return self._apply_all([_name_staff(c, command) for c in commands])
        if isinstance(command, Answer):
            return self._apply(_name_staff(command, command))
        return self._apply(command)

    def _sensed(self, fuser: Fuser, sensed: Sensed) -> EngineEvent:
        reading = sensed.reading
        if isinstance(reading, WeightChange):
            if self._state.state is SessionState.IDLE:
                # Something went into an idle cart: open a session so it is charged.
                self._apply(StartSession(reason="item placed in an idle cart"))
            return self._apply_all(fuser.on_weight_change(reading, self._state))
        if isinstance(reading, ItemObservation):
            return self._apply_all(fuser.on_observation(reading, self._state))
        return self._apply_all(fuser.on_scan(reading, self._state))

    def _apply_all(self, commands: list[Command]) -> EngineEvent:
        event: EngineEvent | None = None
        for command in commands:
            event = self._apply(command)
            if isinstance(event, CommandRejected):
                log.warning("fusion's %s was refused: %s", command, event.reason)
        return event if event is not None else self.snapshot

    def _reject(self, command: Input, reason: str) -> EngineEvent:
        event = CommandRejected(command, reason)
        self._publish(event)
        return event

    def _apply(self, command: Command) -> EngineEvent:
        if self._fault is not None and not isinstance(command, Lock):
            event: EngineEvent = CommandRejected(command, f"cart is locked: {self._fault}")
            self._publish(event)
            return event
        if isinstance(command, ApplyCoupon):
            problem = self._coupon_problem(command.coupon)
            if problem is not None:
                return self._reject(command, problem)
        ctx = DecideContext(
            products=self._catalog,
            cart_id=self._settings.cart_id,
            now_wall=self._clock.wall(),
            prompt_timeout_s=self._settings.prompt_timeout_s,
            **({"new_id": self._new_id} if self._new_id is not None else {}),
        )
        try:
            records = decide(self._state, command, ctx)
            # Fold into a scratch basket first: a record the fold refuses would be a decide bug,
            # and it must be refused here, before the ledger, not lock the cart after it.
            fold_all(self._state, records)
        except (Rejected, BasketFoldError) as exc:
            if isinstance(exc, BasketFoldError):
                log.error("decide produced an impossible record: %s", exc)
            event = CommandRejected(command, str(exc))
            self._publish(event)
            return event
        try:
            self._commit(records)
        except Exception as exc:  # the ledger is the basket: any failure to write locks the cart
            log.exception("ledger write failed")
            self._fault = f"cannot record the basket: {exc}"
            fault = EngineFault(self._fault)
            self._publish(fault)
            self._publish(self._make_snapshot())
            return fault
        self._learn_weights(records)
        snapshot = self._make_snapshot()
        self._publish(snapshot)
        return snapshot

    def _coupon_problem(self, coupon: Coupon) -> str | None:
        """Why a scanned coupon is refused, checked against the catalog; None if it is valid.

        A coupon is refused when it is malformed (no or both discounts, out of range), has no
        printable code, or names a product the store does not sell. Single use per session is
        the decision rule's (:func:`cart_app.decide.decide`): a code already applied is refused.
        """
        code = coupon.code
        printable = code.isprintable() and code == code.strip()
        if not code or len(code) > MAX_COUPON_CODE or not printable:
            return f"coupon code {code[:MAX_COUPON_CODE]!r} is not a valid code"
        problem = coupon_problem(coupon)
        if problem is not None:
            return f"coupon {code}: {problem}"
        if coupon.sku is not None and self._catalog.by_sku(coupon.sku) is None:
            return f"coupon {code} is for {coupon.sku!r}, which this store does not sell"
        return None

    def _learn_weights(self, records: list[Record]) -> None:
        """Feed confirmed per-unit weighings to the catalog's learnt weight spread."""
        for record in records:
            if not isinstance(record, LineAdded) or record.evidence is None:
                continue
            delta = record.evidence.weight_delta_g
            product = self._catalog.by_sku(record.sku)
            if delta is None or product is None or product.pricing_mode is not PricingMode.PER_UNIT:
                continue
            try:
                self._catalog.record_weighing(record.sku, delta / record.quantity)
            except Exception as exc:  # learning is a bonus, never a failure (disk full too)
                log.warning("weighing of %s not learnt: %s", record.sku, exc)

    def _commit(self, records: list[Record]) -> None:
        after = fold_all(self._state, records)
        # One transaction per command: a power cut never leaves half of it in the ledger.
        self._ledger.append_all(after.session_id, records)
        self._state = after

    def _products(self) -> dict[str, Product]:
        products: dict[str, Product] = {}
        for line in self._state.lines:
            product = self._catalog.by_sku(line.sku)
            if product is not None:
                products[line.sku] = product
        return products

    def _make_snapshot(self) -> CartSnapshot:
        self._version += 1
        try:
            receipt = price_basket(
                self._state.lines,
                self._products(),
                self._catalog.offers(),
                self._state.coupons,
                self._policy,
            )
        except PricingError as exc:
            # The lines stay as recorded; only the total is unknown until the catalog is fixed.
            log.error("cannot price the basket: %s", exc)
            fault = self._fault or f"cannot price the basket: {exc}"
            return CartSnapshot(self._version, self._state, None, None, fault)
        budget = budget_status(
            receipt.total_cents,
            self._settings.budget_cap_cents,
            self._settings.budget_warn_ratio_bp,
        )
        return CartSnapshot(self._version, self._state, receipt, budget, self._fault)

    def _publish(self, event: EngineEvent) -> None:
        if isinstance(event, CartSnapshot):
            with self._snapshot_lock:
                self._snapshot = event
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken screen must not stop the basket
                log.exception("engine listener failed")
