"""Tracking: direction of travel across the basket opening, and the vote over a track's frames."""

from __future__ import annotations

import cv2
import pytest

from vision.motion import Blob, MotionGate, MotionResult
from vision.sources import as_image
from vision.synthetic import SyntheticSource, scene
from vision.tracking import (
    EntryEdge,
    ItemTracker,
    TrackerSettings,
    TrackPoint,
    classify,
    depth,
    iou,
    vote_barcode,
    vote_candidates,
)
from vision.types import BarcodeRead, Candidate, Direction, ItemObservation

W, H = 320, 240

# --- end to end on synthetic scenes ----------------------------------------------------------


def observe(
    name: str,
    *,
    rotate: int | None = None,
    edge: EntryEdge = "top",
    seed: int = 0,
) -> list[ItemObservation]:
    """Run a synthetic scene through the motion gate and the tracker."""
    source = SyntheticSource(scene(name), width=W, height=H, loop=False, seed=seed)
    gate = MotionGate()
    tracker = ItemTracker("cam", TrackerSettings(entry_edge=edge))
    source.open()
    observations = []
    while (raw := source.read()) is not None:
        assert raw.media_t is not None
        image = raw.image if rotate is None else as_image(cv2.rotate(raw.image, rotate))
        observations += tracker.update(gate.update(image, raw.media_t))
    return observations + tracker.flush()


@pytest.mark.parametrize(
    ("name", "directions"),
    [
        ("into", [Direction.INTO]),
        ("out_of", [Direction.OUT_OF]),
        ("held", [Direction.HELD]),
        ("in_and_out", [Direction.INTO, Direction.OUT_OF]),
        ("demo", [Direction.INTO, Direction.HELD, Direction.OUT_OF]),
        ("idle", []),
    ],
)
def test_direction_of_scripted_scenes(name: str, directions: list[Direction]) -> None:
    observations = observe(name)
    assert [o.direction for o in observations] == directions
    assert [o.track_id for o in observations] == sorted({o.track_id for o in observations})
    assert all(o.camera_id == "cam" for o in observations)


@pytest.mark.parametrize(
    ("rotate", "edge"),
    [
        (cv2.ROTATE_180, "bottom"),
        (cv2.ROTATE_90_CLOCKWISE, "right"),
        (cv2.ROTATE_90_COUNTERCLOCKWISE, "left"),
    ],
)
@pytest.mark.parametrize("name", ["into", "out_of", "held"])
def test_direction_with_other_entry_edges(rotate: int, edge: EntryEdge, name: str) -> None:
    # The same scene turned round: items now come in over another edge of the frame.
    (observation,) = observe(name, rotate=rotate, edge=edge)
    assert observation.direction == Direction(name)


def test_the_wrong_entry_edge_reverses_the_verdict() -> None:
    (into_seen_from_below,) = observe("into", edge="bottom")
    assert into_seen_from_below.direction is Direction.OUT_OF


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_verdicts_do_not_depend_on_sensor_noise(seed: int) -> None:
    assert [o.direction for o in observe("demo", seed=seed)] == [
        Direction.INTO,
        Direction.HELD,
        Direction.OUT_OF,
    ]


def test_tracking_is_deterministic() -> None:
    assert observe("demo") == observe("demo")


def test_an_item_put_down_is_stamped_when_it_came_to_rest() -> None:
    into, _ = observe("in_and_out")
    item = scene("in_and_out").items[0]
    arrived = item.start_s + item.duration_s
    assert arrived - 0.3 <= into.t <= arrived + 0.3


# --- classification of a finished track ---------------------------------------------------------


def path(depths: list[float], dt: float = 1 / 15, x: float = 0.5) -> list[TrackPoint]:
    """A track straight down the middle with these depths (top entry edge)."""
    return [
        TrackPoint(i * dt, (x - 0.1, d - 0.1, 0.2, 0.2), (x, d), True) for i, d in enumerate(depths)
    ]


@pytest.mark.parametrize(
    ("depths", "dt", "direction"),
    [
        ([0.05, 0.15, 0.3, 0.45, 0.6, 0.7], 1 / 15, Direction.INTO),
        ([0.7, 0.6, 0.45, 0.3, 0.15, 0.05], 1 / 15, Direction.OUT_OF),
        ([0.3, 0.4, 0.55, 0.6], 1 / 15, Direction.INTO),  # woke late, still crossed the line
        ([0.05, 0.2, 0.3, 0.3, 0.3, 0.2, 0.05], 0.2, Direction.HELD),  # lingered 1.2 s
        ([0.05, 0.2, 0.3, 0.2, 0.05], 1 / 15, Direction.UNKNOWN),  # a quick wave
        ([0.1, 0.2, 0.3, 0.4], 1 / 15, Direction.UNKNOWN),  # never crossed the line
        ([0.6, 0.7, 0.8, 0.9], 1 / 15, Direction.UNKNOWN),  # moving about inside
        ([0.6, 0.7, 0.8, 0.9], 0.5, Direction.HELD),
        ([0.05, 0.1, 0.9, 0.15, 0.2, 0.3, 0.6, 0.7, 0.65], 1 / 15, Direction.INTO),  # one outlier
    ],
)
def test_classify(depths: list[float], dt: float, direction: Direction) -> None:
    assert classify(path(depths, dt), TrackerSettings()).direction is direction


def test_classify_honours_inside_line_and_min_travel() -> None:
    shallow = path([0.05, 0.15, 0.25, 0.35])
    assert classify(shallow, TrackerSettings()).direction is Direction.UNKNOWN
    assert classify(shallow, TrackerSettings(inside_line=0.3)).direction is Direction.INTO
    assert (
        classify(shallow, TrackerSettings(inside_line=0.3, min_travel=0.4)).direction
        is Direction.UNKNOWN
    )


@pytest.mark.parametrize(
    ("edge", "point", "expected"),
    [("top", (0.2, 0.7), 0.7), ("bottom", (0.2, 0.7), 0.3), ("left", (0.2, 0.7), 0.2),
     ("right", (0.2, 0.7), 0.8)],
)  # fmt: skip
def test_depth(edge: EntryEdge, point: tuple[float, float], expected: float) -> None:
    assert depth(point, edge) == pytest.approx(expected)


def test_iou() -> None:
    assert iou((0, 0, 1, 1), (0, 0, 1, 1)) == 1.0
    assert iou((0, 0, 0.5, 0.5), (0.5, 0.5, 0.5, 0.5)) == 0.0
    assert iou((0, 0, 0.5, 1), (0.25, 0, 0.5, 1)) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "kwargs",
    [{"entry_edge": "front"}, {"inside_line": 1.0}, {"inside_line": 0.0}, {"min_frames": 0},
     {"barcode_agreement_frames": 0}, {"max_gap_s": 0.0}, {"max_track_s": 0.2}],
)  # fmt: skip
def test_tracker_settings_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # each case has its own message
        TrackerSettings(**kwargs)  # type: ignore[arg-type]


# --- the tracker on hand-made blobs ------------------------------------------------------------


def blob(cx: float, cy: float, size: float = 0.2, moving: float = 0.5) -> Blob:
    return Blob((cx - size / 2, cy - size / 2, size, size), (cx, cy), size * size, moving)


def motion(t: float, *blobs: Blob, awake: bool = True) -> MotionResult:
    return MotionResult(t, 0.1 if blobs else 0.0, awake, blobs=tuple(blobs))


def feed(
    tracker: ItemTracker, frames: list[MotionResult], **extra: object
) -> list[ItemObservation]:
    out = []
    for result in frames:
        out += tracker.update(result, **extra)  # type: ignore[arg-type]
    return out


def test_two_items_at_once_are_tracked_apart() -> None:
    tracker = ItemTracker("cam")
    frames = [
        motion(i / 15, blob(0.25, 0.05 + 0.1 * i), blob(0.75, 0.75 - 0.1 * i)) for i in range(8)
    ]
    frames += [motion(8 / 15 + i / 15) for i in range(10)]  # both gone, gate still awake
    observations = feed(tracker, frames)
    assert sorted(o.direction for o in observations) == [Direction.INTO, Direction.OUT_OF]
    assert tracker.active == 0


def test_gate_falling_asleep_ends_the_track() -> None:
    tracker = ItemTracker("cam")
    frames = [motion(i / 15, blob(0.5, 0.05 + 0.1 * i)) for i in range(8)]
    assert feed(tracker, frames) == []
    (observation,) = tracker.update(motion(1.0, awake=False))
    assert observation.direction is Direction.INTO


def test_a_short_gap_does_not_split_a_track() -> None:
    tracker = ItemTracker("cam")
    frames = [motion(i / 15, blob(0.5, 0.05 + 0.05 * i)) for i in range(6)]
    frames += [motion(6 / 15), motion(7 / 15)]  # lost for two frames (occluded by a hand)
    frames += [motion(i / 15, blob(0.5, 0.05 + 0.05 * i)) for i in range(8, 14)]
    observations = feed(tracker, frames) + tracker.flush()
    assert [o.direction for o in observations] == [Direction.INTO]


def test_noise_and_still_blobs_make_no_observations() -> None:
    tracker = ItemTracker("cam")
    flicker = [motion(0.0, blob(0.5, 0.5)), motion(1 / 15, blob(0.5, 0.52))]  # two frames
    still = [motion(1 + i / 15, blob(0.2, 0.8, moving=0.0)) for i in range(30)]  # a ghost
    assert feed(tracker, flicker + still) + tracker.flush() == []


def test_a_basket_busy_without_pause_still_reports() -> None:
    tracker = ItemTracker("cam", TrackerSettings(max_track_s=3.0))
    # Something moves up and down in view for 10 s without the track ever being lost.
    frames = [motion(i / 15, blob(0.5, 0.4 + 0.3 * ((i // 15) % 2))) for i in range(150)]
    observations = feed(tracker, frames)
    assert len(observations) == 3
    assert all(o.t <= 10.0 for o in observations)


def test_track_prefers_the_moving_blob_over_the_spot_it_left() -> None:
    # Lifting an item out: the empty spot differs from the background too, but does not move.
    tracker = ItemTracker("cam")
    frames = [motion(0.0, blob(0.5, 0.7))]
    for i in range(1, 10):
        frames.append(motion(i / 15, blob(0.5, 0.7 - 0.07 * i), blob(0.5, 0.7, moving=0.0)))
    frames += [motion(10 / 15 + i / 15, blob(0.5, 0.7, moving=0.0)) for i in range(10)]
    (observation,) = feed(tracker, frames) + tracker.flush()
    assert observation.direction is Direction.OUT_OF


def test_candidates_and_barcodes_are_voted_into_the_observation() -> None:
    tracker = ItemTracker("cam", TrackerSettings(recognition_top_k=2))
    code = BarcodeRead("ean13", "4006381333931", "04006381333931", quality=0.5)
    better = BarcodeRead("ean13", "4006381333931", "04006381333931", quality=0.9)
    per_frame = [
        ([Candidate("milk", 0.9), Candidate("juice", 0.1)], code),
        ([Candidate("milk", 0.6), Candidate("juice", 0.3), Candidate("soap", 0.1)], None),
        ([Candidate("juice", 0.8), Candidate("milk", 0.2)], better),
        ([], None),  # no recognition on this frame: does not count either way
    ]
    out = []
    for i, (candidates, barcode) in enumerate(per_frame):
        out += tracker.update(motion(i / 15, blob(0.5, 0.1 + 0.2 * i)), candidates, barcode)
    (observation,) = out + tracker.flush()
    assert observation.direction is Direction.INTO
    assert observation.candidates == (
        Candidate("milk", pytest.approx(1.7 / 3)),  # type: ignore[arg-type]
        Candidate("juice", pytest.approx(1.2 / 3)),  # type: ignore[arg-type]
    )
    assert observation.barcode == better


def test_primary_box_is_the_tracked_item() -> None:
    tracker = ItemTracker("cam")
    assert tracker.primary_box() is None
    tracker.update(motion(0.0, blob(0.3, 0.2, size=0.3), blob(0.8, 0.8, size=0.1)))
    assert tracker.primary_box() == pytest.approx((0.15, 0.05, 0.3, 0.3))


def test_two_items_in_at_once_are_both_recognised() -> None:
    """One crop per frame goes to the item recognised least so far, and its candidates to the
    track it was cut from: the smaller item of two gets candidates of its own (a track without
    any is "none of the products" to fusion)."""
    tracker = ItemTracker("cam")
    out: list[ItemObservation] = []
    boxes = []
    for i in range(8):
        y = 0.1 + 0.1 * i
        big, small = blob(0.3, y, size=0.3), blob(0.75, y, size=0.12)
        boxes.append(tracker.primary_box())
        label = None if boxes[-1] is None else ("milk" if boxes[-1][0] < 0.5 else "lime")
        seen = [Candidate(label, 0.9)] if label else []
        out += tracker.update(motion(i / 15, big, small), seen)
    out += tracker.flush()
    assert boxes[0] is None  # nothing to crop before the first frame
    crops = [box[0] < 0.5 for box in boxes[1:] if box is not None]
    assert crops == [True, False, True, False, True, False, True]  # the two take turns
    by_x = {obs.track_id: obs for obs in out}
    assert len(by_x) == 2
    labels = sorted(obs.candidates[0].label for obs in out if obs.candidates)
    assert labels == ["lime", "milk"]
    for obs in out:
        assert [c.label for c in obs.candidates] in (["milk"], ["lime"])  # never each other's


# --- votes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "frames", "top_k", "expected"),
    [
        ({}, 0, 5, ()),
        ({"a": 1.8, "b": 0.2}, 2, 5, (Candidate("a", 0.9), Candidate("b", 0.1))),
        ({"a": 1.0, "b": 1.0, "c": 0.5}, 2, 2, (Candidate("a", 0.5), Candidate("b", 0.5))),
        ({"z": 0.9, "y": 0.9}, 1, 1, (Candidate("y", 0.9),)),  # ties by label: stable
    ],
)
def test_vote_candidates(
    scores: dict[str, float], frames: int, top_k: int, expected: tuple[Candidate, ...]
) -> None:
    assert vote_candidates(scores, frames, top_k) == expected


def read(text: str, quality: float = 0.5) -> BarcodeRead:
    return BarcodeRead("ean13", text, None, quality)


@pytest.mark.parametrize(
    ("reads", "agreement", "expected"),
    [
        ([], 1, None),
        ([read("1")], 2, None),  # one frame is not enough when two must agree
        ([read("1"), read("1", 0.8)], 2, read("1", 0.8)),
        ([read("1"), read("2"), read("2")], 2, None),  # a rival: the winner needs 2 more
        ([read("1"), read("2"), read("2"), read("2")], 2, read("2")),
        ([read("1"), read("2")], 1, None),  # one read each: either could be the misread
        ([read("1"), read("2"), read("2")], 1, read("2")),
    ],
)
def test_vote_barcode(
    reads: list[BarcodeRead], agreement: int, expected: BarcodeRead | None
) -> None:
    assert vote_barcode(reads, agreement) == expected


def gread(gtin: str) -> BarcodeRead:
    return BarcodeRead("ean13", gtin[1:], gtin, 1.0)


KNOWN = "07310865004703"


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        ([gread(KNOWN)], gread(KNOWN)),  # one clean read of a catalog product is enough
        ([gread("04006381333931")], None),  # an unknown code still needs two frames
        ([gread(KNOWN), gread("04006381333931")], None),  # contradicted: no shortcut
    ],
)
def test_vote_barcode_lets_a_single_catalog_read_through(
    reads: list[BarcodeRead], expected: BarcodeRead | None
) -> None:
    assert vote_barcode(reads, 2, lambda gtin: gtin == KNOWN) == expected
