"""The session format: what a session holds after writing, and the errors damaged ones give."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cart_app.domain import Coupon
from cart_app.events import ApplyCoupon, RequestCheckout, Sensed, StartSession
from cart_app.sessions.format import (
    FORMAT_VERSION,
    META_FILE,
    SessionError,
    load_session,
    read_meta,
    write_meta,
)
from cart_app.sessions.inputs import (
    AnswerInput,
    CheckoutInput,
    CouponInput,
    ScanInput,
    StartInput,
    encode_input,
    from_engine,
    parse_input,
    read_inputs,
    to_engine,
)
from cart_app.sessions.truth import read_truth
from scale.wirelog import Direction
from tests.sessions.conftest import SEED
from vision.types import BarcodeRead


def test_a_generated_trip_loads_with_all_its_streams(trip_batch: tuple[Path, list[Path]]) -> None:
    _, folders = trip_batch
    session = load_session(folders[0])
    meta = session.meta
    assert meta.kind == "generated" and meta.complete
    assert meta.format_version == FORMAT_VERSION
    assert meta.generator is not None and meta.generator.seed == SEED
    assert session.gallery_path is not None and session.gallery_path.is_file()
    (camera,) = session.cameras
    times = [t for _, t in camera.frames]
    assert times == sorted(times) and len(times) > 20
    assert all(path.is_file() for path, _ in camera.frames)
    assert session.wire[0].direction is Direction.TX  # the identify probe
    assert all(meta.t_start <= e.t <= meta.t_end for e in session.wire)
    inputs = read_inputs(session.path(meta.inputs))
    assert isinstance(inputs[0], StartInput) and isinstance(inputs[-1], CheckoutInput)
    truth = read_truth(session.path(meta.truth or ""))
    assert truth.actions and truth.items_handled > 0


def test_metadata_round_trips(trip_copy: Path) -> None:
    meta = read_meta(trip_copy)
    write_meta(trip_copy, meta.model_copy(update={"session_id": "renamed"}))
    assert read_meta(trip_copy).session_id == "renamed"
    assert read_meta(trip_copy).model_copy(update={"session_id": meta.session_id}) == meta


@pytest.mark.parametrize(
    "item",
    [
        StartInput(kind="start", t=1.0, session_id="s1"),
        AnswerInput(kind="answer", t=2.5, answer="D-MILK-STD*2", prompt_reason="ambiguous_item"),
        ScanInput(
            kind="scan", t=3.0, symbology="ean13", text="7350999000103", gtin="07350999000103"
        ),
        CheckoutInput(kind="checkout", t=4.0),
        CouponInput(kind="coupon", t=5.0, code="DEMO10", amount_off_cents=1000),
    ],
)
def test_inputs_round_trip(item: object) -> None:
    line = encode_input(item)  # type: ignore[arg-type]
    assert parse_input(line) == item


def test_engine_inputs_are_recorded_and_replayed_as_the_same_commands() -> None:
    scan = Sensed(BarcodeRead("ean13", "7350999000103", "07350999000103", 1.0))
    for command in (
        StartSession("s9", "shopper"),
        RequestCheckout(),
        scan,
        ApplyCoupon(Coupon("X", amount_off_cents=100)),
    ):
        recorded = from_engine(7.0, command)
        assert recorded is not None
        assert to_engine(recorded) == command


def _edit_meta(folder: Path, **changes: object) -> None:
    path = folder / META_FILE
    raw = json.loads(path.read_text())
    raw.update(changes)
    path.write_text(json.dumps(raw))


def _error(folder: Path) -> str:
    with pytest.raises(SessionError) as info:
        load_session(folder)
    return str(info.value)


def test_a_folder_without_metadata_is_not_a_session(tmp_path: Path) -> None:
    assert "not a session folder" in _error(tmp_path)


def test_metadata_that_is_not_json(trip_copy: Path) -> None:
    (trip_copy / META_FILE).write_text("{ not json")
    assert "not JSON" in _error(trip_copy)


def test_a_newer_format_is_refused(trip_copy: Path) -> None:
    _edit_meta(trip_copy, format_version=FORMAT_VERSION + 1)
    assert "newer smartcart" in _error(trip_copy)


def test_missing_fields_are_named(trip_copy: Path) -> None:
    path = trip_copy / META_FILE
    raw = json.loads(path.read_text())
    del raw["catalog"]
    path.write_text(json.dumps(raw))
    assert "catalog" in _error(trip_copy)


def test_an_unfinished_recording_needs_allow_partial(trip_copy: Path) -> None:
    _edit_meta(trip_copy, complete=False)
    assert "--allow-partial" in _error(trip_copy)
    assert not load_session(trip_copy, allow_partial=True).meta.complete


def test_a_changed_catalog_is_caught_by_its_checksum(trip_copy: Path) -> None:
    with (trip_copy / "catalog.json").open("a") as fh:
        fh.write(" ")
    assert "sha256" in _error(trip_copy)


def test_a_missing_frame_is_named_with_its_line(trip_copy: Path) -> None:
    frame = sorted((trip_copy / "cameras" / "basket").glob("*.jpg"))[3]
    frame.unlink()
    message = _error(trip_copy)
    assert frame.name in message and "timestamps.csv:5" in message


def test_frame_times_must_not_go_backwards(trip_copy: Path) -> None:
    csv_path = trip_copy / "cameras" / "basket" / "timestamps.csv"
    lines = csv_path.read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    csv_path.write_text("\n".join(lines) + "\n")
    assert "goes backwards" in _error(trip_copy)


def test_a_damaged_wire_log_line_is_named(trip_copy: Path) -> None:
    wire = trip_copy / "scale.wire"
    lines = wire.read_text().splitlines()
    lines[10] = "12.5 rx not-a-quoted-chunk"
    wire.write_text("\n".join(lines) + "\n")
    assert "scale.wire:11" in _error(trip_copy)


def test_a_truncated_wire_log_still_loads(trip_copy: Path) -> None:
    # A recording cut by a power failure ends mid-stream; every full line is still good.
    wire = trip_copy / "scale.wire"
    lines = wire.read_text().splitlines()
    wire.write_text("\n".join(lines[: len(lines) // 2]) + "\n")
    assert load_session(trip_copy).wire


def test_a_bad_input_line_is_named(trip_copy: Path) -> None:
    inputs = trip_copy / "inputs.jsonl"
    inputs.write_text(inputs.read_text() + '{"t": 5.0, "kind": "dance"}\n')
    with pytest.raises(SessionError, match=r"inputs.jsonl:\d+"):
        read_inputs(inputs)
