"""Enrolment: reference embeddings for a product from a few photos, without retraining.

Each photo is embedded as it is and, lightly augmented, as a few more views: a horizontal mirror
(an item is put in the basket either way round) and slightly shifted sub-crops (the tracker's box
never sits exactly where the enrolment photo was framed). More views per photo make the label's
prototype a steadier average; ``docs/recognition.md`` measures what each augmentation is worth in
the few-shot setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vision.recognition.preprocess import Image, as_bgr


@dataclass(frozen=True, slots=True)
class Augmentation:
    """Which extra views each enrolment photo adds.

    ``flip``: the mirror image. ``crop_scale``: when below 1, two sub-crops of this fraction of
    each side, anchored top-left and bottom-right (0.9 keeps 81 % of the area).
    """

    flip: bool = True
    crop_scale: float = 0.9

    def __post_init__(self) -> None:
        if not 0.5 <= self.crop_scale <= 1.0:
            raise ValueError("crop_scale must lie in [0.5, 1]")

    @property
    def views_per_image(self) -> int:
        return 1 + int(self.flip) + (2 if self.crop_scale < 1.0 else 0)


NO_AUGMENTATION = Augmentation(flip=False, crop_scale=1.0)


def enrolment_views(image: Image, augmentation: Augmentation) -> list[Image]:
    """``image`` and its augmented views, per ``augmentation``."""
    image = as_bgr(image)
    views = [image]
    if augmentation.flip:
        views.append(np.ascontiguousarray(image[:, ::-1]))
    if augmentation.crop_scale < 1.0:
        h, w = image.shape[:2]
        ch = max(1, round(h * augmentation.crop_scale))
        cw = max(1, round(w * augmentation.crop_scale))
        views.append(image[:ch, :cw])
        views.append(image[h - ch :, w - cw :])
    return views


def all_views(images: Sequence[Image], augmentation: Augmentation) -> list[Image]:
    """The views of every image, in order."""
    return [view for image in images for view in enrolment_views(image, augmentation)]
