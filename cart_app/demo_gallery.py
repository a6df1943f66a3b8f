"""The demo store's recognition gallery: the project's own product renders, enrolled once.

``smartcart demo`` needs a gallery before the cart starts (the vision workers load it at build).
It is made with the recognition package's own enrolment (:class:`ProductRecogniser.enroll`: the
renders plus their mirrored and shifted views) from :func:`vision.render.products.product_views`,
and saved as the cart's ``gallery.npz``.

Enrolment (~1,150 embeddings) costs 10-30 s on a laptop, so the result is cached by a key
over everything it depends on: the model (its sha256, read from whichever manifest is the
default now: the model may change under the demo), the drawing code (the bytes of
``vision/render``'s modules), and the products (SKU, name, codes, labels). Any change makes a
new key and a fresh enrolment; an unchanged setup copies the cached file in a millisecond.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import vision.render
from vision.recognition.gallery import Gallery
from vision.recognition.manifest import DEFAULT_MANIFEST, Manifest, ModelError
from vision.recognition.recogniser import RecogniserSettings
from vision.recognition.service import ProductRecogniser
from vision.render.products import ProductLike, product_views, recognition_label, render_crop

GALLERY_FILE = "gallery.npz"
"""The gallery's name in the data folder (:func:`cart_app.cameras.open_recogniser` reads it)."""
FRONT_VIEWS = range(8)
BACK_VIEWS = (1,)
HELD_OUT_VIEWS = range(20, 24)
"""Views never enrolled, for measuring recognition (:func:`held_out_accuracy`)."""


@dataclass(frozen=True, slots=True)
class DemoGallery:
    """The gallery the demo cart will load, and how it came about."""

    path: Path
    labels: int
    references: int
    model: str
    cached: bool
    seconds: float


def _render_code_digest() -> str:
    """sha256 over the drawing modules, so edited drawings are enrolled again."""
    digest = hashlib.sha256()
    folder = Path(next(iter(vision.render.__path__)))
    for module in sorted(folder.glob("*.py")):
        digest.update(module.name.encode())
        digest.update(module.read_bytes())
    return digest.hexdigest()


def gallery_key(model_sha256: str, products: Sequence[ProductLike]) -> str:
    """The cache key of a demo gallery (see the module docstring)."""
    listing = [[p.sku, p.name, list(p.gtins), list(p.labels)] for p in products if p.labels]
    payload = json.dumps(
        {
            "model": model_sha256,
            "render": _render_code_digest(),
            "products": listing,
            "views": [list(FRONT_VIEWS), list(BACK_VIEWS)],
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def enrol_products(recogniser: ProductRecogniser, products: Sequence[ProductLike]) -> int:
    """Enrol every product with a recognition label; returns how many were enrolled.

    A product enrolled before is replaced, not doubled.
    """
    count = 0
    for product in products:
        if not product.labels:
            continue  # the catalog maps no label to it: only its barcode can name it
        label = recognition_label(product)
        recogniser.remove(label)
        recogniser.enroll(label, product_views(product, FRONT_VIEWS, back_views=BACK_VIEWS))
        count += 1
    return count


def demo_model(default: Path = DEFAULT_MANIFEST) -> Path:
    """The model the demo enrols with: the default one, else any installed model that loads.

    The default model may be missing for a while (a new one being trained and not yet
    shipped); the cart then recognises with the gallery's own model
    (:func:`cart_app.cameras.open_recogniser`), so the demo still has recognition.
    Raises :class:`ModelError` (the default's problem) when no model loads.
    """
    try:
        Manifest.load(default, verify=True)
        return default
    except ModelError as exc:
        for candidate in sorted(default.parent.glob("*.json"), reverse=True):
            try:
                Manifest.load(candidate, verify=True)
            except ModelError:
                continue
            return candidate
        raise exc


def ensure_demo_gallery(
    data_dir: Path,
    cache_dir: Path,
    products: Sequence[ProductLike],
    *,
    manifest_path: Path | None = None,
) -> DemoGallery:
    """Put the demo gallery at ``data_dir/gallery.npz``, enrolling only on a cache miss.

    ``manifest_path``: the model to enrol with (default: :func:`demo_model`). Raises
    :class:`~vision.recognition.manifest.ModelError` when the model cannot be loaded.
    """
    started = time.perf_counter()
    manifest_path = manifest_path or demo_model()
    manifest = Manifest.load(manifest_path, verify=False)
    key = gallery_key(manifest.sha256, products)
    cached = cache_dir / f"demo-gallery-{key[:20]}.npz"
    target = data_dir / GALLERY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    hit = cached.is_file()
    if not hit:
        target.unlink(missing_ok=True)
        # Enrolment is a one-off batch job before the cart starts: every core may help (the
        # cart itself runs the model on one thread, next to capture and the UI).
        settings = RecogniserSettings(intra_op_threads=os.cpu_count() or 1, batch_size=16)
        recogniser = ProductRecogniser.open(target, manifest_path, recogniser_settings=settings)
        enrol_products(recogniser, products)
        cache_dir.mkdir(parents=True, exist_ok=True)
        recogniser.save(cached)  # atomic: a killed run leaves no half-written cache entry
        for stale in cache_dir.glob("demo-gallery-*.npz"):
            if stale != cached:
                stale.unlink(missing_ok=True)
    shutil.copyfile(cached, target)
    stats = Gallery.load(target).stats()
    return DemoGallery(
        target, stats.labels, stats.references, manifest.name, hit, time.perf_counter() - started
    )


@dataclass(frozen=True, slots=True)
class Accuracy:
    """Top-1 recognition of renders the gallery never saw."""

    correct: int
    total: int
    confusions: tuple[tuple[str, str], ...]
    """(expected label, recognised label or 'unknown') of every miss."""

    @property
    def top1(self) -> float:
        return self.correct / self.total if self.total else 0.0


def held_out_accuracy(
    recogniser: ProductRecogniser,
    products: Sequence[ProductLike],
    views: Sequence[int] = HELD_OUT_VIEWS,
) -> Accuracy:
    """Recognise held-out views (new turns, scales, lighting, specimens) of every product."""
    correct, total, misses = 0, 0, []
    for product in products:
        if not product.labels:
            continue
        label = recognition_label(product)
        crops = [render_crop(product, view=v) for v in views]
        for result in recogniser.recognise(crops).results:
            total += 1
            top = result[0].label if isinstance(result, tuple) and result else "unknown"
            if top == label:
                correct += 1
            else:
                misses.append((label, top))
    return Accuracy(correct, total, tuple(misses))
