"""A configured camera runs through the composition root: capture → gate → tracker → engine."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cart_app.app import CartApp
from cart_app.clock import SystemClock
from cart_app.config import load_config_text
from vision.types import Direction
from vision.worker import VisionWorker

pytestmark = pytest.mark.slow


def test_camera_item_reaches_the_tracker_and_no_webcam_falls_back(tmp_path: Path) -> None:
    loaded = load_config_text(
        f"[paths]\ndata_dir = '{tmp_path / 'data'}'\n"
        "[store]\nmode = 'embedded'\n[scale]\ndriver = 'none'\n"
        "[[cameras]]\nid = 'top'\nsource = 'synthetic:into'\nwidth = 320\nheight = 240\n"
        "[[cameras]]\nid = 'laptop'\nsource = 'webcam:97'\nwidth = 320\nheight = 240\n",
        source="t.toml",
        base_dir=tmp_path,
    )
    with CartApp.build(loaded, SystemClock()) as app:
        assert any("no webcam at /dev/video97" in w for w in app.warnings)
        worker = next(p for p in app.parts if isinstance(p, VisionWorker) and "top" in p.name)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not worker._tracker.finished:
            time.sleep(0.1)
        finished = list(worker._tracker.finished)
    assert finished, "the scripted item was never tracked to the end"
    assert finished[0].direction is Direction.INTO
    assert worker.frames_analysed < worker.frames_seen
