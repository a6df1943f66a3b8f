"""Serve a simulated scale on a pseudo-terminal pair, as a USB serial adapter would appear."""

from __future__ import annotations

import contextlib
import errno
import os
import tty
from pathlib import Path

from scale.sim.transport import Transport


class PtyTransport(Transport):
    """A pseudo-terminal pair: the simulator holds the master, the host opens the slave path.

    The slave is set raw (no echo, no newline translation) and then closed here, so that the
    kernel tells whether a host has it open: reading the master fails with EIO while nobody
    does. Output is written only while a host is attached, as on a line with nothing plugged in.
    ``link`` names a symlink kept pointing at the current slave, so that the host keeps one path
    across unplug and replug (each replug makes a new pty, usually with a new number).
    """

    def __init__(self, link: Path | None = None) -> None:
        super().__init__()
        self.link = link
        self._master: int | None = None
        self._slave_path = ""
        self._connected = False

    @property
    def url(self) -> str:
        """The symlink when one was asked for, else the slave's path (``/dev/pts/N``)."""
        return str(self.link) if self.link is not None else self._slave_path

    @property
    def slave_path(self) -> str:
        """The current slave device path."""
        return self._slave_path

    @property
    def is_open(self) -> bool:
        """Whether the pty exists."""
        return self._master is not None

    @property
    def connected(self) -> bool:
        """Whether a host had the slave open at the last read."""
        return self._connected

    def open(self) -> str:
        """Create a new pty pair (and point the link at it)."""
        if self._master is not None:
            return self.url
        master, slave = os.openpty()
        try:
            tty.setraw(slave)
            self._slave_path = os.ttyname(slave)
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        self._connected = False
        if self.link is not None:
            tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self._slave_path)
            os.replace(tmp, self.link)
        return self.url

    def close(self) -> None:
        """Close the master: the host's reads and writes fail, as when a USB adapter is pulled."""
        if self._master is not None:
            os.close(self._master)
            self._master = None
        self._connected = False
        self._drop_pending()
        if self.link is not None and self.link.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    def wait_fds(self) -> tuple[list[int], list[int]]:
        """The master, but only while a host is attached (else it reads as ready forever)."""
        if self._master is None or not self._connected:
            return [], []
        return [self._master], [self._master] if self._pending else []

    def read(self) -> bytes:
        """Read the host's bytes; notices whether a host is attached."""
        if self._master is None:
            return b""
        chunks = bytearray()
        while True:
            try:
                data = os.read(self._master, 4096)
            except BlockingIOError:
                self._connected = True
                break
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise
                # EIO: no process has the slave open.
                if self._connected:
                    self._drop_pending()
                self._connected = False
                break
            if not data:
                break
            self._connected = True
            chunks += data
        return bytes(chunks)

    def _send(self, data: bytes) -> int:
        if self._master is None:
            return 0
        try:
            return os.write(self._master, data)
        except BlockingIOError:
            return 0
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            self._connected = False
            self._drop_pending()
            return 0
