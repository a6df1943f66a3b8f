"""The barcode reader: decoders, escalation and the rules that keep misreads out.

``BarcodeReader(settings).read(image)`` returns the codes it trusts in one image. It decodes a
sequence of *views* of the image, cheapest first, and stops as soon as a code is accepted
(checked after every view) or its time budget is spent. The views come in stages:

1. ``full``: the grayscale frame as it is (and any caller-given regions of interest), through
   the primary decoders (zbar, then zxing-cpp). Most readable frames stop here (~11 ms).
2. ``deblur``: only when the frame's rows show the cepstral signature of a box blur (motion
   across the bars, :mod:`.deblur`): the frame and its located regions Wiener-deconvolved.
3. ``regions``: barcode-like regions found by the structure tensor (:mod:`.locate`), cut out
   with their bars vertical and scaled so the symbol spans about ``region_target_px`` pixels,
   through every decoder (OpenCV's too): rotated, small and off-centre codes.
4. ``regions-enhanced``: the same regions upscaled up to 4x with local contrast equalised
   (CLAHE), then smoothed along the bars or sharpened; big soft symbols also halved: glare,
   low contrast, defocus and noise.
5. ``small-frame``: frames no larger than ``small_frame_px`` (a crop around an item, a
   low-resolution camera) upscaled 2x-4x with CLAHE and sharpening, for codes of 1-px modules.

Every read is normalised (:mod:`.normalise`) and pooled as evidence for its code. A code is
*accepted* when enough independent reads agree on it, when no different code read in the same
place has more than half its support, and, for the short UPC-E and EAN-8, when it has blank
quiet zones (:mod:`.verify`) and is not inside an accepted EAN-13/UPC-A. For EAN/UPC the
reads must come from two **different decoders**: the same decoder reading the same code again
on another view of the same pixels is not independent evidence (the benchmark photos show zbar
repeating one misread over many scan lines and views, and both decoders now and then agreeing
on a wrong code where glare corrupts half a symbol, which the rival read of the other rows
catches). For DataBar, whose checksum is far stronger, two reads by one decoder on two views
are enough, but one read never is (zbar hallucinates DataBar codes in single views); a QR code
(Reed-Solomon) needs one read.
A misread is worse than a miss.

``quality`` in each :class:`~vision.types.BarcodeRead` is 1.0 when two or more decoders agree
on the code and 0.5 when one did (on several views: DataBar and QR, or a single-decoder setup).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from vision.barcode.arrays import Affine, Gray, u8
from vision.barcode.deblur import deblur_rows, estimate_blur_length
from vision.barcode.decoders import Decoder, RawRead, default_decoders
from vision.barcode.locate import LocateSettings, Region, find_regions, map_points, upright_crop
from vision.barcode.normalise import (
    EAN_UPC,
    NormalisedCode,
    RejectedRead,
    Symbology,
    normalise,
)
from vision.barcode.verify import MODULES, quiet_zone_edges
from vision.types import BarcodeRead

Image = Gray
Point = tuple[float, float]
Box = tuple[float, float, float, float]
View = tuple[str, Gray, Affine, tuple[Decoder, ...]]
"""A view to decode: its name, pixels, the map back to frame pixels, the decoders to run."""

STAGES = ("full", "deblur", "regions", "regions-enhanced", "small-frame")
"""The reader's stages, in the order they run."""


@dataclass(frozen=True, slots=True)
class ReaderSettings:
    """How hard the reader tries, and how much evidence it wants. Defaults are measured."""

    primary: tuple[str, ...] = ("zbar", "zxing")
    """Decoders run on whole frames; zxing-cpp is skipped where it is not installed."""
    secondary: tuple[str, ...] = ("opencv",)
    """Decoders run only on located regions (cheaper there): extra independent votes."""
    symbologies: frozenset[Symbology] = frozenset(Symbology)
    """Reads of other symbologies are dropped."""
    stages: tuple[str, ...] = STAGES
    time_budget_s: float = 0.150
    """No new view is decoded after this much time on one image."""
    max_regions: int = 3
    """Regions tried per image, most barcode-like first."""
    region_target_px: float = 360.0
    """Region crops are scaled so the symbol spans about this many pixels (at most 3x)."""
    min_decoders: int = 2
    """Different decoders that must agree on an EAN/UPC code. With a single decoder
    configured, distinct views count instead (much weaker: rely on multi-frame agreement)."""
    min_reads_databar: int = 2
    """Reads needed for DataBar: two decoders, or one decoder on two views. Its checksum
    (mod 79/211, over the GTIN check digit) is far stronger than EAN/UPC's one mod-10 digit, so
    a repeated misread is not the risk; a single read is: zbar found DataBar codes in 25 single
    views of the benchmark's photos (two on photos with no code at all), never in two."""
    min_reads_qr: int = 1
    """Reads needed for QR: Reed-Solomon error correction and BCH-protected format bits make a
    QR misread practically impossible, and a QR code has no second view in the reader (the
    locator finds 1-D symbols)."""
    conflict_ratio: float = 2.0
    """A code is dropped unless it has this times the support of every different code of its
    family read in the same place."""
    max_quiet_zone_edges: int = 2
    """A UPC-E or EAN-8 with more edges than this in a quiet zone is a partial read."""
    small_frame_px: int = 400
    """Frames whose longer side is at most this get the ``small-frame`` stage."""
    small_frame_views: tuple[tuple[float, str], ...] = (
        (2.0, "clahe"),
        (3.0, "clahe-sharp"),
        (3.0, "sharp"),
        (4.0, "clahe"),
    )
    """(upscale factor, enhancement) of each ``small-frame`` view, tried in order."""
    deblur_min_strength: float = -2.5
    """Cepstral dip (see :mod:`.deblur`) below which a view is deconvolved and decoded again."""
    deblur_noise: float = 0.001
    """Noise-to-signal power of the Wiener filter (lower restores more, rings more)."""
    locate: LocateSettings = field(default_factory=LocateSettings)


@dataclass(slots=True)
class _Evidence:
    code: NormalisedCode
    decoders: set[str] = field(default_factory=set)
    views: set[tuple[str, str]] = field(default_factory=set)
    points: list[Point] = field(default_factory=list)
    _box: Box | None = None

    def box(self) -> Box:
        if self._box is None:
            xs = [p[0] for p in self.points]
            ys = [p[1] for p in self.points]
            self._box = (min(xs), min(ys), max(xs), max(ys))
        return self._box


_LONG = frozenset({Symbology.EAN13, Symbology.UPCA})
_SHORT = frozenset({Symbology.EAN8, Symbology.UPCE})


def _family(code: NormalisedCode) -> str:
    """Symbols that can be misread as one another (and so can be rivals in one place)."""
    if code.symbology in EAN_UPC:
        return "ean"
    if code.symbology in (Symbology.DATABAR, Symbology.DATABAR_LIMITED):
        return "databar"
    if code.symbology is Symbology.DATABAR_EXPANDED:
        return "gs1"
    return "qr"


def _key(code: NormalisedCode) -> tuple[str, str]:
    """Reads of one symbol share a key: the GTIN for EAN/UPC and DataBar, else the text."""
    family = _family(code)
    return (family, (code.gtin or "") if family in ("ean", "databar") else code.text)


def _overlap(a: Box, b: Box, grow: float = 0.25) -> bool:
    """Whether two boxes, each grown by ``grow`` of its size (plus 4 px), intersect."""
    ax0, ay0, ax1, ay1 = a
    bx0, by0, bx1, by1 = b
    gax, gay = (ax1 - ax0) * grow + 4, (ay1 - ay0) * grow + 4
    gbx, gby = (bx1 - bx0) * grow + 4, (by1 - by0) * grow + 4
    return (
        ax0 - gax <= bx1 + gbx
        and bx0 - gbx <= ax1 + gax
        and ay0 - gay <= by1 + gby
        and by0 - gby <= ay1 + gay
    )


def to_gray(image: Image) -> Image:
    """A 2-D uint8 view of ``image`` (BGR, BGRA or already gray).

    pyzbar reads only the first channel of a colour array (blue, in OpenCV's order), which
    loses codes printed in some colours; a proper luminance conversion keeps them.
    """
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return u8(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    if image.ndim == 3 and image.shape[2] == 4:
        return u8(cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY))
    raise ValueError(f"unsupported image shape {image.shape}")


class _Pool:
    """Evidence gathered on one image, and the acceptance rules over it."""

    def __init__(self, settings: ReaderSettings, gray: Image, decoder_count: int) -> None:
        self._settings = settings
        self._gray = gray
        self._by_views = decoder_count < 2
        self._quiet: dict[tuple[str, str], bool] = {}
        self.evidence: dict[tuple[str, str], _Evidence] = {}

    def add(self, raw: RawRead, view: str, points: tuple[Point, ...]) -> None:
        try:
            code = normalise(raw.symbology, raw.text)
        except RejectedRead:
            return
        if code.symbology not in self._settings.symbologies or not points:
            return
        key = _key(code)
        ev = self.evidence.get(key)
        if ev is None:
            ev = self.evidence[key] = _Evidence(code)
        ev.decoders.add(raw.decoder)
        ev.views.add((raw.decoder, view))
        ev.points.extend(points)
        ev._box = None
        self._quiet.pop(key, None)

    def support(self, ev: _Evidence) -> int:
        """Independent reads: different decoders for EAN/UPC; for DataBar and QR (and with a
        single decoder) different (decoder, view) reads."""
        if self._by_views or ev.code.symbology not in EAN_UPC:
            return len(ev.views)
        return len(ev.decoders)

    def _quiet_zones_ok(self, ev: _Evidence) -> bool:
        key = _key(ev.code)
        if key not in self._quiet:
            edges = quiet_zone_edges(self._gray, ev.points, MODULES[str(ev.code.symbology)])
            self._quiet[key] = edges is None or max(edges) <= self._settings.max_quiet_zone_edges
        return self._quiet[key]

    def _needed(self, symbology: Symbology) -> int:
        s = self._settings
        if symbology in EAN_UPC:
            return s.min_decoders
        return s.min_reads_qr if symbology is Symbology.QR else s.min_reads_databar

    def accepted(self) -> list[_Evidence]:
        """The codes with enough independent support, no close rival and sound geometry."""
        s = self._settings
        items = list(self.evidence.values())
        out = []
        for ev in items:
            support = self.support(ev)
            if support < self._needed(ev.code.symbology):
                continue
            family = _family(ev.code)
            long = ev.code.symbology in _LONG
            if any(
                support < s.conflict_ratio * self.support(other)
                for other in items
                if other is not ev
                and _family(other.code) == family
                # A short code inside a long one does not veto it: it is the partial read,
                # dropped below (95 modules cannot be misread out of UPC-E's 51).
                and not (long and other.code.symbology in _SHORT)
                and _overlap(ev.box(), other.box())
            ):
                continue
            out.append(ev)
        # A UPC-E or EAN-8 inside a longer symbol is a partial read of it: the longer one was
        # accepted in the same place, or bars run on where its quiet zones should be.
        longer = [ev for ev in out if ev.code.symbology in _LONG]
        return [
            ev
            for ev in out
            if ev.code.symbology not in _SHORT
            or (
                not any(_overlap(ev.box(), big.box(), 0.1) for big in longer)
                and self._quiet_zones_ok(ev)
            )
        ]


_IDENTITY: Affine = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _sharpen(image: Image, sigma: float) -> Image:
    """Unsharp mask: the image plus its difference from a Gaussian blur of ``sigma``."""
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    return u8(cv2.addWeighted(image, 2.0, blurred, -1.0, 0))


class BarcodeReader:
    """Reads the barcodes in one image; see the module docstring for the strategy.

    One reader may be shared by threads: decoders keep per-thread state.
    """

    def __init__(
        self,
        settings: ReaderSettings | None = None,
        *,
        primary: Sequence[Decoder] | None = None,
        secondary: Sequence[Decoder] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.settings = s = settings or ReaderSettings()
        for stage in s.stages:
            if stage not in STAGES:
                raise ValueError(f"unknown stage {stage!r}; expected some of {STAGES}")
        self._primary = tuple(primary) if primary is not None else default_decoders(s.primary)
        self._secondary = (
            tuple(secondary) if secondary is not None else default_decoders(s.secondary)
        )
        if not self._primary:
            raise ValueError("no barcode decoder available")
        self._all = self._primary + self._secondary
        self._clock = clock
        self._local = threading.local()

    def _equalise(self, image: Image) -> Image:
        """CLAHE (local contrast equalisation); OpenCV's object is kept per thread."""
        clahe = getattr(self._local, "clahe", None)
        if clahe is None:
            clahe = self._local.clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
        return u8(clahe.apply(image))

    @property
    def decoder_names(self) -> tuple[str, ...]:
        """The decoders in use: primary, then secondary."""
        return tuple(d.name for d in self._all)

    def read(
        self, image: Image, regions_of_interest: Iterable[Box] = ()
    ) -> tuple[BarcodeRead, ...]:
        """The codes this reader trusts in ``image`` (BGR or gray), best supported first.

        ``regions_of_interest``: optional boxes (x0, y0, x1, y1) in image pixels, e.g. around
        tracked items; each is decoded as its own view in the first stage.
        """
        s = self.settings
        gray = to_gray(image)
        deadline = self._clock() + s.time_budget_s
        pool = _Pool(s, gray, len(self._all))
        regions: tuple[Region, ...] | None = None
        for stage in s.stages:
            # Views are built lazily and the budget is checked before each one: locating,
            # deblurring and upscaling cost as much as decoding, so none is made in vain.
            if stage != "full" and self._clock() > deadline:
                break
            views: Iterator[View]
            if stage == "full":
                first = [("full", gray, _IDENTITY, self._primary)]
                first += [self._roi_view(gray, i, roi) for i, roi in enumerate(regions_of_interest)]
                views = iter(first)
            elif stage in ("regions", "regions-enhanced"):
                if regions is None:
                    regions = find_regions(gray, s.locate)[: s.max_regions]
                views = self._region_views(gray, regions, stage == "regions-enhanced")
            elif stage == "small-frame":
                small = max(gray.shape) <= s.small_frame_px
                views = self._small_frame_views(gray) if small else iter(())
            else:
                if regions is None:
                    regions = find_regions(gray, s.locate)[: s.max_regions]
                views = self._deblur_views(gray, regions)
            if self._decode_views(views, pool, deadline):
                break
        return self._results(pool)

    def _decode_views(self, views: Iterator[View], pool: _Pool, deadline: float) -> bool:
        """Decode ``views`` into ``pool`` until a code is accepted or time is up (True then)."""
        while self._clock() <= deadline:
            view = next(views, None)
            if view is None:
                return False
            name, image, back, decoders = view
            for decoder in decoders:
                for raw in decoder.decode(image):
                    pool.add(raw, name, map_points(raw.polygon, back))
            if pool.accepted():
                return True
        return True

    def read_best(self, image: Image) -> BarcodeRead | None:
        """The best-supported code in ``image``, or None (the vision worker's ``decode``)."""
        reads = self.read(image)
        return reads[0] if reads else None

    def _roi_view(self, gray: Image, index: int, roi: Box) -> View:
        h, w = gray.shape
        x0, y0 = max(0, int(roi[0])), max(0, int(roi[1]))
        x1, y1 = min(w, int(np.ceil(roi[2]))), min(h, int(np.ceil(roi[3])))
        if x1 - x0 < 16 or y1 - y0 < 16:
            return (f"roi{index}", gray[:0, :0], _IDENTITY, ())
        crop = np.ascontiguousarray(gray[y0:y1, x0:x1])
        back = np.array([[1.0, 0.0, float(x0)], [0.0, 1.0, float(y0)]])
        return (f"roi{index}", crop, back, self._primary)

    def _region_views(
        self, gray: Image, regions: Sequence[Region], enhanced: bool
    ) -> Iterator[View]:
        s = self.settings
        for i, region in enumerate(regions):
            fit = s.region_target_px / max(region.length, 1.0)
            if not enhanced:
                crop, back = upright_crop(gray, region, zoom=min(3.0, max(1.0, fit)))
                yield (f"region{i}", crop, back, self._all)
                continue
            crop, back = upright_crop(gray, region, zoom=min(4.0, max(1.0, fit)))
            crop = self._equalise(crop)
            # Smoothing along the bars (they are vertical here) averages noise and print
            # texture away without touching the widths the decoders measure.
            smooth = u8(cv2.blur(crop, (1, 7)))
            yield (f"region{i}-clahe-smooth", smooth, back, self._all)
            yield (f"region{i}-clahe-sharp", _sharpen(crop, 2.0), back, self._all)
            if fit < 0.75:
                # Big, soft symbols: halving them steepens their edges for zbar.
                crop, back = upright_crop(gray, region, zoom=0.5)
                yield (f"region{i}-half", crop, back, self._all)

    def _small_frame_views(self, gray: Image) -> Iterator[View]:
        for zoom, kind in self.settings.small_frame_views:
            big = u8(cv2.resize(gray, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC))
            if "clahe" in kind:
                big = self._equalise(big)
            if "sharp" in kind:
                big = _sharpen(big, zoom * 2 / 3)
            back = np.array([[1 / zoom, 0.0, 0.0], [0.0, 1 / zoom, 0.0]])
            yield (f"full-x{zoom:g}-{kind}", big, back, self._all)

    def _deblur_views(self, gray: Image, regions: Sequence[Region]) -> Iterator[View]:
        s = self.settings
        candidates: list[tuple[str, Image, Affine]] = [("full", gray, _IDENTITY)]
        for i, region in enumerate(regions):
            fit = s.region_target_px / max(region.length, 1.0)
            crop, back = upright_crop(gray, region, zoom=min(3.0, max(1.0, fit)))
            candidates.append((f"region{i}", crop, back))
        for name, image, back in candidates:
            length, strength = estimate_blur_length(image)
            if strength <= s.deblur_min_strength:
                sharp = deblur_rows(image, length, noise=s.deblur_noise)
                yield (f"{name}-deblur{length}", sharp, back, self._all)
                if name != "full":
                    continue
                # The full frame may hold the code at any angle: smoothing along the bars
                # only helps an upright one, which is the frame's own orientation here.
                smooth = u8(cv2.blur(sharp, (1, 9)))
                yield (f"{name}-deblur{length}-smooth", smooth, back, self._all)

    def _results(self, pool: _Pool) -> tuple[BarcodeRead, ...]:
        accepted = sorted(pool.accepted(), key=pool.support, reverse=True)
        out = []
        for ev in accepted:
            pts = np.array(ev.points, dtype=np.float32)
            corners = cv2.boxPoints(cv2.minAreaRect(pts)) if len(pts) >= 2 else pts
            location = tuple((float(x), float(y)) for x, y in corners)
            quality = min(1.0, len(ev.decoders) / 2)
            code = ev.code
            out.append(BarcodeRead(str(code.symbology), code.text, code.gtin, quality, location))
        return tuple(out)
