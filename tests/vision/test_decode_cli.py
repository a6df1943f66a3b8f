"""``smartcart decode IMAGE_OR_DIR... [--json]``, on images the project renders itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from cart_app.cli import main
from vision.barcode.decoders import zxing_available
from vision.render import Augment, compose, render_ean, render_qr

pytestmark = pytest.mark.skipif(
    not zxing_available(), reason="zxing-cpp is not installed: the reader needs two decoders"
)


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """A folder: two codes, a nested folder with a QR and an empty scene, and non-images."""
    scene, _ = compose(render_ean("ean13", "400638133393"), Augment(angle_deg=20), seed=1)
    cv2.imwrite(str(tmp_path / "a_ean13.png"), scene)
    cv2.imwrite(str(tmp_path / "b_upca.jpg"), render_ean("upca", "03600029145"))
    nested = tmp_path / "shelf"
    nested.mkdir()
    cv2.imwrite(str(nested / "badge.png"), render_qr("STAFF:0042"))
    blank, _ = compose(render_qr("x")[:8, :8], Augment(), seed=2)
    cv2.imwrite(str(nested / "nothing.png"), blank)
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_text_output_walks_directories(images: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", str(images)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{images / 'a_ean13.png'}: ean13 4006381333931 (GTIN 04006381333931)",
        f"{images / 'b_upca.jpg'}: upca 036000291452 (GTIN 00036000291452)",
        f"{images / 'shelf' / 'badge.png'}: qr STAFF:0042",
        f"{images / 'shelf' / 'nothing.png'}: no code found",
    ]


def test_json_output(images: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--json", str(images / "a_ean13.png"), str(images / "shelf")]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records == [
        {
            "file": str(images / "a_ean13.png"),
            "codes": [{"symbology": "ean13", "text": "4006381333931", "gtin": "04006381333931"}],
        },
        {
            "file": str(images / "shelf" / "badge.png"),
            "codes": [{"symbology": "qr", "text": "STAFF:0042", "gtin": None}],
        },
        {"file": str(images / "shelf" / "nothing.png"), "codes": []},
    ]


def test_unreadable_files_are_reported_and_fail_the_run(
    images: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = images / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    missing = images / "missing.png"
    args = ["decode", "--json", str(broken), str(images / "b_upca.jpg"), str(missing)]
    assert main(args) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["file"] for r in records] == [str(broken), str(images / "b_upca.jpg"), str(missing)]
    assert records[0] == {"file": str(broken), "codes": [], "error": "cannot load it as an image"}
    assert records[1]["codes"][0]["gtin"] == "00036000291452"
    assert records[2]["error"] == "no such file"
    assert main(["decode", str(missing)]) == 1
    assert capsys.readouterr().out.strip() == f"{missing}: ERROR no such file"


def test_console_script(images: Path) -> None:
    script = Path(sys.executable).with_name("smartcart")
    result = subprocess.run(
        [str(script), "decode", "--json", str(images / "b_upca.jpg")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["codes"][0]["text"] == "036000291452"
