"""Plain-text rendering of a receipt, for the terminal, logs and the headless demo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cart_app.basket import BasketState
from cart_app.pricing import Receipt, format_money

if TYPE_CHECKING:
    from cart_app.engine import CartSnapshot

WIDTH = 52


def render_receipt(receipt: Receipt, currency: str, basket: BasketState | None = None) -> str:
    """The receipt as fixed-width text lines."""
    out: list[str] = []
    if basket is not None:
        out.append(f"session {basket.session_id or '-'}  state {basket.state.value}")
        out += [f"  ? {p.reason} {list(p.choices)}" for p in basket.pending_prompts]
    for line in receipt.lines:
        if line.weight_g:
            what = f"{line.name} {line.weight_g / 1000:.3f} kg"
        else:
            what = f"{line.quantity} × {line.name}"
        flag = " (18+)" if line.age_restricted else ""
        out.append(_row(what + flag, format_money(line.gross_cents, currency)))
    # Savings are shown per offer and per coupon (what the shopper recognises); the receipt
    # lines also carry them allocated per line, which is for the tax base, not for reading.
    for offer in receipt.offers:
        out.append(_row(f"  {offer.description}", format_money(-offer.saving_cents, currency)))
    for coupon in receipt.coupons:
        if coupon.applied:
            out.append(_row(f"coupon {coupon.code}", format_money(-coupon.saving_cents, currency)))
        else:
            out.append(f"coupon {coupon.code} not applied: {coupon.reason}")
    out.append("-" * WIDTH)
    out.append(_row("TOTAL", format_money(receipt.total_cents, currency)))
    for tax in receipt.taxes:
        label = f"  tax {tax.tax_class} {tax.rate_bp / 100:g} % of"
        out.append(
            _row(
                f"{label} {format_money(tax.base_cents, currency)}",
                format_money(tax.tax_cents, currency),
            )
        )
    return "\n".join(out)


def _row(left: str, right: str) -> str:
    space = max(1, WIDTH - len(left) - len(right))
    return f"{left}{' ' * space}{right}"


def render_snapshot(snapshot: CartSnapshot, currency: str) -> str:
    """A snapshot's receipt, or its lines and the fault when the basket cannot be priced."""
    if snapshot.receipt is not None:
        text = render_receipt(snapshot.receipt, currency, snapshot.basket)
    else:
        basket = snapshot.basket
        rows = [f"session {basket.session_id or '-'}  state {basket.state.value}"]
        rows += [f"{line.quantity} × {line.sku} {line.weight_g:g} g" for line in basket.lines]
        text = "\n".join(rows)
    if snapshot.fault:
        text += f"\n!! {snapshot.fault}"
    return text
