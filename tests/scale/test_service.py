"""The scale service: pure state logic with explicit times, then the thread over real ptys."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from scale.calibration import Calibration, CellCalibration, CountsCapture
from scale.filter import FilterSettings, WeightFilter, ZeroAlert
from scale.service import ScaleService
from scale.service_settings import ScaleSettings
from scale.state import (
    Backoff,
    CommandResult,
    DeviceState,
    LinkMonitor,
    ScaleStateChanged,
)
from scale.types import WeightChange
from tests.scale.pty_peer import CartBoard, EventLog, MtSicsBalance, PtyPeer, wait_until

FAST = ScaleSettings(
    read_timeout_s=0.2,
    silent_timeout_s=1.0,
    reconnect_backoff_initial_s=0.05,
    reconnect_backoff_max_s=0.3,
    settle_time_s=0.15,
    poll_interval_s=0.03,
    identify_timeout_s=0.5,
    command_timeout_s=3.0,
)


def state_is(state: DeviceState) -> Callable[[object], bool]:
    return lambda e: isinstance(e, ScaleStateChanged) and e.state is state


def is_change(e: object) -> bool:
    return isinstance(e, WeightChange)


@contextmanager
def running(service: ScaleService) -> Iterator[EventLog]:
    events = EventLog()
    service.subscribe(events)
    service.start()
    try:
        yield events
    finally:
        service.stop()


# ------------------------------------------------------------------------- pure logic


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens() -> None:
    exact = Backoff(0.5, 10.0, jitter=0.0)
    assert [exact.next_delay() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    exact.reset()
    assert exact.next_delay() == 0.5
    jittered = Backoff(0.5, 10.0, jitter=0.1, rng=random.Random(7))
    delays = [jittered.next_delay() for _ in range(40)]
    assert all(d <= 10.0 for d in delays)
    assert all(d >= 0.45 for d in delays)
    assert len(set(delays)) == len(delays)  # no two carts in lockstep
    with pytest.raises(ValueError):
        Backoff(2.0, 1.0)


def test_link_monitor_named_timeouts() -> None:
    m = LinkMonitor(silent_timeout_s=2.0)
    assert m.state is DeviceState.DISCONNECTED
    start = m.connecting(0.0, "opening /dev/x")
    assert start is not None and start.state is DeviceState.CONNECTING
    assert m.opened(0.1, "/dev/x") is None  # still connecting, just a new reason
    assert m.tick(1.0) is None
    ok = m.valid_frame(1.0)
    assert ok is not None and ok.state is DeviceState.OK
    assert m.valid_frame(1.1) is None  # no event without a change
    assert m.tick(3.0) is None  # 1.9 s quiet: not yet
    m.received(300)
    m.garbage()
    degraded = m.tick(3.2)
    assert degraded is not None and degraded.state is DeviceState.DEGRADED
    assert "1 unreadable frames, 300 bytes" in degraded.reason
    back = m.valid_frame(3.3)
    assert back is not None and back.previous is DeviceState.DEGRADED
    lost = m.disconnected(4.0, "scale port /dev/x: gone")
    assert lost is not None and lost.state is DeviceState.DISCONNECTED
    assert m.disconnected(4.5, "still gone") is None
    assert m.reason == "still gone"


def test_replies_without_weights_do_not_make_a_working_scale() -> None:
    m = LinkMonitor(silent_timeout_s=1.0)
    m.connecting(0.0, "opening")
    m.opened(0.0, "/dev/x")
    m.received(8)
    m.reply()
    event = m.tick(1.5)
    assert event is not None and event.state is DeviceState.DEGRADED
    assert "answers (1 replies) but sends no weight" in event.reason


def test_silence_right_after_open_degrades_with_no_data_reason() -> None:
    m = LinkMonitor(silent_timeout_s=1.0)
    m.connecting(0.0, "opening")
    m.opened(5.0, "/dev/x")
    event = m.tick(6.0)
    assert event is not None and event.reason == "no data for 1.0 s"


def test_settings_mirror_the_configuration_names() -> None:
    from cart_app.config.schema import ScaleConfig

    mirrored = {
        "read_timeout_s",
        "silent_timeout_s",
        "reconnect_backoff_initial_s",
        "reconnect_backoff_max_s",
        "settle_time_s",
        "stable_tolerance_g",
        "min_change_g",
        "zero_tracking_band_g",
        "capacity_g",
    }
    config = ScaleConfig()
    settings = ScaleSettings(**{name: getattr(config, name) for name in mirrored})
    fields = {f.name for f in dataclasses.fields(ScaleSettings)}
    assert mirrored <= fields
    for name in mirrored:
        assert getattr(ScaleSettings(), name) == getattr(config, name), name
    assert settings.filter_settings().settle_time_s == config.settle_time_s
    with pytest.raises(ValueError, match="silent_timeout_s"):
        ScaleSettings(silent_timeout_s=0)


# ------------------------------------------------------------------------ over a pty


def test_cart_board_item_in_gives_one_settled_change(tmp_path: Path) -> None:
    board = CartBoard(0.0)
    peer = PtyPeer(board, tmp_path / "scale")
    service = ScaleService(peer.url, "cartboard", FAST)
    try:
        with running(service) as events:
            events.wait_for(state_is(DeviceState.OK), "ok")
            events.wait_for(lambda e: type(e).__name__ == "Settled", "first plateau")
            mark = events.mark()
            board.grams = 500.0
            change = events.wait_for(is_change, "the item", since=mark)
            assert isinstance(change, WeightChange)
            assert change.delta_g == pytest.approx(500.0, abs=1.0)
            status = service.status()
            assert status.state is DeviceState.OK
            assert status.device_id == "CB-000123"
            assert status.counters.frames > 0 and status.counters.garbage == 0
        states = [e.state for e in events.of(ScaleStateChanged)]
        assert states[:2] == [DeviceState.CONNECTING, DeviceState.OK]
        assert len(events.of(WeightChange)) == 1
    finally:
        peer.close()


def test_garbage_flood_is_counted_degrades_and_recovers(tmp_path: Path) -> None:
    board = CartBoard(100.0)
    peer = PtyPeer(board, tmp_path / "scale")
    service = ScaleService(peer.url, "cartboard", FAST)
    try:
        with running(service) as events:
            events.wait_for(state_is(DeviceState.OK), "ok")
            mark = events.mark()
            peer.pump.device = Garbage(random.Random(3))  # wrong baud rate, noise on the line
            degraded = events.wait_for(state_is(DeviceState.DEGRADED), "degraded", since=mark)
            assert isinstance(degraded, ScaleStateChanged)
            assert "unreadable" in degraded.reason
            assert service.status().counters.garbage > 10
            peer.pump.device = board
            events.wait_for(state_is(DeviceState.OK), "recovered", since=events.mark())
        assert not events.of(WeightChange)
    finally:
        peer.close()


class Garbage:
    """A device whose every line is noise (with a non-ASCII byte, so it can never parse)."""

    rate_hz = 80.0

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def stream(self) -> bytes:
        noise = bytes(self.rng.choice(range(11, 256)) for _ in range(self.rng.randrange(1, 200)))
        return b"\xff" + noise + b"\n"

    def answer(self, line: bytes) -> bytes:
        return b""


def test_overload_gives_no_weight_and_an_alert(tmp_path: Path) -> None:
    board = CartBoard(0.0)
    peer = PtyPeer(board, tmp_path / "scale")
    sample_filter = WeightFilter(
        FilterSettings(settle_time_s=0.15, unknown_alert_s=0.3, capacity_g=30_000.0)
    )
    service = ScaleService(peer.url, "cartboard", FAST, sample_filter=sample_filter)
    try:
        with running(service) as events:
            events.wait_for(lambda e: type(e).__name__ == "Settled", "first plateau")
            board.clip = True
            alert = events.wait_for(lambda e: isinstance(e, ZeroAlert), "overload alert")
            assert isinstance(alert, ZeroAlert) and alert.reason == "overload"
            last = service.status().last_sample
            assert last is not None and last.grams is None and last.status == "overload"
        assert not events.of(WeightChange)
    finally:
        peer.close()


def test_polled_balance_zero_is_sent_once_ok_and_is_no_change(tmp_path: Path) -> None:
    balance = MtSicsBalance(0.0)
    peer = PtyPeer(balance, tmp_path / "scale")
    service = ScaleService(peer.url, "mt-sics", FAST)
    try:
        with running(service) as events:
            events.wait_for(lambda e: type(e).__name__ == "Settled", "first plateau")
            mark = events.mark()
            balance.grams = 300.0
            change = events.wait_for(is_change, "weight on the balance", since=mark)
            assert isinstance(change, WeightChange)
            assert change.delta_g == pytest.approx(300.0)
            mark = events.mark()
            service.zero()
            result = events.wait_for(lambda e: isinstance(e, CommandResult), "zero", since=mark)
            assert isinstance(result, CommandResult) and result.ok, result
            events.wait_for(lambda e: type(e).__name__ == "Settled", "rebased", since=mark)
            balance.zero_refused = True
            service.zero()
            alert = events.wait_for(lambda e: isinstance(e, ZeroAlert), "refused", since=mark)
            assert isinstance(alert, ZeroAlert) and alert.reason == "zero_out_of_range"
            assert not events.of(WeightChange, since=mark)  # the zero moved nothing
        assert balance.commands[0] == b"I4\r\n"
        assert b"SI\r\n" in balance.commands and b"Z\r\n" in balance.commands
    finally:
        peer.close()


def test_commands_are_never_written_before_the_device_answered(tmp_path: Path) -> None:
    balance = MtSicsBalance(0.0)
    path = tmp_path / "scale"
    settings = dataclasses.replace(FAST, command_timeout_s=0.3)
    service = ScaleService(str(path), "mt-sics", settings)
    peer: PtyPeer | None = None
    try:
        with running(service) as events:
            events.wait_for(state_is(DeviceState.DISCONNECTED), "no port yet")
            service.zero()
            failed = events.wait_for(lambda e: isinstance(e, CommandResult), "expired zero")
            assert isinstance(failed, CommandResult) and not failed.ok
            assert "disconnected" in failed.message
            peer = PtyPeer(balance, path)
            events.wait_for(state_is(DeviceState.OK), "plugged in")
            wait_until(lambda: b"SI\r\n" in balance.commands, "polling")
        assert b"Z\r\n" not in balance.commands
    finally:
        if peer is not None:
            peer.close()


def test_a_streaming_board_without_identify_receives_nothing(tmp_path: Path) -> None:
    board = CartBoard(0.0)
    peer = PtyPeer(board, tmp_path / "scale")
    service = ScaleService(peer.url, "cartboard", dataclasses.replace(FAST, identify=False))
    try:
        with running(service) as events:
            events.wait_for(lambda e: type(e).__name__ == "Settled", "first plateau")
            service.zero()  # the board has no zero command: the filter zeroes
            events.wait_for(lambda e: isinstance(e, CommandResult), "zero")
        assert bytes(peer.pump.received) == b""
    finally:
        peer.close()


def test_new_calibration_and_frame_taps_without_phantom_change(tmp_path: Path) -> None:
    board = CartBoard(1000.0)
    peer = PtyPeer(board, tmp_path / "scale")
    service = ScaleService(peer.url, "cartboard", FAST)
    try:
        with running(service) as events:
            events.wait_for(lambda e: type(e).__name__ == "Settled", "first plateau")
            capture = CountsCapture(0.3)
            service.add_frame_tap(capture)
            counts = capture.wait(10.0)
            service.remove_frame_tap(capture)
            assert counts == pytest.approx((33_000.0,) * 4)
            mark = events.mark()
            # Gains 2 % higher: the same load now reads 2 % less.
            cells = (CellCalibration(8_000.0, 102.0),) * 4
            service.set_calibration(Calibration(cells))
            events.wait_for(lambda e: isinstance(e, CommandResult), "calibration", since=mark)
            events.wait_for(lambda e: type(e).__name__ == "Settled", "rebased", since=mark)
            last = service.status().last_sample
            assert last is not None and last.grams == pytest.approx(1000.0 / 1.02, abs=0.5)
            assert not events.of(WeightChange, since=mark)
    finally:
        peer.close()


class RefusesWeights(MtSicsBalance):
    """A balance in the wrong mode: it identifies, then answers every ``SI`` with ``ES``."""

    def answer(self, line: bytes) -> bytes:
        return b"ES\r\n" if line.strip() == b"SI" else super().answer(line)


def test_a_balance_that_never_weighs_is_degraded_and_gets_no_commands(tmp_path: Path) -> None:
    balance = RefusesWeights(0.0)
    peer = PtyPeer(balance, tmp_path / "scale")
    service = ScaleService(peer.url, "mt-sics", dataclasses.replace(FAST, command_timeout_s=0.5))
    try:
        with running(service) as events:
            service.zero()
            degraded = events.wait_for(state_is(DeviceState.DEGRADED), "degraded")
            assert isinstance(degraded, ScaleStateChanged)
            assert "sends no weight" in degraded.reason
            failed = events.wait_for(lambda e: isinstance(e, CommandResult), "zero expired")
            assert isinstance(failed, CommandResult) and not failed.ok
            assert service.status().device_id == "B021002593"
        assert not events.of(WeightChange)
        assert b"Z\r\n" not in balance.commands
    finally:
        peer.close()


def test_restart_after_stop_is_a_reconnect_without_phantom_change(tmp_path: Path) -> None:
    board = CartBoard(700.0)
    peer = PtyPeer(board, tmp_path / "scale")
    service = ScaleService(peer.url, "cartboard", FAST)
    try:
        with running(service) as events:
            events.wait_for(lambda e: type(e).__name__ == "Settled", "first plateau")
        board.offset_g = 25.0  # the zero moved while the service was stopped
        mark = events.mark()
        service.start()
        try:
            events.wait_for(lambda e: type(e).__name__ == "Settled", "after restart", since=mark)
        finally:
            service.stop()
        assert not events.of(WeightChange)
        assert service.status().counters.reconnects == 1
    finally:
        peer.close()


def test_a_failing_listener_is_counted_and_the_scale_goes_on(tmp_path: Path) -> None:
    board = CartBoard(0.0)
    peer = PtyPeer(board, tmp_path / "scale")
    service = ScaleService(peer.url, "cartboard", FAST)

    def broken(event: object) -> None:
        raise RuntimeError("listener bug")

    service.subscribe(broken)
    try:
        with running(service) as events:
            events.wait_for(lambda e: type(e).__name__ == "Settled", "events still flow")
            assert service.status().counters.listener_errors >= 2
    finally:
        peer.close()


def test_stop_does_not_wait_out_a_long_backoff(tmp_path: Path) -> None:
    settings = dataclasses.replace(
        FAST, reconnect_backoff_initial_s=60.0, reconnect_backoff_max_s=60.0
    )
    service = ScaleService(str(tmp_path / "missing"), "cartboard", settings)
    events = EventLog()
    service.subscribe(events)
    service.start()
    thread = service._thread
    events.wait_for(state_is(DeviceState.DISCONNECTED), "disconnected")
    assert "not found" in service.status().reason
    assert "retrying in" in service.status().reason
    service.stop()
    assert thread is not None and not thread.is_alive()
    service.stop()  # idempotent
