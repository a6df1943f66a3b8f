"""Pictures of the demo store's products, made by the project itself (no photos).

The stable entry points::

    render_product(product_or_sku, view=0, size=224)  -> BGR uint8, the item on a basket floor
    render_crop(product_or_sku, view=0)               -> BGR uint8, as a camera's tracker crops it
    render_cutout(product_or_sku, view=0)             -> Cutout: the item alone, with alpha
    product_views(product_or_sku, views=range(5))     -> list of crops, for enrolment
    catalog_products()                                -> the bundled demo catalog's products

A *product* is anything with ``sku``, ``name``, ``gtins`` and ``labels`` (the core's
``cart_app.domain.Product`` is one; ``vision`` never imports the core) or a SKU string, looked
up in the bundled demo catalog. Packaged goods (:mod:`.packs`) get a design of their own: a
shape, colours, a brand word, a logo-like motif, the product's name and its real EAN/UPC symbol;
fruit and vegetables (:mod:`.produce`) are drawn by kind from the product's recognition label.

Views: ``view=0`` is the item upright, at camera scale, evenly lit; every other view number
deterministically rotates and rescales it, relights it (brightness, colour cast, a light
gradient) and, for produce, draws another specimen of the variety. The same (product, view,
size) always gives the same pixels.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from vision.render.designs import pack_design
from vision.render.packs import draw_pack
from vision.render.paint import Canvas, seed_of
from vision.render.produce import KINDS, draw_produce

Bgr = npt.NDArray[np.uint8]
Alpha = npt.NDArray[np.float32]

FLOOR_STEP_PX = 40
"""Wire-grid spacing of the basket floor at camera scale (``vision.synthetic``: 640 // 16)."""
Side = Literal["front", "back"]
"""Which side of a pack faces the camera (produce looks alike all round: another specimen)."""
PRODUCE_SPECIMENS = 3
"""Distinct specimens drawn per produce variety; views cycle through them."""


class ProductLike(Protocol):
    """What rendering needs of a product (``cart_app.domain.Product`` satisfies it)."""

    @property
    def sku(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def gtins(self) -> Sequence[str]: ...
    @property
    def labels(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class CatalogProduct:
    """A product as the catalog JSON lists it (only what rendering and enrolment need)."""

    sku: str
    name: str
    gtins: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Cutout:
    """An item alone: BGR pixels and coverage (alpha 0..1) of the same size, camera scale."""

    bgr: Bgr
    alpha: Alpha


@dataclass(frozen=True, slots=True)
class ViewParams:
    """How one view differs from the upright, evenly lit item."""

    angle_deg: float = 0.0
    scale: float = 1.0
    gain: float = 1.0
    cast: tuple[float, float, float] = (1.0, 1.0, 1.0)
    gradient: float = 0.0
    gradient_dir_deg: float = 0.0
    specimen: int = 0


def default_catalog_path() -> Path:
    """The bundled demo store's ``catalog.json``, found without importing the core package."""
    spec = importlib.util.find_spec("cart_app")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the cart_app package (which holds the demo store) is not installed"
        )
    return (
        Path(next(iter(spec.submodule_search_locations))) / "data" / "demo_store" / "catalog.json"
    )


@functools.lru_cache(maxsize=4)
def catalog_products(path: Path | None = None) -> tuple[CatalogProduct, ...]:
    """Every product of a catalog JSON (default: the bundled demo store), in file order."""
    data = json.loads((path or default_catalog_path()).read_text(encoding="utf-8"))
    return tuple(
        CatalogProduct(p["sku"], p["name"], tuple(p.get("gtins", ())), tuple(p.get("labels", ())))
        for p in data["products"]
    )


def _resolve(product: ProductLike | str) -> ProductLike:
    if not isinstance(product, str):
        return product
    for known in catalog_products():
        if known.sku == product:
            return known
    raise KeyError(f"{product!r} is not a product of the demo catalog")


def recognition_label(product: ProductLike) -> str:
    """The label the recogniser enrols and reports for ``product`` (its first, else its SKU)."""
    return product.labels[0] if product.labels else product.sku


def produce_kind(product: ProductLike) -> str | None:
    """The produce drawing for ``product``, or ``None`` for packaged goods."""
    label = recognition_label(product).lower()
    if label in KINDS:
        return label
    return "asparagus" if "asparagus" in label or "sparris" in product.name.lower() else None


@functools.lru_cache(maxsize=256)
def _base_cutout(product: CatalogProduct, specimen: int, side: Side) -> Cutout:
    """The upright item (cached: the demo camera pastes it into every frame)."""
    sku, name = product.sku, product.name
    gtin = product.gtins[0] if product.gtins else None
    kind = produce_kind(product)
    if kind and side == "back":
        specimen += PRODUCE_SPECIMENS
    rng = np.random.default_rng(seed_of("item", sku, specimen))
    canvas: Canvas = (
        draw_produce(kind, gtin, rng)
        if kind
        else draw_pack(pack_design(product), name, gtin, rng, back=side == "back")
    )
    bgr, alpha = canvas.to_u8()
    bgr.flags.writeable = False
    alpha.flags.writeable = False
    return Cutout(bgr, alpha)


def view_params(product: ProductLike | str, view: int) -> ViewParams:
    """What ``view`` does to ``product`` (view 0 changes nothing)."""
    product = _resolve(product)
    if view < 0:
        raise ValueError("view must be >= 0")
    if view == 0:
        return ViewParams()
    rng = np.random.default_rng(seed_of("view", product.sku, view))
    produce = produce_kind(product) is not None
    c = rng.uniform(-0.08, 0.08)
    return ViewParams(
        angle_deg=float(rng.uniform(-180, 180) if produce else rng.uniform(-30, 30)),
        scale=float(rng.uniform(0.8, 1.1)),
        gain=float(rng.uniform(0.75, 1.2)),
        cast=(1.0 + c, 1.0, 1.0 - c),
        gradient=float(rng.uniform(0.0, 0.25)),
        gradient_dir_deg=float(rng.uniform(0, 360)),
        specimen=view % PRODUCE_SPECIMENS if produce else 0,
    )


def render_cutout(product: ProductLike | str, *, view: int = 0, side: Side = "front") -> Cutout:
    """The item alone at camera scale (a 640×480 basket camera), turned and scaled per ``view``.

    Lighting is not applied here: it belongs to the scene (:func:`render_product`, the demo
    camera) because it falls on the floor too.
    """
    product = _resolve(product)
    params = view_params(product, view)
    gtin = product.gtins[0] if product.gtins else None
    key = CatalogProduct(product.sku, product.name, (gtin,) if gtin else (), tuple(product.labels))
    base = _base_cutout(key, params.specimen, side)
    if params.angle_deg == 0 and params.scale == 1:
        return base
    h, w = base.alpha.shape
    a = math.radians(params.angle_deg)
    out_w = math.ceil((abs(w * math.cos(a)) + abs(h * math.sin(a))) * params.scale) + 2
    out_h = math.ceil((abs(w * math.sin(a)) + abs(h * math.cos(a))) * params.scale) + 2
    m = cv2.getRotationMatrix2D((w / 2, h / 2), params.angle_deg, params.scale)
    m[0, 2] += out_w / 2 - w / 2
    m[1, 2] += out_h / 2 - h / 2
    bgr = cv2.warpAffine(base.bgr, m, (out_w, out_h), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(base.alpha, m, (out_w, out_h), flags=cv2.INTER_LINEAR)
    return Cutout(np.asarray(bgr, np.uint8), np.asarray(alpha, np.float32))


def basket_floor(width: int, height: int, seed: int) -> Bgr:
    """A patch of the basket floor (the look of ``vision.synthetic``), grid offset by ``seed``."""
    rng = np.random.default_rng(seed)
    floor = np.full((height, width, 3), (105, 110, 112), np.uint8)
    ox, oy = (int(v) for v in rng.integers(0, FLOOR_STEP_PX, size=2))
    for x in range(ox, width, FLOOR_STEP_PX):
        cv2.line(floor, (x, 0), (x, height - 1), (70, 72, 75), 2)
    for y in range(oy, height, FLOOR_STEP_PX):
        cv2.line(floor, (0, y), (width - 1, y), (70, 72, 75), 2)
    noise = rng.normal(0.0, 3.0, size=(height, width, 1))
    return np.clip(floor.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def paste(scene: Bgr, cutout: Cutout, x: int, y: int) -> None:
    """Composite ``cutout`` into ``scene`` (in place) with its top-left corner at (x, y).

    Parts outside the scene are clipped, so an item can slide in over the frame's edge.
    """
    h, w = cutout.alpha.shape
    sh, sw = scene.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, sw), min(y + h, sh)
    if x0 >= x1 or y0 >= y1:
        return
    a = cutout.alpha[y0 - y : y1 - y, x0 - x : x1 - x, None]
    src = cutout.bgr[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)
    dst = scene[y0:y1, x0:x1].astype(np.float32)
    scene[y0:y1, x0:x1] = np.clip(dst * (1 - a) + src * a, 0, 255).astype(np.uint8)


def relight(image: Bgr, params: ViewParams) -> Bgr:
    """``image`` under the view's light: overall gain, colour cast and a linear gradient."""
    if params.gain == 1 and params.cast == (1.0, 1.0, 1.0) and params.gradient == 0:
        return image
    h, w = image.shape[:2]
    a = math.radians(params.gradient_dir_deg)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (xx / max(w - 1, 1) - 0.5) * math.cos(a) + (yy / max(h - 1, 1) - 0.5) * math.sin(a)
    cast = np.asarray(params.cast, np.float32)
    factor = params.gain * (1 + params.gradient * ramp)[:, :, None] * cast
    out: Bgr = np.clip(image.astype(np.float32) * factor, 0, 255).astype(np.uint8)
    return out


def render_product(
    product: ProductLike | str, *, view: int = 0, size: int = 224, side: Side = "front"
) -> Bgr:
    """The item of ``view`` on a patch of basket floor, as a ``size × size`` BGR uint8 image.

    The patch is the item's bounding square plus a margin, as a tracker's crop would frame it,
    so enrolment from renders sees what the cart's camera crops show.
    """
    if size < 16:
        raise ValueError("size must be >= 16")
    product = _resolve(product)
    cutout = render_cutout(product, view=view, side=side)
    h, w = cutout.alpha.shape
    span = round(max(w, h) * 1.15)
    scene = basket_floor(span, span, seed_of("floor", product.sku, view, side))
    paste(scene, cutout, (span - w) // 2, (span - h) // 2)
    scene = relight(scene, view_params(product, view))
    interpolation = cv2.INTER_AREA if span > size else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(scene, (size, size), interpolation=interpolation), np.uint8)


def render_crop(
    product: ProductLike | str, *, view: int = 0, side: Side = "front", margin: float = 0.06
) -> Bgr:
    """The item of ``view`` as a cart camera's tracker crops it: its own box plus ``margin``.

    Camera scale and the item's aspect ratio (not square): the recogniser's preprocessing then
    treats enrolment renders exactly as it treats the crops of a live track, which matters
    for long items (a cucumber, a bundle of asparagus) whose centre is all the model sees.
    """
    product = _resolve(product)
    cutout = render_cutout(product, view=view, side=side)
    h, w = cutout.alpha.shape
    mx, my = round(w * margin), round(h * margin)
    scene = basket_floor(w + 2 * mx, h + 2 * my, seed_of("floor", product.sku, view, side))
    paste(scene, cutout, mx, my)
    return relight(scene, view_params(product, view))


def product_views(
    product: ProductLike | str,
    views: Iterable[int] = range(5),
    *,
    back_views: Iterable[int] = (1,),
) -> list[Bgr]:
    """Enrolment photos: :func:`render_crop` of the front for each of ``views`` and, for
    packaged goods, of the back for each of ``back_views`` (shoppers put packs in either way up).
    """
    product = _resolve(product)
    images = [render_crop(product, view=v) for v in views]
    if produce_kind(product) is None:
        images += [render_crop(product, view=v, side="back") for v in back_views]
    return images


def group_cutouts(cutout: Cutout, count: int, *, step: float = 0.6) -> Cutout:
    """``count`` copies of ``cutout`` side by side, each ``step`` of a width to the right of the
    one before and covering it (several units held together).

    Units overlap as a hand holds them, so three 1 kg tubs still fit a frame unscaled (scaling
    would blur a barcode's whole-pixel modules). Premultiplied "over" keeps the edges clean.
    """
    if count == 1:
        return cutout
    h, w = cutout.alpha.shape
    shift = int(w * step)
    width = w + shift * (count - 1)
    colour = np.zeros((h, width, 3), np.float32)
    alpha = np.zeros((h, width), np.float32)
    a = cutout.alpha
    src = cutout.bgr.astype(np.float32) * a[:, :, None]
    for i in range(count):
        x = i * shift
        colour[:, x : x + w] = src + colour[:, x : x + w] * (1 - a[:, :, None])
        alpha[:, x : x + w] = a + alpha[:, x : x + w] * (1 - a)
    bgr = colour / np.maximum(alpha, 1e-6)[:, :, None]
    return Cutout(np.clip(bgr, 0, 255).astype(np.uint8), alpha)
