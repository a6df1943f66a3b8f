"""Typed views of OpenCV results (OpenCV's stubs return a generic array, or ``cv2.Mat``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Gray = npt.NDArray[np.uint8]
"""A 2-D uint8 image (or a 3-D BGR one where a function says so)."""
Floats = npt.NDArray[np.float32]
Affine = npt.NDArray[np.float64]


def u8(array: object) -> Gray:
    """``array`` as a contiguous uint8 array (no copy when it already is one)."""
    return np.ascontiguousarray(np.asarray(array, dtype=np.uint8))


def f32(array: object) -> Floats:
    """``array`` as a float32 array (no copy when it already is one)."""
    return np.asarray(array, dtype=np.float32)
