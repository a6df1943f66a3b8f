"""Simulated devices, read back through the production parsers of ``scale.protocols``.

No I/O and no clock: the tests hand the devices their time, so they run faster than real time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from scale.calibration import DEFAULT_CALIBRATION
from scale.protocols import (
    PROTOCOLS,
    CellFrame,
    Garbage,
    ParseResult,
    Reading,
    ReadingStatus,
    Reply,
    cartboard,
    continuous,
    mt_sics,
    nci,
    toledo_8217,
)
from scale.sim.cartboard_device import CartBoardDevice
from scale.sim.device import DEVICES, make_device, reader_parser
from scale.sim.device_base import DeviceOptions, SimDevice
from scale.sim.physics import POSITIONS, BasketModel, BasketParams

PARAMS = BasketParams(noise_g=0.3, spike_rate_hz=0.0, drift_g=0.0)
# Noise (4 sigma) plus the coarsest display step of the defaults (1 g for kg with 3 decimals).
TOLERANCE_G = 0.3 * 4 + 1.0
POLLED = ("mt-sics", "toledo-8217", "nci", "continuous")


class Rig:
    """A device on a model, with the production framer and parser reading its output."""

    def __init__(
        self,
        protocol: str,
        params: BasketParams = PARAMS,
        options: DeviceOptions | None = None,
        seed: int = 1,
    ) -> None:
        self.model = BasketModel(params, seed=seed)
        self.device: SimDevice = make_device(protocol, self.model, options)
        self.protocol = PROTOCOLS[protocol]
        self.framer = self.protocol.new_framer()
        self.parse = reader_parser(self.device)
        self.t = 0.0
        self.streamed: list[ParseResult] = self.decode(self.device.boot(0.0))

    def decode(self, data: bytes) -> list[ParseResult]:
        return [self.parse(frame) for frame in self.framer.feed(data)]

    def wait(self, seconds: float) -> list[ParseResult]:
        """Let ``seconds`` pass in 10 ms steps, as the server's loop does; returns what the
        device sent unasked meanwhile."""
        end = self.t + seconds
        results: list[ParseResult] = []
        while self.t < end - 1e-9:
            self.t = min(end, self.t + 0.01)
            results += self.decode(self.device.advance(self.t))
        self.streamed += results
        return results

    def ask(self, command: bytes) -> list[ParseResult]:
        """Send ``command`` now; returns the parsed answers."""
        return self.decode(self.device.receive(command, self.t))

    def weigh(self) -> ParseResult:
        """Ask for the weight with the protocol's own request encoder."""
        encode = self.protocol.encode_request_weight
        assert encode is not None
        (answer,) = self.ask(encode())
        return answer


def grams_of(frame: ParseResult) -> float | None:
    """The weight a frame reports: a reading's grams, or a cart board sample calibrated."""
    if isinstance(frame, Reading):
        return frame.grams
    if isinstance(frame, CellFrame):
        return DEFAULT_CALIBRATION.grams(frame.counts)
    return None


def test_every_protocol_has_a_device() -> None:
    assert set(DEVICES) == set(PROTOCOLS)
    with pytest.raises(ValueError, match="known:"):
        make_device("sartorius", BasketModel())


@pytest.mark.parametrize("protocol", POLLED)
def test_settled_weight_round_trips_through_the_real_parser(protocol: str) -> None:
    rig = Rig(protocol)
    rig.wait(0.5)
    rig.model.put(1234.5, POSITIONS["front-right"])
    rig.wait(2.5)
    reading = rig.weigh()
    assert isinstance(reading, Reading)
    assert reading.status is ReadingStatus.OK and reading.stable
    assert reading.grams == pytest.approx(1234.5, abs=TOLERANCE_G)


@pytest.mark.parametrize("protocol", POLLED)
def test_a_moving_weight_is_reported_as_motion(protocol: str) -> None:
    rig = Rig(protocol)
    rig.wait(0.5)
    rig.model.put(1234.5)
    rig.wait(0.05)
    reading = rig.weigh()
    assert isinstance(reading, Reading)
    assert reading.status is ReadingStatus.MOTION and not reading.stable
    if protocol != "toledo-8217":  # the 8217 sends no value while in motion
        assert reading.grams is not None and 0 < reading.grams < 1234.5


@pytest.mark.parametrize("protocol", POLLED)
def test_overload_carries_no_weight(protocol: str) -> None:
    rig = Rig(protocol)
    rig.model.put(31_000.0)
    rig.wait(2.5)
    reading = rig.weigh()
    assert isinstance(reading, Reading)
    assert reading.status is ReadingStatus.OVERLOAD and reading.grams is None


@pytest.mark.parametrize("protocol", POLLED)
def test_zero_moves_the_reference(protocol: str) -> None:
    rig = Rig(protocol)
    rig.model.put(300.0)
    rig.wait(2.5)
    encode = rig.protocol.encode_zero
    assert encode is not None
    answers = rig.ask(encode())
    answers += rig.wait(0.1)
    assert not any(isinstance(a, Garbage) for a in answers)
    reading = rig.weigh()
    assert isinstance(reading, Reading) and reading.stable
    assert reading.grams == pytest.approx(0.0, abs=TOLERANCE_G)
    # What is put in afterwards weighs what it weighs.
    rig.model.put(500.0)
    rig.wait(2.5)
    reading = rig.weigh()
    assert isinstance(reading, Reading)
    assert reading.grams == pytest.approx(500.0, abs=TOLERANCE_G)


@pytest.mark.parametrize("protocol", POLLED)
def test_a_scenario_only_produces_frames_the_parser_reads(protocol: str) -> None:
    """Pushes, leans, spikes, negative values and overload: every frame parses, none lost."""
    rig = Rig(protocol, BasketParams(spike_rate_hz=1.0), seed=9)
    encode = rig.protocol.encode_request_weight
    assert encode is not None
    results: list[ParseResult] = []
    zero = rig.protocol.encode_zero
    assert zero is not None
    zero_request = zero()
    # Actions by tenth of a second.
    actions: dict[int, Callable[[], object]] = {
        5: lambda: rig.model.put(300.0, POSITIONS["rear-left"]),
        6: lambda: rig.model.put(80.0, POSITIONS["front"]),
        15: lambda: rig.model.set_pushing(True, 1.0),
        30: lambda: rig.model.lean(400.0, 1.0),
        55: lambda: results.extend(rig.ask(zero_request)),
        60: lambda: rig.model.take(80.0),  # a negative net weight after the zero
        70: lambda: rig.model.take(300.0),  # below the underload limit
        80: lambda: rig.model.put(40_000.0),
    }
    for step in range(100):
        action = actions.get(step)
        if action is not None:
            action()
        results += rig.wait(0.1)
        results += rig.ask(encode())
    results += rig.streamed
    assert results
    assert not [r for r in results if isinstance(r, Garbage)]
    assert rig.framer.discarded_bytes == 0
    statuses = {r.status for r in results if isinstance(r, Reading)}
    assert set(ReadingStatus) - {ReadingStatus.ERROR, ReadingStatus.UNKNOWN} <= statuses
    negative = [r for r in results if isinstance(r, Reading) and r.grams and r.grams < -70]
    assert negative or protocol == "toledo-8217"  # the 8217 shows under zero as a status


def test_underload_below_the_zero_range() -> None:
    rig = Rig("mt-sics")
    rig.model.put(300.0)
    rig.wait(2.5)
    assert rig.ask(b"Z\r\n") == [Reply("Z", True, "A", "", b"Z A\r\n")]
    rig.model.take(300.0)
    rig.wait(2.5)
    reading = rig.weigh()
    assert isinstance(reading, Reading) and reading.status is ReadingStatus.UNDERLOAD


# -- cart board ------------------------------------------------------------------------------


def test_cart_board_streams_80_calibrated_samples_per_second() -> None:
    rig = Rig("cartboard")
    (hello,) = rig.streamed
    assert hello == Reply("I4", True, "A", "SIM0001", b'I4 A "SIM0001"\r\n')
    rig.model.put(640.0, POSITIONS["rear-right"])
    rig.wait(3.0)
    frames = rig.wait(1.0)
    assert len(frames) == cartboard.SAMPLE_RATE_HZ
    assert all(isinstance(f, CellFrame) and f.checksum_ok for f in frames)
    seqs = [f.seq for f in frames if isinstance(f, CellFrame)]
    assert all(cartboard.seq_gap(a, b) == 0 for a, b in itertools.pairwise(seqs))
    weights = [grams_of(f) for f in frames]
    assert all(w == pytest.approx(640.0, abs=2.0) for w in weights)
    last = frames[-1]
    assert isinstance(last, CellFrame)
    # Most of the load is on the rear-right cell, as wired.
    assert max(range(4), key=lambda i: last.counts[i] or 0) == 3


def test_cart_board_answers_the_mt_sics_identify_subset() -> None:
    rig = Rig("cartboard")
    rig.wait(0.1)
    for command in (mt_sics.encode_identify(), mt_sics.encode_reset()):
        (answer,) = rig.ask(command)
        assert answer == Reply("I4", True, "A", "SIM0001", b'I4 A "SIM0001"\r\n')
    (answer,) = rig.ask(b"SI\r\n")
    assert isinstance(answer, Reply) and answer.code == "ES" and not answer.ok
    # Commands split across reads still work.
    assert rig.ask(b"I") == []
    assert len(rig.ask(b"4\r\n")) == 1


def test_cart_board_sequence_wraps_and_shows_samples_the_host_missed() -> None:
    rig = Rig("cartboard")
    device = rig.device
    assert isinstance(device, CartBoardDevice)
    device.seq = cartboard.SEQ_MODULUS - 2
    frames = [f for f in rig.wait(0.05) if isinstance(f, CellFrame)]
    assert [f.seq for f in frames][:4] == [65534, 65535, 0, 1]
    # A long stall: the board skips ahead rather than sending seconds of samples at once.
    before = frames[-1].seq
    rig.t += 2.0
    burst = [f for f in rig.decode(device.advance(rig.t)) if isinstance(f, CellFrame)]
    assert len(burst) < 0.3 * cartboard.SAMPLE_RATE_HZ + 2
    assert cartboard.seq_gap(before, burst[0].seq) > 100


def test_cart_board_cells_clip_at_the_adc_rail() -> None:
    rig = Rig("cartboard", options=DeviceOptions(cell_capacity_g=1_000.0))
    rig.model.put(2_000.0, POSITIONS["front-left"])
    rig.wait(2.0)
    frame = rig.wait(0.02)[-1]
    assert isinstance(frame, CellFrame)
    assert frame.counts[0] == cartboard.COUNT_MAX
    assert all(c is not None and c < cartboard.COUNT_MAX for c in frame.counts[1:])


def test_cart_board_reboot_restarts_the_sequence() -> None:
    rig = Rig("cartboard")
    rig.wait(1.0)
    assert rig.decode(rig.device.boot(rig.t))[0] == Reply(
        "I4", True, "A", "SIM0001", b'I4 A "SIM0001"\r\n'
    )
    first = rig.wait(0.0125)[0]
    assert isinstance(first, CellFrame) and first.seq == 0


# -- MT-SICS ---------------------------------------------------------------------------------


def test_mt_sics_s_waits_for_a_stable_weight() -> None:
    rig = Rig("mt-sics")
    rig.model.put(700.0)
    rig.wait(0.05)
    assert rig.ask(mt_sics.encode_request_weight(immediate=False)) == []
    later = rig.wait(2.0)
    assert len(later) == 1
    reading = later[0]
    assert isinstance(reading, Reading) and reading.stable
    assert reading.grams == pytest.approx(700.0, abs=TOLERANCE_G)


def test_mt_sics_s_times_out_while_the_cart_is_pushed() -> None:
    rig = Rig("mt-sics", options=DeviceOptions(stable_timeout_s=1.0))
    rig.model.set_pushing(True)
    rig.wait(0.5)
    assert rig.ask(b"S\r\n") == []
    (answer,) = rig.wait(1.5)
    assert isinstance(answer, Reading) and answer.status is ReadingStatus.UNKNOWN
    assert rig.ask(b"Z\r\n") == []
    (answer,) = rig.wait(1.5)
    assert answer == Reply("Z", False, "I", mt_sics.CODE_MEANINGS["I"], b"Z I\r\n")
    (answer,) = rig.ask(mt_sics.encode_zero(immediate=True))
    assert isinstance(answer, Reply) and (answer.command, answer.code) == ("ZI", "D")


def test_mt_sics_tare_and_clear_tare() -> None:
    rig = Rig("mt-sics", params=BasketParams(noise_g=0.0, spike_rate_hz=0.0, drift_g=0.0))
    rig.model.put(250.0)
    rig.wait(2.5)
    (answer,) = rig.ask(mt_sics.encode_tare())
    assert isinstance(answer, Reply) and answer.command == "T" and answer.ok
    assert answer.text == "250.0 g"
    net = rig.weigh()
    assert isinstance(net, Reading) and net.grams == pytest.approx(0.0)
    rig.model.put(100.0)
    rig.wait(2.5)
    net = rig.weigh()
    assert isinstance(net, Reading) and net.grams == pytest.approx(100.0)
    assert rig.ask(mt_sics.encode_clear_tare()) == [Reply("TAC", True, "A", "", b"TAC A\r\n")]
    gross = rig.weigh()
    assert isinstance(gross, Reading) and gross.grams == pytest.approx(350.0)


def test_mt_sics_sir_streams_until_reset() -> None:
    rig = Rig("mt-sics")
    rig.wait(0.5)
    assert rig.wait(1.0) == []
    assert rig.ask(mt_sics.encode_stream_start()) == []
    streamed = rig.wait(1.0)
    assert 9 <= len(streamed) <= 11
    assert all(isinstance(r, Reading) and r.stable for r in streamed)
    (answer,) = rig.ask(mt_sics.encode_reset())
    assert isinstance(answer, Reply) and answer.command == "I4" and answer.text == "SIM0001"
    assert rig.wait(1.0) == []


def test_mt_sics_unknown_commands_are_syntax_errors() -> None:
    rig = Rig("mt-sics")
    rig.wait(0.1)
    (answer,) = rig.ask(b"XYZ\r\n")
    assert answer == Reply("", False, "ES", mt_sics.ERRORS["ES"], b"ES\r\n")
    # An endless line without a terminator is dropped, then the next command works.
    assert rig.ask(b"S" * 500) == []
    assert len(rig.ask(b"\r\nSI\r\n")) == 1


# -- Toledo 8217 -----------------------------------------------------------------------------


def test_toledo_status_records_and_high_resolution() -> None:
    rig = Rig("toledo-8217", params=BasketParams(noise_g=0.0, spike_rate_hz=0.0, drift_g=0.0))
    rig.wait(1.0)
    (at_zero,) = rig.ask(toledo_8217.encode_zero())
    assert isinstance(at_zero, Reply) and at_zero.ok and "centre of zero" in at_zero.text
    rig.model.put(1500.0)
    rig.wait(2.5)
    (high,) = rig.ask(toledo_8217.encode_request_weight_high_resolution())
    assert isinstance(high, Reading) and high.raw == b"\x02" + b"1.5000".zfill(7) + b"\r"
    assert high.grams == pytest.approx(1500.0)
    (tared,) = rig.ask(toledo_8217.encode_tare())
    assert isinstance(tared, Reply) and tared.ok
    assert rig.weigh() == Reading(0.0, True, ReadingStatus.OK, "kg", b"\x0200.000\r")
    rig.ask(toledo_8217.encode_clear_tare())
    reading = rig.weigh()
    assert isinstance(reading, Reading) and reading.grams == pytest.approx(1500.0)
    # Unknown bytes and line ends are ignored, as the scale ignores them.
    assert rig.ask(b"\r\nQ?") == []


def test_toledo_in_pounds_reads_with_a_pound_parser() -> None:
    rig = Rig("toledo-8217", options=DeviceOptions(unit="lb"))
    rig.model.put(453.59237 * 2)
    rig.wait(2.5)
    reading = rig.weigh()
    assert isinstance(reading, Reading) and reading.unit_raw == "lb"
    assert reading.grams == pytest.approx(907.18, abs=0.4 * 4 + 4.6)


# -- NCI -------------------------------------------------------------------------------------


def test_nci_status_zero_and_unknown_commands() -> None:
    rig = Rig("nci")
    rig.wait(1.0)
    (status,) = rig.ask(nci.encode_request_status())
    assert isinstance(status, Reply) and status.command == "status" and status.ok
    rig.model.set_pushing(True)
    rig.wait(0.5)
    (moving,) = rig.ask(nci.encode_request_status())
    assert isinstance(moving, Reading) and moving.status is ReadingStatus.MOTION
    (unknown,) = rig.ask(b"X\r")
    assert isinstance(unknown, Reply) and unknown.code == "?"
    (high,) = rig.ask(nci.encode_request_weight_high_resolution())
    assert isinstance(high, Reading) and high.raw.count(b".") == 1
    assert len(high.raw.split(b".")[1].split(b"kg")[0]) == 4


# -- A&D continuous --------------------------------------------------------------------------


def test_continuous_streams_and_takes_commands() -> None:
    rig = Rig("continuous")
    streamed = rig.wait(1.0)
    assert 9 <= len(streamed) <= 11
    assert all(isinstance(r, Reading) for r in streamed)
    (ack,) = rig.ask(continuous.encode_cancel())
    assert isinstance(ack, Reply) and ack.code == "ACK"
    assert rig.wait(1.0) == []
    (serial,) = rig.ask(continuous.encode_identify())
    assert serial == Reply("?SN", True, "A", "SIM0001", b"SN,SIM0001\r\n")
    (error,) = rig.ask(b"BOGUS\r\n")
    assert isinstance(error, Reply) and not error.ok and error.code == "E1"
    rig.ask(continuous.encode_stream_start())
    assert len(rig.wait(1.0)) >= 9


def test_continuous_tare_is_acknowledged_then_applied() -> None:
    rig = Rig("continuous")
    rig.model.put(420.0)
    rig.wait(2.5)
    (ack,) = rig.ask(continuous.encode_tare())
    assert isinstance(ack, Reply) and ack.code == "ACK"
    last = rig.wait(0.5)[-1]
    assert isinstance(last, Reading) and last.grams == pytest.approx(0.0, abs=TOLERANCE_G)


def test_front_panel_zero() -> None:
    rig = Rig("nci")
    rig.model.put(200.0)
    rig.wait(0.05)
    assert "moving" in rig.device.zero()
    rig.wait(2.5)
    assert rig.device.zero() == "zeroed"
    rig.model.put(5_000.0)
    rig.wait(2.5)
    assert "above the zero range" in rig.device.zero()
    assert "no zero" in Rig("cartboard").device.zero()


def test_device_options_are_checked() -> None:
    with pytest.raises(ValueError, match="unit"):
        DeviceOptions(unit="pieces")
    with pytest.raises(ValueError, match="serial"):
        DeviceOptions(serial_number='a "quoted" name')
    with pytest.raises(ValueError, match="decimals"):
        DeviceOptions(decimals=9)
    with pytest.raises(ValueError, match="stream_hz"):
        DeviceOptions(stream_hz=0.0)
