"""Building the cart's devices from config: the scale (real or simulated) and its wiring.

The scale's settled weight changes go into the engine's inbox as :class:`Sensed` readings; its
link states and alerts are kept for the screens and logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from cart_app.config import LoadedConfig
from cart_app.events import Sensed
from scale.calibration import Calibration, CalibrationError, load_calibration
from scale.filter import ChangeCancelled
from scale.service import ScaleService
from scale.service_settings import ScaleSettings
from scale.sim.script import Command as SimCommand
from scale.sim.script import Lean, Push, Put, Take
from scale.sim.server import SimServer, start_simulator
from scale.state import ScaleStateChanged
from scale.types import WeightChange

log = logging.getLogger(__name__)


DEFAULT_LEAN_G = 400.0
"""How hard a developer's "lean" presses on the handle."""
DEFAULT_LEAN_S = 1.5
DEFAULT_PUSH_S = 1.0
"""How long a developer's "push" (a bump while pushing the cart) lasts."""


@dataclass(frozen=True, slots=True)
class SimReading:
    """What the simulated basket holds and what its cells measure, at one moment."""

    total_g: float
    """The measured total (noise, leans and pushes included)."""
    items_g: float
    """The items alone, as a perfect scale would weigh them."""
    settled: bool


class SimulatorPart:
    """The scale simulator as a part: serves a pty at a fixed link path from ``start``.

    The laptop's developer panel drives it with :meth:`put`, :meth:`take`, :meth:`lean` and
    :meth:`push`. Each only queues a command for the simulator's thread and returns its
    future at once, so a caller on a UI thread never waits; the future holds what the
    simulator did (``"put item 3: 250 g at centre"``) or why it could not.
    """

    name = "scale-simulator"

    def __init__(self, protocol: str, link: Path, seed: int) -> None:
        self._protocol = protocol
        self._link = link
        self._seed = seed
        self.server: SimServer | None = None

    def start(self) -> None:
        """Start serving; the scale service opens :attr:`link` after this."""
        self.server = start_simulator(self._protocol, url=str(self._link), seed=self._seed)

    def stop(self) -> None:
        """Stop serving (the link disappears)."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def put(self, grams: float) -> Future[str]:
        """Put an item of ``grams`` in the middle of the basket."""
        return self._submit(Put(grams))

    def take(self, grams: float) -> Future[str]:
        """Take out the latest item of ``grams`` (the future fails when there is none)."""
        return self._submit(Take(grams))

    def lean(self, grams: float = DEFAULT_LEAN_G, seconds: float = DEFAULT_LEAN_S) -> Future[str]:
        """A shopper leans on the handle with ``grams`` for ``seconds``."""
        return self._submit(Lean(grams, seconds))

    def push(self, seconds: float = DEFAULT_PUSH_S) -> Future[str]:
        """The cart is pushed (it shakes) for ``seconds``."""
        return self._submit(Push(True, seconds))

    def reading(self) -> SimReading | None:
        """The latest sample (None before start); an immutable snapshot, safe from any thread."""
        server = self.server
        if server is None:
            return None
        state = server.state
        return SimReading(state.total_g, state.items_g, state.settled)

    def _submit(self, command: SimCommand) -> Future[str]:
        server = self.server
        if server is None:
            failed: Future[str] = Future()
            failed.set_exception(RuntimeError("the scale simulator is not running"))
            return failed
        return server.submit(command)


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """The latest state of the scale link, for maintenance screens and banners."""

    scale_state: str = "connecting"
    scale_reason: str = ""


class DeviceMonitor:
    """Keeps the latest device status; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status = DeviceStatus()

    @property
    def status(self) -> DeviceStatus:
        """The latest status."""
        with self._lock:
            return self._status

    def scale_changed(self, event: ScaleStateChanged) -> None:
        """Record a scale link state change."""
        with self._lock:
            self._status = DeviceStatus(event.state.value, event.reason)


def scale_settings(loaded: LoadedConfig) -> ScaleSettings:
    """The scale service's settings from ``[scale]``."""
    cfg = loaded.config.scale
    return ScaleSettings(
        read_timeout_s=cfg.read_timeout_s,
        silent_timeout_s=cfg.silent_timeout_s,
        reconnect_backoff_initial_s=cfg.reconnect_backoff_initial_s,
        reconnect_backoff_max_s=cfg.reconnect_backoff_max_s,
        settle_time_s=cfg.settle_time_s,
        stable_tolerance_g=cfg.stable_tolerance_g,
        min_change_g=cfg.min_change_g,
        zero_tracking_band_g=cfg.zero_tracking_band_g,
        capacity_g=cfg.capacity_g,
        baudrate=cfg.baudrate,
    )


def _calibration(path: Path, warnings: list[str]) -> Calibration | None:
    if not path.exists():
        return None
    try:
        return load_calibration(path)
    except CalibrationError as exc:
        warnings.append(f"{exc}; using the default calibration until staff recalibrate")
        return None


def build_scale(
    loaded: LoadedConfig,
    data_dir: Path,
    submit: Callable[[Sensed], None],
    monitor: DeviceMonitor,
    warnings: list[str],
) -> list[SimulatorPart | ScaleService]:
    """The scale's parts in start order: the simulator (laptop profile) then the service."""
    cfg = loaded.config.scale
    parts: list[SimulatorPart | ScaleService] = []
    url = cfg.url
    if cfg.driver == "simulator":
        link = loaded.resolve(cfg.url) if cfg.url else data_dir / "scale-sim.pty"
        parts.append(SimulatorPart(cfg.protocol, link, cfg.sim_seed))
        url = str(link)
    calibration_path = loaded.resolve(cfg.calibration_file)
    if not Path(cfg.calibration_file).is_absolute():
        calibration_path = data_dir / cfg.calibration_file
    service = ScaleService(
        url,
        cfg.protocol,
        scale_settings(loaded),
        calibration=_calibration(calibration_path, warnings),
    )

    def on_event(event: object) -> None:
        if isinstance(event, WeightChange):
            submit(Sensed(event))
        elif isinstance(event, ChangeCancelled):
            # The filter withdraws an increase that the weight went back down from (a lean, or
            # an item put back at once). Fusion may already have acted on the increase, so it
            # hears the withdrawal as the matching decrease: the pair nets to nothing either way.
            change = event.change
            submit(
                Sensed(
                    WeightChange(-change.delta_g, change.after_g, change.before_g, event.t, event.t)
                )
            )
        elif isinstance(event, ScaleStateChanged):
            monitor.scale_changed(event)
            log.info("scale %s: %s", event.state.value, event.reason)

    service.subscribe(on_event)
    parts.append(service)
    return parts
