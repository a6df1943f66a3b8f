"""The motion gate: asleep on an idle basket, awake while an item moves, asleep again after."""

from __future__ import annotations

import numpy as np
import pytest

from vision.motion import MotionGate, MotionResult, MotionSettings, check_roi, roi_pixels
from vision.synthetic import SCENES, Scene, ScriptedItem, SyntheticSource, scene
from vision.tracking import iou
from vision.types import Direction

W, H = 320, 240


def run_gate(
    name_or_scene: str | Scene,
    settings: MotionSettings | None = None,
    roi: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    fps: float = 15.0,
) -> tuple[SyntheticSource, list[MotionResult]]:
    chosen = scene(name_or_scene) if isinstance(name_or_scene, str) else name_or_scene
    source = SyntheticSource(chosen, width=W, height=H, fps=fps, loop=False, seed=3)
    gate = MotionGate(settings, roi)
    source.open()
    results = []
    while (raw := source.read()) is not None:
        assert raw.media_t is not None
        results.append(gate.update(raw.image, raw.media_t))
    return source, results


def transitions(results: list[MotionResult]) -> list[tuple[str, float]]:
    return [("woke" if r.woke else "slept", r.t) for r in results if r.woke or r.slept]


def test_idle_basket_never_wakes_the_gate() -> None:
    _, results = run_gate("idle")
    assert not any(r.awake for r in results)
    assert max(r.fraction for r in results) < 0.002  # sensor noise stays far below threshold
    assert all(r.blobs == () and r.mask is None for r in results)  # no blob work while asleep


@pytest.mark.parametrize("name", ["into", "out_of", "held"])
def test_gate_wakes_on_the_moving_item_and_sleeps_after_the_idle_time(name: str) -> None:
    (item,) = SCENES[name].items
    _, results = run_gate(name)
    (woke, woke_t), (slept, slept_t) = transitions(results)
    assert (woke, slept) == ("woke", "slept")
    assert item.start_s <= woke_t < item.start_s + item.duration_s
    last_motion = max(r.t for r in results if r.fraction > MotionSettings().motion_threshold)
    assert slept_t - last_motion == pytest.approx(1.0, abs=1.5 / 15)  # motion_idle_s, one frame


def test_gate_sleep_follows_motion_idle_s() -> None:
    _, quick = run_gate("into", MotionSettings(motion_idle_s=0.2))
    _, slow = run_gate("into", MotionSettings(motion_idle_s=1.5))
    assert transitions(quick)[1][1] < transitions(slow)[1][1]
    assert transitions(slow)[1][1] - transitions(quick)[1][1] == pytest.approx(1.3, abs=0.1)


@pytest.mark.parametrize(
    ("threshold", "wakes"), [(0.005, True), (0.02, True), (0.05, True), (0.2, False)]
)
def test_motion_threshold_is_a_fraction_of_the_roi(threshold: float, wakes: bool) -> None:
    _, results = run_gate("into", MotionSettings(motion_threshold=threshold))
    assert any(r.awake for r in results) is wakes


def test_blob_follows_the_item() -> None:
    source, results = run_gate("out_of")
    checked = 0
    for result in results:
        truth = source.boxes_at(result.t)
        if not result.awake or not truth or not result.blobs:
            continue
        _, (x, y, w, h) = truth[0]
        visible = (x, max(y, 0.0), w, min(y + h, 1.0) - max(y, 0.0))
        if visible[3] < 0.15:
            continue  # mostly out of view: its blob is a sliver
        assert iou(result.blobs[0].box, visible) > 0.5
        checked += 1
    assert checked >= 5


def test_motion_outside_the_roi_is_ignored() -> None:
    # The item passes through the middle; a ROI on the left fifth never sees it.
    _, left = run_gate("into", roi=(0.0, 0.0, 0.2, 1.0))
    assert not any(r.awake for r in left)
    _, centre = run_gate("into", roi=(0.3, 0.0, 0.4, 1.0))
    assert any(r.awake for r in centre)


def test_blobs_are_in_roi_coordinates() -> None:
    roi = (0.25, 0.0, 0.5, 1.0)
    source, results = run_gate("held", roi=roi)
    hovering = [r for r in results if r.blobs and 1.3 < r.t < 1.9]  # the hover phase
    assert hovering
    for result in hovering:
        _, (x, _, w, _) = source.boxes_at(result.t)[0]
        cx_roi = (x + w / 2 - roi[0]) / roi[2]
        assert result.blobs[0].centroid[0] == pytest.approx(cx_roi, abs=0.05)


def test_item_put_down_is_absorbed_and_the_gate_sleeps() -> None:
    # The item lies in view from 1.7 s to 5.7 s; the gate must not stay awake all that time.
    _, results = run_gate("in_and_out")
    kinds = transitions(results)
    assert [k for k, _ in kinds] == ["woke", "slept", "woke", "slept"]
    assert kinds[1][1] < 5.7 <= kinds[2][1]


def test_resting_item_blob_is_still_while_a_carried_one_is_moving() -> None:
    _, results = run_gate("in_and_out")
    carried = [r.blobs[0].moving for r in results if r.blobs and 0.9 < r.t < 1.6]
    resting = [r.blobs[0].moving for r in results if r.blobs and 2.0 < r.t < 3.0]
    assert carried and resting
    assert min(carried) > 0.05
    assert max(resting) < 0.05


def test_gate_behaves_the_same_at_other_frame_rates() -> None:
    for fps in (10.0, 30.0):
        _, results = run_gate("into", fps=fps)
        (_, woke_t), (_, slept_t) = transitions(results)
        assert 0.5 <= woke_t < 1.7
        assert 2.3 < slept_t < 3.2


def test_gate_is_deterministic() -> None:
    _, a = run_gate("demo")
    _, b = run_gate("demo")
    assert [(r.fraction, r.awake, r.blobs) for r in a] == [
        (r.fraction, r.awake, r.blobs) for r in b
    ]


def test_reset_forgets_the_background() -> None:
    gate = MotionGate()
    dark = np.zeros((H, W, 3), dtype=np.uint8)
    light = np.full((H, W, 3), 200, dtype=np.uint8)
    gate.update(dark, 0.0)
    assert gate.update(light, 0.1).awake
    gate.reset()
    assert not gate.awake
    first = gate.update(light, 5.0)
    assert first.fraction == 0.0 and not first.awake


def test_a_small_item_below_the_threshold_is_ignored() -> None:
    tiny = ScriptedItem(Direction.INTO, 0.5, size=(0.04, 0.04))
    _, results = run_gate(Scene((tiny,), duration_s=2.0))
    assert not any(r.awake for r in results)


def test_gray_frames_work_too() -> None:
    gate = MotionGate()
    gray = np.zeros((H, W), dtype=np.uint8)
    gate.update(gray, 0.0)
    gray2 = gray.copy()
    gray2[60:180, 100:220] = 200
    result = gate.update(gray2, 0.1)
    assert result.awake and result.blobs


# --- settings and ROI ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "roi",
    [(0, 0, 0, 1), (0, 0, 1, -0.1), (-0.1, 0, 0.5, 0.5), (0.6, 0, 0.5, 1), (0, 0.5, 1, 0.6),
     (1.0, 0, 0.1, 0.1)],
)  # fmt: skip
def test_bad_rois_are_rejected(roi: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError, match="roi"):
        check_roi(roi)


@pytest.mark.parametrize(
    ("roi", "pixels"),
    [
        ((0.0, 0.0, 1.0, 1.0), (0, 0, 640, 480)),
        ((0.25, 0.5, 0.5, 0.5), (160, 240, 480, 480)),
        ((0.999, 0.999, 0.001, 0.001), (639, 479, 640, 480)),  # never empty
    ],
)
def test_roi_pixels(
    roi: tuple[float, float, float, float], pixels: tuple[int, int, int, int]
) -> None:
    assert roi_pixels(roi, 640, 480) == pixels


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"motion_threshold": 0.0}, "motion_threshold"),
        ({"motion_threshold": 1.5}, "motion_threshold"),
        ({"motion_idle_s": 0.0}, "positive"),
        ({"blur_kernel": 4}, "odd"),
        ({"work_width": 4}, "at least"),
    ],
)
def test_motion_settings_are_validated(kwargs: dict[str, float], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        MotionSettings(**kwargs)  # type: ignore[arg-type]
