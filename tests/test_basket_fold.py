"""The basket fold: tables of record sequences and the basket each must produce or refuse."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cart_app.basket import (
    BasketFoldError,
    BasketState,
    PendingPrompt,
    apply,
    empty_basket,
    fold,
    restore,
)
from cart_app.domain import BasketLine, Coupon, Evidence, EvidenceSource
from cart_app.records import (
    CouponApplied,
    HandoffQueued,
    LineAdded,
    LineRemoved,
    LineVoided,
    PromptAnswered,
    PromptOpened,
    Record,
    SessionStarted,
    StateChanged,
    TareApplied,
)
from cart_app.session import SessionState
from tests.ledger_crash_driver import scripted_session

VISION = Evidence(EvidenceSource.VISION, weight_delta_g=1030.0, vision_label="milk")
SCAN = Evidence(EvidenceSource.BARCODE, gtin="4006381333931")
START: list[Record] = [SessionStarted("s1", "cart-1"), StateChanged(SessionState.SHOPPING)]


def _lines(records: list[Record]) -> tuple[BasketLine, ...]:
    return fold(START + records).lines


LINE_CASES: list[tuple[str, list[Record], tuple[BasketLine, ...]]] = [
    ("nothing", [], ()),
    (
        "add opens a line",
        [LineAdded(1, "milk", 2, evidence=VISION)],
        (BasketLine(1, "milk", 2, evidence=(VISION,)),),
    ),
    (
        "add to the same line adds quantity and evidence",
        [LineAdded(1, "milk", 1, evidence=VISION), LineAdded(1, "milk", 2, evidence=SCAN)],
        (BasketLine(1, "milk", 3, evidence=(VISION, SCAN)),),
    ),
    (
        "weighed produce adds grams",
        [LineAdded(4, "apples", 0, 250.5), LineAdded(4, "apples", 0, 100.25)],
        (BasketLine(4, "apples", 0, 350.75),),
    ),
    (
        "lines are kept in line_id order",
        [LineAdded(3, "eggs", 1), LineAdded(1, "milk", 1), LineAdded(2, "bread", 1)],
        (BasketLine(1, "milk", 1), BasketLine(2, "bread", 1), BasketLine(3, "eggs", 1)),
    ),
    (
        "remove part of a line",
        [LineAdded(1, "milk", 3), LineRemoved(1, 2, evidence=VISION)],
        (BasketLine(1, "milk", 1, evidence=(VISION,)),),
    ),
    ("remove a line to zero drops it", [LineAdded(1, "milk", 2), LineRemoved(1, 2)], ()),
    (
        "remove all grams despite float drift",
        [
            LineAdded(4, "apples", 0, 100.1),
            LineAdded(4, "apples", 0, 200.2),
            LineRemoved(4, 0, 300.3),
        ],
        (),
    ),
    (
        "remove part of the grams",
        [LineAdded(4, "apples", 0, 500.0), LineRemoved(4, 0, 120.0)],
        (BasketLine(4, "apples", 0, 380.0),),
    ),
    (
        "void drops the whole line",
        [LineAdded(1, "milk", 5), LineAdded(2, "bread", 1), LineVoided(1, "wrong item")],
        (BasketLine(2, "bread", 1),),
    ),
    (
        "a variable-measure price stays on its line",
        [LineAdded(7, "cheese", 1, 0.0, 499), LineAdded(7, "cheese", 1, 0.0, 499)],
        (BasketLine(7, "cheese", 2, 0.0, 499),),
    ),
    (
        "a dropped line's id opens a new line",
        [LineAdded(1, "milk", 1), LineVoided(1, "x"), LineAdded(1, "bread", 1)],
        (BasketLine(1, "bread", 1),),
    ),
]


@pytest.mark.parametrize(
    ("records", "expected"), [c[1:] for c in LINE_CASES], ids=[c[0] for c in LINE_CASES]
)
def test_lines(records: list[Record], expected: tuple[BasketLine, ...]) -> None:
    assert _lines(records) == expected


def test_empty_log_is_an_empty_idle_basket() -> None:
    assert fold([]) == empty_basket()
    assert empty_basket().state is SessionState.IDLE
    assert empty_basket().record_count == 0


def test_session_started_resets_everything() -> None:
    state = fold(
        [
            *START,
            LineAdded(1, "milk", 1),
            TareApplied(20.0, "bag"),
            CouponApplied(Coupon("C1")),
            PromptOpened("p1", "?", ("a",), 5.0),
            HandoffQueued("k1"),
            SessionStarted("s2", "cart-2"),
        ]
    )
    # A new session starts its own count, as a restore from its own records would.
    assert state == replace(empty_basket("s2", "cart-2"), record_count=1)


def test_prompts_open_and_close_in_order() -> None:
    opened: list[Record] = [
        PromptOpened("p1", "weight without item", ("bag", "item"), 10.0),
        PromptOpened("p2", "ambiguous removal", ("milk", "eggs"), 20.0),
    ]
    state = fold(START + opened)
    assert state.pending_prompts == (
        PendingPrompt("p1", "weight without item", ("bag", "item"), 10.0),
        PendingPrompt("p2", "ambiguous removal", ("milk", "eggs"), 20.0),
    )
    state = apply(state, PromptAnswered("p1", "bag", "shopper"))
    assert [p.prompt_id for p in state.pending_prompts] == ["p2"]
    state = apply(state, PromptAnswered("p2", "timeout", "deadline"))
    assert state.pending_prompts == ()


@pytest.mark.parametrize(
    ("records", "state"),
    [
        ([], SessionState.SHOPPING),
        ([StateChanged(SessionState.CHECKOUT)], SessionState.CHECKOUT),
        (
            [StateChanged(SessionState.CHECKOUT), StateChanged(SessionState.SHOPPING, "weight")],
            SessionState.SHOPPING,
        ),
        ([StateChanged(SessionState.LOCKED, "tamper")], SessionState.LOCKED),
    ],
)
def test_state_follows_state_changes(records: list[Record], state: SessionState) -> None:
    assert fold(START + records).state is state


def test_session_fields_tare_coupons_and_handoff() -> None:
    state = fold(
        [
            *START,
            TareApplied(30.5, "own bag"),
            TareApplied(12.0, "phone"),
            CouponApplied(Coupon("SAVE5", amount_off_cents=500)),
            CouponApplied(Coupon("MILK10", percent_off=10, sku="milk")),
            HandoffQueued("key-1", "tok"),
        ]
    )
    assert (state.session_id, state.cart_id) == ("s1", "cart-1")
    assert state.tare_g == 42.5
    assert [c.code for c in state.coupons] == ["SAVE5", "MILK10"]
    assert state.handoff_key == "key-1"
    assert state.record_count == 7


def test_basket_line_lookup() -> None:
    state = fold([*START, LineAdded(2, "bread", 1)])
    assert state.line(2) == BasketLine(2, "bread", 1)
    assert state.line(3) is None


FOLD_ERRORS: list[tuple[str, list[Record], str]] = [
    (
        "add another sku to a line",
        [LineAdded(1, "milk", 1), LineAdded(1, "eggs", 1)],
        "holds 'milk'",
    ),
    (
        "add at another price",
        [LineAdded(1, "cheese", 1, 0.0, 499), LineAdded(1, "cheese", 1, 0.0, 510)],
        "its own line",
    ),
    ("add nothing", [LineAdded(1, "milk", 0)], "adds nothing"),
    ("add a negative amount", [LineAdded(1, "milk", -1)], "negative"),
    ("remove from a missing line", [LineRemoved(9, 1)], "no line 9"),
    ("remove more than held", [LineAdded(1, "milk", 2), LineRemoved(1, 3)], "holds 2 units"),
    (
        "remove more grams than held",
        [LineAdded(4, "apples", 0, 100.0), LineRemoved(4, 0, 100.5)],
        "holds 100.0 g",
    ),
    ("remove nothing", [LineAdded(1, "milk", 2), LineRemoved(1, 0)], "removes nothing"),
    (
        "remove a removed line",
        [LineAdded(1, "milk", 1), LineRemoved(1, 1), LineRemoved(1, 1)],
        "no line 1",
    ),
    ("void a missing line", [LineVoided(3, "x")], "no line 3 to void"),
    ("answer an unknown prompt", [PromptAnswered("p9", "yes", "shopper")], "'p9' is not open"),
    (
        "answer a prompt twice",
        [
            PromptOpened("p1", "?", (), 1.0),
            PromptAnswered("p1", "a", "s"),
            PromptAnswered("p1", "a", "s"),
        ],
        "'p1' is not open",
    ),
    ("open a prompt twice", [PromptOpened("p1", "?", (), 1.0)] * 2, "'p1' is already open"),
    ("apply a coupon twice", [CouponApplied(Coupon("C1"))] * 2, "'C1' is already applied"),
]


@pytest.mark.parametrize(
    ("records", "message"), [c[1:] for c in FOLD_ERRORS], ids=[c[0] for c in FOLD_ERRORS]
)
def test_fold_refuses(records: list[Record], message: str) -> None:
    with pytest.raises(BasketFoldError, match=message) as info:
        fold(START + records)
    assert info.value.position == len(START) + len(records)
    assert info.value.record == records[-1]


def test_apply_does_not_change_the_state_it_was_given() -> None:
    before = fold([*START, LineAdded(1, "milk", 1)])
    after = apply(before, LineAdded(1, "milk", 1))
    assert before.lines == (BasketLine(1, "milk", 1),)
    assert after.lines == (BasketLine(1, "milk", 2),)


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=120))
@settings(max_examples=60)
def test_stepwise_apply_equals_fold(seed: int, length: int) -> None:
    # The engine folds one record at a time; a restart folds them all at once.
    script = scripted_session(seed, length)
    state = empty_basket()
    for record in script:
        state = apply(state, record)
    assert state == fold(script)
    assert state.record_count == length


class _Log:
    def __init__(self, sessions: dict[str, list[Record]], latest: str | None) -> None:
        self.sessions = sessions
        self.latest = latest

    def latest_session_id(self) -> str | None:
        return self.latest

    def records(self, session_id: str) -> list[Record]:
        return self.sessions[session_id]


def test_restore_folds_the_latest_session_only() -> None:
    old: list[Record] = [SessionStarted("old", "c"), LineAdded(1, "milk", 1)]
    new: list[Record] = [SessionStarted("new", "c"), LineAdded(1, "bread", 2)]
    restored: BasketState = restore(_Log({"old": old, "new": new}, "new"))
    assert restored == fold(new)
    assert restore(_Log({"old": old}, None)) == empty_basket()
