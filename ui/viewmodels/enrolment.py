"""Product enrolment from the cart's own cameras (maintenance): pick, capture views, enrol.

Staff pick a product (search by name or code, or scan its barcode), hold it in the basket
opening and capture a few views: each capture takes the basket-region crop (the camera's ROI)
of every camera's newest frame. The views show as thumbnails; "Enrol" adds them to the
recogniser's gallery under the product's recogniser label (no retraining) and writes the staff
audit log. From the next frame on the cameras recognise the product.

Capturing copies frames and enrolling embeds images and writes the gallery: both run on the
job thread (:meth:`EnrolmentVM.capture_job`, :meth:`EnrolmentVM.enrol_job` return the work;
the controller runs it and hands the result back on the Kivy thread).

A product without a recogniser label in the catalog cannot be enrolled: fusion maps what the
camera says to products by label only, so its views would never count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from cart_app.domain import Product
from ui.i18n import Translator
from ui.viewmodels.common import ProductSearch
from vision.motion import Roi, roi_pixels

Image = npt.NDArray[np.uint8]

MIN_SHOTS: Final = 3
RECOMMENDED_SHOTS: Final = 5
"""``docs/recognition.md``: five photos from several sides lift top-1 from 44 % to 62 %."""
MAX_SHOTS: Final = 12
MAX_RESULTS: Final = 8


class CameraFeed(Protocol):
    """One basket camera's newest frame and basket region (a ``CameraCapture`` behind it)."""

    @property
    def camera_id(self) -> str:
        """The camera's id."""
        ...

    def latest(self) -> tuple[Image, Roi] | None:
        """The newest BGR frame and the ROI, or None before the first frame."""
        ...


@dataclass(frozen=True, slots=True)
class EnrolOutcome:
    """What an enrolment did."""

    label: str
    views: int
    """Reference views added (each photo plus its augmented variants)."""
    references: int
    """The label's reference views in the gallery now."""
    gallery: str


class Enroller(Protocol):
    """The recogniser's gallery, plus the audit log (``ui.wiring`` builds one)."""

    def references(self, label: str) -> int:
        """How many reference views ``label`` has (a quick read)."""
        ...

    def enrol(
        self, product: Product, label: str, images: Sequence[Image], staff: str
    ) -> EnrolOutcome:
        """Add ``images`` under ``label``, save the gallery, audit it as ``staff``'s (blocking:
        a job)."""
        ...


@dataclass(frozen=True, slots=True, eq=False)
class Shot:
    """One captured view: the basket-region crop of one camera's frame (BGR)."""

    camera_id: str
    image: Image


def basket_crop(image: Image, roi: Roi) -> Image:
    """The basket region of ``image`` as its own array (the frame's buffer is reused)."""
    h, w = int(image.shape[0]), int(image.shape[1])
    x0, y0, x1, y1 = roi_pixels(roi, w, h)
    return np.ascontiguousarray(image[y0:y1, x0:x1]).copy()


def grab_shots(feeds: Sequence[CameraFeed]) -> list[Shot]:
    """The basket crop of every camera's newest frame (cameras without a frame are skipped)."""
    shots: list[Shot] = []
    for feed in feeds:
        latest = feed.latest()
        if latest is not None:
            image, roi = latest
            shots.append(Shot(feed.camera_id, basket_crop(image, roi)))
    return shots


@dataclass(frozen=True, slots=True)
class EnrolProductRow:
    """A search hit to pick."""

    sku: str
    name: str
    detail: str
    selected: bool


@dataclass(frozen=True, slots=True)
class EnrolmentView:
    """The enrolment tab as shown."""

    available: bool
    query: str
    results: tuple[EnrolProductRow, ...]
    product: str
    note: str
    shots: tuple[Shot, ...]
    count: str
    message: str
    busy: bool
    can_capture: bool
    can_enrol: bool
    can_clear: bool


class EnrolmentVM:
    """The product picked, the views captured, and the enrolment's outcome."""

    def __init__(
        self,
        catalog: ProductSearch,
        tr: Translator,
        *,
        feeds: Sequence[CameraFeed] = (),
        enroller: Enroller | None = None,
    ) -> None:
        """Available only with cameras and a recogniser (``enroller``)."""
        self._catalog = catalog
        self._tr = tr
        self._feeds = tuple(feeds)
        self._enroller = enroller
        self._query = ""
        self._results: list[Product] = []
        self._product: Product | None = None
        self._references = 0
        self._shots: list[Shot] = []
        self._busy = False
        self._message = ""
        self.view = self._build()

    @property
    def available(self) -> bool:
        """Whether this cart can enrol (cameras and a recogniser)."""
        return bool(self._feeds) and self._enroller is not None

    @property
    def product(self) -> Product | None:
        """The product picked."""
        return self._product

    # -- picking ----------------------------------------------------------------------------------
    def search(self, text: str) -> EnrolmentView:
        """Products by name or code."""
        self._query = text
        self._results = self._catalog.search(text, MAX_RESULTS) if text.strip() else []
        return self._rebuild()

    def select(self, sku: str) -> EnrolmentView:
        """Pick a product; views captured for another product are dropped."""
        product = self._catalog.by_sku(sku)
        if product is None:
            return self._rebuild()
        if self._product is None or product.sku != self._product.sku:
            self._shots.clear()
        self._product = product
        self._message = ""
        label = self.label_of(product)
        self._references = (
            self._enroller.references(label) if label and self._enroller is not None else 0
        )
        return self._rebuild()

    def select_code(self, code: str) -> EnrolmentView:
        """A scanned barcode picks its product (when it names exactly one)."""
        self.search(code)
        if len(self._results) == 1:
            return self.select(self._results[0].sku)
        self._message = self._tr("enrol.unknown_code", code=code)
        return self._rebuild()

    @staticmethod
    def label_of(product: Product) -> str:
        """The recogniser label enrolled views go under (the catalog's first), or empty."""
        return product.labels[0] if product.labels else ""

    # -- capturing --------------------------------------------------------------------------------
    def capture_job(self) -> Callable[[], list[Shot]] | None:
        """The work of one capture (off the Kivy thread), or None when it cannot run now."""
        if not self.view.can_capture:
            return None
        self._busy = True
        self._message = ""
        self._rebuild()
        feeds = self._feeds
        return lambda: grab_shots(feeds)

    def captured(self, shots: list[Shot] | None, error: BaseException | None) -> EnrolmentView:
        """A capture ended (Kivy thread)."""
        self._busy = False
        if error is not None:
            self._message = "✕ " + self._tr("enrol.capture_failed", reason=error)
        elif not shots:
            self._message = "✕ " + self._tr("enrol.no_frame")
        else:
            room = MAX_SHOTS - len(self._shots)
            self._shots.extend(shots[:room])
        return self._rebuild()

    def remove_shot(self, index: int) -> EnrolmentView:
        """Drop one captured view (a thumbnail's ✕)."""
        if 0 <= index < len(self._shots) and not self._busy:
            del self._shots[index]
        return self._rebuild()

    def clear(self) -> EnrolmentView:
        """Drop every captured view."""
        if not self._busy:
            self._shots.clear()
            self._message = ""
        return self._rebuild()

    # -- enrolling --------------------------------------------------------------------------------
    def enrol_job(self, staff: str) -> Callable[[], EnrolOutcome] | None:
        """The enrolment's work (off the Kivy thread), or None when it cannot run now."""
        enroller, product = self._enroller, self._product
        if not self.view.can_enrol or enroller is None or product is None:
            return None
        self._busy = True
        self._message = "… " + self._tr("enrol.enrolling")
        self._rebuild()
        label = self.label_of(product)
        images = [shot.image for shot in self._shots]
        return lambda: enroller.enrol(product, label, images, staff)

    def enrolled(self, outcome: EnrolOutcome | None, error: BaseException | None) -> EnrolmentView:
        """The enrolment ended (Kivy thread): the views are in the gallery, or nothing is."""
        self._busy = False
        if error is not None or outcome is None:
            self._message = "✕ " + self._tr("enrol.failed", reason=error or "-")
        else:
            self._shots.clear()
            self._references = outcome.references
            self._message = "✓ " + self._tr(
                "enrol.done", views=outcome.views, references=outcome.references
            )
        return self._rebuild()

    def refresh(self) -> EnrolmentView:
        """Rebuild the texts (after a language switch)."""
        return self._rebuild()

    # -- the view ---------------------------------------------------------------------------------
    def _rebuild(self) -> EnrolmentView:
        self.view = self._build()
        return self.view

    def _row(self, product: Product) -> EnrolProductRow:
        codes = ", ".join(g.lstrip("0") for g in product.gtins[:1])
        detail = " · ".join(part for part in (product.sku, codes) if part)
        if not product.labels:
            detail += " · " + self._tr("enrol.no_label_short")
        selected = self._product is not None and self._product.sku == product.sku
        return EnrolProductRow(product.sku, product.name, detail, selected)

    def _build(self) -> EnrolmentView:
        tr = self._tr
        product = self._product
        label = self.label_of(product) if product is not None else ""
        if not self.available:
            note = tr("enrol.no_recogniser") if self._feeds else tr("enrol.no_camera")
        elif product is None:
            note = tr("enrol.pick")
        elif not label:
            note = tr("enrol.no_label")
        else:
            note = tr("enrol.label", label=label, references=self._references)
        count = len(self._shots)
        ready = self.available and product is not None and bool(label) and not self._busy
        return EnrolmentView(
            available=self.available,
            query=self._query,
            results=tuple(self._row(p) for p in self._results),
            product=product.name if product is not None else "",
            note=note,
            shots=tuple(self._shots),
            count=tr("enrol.count", count=count, min=MIN_SHOTS, recommended=RECOMMENDED_SHOTS),
            message=self._message,
            busy=self._busy,
            can_capture=ready and count < MAX_SHOTS,
            can_enrol=ready and count >= MIN_SHOTS,
            can_clear=count > 0 and not self._busy,
        )
