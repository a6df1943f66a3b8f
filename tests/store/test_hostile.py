"""Malformed and hostile store answers, from a tiny server on loopback: each is refused with a
clear error, within bounded time, and nothing of it reaches the cart."""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cart_app.store.client import StoreClient
from cart_app.store.contract import HandoffRequest
from cart_app.store.http import (
    StoreAuthError,
    StoreConfigError,
    StoreHTTPError,
    StoreProtocolError,
    StoreTLSError,
    StoreUnreachable,
    TransportSettings,
    check_base_url,
)
from tests.store.conftest import CartFactory, fast_settings

Handler = Callable[[BaseHTTPRequestHandler], None]

pytestmark = pytest.mark.security


class Hostile:
    """An HTTP server whose every answer is written by the test."""

    def __init__(self) -> None:
        self.behaviour: Handler = lambda h: None
        self.requests = 0
        hostile = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                hostile.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with contextlib.suppress(OSError):
                    hostile.behaviour(self)

            def do_GET(self) -> None:
                self._any()

            def do_POST(self) -> None:
                self._any()

            def do_PUT(self) -> None:
                self._any()

            def log_message(self, format: str, *args: object) -> None:
                pass

        class _Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # the client hanging up on a hostile answer is the point of the test

        self.server = _Server(("127.0.0.1", 0), _H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    h = Hostile()
    yield h
    h.close()


def answer(
    status: int, body: bytes, content_type: str = "application/json", **headers: str
) -> Handler:
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        h.wfile.write(body)

    return handler


def client_for(h: Hostile, **overrides: object) -> StoreClient:
    return StoreClient.from_settings(fast_settings(h.url, "sck_test-key-test-key", **overrides))


def test_wrong_types_are_a_contract_violation(hostile: Hostile) -> None:
    hostile.behaviour = answer(200, b'{"status": "ok", "api_version": 1, "server_time": "now"}')
    with pytest.raises(StoreProtocolError, match="breaks the contract: api_version"):
        client_for(hostile).health()


def test_not_json_is_refused(hostile: Hostile) -> None:
    hostile.behaviour = answer(200, b"<html>hello</html>", "text/html")
    with pytest.raises(StoreProtocolError, match="expected application/json"):
        client_for(hostile).health()
    hostile.behaviour = answer(200, b"{not json")
    with pytest.raises(StoreProtocolError, match="breaks the contract"):
        client_for(hostile).health()


def test_deeply_nested_json_is_refused(hostile: Hostile) -> None:
    hostile.behaviour = answer(200, b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(StoreProtocolError):
        client_for(hostile).health()


def test_huge_declared_body_is_refused_before_reading(hostile: Hostile) -> None:
    def huge(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(50 * 1024 * 1024))
        h.end_headers()
        h.wfile.write(b" " * 65536)  # the rest never needs to be sent

    hostile.behaviour = huge
    started = time.monotonic()
    with pytest.raises(StoreProtocolError, match="exceeds the 1048576-byte limit"):
        client_for(hostile).health()
    assert time.monotonic() - started < 2


def test_huge_chunked_body_is_cut_at_the_limit(hostile: Hostile) -> None:
    sent = []

    def endless(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b" " * 65536
        for _ in range(800):  # 50 MB if the client kept reading
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent.append(len(chunk))
        h.wfile.write(b"0\r\n\r\n")

    hostile.behaviour = endless
    with pytest.raises(StoreProtocolError, match="exceeds the 1048576-byte limit"):
        client_for(hostile).health()
    assert sum(sent) < 50 * 1024 * 1024


def test_slow_drip_hits_the_deadline(hostile: Hostile) -> None:
    def drip(h: BaseHTTPRequestHandler) -> None:
        body = b'{"status":"ok","api_version":"1.0","server_time":1}' + b" " * 200
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for byte in body:  # one byte every 0.1 s: under the read timeout, forever in total
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            time.sleep(0.1)

    hostile.behaviour = drip
    started = time.monotonic()
    with pytest.raises(StoreProtocolError, match="deadline"):
        client_for(hostile, total_timeout_s=1.0, read_timeout_s=0.5, connect_timeout_s=0.5).health()
    assert time.monotonic() - started < 3


def test_silent_server_times_out(hostile: Hostile) -> None:
    hostile.behaviour = lambda h: time.sleep(3)
    started = time.monotonic()
    with pytest.raises(StoreUnreachable):
        client_for(hostile, read_timeout_s=0.3, retry_total=0).health()
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("location", ["http://evil.example/v1/health", "/v1/elsewhere"])
def test_redirects_are_refused(hostile: Hostile, location: str) -> None:
    hostile.behaviour = answer(302, b"", Location=location)
    with pytest.raises(StoreProtocolError, match="redirects are refused"):
        client_for(hostile).health()
    assert hostile.requests == 1  # not followed


def test_redirect_names_the_other_host(hostile: Hostile) -> None:
    hostile.behaviour = answer(307, b"", Location="https://evil.example/steal")
    with pytest.raises(StoreProtocolError, match=r"another host \(evil.example\)"):
        client_for(hostile).health()


def test_compressed_body_is_refused(hostile: Hostile) -> None:
    hostile.behaviour = answer(200, b"\x1f\x8b\x08\x00", Content_Encoding="gzip")
    with pytest.raises(StoreProtocolError, match="compressed"):
        client_for(hostile).health()


def test_server_errors_are_retried_then_reported(hostile: Hostile) -> None:
    body = json.dumps({"type": "internal-error", "title": "x", "status": 503, "detail": "busy"})
    hostile.behaviour = answer(503, body.encode(), "application/problem+json")
    with pytest.raises(StoreHTTPError) as caught:
        client_for(hostile, retry_total=2).health()
    assert caught.value.status == 503 and caught.value.retryable
    assert hostile.requests == 3  # one try and two retries


def test_retry_after_is_capped(hostile: Hostile) -> None:
    hostile.behaviour = answer(429, b"{}", Retry_After="3600")
    started = time.monotonic()
    with pytest.raises(StoreHTTPError):
        client_for(hostile, retry_total=1, retry_backoff_max_s=0.2).health()
    assert time.monotonic() - started < 3


def test_wrong_api_key_is_an_auth_error(hostile: Hostile) -> None:
    body = b'{"type":"bad-api-key","title":"Unauthorized","status":401,"detail":"unknown key"}'
    hostile.behaviour = answer(401, body, "application/problem+json")
    with pytest.raises(StoreAuthError, match="bad-api-key"):
        client_for(hostile).health()
    assert hostile.requests == 1  # never retried


def test_handoff_ack_for_another_handoff_is_refused(hostile: Hostile) -> None:
    ack = {"handoff_id": "f" * 32, "status": "paid", "replayed": False, "received_at": 1.0}
    hostile.behaviour = answer(201, json.dumps(ack).encode())
    request = HandoffRequest(
        handoff_id="a" * 32,
        session_id="s1",
        cart_id="c1",
        token="SC1:AAAAAAAA",
        currency="SEK",
        total_cents=100,
        lines=[],
        created_at=1.0,
    )
    with pytest.raises(StoreProtocolError, match="another handoff id"):
        client_for(hostile).hand_off(request)


def test_bad_status_on_payment_is_refused(hostile: Hostile) -> None:
    status = {"handoff_id": "a" * 32, "status": "maybe-paid"}
    hostile.behaviour = answer(200, json.dumps(status).encode())
    with pytest.raises(StoreProtocolError, match="status"):
        client_for(hostile).payment_status("a" * 32)


def test_unreachable_store() -> None:
    with pytest.raises(StoreUnreachable):
        StoreClient.from_settings(
            fast_settings("http://127.0.0.1:9", "sck_k", retry_total=0)
        ).health()


def test_plain_http_only_to_loopback() -> None:
    assert (
        check_base_url("http://127.0.0.1:8765/", allow_plain_http=False) == "http://127.0.0.1:8765"
    )
    assert check_base_url("http://[::1]:8765", allow_plain_http=False)
    with pytest.raises(StoreConfigError, match="plain http"):
        check_base_url("http://store.example", allow_plain_http=False)
    for bad in ("ftp://x", "https://user:pw@store.example", "https://store.example/?q=1", "x"):
        with pytest.raises(StoreConfigError):
            check_base_url(bad, allow_plain_http=False)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_is_verified_by_default(hostile: Hostile, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    hostile.server.socket = context.wrap_socket(hostile.server.socket, server_side=True)
    hostile.behaviour = answer(200, b'{"status":"ok","api_version":"1.0","server_time":1}')
    url = f"https://127.0.0.1:{hostile.port}"
    with pytest.raises(StoreTLSError, match="TLS"):
        StoreClient.from_settings(fast_settings(url, "sck_k", retry_total=0)).health()
    # Trusting the store's CA explicitly works; verification is still on.
    trusted = StoreClient.from_settings(
        TransportSettings(base_url=url, api_key="sck_k", ca_bundle=str(cert), retry_total=0)
    )
    assert trusted.health().status == "ok"


def test_hostile_store_never_costs_the_basket(hostile: Hostile, carts: CartFactory) -> None:
    """Every answer breaks the contract: the link degrades, the handoff stays queued, the
    basket stays handed off, and nothing is marked delivered."""
    from cart_app.session import SessionState
    from cart_app.store.link import LinkState
    from tests.store.conftest import wait_for

    hostile.behaviour = answer(201, b'{"handoff_id": 12, "status": "paid"}')
    cart = carts.build(hostile.url, "sck_k")
    cart.shop()
    cart.checkout()
    ticket = cart.link.hand_off()
    wait_for(lambda: cart.link.status.state is LinkState.DEGRADED, what="degraded")
    assert "breaks the contract" in cart.link.status.reason
    entry = cart.outbox.get(ticket.handoff_id)
    assert entry is not None and entry.state == "ready"
    assert cart.engine.snapshot.basket.state is SessionState.HANDED_OFF
    assert len(cart.engine.snapshot.basket.lines) == 3
