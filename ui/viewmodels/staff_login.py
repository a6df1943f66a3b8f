"""Unlocking maintenance: the staff PIN pad (or a badge), the lockout and the auto-lock.

A PIN is checked against ``[maintenance] pin_hash`` (salted scrypt, :mod:`ui.staff_auth`; the
check is slow by design, so the app runs it off the Kivy thread), or a staff badge the store
verifies. After :data:`FREE_ATTEMPTS` wrong PINs in a row each further failure locks the pad
for twice as long as the one before (from :data:`FIRST_LOCKOUT_S` up to :data:`MAX_LOCKOUT_S`);
with a :class:`ui.staff_auth.PinLockoutStore` the count and the wait survive a restart.
Maintenance locks itself after ``auto_lock_s`` without a touch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ui.i18n import Translator
from ui.staff_auth import MAX_PIN, PinHashError, PinLockout, PinLockoutStore, parse_hash

FREE_ATTEMPTS: Final = 3
FIRST_LOCKOUT_S: Final = 30.0
MAX_LOCKOUT_S: Final = 900.0


@dataclass(frozen=True, slots=True)
class AuthView:
    """The staff login screen."""

    unlocked: bool
    staff: str
    masked: str
    message: str
    wait_s: int
    pin_enabled: bool


class StaffAuth:
    """Who is unlocked, the PIN pad's digits, the lockout and the auto-lock timer."""

    def __init__(
        self,
        pin_hash: str,
        tr: Translator,
        monotonic: Callable[[], float] = time.monotonic,
        auto_lock_s: float = 120.0,
        *,
        lockout: PinLockoutStore | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """``pin_hash`` empty or malformed disables the PIN (badges still work); ``lockout``
        keeps failures and the wait across restarts (on the ``wall`` clock, since the
        monotonic clock starts again at boot)."""
        self._tr = tr
        self._now = monotonic
        self._auto_lock_s = auto_lock_s
        self.pin_hash = ""
        self._problem = ""
        if pin_hash:
            try:
                parse_hash(pin_hash)
                self.pin_hash = pin_hash
            except PinHashError as exc:
                self._problem = str(exc)
        self._digits = ""
        self._failures = 0
        self._locked_until = 0.0
        self._lockout_s = FIRST_LOCKOUT_S
        self._staff = ""
        self._last_touch = 0.0
        self._checking = False
        self._message = ""
        self._store = lockout
        self._wall = wall
        if lockout is not None:
            self._restore(lockout.load())
        self.view = self._build()

    def _restore(self, saved: PinLockout) -> None:
        self._failures = max(0, saved.failures)
        if saved.next_lockout_s > 0:
            self._lockout_s = min(MAX_LOCKOUT_S, max(FIRST_LOCKOUT_S, saved.next_lockout_s))
        # Capped: a wall clock set back (or a damaged file) must not lock staff out for longer
        # than the longest wait the pad ever imposes.
        left = min(MAX_LOCKOUT_S, saved.locked_until_wall - self._wall())
        if left > 0:
            self._locked_until = self._now() + left

    def _persist(self) -> None:
        if self._store is None:
            return
        left = max(0.0, self._locked_until - self._now())
        state = PinLockout(self._failures, self._lockout_s, self._wall() + left if left else 0.0)
        try:
            self._store.save(state)
        except OSError as exc:  # a full disk must not open the pad; the lockout holds in memory
            self._message = f"{self._message} ({exc})" if self._message else str(exc)

    @property
    def unlocked(self) -> bool:
        """Whether maintenance is open."""
        return bool(self._staff)

    @property
    def staff_id(self) -> str:
        """Who unlocked it (empty when locked)."""
        return self._staff

    # -- the PIN pad -----------------------------------------------------------------------------
    def press(self, digit: str) -> AuthView:
        """A digit key."""
        if digit.isdigit() and len(digit) == 1 and len(self._digits) < MAX_PIN:
            self._digits += digit
        self._message = ""
        self.view = self._build()
        return self.view

    def backspace(self) -> AuthView:
        """The ⌫ key."""
        self._digits = self._digits[:-1]
        self.view = self._build()
        return self.view

    def wait_s(self) -> int:
        """Seconds until the pad accepts another PIN."""
        return max(0, int(self._locked_until - self._now() + 0.999))

    def submit(self) -> str | None:
        """The OK key: the PIN to check (off the Kivy thread), or None with a message."""
        pin, self._digits = self._digits, ""
        if not self.pin_hash:
            self._message = self._tr("staff.pin_disabled")
        elif self._checking:
            self._message = self._tr("staff.checking")
        elif self.wait_s() > 0:
            self._message = self._tr("staff.locked_out", seconds=self.wait_s())
        elif not pin:
            self._message = self._tr("staff.enter_pin")
        else:
            self._checking = True
            self._message = self._tr("staff.checking")
            self.view = self._build()
            return pin
        self.view = self._build()
        return None

    def pin_checked(self, ok: bool) -> AuthView:
        """The outcome of the PIN check."""
        self._checking = False
        if ok:
            self._failures = 0
            self._lockout_s = FIRST_LOCKOUT_S
            self._open("pin")
        else:
            self._failures += 1
            if self._failures >= FREE_ATTEMPTS:
                self._locked_until = self._now() + self._lockout_s
                self._message = self._tr("staff.locked_out", seconds=int(self._lockout_s))
                self._lockout_s = min(MAX_LOCKOUT_S, self._lockout_s * 2)
            else:
                left = FREE_ATTEMPTS - self._failures
                self._message = self._tr("staff.wrong_pin", left=left)
        self._persist()
        self.view = self._build()
        return self.view

    def badge_checked(self, valid: bool, staff_id: str | None, reason: str = "") -> AuthView:
        """The store's answer about a scanned staff badge."""
        if valid and staff_id:
            self._open(staff_id)
        else:
            self._message = self._tr("staff.badge_refused", reason=reason or "-")
        self.view = self._build()
        return self.view

    def badge_failed(self, reason: str) -> AuthView:
        """The badge could not be checked (store unreachable)."""
        self._message = self._tr("staff.badge_unchecked", reason=reason)
        self.view = self._build()
        return self.view

    # -- activity --------------------------------------------------------------------------------
    def touch(self) -> None:
        """Staff did something: restart the auto-lock timer."""
        self._last_touch = self._now()

    def tick(self) -> bool:
        """Lock when idle too long; returns True when it just locked."""
        if self._staff and self._now() - self._last_touch >= self._auto_lock_s:
            self.lock(self._tr("staff.auto_locked"))
            return True
        return False

    def lock(self, message: str = "") -> AuthView:
        """Close maintenance."""
        self._staff = ""
        self._digits = ""
        self._message = message
        self.view = self._build()
        return self.view

    def _open(self, staff: str) -> None:
        self._staff = staff
        self._digits = ""
        self._message = ""
        self.touch()

    def _build(self) -> AuthView:
        message = self._message
        if not self.pin_hash and not message:
            message = self._tr("staff.pin_disabled")
            if self._problem:
                message += f" ({self._problem})"
        return AuthView(
            unlocked=self.unlocked,
            staff=self._staff,
            masked="●" * len(self._digits),
            message=message,
            wait_s=self.wait_s(),
            pin_enabled=bool(self.pin_hash),
        )
