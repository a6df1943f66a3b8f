"""Device health for the maintenance screen: cameras, scale (with a live weight trace), store
link, disk and battery. Sources are read through small duck-typed probes so that this module
needs neither the camera nor the scale packages' threads, and tests feed fakes.

Every probe is a quick, non-blocking read (a lock-protected status, ``statvfs``, a sysfs file),
so polling a few times a second from the Kivy thread is safe.
"""

from __future__ import annotations

import shutil
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from cart_app.store.link import LinkStatus

OK_ICON: Final = "✓"
WARN_ICON: Final = "!"
BAD_ICON: Final = "✕"
TRACE_SECONDS: Final = 30.0
LOW_DISK_BYTES: Final = 500 * 1024 * 1024
LOW_BATTERY_PERCENT: Final = 20


class CameraProbe(Protocol):
    """A camera part (``vision.capture.CameraCapture`` is one)."""

    name: str

    def stats(self) -> object:
        """A ``CameraStats``-like value: ``camera_id``, ``state``, ``fps``, ``drops``…"""
        ...


class ScaleProbe(Protocol):
    """The scale part (``scale.service.ScaleService`` is one)."""

    def status(self) -> object:
        """A ``ScaleStatus``-like value: ``state``, ``reason``, ``last_sample``."""
        ...


@dataclass(frozen=True, slots=True)
class HealthRow:
    """One device: icon and words for its state, and the figures."""

    name: str
    icon: str
    state: str
    detail: str


@dataclass(frozen=True, slots=True)
class HealthView:
    """All devices, and the weight trace as ``(seconds ago, grams)`` points."""

    rows: tuple[HealthRow, ...]
    trace: tuple[tuple[float, float], ...]
    weight: str


def battery_percent(root: Path = Path("/sys/class/power_supply")) -> tuple[int, str] | None:
    """``(percent, status)`` of the first battery the kernel reports, or None (unknown)."""
    try:
        supplies = sorted(root.iterdir())
    except OSError:
        return None
    for supply in supplies:
        try:
            if (supply / "type").read_text().strip() != "Battery":
                continue
            percent = int((supply / "capacity").read_text().strip())
            status = (supply / "status").read_text().strip() if (supply / "status").exists() else ""
        except (OSError, ValueError):
            continue
        return percent, status
    return None


class HealthVM:
    """Polls the probes; keeps the last :data:`TRACE_SECONDS` of weight for the plot."""

    def __init__(
        self,
        *,
        cameras: Iterable[CameraProbe] = (),
        scale: ScaleProbe | None = None,
        scale_state: Callable[[], tuple[str, str]] | None = None,
        link: Callable[[], LinkStatus | None] = lambda: None,
        data_dir: Path | None = None,
        battery: Callable[[], tuple[int, str] | None] = battery_percent,
        monotonic: Callable[[], float],
    ) -> None:
        """``scale_state`` is the fallback when there is no scale part (state, reason)."""
        self._cameras = list(cameras)
        self._scale = scale
        self._scale_state = scale_state
        self._link = link
        self._data_dir = data_dir
        self._battery = battery
        self._now = monotonic
        self._trace: deque[tuple[float, float]] = deque()
        self._last_sample_t: float | None = None
        self.view = HealthView((), (), "")

    def poll(self) -> HealthView:
        """Read every probe now."""
        now = self._now()
        rows = [self._camera_row(c) for c in self._cameras]
        if not self._cameras:
            rows.append(HealthRow("camera", WARN_ICON, "none", "no camera running"))
        rows.append(self._scale_row(now))
        rows.append(self._link_row())
        rows.append(self._disk_row())
        rows.append(self._battery_row())
        while self._trace and now - self._trace[0][0] > TRACE_SECONDS:
            self._trace.popleft()
        trace = tuple((t - now, g) for t, g in self._trace)
        weight = f"{self._trace[-1][1]:.1f} g" if self._trace else "-"
        self.view = HealthView(tuple(rows), trace, weight)
        return self.view

    def _camera_row(self, camera: CameraProbe) -> HealthRow:
        try:
            stats = camera.stats()
        except Exception as exc:  # a broken probe is itself a health problem to show
            return HealthRow(camera.name, BAD_ICON, "error", str(exc))
        state = str(getattr(stats, "state", "?"))
        fps = float(getattr(stats, "fps", 0.0))
        drops = int(getattr(stats, "drops", 0))
        frames = int(getattr(stats, "frames", 0))
        running = state == "running"
        icon = OK_ICON if running and fps > 0 else (WARN_ICON if running else BAD_ICON)
        name = str(getattr(stats, "camera_id", camera.name))
        detail = f"{fps:.1f} fps, {frames} frames, {drops} dropped"
        error = getattr(stats, "last_error", None)
        if error:
            detail += f"; {error}"
        return HealthRow(f"camera {name}", icon, state, detail)

    def _scale_row(self, now: float) -> HealthRow:
        if self._scale is None:
            if self._scale_state is None:
                return HealthRow("scale", WARN_ICON, "none", "no scale configured")
            state, reason = self._scale_state()
            return HealthRow("scale", OK_ICON if state == "ok" else WARN_ICON, state, reason)
        try:
            status = self._scale.status()
        except Exception as exc:
            return HealthRow("scale", BAD_ICON, "error", str(exc))
        state = str(getattr(status, "state", "?"))
        reason = str(getattr(status, "reason", ""))
        sample = getattr(status, "last_sample", None)
        grams = getattr(sample, "grams", None) if sample is not None else None
        t = getattr(sample, "t", None) if sample is not None else None
        if grams is not None and t != self._last_sample_t:
            self._last_sample_t = t
            self._trace.append((now, float(grams)))
        icon = {"ok": OK_ICON, "disconnected": BAD_ICON}.get(state, WARN_ICON)
        return HealthRow("scale", icon, state, reason)

    def _link_row(self) -> HealthRow:
        status = self._link()
        if status is None:
            return HealthRow("store", OK_ICON, "embedded", "demo store on board, no network")
        icon = {"online": OK_ICON, "degraded": WARN_ICON}.get(status.state.value, BAD_ICON)
        detail = f"{status.reason}; {status.pending} waiting to send"
        return HealthRow("store", icon, status.state.value, detail)

    def _disk_row(self) -> HealthRow:
        if self._data_dir is None:
            return HealthRow("disk", WARN_ICON, "unknown", "")
        try:
            usage = shutil.disk_usage(self._data_dir)
        except OSError as exc:
            return HealthRow("disk", BAD_ICON, "error", str(exc))
        free_gb = usage.free / 1e9
        low = usage.free < LOW_DISK_BYTES
        return HealthRow(
            "disk",
            WARN_ICON if low else OK_ICON,
            "low" if low else "ok",
            f"{free_gb:.1f} GB free of {usage.total / 1e9:.0f} GB",
        )

    def _battery_row(self) -> HealthRow:
        reading = self._battery()
        if reading is None:
            return HealthRow("battery", WARN_ICON, "unknown", "no battery reported")
        percent, status = reading
        low = percent < LOW_BATTERY_PERCENT
        return HealthRow(
            "battery",
            WARN_ICON if low else OK_ICON,
            "low" if low else "ok",
            f"{percent} %" + (f", {status.lower()}" if status else ""),
        )
