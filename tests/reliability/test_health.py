"""The cart's health model (``cart_app/health.py``) as a table: each device report moves one
component, the worst decides the level, the mode and banner follow, and everything clears by
itself when the source does. The fault tests drive the same model with real devices."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from cart_app.basket import empty_basket
from cart_app.clock import FakeClock
from cart_app.engine import CartSnapshot
from cart_app.events import EngineFault
from cart_app.health import (
    BANNERS,
    OFFLINE_NOTICE,
    STAFF_CHECK_NOTICE,
    CartHealth,
    HealthState,
    Level,
    Mode,
)
from cart_app.session import SessionState
from cart_app.store.link import LinkState, LinkStatus
from scale.filter_types import Settled, ZeroAlert
from scale.state import DeviceState, ScaleStateChanged

pytestmark = pytest.mark.fault


@dataclass
class Stats:
    camera_id: str
    state: str
    last_error: str | None = None


class Camera:
    def __init__(self, camera_id: str) -> None:
        self.name = f"camera:{camera_id}"
        self.current = Stats(camera_id, "running")

    def stats(self) -> Stats:
        return self.current


def mode_of(health: CartHealth) -> Mode:
    """The current mode (a call, so a type checker does not carry one reading to the next)."""
    return health.state.mode


def level_of(health: CartHealth) -> Level:
    return health.state.level


def scale(state: DeviceState, reason: str = "") -> ScaleStateChanged:
    return ScaleStateChanged(0.0, state, DeviceState.OK, reason)


def test_reports_fold_into_level_mode_and_banner() -> None:
    clock = FakeClock()
    left, right = Camera("left"), Camera("right")
    health = CartHealth(clock, cameras=[left, right])
    seen: list[HealthState] = []
    health.subscribe(seen.append)
    assert health.poll().mode is Mode.NORMAL and health.state.banner == ""

    # One camera of two lost: degraded, but the other still sees: mode stays normal.
    left.current = Stats("left", "reconnecting", "device gone")
    state = health.poll()
    assert state.level is Level.DEGRADED and state.mode is Mode.NORMAL
    component = state.component("camera left")
    assert component is not None and "device gone" in component.reason
    right.current = Stats("right", "ended")
    assert health.poll().mode is Mode.BARCODE_AND_WEIGHT
    assert health.state.banner == BANNERS[Mode.BARCODE_AND_WEIGHT]

    # The scale outranks the cameras: without weight nothing is confirmed.
    health.on_scale_event(scale(DeviceState.DISCONNECTED, "unplugged"))
    assert mode_of(health) is Mode.WEIGHT_LOCKED
    left.current = Stats("left", "running")
    right.current = Stats("right", "running")
    health.poll()
    health.on_scale_event(scale(DeviceState.OK))
    assert mode_of(health) is Mode.NORMAL and level_of(health) is Level.OK

    # An overload alert holds until the next plateau, even while the link is ok.
    health.on_scale_event(ZeroAlert(1.0, "overload"))
    assert mode_of(health) is Mode.WEIGHT_LOCKED
    health.on_scale_event(ZeroAlert(1.0, "zero_tracking_limit"))  # maintenance only
    health.on_scale_event(Settled(2.0, 0.0))
    assert mode_of(health) is Mode.NORMAL

    # The store offline is a notice: selling goes on, the banner says the basket is kept.
    health.on_link_status(LinkStatus(LinkState.OFFLINE, "connection refused", 0.0, 3))
    assert level_of(health) is Level.NOTICE and mode_of(health) is Mode.NORMAL
    assert health.state.banner == OFFLINE_NOTICE
    health.on_link_status(LinkStatus(LinkState.ONLINE, "delivered", 0.0, 0))
    assert level_of(health) is Level.OK and health.state.banner == ""

    # A ledger fault locks, whatever else is going on.
    health.on_scale_event(scale(DeviceState.DEGRADED, "no data"))
    health.on_engine_event(EngineFault("cannot record the basket: disk full"))
    assert mode_of(health) is Mode.LOCKED and level_of(health) is Level.LOCKED
    assert health.state.banner == BANNERS[Mode.LOCKED]
    # Each change was announced once; repeats of the same report are not news.
    before = len(seen)
    health.on_engine_event(EngineFault("cannot record the basket: disk full"))
    health.poll()
    assert len(seen) == before


def test_a_broken_probe_or_listener_is_contained() -> None:
    class Broken:
        name = "camera:x"

        def stats(self) -> object:
            raise OSError("driver crashed")

    health = CartHealth(FakeClock(), cameras=[Broken()])

    def bad_listener(state: HealthState) -> None:
        raise RuntimeError("screen bug")

    health.subscribe(bad_listener)
    state = health.poll()
    assert state.level is Level.DEGRADED and state.mode is Mode.BARCODE_AND_WEIGHT
    component = state.component("camera camera:x")
    assert component is not None and "driver crashed" in component.reason


def trip(session: str, state: SessionState, lines: int = 0, version: int = 1) -> CartSnapshot:
    """An engine snapshot of ``session`` in ``state`` with ``lines`` (fake) basket lines."""
    basket = replace(
        empty_basket(),
        session_id=session,
        state=state,
        lines=tuple(range(lines)),  # type: ignore[arg-type]
    )
    return CartSnapshot(version, basket, None, None)


def test_a_trip_through_weight_locked_owes_a_staff_check() -> None:
    health = CartHealth(FakeClock())
    health.on_engine_event(trip("t1", SessionState.SHOPPING, 1))
    assert not health.state.staff_check_due
    health.on_scale_event(scale(DeviceState.DISCONNECTED, "unplugged"))
    assert health.state.staff_check_due and mode_of(health) is Mode.WEIGHT_LOCKED
    health.on_scale_event(scale(DeviceState.OK))
    # The scale is back; what went in while it was away stays unweighed: still due.
    assert mode_of(health) is Mode.NORMAL and health.state.staff_check_due
    assert health.state.banner == STAFF_CHECK_NOTICE
    assert health.staff_checked("kim") and not health.state.staff_check_due
    assert health.state.banner == ""
    assert not health.staff_checked("kim"), "nothing was due the second time"
    # Checked while still locked, then a line changes: due again.
    health.on_scale_event(scale(DeviceState.DISCONNECTED, "unplugged"))
    assert health.staff_checked("kim")
    health.on_engine_event(trip("t1", SessionState.SHOPPING, 2, 2))
    assert health.state.staff_check_due
    # The trip ends: nothing is owed for it; an idle cart owes nothing even while locked.
    health.on_engine_event(trip("t1", SessionState.DONE, 2, 3))
    assert not health.state.staff_check_due
    health.on_engine_event(trip("", SessionState.IDLE, 0, 4))
    assert not health.state.staff_check_due and mode_of(health) is Mode.WEIGHT_LOCKED
    # A new trip started while the scale is away owes one from its first line.
    health.on_engine_event(trip("t2", SessionState.SHOPPING, 0, 5))
    health.on_engine_event(trip("t2", SessionState.SHOPPING, 1, 6))
    assert health.state.staff_check_due
