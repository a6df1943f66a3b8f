"""The demo store's product renders: deterministic, distinct, and carrying readable barcodes."""

from __future__ import annotations

import numpy as np
import pytest

from vision.barcode import BarcodeReader
from vision.gtin import normalize_gtin
from vision.render.pack_print import printed_symbol
from vision.render.products import (
    CatalogProduct,
    catalog_products,
    paste,
    produce_kind,
    product_views,
    render_crop,
    render_cutout,
    render_product,
)
from vision.synthetic import render_background

PRODUCTS = catalog_products()
PACKED = [p for p in PRODUCTS if p.gtins]


def test_every_demo_product_renders_deterministically() -> None:
    for product in PRODUCTS:
        first = render_product(product, view=3, size=96)
        assert first.shape == (96, 96, 3) and first.dtype == np.uint8
        # A second render, by SKU this time, is the same picture to the pixel.
        assert np.array_equal(first, render_product(product.sku, view=3, size=96))


def test_views_differ_and_products_differ() -> None:
    banana = [render_product("FV-BANANA", view=v, size=64) for v in range(4)]
    assert all(not np.array_equal(banana[0], other) for other in banana[1:])
    fronts = {p.sku: render_product(p, size=32).astype(np.int16) for p in PRODUCTS}
    skus = sorted(fronts)
    for i, a in enumerate(skus):
        for b in skus[i + 1 :]:
            # No two products share a picture (the two lookalike milks differ in colour).
            assert np.abs(fronts[a] - fronts[b]).mean() > 2.0, (a, b)


def test_produce_and_packs_are_told_apart_and_cutouts_have_coverage() -> None:
    assert produce_kind(CatalogProduct("X", "Bananer", (), ("Banana",))) == "banana"
    assert produce_kind(CatalogProduct("Y", "Sparris grön", ("7350999000011",), ())) == "asparagus"
    assert produce_kind(CatalogProduct("Z", "Mjölk", ("7350999000103",), ())) is None
    cutout = render_cutout("FV-APPLE-GALA")
    assert cutout.alpha.max() == pytest.approx(1.0, abs=0.01)
    assert 0.4 < float((cutout.alpha > 0.5).mean()) < 0.95  # a round apple in its square
    back = render_crop("D-MILK-STD", side="back")
    assert not np.array_equal(back, render_crop("D-MILK-STD"))


def test_a_product_the_catalog_does_not_know_gets_a_design_of_its_own() -> None:
    stranger = CatalogProduct("ZZ-NEW", "Ny produkt 500 g", ("7350999000011",), ())
    assert np.array_equal(render_product(stranger, size=64), render_product(stranger, size=64))
    with pytest.raises(KeyError):
        render_product("NO-SUCH-SKU")


def test_printed_symbol_takes_catalog_codes_and_gtin14() -> None:
    assert printed_symbol("7350999000103") == ("ean13", "7350999000103")
    assert printed_symbol(normalize_gtin("7350999000103")) == ("ean13", "7350999000103")
    assert printed_symbol(normalize_gtin("045200000313")) == ("upca", "045200000313")
    assert printed_symbol(normalize_gtin("73091233")) == ("ean8", "73091233")
    assert printed_symbol("17350999000100") is None  # an outer case: ITF-14, not EAN/UPC
    # The core hands products over with GTIN-14 codes: the same picture as the catalog's.
    core = CatalogProduct("D-MILK-MED", "Mellanmjölk 1,5 % 1 l", (normalize_gtin("7350999000127"),))
    assert np.array_equal(render_cutout(core).bgr, render_cutout("D-MILK-MED").bgr)


@pytest.mark.parametrize("product", PACKED, ids=[p.sku for p in PACKED])
def test_the_barcode_on_every_pack_reads_in_a_camera_frame(product: CatalogProduct) -> None:
    reader = BarcodeReader()
    cutout = render_cutout(product)
    h, w = cutout.alpha.shape
    frame = render_background(640, 480, seed=1)[0].copy()
    paste(frame, cutout, (640 - w) // 2, (480 - h) // 2)
    read = reader.read_best(frame)
    assert read is not None, f"{product.sku}: no barcode read"
    assert read.gtin == normalize_gtin(product.gtins[0])


def test_enrolment_views_include_the_back_of_packs_only() -> None:
    assert len(product_views("D-YOGHURT-NAT", range(3))) == 4
    assert len(product_views("FV-BANANA", range(3))) == 3
