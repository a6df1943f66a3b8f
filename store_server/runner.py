"""Running the server: uvicorn in a background thread (tests, bench, demo) or in the foreground.

The listening socket is bound here, before uvicorn starts, so that ``port=0`` gives a free port
that is known at once, and a restarted server can take the same port again (``SO_REUSEADDR``),
which is how the tests cut and restore the network.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Final

import uvicorn
from fastapi import FastAPI

START_TIMEOUT_S: Final = 15.0


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Server certificate and key; ``client_ca`` set means client certificates are required."""

    certfile: str
    keyfile: str
    client_ca: str | None = None


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # socket says it is TCP; without it, a keep-alive response written in two parts waits
    # 40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(512)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: FastAPI, tls: TlsFiles | None, log_level: str) -> uvicorn.Config:
    """uvicorn settings shared by the thread and the foreground server."""
    options: dict[str, object] = {}
    if tls is not None:
        options.update(ssl_certfile=tls.certfile, ssl_keyfile=tls.keyfile)
        if tls.client_ca:
            options.update(ssl_ca_certs=tls.client_ca, ssl_cert_reqs=ssl.CERT_REQUIRED)
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        # Long polls end within a second of shutdown instead of holding it for their wait.
        timeout_graceful_shutdown=1,
        timeout_keep_alive=5,
        **options,  # type: ignore[arg-type]
    )


class ServerThread:
    """A uvicorn server on a background thread; :meth:`start` returns once it accepts."""

    def __init__(
        self,
        app: FastAPI,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: TlsFiles | None = None,
        log_level: str = "warning",
    ) -> None:
        """Serve ``app`` on ``host:port`` (0: a free port, known after :meth:`start`)."""
        self.app = app
        self.host = host
        self.port = port
        self.tls = tls
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server's root URL."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        """Bind, start serving and wait until the server is up."""
        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn_config(self.app, self.tls, self._log_level))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="store-server", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError(f"store server on port {self.port} did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread (connections are closed)."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(10)
        self._server = None
        self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(
    app: FastAPI,
    *,
    host: str,
    port: int,
    tls: TlsFiles | None = None,
    log_level: str = "info",
    announce: bool = True,
) -> None:
    """Serve in the foreground until interrupted (SIGINT/SIGTERM end it gracefully)."""
    sock = bind_socket(host, port)
    actual = sock.getsockname()[1]
    if announce:
        scheme = "https" if tls else "http"
        # One parseable line, so scripts and the bench can start the server on port 0.
        print(f"store-server listening on {scheme}://{host}:{actual}", flush=True)
    uvicorn.Server(uvicorn_config(app, tls, log_level)).run(sockets=[sock])
