"""Training views that look like what the cart camera sees, made from store photos.

The dataset's photos are taken by a person with a phone at arm's length, the product centred and
well lit. The cart camera looks down into a wire basket at items held by a hand or lying at an
angle, under shop lighting, with motion blur. :func:`cart_view` turns one photo into one such
view, all in one perspective warp (the source quad is a random crop with its corners jittered;
the destination quad fills the output or, to imitate an item lying in the basket, a smaller
region of it) followed by cheap pixel operations:

* **viewpoint**: crop scale 0.45–1 of the shorter side, aspect 0.8–1.25, rotation ±25°, corner
  jitter up to 12 % (a tilted package);
* **basket background**: with probability ``basket``, the item shrinks to 55–90 % and lands on a
  drawn wire grid (grey, black or coloured plastic) over a dark floor;
* **hand**: with probability ``hand``, a skin-toned palm and fingers enter from one edge and
  cover roughly 10–30 % of the view;
* **lighting**: brightness, contrast, gamma, white balance (shop LEDs are colder or warmer than
  daylight) and a soft spotlight gradient;
* **blur and noise**: Gaussian or linear motion blur, sensor noise, JPEG re-compression.

Every random choice is drawn from the ``numpy.random.Generator`` passed in, so a view is a pure
function of (photo, seed): the feature cache and the tests are reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]

# BGR skin tones from light to dark: a hand is one of these, shaded.
SKIN_TONES: tuple[tuple[int, int, int], ...] = (
    (180, 200, 240),
    (150, 180, 225),
    (120, 150, 200),
    (90, 120, 170),
    (60, 85, 130),
    (40, 60, 95),
)
WIRE_COLOURS: tuple[tuple[int, int, int], ...] = (
    (170, 170, 170),
    (40, 40, 40),
    (30, 30, 180),
    (160, 90, 30),
    (60, 140, 60),
)


@dataclass(frozen=True, slots=True)
class AugmentConfig:
    """Probabilities and strengths of the cart-camera augmentations (see the module doc)."""

    min_scale: float = 0.45
    rotation_deg: float = 25.0
    corner_jitter: float = 0.12
    basket: float = 0.4
    hand: float = 0.4
    lighting: float = 0.8
    blur: float = 0.35
    noise: float = 0.3
    jpeg: float = 0.3


def _crop_quad(
    h: int, w: int, rng: np.random.Generator, config: AugmentConfig
) -> npt.NDArray[np.float32]:
    """Four source corners (clockwise from top-left): a random crop, rotated and jittered."""
    side = min(h, w) * math.sqrt(rng.uniform(config.min_scale**2, 1.0))
    aspect = math.exp(rng.uniform(math.log(0.8), math.log(1.25)))
    cw, ch = side * math.sqrt(aspect), side / math.sqrt(aspect)
    cx = rng.uniform(min(cw / 2, w / 2), max(w - cw / 2, w / 2))
    cy = rng.uniform(min(ch / 2, h / 2), max(h - ch / 2, h / 2))
    angle = math.radians(rng.uniform(-config.rotation_deg, config.rotation_deg))
    cos, sin = math.cos(angle), math.sin(angle)
    corners = []
    for dx, dy in ((-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)):
        x = dx * cw + rng.uniform(-1, 1) * config.corner_jitter * cw
        y = dy * ch + rng.uniform(-1, 1) * config.corner_jitter * ch
        corners.append((cx + x * cos - y * sin, cy + x * sin + y * cos))
    return np.array(corners, dtype=np.float32)


def basket_background(size: int, rng: np.random.Generator) -> Image:
    """A wire-basket-like texture: a dark floor seen through a rotated grid of wires."""
    floor = rng.uniform(20, 110)
    floor_noise = np.full((size, size, 3), floor, dtype=np.float32)
    floor_noise += rng.normal(0, 8, (size, size, 1)).astype(np.float32)
    canvas: Image = np.clip(floor_noise, 0, 255).astype(np.uint8)
    colour = WIRE_COLOURS[int(rng.integers(len(WIRE_COLOURS)))]
    spacing = max(4, int(size * rng.uniform(0.05, 0.12)))
    thickness = max(1, round(size * rng.uniform(0.006, 0.016)))
    angle = rng.uniform(0, math.pi / 2)
    centre = size / 2
    reach = int(size * 1.5)
    for direction in (angle, angle + math.pi / 2):
        ux, uy = math.cos(direction), math.sin(direction)
        for offset in range(-reach, reach, spacing):
            # A line perpendicular to (ux, uy) at distance ``offset`` from the centre.
            px, py = centre + ux * offset, centre + uy * offset
            a = (int(px - uy * reach), int(py + ux * reach))
            b = (int(px + uy * reach), int(py - ux * reach))
            cv2.line(canvas, a, b, colour, thickness, cv2.LINE_AA)
    return canvas


def draw_hand(image: Image, rng: np.random.Generator) -> Image:
    """``image`` with a hand-like blob (palm and four fingers) entering from a random edge."""
    size = image.shape[0]
    mask = np.zeros(image.shape[:2], dtype=np.uint8)
    reach = rng.uniform(0.3, 0.55) * size  # how far the fingertips come in
    across = rng.uniform(0.25, 0.75) * size  # where along the edge the hand enters
    palm_w = rng.uniform(0.3, 0.45) * size
    # Drawn as if entering from the bottom edge, then rotated to the chosen edge.
    palm_top = size - reach * 0.45
    cv2.ellipse(
        mask,
        (int(across), int(palm_top + palm_w * 0.5)),
        (int(palm_w / 2), int(palm_w * 0.6)),
        0,
        0,
        360,
        255,
        -1,
    )
    finger_w = max(2, int(palm_w / 4.5))
    for i in range(4):
        fx = int(across - palm_w / 2 + finger_w * (0.6 + i * 1.05))
        tip = (fx + int(rng.normal(0, finger_w * 0.5)), int(size - reach * rng.uniform(0.8, 1.0)))
        cv2.line(mask, (fx, int(palm_top + palm_w * 0.3)), tip, 255, finger_w)
        cv2.circle(mask, tip, finger_w // 2, 255, -1)
    mask = np.rot90(mask, int(rng.integers(4))).copy()
    soft = cv2.GaussianBlur(mask, (0, 0), max(0.8, size / 150)).astype(np.float32)[..., None] / 255
    tone = np.array(SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], dtype=np.float32)
    # Shading across the hand: skin is never one flat colour under a ceiling light.
    shade = np.linspace(rng.uniform(0.7, 1.0), rng.uniform(1.0, 1.2), size, dtype=np.float32)
    skin = tone[None, None, :] * shade[:, None, None]
    skin = skin + rng.normal(0, 6, (*image.shape[:2], 1)).astype(np.float32)
    out = image.astype(np.float32) * (1 - soft) + skin * soft
    return np.clip(out, 0, 255).astype(np.uint8)


def _lighting(image: Image, rng: np.random.Generator) -> Image:
    out = image.astype(np.float32) / 255.0
    gains = rng.uniform(0.85, 1.15, 3).astype(np.float32)  # white balance
    out = out * gains * rng.uniform(0.6, 1.35)  # exposure
    mean = out.mean()
    out = (out - mean) * rng.uniform(0.7, 1.3) + mean  # contrast
    if rng.random() < 0.5:
        size = image.shape[0]
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
        cx, cy = rng.uniform(0, 1, 2)
        spot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / rng.uniform(0.1, 0.5))
        out = out * (1 + rng.uniform(-0.3, 0.4) * (spot[..., None] - 0.5))
    out = np.clip(out, 0, 1) ** rng.uniform(0.75, 1.35)  # gamma
    return np.asarray(out * 255 + 0.5, dtype=np.uint8)


def _blur(image: Image, rng: np.random.Generator) -> Image:
    size = image.shape[0]
    if rng.random() < 0.5:
        return np.asarray(cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 1.6) * size / 224))
    length = max(3, int(rng.uniform(3, 11) * size / 224) | 1)
    kernel = np.zeros((length, length), dtype=np.float32)
    kernel[length // 2, :] = 1.0 / length
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1)
    kernel = np.asarray(cv2.warpAffine(kernel, rotation, (length, length)), dtype=np.float32)
    kernel /= max(float(kernel.sum()), 1e-6)
    return np.asarray(cv2.filter2D(image, -1, kernel))


def cart_view(
    photo: Image, size: int, rng: np.random.Generator, config: AugmentConfig | None = None
) -> Image:
    """One augmented ``size``×``size`` BGR view of ``photo`` (see the module doc)."""
    config = config or AugmentConfig()
    h, w = photo.shape[:2]
    src = _crop_quad(h, w, rng, config)
    in_basket = rng.random() < config.basket
    if in_basket:
        side = size * rng.uniform(0.55, 0.9)
        x0, y0 = rng.uniform(0, size - side, 2)
    else:
        side, x0, y0 = float(size), 0.0, 0.0
    dst = np.array(
        [(x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side)], dtype=np.float32
    )
    matrix = cv2.getPerspectiveTransform(src, dst)
    # Shrinking by more than 2× with bilinear sampling aliases; pre-blur the photo in proportion.
    shrink = min(h, w) / side
    source = photo
    if shrink > 2.0:
        source = np.asarray(cv2.GaussianBlur(photo, (0, 0), 0.4 * shrink))
    view: Image = np.asarray(
        cv2.warpPerspective(
            source, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        ),
        dtype=np.uint8,
    )
    if in_basket:
        inside = cv2.warpPerspective(
            np.full((h, w), 255, np.uint8), matrix, (size, size), flags=cv2.INTER_LINEAR
        )
        alpha = (inside.astype(np.float32) / 255.0)[..., None]
        background = basket_background(size, rng)
        view = (view * alpha + background * (1 - alpha)).astype(np.uint8)
    if rng.random() < config.hand:
        view = draw_hand(view, rng)
    if rng.random() < config.lighting:
        view = _lighting(view, rng)
    if rng.random() < config.blur:
        view = _blur(view, rng)
    if rng.random() < config.noise:
        noisy = view.astype(np.float32) + rng.normal(0, rng.uniform(2, 8), view.shape)
        view = np.clip(noisy, 0, 255).astype(np.uint8)
    if rng.random() < config.jpeg:
        quality = int(rng.integers(35, 90))
        ok, buffer = cv2.imencode(".jpg", view, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            view = np.asarray(cv2.imdecode(buffer, cv2.IMREAD_COLOR), dtype=np.uint8)
    return view
