"""Credentials in the store database: API keys, the carts' public keys and staff badges.

Secrets (API keys, badge codes) are stored only as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from store_server.db_engine import StoreBase
from store_server.errors import ApiProblem
from store_server.schema import ROLES, badges, cart_keys, principals


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a cart (``name`` is its cart id), a lane, or an administrator."""

    role: str
    name: str


@dataclass(frozen=True, slots=True)
class BadgeCheck:
    """The outcome of a badge lookup."""

    valid: bool
    staff_id: str | None
    name: str | None
    roles: list[str]
    reason: str


def hash_secret(secret: str) -> str:
    """SHA-256 hex of an API key or badge code (both are random, long, and never stored)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    """A fresh API key: 32 random bytes, URL-safe."""
    return "sck_" + secrets.token_urlsafe(32)


class CredentialStore(StoreBase):
    """Who may call (API keys), whose basket tokens count (cart keys), which badges are valid."""

    # --- API keys -------------------------------------------------------------------------

    def add_principal(self, role: str, name: str, key: str | None = None, now: float = 0.0) -> str:
        """Register an API key for a cart, lane or administrator; returns the key."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        key = key or new_api_key()
        if len(key) < 16:
            raise ValueError("an API key must be at least 16 characters")
        with self._write() as conn:
            conn.execute(
                principals.insert().values(
                    key_hash=hash_secret(key), role=role, name=name, active=True, created_at=now
                )
            )
        return key

    def authenticate(self, key: str) -> Principal | None:
        """The principal of an API key, or None for an unknown or revoked key."""
        with self._read() as conn:
            row = conn.execute(
                select(principals.c.role, principals.c.name, principals.c.active).where(
                    principals.c.key_hash == hash_secret(key)
                )
            ).first()
        if row is None or not row.active:
            return None
        return Principal(row.role, row.name)

    # --- cart keys ------------------------------------------------------------------------

    def register_cart_key(self, cart_id: str, key_id: str, public_key: str, now: float) -> bool:
        """Store a cart's public key; True when new. A different key under the id conflicts."""
        with self._write() as conn:
            row = conn.execute(
                select(cart_keys.c.public_key).where(
                    cart_keys.c.cart_id == cart_id, cart_keys.c.key_id == key_id
                )
            ).first()
            if row is not None:
                if row.public_key != public_key:
                    raise ApiProblem(409, "key-conflict", f"key id {key_id} names another key")
                return False
            conn.execute(
                cart_keys.insert().values(
                    cart_id=cart_id, key_id=key_id, public_key=public_key, created_at=now
                )
            )
        return True

    def cart_keys(self, cart_id: str) -> dict[str, str]:
        """A cart's public keys (base64url) by key id."""
        with self._read() as conn:
            rows = conn.execute(
                select(cart_keys.c.key_id, cart_keys.c.public_key).where(
                    cart_keys.c.cart_id == cart_id
                )
            ).all()
        return {row.key_id: row.public_key for row in rows}

    # --- staff badges ---------------------------------------------------------------------

    def add_badge(
        self,
        badge_code: str,
        staff_id: str,
        name: str,
        roles: Sequence[str],
        expires_at: float | None = None,
    ) -> None:
        """Register a staff badge (only its hash is stored)."""
        with self._write() as conn:
            conn.execute(
                badges.insert().values(
                    badge_hash=hash_secret(badge_code),
                    staff_id=staff_id,
                    name=name,
                    roles=json.dumps(list(roles)),
                    active=True,
                    expires_at=expires_at,
                )
            )

    def verify_badge(self, badge_code: str, now: float) -> BadgeCheck:
        """Whether a scanned badge is valid now."""
        with self._read() as conn:
            row = conn.execute(
                select(badges).where(badges.c.badge_hash == hash_secret(badge_code))
            ).first()
        if row is None:
            return BadgeCheck(False, None, None, [], "unknown badge")
        if not row.active:
            return BadgeCheck(False, None, None, [], "badge revoked")
        if row.expires_at is not None and row.expires_at < now:
            return BadgeCheck(False, None, None, [], "badge expired")
        return BadgeCheck(True, row.staff_id, row.name, list(json.loads(row.roles)), "")
