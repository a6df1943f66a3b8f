"""Locating barcode regions, cutting them upright, and blind deblurring, on rendered symbols."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vision.barcode.arrays import u8
from vision.barcode.deblur import deblur_rows, estimate_blur_length
from vision.barcode.decoders import ZbarDecoder
from vision.barcode.locate import find_regions, map_points, upright_crop
from vision.render import Augment, compose, render_ean


def _angle_diff(a: float, b: float) -> float:
    """Difference of two bar directions, modulo 180 degrees."""
    return abs((a - b + 90.0) % 180.0 - 90.0)


@pytest.mark.parametrize("angle", [0.0, 15.0, 37.0, 60.0, 90.0, 135.0])
def test_region_angle_and_upright_crop(angle: float) -> None:
    symbol = render_ean("ean13", "400638133393", module_px=2)
    image, corners = compose(symbol, Augment(angle_deg=angle), seed=1)
    gray = u8(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    region = find_regions(gray)[0]
    # The direction across the bars, in image coordinates (y down), turns with the label.
    assert _angle_diff(region.angle, angle) < 4.0
    centre = np.mean(corners, axis=0)
    assert np.hypot(*(np.array(region.center) - centre)) < 40
    crop, back = upright_crop(gray, region, zoom=1.5)
    reads = ZbarDecoder().decode(crop)
    assert [r.text for r in reads] == ["4006381333931"]
    # The crop's coordinates map back into the label.
    ((x, y),) = map_points(((crop.shape[1] / 2, crop.shape[0] / 2),), back)
    assert np.hypot(x - centre[0], y - centre[1]) < 40


def test_no_region_in_a_flat_or_noisy_frame() -> None:
    rng = np.random.default_rng(0)
    assert find_regions(np.full((240, 320), 128, np.uint8)) == ()
    noise = np.clip(rng.normal(128, 4, (240, 320)), 0, 255).astype(np.uint8)
    assert find_regions(noise) == ()


def _scene_gray(seed: int) -> np.ndarray:
    # Scaled by 0.83, so modules are not whole pixels (as in a photo), with sensor noise.
    symbol = render_ean("upca", "03600029145", module_px=3)
    image, _ = compose(symbol, Augment(scale=0.83, noise_sigma=3), seed=seed)
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))


@pytest.mark.parametrize(("length", "seed"), [(5, 0), (7, 1), (11, 2)])
def test_blur_length_is_found_and_undone(length: int, seed: int) -> None:
    sharp = _scene_gray(seed)
    kernel = np.full((1, length), 1.0 / length, np.float32)
    blurred = np.ascontiguousarray(cv2.filter2D(sharp, -1, kernel), dtype=np.uint8)
    assert ZbarDecoder().decode(blurred) == ()
    found, strength = estimate_blur_length(blurred)
    assert found == length
    assert strength < -3.0
    # The sharp frame's own cepstrum has no dip as deep.
    assert estimate_blur_length(sharp)[1] > strength + 0.5
    restored = deblur_rows(blurred, found)
    assert [r.text for r in ZbarDecoder().decode(restored)] == ["036000291452"]
