"""The cart's health in one place: what works, what does not, and what the shopper is told.

Every device already reports its own state (the scale service its link state and alerts, each
camera's capture its state, the store link online/degraded/offline, the engine a fault when the
ledger cannot be written). :class:`CartHealth` folds them into one :class:`HealthState`: a level
per component, the worst level overall, the **mode** the cart sells in, and the **banner**
the screen shows. It only listens and polls, so it cannot make anything worse, and every
component comes back to ``ok`` by itself when its source does: nothing here needs a reset.

Modes (what still confirms an item):

==================== ==========================================================================
``normal``           camera, barcode and scale, as designed
``barcode_and_weight`` no camera: items are confirmed by their barcode and the scale
``weight_locked``    no scale: nothing can be confirmed by weight; the basket's weight is not
                     trusted until the scale is back, the shopper is asked to scan each item
                     and a staff check is due before payment
``locked``           the basket cannot be recorded (disk full, damaged ledger): staff only
==================== ==========================================================================

**Staff check** (``HealthState.staff_check_due``): a trip that was open while the cart was
``weight_locked`` is not paid without a member of staff looking at the basket. Whatever went
in while the scale was away (or had no weight) was confirmed without the weight that the cart
normally checks every line against, so it must not reach the lane silently: the checkout
screen refuses the handoff and calls staff until :meth:`CartHealth.staff_checked` (staff, in
maintenance) clears it. The due check stays set after the scale is back, since the lines of
the blind stretch stay in the basket; it is raised again by a line that changes while the
weight is still locked, and dropped when the trip ends.

The store being offline changes no mode: the cart is offline first (handoff tokens are signed
on the cart and the outbox waits), so it is a notice, not a degradation of selling.

Threads: inputs arrive on the scale thread, the link's threads, the engine thread and whoever
polls the cameras; the state is kept under a lock and listeners are called outside it.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from cart_app.clock import Clock
from cart_app.engine import CartSnapshot, EngineEvent
from cart_app.events import EngineFault
from cart_app.session import SessionState
from cart_app.store.link import LinkState, LinkStatus
from scale.filter_types import Settled, ZeroAlert
from scale.state import DeviceState, ScaleStateChanged
from scale.types import WeightChange

log = logging.getLogger(__name__)


class Level(enum.IntEnum):
    """How bad a component is; the cart's level is its worst component's."""

    OK = 0
    NOTICE = 1
    """Works, with a caveat the shopper may see (offline store)."""
    DEGRADED = 2
    """A device is missing or unreliable; the cart sells in a fallback mode."""
    LOCKED = 3
    """The cart cannot record the basket: only staff may act."""


class Mode(enum.StrEnum):
    """What still confirms an item (see the module docstring)."""

    NORMAL = "normal"
    BARCODE_AND_WEIGHT = "barcode_and_weight"
    WEIGHT_LOCKED = "weight_locked"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """One component: its level, why in words for staff, and since when (monotonic)."""

    name: str
    level: Level
    reason: str
    since: float


@dataclass(frozen=True, slots=True)
class HealthState:
    """The cart's health as of one change; ``banner`` is empty when all is well."""

    level: Level
    mode: Mode
    banner: str
    components: tuple[ComponentHealth, ...]
    staff_check_due: bool = False
    """The open trip went through ``weight_locked``: staff check the basket before payment."""

    def component(self, name: str) -> ComponentHealth | None:
        """The component called ``name`` (``scale``, ``store``, ``ledger``, ``camera <id>``)."""
        return next((c for c in self.components if c.name == name), None)


BANNERS: dict[Mode, str] = {
    Mode.NORMAL: "",
    Mode.BARCODE_AND_WEIGHT: "Camera unavailable: please scan each item before you put it in.",
    Mode.WEIGHT_LOCKED: (
        "Scale unavailable: please scan each item; a member of staff will check the basket "
        "before you pay."
    ),
    Mode.LOCKED: "This cart cannot record your basket. Please wait: staff have been called.",
}
STAFF_CHECK_NOTICE = (
    "The scale was unavailable: a member of staff will check the basket before you pay."
)
OFFLINE_NOTICE = "Offline: your basket is kept on the cart and will be sent when the store is back."


class CameraProbe(Protocol):
    """A camera capture part (``vision.capture.CameraCapture``): its stats say its state."""

    name: str

    def stats(self) -> object:
        """A value with ``camera_id``, ``state`` and ``last_error``."""
        ...


HealthListener = Callable[[HealthState], None]

_SCALE_LEVEL = {
    DeviceState.OK: Level.OK,
    DeviceState.CONNECTING: Level.DEGRADED,
    DeviceState.DEGRADED: Level.DEGRADED,
    DeviceState.DISCONNECTED: Level.DEGRADED,
}
_NO_WEIGHT_ALERTS = frozenset({"overload", "underload", "error"})
_OPEN_STATES = frozenset({SessionState.SHOPPING, SessionState.CHECKOUT})
"""Trip states in which lines can still change, so weight_locked makes a staff check due."""


class CartHealth:
    """Folds the devices' reports into one :class:`HealthState`; thread-safe."""

    def __init__(self, clock: Clock, *, cameras: Iterable[CameraProbe] = ()) -> None:
        """``cameras`` are polled by :meth:`poll`; other sources push (see the ``on_*`` methods)."""
        self._clock = clock
        self._cameras = list(cameras)
        self._lock = threading.Lock()
        self._components: dict[str, ComponentHealth] = {}
        self._scale_link = (Level.OK, "")
        self._scale_alert = (Level.OK, "")
        self._listeners: list[HealthListener] = []
        self._state = HealthState(Level.OK, Mode.NORMAL, "", ())
        self._session = ""
        self._session_open = False
        self._lines: object = ()
        self._check_due_for = ""
        """The session whose basket staff must check before payment ("" for none)."""
        self.poll()

    # --- output ---------------------------------------------------------------------------

    @property
    def state(self) -> HealthState:
        """The current health."""
        with self._lock:
            return self._state

    def subscribe(self, listener: HealthListener) -> Callable[[], None]:
        """Call ``listener`` with every new state (on the thread that caused it)."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    # --- inputs ---------------------------------------------------------------------------

    def on_scale_event(self, event: object) -> None:
        """A scale service event (subscribe this to ``ScaleService``)."""
        if isinstance(event, ScaleStateChanged):
            level = _SCALE_LEVEL[event.state]
            reason = "" if level is Level.OK else f"scale {event.state.value}: {event.reason}"
            with self._lock:
                self._scale_link = (level, reason)
                self._set_scale()
            self._changed()
        elif isinstance(event, ZeroAlert) and event.reason in _NO_WEIGHT_ALERTS:
            with self._lock:
                self._scale_alert = (Level.DEGRADED, f"scale gives no weight: {event.reason}")
                self._set_scale()
            self._changed()
        elif isinstance(event, Settled | WeightChange):
            with self._lock:
                if self._scale_alert[0] is Level.OK:
                    return
                self._scale_alert = (Level.OK, "")
                self._set_scale()
            self._changed()

    def on_link_status(self, status: LinkStatus | None) -> None:
        """The store link's status (subscribe this to ``StoreLink``)."""
        if status is None:
            return
        if status.state is LinkState.ONLINE:
            level, reason = Level.OK, ""
        else:
            level = Level.NOTICE
            reason = f"store {status.state.value}: {status.reason}; {status.pending} waiting"
        with self._lock:
            self._put("store", level, reason)
        self._changed()

    def on_engine_event(self, event: EngineEvent) -> None:
        """An engine event (subscribe this to the engine): a fault locks the cart."""
        if isinstance(event, EngineFault):
            level, reason = Level.LOCKED, event.message
        elif isinstance(event, CartSnapshot):
            if self._track_trip(event):
                self._changed()
            if event.fault and event.fault.startswith("cannot record"):
                level, reason = Level.LOCKED, event.fault
            elif event.fault:
                level, reason = Level.DEGRADED, event.fault
            else:
                level, reason = Level.OK, ""
        else:
            return
        with self._lock:
            current = self._components.get("ledger")
            if current is not None and current.level is level and current.reason == reason:
                return
            self._put("ledger", level, reason)
        self._changed()

    def staff_checked(self, staff_id: str) -> bool:
        """Staff looked at the basket: the due check of the open trip is cleared.

        Returns whether one was due (the caller audits the check with ``staff_id``)."""
        with self._lock:
            due = bool(self._check_due_for)
            self._check_due_for = ""
        if due:
            log.info("staff %s checked the basket of a weight-locked trip", staff_id)
            self._changed()
        return due

    def _track_trip(self, snapshot: CartSnapshot) -> bool:
        """Follow the trip; True when the due staff check changed."""
        basket = snapshot.basket
        with self._lock:
            before = self._check_due_for
            if basket.session_id != self._session:
                self._check_due_for = ""  # a new trip owes nothing for the last one
            self._session = basket.session_id
            self._session_open = basket.state in _OPEN_STATES
            lines_changed = basket.lines != self._lines
            self._lines = basket.lines
            if not self._session_open and basket.state is not SessionState.HANDED_OFF:
                self._check_due_for = ""
            elif self._session_open and lines_changed and self._state.mode is Mode.WEIGHT_LOCKED:
                self._check_due_for = self._session
            return self._check_due_for != before

    def poll(self) -> HealthState:
        """Read the cameras now (call a few times a second, e.g. from the UI's clock)."""
        readings: list[tuple[str, Level, str]] = []
        for camera in self._cameras:
            try:
                stats = camera.stats()
            except Exception as exc:  # a broken probe is itself a health problem
                readings.append((f"camera {camera.name}", Level.DEGRADED, f"probe failed: {exc}"))
                continue
            name = f"camera {getattr(stats, 'camera_id', camera.name)}"
            state = str(getattr(stats, "state", "?"))
            if state in ("running", "idle", "opening"):
                readings.append((name, Level.OK, ""))
            else:
                error = getattr(stats, "last_error", None) or ""
                readings.append((name, Level.DEGRADED, f"{name} {state}: {error}".rstrip(": ")))
        changed = False
        with self._lock:
            for name, level, reason in readings:
                current = self._components.get(name)
                if current is None or current.level is not level or current.reason != reason:
                    self._put(name, level, reason)
                    changed = True
        if changed:
            self._changed()
        return self.state

    # --- folding --------------------------------------------------------------------------

    def _set_scale(self) -> None:
        level, reason = max(self._scale_link, self._scale_alert, key=lambda lr: lr[0])
        self._put("scale", level, reason)

    def _put(self, name: str, level: Level, reason: str) -> None:
        current = self._components.get(name)
        if current is not None and current.level is level and current.reason == reason:
            return
        since = (
            self._clock.monotonic()
            if current is None or current.level is not level
            else (current.since)
        )
        self._components[name] = ComponentHealth(name, level, reason, since)

    def _changed(self) -> None:
        with self._lock:
            components = tuple(sorted(self._components.values(), key=lambda c: c.name))
            level = max((c.level for c in components), default=Level.OK)
            cameras = [c for c in components if c.name.startswith("camera ")]
            scale = self._components.get("scale")
            if level is Level.LOCKED:
                mode = Mode.LOCKED
            elif scale is not None and scale.level >= Level.DEGRADED:
                mode = Mode.WEIGHT_LOCKED
            elif cameras and all(c.level >= Level.DEGRADED for c in cameras):
                mode = Mode.BARCODE_AND_WEIGHT
            else:
                mode = Mode.NORMAL
            banner = BANNERS[mode]
            if mode is Mode.WEIGHT_LOCKED and self._session_open:
                self._check_due_for = self._session
            if not banner and self._check_due_for:
                banner = STAFF_CHECK_NOTICE
            store = self._components.get("store")
            if not banner and store is not None and store.level is Level.NOTICE:
                banner = OFFLINE_NOTICE
            state = HealthState(level, mode, banner, components, bool(self._check_due_for))
            if state == self._state:
                return
            previous, self._state = self._state, state
            listeners = list(self._listeners)
        if state.mode is not previous.mode or state.level is not previous.level:
            log.log(
                logging.INFO if state.level is Level.OK else logging.WARNING,
                "cart health %s, mode %s: %s",
                state.level.name.lower(),
                state.mode,
                [c.reason for c in components if c.level is not Level.OK],
            )
        for listener in listeners:
            try:
                listener(state)
            except Exception:  # a broken screen must not stop the reports
                log.exception("health listener failed")


POLL_EVERY_S = 0.5
"""How often :class:`HealthPoller` reads the cameras: a lost camera shows within a second."""


class HealthPoller:
    """A part that polls :meth:`CartHealth.poll` on its own thread (cameras only report when
    asked, and a headless cart has no screen clock to ask them)."""

    name = "health"

    def __init__(self, health: CartHealth, every_s: float = POLL_EVERY_S) -> None:
        self.health = health
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start polling."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (within one period)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(1.0, 2 * self._every_s))
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self.health.poll()
            except Exception:  # health must never die of one bad reading
                log.exception("health poll failed")
