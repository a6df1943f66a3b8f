"""``smartcart scale-sim``: prints where it serves first, stops on ``--duration`` or ``quit``."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest
import serial

from cart_app.cli import build_parser
from cart_app.cli import main as smartcart_main
from scale.protocols import Reading, get_protocol
from scale.sim.cli import main

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 30.0


def test_the_core_cli_registers_scale_sim() -> None:
    args = build_parser().parse_args(
        ["scale-sim", "--protocol", "nci", "--tcp", "0", "--seed", "7", "--noise-g", "0.1"]
    )
    assert args.func.__module__ == "scale.sim.cli"
    assert (args.protocol, args.tcp, args.seed, args.noise_g) == ("nci", 0, 7, 0.1)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["scale-sim", "--protocol", "sartorius"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["scale-sim", "--protocol", "nci", "--pty", "--tcp", "1"])


def test_smartcart_scale_sim_prints_its_url_and_stops_after_the_duration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = smartcart_main(["scale-sim", "--protocol", "mt-sics", "--tcp", "0", "--duration", "0.3"])
    assert code == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("socket://127.0.0.1:")


def test_pty_url_and_a_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "trip.txt"
    script.write_text("at 0.05 put 250 g at front-left\nat 0.1 quit\n", encoding="utf-8")
    code = main(["--protocol", "cartboard", "--script", str(script), "--duration", "20"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.splitlines()[0].startswith("/dev/")
    assert "put item 1: 250 g at front-left" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--script", "{bad}"], "bad.txt:2: unknown command 'dance'"),
        (["--script", "{missing}"], "cannot read the script"),
        (["--noise-g", "-1"], "noise_g must be zero or more"),
        (["--unit", "pieces"], "not a mass unit"),
        (["--duration", "0"], "--duration must be positive"),
        (["--tcp", "0", "--link", "{link}"], "--link only applies to --pty"),
        (["--tcp", "70000"], "not a TCP port"),
    ],
)
def test_usage_errors(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("at 1 put 100\nat 2 dance\n", encoding="utf-8")
    paths = {"bad": bad, "missing": tmp_path / "missing.txt", "link": tmp_path / "link"}
    argv = [arg.format(**paths) for arg in argv]
    assert main(["--protocol", "nci", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


class Lines:
    """A child's stdout read on a thread, so that every read has a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put("")

    def next(self) -> str:
        try:
            return self._queue.get(timeout=DEADLINE_S).rstrip("\n")
        except queue.Empty:
            raise AssertionError("no output line before the deadline") from None


def test_a_busy_port_is_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["--protocol", "nci", "--tcp", str(port), "--duration", "5"]) == 1
    captured = capsys.readouterr()
    assert "cannot serve" in captured.err and captured.out == ""


def test_interactive_session_in_a_subprocess() -> None:
    """The real entry point: first line is the URL; commands on stdin; quit ends it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scale.sim", "--protocol", "mt-sics", "--tcp", "0", "--interactive"],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    lines = Lines(proc.stdout)
    try:
        url = lines.next()
        assert url.startswith("socket://127.0.0.1:")
        proc.stdin.write("put 500\n")
        proc.stdin.flush()
        assert lines.next() == "put item 1: 500 g at centre"
        proc.stdin.write("fly away\n")
        proc.stdin.flush()
        assert lines.next().startswith("error: unknown command 'fly away'")
        port = serial.serial_for_url(url, timeout=0.05)
        protocol = get_protocol("mt-sics")
        framer = protocol.new_framer()
        end = time.monotonic() + DEADLINE_S
        stable: Reading | None = None
        try:
            while stable is None and time.monotonic() < end:
                port.write(b"SI\r\n")
                for frame in framer.feed(port.read(4096)):
                    result = protocol.parse_frame(frame)
                    if isinstance(result, Reading) and result.stable:
                        stable = result
        finally:
            port.close()
        assert stable is not None and stable.grams == pytest.approx(500.0, abs=3.0)
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert lines.next() == "quit"
        assert proc.wait(DEADLINE_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()


def test_end_of_input_ends_an_interactive_session() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "scale.sim", "--protocol", "nci", "--tcp", "0", "--interactive"],
        cwd=REPO,
        env=env,
        input="put 100\nstatus\n",
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("socket://127.0.0.1:")
    assert lines[1] == "put item 1: 100 g at centre"
    assert "basket: item 1: 100 g at centre" in lines[2]
