"""Money as people read it on a receipt or a screen (the amounts themselves are int cents)."""

from __future__ import annotations

# currency: (prefix, suffix, decimal mark, thousands separator)
_MONEY_FORMATS: dict[str, tuple[str, str, str, str]] = {
    "SEK": ("", " kr", ",", " "),
    "NOK": ("", " kr", ",", " "),
    "DKK": ("", " kr", ",", "."),
    "EUR": ("", " €", ",", " "),
    "USD": ("$", "", ".", ","),
    "GBP": ("£", "", ".", ","),
}


def format_money(cents: int, currency: str) -> str:
    """``cents`` for a receipt or screen: ``"1 234,50 kr"`` (SEK), ``"$1,234.50"`` (USD).

    Known currencies use their local style; any other ISO 4217 code gives ``"CHF 1234.50"``.
    Every currency is shown with two decimals. Negative amounts get a leading ``-``
    (``"-12,50 kr"``, ``"-$12.50"``). Raises ``ValueError`` for a code that is not three
    upper-case letters.
    """
    if not (
        len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()
    ):
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    prefix, suffix, decimal_mark, thousands = _MONEY_FORMATS.get(
        currency, (f"{currency} ", "", ".", "")
    )
    whole, minor = divmod(abs(cents), 100)
    grouped = f"{whole:,}".replace(",", thousands)
    sign = "-" if cents < 0 else ""
    return f"{sign}{prefix}{grouped}{decimal_mark}{minor:02d}{suffix}"
