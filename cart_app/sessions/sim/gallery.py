"""The recognition gallery of generated trips, enrolled through the cart's own camera path.

A store enrols a product by passing it through the cart's camera a few times (``smartcart model
enroll`` with the crops), so the gallery holds what the recogniser will be shown: the tracker's
crops of an item moving through the opening, partly out of the picture at first, at the
camera's resolution. This module does the same with the renders: each product passes the
generated camera at a few enrolment views (never the views trips use) front and back, and
the crops the vision worker would recognise are enrolled under the product's recognition label
(its catalog label, else its SKU, as :func:`vision.render.products.recognition_label` says).
A few shoppers' bags are enrolled under fusion's reserved label ``own-bag``, as a store does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cart_app.domain import Product
from cart_app.fusion.fuser import OWN_BAG_LABEL
from cart_app.sessions.format import sha256_of
from cart_app.sessions.replay_vision import model_ref
from cart_app.sessions.sim.frames import BAG, CameraScene, PassSpec
from cart_app.sessions.sim.plan import render_product
from vision.capture import CameraCapture, CameraSettings
from vision.folder import ImageFolderSource
from vision.motion import MotionGate, MotionSettings
from vision.recognition.enrol import Augmentation
from vision.recognition.service import ProductRecogniser
from vision.render.products import CatalogProduct, Side, recognition_label
from vision.tracking import ItemTracker, TrackerSettings
from vision.types import Candidate, Direction
from vision.worker import VisionWorker

Image = npt.NDArray[np.uint8]
BAG_VIEWS = tuple(range(2001, 2013))
"""The dozen bags (colours, folds) enrolled as ``own-bag``; trips draw theirs from views 0–99."""


def gallery_file(model_name: str) -> str:
    """The batch's gallery for one model: sessions keep the checksum of the file they were made
    with, so a batch extended after a model change must not overwrite the older gallery."""
    return f"gallery-{model_name}.npz"


def enrolment_crops(scene: CameraScene, spec: PassSpec) -> list[Image]:
    """The crops the vision worker hands the recogniser during one pass."""
    crops: list[Image] = []

    def keep(crop: Image) -> tuple[Candidate, ...]:
        crops.append(crop.copy())
        return ()

    capture = CameraCapture(CameraSettings("enrol"), ImageFolderSource("."))
    worker = VisionWorker(
        capture,
        MotionGate(MotionSettings()),
        ItemTracker("enrol", TrackerSettings()),
        lambda obs: None,
        recognise=keep,
    )
    for t, image in scene.frames([spec], 0.0):
        worker.process(image, t)
    return crops


def build_gallery(
    folder: Path,
    products: Sequence[Product],
    *,
    width: int,
    height: int,
    fps: float,
    views: Sequence[int],
    manifest: Path,
) -> Path:
    """``folder/gallery-<model>.npz`` for ``products`` (reused when made with the same settings)."""
    path = folder / gallery_file(manifest.stem)
    stamp = {
        "model": model_ref(manifest).model_dump(),
        "products": [p.sku for p in products],
        "width": width,
        "height": height,
        "fps": fps,
        "views": list(views),
        "own_bag": [OWN_BAG_LABEL, *BAG_VIEWS],
    }
    stamp_path = path.with_suffix(".json")
    if path.is_file() and stamp_path.is_file():
        saved = json.loads(stamp_path.read_text(encoding="utf-8"))
        if saved.get("settings") == stamp and saved.get("sha256") == sha256_of(path):
            return path
    recogniser = ProductRecogniser.open(
        folder / "gallery.new.npz",
        manifest,
        augmentation=Augmentation(flip=True, crop_scale=1.0),
    )
    scene = CameraScene(width, height, fps, seed=99)
    for product in products:
        crops: list[Image] = []
        sides: tuple[Side, ...] = ("front", "back") if product.gtins else ("front",)
        for view in views:
            for side in sides:
                spec = PassSpec(
                    render_product(product), Direction.INTO, 10.0, 1.2, side=side, view=view
                )
                crops += enrolment_crops(scene, spec)
        if crops:
            recogniser.enroll(recognition_label(render_product(product)), crops)
    # A store enrols a few shoppers' bags too, so the cart tares them without asking.
    bag = CatalogProduct(BAG, "own bag")
    bag_crops: list[Image] = []
    for view in BAG_VIEWS:
        bag_crops += enrolment_crops(scene, PassSpec(bag, Direction.INTO, 10.0, 1.2, view=view))
    recogniser.enroll(OWN_BAG_LABEL, bag_crops)
    recogniser.save(path)
    stamp_path.write_text(
        json.dumps({"settings": stamp, "sha256": sha256_of(path)}, indent=1) + "\n",
        encoding="utf-8",
    )
    return path
