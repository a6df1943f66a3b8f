"""The serial link, the wire log and auto-detection, through real ptys and sockets."""

from __future__ import annotations

import contextlib
import os
import socket
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest
from serial.tools.list_ports_common import ListPortInfo

from scale.autodetect import Candidate, UsbId, candidate_ports, detect, probe
from scale.protocols import get_protocol
from scale.protocols.base import SerialSettings
from scale.transport import (
    Link,
    LinkOptions,
    ScalePortError,
    ScaleUnplugged,
    is_local_device,
    open_port,
)
from scale.wirelog import Direction, WireEntry, WireLog, escape, read_wirelog, unescape
from tests.scale.pty_peer import CartBoard, MtSicsBalance, PtyPeer, wait_until

OPTIONS = LinkOptions(SerialSettings(115200), read_timeout_s=0.05)


@pytest.fixture
def pty() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    tty.setraw(slave)
    name = os.ttyname(slave)
    yield master, name
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


def read_until(link: Link, wanted: bytes) -> bytes:
    got = bytearray()

    def arrived() -> bool:
        got.extend(link.read())
        return wanted in got

    wait_until(arrived, f"{wanted!r}")
    return bytes(got)


def test_open_reads_and_writes_through_a_real_pty(pty: tuple[int, str]) -> None:
    master, name = pty
    port = open_port(name, OPTIONS)
    link = Link(port, name, clock=lambda: 0.0)
    try:
        os.write(master, b"$W,1,2,3,4,5*00\r\n")
        assert b"$W,1" in read_until(link, b"\n")
        link.write(b"I4\r\n")
        assert os.read(master, 100) == b"I4\r\n"
        assert link.bytes_out == 4
    finally:
        link.close()


def test_input_sent_before_the_open_is_flushed(pty: tuple[int, str]) -> None:
    master, name = pty
    os.write(master, b"stale half line from before")
    port = open_port(name, OPTIONS)
    try:
        os.write(master, b"fresh\n")
        link = Link(port, name, clock=lambda: 0.0)
        assert read_until(link, b"\n") == b"fresh\n"
    finally:
        port.close()


def test_a_second_open_of_the_same_device_is_refused_as_busy(pty: tuple[int, str]) -> None:
    _, name = pty
    port = open_port(name, OPTIONS)
    try:
        with pytest.raises(ScalePortError, match="busy") as info:
            open_port(name, OPTIONS)
        assert name in str(info.value)
    finally:
        port.close()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/dev/does-not-exist-scale", "not found"),
        ("nosuch://x", "invalid port"),
        ("", "no port configured"),
    ],
)
def test_open_failures_name_the_port_and_the_reason(url: str, words: str) -> None:
    with pytest.raises(ScalePortError, match=words) as info:
        open_port(url, OPTIONS)
    assert url in str(info.value)
    assert not isinstance(info.value, ScaleUnplugged)


def test_a_refused_tcp_connection_says_so() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    with pytest.raises(ScalePortError, match="refused"):
        open_port(f"socket://127.0.0.1:{free_port}", OPTIONS)


def test_unplug_on_read_is_scale_unplugged_with_pyserial_s_words(pty: tuple[int, str]) -> None:
    master, name = pty
    link = Link(open_port(name, OPTIONS), name, clock=lambda: 0.0)
    os.close(master)
    with pytest.raises(ScaleUnplugged, match="device gone") as info:
        for _ in range(100):
            link.read()
    assert name in str(info.value)
    link.close()


def test_eio_on_write_is_scale_unplugged(pty: tuple[int, str]) -> None:
    master, name = pty
    link = Link(open_port(name, OPTIONS), name, clock=lambda: 0.0)
    os.close(master)
    with pytest.raises(ScaleUnplugged, match="write failed"):
        link.write(b"SI\r\n")
    link.close()


def test_loop_url_round_trips_and_is_not_locked() -> None:
    assert not is_local_device("loop://")
    assert not is_local_device("socket://h:1")
    assert is_local_device("/dev/serial/by-id/usb-FTDI-if00")
    link = Link(open_port("loop://", OPTIONS), "loop://", clock=lambda: 0.0)
    link.write(b"S S 1.00 g\r\n")
    assert read_until(link, b"\n") == b"S S 1.00 g\r\n"
    link.close()


# ------------------------------------------------------------------------------- wire log


def test_wirelog_records_only_while_on_and_keeps_the_last_entries(tmp_path: Path) -> None:
    wl = WireLog(capacity=3)
    wl.record(1.0, Direction.RX, b"ignored while off")
    wl.enable()
    for i in range(5):
        wl.record(float(i), Direction.RX, bytes([i]))
    assert [e.data for e in wl.entries()] == [b"\x02", b"\x03", b"\x04"]
    wl.disable()
    wl.record(9.0, Direction.TX, b"off again")
    assert len(wl.entries()) == 3


def test_wirelog_file_round_trips_every_byte_value(tmp_path: Path) -> None:
    path = tmp_path / "wire.log"
    wl = WireLog()
    wl.enable(path)
    data = bytes(range(256)) + b'"quoted" \\ back'
    wl.record(12.5, Direction.RX, data)
    wl.record(12.75, Direction.TX, b"SI\r\n")
    wl.disable()
    assert read_wirelog(path) == [
        WireEntry(12.5, Direction.RX, data),
        WireEntry(12.75, Direction.TX, b"SI\r\n"),
    ]
    assert unescape(escape(b"\r\n")) == b"\r\n"
    assert escape(b"SI\r\n") == '"SI\\r\\n"'


def test_wirelog_file_is_bounded_by_rotation(tmp_path: Path) -> None:
    path = tmp_path / "wire.log"
    wl = WireLog(max_file_bytes=200)
    wl.enable(path)
    for i in range(50):
        wl.record(float(i), Direction.RX, b"$W,1,2,3,4,5*00\r\n")
    wl.disable()
    assert path.stat().st_size <= 200
    assert (tmp_path / "wire.log.1").stat().st_size <= 200


def test_link_feeds_the_wirelog(pty: tuple[int, str]) -> None:
    master, name = pty
    wl = WireLog()
    wl.enable()
    link = Link(open_port(name, OPTIONS), name, wirelog=wl, clock=lambda: 7.0)
    os.write(master, b"abc\n")
    read_until(link, b"\n")
    link.write(b"I4\r\n")
    link.close()
    assert [(e.direction, e.data) for e in wl.entries()] == [
        (Direction.RX, b"abc\n"),
        (Direction.TX, b"I4\r\n"),
    ]


# ------------------------------------------------------------------------------ autodetect


def port_info(device: str, vid: int | None, pid: int | None) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid = vid, pid
    return info


def test_usb_id_parsing() -> None:
    assert UsbId.parse("0403:6001") == UsbId(0x0403, 0x6001)
    assert str(UsbId(0x0403, 0x6001)) == "0403:6001"
    for bad in ("0403", "xyz:1", "10000:1"):
        with pytest.raises(ValueError, match="USB id"):
            UsbId.parse(bad)


def test_candidates_are_only_ports_with_a_configured_usb_id(tmp_path: Path) -> None:
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    (by_id / "usb-FTDI_FT232R_A1-if00-port0").symlink_to("/dev/ttyUSB1")
    ports = [
        port_info("/dev/ttyS0", None, None),
        port_info("/dev/ttyUSB0", 0x10C4, 0xEA60),
        port_info("/dev/ttyUSB1", 0x0403, 0x6001),
    ]
    found = candidate_ports([UsbId(0x0403, 0x6001)], comports=lambda: ports, by_id_dir=by_id)
    assert [c.url for c in found] == [str(by_id / "usb-FTDI_FT232R_A1-if00-port0")]
    assert found[0].device == "/dev/ttyUSB1"


def test_detect_never_writes_to_a_port_whose_usb_id_does_not_match(tmp_path: Path) -> None:
    balance = MtSicsBalance(100.0)
    other = PtyPeer(balance, tmp_path / "other")
    try:
        ports = [port_info(other.url, 0x10C4, 0xEA60)]
        result = detect(
            [UsbId(0x0403, 0x6001)],
            get_protocol("mt-sics"),
            comports=lambda: ports,
            by_id_dir=tmp_path,
        )
        assert result is None
        assert bytes(other.pump.received) == b""
    finally:
        other.close()


def test_probe_hears_a_streaming_board_without_writing(tmp_path: Path) -> None:
    board = CartBoard(0.0)
    peer = PtyPeer(board, tmp_path / "board")
    try:
        candidate = Candidate(peer.url, peer.url, UsbId(1, 2), None, "test")
        result = probe(candidate, get_protocol("cartboard"), listen_s=3.0)
        assert result.ok and result.how == "listened"
        assert bytes(peer.pump.received) == b""
    finally:
        peer.close()


def test_probe_asks_a_silent_balance_for_its_identity(tmp_path: Path) -> None:
    balance = MtSicsBalance(0.0, serial="B0815")
    peer = PtyPeer(balance, tmp_path / "balance")
    try:
        candidate = Candidate(peer.url, peer.url, UsbId(1, 2), None, "test")
        result = probe(candidate, get_protocol("mt-sics"), listen_s=0.2, answer_timeout_s=5.0)
        assert (result.ok, result.how, result.device_id) == (True, "identify", "B0815")
        assert balance.commands == [b"I4\r\n"]  # the probe asked nothing else
    finally:
        peer.close()


def test_probe_of_a_missing_port_fails_cleanly(tmp_path: Path) -> None:
    url = str(tmp_path / "gone")
    result = probe(Candidate(url, url, UsbId(1, 2), None, ""), get_protocol("cartboard"))
    assert not result.ok
    assert "not found" in result.detail
