"""Finding the scale's port: by USB id first, then (optionally) a harmless probe.

The cart never writes to a port just because it exists: a serial port may hold a modem, a
printer or another cart part, and bytes sent to the wrong device can do anything. So:

1. :func:`candidate_ports` lists only ports whose USB vendor:product id is configured
   (``0403:6001`` for an FTDI adapter, the cart board's own id…). Nothing is opened.
2. :func:`probe` opens one candidate and first only *listens*: a streaming scale (the cart
   board, an A&D in stream mode) proves itself with a valid frame without a byte sent.
3. Only if it stayed silent, the probe sends the protocol's identify command (MT-SICS ``I4``,
   A&D ``?SN``) or, for protocols without one, its weight request (Toledo ``W``, NCI ``W``):
   commands that only read. Zero, tare or anything that changes the device is never sent.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol as TypingProtocol

import serial
from serial.tools import list_ports

from scale.protocols.base import CellFrame, Garbage, Protocol, Reading, Reply
from scale.state import MonotonicClock, SystemMonotonic
from scale.transport import Link, LinkOptions, ScalePortError, open_port

log = logging.getLogger(__name__)

BY_ID_DIR = Path("/dev/serial/by-id")


@dataclass(frozen=True, slots=True, order=True)
class UsbId:
    """A USB vendor and product id, written ``vvvv:pppp`` in hex as ``lsusb`` shows them."""

    vid: int
    pid: int

    @classmethod
    def parse(cls, text: str) -> UsbId:
        """``"0403:6001"`` → ``UsbId(0x0403, 0x6001)``; ``ValueError`` says what is wrong."""
        vid, sep, pid = text.strip().partition(":")
        try:
            if not sep:
                raise ValueError
            value = cls(int(vid, 16), int(pid, 16))
        except ValueError:
            raise ValueError(
                f"not a USB id (expected VID:PID in hex, e.g. 0403:6001): {text!r}"
            ) from None
        if not (0 <= value.vid <= 0xFFFF and 0 <= value.pid <= 0xFFFF):
            raise ValueError(f"USB ids are 16-bit: {text!r}")
        return value

    def __str__(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"


class PortInfo(TypingProtocol):
    """The fields of pyserial's ``ListPortInfo`` that detection reads."""

    device: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    description: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A port whose USB id matches the configuration; ``url`` is the stable path to open."""

    url: str
    device: str
    usb_id: UsbId
    serial_number: str | None
    description: str


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What a probe found. ``how``: ``listened``, ``identify`` or ``request``; ``""`` if not ok."""

    candidate: Candidate
    ok: bool
    how: str
    device_id: str | None
    detail: str


def _by_id_links(by_id_dir: Path) -> dict[str, str]:
    """Map each device node to its ``/dev/serial/by-id`` link (stable across replugs)."""
    links: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for link in sorted(by_id_dir.iterdir()):
            with contextlib.suppress(OSError):
                links.setdefault(str(link.resolve()), str(link))
    return links


def candidate_ports(
    usb_ids: Iterable[UsbId],
    *,
    comports: Callable[[], Iterable[PortInfo]] = list_ports.comports,
    by_id_dir: Path = BY_ID_DIR,
) -> list[Candidate]:
    """The ports whose USB id is one of ``usb_ids``, in a stable order; nothing is opened.

    The URL is the ``/dev/serial/by-id/…`` link when there is one: ``ttyUSB0`` and
    ``ttyUSB1`` swap between boots, the by-id name (vendor, product, serial) does not.
    """
    wanted = set(usb_ids)
    links = _by_id_links(by_id_dir)
    found = []
    for info in comports():
        if info.vid is None or info.pid is None:
            continue
        usb_id = UsbId(info.vid, info.pid)
        if usb_id not in wanted:
            continue
        real = str(Path(info.device).resolve())
        url = links.get(real, info.device)
        found.append(Candidate(url, info.device, usb_id, info.serial_number, info.description))
    return sorted(found, key=lambda c: c.url)


def probe(
    candidate: Candidate,
    protocol: Protocol,
    *,
    listen_s: float = 0.5,
    answer_timeout_s: float = 1.0,
    baudrate: int | None = None,
    opener: Callable[[str, LinkOptions], serial.SerialBase] = open_port,
    clock: MonotonicClock | None = None,
) -> ProbeResult:
    """Whether ``candidate`` is a scale speaking ``protocol``: listen first, then ask politely.

    Only call it with candidates from :func:`candidate_ports`: the USB id is the permission
    to write the identify (or weight request) command.
    """
    clock = clock or SystemMonotonic()
    settings = protocol.serial
    if baudrate is not None:
        settings = replace(settings, baudrate=baudrate)
    try:
        port = opener(candidate.url, LinkOptions(settings, read_timeout_s=0.05))
    except ScalePortError as exc:
        return ProbeResult(candidate, False, "", None, str(exc))
    link = Link(port, candidate.url, clock=clock.monotonic)
    try:
        framer = protocol.new_framer()
        found = _listen(link, protocol, framer.feed, clock, listen_s)
        if found is not None:
            return ProbeResult(candidate, True, "listened", found or None, "valid frames unasked")
        encode = protocol.encode_identify or protocol.encode_request_weight
        if encode is None:
            return ProbeResult(candidate, False, "", None, "silent, and nothing harmless to ask")
        how = "identify" if protocol.encode_identify is not None else "request"
        link.write(encode())
        found = _listen(link, protocol, framer.feed, clock, answer_timeout_s)
        if found is not None:
            return ProbeResult(candidate, True, how, found or None, f"answered {how}")
        return ProbeResult(candidate, False, "", None, f"no valid answer to {how}")
    except ScalePortError as exc:
        return ProbeResult(candidate, False, "", None, str(exc))
    finally:
        link.close()


def _listen(
    link: Link,
    protocol: Protocol,
    feed: Callable[[bytes], list[bytes]],
    clock: MonotonicClock,
    seconds: float,
) -> str | None:
    """The device id (``""`` if it gave none) once a valid frame arrives; ``None`` if none did."""
    deadline = clock.monotonic() + seconds
    while clock.monotonic() < deadline:
        for frame in feed(link.read()):
            result = protocol.parse_frame(frame)
            if isinstance(result, Reply) and result.ok and result.command in ("I4", "?SN"):
                return result.text
            if isinstance(result, Reading) or (
                isinstance(result, CellFrame) and result.checksum_ok
            ):
                return ""
            if isinstance(result, Garbage):
                log.debug("probe %s: unreadable %r", link.url, result.raw[:40])
    return None


def detect(
    usb_ids: Iterable[UsbId],
    protocol: Protocol,
    *,
    comports: Callable[[], Iterable[PortInfo]] = list_ports.comports,
    by_id_dir: Path = BY_ID_DIR,
    listen_s: float = 0.5,
    answer_timeout_s: float = 1.0,
    baudrate: int | None = None,
) -> ProbeResult | None:
    """The first candidate port that probes as a ``protocol`` scale, or ``None``."""
    for candidate in candidate_ports(usb_ids, comports=comports, by_id_dir=by_id_dir):
        result = probe(
            candidate,
            protocol,
            listen_s=listen_s,
            answer_timeout_s=answer_timeout_s,
            baudrate=baudrate,
        )
        log.info("scale probe %s: %s", candidate.url, result.detail)
        if result.ok:
            return result
    return None
