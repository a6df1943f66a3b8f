"""``smartcart record``, ``replay`` and ``simulate-trips`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cart_app.cli import main
from cart_app.sessions.format import load_session
from cart_app.sessions.replay import replay
from tests.sessions.conftest import small_catalog


def test_replay_writes_the_receipt_and_the_event_log(
    trip_batch: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    folder = trip_batch[1][1]
    out, events = tmp_path / "receipt.json", tmp_path / "events.jsonl"
    assert main(["replay", str(folder), "--out", str(out), "--events", str(events)]) == 0
    document = json.loads(out.read_text())
    assert document == json.loads(replay(load_session(folder)).receipt_text)
    kinds = {json.loads(line)["kind"] for line in events.read_text().splitlines()}
    assert {"weight", "observation", "input", "line_add", "ledger"} <= kinds


def test_replay_of_a_damaged_session_fails_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(tmp_path), "--out", str(tmp_path / "r.json")]) == 1
    assert "not a session folder" in capsys.readouterr().err


def test_simulate_trips_writes_sessions_that_load(tmp_path: Path) -> None:
    catalog = small_catalog(tmp_path)
    out = tmp_path / "trips"
    argv = [
        "simulate-trips",
        "--n",
        "1",
        "--seed",
        "5",
        "--out",
        str(out),
        "--max-items",
        "3",
        "--catalog",
        str(catalog),
    ]
    assert main(argv) == 0
    session = load_session(out / "trip-00000")
    assert session.meta.generator is not None and session.meta.generator.seed == 5


def test_record_then_replay(tmp_path: Path) -> None:
    config = tmp_path / "cart.toml"
    config.write_text(
        f"""
profile = "laptop"
[paths]
data_dir = "{tmp_path / "data"}"
[store]
mode = "embedded"
[ui]
enabled = false
[[cameras]]
id = "webcam"
source = "synthetic:into"
width = 320
height = 240
fps = 8.0
"""
    )
    folder = tmp_path / "session"
    argv = ["record", str(folder), "--config", str(config), "--headless", "--duration", "2.5"]
    assert main(argv) == 0
    session = load_session(folder)
    assert session.meta.kind == "recorded" and session.meta.complete
    assert session.wire and session.cameras[0].frames
    assert (folder / "receipt.json").is_file()
    result = replay(session)
    assert result.document["session_id"] == session.meta.session_id
    assert result.chunks > 0 and result.frames > 0
