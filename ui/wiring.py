"""From the composition root to the UI: builds :class:`ui.controller.UiDeps` from a CartApp.

No Kivy here, so the UI's wiring is tested headless. The laptop profile without a configured
staff PIN gets the development PIN :data:`DEV_PIN` (logged as a warning); the cart profile
never does: there, maintenance needs ``[maintenance] pin_hash`` or a staff badge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cart_app.app import CartApp
from cart_app.devices import SimulatorPart
from cart_app.store.contract import BadgeVerifyResult
from cart_app.store.link import LinkStatus
from cart_app.store_layout import LayoutError, StoreLayout, demo_store_dir, load_layout
from scale.calibration import Calibration, CountsCapture, save_calibration
from ui.controller import UiDeps
from ui.diagnostics import export_diagnostics
from ui.enroller import CaptureFeed, GalleryEnroller
from ui.handoff import HandoffPort, OnBoardHandoff
from ui.staff_audit import FILE_NAME as STAFF_AUDIT_FILE
from ui.staff_audit import StaffAuditLog
from ui.staff_auth import (
    LOCKOUT_FILE,
    PinLockoutStore,
    SignedBadgeChecker,
    badge_keys,
    hash_pin,
)
from ui.viewmodels.common import FolderThumbnails
from ui.viewmodels.health import CameraProbe, HealthVM, ScaleProbe

log = logging.getLogger(__name__)

CAPTURE_S = 2.0
CAPTURE_SKIP_S = 0.5
"""A calibration step averages two seconds of counts, after half a second of settling."""
DEV_PIN = "0000"
"""Staff PIN of a laptop without ``[maintenance] pin_hash`` (never used by the cart profile)."""


def store_layout(app: CartApp) -> StoreLayout:
    """The configured layout, the store's synced one (http mode), else the demo store's."""
    cfg = app.loaded.config
    data_dir = app.loaded.resolve(cfg.paths.data_dir)
    candidates: list[Path] = []
    if cfg.paths.layout_json:
        candidates.append(app.loaded.resolve(cfg.paths.layout_json))
    if cfg.store.mode == "http":
        candidates.append(data_dir / cfg.store.layout_file)
    candidates.append(demo_store_dir() / "layout.json")
    for path in candidates:
        if not path.exists():
            continue
        try:
            return load_layout(path)
        except LayoutError as exc:
            log.error("store layout: %s", exc)
            app.warnings.append(f"store layout: {exc}")
    return load_layout(demo_store_dir() / "layout.json")


def _cameras(app: CartApp) -> list[CameraProbe]:
    return [p for p in app.parts if hasattr(p, "stats") and hasattr(p, "slot")]  # type: ignore[misc]


def _scale(app: CartApp) -> ScaleProbe | None:
    for part in app.parts:
        if hasattr(part, "status") and hasattr(part, "tare_bags"):
            return part  # type: ignore[return-value]
    return None


def _calibration(
    app: CartApp, scale: ScaleProbe | None
) -> tuple[Callable[[], Sequence[float]] | None, Callable[[Calibration], str] | None]:
    """Capture and apply functions for the wizard, when the scale is a cart board."""
    cfg = app.loaded.config.scale
    if scale is None or cfg.protocol != "cartboard":
        return None, None
    service: Any = scale
    data_dir = app.loaded.resolve(app.loaded.config.paths.data_dir)
    path = Path(cfg.calibration_file)
    if not path.is_absolute():
        path = data_dir / path

    def capture() -> Sequence[float]:
        counts = CountsCapture(CAPTURE_S, skip_s=CAPTURE_SKIP_S)
        service.add_frame_tap(counts)
        try:
            return counts.wait(CAPTURE_S + CAPTURE_SKIP_S + 8.0)
        finally:
            service.remove_frame_tap(counts)

    def apply(calibration: Calibration) -> str:
        save_calibration(calibration, path)
        service.set_calibration(calibration)
        return str(path)

    return capture, apply


def _camera_frame(
    app: CartApp,
) -> Callable[[], tuple[Any, tuple[float, float, float, float]] | None]:
    cameras: list[Any] = list(_cameras(app))

    def frame() -> tuple[Any, tuple[float, float, float, float]] | None:
        for camera in cameras:
            latest = camera.slot.peek()
            if latest is not None:
                roi = getattr(getattr(camera, "settings", None), "roi", (0.0, 0.0, 1.0, 1.0))
                return latest.image, tuple(roi)
        return None

    return frame


def dev_simulator(app: CartApp) -> SimulatorPart | None:
    """The scale simulator the developer panel drives: the laptop profile's only."""
    if app.loaded.config.profile != "laptop":
        return None
    return next((p for p in app.parts if isinstance(p, SimulatorPart)), None)


def build_deps(app: CartApp, *, extra_status: dict[str, Any] | None = None) -> UiDeps:
    """Everything the UI needs, from a built (not necessarily started) CartApp."""
    cfg = app.loaded.config
    info = app.catalog.store_info()
    data_dir = app.loaded.resolve(cfg.paths.data_dir)
    link = app.store_link
    handoff: HandoffPort = (
        link
        if link is not None
        else OnBoardHandoff(app.engine, info.currency, app.clock.wall, cfg.store.token_ttl_s)
    )
    pin_hash = cfg.maintenance.pin_hash
    if not pin_hash and cfg.profile == "laptop":
        log.warning("no [maintenance] pin_hash: the laptop profile uses the PIN %s", DEV_PIN)
        pin_hash = hash_pin(DEV_PIN)

    def link_status() -> LinkStatus | None:
        return link.status if link is not None else None

    def verify_badge(badge_id: str) -> BadgeVerifyResult:
        assert link is not None
        return link.verify_badge(badge_id)

    def call_staff(reason: str) -> None:
        if link is not None:
            link.report_error("shopper", f"shopper asks for help ({reason})", "warning")

    cart_health = app.health
    keys = badge_keys(cfg.maintenance.badge_public_keys)
    monitor = app.devices
    capture, apply = _calibration(app, _scale(app))
    staff_audit = StaffAuditLog(data_dir / STAFF_AUDIT_FILE, app.clock.wall)
    recogniser = app.cameras.recogniser
    sim = dev_simulator(app)
    health = HealthVM(
        cameras=_cameras(app),
        scale=_scale(app),
        scale_state=lambda: (
            (monitor.status.scale_state, monitor.status.scale_reason)
            if cfg.scale.driver != "none"
            else ("none", "no scale configured")
        ),
        link=link_status,
        data_dir=data_dir,
        monotonic=app.clock.monotonic,
    )
    return UiDeps(
        engine=app.engine,
        catalog=app.catalog,
        currency=info.currency,
        store_name=info.name,
        layout=store_layout(app),
        handoff=handoff,
        language=cfg.ui.language,
        wall=app.clock.wall,
        monotonic=app.clock.monotonic,
        thumbs=FolderThumbnails([data_dir / "thumbs", demo_store_dir() / "thumbs"]),
        has_store=link is not None,
        link_status=link_status,
        link_subscribe=link.subscribe if link is not None else None,
        verify_badge=verify_badge if link is not None else None,
        ledger_entries=app.ledger.entries,
        pin_hash=pin_hash,
        auto_lock_s=cfg.maintenance.auto_lock_s,
        health=health,
        export_diagnostics=lambda: export_diagnostics(app, extra_status),
        call_staff=call_staff,
        calibration_capture=capture,
        calibration_apply=apply,
        camera_frame=_camera_frame(app),
        warnings=tuple(app.warnings),
        profile=cfg.profile,
        budget_warn_ratio_bp=cfg.pricing.budget_warn_ratio_bp,
        camera_feeds=tuple(CaptureFeed(c) for c in app.cameras.captures),
        enroller=GalleryEnroller(recogniser, staff_audit) if recogniser is not None else None,
        dev_scale=sim,
        dev_products=tuple(app.catalog.products()) if sim is not None else (),
        staff_audit=staff_audit,
        cart_health=(lambda: cart_health.state) if cart_health is not None else (lambda: None),
        health_subscribe=cart_health.subscribe if cart_health is not None else None,
        staff_checked=cart_health.staff_checked if cart_health is not None else None,
        check_signed_badge=SignedBadgeChecker(keys, app.clock.wall) if keys else None,
        pin_lockout=PinLockoutStore(data_dir / LOCKOUT_FILE),
    )
