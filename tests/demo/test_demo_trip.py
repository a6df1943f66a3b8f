"""``smartcart demo`` end to end, as a newcomer runs it: a fresh process, the real pipeline
(rendered camera frames, simulated scale bytes, fusion, ledger, store server and exit lane),
the receipt checked line by line, and a screenshot of every step when a window can be drawn."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from cart_app.pricing import format_money
from vision.barcode import BarcodeReader

pytestmark = pytest.mark.slow

DEMO_TIMEOUT_S = 240
STEPS = 11
CAMERA_STEPS = 5  # asparagus in, yoghurts, bananas, the milk held up, asparagus out
BANANA_PER_KG_CENTS = 2990
BANANA_PUT_G = 642.0


def _row(left: str, cents: int) -> str:
    right = format_money(cents, "SEK")
    return f"{left}{' ' * max(1, 52 - len(left) - len(right))}{right}"


def expected_receipt(banana_kg: float) -> list[str]:
    """The paid receipt of the scripted trip; bananas are charged at what the scale settled on."""
    banana = round(banana_kg * BANANA_PER_KG_CENTS)
    total = 3 * 2495 + banana + 1695 - 2495 - 1000
    tax = round(total * 1200 / 11200)
    return [
        _row("3 × Yoghurt naturell 3 % 1 kg", 3 * 2495),
        _row(f"Bananer ekologiska {banana_kg:.3f} kg", banana),
        _row("1 × Mellanmjölk 1,5 % 1 l", 1695),
        _row("  3 för 2 på yoghurt 1 kg", -2495),
        _row("coupon DEMO10", -1000),
        "-" * 52,
        _row("TOTAL", total),
        _row(f"  tax food 12 % of {format_money(total, 'SEK')}", tax),
    ]


def _window_expected() -> bool:
    has_kivy = shutil.which("Xvfb") is not None or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    try:
        import kivy  # noqa: F401
    except ImportError:
        return False
    return has_kivy


def test_the_demo_trip_pays_the_right_receipt_and_photographs_each_step(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    run = subprocess.run(
        [sys.executable, "-m", "cart_app.cli", "demo", "--out", str(out), "--close"],
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    receipt = (out / "receipt.txt").read_text(encoding="utf-8").splitlines()
    assert re.fullmatch(r"session [0-9a-f]{32}  state done", receipt[0]), receipt[0]
    weighed = re.search(r"Bananer ekologiska (\d\.\d{3}) kg", "\n".join(receipt))
    assert weighed is not None, receipt
    banana_kg = float(weighed.group(1))
    assert abs(banana_kg * 1000 - BANANA_PUT_G) <= 3.0  # the scale's settled reading
    assert receipt[1:] == expected_receipt(banana_kg)
    assert f"receipt written to {out / 'receipt.txt'}" in run.stdout

    # What the basket camera saw of each item, as rendered frames of the demo camera.
    camera = sorted((out / "camera").glob("*.png"))
    assert len(camera) == CAMERA_STEPS, camera
    picture = cv2.imread(str(camera[0]))
    assert picture is not None and picture.shape == (480, 640, 3)

    shots = sorted((out / "screenshots").glob("*.png"))
    if not _window_expected():
        assert not shots
        return
    assert len(shots) == STEPS, run.stdout[-2000:]
    assert shots[0].name.startswith("01-shopper-taps-start")
    assert shots[-1].name.startswith("11-the-exit-lane")
    for shot in shots:
        image = cv2.imread(str(shot))
        assert image is not None and image.shape[0] >= 600 and image.std() > 5, shot
    assert f"{STEPS} screenshots of the touchscreen in {out / 'screenshots'}/" in run.stdout
    # The handoff screen shows the QR code the exit lane scanned: a signed basket token.
    handoff = next(shot for shot in shots if shot.name.startswith("10-"))
    screen = cv2.imread(str(handoff))
    assert screen is not None
    codes = BarcodeReader().read(screen.astype(np.uint8))
    assert [c.symbology for c in codes] == ["qr"], codes
    assert codes[0].text.startswith("SC1:")
