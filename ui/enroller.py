"""Enrolment into the running recogniser's gallery, and the basket cameras as feeds.

:class:`GalleryEnroller` uses :class:`vision.recognition.service.ProductRecogniser`'s public
API only (``enroll``, ``save``, ``gallery.count``): the model behind it may change (a new one is
being trained) without this module noticing. It runs on the UI's job thread, never on Kivy's.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from cart_app.domain import Product
from ui.staff_audit import StaffAuditLog
from ui.viewmodels.enrolment import EnrolOutcome, Image
from vision.capture import CameraCapture
from vision.motion import Roi
from vision.recognition.service import ProductRecogniser


class CaptureFeed:
    """A basket camera's newest frame and basket region (for enrolment)."""

    def __init__(self, capture: CameraCapture) -> None:
        """Reads ``capture``'s latest-frame slot (a non-blocking peek)."""
        self._capture = capture

    @property
    def camera_id(self) -> str:
        """The camera's configured id."""
        return self._capture.settings.id

    def latest(self) -> tuple[Image, Roi] | None:
        """The newest frame and the configured ROI, or None before the first frame."""
        frame = self._capture.slot.peek()
        if frame is None:
            return None
        return frame.image, self._capture.settings.roi


class GalleryEnroller:
    """Adds views to the recogniser's gallery, saves it, and writes the staff audit log."""

    def __init__(self, recogniser: ProductRecogniser, audit: StaffAuditLog) -> None:
        """Enrol into ``recogniser`` (the one the vision workers use); audit to ``audit``."""
        self._recogniser = recogniser
        self._audit = audit
        self._lock = threading.Lock()  # one enrolment at a time: the gallery has one writer

    def references(self, label: str) -> int:
        """How many reference views ``label`` has now."""
        return self._recogniser.gallery.count(label)

    def enrol(
        self, product: Product, label: str, images: Sequence[Image], staff: str
    ) -> EnrolOutcome:
        """Embed ``images`` as ``label``'s views, save the gallery, then audit (blocking)."""
        with self._lock:
            views = self._recogniser.enroll(label, list(images))
            path = self._recogniser.save()
            references = self._recogniser.gallery.count(label)
        details: dict[str, str | int | float] = {
            "sku": product.sku,
            "name": product.name,
            "label": label,
            "photos": len(images),
            "views": views,
            "references": references,
            "gallery": str(path),
        }
        try:
            self._audit.append(staff or "?", "enrol", details)
        except OSError as exc:
            # The views are in use already; say plainly that the record of it is missing.
            raise RuntimeError(f"enrolled, but the audit log was not written: {exc}") from exc
        return EnrolOutcome(label, views, references, str(path))
