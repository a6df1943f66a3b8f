"""Signed staff badges: a QR code the cart can check on its own, offline, with an expiry.

The store signs a badge with its badge key (Ed25519); every cart knows the store's public
badge keys, so a badge opens maintenance without a network call, cannot be forged or altered,
and stops working when it expires. (The store's ``POST /v1/staff/verify`` stays the way for
plain badge numbers, and the PIN the way in when neither works.)

Text form: ``SB1:`` and unpadded upper-case base32 of ``payload || signature`` (QR
alphanumeric mode, like the basket token). Payload, big-endian::

    offset size field
    0      1    format version (1)
    1      8    key id: first 8 bytes of SHA-256 of the raw public key
    9      4    issued at, Unix seconds (u32)
    13     4    expires at, Unix seconds (u32)
    17     1    roles: bit 0 maintenance, bit 1 calibration, bit 2 supervisor
    18     1+n  staff id: length byte, ASCII (1..64, ``[A-Za-z0-9._-]``)
    end    64   Ed25519 signature over ``smartcart/staff-badge/v1\\0`` || payload

The domain prefix differs from the basket token's, so no signature made for one can pass as
the other even under the same key.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cart_app.store.token import CartKey, b32_bytes, b32_text, key_id_of

BADGE_PREFIX: Final = "SB1:"
FORMAT_VERSION: Final = 1
DOMAIN: Final = b"smartcart/staff-badge/v1\x00"
SIGNATURE_BYTES: Final = 64
MAX_BADGE_TEXT: Final = 300
MAX_VALIDITY_S: Final = 366 * 24 * 3600
"""A badge valid for longer than a year is refused when issued and when checked."""
DEFAULT_LEEWAY_S: Final = 60.0
ROLES: Final = ("maintenance", "calibration", "supervisor")

_HEAD = struct.Struct(">B8sIIB")
_STAFF_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class BadgeError(ValueError):
    """A staff badge that does not open the cart; the message says why, for staff."""


class BadgeMalformed(BadgeError):
    """Not a badge of this format (or damaged)."""


class BadgeUnknownKey(BadgeError):
    """Signed by a key this cart does not trust."""


class BadgeForged(BadgeError):
    """The signature does not match: forged or altered."""


class BadgeExpired(BadgeError):
    """Expired, not valid yet, or valid for too long."""


@dataclass(frozen=True, slots=True)
class StaffBadge:
    """Who a checked badge names, with what roles, until when."""

    staff_id: str
    roles: frozenset[str]
    issued_at: int
    expires_at: int
    key_id: str


def _roles_bits(roles: frozenset[str]) -> int:
    unknown = roles - set(ROLES)
    if unknown:
        raise BadgeError(f"unknown roles {sorted(unknown)}; known: {list(ROLES)}")
    return sum(1 << ROLES.index(role) for role in roles)


def issue_badge(
    key: CartKey, staff_id: str, roles: frozenset[str], issued_at: int, expires_at: int
) -> str:
    """The badge text for ``staff_id``, signed with the store's badge ``key``."""
    if not _STAFF_RE.fullmatch(staff_id):
        raise BadgeError(f"staff id {staff_id!r} must be 1-64 of A-Z a-z 0-9 . _ -")
    if not roles:
        raise BadgeError("a badge needs at least one role")
    if not 0 <= issued_at < expires_at < 2**32 or expires_at - issued_at > MAX_VALIDITY_S:
        raise BadgeError("a badge is valid for a positive time of at most a year")
    raw_id = staff_id.encode("ascii")
    payload = _HEAD.pack(
        FORMAT_VERSION, bytes.fromhex(key.key_id), issued_at, expires_at, _roles_bits(roles)
    )
    payload += bytes([len(raw_id)]) + raw_id
    body = b32_text(payload + key.sign(DOMAIN + payload))
    return BADGE_PREFIX + body


def verify_badge(
    text: str,
    keys: dict[str, Ed25519PublicKey],
    now: float,
    *,
    leeway_s: float = DEFAULT_LEEWAY_S,
) -> StaffBadge:
    """The badge in ``text`` once its format, key, signature and times check out.

    ``keys`` are the store's badge keys by key id. Raises :class:`BadgeMalformed`,
    :class:`BadgeUnknownKey`, :class:`BadgeForged` or :class:`BadgeExpired` (in that order
    of checks: a forged badge is reported as forged even when it is also expired).
    """
    if not isinstance(text, str) or len(text) > MAX_BADGE_TEXT:
        raise BadgeMalformed("not a staff badge (too long)")
    if not text.startswith(BADGE_PREFIX):
        raise BadgeMalformed(f"not a staff badge (no {BADGE_PREFIX!r} prefix)")
    try:
        raw = b32_bytes(text[len(BADGE_PREFIX) :])
    except ValueError as exc:
        raise BadgeMalformed(f"badge body {exc}") from exc
    if len(raw) < _HEAD.size + 2 + SIGNATURE_BYTES:
        raise BadgeMalformed("badge is truncated")
    payload, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    version, kid, issued, expires, bits = _HEAD.unpack_from(payload)
    if version != FORMAT_VERSION:
        raise BadgeMalformed(f"badge format version {version}; this build reads {FORMAT_VERSION}")
    size = payload[_HEAD.size]
    raw_id = payload[_HEAD.size + 1 :]
    if len(raw_id) != size:
        raise BadgeMalformed("badge staff id has a bad length")
    try:
        staff_id = raw_id.decode("ascii")
    except UnicodeDecodeError:
        raise BadgeMalformed("badge staff id is not ASCII") from None
    if not _STAFF_RE.fullmatch(staff_id):
        raise BadgeMalformed("badge staff id has characters a staff id cannot have")
    if bits == 0 or bits >> len(ROLES):
        raise BadgeMalformed("badge roles are not valid")
    key_id = kid.hex()
    key = keys.get(key_id)
    if key is None:
        raise BadgeUnknownKey(f"badge is signed by key {key_id}, which this cart does not trust")
    if key_id_of(key.public_bytes_raw()) != key_id:
        raise BadgeUnknownKey(f"the trusted key listed as {key_id} has another id")
    try:
        key.verify(signature, DOMAIN + payload)
    except InvalidSignature:
        raise BadgeForged("badge signature is invalid: forged or altered") from None
    if expires <= issued or expires - issued > MAX_VALIDITY_S:
        raise BadgeExpired("badge validity is not a positive time of at most a year")
    if now > expires + leeway_s:
        raise BadgeExpired(f"badge of {staff_id} expired {now - expires:.0f} s ago")
    if issued > now + leeway_s:
        raise BadgeExpired("badge is issued in the future: check the cart's clock")
    roles = frozenset(role for i, role in enumerate(ROLES) if bits >> i & 1)
    return StaffBadge(staff_id, roles, issued, expires, key_id)
