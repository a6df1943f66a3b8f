"""The shopper's budget cap: how the basket total stands against it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cart_app.offers import PricingError


class BudgetLevel(enum.StrEnum):
    """How the basket total stands against the shopper's budget cap."""

    OK = "ok"
    NEAR = "near"
    OVER = "over"


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """The budget cap alert; ``cap_cents`` and ``remaining_cents`` are ``None`` with no cap.

    ``remaining_cents`` is negative when over the cap.
    """

    cap_cents: int | None
    total_cents: int
    remaining_cents: int | None
    level: BudgetLevel


def budget_status(
    total_cents: int, cap_cents: int | None, warn_ratio_bp: int = 9000
) -> BudgetStatus:
    """Where ``total_cents`` stands against ``cap_cents``.

    OVER when the total exceeds the cap; NEAR when it reaches ``warn_ratio_bp`` / 10 000 of the
    cap (reaching the cap exactly is NEAR, not OVER); OK otherwise or with no cap.
    """
    if total_cents < 0:
        raise PricingError(f"budget: negative total {total_cents} cents")
    if not 0 <= warn_ratio_bp <= 10_000:
        raise PricingError(f"budget: warn ratio {warn_ratio_bp} bp must be 0..10000")
    if cap_cents is None:
        return BudgetStatus(None, total_cents, None, BudgetLevel.OK)
    if cap_cents < 0:
        raise PricingError(f"budget: negative cap {cap_cents} cents")
    if total_cents > cap_cents:
        level = BudgetLevel.OVER
    elif total_cents * 10_000 >= cap_cents * warn_ratio_bp:
        level = BudgetLevel.NEAR
    else:
        level = BudgetLevel.OK
    return BudgetStatus(cap_cents, total_cents, cap_cents - total_cents, level)
