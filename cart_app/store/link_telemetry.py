"""What the store link tells the store about the cart, and the staff badge check.

Component health (sent with the next heartbeat), error reports and battery readings are queued
in the outbox as telemetry; a scanned staff badge is checked with the store at once.
"""

from __future__ import annotations

import logging

from cart_app.store.contract import (
    BadgeVerifyResult,
    BatteryEvent,
    ComponentHealth,
    ErrorEvent,
    HealthEvent,
    Severity,
)
from cart_app.store.http import StoreError
from cart_app.store.link_core import LINK_LOGGER, LinkCore
from cart_app.store.link_types import LinkState
from cart_app.store.outbox import OutboxError

log = logging.getLogger(LINK_LOGGER)


class LinkTelemetry(LinkCore):
    """The link's telemetry and staff calls (a part of the store link)."""

    # --- telemetry and staff --------------------------------------------------------------

    def set_component_health(self, component: str, health: ComponentHealth) -> None:
        """Record a component's health for the next heartbeat."""
        with self._status_lock:
            self._components[component[:40]] = health

    def report_error(self, component: str, message: str, severity: Severity = "error") -> None:
        """Queue an error report for the store."""
        event = ErrorEvent(
            kind="error",
            event_id=self._new_id(),
            t=self._clock.wall(),
            component=component[:40] or "cart",
            severity=severity,
            message=message[:2000] or "(no message)",
        )
        self._enqueue_telemetry(event)

    def report_battery(self, percent: int, charging: bool, voltage_v: float | None = None) -> None:
        """Queue a battery reading for the store."""
        event = BatteryEvent(
            kind="battery",
            event_id=self._new_id(),
            t=self._clock.wall(),
            percent=max(0, min(100, percent)),
            charging=charging,
            voltage_v=voltage_v,
        )
        self._enqueue_telemetry(event)

    def _enqueue_telemetry(self, event: HealthEvent | ErrorEvent | BatteryEvent) -> None:
        try:
            self._outbox.enqueue(event.event_id, "telemetry", event.model_dump_json())
        except OutboxError:
            log.exception("telemetry not queued")

    def verify_badge(self, badge_id: str) -> BadgeVerifyResult:
        """Ask the store whether a scanned staff badge is valid (raises StoreError offline)."""
        try:
            result = self._client.verify_badge(badge_id, self._settings.cart_id)
        except StoreError as exc:
            self._note_failure(exc)
            raise
        self._set_status(LinkState.ONLINE, "badge verified", success=True)
        return result
