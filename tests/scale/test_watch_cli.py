"""``smartcart scale watch`` and ``scale calibrate`` against a board on a real pty."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cart_app.cli import main
from scale.calibration import DEFAULT_CALIBRATION, load_calibration
from scale.cli import run_calibration
from tests.scale.pty_peer import CartBoard, PtyPeer

REPO = Path(__file__).resolve().parents[2]


class ItemAfterConnect(CartBoard):
    """A board that gets an item once ``after`` samples went out since the host's identify.

    Counting samples instead of seconds keeps the scenario the same on a slow machine: the
    filter always has its baseline plateau before the item arrives.
    """

    def __init__(self, item_g: float, after: int = 80) -> None:
        super().__init__(0.0)
        self.item_g = item_g
        self.after = after
        self.sent_since_identify = 0

    def stream(self) -> bytes:
        if self.commands:
            self.sent_since_identify += 1
            if self.sent_since_identify >= self.after:
                self.grams = self.item_g
        return super().stream()


def test_watch_json_prints_state_and_one_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    board = ItemAfterConnect(250.0)
    peer = PtyPeer(board, tmp_path / "scale")
    try:
        code = main(
            [
                "scale",
                "watch",
                "--port",
                peer.url,
                "--protocol",
                "cartboard",
                "--json",
                "--duration",
                "3.5",
                "--settle-time",
                "0.2",
            ]
        )
    finally:
        peer.close()
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for record in lines:
        assert {"t", "kind", "delta_g", "total_g"} <= record.keys()
    states = [r["state"] for r in lines if r["kind"] == "state"]
    assert states[:2] == ["connecting", "ok"]
    changes = [r for r in lines if r["kind"] == "change"]
    assert len(changes) == 1
    assert changes[0]["delta_g"] == pytest.approx(250.0, abs=1.0)
    assert changes[0]["total_g"] == pytest.approx(250.0, abs=1.0)
    assert all(r["t"] >= 0 for r in lines)


def test_watch_on_a_missing_port_says_why_in_plain_text(tmp_path: Path) -> None:
    missing = tmp_path / "ttyUSB9"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cart_app.cli",
            "scale",
            "watch",
            "--port",
            str(missing),
            "--protocol",
            "mt-sics",
            "--duration",
            "0.5",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1  # never reached ok
    lines = result.stdout.splitlines()
    assert "state  connecting" in lines[0]
    assert "state  disconnected" in lines[1]
    assert str(missing) in lines[1] and "not found" in lines[1]


def test_watch_refuses_an_unreadable_calibration_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "cal.json"
    bad.write_text("{")
    args = ["scale", "watch", "--port", "loop://", "--protocol", "cartboard"]
    code = main([*args, "--calibration", str(bad), "--duration", "0.1"])
    assert code == 1
    assert str(bad) in capsys.readouterr().err


def test_calibrate_walks_staff_through_the_corners_and_writes_the_file(tmp_path: Path) -> None:
    board = CartBoard(0.0)
    peer = PtyPeer(board, tmp_path / "scale")
    spread = np.array(
        [
            [0.8, 0.1, 0.1, 0.0],
            [0.1, 0.8, 0.0, 0.1],
            [0.1, 0.0, 0.8, 0.1],
            [0.0, 0.1, 0.1, 0.8],
        ]
    )
    corners = ["front-left", "front-right", "rear-left", "rear-right"]
    prompts: list[str] = []

    def staff(prompt: str) -> str:
        """Do what the prompt says to the simulated basket, then press Enter."""
        prompts.append(prompt)
        corner = next((i for i, name in enumerate(corners) if f"{name} corner" in prompt), None)
        loads = np.zeros(4) if corner is None else 2000.0 * spread[corner]
        board.cell_grams = tuple(float(g) for g in loads)
        return ""

    output = tmp_path / "cal.json"
    args = argparse.Namespace(
        port=peer.url,
        protocol="cartboard",
        baudrate=None,
        calibration=None,
        wirelog=None,
        reference_g=2000.0,
        output=output,
        capture_s=0.2,
    )
    out = io.StringIO()
    try:
        code = run_calibration(args, ask=staff, out=out)
    finally:
        peer.close()
    assert code == 0, out.getvalue()
    assert prompts[0].startswith("Empty the basket")
    assert sum("corner" in p for p in prompts) >= 4
    cal = load_calibration(output)
    for got, true in zip(cal.cells, DEFAULT_CALIBRATION.cells, strict=True):
        assert got.zero_counts == pytest.approx(true.zero_counts, abs=1.0)
        assert got.counts_per_gram == pytest.approx(true.counts_per_gram, rel=1e-3)
    assert f"wrote {output}" in out.getvalue()


def test_calibrate_abandoned_writes_nothing(tmp_path: Path) -> None:
    board = CartBoard(0.0)
    peer = PtyPeer(board, tmp_path / "scale")

    def leaves(prompt: str) -> str:
        raise EOFError

    args = argparse.Namespace(
        port=peer.url,
        protocol="cartboard",
        baudrate=None,
        calibration=None,
        wirelog=None,
        reference_g=2000.0,
        output=tmp_path / "cal.json",
        capture_s=0.3,
    )
    out = io.StringIO()
    try:
        assert run_calibration(args, ask=leaves, out=out) == 1
    finally:
        peer.close()
    assert "nothing written" in out.getvalue()
    assert not (tmp_path / "cal.json").exists()
