"""Staff PIN hashing and checking: salted scrypt, compared in constant time.

``[maintenance] pin_hash`` holds ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``. Make one with::

    python -m ui.staff_auth 4711

scrypt is deliberately slow and memory-hard (n = 2¹⁴, r = 8: about 16 MiB and tens of
milliseconds), so a stolen config file does not give the PIN away by brute force quickly; the
screen adds a lockout with growing waits after failures (:mod:`ui.viewmodels.maintenance`).
No Kivy here; a core module may take this over (then ``smartcart hash-pin``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sys
from typing import Final

SCHEME: Final = "scrypt"
N: Final = 2**14
R: Final = 8
P: Final = 1
SALT_BYTES: Final = 16
KEY_BYTES: Final = 32
MIN_PIN: Final = 4
MAX_PIN: Final = 12
_MAXMEM: Final = 64 * 1024 * 1024


class PinHashError(ValueError):
    """A stored PIN hash that cannot be read."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def valid_pin(pin: str) -> bool:
    """A PIN is 4 to 12 digits."""
    return pin.isascii() and pin.isdigit() and MIN_PIN <= len(pin) <= MAX_PIN


def hash_pin(pin: str, *, salt: bytes | None = None, n: int = N, r: int = R, p: int = P) -> str:
    """The stored form of ``pin`` with a fresh random salt (or ``salt``, for tests)."""
    if not valid_pin(pin):
        raise ValueError(f"a PIN is {MIN_PIN} to {MAX_PIN} digits")
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=_MAXMEM)
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(key)}"


def parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """``(n, r, p, salt, key)`` of a stored hash; :class:`PinHashError` if malformed."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise PinHashError("not a scrypt PIN hash (scrypt$n$r$p$salt$hash)")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except ValueError as exc:
        raise PinHashError(f"malformed PIN hash: {exc}") from exc
    if n < 2**10 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise PinHashError("PIN hash parameters out of range")
    if len(salt) < 8 or len(key) < 16:
        raise PinHashError("PIN hash salt or key too short")
    return n, r, p, salt, key


def verify_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches ``stored`` (constant-time comparison of the derived keys)."""
    n, r, p, salt, key = parse_hash(stored)
    if not valid_pin(pin):
        return False
    got = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=len(key), maxmem=_MAXMEM)
    return hmac.compare_digest(got, key)


def main(argv: list[str]) -> int:
    """``python -m ui.staff_auth PIN``: print the hash for ``[maintenance] pin_hash``."""
    if len(argv) != 1 or not valid_pin(argv[0]):
        print(f"usage: python -m ui.staff_auth PIN   ({MIN_PIN}-{MAX_PIN} digits)", file=sys.stderr)
        return 2
    print(hash_pin(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
