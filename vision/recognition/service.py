"""The recognition façade the cart uses: a model, a gallery and the classifier settings together.

recogniser = ProductRecogniser.open(data_dir / "gallery.npz", unknown_threshold=0.35)
recogniser.enroll("SKU-123", [photo1, photo2, photo3])     # maintenance mode
recogniser.save()
batch = recogniser.recognise(crops, top_k=5, budget_s=0.25)  # vision worker, per frame
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy.typing as npt

from vision.recognition.classify import ClassifierSettings, Recognition
from vision.recognition.enrol import Augmentation, all_views
from vision.recognition.gallery import Gallery
from vision.recognition.manifest import DEFAULT_MANIFEST
from vision.recognition.preprocess import Image
from vision.recognition.recogniser import Recogniser, RecogniserSettings


@dataclass(frozen=True, slots=True)
class FrameRecognition:
    """Results for the first ``len(results)`` crops of a frame; ``skipped`` ran out of budget."""

    results: tuple[Recognition, ...]
    skipped: int
    elapsed_s: float


class ProductRecogniser:
    """Enrol products and recognise crops against them."""

    def __init__(
        self,
        recogniser: Recogniser,
        gallery: Gallery,
        settings: ClassifierSettings | None = None,
        *,
        augmentation: Augmentation | None = None,
        gallery_path: Path | None = None,
    ) -> None:
        if gallery.dim != recogniser.dim:
            raise ValueError(f"gallery has {gallery.dim} dims, the model {recogniser.dim}")
        self.recogniser = recogniser
        self.gallery = gallery
        self.settings = settings or ClassifierSettings.from_calibration(
            recogniser.manifest.calibration
        )
        self.augmentation = augmentation or Augmentation()
        self.gallery_path = gallery_path
        # Staff enrol from the UI's job thread while vision workers classify: the gallery's
        # arrays are replaced as a pair, so readers and writers take turns on them. Embedding
        # (the slow part, thread-safe in onnxruntime) stays outside the lock.
        self._gallery_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        gallery_path: Path | str,
        manifest_path: Path | str = DEFAULT_MANIFEST,
        *,
        unknown_threshold: float | None = None,
        recogniser_settings: RecogniserSettings | None = None,
        augmentation: Augmentation | None = None,
    ) -> ProductRecogniser:
        """Load the model and the gallery at ``gallery_path`` (an empty one if it is absent).

        Raises :class:`~vision.recognition.manifest.ModelError` for a bad model and
        :class:`~vision.recognition.gallery.GalleryError` for a bad gallery or one made with
        another model.
        """
        recogniser = Recogniser.load(manifest_path, recogniser_settings)
        sha = recogniser.manifest.sha256
        path = Path(gallery_path)
        if path.exists():
            gallery = Gallery.load(path, model_sha256=sha)
        else:
            gallery = Gallery(recogniser.dim, model_sha256=sha)
        settings = ClassifierSettings.from_calibration(
            recogniser.manifest.calibration, unknown_threshold=unknown_threshold
        )
        return cls(recogniser, gallery, settings, augmentation=augmentation, gallery_path=path)

    def enroll(self, label: str, images: Sequence[Image]) -> int:
        """Add reference views of ``label`` from ``images`` (BGR); returns the views added."""
        if not images:
            raise ValueError("enrolment needs at least one image")
        views = all_views(images, self.augmentation)
        embeddings = self.recogniser.embed(views)
        with self._gallery_lock:
            return self.gallery.add(label, embeddings)

    def remove(self, label: str) -> int:
        """Forget ``label``; returns how many references were dropped."""
        with self._gallery_lock:
            return self.gallery.remove(label)

    def save(self, path: Path | str | None = None) -> Path:
        """Write the gallery (to the path it was opened from unless ``path`` is given)."""
        target = Path(path) if path is not None else self.gallery_path
        if target is None:
            raise ValueError("no gallery path: pass one")
        with self._gallery_lock:
            self.gallery.save(target)
        return target

    def classify(self, embedding: npt.ArrayLike, top_k: int = 5) -> Recognition:
        """Candidates with calibrated probabilities for one embedding, or ``Unknown``."""
        with self._gallery_lock:
            return self.gallery.classify(embedding, top_k, self.settings)

    def recognise(
        self, crops: Sequence[Image], *, top_k: int = 5, budget_s: float | None = None
    ) -> FrameRecognition:
        """Embed and classify a frame's crops, within ``budget_s`` when given."""
        if budget_s is None:
            started = time.perf_counter()
            embeddings = self.recogniser.embed(crops)
            skipped, elapsed = 0, time.perf_counter() - started
        else:
            done = self.recogniser.embed_within(crops, budget_s)
            embeddings, skipped, elapsed = done.embeddings, done.skipped, done.elapsed_s
        results: tuple[Recognition, ...] = ()
        if len(crops):
            with self._gallery_lock:
                results = self.gallery.classify_many(embeddings, top_k, self.settings)
        return FrameRecognition(results, skipped, elapsed)
