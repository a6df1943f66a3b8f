"""The basket token: compact, signed by the cart (Ed25519), shown as a QR code at the exit lane.

The token lets a lane check a basket before (or without) the full basket reaching the store:
it binds the handoff id, session, cart, total, line count, a hash of the lines and an expiry,
under the cart's signature. Nobody without the cart's private key can forge or alter one.

Text form: ``SC1:`` followed by unpadded base32 (RFC 4648, upper case) of ``payload ||
signature``. Base32's alphabet and ``:`` are all in the QR code's alphanumeric mode, which packs
5.5 bits per character against 8 in byte mode, so the code stays small (about 280 characters,
a version 10 QR at medium error correction).

Payload, big-endian (``docs/store-api.md`` has the same table for lane developers)::

    offset size field
    0      1    format version (1)
    1      8    key id: first 8 bytes of SHA-256 of the raw 32-byte public key
    9      16   handoff id (the handoff's idempotency key)
    25     4    issued at, Unix seconds (u32)
    29     4    expires at, Unix seconds (u32)
    33     8    total in cents (u64)
    41     2    line count (u16)
    43     32   lines hash (SHA-256, see cart_app.store.contract.lines_hash)
    75     1+n  session id: length byte, ASCII
    ...    1+n  cart id: length byte, ASCII
    end    64   Ed25519 signature over DOMAIN || payload

The signature covers a domain-separation prefix so that a signature made by the cart key for
any other purpose can never pass as a basket token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

TOKEN_PREFIX: Final = "SC1:"
FORMAT_VERSION: Final = 1
DOMAIN: Final = b"smartcart/basket-token/v1\x00"
SIGNATURE_BYTES: Final = 64
MAX_ID_BYTES: Final = 64
MAX_TOKEN_TEXT: Final = 600
DEFAULT_LEEWAY_S: Final = 60.0
"""Clock difference tolerated between a cart and a lane when checking times."""

_HEAD = struct.Struct(">B8s16sIIQH32s")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_B32_RE = re.compile(r"^[A-Z2-7]+$")


class TokenError(ValueError):
    """A basket token that must not be accepted; the message says why."""


class TokenMalformed(TokenError):
    """Not a basket token of a format this build reads (truncated, altered encoding, ...)."""


class TokenSignatureInvalid(TokenError):
    """The signature does not match: the token was forged or altered."""


class TokenExpired(TokenError):
    """The token's expiry has passed (or it claims to be issued in the future)."""


class TokenUnknownKey(TokenError):
    """The token was signed by a key the verifier does not know."""


class KeyFileError(Exception):
    """The cart's key file cannot be used (unreadable, corrupt, or readable by others)."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a basket token asserts. ``lines_hash`` is 32 bytes; ``handoff_id`` 32 hex digits."""

    key_id: str
    handoff_id: str
    session_id: str
    cart_id: str
    issued_at: int
    expires_at: int
    total_cents: int
    line_count: int
    lines_hash: bytes

    def __post_init__(self) -> None:
        problems = []
        if not re.fullmatch(r"[0-9a-f]{16}", self.key_id):
            problems.append("key id must be 16 hex digits")
        if not re.fullmatch(r"[0-9a-f]{32}", self.handoff_id):
            problems.append("handoff id must be 32 hex digits")
        for name, value in (("session id", self.session_id), ("cart id", self.cart_id)):
            if not _ID_RE.fullmatch(value):
                problems.append(f"{name} {value!r} is not 1-64 ASCII letters, digits or ._:-")
        if not 0 <= self.issued_at <= self.expires_at < 2**32:
            problems.append("times must satisfy 0 <= issued_at <= expires_at < 2**32")
        if not 0 <= self.total_cents < 2**63:
            problems.append("total must be a non-negative number of cents")
        if not 0 <= self.line_count < 2**16:
            problems.append("line count must fit 16 bits")
        if len(self.lines_hash) != 32:
            problems.append("lines hash must be 32 bytes")
        if problems:
            raise TokenMalformed("; ".join(problems))


def key_id_of(public_key: bytes) -> str:
    """The key id of a raw 32-byte Ed25519 public key: hex of the first 8 bytes of its SHA-256."""
    return hashlib.sha256(public_key).digest()[:8].hex()


def encode_public_key(public_key: bytes) -> str:
    """Raw public key as unpadded base64url (43 characters), as registered with the store."""
    return base64.urlsafe_b64encode(public_key).rstrip(b"=").decode("ascii")


def decode_public_key(text: str) -> Ed25519PublicKey:
    """A public key from :func:`encode_public_key`'s form; TokenError when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise TokenError(f"not an Ed25519 public key: {exc}") from exc


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class CartKey:
    """The cart's Ed25519 signing key. Create with :meth:`generate` or :meth:`load_or_create`."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        """Wrap a key; use :meth:`generate` or :meth:`load_or_create`."""
        self._private = private_key
        self.public_key_raw: bytes = _raw_public(private_key.public_key())
        self.key_id: str = key_id_of(self.public_key_raw)

    @classmethod
    def generate(cls) -> CartKey:
        """A new random key (not stored)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> CartKey:
        """The key in ``path`` (PKCS#8 PEM), creating it with mode 0600 when absent.

        A file that group or others may read is refused, as ssh refuses such keys: a leaked
        key lets anyone sign baskets in this cart's name. Creation is atomic (temporary file,
        fsync, rename), so a crash never leaves a half-written key.
        """
        path = Path(path)
        if path.exists():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise KeyFileError(
                    f"{path}: key file is accessible to others (mode {mode:o}); "
                    f"run chmod 600 {path}"
                )
            try:
                loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (OSError, ValueError, TypeError) as exc:
                raise KeyFileError(f"{path}: cannot read the cart key: {exc}") from exc
            if not isinstance(loaded, Ed25519PrivateKey):
                raise KeyFileError(f"{path}: not an Ed25519 private key")
            return cls(loaded)
        key = cls.generate()
        pem = key._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return key

    @property
    def public_key_b64(self) -> str:
        """The public key as registered with the store."""
        return encode_public_key(self.public_key_raw)

    def public_key(self) -> Ed25519PublicKey:
        """The public half, for verifying."""
        return self._private.public_key()

    def sign(self, message: bytes) -> bytes:
        """An Ed25519 signature of ``message``."""
        return self._private.sign(message)


def _pack(claims: TokenClaims) -> bytes:
    head = _HEAD.pack(
        FORMAT_VERSION,
        bytes.fromhex(claims.key_id),
        bytes.fromhex(claims.handoff_id),
        claims.issued_at,
        claims.expires_at,
        claims.total_cents,
        claims.line_count,
        claims.lines_hash,
    )
    tail = b""
    for text in (claims.session_id, claims.cart_id):
        raw = text.encode("ascii")
        tail += bytes([len(raw)]) + raw
    return head + tail


def issue_token(key: CartKey, claims: TokenClaims) -> str:
    """Sign ``claims`` with ``key`` and return the token text; the key ids must agree."""
    if claims.key_id != key.key_id:
        raise TokenError(f"claims name key {claims.key_id}, signing key is {key.key_id}")
    payload = _pack(claims)
    signature = key.sign(DOMAIN + payload)
    return TOKEN_PREFIX + b32_text(payload + signature)


def b32_text(raw: bytes) -> str:
    """``raw`` as unpadded upper-case base32 (compact in a QR code's alphanumeric mode)."""
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def b32_bytes(body: str) -> bytes:
    """The bytes of an unpadded base32 ``body``; ValueError ("is not …") unless canonical.

    Re-encoding must give the same text: otherwise trailing bits were altered, and two
    different strings would carry one signature.
    """
    if not _B32_RE.fullmatch(body):
        raise ValueError("is not upper-case base32")
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"does not decode: {exc}") from exc
    if b32_text(raw) != body:
        raise ValueError("is not canonical base32")
    return raw


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """A token split into its claims and what was signed, before any signature check."""

    claims: TokenClaims
    signed: bytes
    signature: bytes


def parse_token(token: str) -> ParsedToken:
    """Decode ``token`` without checking its signature (see :func:`verify_token`).

    Raises :class:`TokenMalformed` for anything that is not exactly a version-1 token.
    """
    if not isinstance(token, str):
        raise TokenMalformed("a token is text")
    if len(token) > MAX_TOKEN_TEXT:
        raise TokenMalformed(f"token is {len(token)} characters, more than {MAX_TOKEN_TEXT}")
    if not token.startswith(TOKEN_PREFIX):
        raise TokenMalformed(f"token does not start with {TOKEN_PREFIX!r}")
    try:
        raw = b32_bytes(token[len(TOKEN_PREFIX) :])
    except ValueError as exc:
        raise TokenMalformed(f"token body {exc}") from exc
    if len(raw) < _HEAD.size + 2 + SIGNATURE_BYTES:
        raise TokenMalformed("token is truncated")
    payload, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    version, kid, hid, iat, exp, total, count, lhash = _HEAD.unpack_from(payload)
    if version != FORMAT_VERSION:
        raise TokenMalformed(f"token format version {version}; this build reads {FORMAT_VERSION}")
    at = _HEAD.size
    texts: list[str] = []
    for name in ("session id", "cart id"):
        if at >= len(payload):
            raise TokenMalformed(f"token is truncated before the {name}")
        size = payload[at]
        raw_text = payload[at + 1 : at + 1 + size]
        if size == 0 or size > MAX_ID_BYTES or len(raw_text) != size:
            raise TokenMalformed(f"token {name} has a bad length")
        try:
            texts.append(raw_text.decode("ascii"))
        except UnicodeDecodeError as exc:
            raise TokenMalformed(f"token {name} is not ASCII") from exc
        at += 1 + size
    if at != len(payload):
        raise TokenMalformed("token has trailing bytes")
    claims = TokenClaims(
        key_id=kid.hex(),
        handoff_id=hid.hex(),
        session_id=texts[0],
        cart_id=texts[1],
        issued_at=iat,
        expires_at=exp,
        total_cents=total,
        line_count=count,
        lines_hash=lhash,
    )
    return ParsedToken(claims, DOMAIN + payload, signature)


def verify_token(
    token: str,
    public_key: Ed25519PublicKey | dict[str, Ed25519PublicKey],
    now: float,
    *,
    leeway_s: float = DEFAULT_LEEWAY_S,
    check_expiry: bool = True,
) -> TokenClaims:
    """The claims of ``token`` once its signature and times check out.

    ``check_expiry`` false skips the time checks (the store accepts a basket that arrives after
    its token expired: the cart may have been offline; only paying needs a live token).

    ``public_key`` is the cart's key, or the cart's keys by key id. The signature is checked
    before the times, so a forged token is reported as forged even when it is also expired.
    Raises :class:`TokenMalformed`, :class:`TokenUnknownKey`, :class:`TokenSignatureInvalid`
    or :class:`TokenExpired`.
    """
    parsed = parse_token(token)
    claims = parsed.claims
    if isinstance(public_key, dict):
        key = public_key.get(claims.key_id)
        if key is None:
            raise TokenUnknownKey(f"token is signed by key {claims.key_id}, not registered")
    else:
        key = public_key
        if key_id_of(_raw_public(key)) != claims.key_id:
            raise TokenUnknownKey(f"token is signed by key {claims.key_id}, not by this key")
    try:
        key.verify(parsed.signature, parsed.signed)
    except InvalidSignature:
        raise TokenSignatureInvalid("token signature is invalid: forged or altered") from None
    if check_expiry:
        check_times(claims, now, leeway_s=leeway_s)
    return claims


def check_times(claims: TokenClaims, now: float, *, leeway_s: float = DEFAULT_LEEWAY_S) -> None:
    """Raise :class:`TokenExpired` when ``claims`` are expired or issued in the future."""
    if now > claims.expires_at + leeway_s:
        raise TokenExpired(
            f"token expired {now - claims.expires_at:.0f} s ago; hand the basket off again"
        )
    if claims.issued_at > now + leeway_s:
        raise TokenExpired("token is issued in the future: check the cart's clock")
