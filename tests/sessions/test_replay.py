"""Replay: the same session gives the same receipt byte for byte, and seeded trips replay to
their true receipts (produce by weight, an adversarial move, removals and bags among them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cart_app.sessions.format import SessionError, load_session
from cart_app.sessions.metrics import trip_metrics
from cart_app.sessions.receipt_json import compare
from cart_app.sessions.replay import ReplayResult, replay
from cart_app.sessions.truth import read_truth

_RESULTS: dict[Path, ReplayResult] = {}


def _replayed(folder: Path) -> ReplayResult:
    """Each trip is replayed once per test run (the tests share the results)."""
    if folder not in _RESULTS:
        _RESULTS[folder] = replay(load_session(folder))
    return _RESULTS[folder]


def test_the_same_session_replays_to_the_same_bytes(trip_batch: tuple[Path, list[Path]]) -> None:
    folder = trip_batch[1][0]
    first = _replayed(folder)
    second = replay(load_session(folder))
    assert second.receipt_text == first.receipt_text
    assert second.events == first.events
    assert first.document["lines"]


def test_the_seeded_trips_cover_the_cases(trip_batch: tuple[Path, list[Path]]) -> None:
    actions = [a for f in trip_batch[1] for a in read_truth(f / "truth.json").actions]
    kinds = {a.kind for a in actions}
    assert {"add", "remove", "own_item"} <= kinds
    assert any(a.adversarial == "label_swap" for a in actions)
    assert any(a.adversarial == "unseen_drop" for a in actions)
    assert any(
        i.weight_g and a.kind == "add" and i.sku.startswith("FV-") and i.quantity == 1
        for a in actions
        for i in a.items
    )
    assert any(i.quantity > 1 for a in actions for i in a.items)


@pytest.mark.parametrize("trip", range(6))
def test_a_seeded_trip_replays_to_its_true_receipt(
    trip: int, trip_batch: tuple[Path, list[Path]]
) -> None:
    folder = trip_batch[1][trip]
    result = _replayed(folder)
    truth = read_truth(folder / "truth.json")
    comparison = compare(result.document, truth)
    assert comparison.exact, (comparison, result.document["checkout"])
    metrics = trip_metrics(folder.name, result, truth)
    assert metrics.silent_wrong == 0
    assert metrics.adversarial_caught == metrics.adversarial


def test_a_damaged_frame_stops_the_replay_with_its_name(trip_copy: Path) -> None:
    frame = sorted((trip_copy / "cameras" / "basket").glob("*.jpg"))[5]
    frame.write_bytes(b"not a jpeg")
    with pytest.raises(SessionError, match=frame.name):
        replay(load_session(trip_copy))


def test_without_the_shopper_nobody_answers(trip_batch: tuple[Path, list[Path]]) -> None:
    from cart_app.sessions.replay import ReplaySettings

    for folder in trip_batch[1]:
        answered = [c for c in _replayed(folder).lines if c.source in ("shopper", "staff")]
        if answered:
            result = replay(load_session(folder), ReplaySettings(shopper=False))
            assert not [c for c in result.lines if c.source in ("shopper", "staff")]
            assert result.document != _replayed(folder).document
            return
    pytest.skip("no seeded trip needed an answer")
