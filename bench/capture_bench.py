"""Capture + motion gating benchmark: CPU use of N cameras with the basket idle and busy.

    python -m bench.capture_bench [--cameras 4] [--fps 15] [--seconds 20] [--source both]

Each camera is a real :class:`vision.capture.CameraCapture` thread, paced in real time at
``--fps`` and writing into its latest-frame slot, plus one vision worker thread that takes frames
from the slot and runs the :class:`vision.motion.MotionGate` and, while the gate is awake, the
:class:`vision.tracking.ItemTracker`, as the cart does before recognition. Recognition and
barcode decoding are not part of this figure: they run only while the gate is awake.

Sources:

* ``synthetic``: rendered 640×480 frames (a copy of a precomputed background plus a drawn box
  per frame: about the cost of a camera driver handing over a raw frame).
* ``file``: the same scenes written once to MJPG ``.avi`` files and played back looping, so each
  frame is a JPEG decode: what a USB webcam in MJPG mode costs.

Scenes: ``idle`` (an empty basket) and ``busy`` (items moving in, out and held back to back, so
the gate is awake the whole time). CPU is process time over wall time, measured after a
warm-up second: "% of one core" and "% of the machine" (divided by the number of CPUs).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2

from vision.capture import CameraCapture, CameraSettings
from vision.motion import MotionGate
from vision.sources import FrameSource, VideoFileSource
from vision.synthetic import Scene, ScriptedItem, SyntheticSource, scene
from vision.tracking import ItemTracker
from vision.types import Direction

# Items one after another with 0.6 s between them: less than motion_idle_s, so the gate never
# sleeps, but enough for the tracker to tell the items apart.
BUSY = Scene(
    (
        ScriptedItem(Direction.INTO, 0.0, duration_s=1.2),
        ScriptedItem(Direction.OUT_OF, 1.8, duration_s=1.2, color=(60, 180, 60), x=0.35),
        ScriptedItem(Direction.HELD, 3.6, duration_s=2.0, color=(200, 120, 30), x=0.65),
    ),
    duration_s=6.2,
    loop=True,
)


def scene_for(name: str) -> Scene:
    return BUSY if name == "busy" else scene("idle")


@dataclass(frozen=True)
class Result:
    """Figures of one run."""

    source: str
    scene: str
    cameras: int
    seconds: float
    cpu_one_core: float  # percent of one core
    cpu_machine: float  # percent of all cores
    fps: list[float]
    drops: int
    frames: int
    awake_share: float
    directions: dict[str, int]


class Worker:
    """One camera's vision worker: slot → motion gate → tracker."""

    def __init__(self, capture: CameraCapture, gate: bool = True) -> None:
        self.capture = capture
        self.gating = gate
        self.gate = MotionGate(roi=capture.settings.roi)
        self.tracker = ItemTracker(capture.settings.id)
        self.frames = 0
        self.awake = 0
        self.directions: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"vision:{capture.settings.id}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def _run(self) -> None:
        slot = self.capture.slot
        while not self._stop.is_set():
            frame = slot.get(timeout=0.2)
            if frame is None:
                if slot.closed:
                    return
                continue
            self.frames += 1
            if not self.gating:
                continue
            result = self.gate.update(frame.image, frame.t)
            if result.awake:
                self.awake += 1
            for observation in self.tracker.update(result):
                self.directions[observation.direction.value] += 1


def write_video(path: Path, scene_name: str, seconds: float, fps: float, seed: int) -> Path:
    """Render a scene into an MJPG file once, outside the measured time."""
    source = SyntheticSource(scene_for(scene_name), fps=fps, seed=seed, loop=True)
    source.open()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (640, 480))
    for _ in range(round(seconds * fps)):
        raw = source.read()
        assert raw is not None
        writer.write(raw.image)
    writer.release()
    return path


def make_source(kind: str, scene_name: str, index: int, fps: float, folder: Path) -> FrameSource:
    if kind == "synthetic":
        return SyntheticSource(scene_for(scene_name), fps=fps, seed=index, loop=True)
    # A whole number of scene loops, so the file loops seamlessly.
    path = write_video(folder / f"{scene_name}{index}.avi", scene_name, BUSY.duration_s, fps, index)
    return VideoFileSource(path, loop=True)


def run(
    kind: str, scene_name: str, cameras: int, fps: float, seconds: float, *, gate: bool = True
) -> Result:
    """Run ``cameras`` capture threads and workers for ``seconds`` and measure them.

    ``gate=False``: the workers only take frames from the slots (the cost of capture alone).
    """
    with tempfile.TemporaryDirectory(prefix="capture-bench-") as tmp:
        captures = [
            CameraCapture(
                CameraSettings(id=f"cam{i}", fps=fps),
                make_source(kind, scene_name, i, fps, Path(tmp)),
            )
            for i in range(cameras)
        ]
        workers = [Worker(capture, gate) for capture in captures]
        for worker in workers:
            worker.start()
        for capture in captures:
            capture.start()
        time.sleep(1.0)  # warm-up: opening files, first frames, backgrounds
        frames0 = [c.stats().frames for c in captures]
        drops0 = sum(c.stats().drops for c in captures)
        seen0 = [(w.frames, w.awake) for w in workers]
        directions0 = sum((w.directions for w in workers), Counter[str]())
        cpu0, wall0 = time.process_time(), time.monotonic()
        time.sleep(seconds)
        cpu1, wall1 = time.process_time(), time.monotonic()
        stats = [c.stats() for c in captures]
        seen1 = [(w.frames, w.awake) for w in workers]
        directions = sum((w.directions for w in workers), Counter[str]()) - directions0
        for capture in captures:
            capture.stop()
        for worker in workers:
            worker.stop()
    wall = wall1 - wall0
    cpu = (cpu1 - cpu0) / wall * 100.0
    handled = sum(b[0] - a[0] for a, b in zip(seen0, seen1, strict=True))
    awake = sum(b[1] - a[1] for a, b in zip(seen0, seen1, strict=True))
    return Result(
        source=kind,
        scene=scene_name,
        cameras=cameras,
        seconds=wall,
        cpu_one_core=cpu,
        cpu_machine=cpu / (os.cpu_count() or 1),
        fps=[(s.frames - f0) / wall for s, f0 in zip(stats, frames0, strict=True)],
        drops=sum(s.drops for s in stats) - drops0,
        frames=sum(s.frames - f0 for s, f0 in zip(stats, frames0, strict=True)),
        awake_share=awake / handled if handled else 0.0,
        directions=dict(sorted(directions.items())),
    )


def baseline(seconds: float) -> float:
    """CPU of this process doing nothing (percent of one core): the floor of the figures."""
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100.0


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--source", choices=["synthetic", "file", "both"], default="both")
    parser.add_argument(
        "--cv-threads", type=int, default=None, help="cv2.setNumThreads (default: OpenCV's own)"
    )
    args = parser.parse_args(argv)
    if args.cv_threads is not None:
        cv2.setNumThreads(args.cv_threads)
    print(
        f"python {platform.python_version()}, OpenCV {cv2.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, OpenCV threads {cv2.getNumThreads()}"
    )
    time.sleep(2.0)  # importing OpenCV leaves a second or two of background work behind
    floor = baseline(2.0)
    print(
        f"{args.cameras} cameras, 640x480 at {args.fps:g} fps, {args.seconds:g} s per run "
        f"after 1 s warm-up; process idle baseline {floor:.2f} % of one core"
    )
    kinds = ["synthetic", "file"] if args.source == "both" else [args.source]
    for kind in kinds:
        for scene_name, gate in (("idle", False), ("idle", True), ("busy", True)):
            r = run(kind, scene_name, args.cameras, args.fps, args.seconds, gate=gate)
            fps = ", ".join(f"{f:.2f}" for f in r.fps)
            what = f"{r.source} {r.scene}, " + ("capture + gate" if gate else "capture only")
            seen = ", ".join(f"{n} {d}" for d, n in r.directions.items()) or "none"
            print(
                f"{what:32}: CPU {r.cpu_one_core:5.1f} % of one core "
                f"({r.cpu_machine:4.1f} % of the machine); fps per camera {fps}; "
                f"drops {r.drops} of {r.frames}; gate awake {r.awake_share:.0%} of frames; "
                f"observations: {seen}"
            )
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
