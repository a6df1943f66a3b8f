"""Test helper: the far end of a real serial link, speaking real protocol bytes.

A *device* decides what to send (a cart board streams sample lines; an MT-SICS balance answers
requests). A *peer* carries those bytes over a real transport that the service opens by URL:

- :class:`PtyPeer`: an ``os.openpty()`` pair behind a symlink, as ``/dev/serial/by-id/…`` is.
  Unplug closes the master (the service's reads fail the way a pulled USB adapter's do);
  replug makes a new pty and points the symlink at it.
- :class:`SocatPeer`: ``socat pty,link=A pty,link=B``; the device writes into B, the service
  opens A. Unplug kills socat; replug starts it again on the same links.
- :class:`TcpPeer`: a TCP server on 127.0.0.1 for ``socket://``; unplug closes it.

:class:`EventLog` collects what a service publishes and waits on conditions with generous
timeouts; tests never assert on wall time.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import subprocess
import threading
import time
import tty
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from scale.calibration import DEFAULT_CALIBRATION, Calibration
from scale.protocols import cartboard

T = TypeVar("T")

WAIT_S = 10.0  # generous: a loaded 2-core CI machine may stall a thread for a second


class Device(Protocol):
    """What a peer needs of a simulated device."""

    rate_hz: float

    def stream(self) -> bytes:
        """Bytes sent unasked at each tick (``b""`` for polled devices)."""
        ...

    def answer(self, line: bytes) -> bytes:
        """The answer to one received command line (terminator included)."""
        ...


class CartBoard:
    """The cart's load-cell board: four cells, 80 lines/s, the counts of a grams value.

    ``grams`` is the basket's load, spread over the cells by ``share``; ``cell_grams`` (when
    set) gives each cell's load directly, for corner calibration. ``offset_g`` shifts every
    cell's zero, as a board that drifted or a cart standing on a slope does.
    """

    rate_hz = float(cartboard.SAMPLE_RATE_HZ)

    def __init__(
        self,
        grams: float = 0.0,
        *,
        calibration: Calibration = DEFAULT_CALIBRATION,
        serial: str = "CB-000123",
        share: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
    ) -> None:
        self.grams = grams
        self.calibration = calibration
        self.serial = serial
        self.share = tuple(share)
        self.cell_grams: tuple[float, ...] | None = None
        self.offset_g = 0.0
        self.clip = False
        self.seq = 0
        self.commands: list[bytes] = []

    def counts(self) -> list[int | None]:
        """Each cell's raw counts for the current load."""
        if self.clip:
            return [cartboard.COUNT_MAX] * cartboard.CELLS
        loads = self.cell_grams or tuple(self.grams * s for s in self.share)
        return [
            round(c.zero_counts + c.counts_per_gram * (g + self.offset_g / cartboard.CELLS))
            for c, g in zip(self.calibration.cells, loads, strict=True)
        ]

    def stream(self) -> bytes:
        line = cartboard.encode_sample(self.seq, self.counts())
        self.seq = (self.seq + 1) % cartboard.SEQ_MODULUS
        return line

    def boot(self) -> bytes:
        """What the board sends at power-up: its identify answer."""
        return cartboard.encode_identify_answer(self.serial)

    def answer(self, line: bytes) -> bytes:
        self.commands.append(line)
        if line.strip() in (b"I4", b"@"):
            return cartboard.encode_identify_answer(self.serial)
        return b"ES\r\n"


class MtSicsBalance:
    """A polled MT-SICS balance: answers ``SI``, ``I4``, ``Z`` (zero) and ``T`` (tare)."""

    rate_hz = 200.0  # how often the peer looks for requests

    def __init__(self, grams: float = 0.0, *, serial: str = "B021002593") -> None:
        self.grams = grams
        self.serial = serial
        self.zero_g = 0.0
        self.zero_refused = False
        self.commands: list[bytes] = []

    def stream(self) -> bytes:
        return b""

    def answer(self, line: bytes) -> bytes:
        self.commands.append(line)
        command = line.strip()
        if command == b"SI":
            return f"S S {self.grams - self.zero_g:10.2f} g\r\n".encode("ascii")
        if command == b"I4":
            return f'I4 A "{self.serial}"\r\n'.encode("ascii")
        if command == b"Z":
            if self.zero_refused:
                return b"Z +\r\n"
            self.zero_g = self.grams
            return b"Z A\r\n"
        return b"ES\r\n"


class _Channel(Protocol):
    def write(self, data: bytes) -> None: ...

    def read(self) -> bytes: ...

    def fileno(self) -> int: ...


class _FdChannel:
    """A pty end as the device sees it: non-blocking, bytes that do not fit are dropped."""

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self.fd = fd

    def write(self, data: bytes) -> None:
        with contextlib.suppress(BlockingIOError):
            # A real UART also sends into the void when nobody listens.
            os.write(self.fd, data)

    def read(self) -> bytes:
        try:
            return os.read(self.fd, 4096)
        except BlockingIOError:
            return b""

    def fileno(self) -> int:
        return self.fd


class _SocketChannel:
    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock

    def write(self, data: bytes) -> None:
        with contextlib.suppress(BlockingIOError):
            self.sock.sendall(data)

    def read(self) -> bytes:
        try:
            data = self.sock.recv(4096)
        except BlockingIOError:
            return b""
        if not data:
            raise ConnectionResetError("client left")
        return data

    def fileno(self) -> int:
        return self.sock.fileno()


class _Pump:
    """The device's clock: sends its stream at ``rate_hz`` and answers received lines."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.received = bytearray()
        self._inbox = bytearray()
        self._channel: _Channel | None = None
        self._pending: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pty-peer", daemon=True)
        self._thread.start()

    def attach(self, channel: _Channel | None) -> None:
        with self._lock:
            self._channel = channel
            self._inbox.clear()

    def send(self, data: bytes) -> None:
        """Send raw bytes once, at the next tick (garbage, a boot message…)."""
        with self._lock:
            self._pending.append(data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(WAIT_S)

    def _run(self) -> None:
        period = 1.0 / self.device.rate_hz
        next_t = time.monotonic()
        while not self._stop.is_set():
            # The tick runs under the lock, so attach(None) returns only once the pump let go
            # of the old channel: its fd can then be closed (and its number reused) safely.
            with self._lock:
                channel = self._channel
                pending, self._pending = self._pending, []
                if channel is not None:
                    try:
                        self._tick(channel, pending)
                    except OSError:
                        # The far end vanished under us; the test reattaches on replug.
                        self._channel = None
            next_t += period
            now = time.monotonic()
            if next_t < now - 0.25:
                next_t = now  # a stalled machine: skip ahead instead of bursting
            self._stop.wait(max(0.0, next_t - now))

    def _tick(self, channel: _Channel, pending: list[bytes]) -> None:
        for data in pending:
            channel.write(data)
        while select.select([channel.fileno()], [], [], 0)[0]:
            data = channel.read()
            if not data:
                break
            self.received += data
            self._inbox += data
        while b"\n" in self._inbox:
            line, _, rest = bytes(self._inbox).partition(b"\n")
            self._inbox = bytearray(rest)
            channel.write(self.device.answer(line + b"\n"))
        out = self.device.stream()
        if out:
            channel.write(out)


class PtyPeer:
    """A device behind an ``os.openpty()`` pair, reached through the symlink :attr:`path`."""

    def __init__(self, device: Device, path: Path) -> None:
        self.path = path
        self.device = device
        self.pump = _Pump(device)
        self._master: int | None = None
        self._slave: int | None = None
        self.replug()

    @property
    def url(self) -> str:
        return str(self.path)

    def replug(self, boot: bytes = b"") -> None:
        """Plug a fresh pty in at :attr:`path` (a new device node, as after a USB replug)."""
        master, slave = os.openpty()
        # Raw both ways, so nothing echoes bytes back before the service configures its end.
        tty.setraw(master)
        tty.setraw(slave)
        tmp = self.path.with_name(self.path.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.path)
        # Holding the slave keeps the pty alive between the service's opens.
        self._master, self._slave = master, slave
        self.pump.attach(_FdChannel(master))
        if boot:
            self.pump.send(boot)

    def unplug(self) -> None:
        """Pull the plug: the master closes and the service's reads fail."""
        self.pump.attach(None)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def close(self) -> None:
        self.pump.close()
        if self._master is not None:
            self.unplug()


class SocatPeer:
    """A device behind ``socat``: the service opens :attr:`path`, the device writes the twin."""

    def __init__(self, device: Device, directory: Path) -> None:
        exe = shutil.which("socat")
        if exe is None:
            raise RuntimeError("socat is not installed")
        self._exe = exe
        self.path = directory / "scale"
        self._device_path = directory / "device"
        self.device = device
        self.pump = _Pump(device)
        self._proc: subprocess.Popen[bytes] | None = None
        self._fd: int | None = None
        self.replug()

    @property
    def url(self) -> str:
        return str(self.path)

    def replug(self) -> None:
        """Start socat and attach the device to its far pty."""
        for p in (self.path, self._device_path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        self._proc = subprocess.Popen(
            [
                self._exe,
                "-d",
                "-d",
                f"pty,raw,echo=0,link={self.path}",
                f"pty,raw,echo=0,link={self._device_path}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: self.path.exists() and self._device_path.exists(), "socat ptys")
        fd = os.open(self._device_path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        self._fd = fd
        self.pump.attach(_FdChannel(fd))

    def unplug(self) -> None:
        """Kill socat: both ptys go away mid-stream."""
        self.pump.attach(None)
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(WAIT_S)
            self._proc = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        self.pump.close()
        self.unplug()


class TcpPeer:
    """A device behind a TCP server on 127.0.0.1 (``socket://``), one client at a time."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.pump = _Pump(device)
        self.port = 0
        self._server: socket.socket | None = None
        self._client: socket.socket | None = None
        self._stop = threading.Event()
        self._accepter: threading.Thread | None = None
        self.replug()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def replug(self) -> None:
        """Listen (again, on the same port) and serve the next client."""
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(1)
        server.settimeout(0.05)
        self.port = server.getsockname()[1]
        self._server = server
        self._stop.clear()
        self._accepter = threading.Thread(target=self._accept, args=(server,), daemon=True)
        self._accepter.start()

    def _accept(self, server: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._client = client
            self.pump.attach(_SocketChannel(client))

    def unplug(self) -> None:
        """Close the server and the connection: ``socket disconnected`` at the service."""
        self._stop.set()
        if self._accepter is not None:
            self._accepter.join(WAIT_S)
        self.pump.attach(None)
        for sock in (self._client, self._server):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._client = self._server = None

    def close(self) -> None:
        self.pump.close()
        self.unplug()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Poll ``condition`` until it holds; ``AssertionError`` naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class EventLog:
    """Collects a service's events (thread-safe) and waits for the ones a test expects."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self._cond = threading.Condition()

    def __call__(self, event: object) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def snapshot(self) -> list[object]:
        with self._cond:
            return list(self.events)

    def of(self, kind: type[T], since: int = 0) -> list[T]:
        return [e for e in self.snapshot()[since:] if isinstance(e, kind)]

    def wait_for(
        self,
        predicate: Callable[[object], bool],
        what: str,
        since: int = 0,
        timeout: float = WAIT_S,
    ) -> object:
        """The first event from index ``since`` on that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[since:]:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "\n  ".join(repr(e) for e in self.events[since:][-15:])
                    raise AssertionError(f"timed out waiting for {what}; last events:\n  {seen}")
                self._cond.wait(left)

    def mark(self) -> int:
        """The index the next event will get (for ``since=``)."""
        with self._cond:
            return len(self.events)


def mt_sics_answer(grams: float) -> bytes:
    """A stable MT-SICS weight line (for tests that write answers by hand)."""
    return f"S S {grams:10.2f} g\r\n".encode("ascii")


__all__ = [
    "WAIT_S",
    "CartBoard",
    "EventLog",
    "MtSicsBalance",
    "PtyPeer",
    "SocatPeer",
    "TcpPeer",
    "mt_sics_answer",
    "wait_until",
]
