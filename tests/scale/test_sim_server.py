"""The simulator served over a real pty pair and a real TCP port, read with pyserial.

These run in real time. They wait on conditions with generous deadlines and never assert on
how long anything took, so a loaded machine makes them slower, not flaky.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import serial

from scale.calibration import DEFAULT_CALIBRATION
from scale.protocols import CellFrame, ParseResult, Reading, Reply, get_protocol
from scale.sim.device import make_device
from scale.sim.device_base import DeviceOptions, SimDevice
from scale.sim.physics import POSITIONS, BasketModel, BasketParams
from scale.sim.pty_transport import PtyTransport
from scale.sim.script import Push, Put, Quit, Remove, Take, Zero, parse_script
from scale.sim.server import SimServer, start_simulator, transport_for_url
from scale.sim.tcp_transport import TcpTransport

# A quick-settling basket keeps the real-time waits short.
PARAMS = BasketParams(
    noise_g=0.3, spike_rate_hz=0.0, drift_g=0.0, settle_s=0.1, motion_window_s=0.15
)
DEADLINE_S = 15.0


class Client:
    """A host on the other end: pyserial, the production framer and parser."""

    def __init__(self, port: serial.SerialBase, protocol: str) -> None:
        self.port = port
        self.protocol = get_protocol(protocol)
        self.framer = self.protocol.new_framer()

    def close(self) -> None:
        self.port.close()

    def read(self) -> list[ParseResult]:
        # Whatever arrives within the port's short timeout (socket:// has no in_waiting count).
        data = self.port.read(4096)
        return [self.protocol.parse_frame(frame) for frame in self.framer.feed(data)]

    def until(
        self,
        done: Callable[[ParseResult], bool],
        request: bytes = b"",
        deadline_s: float = DEADLINE_S,
    ) -> ParseResult:
        """Read (sending ``request`` now and then) until a result satisfies ``done``."""
        end = time.monotonic() + deadline_s
        last_request = 0.0
        while time.monotonic() < end:
            if request and time.monotonic() - last_request > 0.1:
                self.port.write(request)
                last_request = time.monotonic()
            for result in self.read():
                if done(result):
                    return result
        raise AssertionError("no matching frame before the deadline")


def tcp_client(url: str, protocol: str) -> Client:
    """Open ``socket://...`` as the cart does."""
    return Client(serial.serial_for_url(url, timeout=0.05), protocol)


def pty_client(path: str, protocol: str) -> Client:
    """Open the pty's slave path as a serial device, flushing what was sent before."""
    line = get_protocol(protocol).serial
    port = serial.Serial(
        path,
        baudrate=line.baudrate,
        bytesize=line.bytesize,
        parity=line.parity,
        stopbits=line.stopbits,
        timeout=0.05,
    )
    port.reset_input_buffer()
    return Client(port, protocol)


def quiet_device(protocol: str) -> SimDevice:
    return make_device(protocol, BasketModel(PARAMS, seed=0), DeviceOptions())


def stable_near(grams: float, tolerance: float = 2.0) -> Callable[[ParseResult], bool]:
    def check(result: ParseResult) -> bool:
        return (
            isinstance(result, Reading)
            and result.stable
            and result.grams is not None
            and abs(result.grams - grams) <= tolerance
        )

    return check


def calibrated_near(grams: float, tolerance: float = 2.0) -> Callable[[ParseResult], bool]:
    def check(result: ParseResult) -> bool:
        if not isinstance(result, CellFrame) or not result.checksum_ok:
            return False
        total = DEFAULT_CALIBRATION.grams(result.counts)
        return total is not None and abs(total - grams) <= tolerance

    return check


def wait_for(condition: Callable[[], bool], deadline_s: float = DEADLINE_S) -> None:
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.01)


def disconnected(client: Client) -> Callable[[], bool]:
    """Whether the host's next read reports the line gone."""

    def check() -> bool:
        try:
            client.read()
        except (serial.SerialException, OSError):
            return True
        return False

    return check


@pytest.fixture
def servers() -> Iterator[list[SimServer]]:
    started: list[SimServer] = []
    yield started
    for server in started:
        server.stop()


def test_tcp_mt_sics_round_trip(servers: list[SimServer]) -> None:
    server = start_simulator("mt-sics", url="socket://127.0.0.1:0", params=PARAMS, seed=1)
    servers.append(server)
    assert server.url.startswith("socket://127.0.0.1:")
    client = tcp_client(server.url, "mt-sics")
    try:
        assert server.submit(Put(500.0)).result(5) == "put item 1: 500 g at centre"
        reading = client.until(stable_near(500.0), request=b"SI\r\n")
        assert isinstance(reading, Reading)
        identify = client.until(lambda r: isinstance(r, Reply), request=b"I4\r\n")
        assert identify == Reply("I4", True, "A", "SIM0001", b'I4 A "SIM0001"\r\n')
    finally:
        client.close()


def test_tcp_serves_one_client_at_a_time_and_survives_disconnects(
    servers: list[SimServer],
) -> None:
    server = start_simulator("continuous", url="socket://127.0.0.1:0", params=PARAMS, seed=2)
    servers.append(server)
    first = tcp_client(server.url, "continuous")
    first.until(lambda r: isinstance(r, Reading))
    first.close()
    # A new client after the first hung up gets the stream.
    second = tcp_client(server.url, "continuous")
    second.until(lambda r: isinstance(r, Reading))
    # A third replaces the second, as a host reconnecting after an error would.
    third = tcp_client(server.url, "continuous")
    try:
        server.submit(Put(250.0)).result(5)
        third.until(stable_near(250.0))
        wait_for(disconnected(second))
    finally:
        second.close()
        third.close()
    assert isinstance(server.transport, TcpTransport)
    assert server.transport.connections == 3


def test_pty_cart_board_stream(servers: list[SimServer]) -> None:
    server = start_simulator("cartboard", params=PARAMS, seed=3)
    servers.append(server)
    assert server.url.startswith("/dev/")
    client = pty_client(server.url, "cartboard")
    try:
        client.until(calibrated_near(0.0))
        server.submit(Put(800.0, POSITIONS["rear-right"])).result(5)
        frame = client.until(calibrated_near(800.0))
        assert isinstance(frame, CellFrame)
        answer = client.until(lambda r: isinstance(r, Reply), request=b"I4\r\n")
        assert isinstance(answer, Reply) and answer.text == "SIM0001"
        # The stream keeps its sequence across the answer.
        frames = [client.until(lambda r: isinstance(r, CellFrame)) for _ in range(3)]
        seqs = [f.seq for f in frames if isinstance(f, CellFrame)]
        assert seqs[1] - seqs[0] >= 1 and seqs[2] - seqs[1] >= 1
    finally:
        client.close()


def test_pty_unplug_and_replug_keep_the_link(servers: list[SimServer], tmp_path: Path) -> None:
    link = tmp_path / "ttySCALE"
    server = start_simulator("nci", url=str(link), params=PARAMS, seed=4)
    servers.append(server)
    assert server.url == str(link) and link.is_symlink()
    client = pty_client(str(link), "nci")
    client.until(lambda r: isinstance(r, Reading), request=b"W\r")
    server.unplug()
    assert not link.exists()
    wait_for(disconnected(client))
    client.close()
    assert server.replug() == str(link)
    assert link.is_symlink()
    again = pty_client(str(link), "nci")
    try:
        server.submit(Put(1000.0)).result(5)
        again.until(stable_near(1000.0), request=b"W\r")
    finally:
        again.close()


def test_tcp_unplug_refuses_connections_until_replugged(servers: list[SimServer]) -> None:
    server = start_simulator("toledo-8217", url="socket://127.0.0.1:0", params=PARAMS, seed=5)
    servers.append(server)
    url = server.url
    port_number = int(url.rsplit(":", 1)[1])
    client = tcp_client(url, "toledo-8217")
    client.until(lambda r: isinstance(r, (Reading, Reply)), request=b"W")
    server.unplug()
    wait_for(disconnected(client))
    client.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port_number), timeout=2).close()
    assert server.replug() == url
    again = tcp_client(url, "toledo-8217")
    try:
        server.submit(Put(1500.0)).result(5)
        again.until(stable_near(1500.0), request=b"W")
    finally:
        again.close()


def test_a_script_drives_the_server_and_quit_ends_it() -> None:
    script = parse_script(
        "at 0.1 put 300\nat 0.2 put 200 at front\nat 0.3 push 0.2s\nat 0.4 take item 1\n"
        "at 0.5 take 200\nat 0.6 quit\n"
    )
    messages: list[str] = []
    server = SimServer(
        quiet_device("mt-sics"),
        TcpTransport(0),
        script=script,
        on_event=messages.append,
    )
    server.start()
    try:
        assert server.finished.wait(DEADLINE_S)
        assert server.script_done.is_set()
    finally:
        server.stop()
    assert [m.split(" ", 1)[1] for m in messages] == [
        "put item 1: 300 g at centre",
        "put item 2: 200 g at front",
        "push for 0.2 s",
        "took item 1: 300 g at centre",
        "took item 2: 200 g at front",
        "quit",
    ]
    assert server.error is None
    assert not server.transport.is_open


def test_commands_report_errors_and_stop_is_bounded() -> None:
    server = SimServer(quiet_device("nci"), PtyTransport())
    server.start()
    try:
        with pytest.raises(ValueError, match="no item of 999 g"):
            server.submit(Take(999.0)).result(5)
        with pytest.raises(ValueError, match="no item 4"):
            server.submit(Remove(4)).result(5)
        assert server.submit(Push(True)).result(5) == "push on"
        wait_for(lambda: not server.state.settled)
        assert "moving" in server.submit(Zero()).result(5)
        assert server.submit(Quit()).result(5) == "quit"
        assert server.finished.wait(DEADLINE_S)
    finally:
        server.stop(timeout=5)
    assert server.finished.is_set()
    assert not server.transport.is_open
    with pytest.raises(RuntimeError, match="not running"):
        server.submit(Put(1.0)).result(5)


def test_the_server_refuses_a_second_start() -> None:
    server = SimServer(quiet_device("cartboard"), TcpTransport(0))
    with server:
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
        assert server.state.t >= 0.0
    assert server.finished.is_set()


def test_transport_for_url() -> None:
    assert isinstance(transport_for_url(""), PtyTransport)
    linked = transport_for_url("/tmp/ttySCALE")
    assert isinstance(linked, PtyTransport) and linked.link == Path("/tmp/ttySCALE")
    tcp = transport_for_url("socket://localhost:4001")
    assert isinstance(tcp, TcpTransport) and tcp.url == "socket://127.0.0.1:4001"
    for bad in ("socket://0.0.0.0:4001", "socket://127.0.0.1", "rfc2217://127.0.0.1:1"):
        with pytest.raises(ValueError):
            transport_for_url(bad)
    with pytest.raises(ValueError, match="not a TCP port"):
        transport_for_url("socket://127.0.0.1:70000")
