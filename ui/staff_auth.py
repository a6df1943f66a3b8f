"""Staff PIN hashing and checking (salted scrypt, compared in constant time), the PIN pad's
lockout kept across restarts, and signed staff badges checked offline.

``[maintenance] pin_hash`` holds ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``. Make one with::

    python -m ui.staff_auth 4711

scrypt is deliberately slow and memory-hard (n = 2¹⁴, r = 8: about 16 MiB and tens of
milliseconds), so a stolen config file does not give the PIN away by brute force quickly; the
screen adds a lockout with growing waits after failures (:mod:`ui.viewmodels.maintenance`).
No Kivy here; a core module may take this over (then ``smartcart hash-pin``).

The lockout is stored in the data folder (:class:`PinLockoutStore`), so switching the cart off
and on does not give a guesser a fresh set of attempts. Signed badges (``SB1:``, see
:mod:`cart_app.store.badge`) are checked by :class:`SignedBadgeChecker` against the store's
badge keys from ``[maintenance] badge_public_keys``, without the network.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cart_app.store.badge import StaffBadge, verify_badge
from cart_app.store.token import key_id_of

log = logging.getLogger(__name__)

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


# -- the lockout, across restarts ---------------------------------------------------------------
LOCKOUT_FILE: Final = "staff_lockout.json"


@dataclass(frozen=True, slots=True)
class PinLockout:
    """The PIN pad's failures in a row, the wait that the next failure costs, and until when
    (wall clock, seconds) the pad is locked now."""

    failures: int = 0
    next_lockout_s: float = 0.0
    locked_until_wall: float = 0.0


class PinLockoutStore:
    """:class:`PinLockout` in a small JSON file, replaced atomically (write, fsync, rename), so
    a power cut leaves the old or the new state, never half of one. A missing or unreadable file
    reads as no failures: it is only ever written by the cart itself, and refusing to start
    over it would lock staff out of a cart that needs them."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def load(self) -> PinLockout:
        """The stored state (no failures when there is none)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return PinLockout(
                int(raw["failures"]), float(raw["next_lockout_s"]), float(raw["locked_until_wall"])
            )
        except FileNotFoundError:
            return PinLockout()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("PIN lockout file %s unreadable (%s); starting without", self.path, exc)
            return PinLockout()

    def save(self, state: PinLockout) -> None:
        """Replace the stored state atomically."""
        data = json.dumps(
            {
                "failures": state.failures,
                "next_lockout_s": state.next_lockout_s,
                "locked_until_wall": state.locked_until_wall,
            }
        ).encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".part")
            with tmp.open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
            with contextlib.suppress(OSError):  # the rename itself, durable where it can be
                fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)


# -- signed badges -------------------------------------------------------------------------------
BadgeCheck = Callable[[str], StaffBadge]
"""Checks a scanned ``SB1:`` text; raises :class:`cart_app.store.badge.BadgeError` to refuse."""
MAINTENANCE_ROLES: Final = frozenset({"maintenance", "supervisor"})
"""Badge roles that open maintenance (``calibration`` alone does not)."""


def badge_keys(hex_keys: Iterable[str]) -> dict[str, Ed25519PublicKey]:
    """``[maintenance] badge_public_keys`` (64 hex digits each) by key id."""
    keys: dict[str, Ed25519PublicKey] = {}
    for text in hex_keys:
        raw = bytes.fromhex(text)
        keys[key_id_of(raw)] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


class SignedBadgeChecker:
    """Verifies signed staff badges against the store's keys on the cart's wall clock."""

    def __init__(
        self, keys: dict[str, Ed25519PublicKey], wall: Callable[[], float] = time.time
    ) -> None:
        self._keys = dict(keys)
        self._wall = wall

    def __call__(self, text: str) -> StaffBadge:
        """The badge, once signature, key and expiry check out (else a ``BadgeError``)."""
        return verify_badge(text, self._keys, self._wall())


def main(argv: list[str]) -> int:
    """``python -m ui.staff_auth PIN``: print the hash for ``[maintenance] pin_hash``."""
    if len(argv) != 1 or not valid_pin(argv[0]):
        print(f"usage: python -m ui.staff_auth PIN   ({MIN_PIN}-{MAX_PIN} digits)", file=sys.stderr)
        return 2
    print(hash_pin(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
