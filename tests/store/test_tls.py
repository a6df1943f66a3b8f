"""TLS with the real server: the store's certificate is verified, and a store that requires
client certificates accepts a cart's certificate and refuses a cart without one."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cart_app.store.client import StoreClient
from cart_app.store.http import StoreTLSError, StoreUnreachable, TransportSettings
from store_server.api import ServerContext, create_app
from store_server.db import StoreDB
from store_server.runner import ServerThread, TlsFiles

pytestmark = pytest.mark.security


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _issue(
    folder: Path,
    name: str,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    server: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca[0].subject if ca else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca is None, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(ca[1] if ca else key, hashes.SHA256())
    (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, folder / f"{name}.key")
    return cert, key


def test_client_certificates(tmp_path: Path) -> None:
    ca = _issue(tmp_path, "store-ca", None)
    _issue(tmp_path, "server", ca, server=True)
    _issue(tmp_path, "cart-1", ca)
    db = StoreDB.open(str(tmp_path / "store.sqlite3"))
    api_key = db.add_principal("cart", "cart-1")
    tls = TlsFiles(
        str(tmp_path / "server.pem"), str(tmp_path / "server.key"), str(tmp_path / "store-ca.pem")
    )
    server = ServerThread(create_app(ServerContext(db)), tls=tls).start()
    try:
        url = f"https://127.0.0.1:{server.port}"
        base = {"base_url": url, "api_key": api_key, "retry_total": 0, "read_timeout_s": 3.0}
        with_cert = StoreClient.from_settings(
            TransportSettings(
                **base,  # type: ignore[arg-type]
                ca_bundle=str(tmp_path / "store-ca.pem"),
                client_cert=(str(tmp_path / "cart-1.pem"), str(tmp_path / "cart-1.key")),
            )
        )
        assert with_cert.health().status == "ok"
        without = StoreClient.from_settings(
            TransportSettings(**base, ca_bundle=str(tmp_path / "store-ca.pem"))  # type: ignore[arg-type]
        )
        with pytest.raises((StoreTLSError, StoreUnreachable)):
            without.health()
        untrusting = StoreClient.from_settings(TransportSettings(**base))  # type: ignore[arg-type]
        with pytest.raises(StoreTLSError, match="TLS"):
            untrusting.health()
    finally:
        server.stop()
        db.close()
