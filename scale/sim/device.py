"""Simulated scale devices: one class per wire protocol, bytes in and bytes out, no I/O.

This module picks the device for a protocol name and the production parser that reads it. The
shared machinery (sampling, zero and tare, commands that wait for stability) is in
:mod:`scale.sim.device_base`; the protocols are in :mod:`scale.sim.cartboard_device` and
:mod:`scale.sim.indicator_devices`. The bytes are the real protocol's, so the production parsers
in ``scale.protocols`` read them exactly as they read a real scale.
"""

from __future__ import annotations

from collections.abc import Callable

from scale.protocols import ParseResult, get_protocol, toledo_8217
from scale.sim.cartboard_device import CartBoardDevice
from scale.sim.device_base import DeviceOptions, SimDevice
from scale.sim.indicator_devices import ContinuousDevice, MtSicsDevice, NciDevice, Toledo8217Device
from scale.sim.physics import BasketModel

__all__ = [
    "DEVICES",
    "CartBoardDevice",
    "ContinuousDevice",
    "DeviceOptions",
    "MtSicsDevice",
    "NciDevice",
    "SimDevice",
    "Toledo8217Device",
    "make_device",
    "reader_parser",
]

DEVICES: dict[str, type[SimDevice]] = {
    cls.protocol.name: cls
    for cls in (CartBoardDevice, MtSicsDevice, Toledo8217Device, NciDevice, ContinuousDevice)
}


def make_device(
    protocol: str, model: BasketModel, options: DeviceOptions | None = None
) -> SimDevice:
    """The simulated scale for a protocol name (``ValueError`` lists the known ones)."""
    get_protocol(protocol)  # the same error message as everywhere else for an unknown name
    return DEVICES[protocol](model, options)


def reader_parser(device: SimDevice) -> Callable[[bytes], ParseResult]:
    """The production parser that reads this device as configured (Toledo needs its unit)."""
    if isinstance(device, Toledo8217Device):
        return toledo_8217.make_parser(device.unit)
    return device.protocol.parse_frame
