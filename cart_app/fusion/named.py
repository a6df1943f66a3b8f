"""Answers that name a product the prompt did not offer ("something else").

A prompt offers the outcomes whose weight fits and that vision or a barcode suggested; when the
truth is none of them (two items in one track, a look-alike the camera never listed, the wrong
line taken out), the shopper taps "something else", finds the product by name or code and
names it. Such an answer is an unverified claim, so it is checked against the prompt's weight
before anything is charged or removed:

- **added**: the named units' expected weight must fit the reading like any outcome fusion
  finds itself (``weights.fit``). One product sold by weight among them takes what the reading
  leaves (its weight is *inferred*, as in the ``weigh_separately`` choices) and must be a
  plausible weighing of it; two products sold by weight in one reading cannot be split.
- **taken out**: each named product must be on a line of the basket; per-unit lines are
  expected at their unit weight, weighed lines at their own recorded weight (of several weighed
  lines of the product, the one that fits the loss best), and the loss must fit.

The completed items (weights and line ids filled in) say everything needed to carry the answer
out. Staff answers are carried out even when the weight does not fit (staff are at the cart and
may have seen what the scale did not), with the misfit in the evidence note; an answer that
cannot be carried out (a product not in the basket, an impossible weighing) never is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cart_app.basket import BasketState
from cart_app.domain import BasketLine, Product
from cart_app.events import ChangeKind
from cart_app.fusion.book import ProductBook
from cart_app.fusion.choices import ChoiceItem
from cart_app.fusion.settings import FusionSettings
from cart_app.fusion.weights import fit, is_per_kg, per_kg_in_bounds


@dataclass(frozen=True, slots=True)
class NamedAnswer:
    """A named answer checked against the prompt's weight."""

    items: tuple[ChoiceItem, ...]
    """The named items, completed: inferred weights of weighed products, line ids of removals."""
    fits: bool
    problem: str = ""
    """Why it does not fit (empty when it does), for the log and the evidence note."""
    z: float | None = None
    valid: bool = True
    """Whether it can be carried out at all (known products, lines in the basket, a plausible
    weighing): staff may overrule a weight that does not fit, never an invalid answer."""


def check_named(
    items: Sequence[ChoiceItem],
    kind: ChangeKind | None,
    delta_g: float,
    *,
    basket: BasketState,
    book: ProductBook,
    settings: FusionSettings,
) -> NamedAnswer:
    """Check a named answer against a prompt about ``kind`` with reading ``delta_g``."""
    unknown = [i.sku for i in items if book.product(i.sku) is None]
    if unknown:
        return NamedAnswer(
            tuple(items), False, f"unknown product {', '.join(unknown)}", valid=False
        )
    if kind is None:
        # A too-light item's prompt: only products the scale cannot feel explain it.
        light = all(_product(book, i.sku).too_light_for_scale for i in items)
        problem = "" if light else "the scale would have felt it"
        return NamedAnswer(tuple(items), light, problem, valid=light)
    if kind is ChangeKind.REMOVE:
        return _check_removal(items, -delta_g, basket, book, settings)
    return _check_addition(items, delta_g, book, settings)


def _product(book: ProductBook, sku: str) -> Product:
    product = book.product(sku)
    assert product is not None  # checked by the caller
    return product


def _check_addition(
    items: Sequence[ChoiceItem], gain_g: float, book: ProductBook, settings: FusionSettings
) -> NamedAnswer:
    expected = variance = 0.0
    open_weight: list[int] = []
    for index, item in enumerate(items):
        product = _product(book, item.sku)
        if is_per_kg(product):
            if item.weight_g is None:
                open_weight.append(index)
            else:
                expected += item.weight_g
        else:
            unit = book.unit(product)
            expected += item.quantity * unit.mean_g
            variance += item.quantity * unit.sigma_g**2
    completed = list(items)
    if len(open_weight) > 1:
        return NamedAnswer(
            tuple(items), False, "two products sold by weight in one weighing", valid=False
        )
    if open_weight:
        index = open_weight[0]
        rest = gain_g - expected
        product = _product(book, items[index].sku)
        completed[index] = ChoiceItem(items[index].sku, 1, round(rest, 3))
        if not per_kg_in_bounds(rest, settings, product):
            problem = f"{rest:.0f} g left for {product.sku}"
            return NamedAnswer(tuple(completed), False, problem, valid=False)
        # The weighed product takes what is left: the fit is the other items' alone, which the
        # reading cannot check; a single weighed product is its own reading.
        return NamedAnswer(tuple(completed), True)
    result = fit(gain_g, expected, variance, settings)
    fits = result.fits(settings)
    problem = "" if fits else f"expected {expected:.0f} g, weighed {gain_g:.0f} g"
    return NamedAnswer(tuple(completed), fits, problem, result.z)


def _check_removal(
    items: Sequence[ChoiceItem],
    loss_g: float,
    basket: BasketState,
    book: ProductBook,
    settings: FusionSettings,
) -> NamedAnswer:
    expected = variance = 0.0
    completed: list[ChoiceItem] = []
    weighed: list[ChoiceItem] = []
    for item in items:
        product = _product(book, item.sku)
        lines = _lines_of(basket.lines, item)
        if not lines:
            return NamedAnswer(tuple(items), False, f"{item.sku} is not in the basket", valid=False)
        if is_per_kg(product):
            weighed.append(item)
            continue
        line = next((ln for ln in reversed(lines) if ln.quantity >= item.quantity), None)
        if line is None:
            problem = f"fewer than {item.quantity} {item.sku}"
            return NamedAnswer(tuple(items), False, problem, valid=False)
        unit = book.unit(product)
        expected += item.quantity * unit.mean_g
        variance += item.quantity * unit.sigma_g**2
        completed.append(ChoiceItem(item.sku, item.quantity, None, None, line.line_id))
    taken: set[int] = set()
    for item in weighed:
        # Of several weighings of the product, the one the rest of the loss is closest to.
        left = loss_g - expected - sum(i.weight_g or 0.0 for i in completed if i.weight_g)
        lines = [ln for ln in _lines_of(basket.lines, item) if ln.line_id not in taken]
        if not lines:
            return NamedAnswer(tuple(items), False, f"{item.sku} is not in the basket", valid=False)
        line = min(lines, key=lambda ln: abs(ln.weight_g - left))
        taken.add(line.line_id)
        completed.append(ChoiceItem(item.sku, 1, line.weight_g, None, line.line_id))
    expected += sum(i.weight_g or 0.0 for i in completed if i.weight_g is not None)
    result = fit(loss_g, expected, variance, settings)
    fits = result.fits(settings)
    problem = "" if fits else f"expected {expected:.0f} g out, weighed {loss_g:.0f} g"
    return NamedAnswer(tuple(completed), fits, problem, result.z)


def _lines_of(lines: Sequence[BasketLine], item: ChoiceItem) -> list[BasketLine]:
    if item.line_id is not None:
        return [ln for ln in lines if ln.line_id == item.line_id and ln.sku == item.sku]
    return [ln for ln in lines if ln.sku == item.sku]
