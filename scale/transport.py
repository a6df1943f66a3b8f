"""The scale's serial link: any pyserial URL, opened exclusively, errors turned into clear ones.

``/dev/ttyUSB0``, ``/dev/serial/by-id/…``, ``socket://host:port``, ``rfc2217://host:port`` and
``loop://`` all go through :func:`serial.serial_for_url`. Whatever pyserial or the OS raise comes
out as :class:`ScalePortError` (cannot open: wrong path, busy, refused) or :class:`ScaleUnplugged`
(the open link died: "device reports readiness to read but returned no data", EIO on write, a
closed socket), each with a message that names the port, so the person at the cart reads what
happened, not a traceback.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable
from dataclasses import dataclass

import serial

from scale.protocols.base import SerialSettings
from scale.wirelog import Direction, WireLog

# URL schemes that reach a device through the network or in memory: there is no device node
# to lock, so exclusive access is the far end's business (ser2net allows one client by default).
_NON_LOCAL_SCHEMES = ("socket", "rfc2217", "loop")

# How long a write may block before the link counts as dead (a wedged USB adapter).
DEFAULT_WRITE_TIMEOUT_S = 1.0


class ScalePortError(Exception):
    """The scale's port cannot be used; the message names the port and says why."""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"scale port {url}: {problem}")
        self.url = url
        self.problem = problem


class ScaleUnplugged(ScalePortError):
    """An open link stopped working: the device was unplugged, powered off or the peer left."""


@dataclass(frozen=True, slots=True)
class LinkOptions:
    """How to open the link. ``serial`` is the protocol's line settings (baud, bits, parity)."""

    serial: SerialSettings
    read_timeout_s: float
    write_timeout_s: float = DEFAULT_WRITE_TIMEOUT_S


def url_scheme(url: str) -> str:
    """The pyserial URL scheme (``socket``, ``loop``…), or ``""`` for a device path."""
    head, sep, _ = url.partition("://")
    return head.lower() if sep else ""


def is_local_device(url: str) -> bool:
    """Whether ``url`` names a device node on this machine (and so can be locked)."""
    return url_scheme(url) not in _NON_LOCAL_SCHEMES


def open_port(url: str, options: LinkOptions) -> serial.SerialBase:
    """Open ``url`` with the protocol's line settings, exclusively, with stale input dropped.

    Input received before the open (a half line, a buffered answer to someone else's command)
    is flushed, so the first frame the caller sees started after it began listening.
    Raises :class:`ScalePortError` with a clear message on any failure.
    """
    if not url:
        raise ScalePortError("(none)", "no port configured")
    settings = options.serial
    # flock() on the device node: a second reader (another smartcart, a forgotten terminal
    # program) fails here instead of silently stealing half of the bytes.
    exclusive = True if is_local_device(url) else None
    try:
        port = serial.serial_for_url(
            url,
            baudrate=settings.baudrate,
            bytesize=settings.bytesize,
            parity=settings.parity,
            stopbits=settings.stopbits,
            timeout=options.read_timeout_s,
            write_timeout=options.write_timeout_s,
            exclusive=exclusive,
        )
    except ValueError as exc:
        # pyserial raises ValueError for unknown URL schemes and impossible line settings.
        raise ScalePortError(url, f"invalid port or settings: {exc}") from exc
    except serial.SerialException as exc:
        raise ScalePortError(url, _open_problem(exc)) from exc
    except OSError as exc:
        raise ScalePortError(url, _open_problem(exc)) from exc
    try:
        port.reset_input_buffer()
    except (serial.SerialException, OSError) as exc:
        _close_quietly(port)
        raise ScaleUnplugged(url, f"lost right after opening: {exc}") from exc
    return port


def _open_problem(exc: BaseException) -> str:
    """A person-readable reason for a failed open."""
    text = str(exc)
    code = getattr(exc, "errno", None)
    if code == errno.ENOENT or "No such file" in text:
        return f"not found (unplugged, or wrong path?): {text}"
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return f"permission denied (is the user in the dialout group?): {text}"
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in text:
        return f"busy: another program has it open: {text}"
    if "refused" in text.lower():
        return f"connection refused (is the scale server running?): {text}"
    return f"cannot open: {text}"


def _close_quietly(port: serial.SerialBase) -> None:
    # Closing an unplugged device can fail; there is nothing left to release then.
    with contextlib.suppress(serial.SerialException, OSError):
        port.close()


class Link:
    """An open port with the scale's vocabulary: every failure is :class:`ScaleUnplugged`.

    Every chunk read or written is offered to the wire log (a no-op while the log is off).
    ``clock`` stamps the wire log; the service passes its own monotonic clock.
    """

    def __init__(
        self,
        port: serial.SerialBase,
        url: str,
        *,
        wirelog: WireLog | None = None,
        clock: Callable[[], float],
    ) -> None:
        self.port = port
        self.url = url
        self._wirelog = wirelog
        self._clock = clock
        self.bytes_in = 0
        self.bytes_out = 0

    def read(self, max_bytes: int = 4096) -> bytes:
        """What arrives within the port's read timeout (``b""`` if nothing)."""
        try:
            data = self.port.read(max_bytes)
        except (serial.SerialException, OSError) as exc:
            raise ScaleUnplugged(self.url, f"read failed, device gone: {exc}") from exc
        if data:
            self.bytes_in += len(data)
            if self._wirelog is not None:
                self._wirelog.record(self._clock(), Direction.RX, data)
        return bytes(data)

    def write(self, data: bytes) -> None:
        """Send ``data`` whole; a short write or a write timeout means the link is dead."""
        if self._wirelog is not None:
            self._wirelog.record(self._clock(), Direction.TX, data)
        try:
            # No flush(): tcdrain() has no timeout and can hang on a wedged adapter; the bytes
            # are with the driver once write() returns, which is all the protocols need.
            written = self.port.write(data)
        except serial.SerialTimeoutException as exc:
            raise ScaleUnplugged(
                self.url, f"write timed out (device not accepting data): {exc}"
            ) from exc
        except (serial.SerialException, OSError) as exc:
            raise ScaleUnplugged(self.url, f"write failed, device gone: {exc}") from exc
        if written is not None and written != len(data):
            raise ScaleUnplugged(self.url, f"short write ({written} of {len(data)} bytes)")
        self.bytes_out += len(data)

    def close(self) -> None:
        """Release the port; never raises (an unplugged device may refuse to close cleanly)."""
        _close_quietly(self.port)
