"""Small helpers of the reliability suite: waiting on real threads, a cart app from config, and
a tiny TCP server on 127.0.0.1 that answers HTTP one byte every few seconds."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cart_app.app import CartApp
from cart_app.clock import Clock, SystemClock
from cart_app.config import load_config_text

WAIT_S = 20.0
"""Safety bound on waits for real threads (a loaded 2-core machine may stall for seconds)."""


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def build_app(
    tmp_path: Path,
    extra: str = "",
    clock: Clock | None = None,
    *,
    store: str = "",
    top: str = "",
) -> CartApp:
    """A cart from configuration text: the laptop profile without cameras (unless ``extra``
    adds some) and with the embedded store (unless ``store`` gives the ``[store]`` table);
    ``top`` holds top-level keys (``cart_id = …``)."""
    store = store or "[store]\nmode = 'embedded'\n"
    cameras = "" if "[[cameras]]" in extra else "cameras = []\n"
    text = f"{top}{cameras}[paths]\ndata_dir = '{tmp_path / 'data'}'\n{store}{extra}"
    loaded = load_config_text(text, source="reliability.toml", base_dir=tmp_path)
    return CartApp.build(loaded, clock or SystemClock())


class TrickleServer:
    """Accepts HTTP connections on 127.0.0.1 and answers one byte every ``seconds_per_byte``.

    The answer is a well-formed HTTP response, so only the pace is hostile: a client without a
    total deadline would hang on it for minutes. ``connections`` counts what was accepted.
    """

    RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

    def __init__(self, seconds_per_byte: float = 2.0) -> None:
        self.seconds_per_byte = seconds_per_byte
        self.connections = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._clients: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="trickle", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._clients.append(conn)
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(0.5)
            with contextlib.suppress(TimeoutError):
                conn.recv(65536)  # the request; its content does not matter
            for byte in self.RESPONSE:
                if self._stop.wait(self.seconds_per_byte):
                    return
                conn.sendall(bytes([byte]))

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        for conn in self._clients:
            with contextlib.suppress(OSError):
                conn.close()
        self._thread.join(5)


class FaultProxy:
    """A TCP proxy on 127.0.0.1 in front of the store whose behaviour the test switches.

    Modes: ``pass`` (bytes both ways), ``down`` (the port is closed: connection refused),
    ``slow`` (reads the request, then answers one byte every ``seconds_per_byte``), ``error``
    (answers ``503`` with a problem document). Switching closes every open connection, so a
    client's pooled keep-alive connection cannot carry it past the new behaviour.
    """

    _BODY = b'{"type":"unavailable","title":"Service Unavailable","status":503,"detail":"busy"}'
    ERROR = (
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
        + f"Content-Length: {len(_BODY)}\r\nConnection: close\r\n\r\n".encode()
        + _BODY
    )

    def __init__(self, upstream_port: int, seconds_per_byte: float = 2.0) -> None:
        self.upstream_port = upstream_port
        self.seconds_per_byte = seconds_per_byte
        self.mode = "pass"
        self.accepted: dict[str, int] = {}
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._generation = threading.Event()
        self._sock: socket.socket | None = None
        self.port = 0
        self._listen()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(32)
        sock.settimeout(0.1)
        self.port = int(sock.getsockname()[1])
        self._sock = sock
        threading.Thread(target=self._accept, args=(sock,), name="proxy", daemon=True).start()

    def set_mode(self, mode: str) -> None:
        """Switch behaviour; ``down`` closes the port, leaving it reopens the same port."""
        assert mode in ("pass", "down", "slow", "error"), mode
        with self._lock:
            old, self.mode = self.mode, mode
            conns, self._conns = self._conns, []
            self._generation.set()
            self._generation = threading.Event()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        if mode == "down" and self._sock is not None:
            self._sock.close()
            self._sock = None
        elif old == "down" and mode != "down":
            self._listen()

    def _track(self, conn: socket.socket) -> threading.Event:
        with self._lock:
            self._conns.append(conn)
            return self._generation

    def _accept(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            mode = self.mode
            self.accepted[mode] = self.accepted.get(mode, 0) + 1
            switched = self._track(conn)
            target = {"pass": self._pipe, "slow": self._slow, "error": self._error}.get(mode)
            if target is None:
                conn.close()
                continue
            threading.Thread(target=target, args=(conn, switched), daemon=True).start()

    def _pipe(self, conn: socket.socket, switched: threading.Event) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            conn.close()
            return
        self._track(upstream)

        def copy(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while not switched.is_set():
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=copy, args=(upstream, conn), daemon=True).start()
        copy(conn, upstream)

    def _read_request(self, conn: socket.socket) -> None:
        conn.settimeout(0.5)
        with contextlib.suppress(OSError):
            conn.recv(65536)

    def _slow(self, conn: socket.socket, switched: threading.Event) -> None:
        with contextlib.suppress(OSError), conn:
            self._read_request(conn)
            for byte in TrickleServer.RESPONSE:
                if switched.wait(self.seconds_per_byte) or self._stop.is_set():
                    return
                conn.sendall(bytes([byte]))

    def _error(self, conn: socket.socket, switched: threading.Event) -> None:
        with contextlib.suppress(OSError), conn:
            self._read_request(conn)
            conn.sendall(self.ERROR)

    def close(self) -> None:
        self._stop.set()
        self.set_mode("down")
