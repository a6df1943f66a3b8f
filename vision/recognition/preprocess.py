"""Turning BGR crops into the model's normalised NCHW input.

The policies (``crop``, ``letterbox``, ``stretch``) are described on
:class:`~vision.recognition.manifest.InputSpec`; which one the shipped model uses was measured on
the grocery validation photos (``docs/recognition.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from vision.recognition.manifest import InputSpec

Image = npt.NDArray[np.uint8]
Tensor = npt.NDArray[np.float32]


def as_bgr(image: npt.NDArray[np.uint8]) -> Image:
    """A 3-channel BGR view of ``image`` (grey and BGRA are converted); raises on bad input."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("a crop must be a uint8 numpy array")
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"a crop must be H×W, H×W×3 or H×W×4, not {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("a crop must not be empty")
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    return image


def _resize(image: Image, width: int, height: int) -> Image:
    # INTER_AREA averages when shrinking (no aliasing on large camera crops); it is blocky when
    # enlarging, where bilinear is the better choice.
    shrinking = width * height < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, (width, height), interpolation=interpolation))


def fit(image: Image, spec: InputSpec) -> Image:
    """``image`` resized to the model's input size by the spec's policy (still BGR uint8)."""
    image = as_bgr(image)
    h, w = image.shape[:2]
    out_h, out_w = spec.height, spec.width
    if spec.resize == "stretch":
        return _resize(image, out_w, out_h)
    if spec.resize == "crop":
        # Cut the centred region with the output's aspect ratio, shrunk by crop_fraction, first:
        # resizing only that region is cheaper than resizing the whole crop and then cutting.
        scale = min(h / out_h, w / out_w) * spec.crop_fraction
        crop_h = max(1, round(out_h * scale))
        crop_w = max(1, round(out_w * scale))
        top = (h - crop_h) // 2
        left = (w - crop_w) // 2
        return _resize(image[top : top + crop_h, left : left + crop_w], out_w, out_h)
    # letterbox: the whole crop, padded with the mean colour, which normalises to zero.
    scale = min(out_h / h, out_w / w)
    new_h = max(1, min(out_h, round(h * scale)))
    new_w = max(1, min(out_w, round(w * scale)))
    resized = _resize(image, new_w, new_h)
    mean_rgb = np.array(spec.mean) / spec.scale
    fill = mean_rgb[::-1] if spec.channel_order == "RGB" else mean_rgb
    canvas = np.empty((out_h, out_w, 3), dtype=np.uint8)
    canvas[:] = np.clip(np.round(fill), 0, 255).astype(np.uint8)
    top = (out_h - new_h) // 2
    left = (out_w - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas


class Preprocessor:
    """Normalises fitted crops into a batch tensor, with the per-channel constants precomputed."""

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        std = np.array(spec.std, dtype=np.float32)
        mean = np.array(spec.mean, dtype=np.float32)
        # (x * scale - mean) / std == x * (scale / std) - mean / std: one multiply-add per value.
        self._gain = (spec.scale / std).reshape(3, 1, 1).astype(np.float32)
        self._offset = (mean / std).reshape(3, 1, 1).astype(np.float32)

    def tensor(self, crops: Sequence[Image]) -> Tensor:
        """``[len(crops), 3, H, W]`` float32 input for the model."""
        spec = self.spec
        batch = np.empty((len(crops), 3, spec.height, spec.width), dtype=np.float32)
        for i, crop in enumerate(crops):
            fitted = fit(crop, spec)
            if spec.channel_order == "RGB":
                fitted = fitted[:, :, ::-1]
            batch[i] = fitted.transpose(2, 0, 1)
        batch *= self._gain
        batch -= self._offset
        return batch
