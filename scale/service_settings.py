"""Settings of the scale service, and what it needs of the weight filter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol as TypingProtocol

from scale.filter import FilterEvent, FilterSettings
from scale.protocols.base import Protocol, SerialSettings
from scale.transport import LinkOptions
from scale.types import WeightSample


class SampleFilter(TypingProtocol):
    """What the service needs of the weight filter (:class:`scale.filter.WeightFilter`)."""

    def feed(self, sample: WeightSample) -> Sequence[FilterEvent]:
        """Process one sample; return the events it caused."""
        ...

    def on_reconnect(self) -> None:
        """The link was re-opened: take the next plateau as the baseline, report no change."""
        ...

    def reset_baseline(self, grams: float | None = None) -> None:
        """Re-establish the baseline without reporting a change."""
        ...

    def request_zero(self) -> None:
        """Zero on the current or next plateau (refused with an alert when out of range)."""
        ...

    def tare_bags(self) -> None:
        """The merchandise on the current or next plateau is the shopper's bags."""
        ...


@dataclass(frozen=True, slots=True)
class ScaleSettings:
    """Every time and tolerance of the scale service.

    The first nine mirror ``[scale]`` in the configuration under the same names (the
    composition root copies them); the rest are service internals with safe defaults.
    """

    read_timeout_s: float = 0.5
    silent_timeout_s: float = 2.0
    reconnect_backoff_initial_s: float = 0.5
    reconnect_backoff_max_s: float = 10.0
    settle_time_s: float = 0.4
    stable_tolerance_g: float = 2.0
    min_change_g: float = 3.0
    zero_tracking_band_g: float = 1.0
    capacity_g: float = 30_000.0
    baudrate: int | None = None  # None: the protocol's factory default
    poll_interval_s: float = 0.1  # polled protocols: one weight request per interval
    identify: bool = True  # send the protocol's identify command after each open
    identify_timeout_s: float = 1.0
    command_timeout_s: float = 2.0  # a zero/tare not answered (or not sendable) by then fails
    stop_timeout_s: float = 3.0
    reconnect_jitter: float = 0.1
    tick_s: float = 0.02  # longest blocking read: bounds latency and stop() time

    def __post_init__(self) -> None:
        for name in (
            "read_timeout_s",
            "silent_timeout_s",
            "reconnect_backoff_initial_s",
            "reconnect_backoff_max_s",
            "poll_interval_s",
            "identify_timeout_s",
            "command_timeout_s",
            "stop_timeout_s",
            "tick_s",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.reconnect_backoff_max_s < self.reconnect_backoff_initial_s:
            raise ValueError("reconnect_backoff_max_s must be at least the initial backoff")

    def filter_settings(self) -> FilterSettings:
        """The filter's settings that mirror the configuration; the rest keep their defaults."""
        return FilterSettings(
            settle_time_s=self.settle_time_s,
            stable_tolerance_g=self.stable_tolerance_g,
            min_change_g=self.min_change_g,
            zero_tracking_band_g=self.zero_tracking_band_g,
            capacity_g=self.capacity_g,
        )

    def link_options(self, protocol: Protocol) -> LinkOptions:
        """How to open the port for ``protocol`` (its line settings, our baud override)."""
        serial: SerialSettings = protocol.serial
        if self.baudrate is not None:
            serial = replace(serial, baudrate=self.baudrate)
        return LinkOptions(serial, read_timeout_s=min(self.tick_s, self.read_timeout_s))
