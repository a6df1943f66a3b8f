"""The wire between a simulated scale and the host: the base class of the pty and TCP ports.

A transport queues what the device sends and writes what the host can take now, dropping it
while nobody is attached, as a UART drops what nobody reads. :mod:`scale.sim.pty_transport` and
:mod:`scale.sim.tcp_transport` supply the ports.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

# Output not taken by the host is dropped beyond this, as a UART drops what nobody reads.
MAX_PENDING_OUTPUT = 64 * 1024


class Transport(ABC):
    """The wire between the simulated scale and the host: opened, read, written, closed."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self.dropped_bytes = 0

    @property
    @abstractmethod
    def url(self) -> str:
        """What the host opens: a device path or a pyserial URL."""

    @property
    @abstractmethod
    def is_open(self) -> bool:
        """Whether the port exists (between open and close)."""

    @property
    @abstractmethod
    def connected(self) -> bool:
        """Whether a host is attached right now."""

    @abstractmethod
    def open(self) -> str:
        """Create the port; returns :attr:`url`."""

    @abstractmethod
    def close(self) -> None:
        """Remove the port; a host attached to it sees the line go away."""

    @abstractmethod
    def wait_fds(self) -> tuple[list[int], list[int]]:
        """File descriptors to wait on for reading and for writing."""

    @abstractmethod
    def read(self) -> bytes:
        """Whatever the host wrote (non-blocking); accepts new TCP clients."""

    @abstractmethod
    def _send(self, data: bytes) -> int:
        """Write what the host can take now; returns the bytes written (0 when it cannot)."""

    def write(self, data: bytes) -> None:
        """Queue ``data`` for the host and send what can go now; dropped when nobody listens."""
        if not data:
            self.flush()
            return
        if not self.connected:
            self.dropped_bytes += len(data)
            return
        self._pending += data
        if len(self._pending) > MAX_PENDING_OUTPUT:
            self.dropped_bytes += len(self._pending)
            self._pending.clear()
        self.flush()

    def flush(self) -> None:
        """Send queued output the host can take now."""
        while self._pending and self.connected:
            sent = self._send(bytes(self._pending))
            if sent <= 0:
                return
            del self._pending[:sent]

    def _drop_pending(self) -> None:
        self.dropped_bytes += len(self._pending)
        self._pending.clear()
