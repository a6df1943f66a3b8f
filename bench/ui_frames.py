"""The UI benchmark's per-frame bookkeeping (``bench/ui_bench.py``): what each frame did
(``--worst``), the slowest frames' profiles (``--profile``) and event-to-screen times."""

from __future__ import annotations

import cProfile
import pstats
import time
from typing import Any


class FrameCounts:
    """What each frame did, for ``--worst``: the window's drawing (GL calls) and swap, the list
    rows built, the label texts rendered, the snapshots applied and the screen shown."""

    def __init__(self, ui: Any) -> None:
        self.ui = ui
        self.draw_s = 0.0
        self.draw_cpu_s = 0.0
        self.rows = 0
        self.texts = 0
        self.snapshots = 0
        self.screen_before = ""
        self.worst: list[tuple[float, str]] = []

    @classmethod
    def install(cls, window: Any, ui: Any) -> FrameCounts:
        """Wrap the window's drawing, row building, text rendering and snapshot applying."""
        from kivy.core.text import LabelBase
        from kivy.uix.recycleview.views import RecycleDataAdapter

        counts = cls(ui)
        real_draw = window.on_draw
        real_create = RecycleDataAdapter.create_view
        real_render = LabelBase.render
        real_applied = ui.on_snapshot_applied

        def on_draw(*a: Any) -> Any:
            t = time.perf_counter()
            cpu = time.thread_time()
            try:
                return real_draw(*a)
            finally:
                counts.draw_s += time.perf_counter() - t
                counts.draw_cpu_s += time.thread_time() - cpu

        def create_view(self: Any, *a: Any) -> Any:
            counts.rows += 1
            return real_create(self, *a)

        def render(self: Any, *a: Any, **k: Any) -> Any:
            counts.texts += 1
            return real_render(self, *a, **k)

        def applied(*a: Any) -> None:
            counts.snapshots += 1
            if real_applied is not None:
                real_applied(*a)

        window.on_draw = on_draw
        RecycleDataAdapter.create_view = create_view
        LabelBase.render = render
        ui.on_snapshot_applied = applied
        return counts

    def reset(self) -> None:
        """Start counting a new frame."""
        self.draw_s = self.draw_cpu_s = 0.0
        self.rows = self.texts = self.snapshots = 0
        self.screen_before = self.ui.screen.value

    def keep(self, wall: float, cpu: float, swap: float, keep: int) -> None:
        """Keep the frame's line when it is among the ``keep`` longest."""
        if len(self.worst) >= keep and wall <= self.worst[-1][0]:
            return
        screen = self.ui.screen.value
        shown = screen if screen == self.screen_before else f"{self.screen_before} → {screen}"
        prompt = " (question open)" if self.ui.prompt.view is not None else ""
        line = (
            f"{wall * 1000:5.1f} ms: Kivy thread on a core {cpu * 1000:4.1f}, drawing "
            f"{self.draw_s * 1000:4.1f} (on a core {self.draw_cpu_s * 1000:4.1f}), "
            f"swap {swap * 1000:4.1f}; {self.snapshots} snapshots, "
            f"{self.rows} rows built, {self.texts} texts rendered; {shown}{prompt}"
        )
        self.worst.append((wall, line))
        self.worst.sort(key=lambda entry: -entry[0])
        del self.worst[keep:]

    def report(self) -> list[str]:
        """The kept frames, the longest first."""
        if not self.worst:
            return []
        return ["the longest frames (work and swap, no sleep):"] + [
            f"  {line}" for _, line in self.worst
        ]


def to_screen(published: dict[int, float], shown: dict[int, float]) -> list[float]:
    """Each published snapshot's time to the screen: until the first version at least as new
    was shown (coalesced snapshots count with the newer one that showed them)."""
    versions = sorted(shown)
    out: list[float] = []
    for version, t_pub in sorted(published.items()):
        first = next((v for v in versions if v >= version), None)
        if first is not None and shown[first] >= t_pub:
            out.append(shown[first] - t_pub)
    return out


def keep_slowest(
    slowest: list[tuple[float, int, pstats.Stats]],
    spent: float,
    index: int,
    profiler: cProfile.Profile,
    keep: int,
) -> None:
    """Keep the profiles of the ``keep`` frames with the most UI work, the most first."""
    if len(slowest) < keep or spent > slowest[-1][0]:
        slowest.append((spent, index, pstats.Stats(profiler)))
        slowest.sort(key=lambda entry: -entry[0])
        del slowest[keep:]
