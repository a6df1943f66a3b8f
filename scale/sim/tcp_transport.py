"""Serve a simulated scale on a loopback TCP port, opened by the host as ``socket://``."""

from __future__ import annotations

import contextlib
import socket

from scale.sim.transport import Transport

LOCALHOST = "127.0.0.1"


class TcpTransport(Transport):
    """A TCP port on 127.0.0.1; the host opens ``socket://127.0.0.1:PORT``.

    One client at a time: a new connection replaces the current one, so a host that reconnects
    after an error is never locked out by a connection this side has not yet seen close.
    Port 0 picks a free port, which is kept across unplug and replug.
    """

    def __init__(self, port: int = 0, host: str = LOCALHOST) -> None:
        super().__init__()
        if not 0 <= port <= 65535:
            raise ValueError(f"not a TCP port: {port}")
        self.host = host
        self.port = port
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None
        self.connections = 0

    @property
    def url(self) -> str:
        """``socket://HOST:PORT``."""
        return f"socket://{self.host}:{self.port}"

    @property
    def is_open(self) -> bool:
        """Whether the port is listening."""
        return self._listener is not None

    @property
    def connected(self) -> bool:
        """Whether a client is connected."""
        return self._client is not None

    def open(self) -> str:
        """Listen (again) on the port."""
        if self._listener is not None:
            return self.url
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(4)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        self._listener = listener
        return self.url

    def close(self) -> None:
        """Stop listening and drop the client (it reads end-of-file)."""
        self._close_client()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _close_client(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.close()
            self._client = None
        self._drop_pending()

    def wait_fds(self) -> tuple[list[int], list[int]]:
        """The listener and the client (for writing too while output waits)."""
        readers = [s.fileno() for s in (self._listener, self._client) if s is not None]
        writers = [self._client.fileno()] if self._client is not None and self._pending else []
        return readers, writers

    def read(self) -> bytes:
        """Accept a waiting connection, then read the client's bytes."""
        self._accept()
        if self._client is None:
            return b""
        chunks = bytearray()
        while True:
            try:
                data = self._client.recv(4096)
            except BlockingIOError:
                break
            except OSError:
                self._close_client()
                break
            if not data:
                self._close_client()
                break
            chunks += data
        return bytes(chunks)

    def _accept(self) -> None:
        if self._listener is None:
            return
        while True:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._close_client()
            client.setblocking(False)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._client = client
            self.connections += 1

    def _send(self, data: bytes) -> int:
        if self._client is None:
            return 0
        try:
            return self._client.send(data)
        except BlockingIOError:
            return 0
        except OSError:
            self._close_client()
            return 0
