"""Gallery whitening on cart-camera passes: top-1 of an item's pass, raw vs whitened.

    .venv/bin/python -m bench.whitening_bench [--test-views 6]

Enrols every demo-store product (and the shoppers' bags) through the generated trips' camera
path at the enrolment views (``cart_app/sessions/sim/gallery.py``), then passes each product
through the same camera at ``--test-views`` other views (0, 1, …: views trips draw from), and
scores each pass as the tracker does: the mean of its crops' probabilities, top-1 against the
product. Prints the figures for the raw prototype scores and for the gallery's within-label
whitening (``vision/recognition/normalise.py``), and the calibration of the whitened one.
Needs no dataset: the renders are the project's own.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cart_app.catalog_schema import load_catalog_file  # noqa: E402
from cart_app.fusion.fuser import OWN_BAG_LABEL  # noqa: E402
from cart_app.sessions.replay_vision import current_manifest  # noqa: E402
from cart_app.sessions.sim.frames import BAG, CameraScene, PassSpec  # noqa: E402
from cart_app.sessions.sim.gallery import BAG_VIEWS, enrolment_crops  # noqa: E402
from cart_app.sessions.sim.plan import TripSettings, render_product  # noqa: E402
from cart_app.store_layout import demo_store_dir  # noqa: E402
from vision.recognition.classify import ClassifierSettings, Unknown  # noqa: E402
from vision.recognition.enrol import Augmentation  # noqa: E402
from vision.recognition.gallery import Gallery  # noqa: E402
from vision.recognition.service import ProductRecogniser  # noqa: E402
from vision.render.products import CatalogProduct, Side, recognition_label  # noqa: E402
from vision.types import Direction  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test-views", type=int, default=6)
    args = parser.parse_args(argv)
    products = load_catalog_file(demo_store_dir() / "catalog.json").products
    recogniser = ProductRecogniser.open(
        Path("/nonexistent/gallery.npz"),
        current_manifest(),
        augmentation=Augmentation(flip=True, crop_scale=1.0),
    )
    scene = CameraScene(320, 240, 8.0, seed=99)
    items: list[tuple[str, CatalogProduct, tuple[Side, ...]]] = [
        (
            recognition_label(render_product(p)),
            render_product(p),
            ("front", "back") if p.gtins else ("front",),
        )
        for p in products
    ]
    items.append((OWN_BAG_LABEL, CatalogProduct(BAG, "own bag"), ("front",)))
    for label, product, sides in items:
        views = BAG_VIEWS if product.sku == BAG else TripSettings().enrol_views
        for view in views:
            for side in sides:
                spec = PassSpec(product, Direction.INTO, 10.0, 1.2, side=side, view=view)
                crops = enrolment_crops(scene, spec)
                if crops:
                    recogniser.enroll(label, crops)
    gallery: Gallery = recogniser.gallery
    print(f"gallery: {gallery.stats()}, whitening fitted: {gallery.whitening() is not None}")
    passes: list[tuple[str, np.ndarray]] = []
    for label, product, sides in items:
        for view in range(args.test_views):
            for side in sides:
                spec = PassSpec(product, Direction.INTO, 10.0, 1.2, side=side, view=view)
                crops = enrolment_crops(scene, spec)
                if crops:
                    passes.append((label, recogniser.recogniser.embed(crops)))
    base = recogniser.settings
    for name, whiten in (("raw prototypes", False), ("whitened", True)):
        settings = ClassifierSettings(base.method, base.temperature, -1.0, base.knn_k, whiten)
        right = 0
        buckets: dict[int, list[bool]] = defaultdict(list)
        for label, embeddings in passes:
            mean: dict[str, float] = defaultdict(float)
            results = gallery.classify_many(embeddings, top_k=5, settings=settings)
            for result in results:
                if isinstance(result, Unknown):
                    continue
                for candidate in result:
                    mean[candidate.label] += candidate.probability / len(results)
            top, p = max(mean.items(), key=lambda kv: kv[1])
            right += top == label
            buckets[min(int(p * 10), 9)].append(top == label)
        print(f"{name:15s} pass top-1 {right / len(passes):.1%} of {len(passes)} passes")
        for b in sorted(buckets):
            hits = buckets[b]
            print(
                f"    top-1 probability {b / 10:.1f}–{(b + 1) / 10:.1f}: {len(hits):4d} passes, "
                f"{sum(hits) / len(hits):.1%} right"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
