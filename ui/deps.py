"""What the UI needs from the cart, injected: :class:`UiDeps` (``ui.wiring`` builds it from a
CartApp; tests build it with fakes). No Kivy here."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cart_app.domain import Product
from cart_app.engine import CartSnapshot, EngineEvent
from cart_app.events import Command, Sensed
from cart_app.health import HealthState
from cart_app.ledger import LedgerEntry
from cart_app.store.contract import BadgeVerifyResult
from cart_app.store.link import LinkStatus
from cart_app.store_layout import StoreLayout
from scale.calibration import Calibration
from ui.handoff import HandoffPort
from ui.staff_audit import StaffAuditLog
from ui.staff_auth import BadgeCheck, PinLockoutStore
from ui.viewmodels.common import NoThumbnails, ProductSearch, Thumbnails
from ui.viewmodels.devpanel import ScaleSim
from ui.viewmodels.enrolment import CameraFeed, Enroller
from ui.viewmodels.health import HealthVM


class EngineLike(Protocol):
    """What the UI uses of the engine."""

    @property
    def snapshot(self) -> CartSnapshot:
        """The latest snapshot."""
        ...

    def submit(self, command: Command | Sensed) -> None:
        """Queue a command."""
        ...

    def subscribe(self, listener: Callable[[EngineEvent], None]) -> Callable[[], None]:
        """Hear every engine event (on the engine thread)."""
        ...


@dataclass
class UiDeps:
    """Everything the UI needs from the cart, injected (``ui.wiring`` builds it from CartApp)."""

    engine: EngineLike
    catalog: ProductSearch
    currency: str
    store_name: str
    layout: StoreLayout
    handoff: HandoffPort
    language: str = "en"
    wall: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    thumbs: Thumbnails = field(default_factory=NoThumbnails)
    has_store: bool = False
    link_status: Callable[[], LinkStatus | None] = lambda: None
    link_subscribe: Callable[[Callable[[LinkStatus], None]], Callable[[], None]] | None = None
    verify_badge: Callable[[str], BadgeVerifyResult] | None = None
    ledger_entries: Callable[[str], list[LedgerEntry]] | None = None
    pin_hash: str = ""
    auto_lock_s: float = 120.0
    health: HealthVM | None = None
    export_diagnostics: Callable[[], Path] | None = None
    call_staff: Callable[[str], None] | None = None
    calibration_capture: Callable[[], Sequence[float]] | None = None
    calibration_apply: Callable[[Calibration], str] | None = None
    camera_frame: Callable[[], tuple[Any, tuple[float, float, float, float]] | None] | None = None
    """The newest frame of the first camera and its basket region, for the preview."""
    warnings: tuple[str, ...] = ()
    profile: str = "cart"
    """``laptop`` shows start-up warnings on screen and offers the developer panel."""
    budget_warn_ratio_bp: int = 9000
    camera_feeds: tuple[CameraFeed, ...] = ()
    """The basket cameras, for product enrolment."""
    enroller: Enroller | None = None
    """The recogniser's gallery (None: recognition off, nothing to enrol into)."""
    dev_scale: ScaleSim | None = None
    """The scale simulator the laptop runs (None elsewhere: no developer panel)."""
    dev_products: tuple[Product, ...] = ()
    staff_audit: StaffAuditLog | None = None
    """Staff actions outside the ledger (enrolments, badges, staff checks), shown first in the
    audit tab."""
    cart_health: Callable[[], HealthState | None] = lambda: None
    """The cart's health now (``CartHealth.state``): its banner and the staff check due."""
    health_subscribe: Callable[[Callable[[HealthState], None]], Callable[[], None]] | None = None
    """Hear every new health state (on the thread that caused it; the UI posts to the bridge)."""
    staff_checked: Callable[[str], bool] | None = None
    """Staff checked the basket of a weight-locked trip (``CartHealth.staff_checked``)."""
    check_signed_badge: BadgeCheck | None = None
    """Checks a signed ``SB1:`` badge offline against the store's badge keys (None: no keys)."""
    pin_lockout: PinLockoutStore | None = None
    """Where the PIN pad's failures and lockout survive a restart (None: memory only)."""
