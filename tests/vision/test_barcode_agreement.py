"""Multi-frame agreement: frames must agree on a code, or the catalog must know it."""

from __future__ import annotations

import pytest

from vision.barcode.agreement import AgreementSettings, BarcodeAgreement
from vision.types import BarcodeRead

Outline = tuple[tuple[float, float], ...]

BOX: Outline = ((100.0, 100.0), (300.0, 100.0), (300.0, 200.0), (100.0, 200.0))
FAR: Outline = ((500.0, 300.0), (600.0, 300.0), (600.0, 400.0), (500.0, 400.0))


def ean(code: str, quality: float = 1.0, location: Outline = BOX) -> BarcodeRead:
    return BarcodeRead("ean13", code, code.zfill(14), quality, location)


def test_a_code_needs_two_frames() -> None:
    agree = BarcodeAgreement()
    assert agree.update(0.00, [ean("4006381333931")]) == ()
    (accepted,) = agree.update(0.05, [ean("4006381333931", quality=0.5)])
    assert accepted.read.gtin == "04006381333931"
    assert accepted.read.quality == 1.0  # the best read of it
    assert (accepted.frames, accepted.by_catalog, accepted.t) == (2, False, 0.05)


def test_frames_must_fall_in_the_window() -> None:
    agree = BarcodeAgreement(AgreementSettings(frames=2, window_s=0.5))
    assert agree.update(0.0, [ean("4006381333931")]) == ()
    assert agree.update(0.9, [ean("4006381333931")]) == ()
    assert len(agree.update(1.0, [ean("4006381333931")])) == 1


def test_one_frame_with_two_reads_of_a_code_is_one_frame() -> None:
    agree = BarcodeAgreement()
    assert agree.update(0.0, [ean("4006381333931"), ean("4006381333931")]) == ()


def test_catalog_accepts_at_first_sight() -> None:
    known = {"04006381333931"}
    agree = BarcodeAgreement(catalog_check=known.__contains__)
    (accepted,) = agree.update(0.0, [ean("4006381333931")])
    assert accepted.by_catalog and accepted.frames == 1
    # Unknown to the catalog: frames must agree as usual.
    assert agree.update(0.1, [ean("5000213002834", location=FAR)]) == ()
    assert len(agree.update(0.2, [ean("5000213002834", location=FAR)])) == 1


def test_qr_has_no_gtin_for_the_catalog() -> None:
    agree = BarcodeAgreement(catalog_check=lambda gtin: True)
    badge = BarcodeRead("qr", "STAFF:0042", None, 0.5, BOX)
    assert agree.update(0.0, [badge]) == ()
    assert len(agree.update(0.1, [badge])) == 1


def test_rival_codes_in_one_place_need_a_clear_lead() -> None:
    agree = BarcodeAgreement()
    right, wrong = ean("5000213002834"), ean("2041813002834")
    assert agree.update(0.0, [right]) == ()
    assert agree.update(0.1, [wrong]) == ()
    assert agree.update(0.2, [wrong]) == ()  # 2 frames against 1: not a lead of 2
    assert agree.update(0.3, [right]) == ()
    assert agree.update(0.4, [right]) == ()  # 3 against 2
    (accepted,) = agree.update(0.5, [right])  # 4 against 2
    assert accepted.read.text == "5000213002834" and accepted.frames == 4


def test_codes_in_different_places_are_independent() -> None:
    agree = BarcodeAgreement()
    agree.update(0.0, [ean("5000213002834"), ean("4006381333931", location=FAR)])
    accepted = agree.update(0.1, [ean("5000213002834"), ean("4006381333931", location=FAR)])
    assert sorted(a.read.text for a in accepted) == ["4006381333931", "5000213002834"]


def test_one_acceptance_per_appearance() -> None:
    agree = BarcodeAgreement(AgreementSettings(frames=2, window_s=1.0, rearm_s=2.0))
    code = ean("4006381333931")
    agree.update(0.0, [code])
    assert len(agree.update(0.1, [code])) == 1
    for t in (0.2, 0.5, 1.0, 2.5, 4.0):  # held in view: not again
        assert agree.update(t, [code]) == ()
    agree.update(4.1, [])
    agree.update(6.5, [code])  # out of sight 2.5 s, then back: a new scan
    assert len(agree.update(6.6, [code])) == 1


def test_reset_and_settings_validation() -> None:
    agree = BarcodeAgreement()
    agree.update(0.0, [ean("4006381333931")])
    agree.reset()
    assert agree.update(0.1, [ean("4006381333931")]) == ()
    with pytest.raises(ValueError):
        AgreementSettings(frames=0)
