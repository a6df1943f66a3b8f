"""A numeric keypad's entry, and the shopper's budget dialog built on it (no Kivy).

The cart has no keyboard: amounts are typed on an on-screen keypad (digits, a decimal comma,
⌫, clear). :class:`KeypadVM` keeps the digits and turns them into an exact integer (öre for
money, grams for the developer panel), never a float. :class:`BudgetDialogVM` is the basket
screen's "Set budget" dialog: open, type, OK (or "No budget", or Cancel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ui.i18n import Translator
from ui.viewmodels import formatting as fmt

BACK: Final = "back"
CLEAR: Final = "clear"
DECIMAL: Final = ","
KEYS: Final = ("1", "2", "3", "4", "5", "6", "7", "8", "9", DECIMAL, "0", BACK)
"""The keypad's keys in reading order (3 per row), as the dialogs lay them out."""
MAX_BUDGET_CENTS: Final = 10_000_000
"""100 000 kr: more is a typing slip, not a budget."""


class KeypadVM:
    """Digits typed on a keypad, as a fixed-point number with ``decimals`` places."""

    def __init__(self, *, decimals: int = 2, max_digits: int = 6) -> None:
        """At most ``max_digits`` before the decimal comma and ``decimals`` after it."""
        self._decimals = decimals
        self._max_digits = max_digits
        self._whole = ""
        self._fraction: str | None = None  # None: no comma typed yet

    @property
    def text(self) -> str:
        """What was typed, as typed (``"12,5"``); empty when nothing was."""
        if self._fraction is None:
            return self._whole
        return (self._whole or "0") + DECIMAL + self._fraction

    @property
    def value(self) -> int | None:
        """The amount in units of the last decimal place (``"12,5"`` → 1250), or None."""
        if not self._whole and not self._fraction:
            return None
        fraction = (self._fraction or "").ljust(self._decimals, "0")
        return int((self._whole or "0") + fraction)

    def press(self, key: str) -> None:
        """One key: a digit, :data:`DECIMAL`, :data:`BACK` or :data:`CLEAR`; others are ignored."""
        if key == BACK:
            self._backspace()
        elif key == CLEAR:
            self._whole, self._fraction = "", None
        elif key in (DECIMAL, "."):
            if self._decimals > 0 and self._fraction is None:
                self._fraction = ""
        elif len(key) == 1 and key.isdigit():
            self._digit(key)

    def set_value(self, value: int | None) -> None:
        """Start from ``value`` (units of the last decimal place); trailing zeros are dropped."""
        self._whole, self._fraction = "", None
        if value is None or value < 0:
            return
        scale = 10**self._decimals
        self._whole = str(value // scale)
        rest = value % scale
        if rest:
            self._fraction = str(rest).rjust(self._decimals, "0").rstrip("0")

    def _digit(self, digit: str) -> None:
        if self._fraction is not None:
            if len(self._fraction) < self._decimals:
                self._fraction += digit
        elif len(self._whole) < self._max_digits:
            # No leading zeros: "0" then "5" is 5.
            self._whole = digit if self._whole == "0" else self._whole + digit

    def _backspace(self) -> None:
        if self._fraction:
            self._fraction = self._fraction[:-1]
        elif self._fraction is not None:
            self._fraction = None
        else:
            self._whole = self._whole[:-1]


@dataclass(frozen=True, slots=True)
class BudgetDialogView:
    """The budget dialog as shown."""

    open: bool
    title: str
    amount: str
    """The amount typed so far as money (``"1 250,00 kr"``; ``"0,00 kr"`` before a key)."""
    message: str
    can_ok: bool
    can_remove: bool


class BudgetDialogVM:
    """The shopper's budget: typed on the keypad, kept for this trip only.

    The budget is the shopper's own aid, not a rule of the cart, so it lives in the UI (the
    basket screen compares the total with it) and ends with the trip. It replaces the store's
    configured default (``[pricing] budget_cap_cents``) for this trip; "No budget" hides it.
    """

    def __init__(self, currency: str, tr: Translator) -> None:
        """Amounts in ``currency``."""
        self._currency = currency
        self._tr = tr
        self._keypad = KeypadVM(decimals=2, max_digits=6)
        self._open = False
        self._message = ""
        self._has_choice = False
        self._fresh = False
        self.view = self._build()

    def open(self, current_cap_cents: int | None) -> BudgetDialogView:
        """Show the dialog, starting from the budget in force (if any)."""
        self._open = True
        self._message = ""
        self._has_choice = current_cap_cents is not None
        self._keypad.set_value(current_cap_cents)
        self._fresh = True  # the first digit typed replaces the budget shown
        self.view = self._build()
        return self.view

    def press(self, key: str) -> BudgetDialogView:
        """A keypad key (the first digit after opening starts a new amount)."""
        if self._fresh and (key.isdigit() or key == DECIMAL):
            self._keypad.set_value(None)
        self._fresh = False
        self._keypad.press(key)
        self._message = ""
        self.view = self._build()
        return self.view

    def confirm(self) -> int | None:
        """OK: the new budget in cents, or None (and a message) when the amount cannot be one."""
        cents = self._keypad.value
        if not cents:
            self._message = self._tr("budget.enter_amount")
        elif cents > MAX_BUDGET_CENTS:
            limit = fmt.money(MAX_BUDGET_CENTS, self._currency)
            self._message = self._tr("budget.too_much", amount=limit)
        else:
            self._open = False
            self.view = self._build()
            return cents
        self.view = self._build()
        return None

    def close(self) -> BudgetDialogView:
        """Cancel, or after "No budget"."""
        self._open = False
        self._message = ""
        self.view = self._build()
        return self.view

    def refresh(self) -> BudgetDialogView:
        """Rebuild the texts (after a language switch)."""
        self.view = self._build()
        return self.view

    def _build(self) -> BudgetDialogView:
        cents = self._keypad.value
        # The value typed so far as money ("12,5" reads "12,50 kr"): exact, never rounded.
        amount = fmt.money(cents or 0, self._currency)
        return BudgetDialogView(
            open=self._open,
            title=self._tr("budget.title"),
            amount=amount,
            message=self._message,
            can_ok=bool(cents),
            can_remove=self._has_choice,
        )
