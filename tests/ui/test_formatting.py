"""Money, weights, per-kg and per-unit texts."""

from __future__ import annotations

import pytest

from ui.viewmodels import formatting as fmt


@pytest.mark.parametrize(
    ("currency", "mark"), [("SEK", ","), ("EUR", ","), ("USD", "."), ("GBP", "."), ("CHF", ".")]
)
def test_decimal_mark_follows_the_currency(currency: str, mark: str) -> None:
    assert fmt.decimal_mark(currency) == mark


@pytest.mark.parametrize(
    ("grams", "currency", "text"),
    [
        (642, "SEK", "0,642 kg"),
        (642.4, "SEK", "0,642 kg"),
        (1234.5, "SEK", "1,235 kg"),
        (5, "USD", "0.005 kg"),
        (15000, "USD", "15.000 kg"),
    ],
)
def test_kilograms(grams: float, currency: str, text: str) -> None:
    assert fmt.kilograms(grams, currency) == text


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((642, 2990, "SEK"), "0,642 kg × 29,90 kr/kg"),
        ((1500, 13900, "SEK"), "1,500 kg × 139,00 kr/kg"),
        ((250, 299, "USD"), "0.250 kg × $2.99/kg"),
    ],
)
def test_per_kg_detail(args: tuple[float, int, str], text: str) -> None:
    assert fmt.per_kg_detail(*args) == text


@pytest.mark.parametrize(
    ("args", "text"),
    [((3, 1290, "SEK"), "3 × 12,90 kr"), ((1, 123456, "SEK"), "1 × 1 234,56 kr")],
)
def test_per_unit_detail(args: tuple[int, int, str], text: str) -> None:
    assert fmt.per_unit_detail(*args) == text


@pytest.mark.parametrize(
    ("grams", "text"), [(642.4, "+642 g"), (-1060, "-1 060 g"), (0, "+0 g"), (12345.6, "+12 346 g")]
)
def test_grams_text(grams: float, text: str) -> None:
    assert fmt.grams_text(grams) == text


def test_money_is_the_core_format() -> None:
    assert fmt.money(-1250, "SEK") == "-12,50 kr"
    assert fmt.money(123456, "USD") == "$1,234.56"


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("mjö", "l", "mjöl"),
        ("mjöl", "\b", "mjö"),
        ("", "\b", ""),
        ("mjölk", "\x1b", ""),
        ("7350", " ", "7350 "),
    ],
)
def test_typed_on_the_on_screen_keyboard(text: str, key: str, expected: str) -> None:
    assert fmt.typed(text, key) == expected
