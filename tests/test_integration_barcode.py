"""A product's barcode seen by a configured camera reaches the tracker through the real reader.

Frames are the project's own: the basket floor of the synthetic camera with a rendered EAN-13
label sliding in from the top edge, saved as an image folder and played by the composition root
(capture → motion gate → barcode reader → tracker → the engine's inbox).
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import pytest

from cart_app.cameras import build_cameras
from cart_app.config import load_config_text
from cart_app.events import Sensed
from vision.render import render_ean
from vision.synthetic import render_background
from vision.types import Direction, ItemObservation
from vision.worker import VisionWorker

pytestmark = pytest.mark.slow

GTIN = "7310865004703"  # a real-looking Swedish EAN-13 (check digit valid)
WIDTH, HEIGHT, FRAMES = 640, 480, 24


def _write_pass(folder: Path, code: str) -> None:
    """A label that comes in over the top edge and comes to rest low in the basket."""
    folder.mkdir()
    floor = render_background(WIDTH, HEIGHT, seed=3)
    label = cv2.cvtColor(render_ean("ean13", code, module_px=3), cv2.COLOR_GRAY2BGR)
    lh, lw = label.shape[:2]
    x = (WIDTH - lw) // 2
    rows = ["file,t"]
    for i in range(FRAMES):
        frame = floor[i % len(floor)].copy()
        progress = min(1.0, i / (FRAMES * 0.6))
        y = int(-lh + progress * (HEIGHT * 0.55 + lh))
        top, bottom = max(0, y), min(HEIGHT, y + lh)
        if bottom > top:
            frame[top:bottom, x : x + lw] = label[top - y : bottom - y]
        name = f"{i:04d}.png"
        cv2.imwrite(str(folder / name), frame)
        rows.append(f"{name},{i / 10:.3f}")
    # A quiet tail lets the motion gate settle and the tracker close the track.
    for j in range(FRAMES, FRAMES + 20):
        name = f"{j:04d}.png"
        cv2.imwrite(str(folder / name), frame)
        rows.append(f"{name},{j / 10:.3f}")
    (folder / "timestamps.csv").write_text("\n".join(rows) + "\n")


def test_barcode_of_an_item_going_in_is_read_and_voted(tmp_path: Path) -> None:
    _write_pass(tmp_path / "frames", GTIN)
    loaded = load_config_text(
        f"[paths]\ndata_dir = '{tmp_path / 'data'}'\n"
        "[store]\nmode = 'embedded'\n[scale]\ndriver = 'none'\n"
        f"[[cameras]]\nid = 'top'\nsource = 'folder:{tmp_path / 'frames'}'\n"
        f"width = {WIDTH}\nheight = {HEIGHT}\n",
        source="t.toml",
        base_dir=tmp_path,
    )
    sensed: list[Sensed] = []
    warnings: list[str] = []
    rig = build_cameras(loaded, tmp_path, sensed.append, warnings)
    assert rig.barcode_reader is not None
    worker = next(p for p in rig.parts if isinstance(p, VisionWorker))
    for part in rig.parts:
        part.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not worker._tracker.finished:
            time.sleep(0.1)
    finally:
        for part in reversed(rig.parts):
            part.stop()
    observations = [s.reading for s in sensed if isinstance(s.reading, ItemObservation)]
    assert observations, f"the label was never tracked ({warnings})"
    observation = observations[0]
    assert observation.direction is Direction.INTO
    assert observation.barcode is not None
    assert observation.barcode.gtin == "0" + GTIN
    assert 0.0 < observation.barcode.quality <= 1.0
