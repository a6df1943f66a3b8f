"""Device health for the maintenance screen: cameras, scale (with a live weight trace), store
link, disk and battery. Sources are read through small duck-typed probes so that this module
needs neither the camera nor the scale packages' threads, and tests feed fakes.

Every probe is a quick, non-blocking read (a lock-protected status, ``statvfs``, a sysfs file),
so polling a few times a second from the Kivy thread is safe.

Every word is translated (``health.*`` keys). What a device or the store link says about a
problem (a scale port's error, a link's reason) is its own message: it is shown as it came,
after the translated device name and state, because it names files and errors staff may need
to look up verbatim.
"""

from __future__ import annotations

import shutil
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from cart_app.store.link import LinkStatus
from ui.i18n import Translator

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
        tr: Translator | None = None,
    ) -> None:
        """``scale_state`` is the fallback when there is no scale part (state, reason); texts
        are in ``tr``'s language (the controller passes its own with :meth:`use_translator`)."""
        self._tr = tr or Translator("en")
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

    def use_translator(self, tr: Translator) -> None:
        """Write the rows in ``tr``'s language from the next poll on (it follows its switches)."""
        self._tr = tr

    def _number(self, value: float, places: int) -> str:
        """``value`` with the language's decimal mark (``14.8`` in English, ``14,8`` in Swedish)."""
        return f"{value:.{places}f}".replace(".", self._tr("number.decimal"))

    def _state(self, state: str) -> str:
        """A device state in words; a state this screen does not know is shown as it is."""
        text = self._tr(f"health.state.{state}")
        return state if text == f"health.state.{state}" else text

    def poll(self) -> HealthView:
        """Read every probe now."""
        now = self._now()
        rows = [self._camera_row(c) for c in self._cameras]
        if not self._cameras:
            tr = self._tr
            rows.append(
                HealthRow(
                    tr("health.camera_any"), WARN_ICON, self._state("none"), tr("health.no_camera")
                )
            )
        rows.append(self._scale_row(now))
        rows.append(self._link_row())
        rows.append(self._disk_row())
        rows.append(self._battery_row())
        while self._trace and now - self._trace[0][0] > TRACE_SECONDS:
            self._trace.popleft()
        trace = tuple((t - now, g) for t, g in self._trace)
        weight = f"{self._number(self._trace[-1][1], 1)} g" if self._trace else "-"
        self.view = HealthView(tuple(rows), trace, weight)
        return self.view

    def _camera_row(self, camera: CameraProbe) -> HealthRow:
        try:
            stats = camera.stats()
        except Exception as exc:  # a broken probe is itself a health problem to show
            return HealthRow(camera.name, BAD_ICON, self._state("error"), str(exc))
        state = str(getattr(stats, "state", "?"))
        fps = float(getattr(stats, "fps", 0.0))
        drops = int(getattr(stats, "drops", 0))
        frames = int(getattr(stats, "frames", 0))
        running = state == "running"
        icon = OK_ICON if running and fps > 0 else (WARN_ICON if running else BAD_ICON)
        name = str(getattr(stats, "camera_id", camera.name))
        detail = self._tr(
            "health.camera_detail", fps=self._number(fps, 1), frames=frames, drops=drops
        )
        error = getattr(stats, "last_error", None)
        if error:
            detail += f"; {error}"
        return HealthRow(self._tr("health.camera", name=name), icon, self._state(state), detail)

    def _scale_row(self, now: float) -> HealthRow:
        tr = self._tr
        name = tr("health.scale")
        if self._scale is None:
            if self._scale_state is None:
                return HealthRow(name, WARN_ICON, self._state("none"), tr("health.no_scale"))
            state, reason = self._scale_state()
            icon = OK_ICON if state == "ok" else WARN_ICON
            return HealthRow(name, icon, self._state(state), self._scale_reason(state, reason))
        try:
            status = self._scale.status()
        except Exception as exc:
            return HealthRow(name, BAD_ICON, self._state("error"), str(exc))
        state = str(getattr(status, "state", "?"))
        reason = str(getattr(status, "reason", ""))
        sample = getattr(status, "last_sample", None)
        grams = getattr(sample, "grams", None) if sample is not None else None
        t = getattr(sample, "t", None) if sample is not None else None
        if grams is not None and t != self._last_sample_t:
            self._last_sample_t = t
            self._trace.append((now, float(grams)))
        icon = {"ok": OK_ICON, "disconnected": BAD_ICON}.get(state, WARN_ICON)
        return HealthRow(name, icon, self._state(state), self._scale_reason(state, reason))

    def _scale_reason(self, state: str, reason: str) -> str:
        """A working scale's reason is always the same words: translated. A problem's reason is
        the scale's own message (a port, an error): shown as it is."""
        if state == "ok":
            return self._tr("health.scale_ok")
        if state == "none":
            return self._tr("health.no_scale")
        return reason

    def _link_row(self) -> HealthRow:
        tr = self._tr
        name = tr("health.store")
        status = self._link()
        if status is None:
            return HealthRow(name, OK_ICON, self._state("embedded"), tr("health.store_embedded"))
        icon = {"online": OK_ICON, "degraded": WARN_ICON}.get(status.state.value, BAD_ICON)
        detail = tr("health.store_detail", reason=status.reason, pending=status.pending)
        return HealthRow(name, icon, self._state(status.state.value), detail)

    def _disk_row(self) -> HealthRow:
        tr = self._tr
        name = tr("health.disk")
        if self._data_dir is None:
            return HealthRow(name, WARN_ICON, self._state("unknown"), "")
        try:
            usage = shutil.disk_usage(self._data_dir)
        except OSError as exc:
            return HealthRow(name, BAD_ICON, self._state("error"), str(exc))
        low = usage.free < LOW_DISK_BYTES
        return HealthRow(
            name,
            WARN_ICON if low else OK_ICON,
            self._state("low" if low else "ok"),
            tr(
                "health.disk_detail",
                free=self._number(usage.free / 1e9, 1),
                total=self._number(usage.total / 1e9, 0),
            ),
        )

    def _battery_row(self) -> HealthRow:
        tr = self._tr
        name = tr("health.battery")
        reading = self._battery()
        if reading is None:
            return HealthRow(name, WARN_ICON, self._state("unknown"), tr("health.no_battery"))
        percent, status = reading
        low = percent < LOW_BATTERY_PERCENT
        detail = f"{percent} %"
        if status:
            # The kernel's words (Charging, Discharging, Full, Not charging), translated.
            key = "health.battery_" + status.strip().lower().replace(" ", "_")
            words = tr(key)
            detail += ", " + (status.lower() if words == key else words)
        return HealthRow(
            name, WARN_ICON if low else OK_ICON, self._state("low" if low else "ok"), detail
        )
