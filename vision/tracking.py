"""Tracking an item across frames, deciding which way it crossed the basket opening.

The tracker consumes the motion gate's blobs frame by frame, links them into tracks, and when a
track ends (its item out of sight for ``max_gap_s``, the gate asleep, or the track older than
``max_track_s``) emits one
:class:`~vision.types.ItemObservation` with the direction and the vote over the recognition
candidates and barcodes collected while the track lived.

Direction uses **depth**: 0 at the entry edge of the ROI (where items come from outside) and 1 at
the opposite edge. Positions at or beyond ``inside_line`` are inside the basket.

* ``INTO``: the track starts outside the line, ends inside it, and went at least ``min_travel``
  deeper (an item that came in over the edge and disappeared into the basket).
* ``OUT_OF``: the mirror: starts inside, ends outside, at least ``min_travel`` shallower.
* ``HELD``: no such crossing, but the item stayed in view at least ``held_min_s``.
* ``UNKNOWN``: anything else long enough to matter.

An observation's ``t`` is the last frame in which its item moved (for an item put down in view,
when it came to rest), not when the track ended.

Start and end depths are medians over the first and last few positions, so one jittery blob does
not flip a verdict. Tracks shorter than ``min_frames`` or whose centroid travelled less than
``min_path`` in all are noise (a shadow, a ghost) and emit nothing.

Only blobs that are moving start a track; a track may continue on a still blob (an item held
still), but a moving candidate is preferred, so a track follows the item rather than the empty
spot it was lifted from. Everything is a function of the blobs and their timestamps.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from vision.motion import Blob, Box, MotionResult
from vision.types import BarcodeRead, Candidate, Direction, ItemObservation

EntryEdge = Literal["top", "bottom", "left", "right"]
KnownCode = Callable[[str], bool]
"""Whether a GTIN-14 is a product the catalog knows (lets a single clean read through)."""


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    """Tracker tuning; distances are fractions of the ROI."""

    entry_edge: EntryEdge = "top"
    inside_line: float = 0.5
    min_travel: float = 0.25
    held_min_s: float = 0.8
    max_gap_s: float = 0.4
    max_track_s: float = 10.0  # a track this long is ended and judged, so none lasts forever
    max_jump: float = 0.35  # farthest a centroid may move between frames and stay the same item
    min_iou: float = 0.05
    min_moving: float = 0.05  # share of a blob's pixels that must change to count as moving
    min_frames: int = 3
    min_path: float = 0.1
    recognition_top_k: int = 5  # mirrors [vision] recognition_top_k
    barcode_agreement_frames: int = 2  # mirrors [vision] barcode_agreement_frames

    def __post_init__(self) -> None:
        if self.entry_edge not in ("top", "bottom", "left", "right"):
            raise ValueError(
                f"entry_edge must be top, bottom, left or right, not {self.entry_edge}"
            )
        if not 0.0 < self.inside_line < 1.0:
            raise ValueError("inside_line must lie strictly between 0 and 1")
        if self.max_gap_s <= 0 or self.max_track_s <= self.max_gap_s:
            raise ValueError("need 0 < max_gap_s < max_track_s")
        if self.min_frames < 1 or self.barcode_agreement_frames < 1 or self.recognition_top_k < 1:
            raise ValueError("min_frames, barcode_agreement_frames and top_k must be >= 1")


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """Where a track's item was at one frame."""

    t: float
    box: Box
    centroid: tuple[float, float]
    moving: bool


@dataclass
class _Track:
    track_id: int
    points: list[TrackPoint]
    candidate_frames: int = 0
    crops: int = 0  # frames whose recognition crop was this track's
    scores: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    barcodes: list[BarcodeRead] = field(default_factory=list)

    @property
    def last(self) -> TrackPoint:
        return self.points[-1]

    def predicted(self, t: float) -> tuple[float, float]:
        """Where the item should be at ``t`` if it keeps its last velocity."""
        last = self.last
        if len(self.points) < 2:
            return last.centroid
        before = self.points[-2]
        dt = last.t - before.t
        if dt <= 0:
            return last.centroid
        ahead = min(t - last.t, 0.5)  # never extrapolate far: hands stop and turn
        vx = (last.centroid[0] - before.centroid[0]) / dt
        vy = (last.centroid[1] - before.centroid[1]) / dt
        return (last.centroid[0] + vx * ahead, last.centroid[1] + vy * ahead)


@dataclass(frozen=True, slots=True)
class TrackSummary:
    """What a finished track amounted to (for logs, tests and tuning)."""

    track_id: int
    direction: Direction
    frames: int
    start_depth: float
    end_depth: float
    duration_s: float
    path: float


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def depth(point: tuple[float, float], edge: EntryEdge) -> float:
    """How far ``point`` (ROI fractions) lies from the entry edge: 0 at the edge, 1 opposite."""
    x, y = point
    return {"top": y, "bottom": 1.0 - y, "left": x, "right": 1.0 - x}[edge]


def classify(points: list[TrackPoint], settings: TrackerSettings) -> TrackSummary:
    """Direction of a finished track by the rules in the module docstring (``track_id`` 0)."""
    depths = [depth(p.centroid, settings.entry_edge) for p in points]
    k = max(1, min(3, len(depths) // 3))
    start, end = statistics.median(depths[:k]), statistics.median(depths[-k:])
    duration = points[-1].t - points[0].t
    path = sum(math.dist(a.centroid, b.centroid) for a, b in itertools.pairwise(points))
    travel = end - start
    line = settings.inside_line
    if start < line <= end and travel >= settings.min_travel:
        direction = Direction.INTO
    elif end < line <= start and -travel >= settings.min_travel:
        direction = Direction.OUT_OF
    elif duration >= settings.held_min_s:
        direction = Direction.HELD
    else:
        direction = Direction.UNKNOWN
    return TrackSummary(0, direction, len(points), start, end, duration, path)


def vote_candidates(scores: dict[str, float], frames: int, top_k: int) -> tuple[Candidate, ...]:
    """Mean probability of each label over the frames that had candidates, best ``top_k`` first.

    A label missing from a frame's list counts as 0 for that frame, so one confident frame does
    not outvote a consistent run.
    """
    if frames == 0:
        return ()
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:top_k]
    return tuple(Candidate(label, total / frames) for label, total in ranked)


def vote_barcode(
    reads: list[BarcodeRead], agreement: int, known: KnownCode | None = None
) -> BarcodeRead | None:
    """The track's code, or None when its frames do not agree well enough; its best-quality read.

    The code read most often wins when it was read in ``agreement`` more frames than any other
    code of the same track: two codes on one item pass mean one of them is a misread (or a
    second item), so a bare majority is not enough. A code read too few times is still
    accepted when ``known`` (the catalog) recognises it and nothing contradicts it. Ties go to
    the code read first, so the verdict does not depend on dictionary order.
    """
    if not reads:
        return None
    counts = Counter(read.gtin or read.text for read in reads)
    ranked = sorted(counts.items(), key=lambda item: -item[1])  # stable: first read wins ties
    best_key, best_count = ranked[0]
    rival_count = ranked[1][1] if len(ranked) > 1 else 0
    matching = [read for read in reads if (read.gtin or read.text) == best_key]
    best = max(matching, key=lambda read: read.quality)
    if best_count - rival_count >= agreement:
        return best
    if known is not None and rival_count == 0 and best.gtin is not None and known(best.gtin):
        return best
    return None


class ItemTracker:
    """Tracks of one camera. Feed it every motion result, in time order, from one thread."""

    def __init__(
        self,
        camera_id: str,
        settings: TrackerSettings | None = None,
        *,
        known_code: KnownCode | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.settings = settings or TrackerSettings()
        self._known_code = known_code
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._primary: _Track | None = None
        """The track whose box the next frame's recognition crop is cut from."""
        self.finished: list[TrackSummary] = []  # the latest few, for logs and tests

    @property
    def active(self) -> int:
        """Number of live tracks."""
        return len(self._tracks)

    def primary_box(self) -> Box | None:
        """The box (ROI fractions) to crop the next frame's recognition from: the item moving
        now, or with several, the one recognised least so far."""
        return self._primary.last.box if self._primary is not None else None

    def update(
        self,
        motion: MotionResult,
        candidates: Iterable[Candidate] = (),
        barcode: BarcodeRead | None = None,
    ) -> list[ItemObservation]:
        """Advance by one frame; returns observations of tracks that ended with it.

        ``candidates`` and ``barcode`` are what recognition and the barcode reader made of this
        frame; they count towards the primary track (the largest item matched in this frame).
        """
        if not motion.awake:
            return self.flush()
        t = motion.t
        # Tracks unseen for max_gap_s end before matching: a blob far away in time is another item.
        # So do tracks older than max_track_s: a basket busy without pause must still report.
        s = self.settings
        observations = self._end(
            [
                track
                for track in self._tracks
                if t - track.last.t >= s.max_gap_s or t - track.points[0].t >= s.max_track_s
            ]
        )
        assigned = self._associate(motion.blobs, t)
        for index, blob in enumerate(motion.blobs):
            if index not in assigned and blob.moving >= self.settings.min_moving:
                track = _Track(self._next_id, [self._point(t, blob)])
                self._next_id += 1
                self._tracks.append(track)
                assigned[index] = track
        cropped, self._primary = self._primary, None
        if assigned:
            # Blobs come largest first, so the lowest index is the largest matched item.
            largest = assigned[min(assigned)]
            # This frame's candidates are of the crop cut at the chosen track's box.
            recognised = largest
            if cropped is not None and any(track is cropped for track in assigned.values()):
                recognised = cropped
                cropped.crops += 1
            self._collect(recognised, list(candidates), None)
            # The barcode reader reads the whole frame: its code goes with the largest item.
            self._collect(largest, [], barcode)
            # Recognition can afford one crop per frame. It goes to the matched track recognised
            # least so far (the largest on a tie), so that an item put in beside another, or part
            # of a bunch seen apart, is recognised too: a track without candidates is "none of
            # the products" to fusion, which then asks about the whole change.
            self._primary = min(assigned.items(), key=lambda entry: (entry[1].crops, entry[0]))[1]
        return observations

    def flush(self) -> list[ItemObservation]:
        """End every track now (the gate fell asleep, the camera stopped, the session ended)."""
        self._primary = None
        return self._end(list(self._tracks))

    def _point(self, t: float, blob: Blob) -> TrackPoint:
        return TrackPoint(t, blob.box, blob.centroid, blob.moving >= self.settings.min_moving)

    def _associate(self, blobs: tuple[Blob, ...], t: float) -> dict[int, _Track]:
        """Greedy one-to-one matching (blob index → track): moving blobs first, then nearest."""
        s = self.settings
        pairs: list[tuple[bool, float, int, int]] = []
        for ti, track in enumerate(self._tracks):
            expected = track.predicted(t)
            for bi, blob in enumerate(blobs):
                distance = math.dist(expected, blob.centroid)
                overlap = iou(track.last.box, blob.box)
                if distance <= s.max_jump or overlap >= s.min_iou:
                    still = blob.moving < s.min_moving
                    pairs.append((still, distance - overlap, ti, bi))
        pairs.sort()
        used_tracks: set[int] = set()
        assigned: dict[int, _Track] = {}
        for _still, _cost, ti, bi in pairs:
            if ti in used_tracks or bi in assigned:
                continue
            used_tracks.add(ti)
            track = self._tracks[ti]
            track.points.append(self._point(t, blobs[bi]))
            assigned[bi] = track
        return assigned

    def _collect(
        self, track: _Track, candidates: list[Candidate], barcode: BarcodeRead | None
    ) -> None:
        if candidates:
            track.candidate_frames += 1
            best: dict[str, float] = {}
            for candidate in candidates:  # one vote per label per frame
                best[candidate.label] = max(best.get(candidate.label, 0.0), candidate.probability)
            for label, probability in best.items():
                track.scores[label] += probability
        if barcode is not None:
            track.barcodes.append(barcode)

    def _end(self, tracks: list[_Track]) -> list[ItemObservation]:
        observations = []
        for track in tracks:
            self._tracks.remove(track)
            summary = classify(track.points, self.settings)
            if summary.frames < self.settings.min_frames or summary.path < self.settings.min_path:
                continue
            self.finished = [*self.finished[-15:], replace(summary, track_id=track.track_id)]
            observations.append(
                ItemObservation(
                    camera_id=self.camera_id,
                    direction=summary.direction,
                    candidates=vote_candidates(
                        track.scores, track.candidate_frames, self.settings.recognition_top_k
                    ),
                    barcode=vote_barcode(
                        track.barcodes, self.settings.barcode_agreement_frames, self._known_code
                    ),
                    t=_settled_t(track.points),
                    track_id=track.track_id,
                )
            )
        return observations


def _settled_t(points: list[TrackPoint]) -> float:
    """When the item last moved: for an item put down in view, the moment it came to rest.

    A resting item stays in view until the background absorbs it; stamping the observation with
    the last sighting would put it a second or two after the weight settled.
    """
    return next((p.t for p in reversed(points) if p.moving), points[-1].t)
