"""Multi-frame agreement: a code from video is accepted only when frames agree on it.

The per-image reader already demands two decoders' agreement, but on video a misread can still
come from one bad frame (glare, motion). :class:`BarcodeAgreement` is fed every frame's reads
and accepts a code when

- it was read in at least ``frames`` frames within ``window_s`` seconds, counting net of the
  frames in which a different code of the same kind was read in the same place (two codes in
  one place means one is a misread: the winner must lead by ``frames``); or
- ``catalog_check`` (given the GTIN-14) says the store sells it: a misread that lands on one of
  the catalog's few thousand GTINs out of 10^13 is far less likely than a repeated misread.

Each code is accepted once per appearance: it is not reported again until it has been out of
sight for ``rearm_s`` (an item held in front of the camera for ten seconds is one scan).

Not thread-safe: feed it from the one thread that reads a camera's frames.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vision.types import BarcodeRead

CatalogCheck = Callable[[str], bool]
"""Whether a GTIN-14 is in the store's catalog."""


@dataclass(frozen=True, slots=True)
class AgreementSettings:
    """Defaults: two frames within one second (``[vision] barcode_agreement_frames``)."""

    frames: int = 2
    window_s: float = 1.0
    rearm_s: float = 2.0

    def __post_init__(self) -> None:
        if self.frames < 1 or self.window_s <= 0 or self.rearm_s < 0:
            raise ValueError("frames must be >= 1, window_s > 0 and rearm_s >= 0")


@dataclass(frozen=True, slots=True)
class AcceptedCode:
    """A code the agreement accepted: the best-quality read of it, and why."""

    read: BarcodeRead
    t: float
    frames: int
    by_catalog: bool


@dataclass(frozen=True, slots=True)
class _Sighting:
    t: float
    frame: int
    read: BarcodeRead


def _key(read: BarcodeRead) -> str:
    return read.gtin if read.gtin is not None else f"{read.symbology}:{read.text}"


def _kind(read: BarcodeRead) -> str:
    return "gtin" if read.gtin is not None else read.symbology


def _near(a: BarcodeRead, b: BarcodeRead) -> bool:
    """Whether two reads' outlines overlap (grown by half their size); unknown counts as near."""
    if not a.location or not b.location:
        return True

    def box(read: BarcodeRead) -> tuple[float, float, float, float]:
        xs = [p[0] for p in read.location]
        ys = [p[1] for p in read.location]
        w, h = max(xs) - min(xs), max(ys) - min(ys)
        return (min(xs) - w / 2, min(ys) - h / 2, max(xs) + w / 2, max(ys) + h / 2)

    ax0, ay0, ax1, ay1 = box(a)
    bx0, by0, bx1, by1 = box(b)
    return ax0 <= bx1 and bx0 <= ax1 and ay0 <= by1 and by0 <= ay1


class BarcodeAgreement:
    """Accepts codes that agree across frames, or that the catalog knows."""

    def __init__(
        self, settings: AgreementSettings | None = None, catalog_check: CatalogCheck | None = None
    ) -> None:
        self.settings = settings or AgreementSettings()
        self._catalog_check = catalog_check
        self._sightings: deque[_Sighting] = deque()
        self._last_seen: dict[str, float] = {}
        self._accepted: set[str] = set()
        self._frame = 0

    def update(self, t: float, reads: Iterable[BarcodeRead]) -> tuple[AcceptedCode, ...]:
        """Feed one frame's reads (possibly none) taken at time ``t``; returns new acceptances."""
        s = self.settings
        self._frame += 1
        frame_reads = list({_key(r): r for r in reads}.values())
        for read in frame_reads:
            self._sightings.append(_Sighting(t, self._frame, read))
        while self._sightings and self._sightings[0].t < t - s.window_s:
            self._sightings.popleft()
        # Codes out of sight for rearm_s may be accepted again when they come back.
        for key, seen in list(self._last_seen.items()):
            if t - seen > s.rearm_s:
                del self._last_seen[key]
                self._accepted.discard(key)
        out = []
        for read in frame_reads:
            key = _key(read)
            self._last_seen[key] = t
            if key in self._accepted:
                continue
            accepted = self._judge(read)
            if accepted is not None:
                self._accepted.add(key)
                out.append(accepted)
        return tuple(out)

    def _frames_of(self, key: str) -> list[_Sighting]:
        return [s for s in self._sightings if _key(s.read) == key]

    def _judge(self, read: BarcodeRead) -> AcceptedCode | None:
        key = _key(read)
        mine = self._frames_of(key)
        best = max((s.read for s in mine), key=lambda r: r.quality)
        t = mine[-1].t
        frames = len({s.frame for s in mine})
        known = self._catalog_check
        if read.gtin is not None and known is not None and known(read.gtin):
            return AcceptedCode(best, t, frames, by_catalog=True)
        if frames < self.settings.frames:
            return None
        rivals: dict[str, set[int]] = {}
        for s in self._sightings:
            other = _key(s.read)
            if other != key and _kind(s.read) == _kind(read) and _near(s.read, read):
                rivals.setdefault(other, set()).add(s.frame)
        # Two codes in one place: one is a misread. The winner needs ``frames`` more sightings
        # than its strongest rival, not just ``frames``.
        strongest = max((len(f) for f in rivals.values()), default=0)
        if frames - strongest < self.settings.frames:
            return None
        return AcceptedCode(best, t, frames, by_catalog=False)

    def reset(self) -> None:
        """Forget everything (a new session)."""
        self._sightings.clear()
        self._last_seen.clear()
        self._accepted.clear()
