"""The basket token: round trip, and every kind of forgery, tampering and garbage refused."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cart_app.store.contract import lines_hash
from cart_app.store.token import (
    TOKEN_PREFIX,
    CartKey,
    KeyFileError,
    TokenClaims,
    TokenError,
    TokenExpired,
    TokenMalformed,
    TokenSignatureInvalid,
    TokenUnknownKey,
    issue_token,
    parse_token,
    verify_token,
)

pytestmark = pytest.mark.security

NOW = 1_800_000_000


def claims_for(key: CartKey, **overrides: object) -> TokenClaims:
    values: dict[str, object] = {
        "key_id": key.key_id,
        "handoff_id": "0123456789abcdef0123456789abcdef",
        "session_id": "9f2c4e1d5b7a4c3e8d1f0a2b3c4d5e6f",
        "cart_id": "cart-0042",
        "issued_at": NOW,
        "expires_at": NOW + 900,
        "total_cents": 123_456,
        "line_count": 7,
        "lines_hash": lines_hash([("MILK-1L", 2, 0, 2590), ("FV-BANANA", 1, 812, 2428)]),
    }
    values.update(overrides)
    return TokenClaims(**values)  # type: ignore[arg-type]


def raw_of(token: str) -> bytes:
    body = token[len(TOKEN_PREFIX) :]
    return base64.b32decode(body + "=" * (-len(body) % 8))


@pytest.fixture(scope="module")
def key() -> CartKey:
    return CartKey.generate()


def test_round_trip(key: CartKey) -> None:
    claims = claims_for(key)
    token = issue_token(key, claims)
    assert token.startswith(TOKEN_PREFIX)
    assert verify_token(token, key.public_key(), NOW + 10) == claims
    assert verify_token(token, {key.key_id: key.public_key()}, NOW + 10) == claims


def test_token_is_compact_and_qr_alphanumeric(key: CartKey) -> None:
    token = issue_token(key, claims_for(key))
    assert len(token) < 300
    alphanumeric = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert set(token) <= alphanumeric


def test_every_flipped_bit_is_refused(key: CartKey) -> None:
    token = issue_token(key, claims_for(key))
    raw = bytearray(raw_of(token))
    for position in range(len(raw)):
        altered = bytearray(raw)
        altered[position] ^= 0x01
        text = TOKEN_PREFIX + base64.b32encode(bytes(altered)).decode().rstrip("=")
        with pytest.raises(TokenError):
            verify_token(text, key.public_key(), NOW)


def test_altered_total_is_refused_even_when_well_formed(key: CartKey) -> None:
    parsed = parse_token(issue_token(key, claims_for(key)))
    cheaper = claims_for(key, total_cents=1)
    # Re-pack the cheaper claims with the original signature: a classic tampering attempt.
    other = issue_token(key, cheaper)
    forged_raw = raw_of(other)[:-64] + parsed.signature
    forged = TOKEN_PREFIX + base64.b32encode(forged_raw).decode().rstrip("=")
    with pytest.raises(TokenSignatureInvalid, match="forged or altered"):
        verify_token(forged, key.public_key(), NOW)


def test_token_signed_by_another_key_is_refused(key: CartKey) -> None:
    intruder = CartKey.generate()
    # Claims naming the real cart key id, signed by the intruder.
    forged_claims = claims_for(key)
    payload_token = issue_token(intruder, claims_for(intruder))
    with pytest.raises(TokenUnknownKey):
        verify_token(payload_token, key.public_key(), NOW)
    with pytest.raises(TokenUnknownKey):
        verify_token(payload_token, {key.key_id: key.public_key()}, NOW)
    with pytest.raises(TokenError):
        issue_token(intruder, forged_claims)  # a key cannot sign claims naming another key


def test_forged_signature_under_the_right_key_id(key: CartKey) -> None:
    raw = raw_of(issue_token(key, claims_for(key)))
    forged = raw[:-64] + os.urandom(64)
    text = TOKEN_PREFIX + base64.b32encode(forged).decode().rstrip("=")
    with pytest.raises(TokenSignatureInvalid):
        verify_token(text, key.public_key(), NOW)


def test_expired_and_future_tokens(key: CartKey) -> None:
    token = issue_token(key, claims_for(key))
    with pytest.raises(TokenExpired, match="expired"):
        verify_token(token, key.public_key(), NOW + 900 + 61)
    assert verify_token(token, key.public_key(), NOW + 900 + 59)  # within the leeway
    with pytest.raises(TokenExpired, match="future"):
        verify_token(token, key.public_key(), NOW - 3600)
    assert verify_token(token, key.public_key(), NOW + 10_000, check_expiry=False)


def test_forged_and_expired_reports_forged(key: CartKey) -> None:
    raw = raw_of(issue_token(key, claims_for(key)))
    text = TOKEN_PREFIX + base64.b32encode(raw[:-1] + bytes([raw[-1] ^ 1])).decode().rstrip("=")
    with pytest.raises(TokenSignatureInvalid):
        verify_token(text, key.public_key(), NOW + 10**6)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "does not start"),
        ("SC2:AAAA", "does not start"),
        ("SC1:", "base32"),
        ("SC1:aaaa", "upper-case base32"),
        ("SC1:AAAAAAAA", "truncated"),
        ("SC1:" + "A" * 700, "more than"),
        ("SC1:AAAAAAA=", "upper-case base32"),
    ],
)
def test_malformed_tokens(key: CartKey, text: str, match: str) -> None:
    with pytest.raises(TokenMalformed, match=match):
        verify_token(text, key.public_key(), NOW)


def test_non_canonical_base32_is_refused(key: CartKey) -> None:
    token = issue_token(key, claims_for(key))
    body = token[4:]
    # Unused trailing bits set: decodes to the same bytes, but is another string.
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    index = last.index(body[-1])
    for bump in range(1, 32):
        variant = body[:-1] + last[(index + bump) % 32]
        try:
            decoded = base64.b32decode(variant + "=" * (-len(variant) % 8))
        except ValueError:
            continue
        if decoded == base64.b32decode(body + "=" * (-len(body) % 8)):
            with pytest.raises(TokenMalformed, match="canonical"):
                parse_token(TOKEN_PREFIX + variant)
            return
    pytest.skip("this token's length leaves no unused bits")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_garbage_never_verifies(text: str) -> None:
    key = CartKey.generate()
    with pytest.raises(TokenError):
        verify_token(text, key.public_key(), NOW)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=0, max_size=300))
def test_random_bodies_never_verify(body: bytes) -> None:
    key = CartKey.generate()
    text = TOKEN_PREFIX + base64.b32encode(body).decode().rstrip("=")
    with pytest.raises(TokenError):
        verify_token(text, key.public_key(), NOW)


@pytest.mark.parametrize(
    "overrides",
    [
        {"session_id": ""},
        {"session_id": "x" * 65},
        {"cart_id": "bad id"},
        {"handoff_id": "short"},
        {"total_cents": -1},
        {"line_count": 70_000},
        {"expires_at": NOW - 1},
        {"lines_hash": b"short"},
    ],
)
def test_claims_are_validated(key: CartKey, overrides: dict[str, object]) -> None:
    with pytest.raises(TokenMalformed):
        claims_for(key, **overrides)


def test_lines_hash_is_canonical() -> None:
    a = lines_hash([("A", 1, 0, 100), ("B", 2, 0, 200)])
    assert a == lines_hash([("A", 1, 0, 100), ("B", 2, 0, 200)])
    assert a != lines_hash([("B", 2, 0, 200), ("A", 1, 0, 100)])
    assert a != lines_hash([("A", 1, 0, 100), ("B", 2, 1, 200)])
    # Field boundaries cannot be shifted: "A1"+"1" differs from "A"+"11".
    assert lines_hash([("A1", 1, 0, 5)]) != lines_hash([("A", 11, 0, 5)])
    import hashlib

    assert lines_hash([("MILK", 2, 0, 2590)]) == hashlib.sha256(b"MILK\t2\t0\t2590\n").digest()


def test_key_file_is_created_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "cart.pem"
    key = CartKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = CartKey.load_or_create(path)
    assert again.key_id == key.key_id
    token = issue_token(key, claims_for(key))
    assert verify_token(token, again.public_key(), NOW)


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cart.pem"
    CartKey.load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        CartKey.load_or_create(path)


def test_corrupt_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cart.pem"
    path.write_bytes(b"not a key")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="cannot read"):
        CartKey.load_or_create(path)
