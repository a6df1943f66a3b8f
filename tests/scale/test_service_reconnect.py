"""Unplug and replug through real transports: a pty, socat and a TCP server.

In each case the far end is killed mid-stream; the service must say so clearly, reconnect by
itself with backoff, and report no weight change for the reconnect, even though the device
comes back with a different zero (as a power-cycled scale does).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from scale.service import ScaleService
from scale.state import DeviceState, ScaleStateChanged
from scale.types import WeightChange
from tests.scale.pty_peer import (
    CartBoard,
    EventLog,
    MtSicsBalance,
    PtyPeer,
    SocatPeer,
    TcpPeer,
)
from tests.scale.test_service import FAST, is_change, running, state_is


def settled(e: object) -> bool:
    return type(e).__name__ == "Settled"


def check_unplug_replug(
    service: ScaleService,
    events: EventLog,
    *,
    unplug: Callable[[], None],
    replug: Callable[[], None],
    load: Callable[[float], None],
    shift_zero: Callable[[], None],
    words: str,
) -> None:
    """The shared scenario: item in, unplug, device re-zeroes, replug, next item in."""
    events.wait_for(settled, "first plateau")
    load(400.0)
    first = events.wait_for(is_change, "first item")
    assert isinstance(first, WeightChange)
    assert first.delta_g == pytest.approx(400.0, abs=1.0)

    mark = events.mark()
    unplug()
    lost = events.wait_for(state_is(DeviceState.DISCONNECTED), "unplug noticed", since=mark)
    assert isinstance(lost, ScaleStateChanged)
    assert service.url in lost.reason and words in lost.reason
    assert "retrying in" in lost.reason

    shift_zero()
    replug()
    events.wait_for(state_is(DeviceState.OK), "reconnected", since=mark)
    events.wait_for(settled, "new baseline", since=mark)
    assert not events.of(WeightChange, since=mark), "phantom change across the reconnect"
    assert service.status().counters.reconnects == 1

    mark = events.mark()
    load(650.0)
    second = events.wait_for(is_change, "second item", since=mark)
    assert isinstance(second, WeightChange)
    assert second.delta_g == pytest.approx(250.0, abs=1.0)


def test_unplug_and_replug_a_pty_behind_a_by_id_style_link(tmp_path: Path) -> None:
    board = CartBoard(0.0)
    peer = PtyPeer(board, tmp_path / "usb-smartcart_board-if00")
    service = ScaleService(peer.url, "cartboard", FAST)

    def load(grams: float) -> None:
        board.grams = grams

    def shift_zero() -> None:
        board.offset_g = 35.0  # the board came back warmer: its zero moved

    try:
        with running(service) as events:
            check_unplug_replug(
                service,
                events,
                unplug=peer.unplug,
                replug=lambda: peer.replug(boot=board.boot()),
                load=load,
                shift_zero=shift_zero,
                words="device reports readiness to read but returned no data",
            )
    finally:
        peer.close()


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat not installed")
def test_kill_and_restart_socat(tmp_path: Path) -> None:
    board = CartBoard(0.0)
    peer = SocatPeer(board, tmp_path)
    service = ScaleService(peer.url, "cartboard", FAST)

    def load(grams: float) -> None:
        board.grams = grams

    def shift_zero() -> None:
        board.offset_g = -20.0

    try:
        with running(service) as events:
            check_unplug_replug(
                service,
                events,
                unplug=peer.unplug,
                replug=peer.replug,
                load=load,
                shift_zero=shift_zero,
                words="device gone",
            )
    finally:
        peer.close()


def test_tcp_server_closes_and_comes_back_with_a_polled_balance() -> None:
    balance = MtSicsBalance(0.0)
    peer = TcpPeer(balance)
    service = ScaleService(peer.url, "mt-sics", FAST)

    def load(grams: float) -> None:
        balance.grams = grams

    def shift_zero() -> None:
        # A balance power-cycled with the items on it zeroes at power-up.
        balance.zero_g = balance.grams

    try:
        with running(service) as events:
            check_unplug_replug(
                service,
                events,
                unplug=peer.unplug,
                replug=peer.replug,
                load=load,
                shift_zero=shift_zero,
                words="socket disconnected",
            )
    finally:
        peer.close()
