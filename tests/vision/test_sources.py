"""Camera sources: spec parsing, video files, image folders, synthetic scenes, failures."""

from __future__ import annotations

import contextlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.folder import ImageFolderSource, time_from_name
from vision.sources import (
    FrameSource,
    OpenCVDeviceSource,
    SourceError,
    SourceFrame,
    SourceSpecError,
    VideoFileSource,
    parse_source,
)
from vision.synthetic import SCENES, SyntheticSource, scene

# --- fixtures written on the fly -----------------------------------------------------------

W, H = 160, 120


def level_image(level: int) -> np.ndarray:
    """A flat gray image; the level survives JPEG well enough to identify the frame."""
    return np.full((H, W, 3), level, dtype=np.uint8)


def frame_level(image: np.ndarray) -> int:
    return round(float(image.mean()))


def video_index(image: np.ndarray) -> int:
    """Which frame of :func:`write_video` this is (JPEG shifts levels by a unit or two)."""
    return round(float(image.mean()) / 8)


def write_video(path: Path, count: int, fps: float = 15.0) -> Path:
    """An MJPG .avi whose frame ``i`` is flat gray ``8 * i``."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (W, H))
    assert writer.isOpened()
    for i in range(count):
        writer.write(level_image(8 * i))
    writer.release()
    return path


def truncate(path: Path, keep: float = 0.5) -> Path:
    """Cut the file short, as a recording interrupted by a power cut would be."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_folder(folder: Path, names: list[str], ext: str = ".png") -> Path:
    """Images named ``names``; image ``i`` is flat gray ``10 * i``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        assert cv2.imwrite(str(folder / f"{name}{ext}"), level_image(10 * i))
    return folder


def read_all(source: FrameSource, limit: int = 10_000) -> list[SourceFrame]:
    frames: list[SourceFrame] = []
    source.open()
    try:
        while len(frames) < limit and (frame := source.read()) is not None:
            frames.append(frame)
    finally:
        source.close()
    return frames


# --- parse_source -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "kind", "live"),
    [
        ("webcam:0", OpenCVDeviceSource, True),
        ("webcam:12", OpenCVDeviceSource, True),
        ("/dev/video2", OpenCVDeviceSource, True),
        ("/dev/v4l/by-id/usb-cam-video-index0", OpenCVDeviceSource, True),
        ("file:/tmp/a.avi", VideoFileSource, False),
        ("file:relative/a b.mp4", VideoFileSource, False),
        ("folder:/tmp/rec", ImageFolderSource, False),
        ("synthetic", SyntheticSource, False),
        ("synthetic:into", SyntheticSource, False),
        ("  synthetic:idle ", SyntheticSource, False),
    ],
)
def test_parse_source_accepts_the_documented_forms(spec: str, kind: type, live: bool) -> None:
    source = parse_source(spec)
    assert isinstance(source, kind)
    assert source.live is live


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("", "not understood"),
        ("webcam", "not understood"),
        ("webcam:", "needs an index"),
        ("webcam:front", "needs an index"),
        ("webcam:-1", "needs an index"),
        ("file:", "needs a path"),
        ("folder:", "needs a path"),
        ("rtsp://camera/stream", "not understood"),
        ("video.avi", "not understood"),
        ("synthetic:nope", "unknown synthetic scene"),
        ("File:/tmp/a.avi", "not understood"),
    ],
)
def test_parse_source_rejects_bad_specs_clearly(spec: str, fragment: str) -> None:
    with pytest.raises(SourceSpecError, match=fragment) as info:
        parse_source(spec)
    assert repr(spec) in str(info.value)


def test_parse_source_passes_settings_through() -> None:
    source = parse_source("synthetic:into", width=96, height=64, fps=30.0, realtime=False)
    assert source.nominal_fps == 30.0
    assert source.realtime is False
    frames = read_all(source, limit=3)
    assert frames[0].image.shape == (64, 96, 3)
    assert frames[1].media_t == pytest.approx(1 / 30)


# --- video files ------------------------------------------------------------------------------


def test_video_file_reads_every_frame_with_media_time(tmp_path: Path) -> None:
    source = VideoFileSource(write_video(tmp_path / "v.avi", 12, fps=15.0))
    frames = read_all(source)
    assert [video_index(f.image) for f in frames] == list(range(12))
    assert [f.media_t for f in frames] == pytest.approx([i / 15 for i in range(12)])
    assert source.nominal_fps == pytest.approx(15.0)
    assert frames[0].image.shape == (H, W, 3)
    assert frames[0].image.dtype == np.uint8


def test_video_file_loops_with_media_time_running_on(tmp_path: Path) -> None:
    source = VideoFileSource(write_video(tmp_path / "v.avi", 5), loop=True)
    frames = read_all(source, limit=12)
    assert [video_index(f.image) for f in frames] == [i % 5 for i in range(12)]
    times = [f.media_t for f in frames]
    assert times == pytest.approx([i / 15 for i in range(12)])


def test_truncated_video_fails_mid_stream_and_resumes_past_the_damage(tmp_path: Path) -> None:
    path = truncate(write_video(tmp_path / "v.avi", 30))
    source = VideoFileSource(path)
    source.open()
    good = []
    with pytest.raises(SourceError, match="unreadable at frame") as info:
        while (frame := source.read()) is not None:
            good.append(frame)
    assert 0 < len(good) < 30
    assert str(path) in str(info.value)
    # Each reopen skips the frame that failed, so the damaged tail is walked through to the end
    # instead of replaying the good start forever.
    reopens = 0
    ended = False
    while not ended and reopens < 40:
        source.close()
        source.open()
        reopens += 1
        with contextlib.suppress(SourceError):
            ended = source.read() is None
    assert ended
    assert reopens < 40


def test_video_file_open_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        VideoFileSource(tmp_path / "missing.avi").open()
    junk = tmp_path / "junk.avi"
    junk.write_text("this is not a video\n")
    with pytest.raises(SourceError, match="not a video"):
        VideoFileSource(junk).open()


def test_read_before_open_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not open"):
        VideoFileSource(tmp_path / "v.avi").read()
    with pytest.raises(SourceError, match="not open"):
        ImageFolderSource(tmp_path).read()


# --- image folders ----------------------------------------------------------------------------


def test_folder_plays_in_natural_order_at_its_fps(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "f", ["frame1", "frame2", "frame10"])
    (folder / "notes.txt").write_text("ignored")
    frames = read_all(ImageFolderSource(folder, fps=10.0))
    assert [frame_level(f.image) for f in frames] == [0, 10, 20]
    assert [f.media_t for f in frames] == pytest.approx([0.0, 0.1, 0.2])


def test_folder_takes_times_from_file_names(tmp_path: Path) -> None:
    # Written out of order on purpose: the times decide the order, not the names.
    folder = write_folder(tmp_path / "f", ["cam_100.500", "cam_100.250", "cam_101.000"])
    frames = read_all(ImageFolderSource(folder))
    assert [f.media_t for f in frames] == pytest.approx([100.25, 100.5, 101.0])
    assert [frame_level(f.image) for f in frames] == [10, 0, 20]


def test_folder_prefers_timestamps_csv(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "f", ["a", "b", "c"])
    (folder / "timestamps.csv").write_text("file,t\nc.png,5.0\na.png,5.5\n")
    frames = read_all(ImageFolderSource(folder))
    assert [frame_level(f.image) for f in frames] == [20, 0]  # b.png is not in the csv
    assert [f.media_t for f in frames] == pytest.approx([5.0, 5.5])


@pytest.mark.parametrize(
    ("csv_text", "fragment"),
    [("name,time\na.png,1\n", "columns 'file' and 't'"), ("file,t\na.png,soon\n", "soon")],
)
def test_folder_with_a_bad_timestamps_csv_fails_clearly(
    tmp_path: Path, csv_text: str, fragment: str
) -> None:
    folder = write_folder(tmp_path / "f", ["a"])
    (folder / "timestamps.csv").write_text(csv_text)
    with pytest.raises(SourceError, match=fragment):
        ImageFolderSource(folder).open()


def test_folder_open_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such folder"):
        ImageFolderSource(tmp_path / "missing").open()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no images"):
        ImageFolderSource(tmp_path / "empty").open()


def test_folder_whose_image_disappears_fails_then_resumes_after_it(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "f", [f"{i:03d}" for i in range(6)])
    source = ImageFolderSource(folder)
    source.open()
    first = [source.read(), source.read()]
    (folder / "002.png").unlink()
    with pytest.raises(SourceError, match=r"cannot read 002\.png"):
        source.read()
    source.close()
    source.open()
    rest = []
    while (frame := source.read()) is not None:
        rest.append(frame)
    levels = [frame_level(f.image) for f in first if f is not None]
    assert levels + [frame_level(f.image) for f in rest] == [0, 10, 30, 40, 50]


def test_folder_with_a_damaged_image_skips_it_after_reopening(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "f", ["000", "001", "002"])
    (folder / "001.png").write_bytes(b"\x89PNG not really")
    source = ImageFolderSource(folder)
    source.open()
    assert source.read() is not None
    with pytest.raises(SourceError, match="gone or damaged"):
        source.read()
    source.open()
    last = source.read()
    assert last is not None and frame_level(last.image) == 20
    assert source.read() is None


def test_folder_loops_with_media_time_running_on(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "f", ["0", "1", "2"])
    frames = read_all(ImageFolderSource(folder, loop=True, fps=10.0), limit=7)
    assert [frame_level(f.image) for f in frames] == [0, 10, 20, 0, 10, 20, 0]
    times = [f.media_t for f in frames]
    assert times == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])


def test_folder_gray_images_come_out_as_bgr(tmp_path: Path) -> None:
    folder = tmp_path / "gray"
    folder.mkdir()
    cv2.imwrite(str(folder / "0.png"), np.full((H, W), 77, dtype=np.uint8))
    (frame,) = read_all(ImageFolderSource(folder))
    assert frame.image.shape == (H, W, 3)


@pytest.mark.parametrize(
    ("name", "t"),
    [
        ("cam1_1763712000.125.jpg", 1763712000.125),
        ("100.250.png", 100.25),
        ("frame-12.5.png", 12.5),
        ("t=3.000.png", 3.0),
        ("000123.png", None),
        ("frame10.png", None),
        ("cam1.5x.png", None),
        ("v1.2_final.png", None),
    ],
)
def test_time_from_name(name: str, t: float | None) -> None:
    assert time_from_name(name) == t


# --- live devices -----------------------------------------------------------------------------


def test_missing_device_path_reports_a_clear_error() -> None:
    source = OpenCVDeviceSource("/dev/video-smartcart-test-missing")
    with pytest.raises(SourceError, match="no such device"):
        source.open()
    source.close()  # safe when never opened


def test_missing_webcam_index_reports_a_clear_error() -> None:
    source = OpenCVDeviceSource(97)
    with pytest.raises(SourceError, match="no camera at index 97"):
        source.open()


# --- synthetic --------------------------------------------------------------------------------


def test_synthetic_frames_are_deterministic_by_seed() -> None:
    def frames(seed: int) -> list[SourceFrame]:
        return read_all(SyntheticSource(scene("into"), width=W, height=H, seed=seed), limit=20)

    a, b, c = frames(1), frames(1), frames(2)
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x.image, y.image) for x, y in zip(a, c, strict=True))


def test_synthetic_one_pass_scene_ends_and_looping_scene_does_not() -> None:
    once = read_all(SyntheticSource(scene("into"), fps=10.0, width=W, height=H))
    assert len(once) == round(SCENES["into"].duration_s * 10)
    looping = read_all(SyntheticSource(scene("idle"), fps=10.0, width=W, height=H), limit=250)
    assert len(looping) == 250


def test_synthetic_object_is_drawn_where_the_script_says() -> None:
    source = SyntheticSource(scene("into"), width=W, height=H, fps=10.0)
    frames = read_all(source)
    mid = next(f for f in frames if f.media_t is not None and f.media_t >= 1.0)
    assert mid.media_t is not None
    ((item, (x, y, w, h)),) = source.boxes_at(mid.media_t)
    cx, cy = round((x + w / 2) * W), round((y + 0.75 * h) * H)  # below the label band
    assert tuple(mid.image[cy, cx]) == item.color
    assert source.boxes_at(0.0) == []


def test_synthetic_read_before_open_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="before open"):
        SyntheticSource(scene("idle")).read()
