"""The prompt choice grammar round-trips and refuses what it cannot mean."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart_app.fusion.choices import (
    NOT_MINE,
    SCAN,
    ChoiceItem,
    decode_choice,
    encode_choice,
    is_product_choice,
)

skus = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
items = st.builds(
    ChoiceItem,
    sku=skus,
    quantity=st.integers(1, 999),
    weight_g=st.one_of(st.none(), st.floats(0.1, 50_000, allow_nan=False)),
    unit_price_cents=st.one_of(st.none(), st.integers(0, 1_000_000)),
    line_id=st.one_of(st.none(), st.integers(1, 10**9)),
)


@given(st.lists(items, min_size=1, max_size=3))
def test_round_trip(chosen: list[ChoiceItem]) -> None:
    assert decode_choice(encode_choice(chosen)) == tuple(chosen)


def test_examples() -> None:
    assert encode_choice([ChoiceItem("D-MILK-STD", 2)]) == "D-MILK-STD*2"
    assert encode_choice([ChoiceItem("FV-BANANA", weight_g=1234.5)]) == "FV-BANANA@1234.5"
    assert encode_choice([ChoiceItem("FV-AVOCADO", line_id=7)]) == "FV-AVOCADO#7"
    pair = encode_choice([ChoiceItem("J-LAGER-50CL"), ChoiceItem("FV-LIME")])
    assert pair == "J-LAGER-50CL+FV-LIME"
    assert decode_choice("C-CHEESE-DELI@412.0$5728") == (
        ChoiceItem("C-CHEESE-DELI", 1, 412.0, 5728),
    )


@pytest.mark.parametrize("bad", [SCAN, NOT_MINE, "", "A*0", "A@-1", "A+", "a b", "A#0", "A@0"])
def test_refuses(bad: str) -> None:
    with pytest.raises(ValueError):
        decode_choice(bad)
    assert not is_product_choice(bad)


def test_special_tokens_are_never_skus() -> None:
    with pytest.raises(ValueError):
        encode_choice([ChoiceItem(":scan")])
