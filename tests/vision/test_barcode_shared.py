"""Real retail photos (ZXing's black-box set in ``../shared/data/barcodes``), upright only.

Guards against regressions of the reader on real photos: the full protocol (rotations, half
resolution, blur, timing) is the benchmark's, ``python -m bench.barcode_bench``. Skipped, with
the reason, when the shared data is absent (an outside checkout; the photos come from the
public ZXing repository, see ``../shared/data/README.md``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.barcode_bench import (
    DATABAR_FOLDERS,
    EAN_UPC_FOLDERS,
    FALSE_POSITIVES,
    Sample,
    load,
    method_reader,
    score,
)
from vision.barcode.decoders import zxing_available

pytestmark = pytest.mark.shared_data

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "barcodes"


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    if not DATA.is_dir():
        pytest.skip(
            f"ZXing barcode photos not found at {DATA} (see ../shared/data/README.md); "
            "real-photo barcode test skipped"
        )
    if not zxing_available():
        pytest.skip("zxing-cpp is not installed: the reader's figures assume both decoders")
    return load(DATA, (*EAN_UPC_FOLDERS, *DATABAR_FOLDERS, FALSE_POSITIVES))


def test_upright_photos(samples: list[Sample]) -> None:
    reader = method_reader()
    ean = score(reader, [s for s in samples if s.folder in EAN_UPC_FOLDERS], "upright")
    databar = score(reader, [s for s in samples if s.folder in DATABAR_FOLDERS], "upright")
    empty = score(reader, [s for s in samples if s.folder == FALSE_POSITIVES], "upright")
    assert ean.images == 217 and databar.images == 59 and empty.images == 22
    # Measured 209 and 47 (47 is every DataBar photo whose label is right and that is not
    # blurred past reading); the margins absorb platform differences in the decoders.
    assert ean.reads >= 200, ean.failures
    assert databar.reads >= 44, databar.failures
    assert ean.misreads == 0 and databar.misreads == 0, ean.failures + databar.failures
    assert empty.false_positives == 0, empty.failures
