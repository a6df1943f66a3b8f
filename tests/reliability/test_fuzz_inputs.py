"""Bad input, every door: each parser the cart feeds from outside gets random and mutated
input. Each must return a value or raise its documented error with a message (a clear error),
never another exception (a crash) and never hang (the pytest timeout is the bound); input that
reaches the engine must leave the basket's lines as they were. ``fuzz_counts`` counts the inputs
per target for ``docs/reliability.md`` (``out/fuzz-counts.json``).

Targets: the scale protocols (framing and parsing), barcode normalisation, GS1 element strings,
GTINs, variable-measure labels, catalog scan lookup, barcodes and coupons into the engine, QR
payloads (welcome-screen codes and staff badges, signed staff badges, handoff tokens), the
session format (inputs, ``session.json``, wire log, link events), configuration files, catalog
JSON and imports, store layouts, ledger records, simulator scripts and calibration files.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart_app.app import CartApp
from cart_app.catalog import Catalog
from cart_app.catalog_schema import CatalogError, parse_catalog_json
from cart_app.config import ConfigError, load_config_text
from cart_app.domain import Coupon
from cart_app.engine import CartSnapshot
from cart_app.events import ApplyCoupon, CommandRejected, Sensed, StartSession
from cart_app.ledger_codec import CodecError, decode_record, encode_record
from cart_app.store.token import CartKey, TokenClaims, TokenError, issue_token, verify_token
from cart_app.store_layout import LayoutError, demo_store_dir, load_layout
from cart_app.variable_measure import (
    VariableMeasureError,
    build_variable_measure,
    parse_variable_measure,
)
from scale.calibration import CalibrationError, load_calibration
from scale.protocols import PROTOCOLS
from scale.protocols.base import CellFrame, Garbage, Reading, Reply
from scale.sim.script import ScriptError, parse_script
from tests.reliability.conftest import FUZZ
from tests.reliability.helpers import build_app
from tests.scale import test_cartboard, test_continuous, test_mt_sics, test_nci, test_toledo_8217
from tests.test_ledger import records as record_strategy
from vision.barcode.gs1 import GS1Data, InvalidElementString
from vision.barcode.normalise import RejectedRead, normalise
from vision.gtin import InvalidGtin, is_valid_gtin, normalize_gtin

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(600)]

T = TypeVar("T")


def clear_error(call: Callable[[], T], *errors: type[Exception]) -> T | Exception:
    """``call()``'s value, or the documented error it raised, which must carry a message."""
    try:
        return call()
    except errors as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        return exc


def mutated(seeds: list[str], alphabet: st.SearchStrategy[str] | None = None) -> Any:
    """Seeds with a few characters inserted, deleted or replaced, or spliced together."""
    chars = alphabet if alphabet is not None else st.characters(codec="utf-8")
    edit = st.tuples(st.sampled_from("idrs"), st.integers(0, 400), chars)

    def apply(seed: str, other: str, edits: list[tuple[str, int, str]]) -> str:
        text = seed
        for kind, offset, ch in edits:
            at = offset % (len(text) + 1)
            if kind == "i":
                text = text[:at] + ch + text[at:]
            elif kind == "d":
                text = text[:at] + text[at + 1 :]
            elif kind == "r":
                text = text[:at] + ch + text[at + 1 :]
            else:
                text = text[:at] + other[at % (len(other) + 1) :]
        return text

    return st.builds(
        apply, st.sampled_from(seeds), st.sampled_from(seeds), st.lists(edit, max_size=6)
    )


def texts(seeds: list[str]) -> Any:
    """Random text, digit strings, and mutated seeds."""
    return st.one_of(
        st.text(max_size=120),
        st.from_regex(r"\A[0-9]{0,20}\Z"),
        st.binary(max_size=120).map(lambda b: b.decode("latin-1")),
        mutated(seeds),
        mutated(seeds, st.sampled_from("0123456789()\x1d ]eCdQ")),
    )


# --- scale protocols ---------------------------------------------------------------------------

SCALE_SEEDS = {
    "cartboard": test_cartboard.REAL_FRAMES,
    "mt-sics": test_mt_sics.REAL_FRAMES,
    "toledo-8217": test_toledo_8217.REAL_FRAMES,
    "nci": test_nci.REAL_FRAMES,
    "continuous": test_continuous.REAL_FRAMES,
}


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
@FUZZ
@given(data=st.data())
def test_scale_protocol_streams(
    protocol: str, data: st.DataObject, fuzz_counts: Counter[str]
) -> None:
    seeds = SCALE_SEEDS[protocol]
    piece = st.one_of(
        st.sampled_from(seeds),
        st.binary(max_size=40),
        st.tuples(st.sampled_from(seeds), st.integers(0, 60), st.integers(0, 255)).map(
            lambda t: t[0][: t[1]] + bytes([t[2]]) + t[0][t[1] + 1 :]
        ),
    )
    stream = data.draw(st.lists(piece, max_size=30).map(b"".join))
    sizes = data.draw(st.lists(st.integers(1, 64), min_size=1, max_size=8))
    fuzz_counts[f"scale protocol {protocol}"] += 1
    spec = PROTOCOLS[protocol]
    framer = spec.new_framer()
    at = 0
    n = 0
    while at < len(stream):
        chunk = stream[at : at + sizes[n % len(sizes)]]
        at += len(chunk)
        n += 1
        for frame in framer.feed(chunk):
            assert len(frame) <= framer.max_frame
            result = spec.parse_frame(frame)
            assert isinstance(result, Reading | Reply | CellFrame | Garbage)
        assert framer.buffered < framer.max_frame


# --- barcodes ------------------------------------------------------------------------------------

GS = "\x1d"
CODE_SEEDS = [
    "4006381333931",
    "5901234123457",
    "012345678905",
    "01234565",
    "0123456",
    "9780306406157",
    "0102001234567893",
    "(01)09506000134352(3103)000750",
    "]e0010950600013435231030007501715123" + GS + "10ABC",
    "010950600013435231030007503922499" + GS + "21SERIAL",
    "SCAPP:member-42;list=S-1,S-2",
    "SCSTAFF:0042",
]
SYMBOLOGIES = [
    "EAN13",
    "EAN-13",
    "UPC-A",
    "UPCA",
    "EAN8",
    "UPC-E",
    "DataBar",
    "DataBar Limited",
    "DataBar Expanded",
    "QRCode",
    "QR",
]


@FUZZ
@given(name=st.one_of(st.sampled_from(SYMBOLOGIES), st.text(max_size=12)), text=texts(CODE_SEEDS))
def test_barcode_normalise(name: str, text: str, fuzz_counts: Counter[str]) -> None:
    fuzz_counts["barcode normalise"] += 1
    result = clear_error(lambda: normalise(name, text), RejectedRead)
    if not isinstance(result, Exception) and result.gtin is not None:
        assert is_valid_gtin(result.gtin)


@FUZZ
@given(text=texts(CODE_SEEDS))
def test_gs1_element_strings(text: str, fuzz_counts: Counter[str]) -> None:
    fuzz_counts["GS1 element string"] += 1
    data = clear_error(lambda: GS1Data.parse(text, reference_year=2026), InvalidElementString)
    if isinstance(data, GS1Data):
        # A parsed string never fails later in its accessors.
        for read in (
            data.hri,
            lambda: data.gtin,
            lambda: data.net_weight_kg,
            lambda: data.net_weight_lb,
            lambda: data.price,
            lambda: data.price_currency,
            lambda: data.count,
            lambda: data.best_before,
            lambda: data.expiry,
            lambda: data.production_date,
        ):
            read()


@FUZZ
@given(
    code=texts(CODE_SEEDS),
    symbology=st.sampled_from([None, "ean13", "upca", "ean8", "upce", "UPC-E", "x"]),
)
def test_gtin_normalisation(code: str, symbology: str | None, fuzz_counts: Counter[str]) -> None:
    fuzz_counts["GTIN"] += 1
    result = clear_error(lambda: normalize_gtin(code, symbology=symbology), InvalidGtin)
    if isinstance(result, str):
        assert len(result) == 14 and result.isdigit() and is_valid_gtin(result)
    assert isinstance(is_valid_gtin(code, symbology=symbology), bool)


VM_SEEDS = [
    build_variable_measure("21", "12345", 1234),
    build_variable_measure("20", "00042", 750),
    build_variable_measure("28", "99999", 0),
    "2812345012342",
]


@FUZZ
@given(code=texts(VM_SEEDS + CODE_SEEDS))
def test_variable_measure_labels(code: str, fuzz_counts: Counter[str]) -> None:
    fuzz_counts["variable-measure label"] += 1
    read = clear_error(lambda: parse_variable_measure(code), InvalidGtin, VariableMeasureError)
    if not isinstance(read, Exception):
        assert read.weight_g is None or read.weight_g >= 0
        assert read.price_cents is None or read.price_cents >= 0


# --- into the catalog and the engine ------------------------------------------------------------


@pytest.fixture(scope="module")
def cart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CartApp]:
    """One running cart (embedded store, no devices) shared by the engine fuzz targets."""
    app = build_app(tmp_path_factory.mktemp("fuzzcart"), "[scale]\ndriver = 'none'\n")
    with app:
        app.engine.call(StartSession("fuzz"), timeout=10)
        yield app


@FUZZ
@given(code=texts(VM_SEEDS + CODE_SEEDS), symbology=st.sampled_from([None, "ean13", "upce"]))
def test_catalog_scan_lookup(
    cart: CartApp, code: str, symbology: str | None, fuzz_counts: Counter[str]
) -> None:
    fuzz_counts["catalog scan lookup"] += 1
    clear_error(
        lambda: cart.catalog.resolve_scan(code, symbology), InvalidGtin, VariableMeasureError
    )


def _engine_survives(cart: CartApp, event: object) -> None:
    assert isinstance(event, CartSnapshot | CommandRejected), event
    if isinstance(event, CommandRejected):
        assert event.reason.strip()


BARCODE_READS = st.tuples(
    st.one_of(st.sampled_from(["ean13", "upca", "qr", "databar-expanded"]), st.text()),
    texts(CODE_SEEDS),
    st.one_of(st.none(), texts(CODE_SEEDS), st.from_regex(r"\A[0-9]{14}\Z")),
    st.floats(allow_nan=True, allow_infinity=True),
)


@FUZZ
@given(read=BARCODE_READS)
def test_barcodes_into_the_engine_change_no_line(
    cart: CartApp, read: tuple[str, str, str | None, float], fuzz_counts: Counter[str]
) -> None:
    from vision.types import BarcodeRead

    fuzz_counts["barcode into the engine"] += 1
    before = cart.engine.snapshot.basket.lines
    event = cart.engine.call(Sensed(BarcodeRead(*read)), timeout=10)
    _engine_survives(cart, event)
    # A scan alone is evidence waiting for a weight: no line appears or changes.
    assert cart.engine.snapshot.basket.lines == before
    assert cart.engine.snapshot.fault is None


coupon_codes = st.one_of(st.text(max_size=80), mutated(["C10", "WELCOME5", "SPRING-2026"]))
money = st.one_of(st.integers(-(10**12), 10**12), st.integers(0, 5000))


COUPONS = st.builds(
    Coupon,
    coupon_codes,
    money,
    st.integers(-200, 300),
    st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["S-CRISPBREAD", "D-MILK-ECO"])),
)


@FUZZ
@given(coupon=COUPONS)
def test_coupons_into_the_engine(cart: CartApp, coupon: Coupon, fuzz_counts: Counter[str]) -> None:
    fuzz_counts["coupon payload into the engine"] += 1
    before = cart.engine.snapshot.basket
    event = cart.engine.call(ApplyCoupon(coupon), timeout=10)
    _engine_survives(cart, event)
    after = cart.engine.snapshot
    assert after.basket.lines == before.lines
    if isinstance(event, CommandRejected):
        assert after.basket.coupons == before.coupons
    else:
        # Accepted only when well formed and for a product the store sells.
        code, sku = coupon.code, coupon.sku
        assert 0 < len(code) <= 64 and (sku is None or cart.catalog.by_sku(sku) is not None)
    assert after.receipt is not None, after.fault


# --- QR payloads ---------------------------------------------------------------------------------


@FUZZ
@given(text=texts(CODE_SEEDS))
def test_welcome_codes(text: str, fuzz_counts: Counter[str]) -> None:
    from ui.viewmodels.session import CodeKind, classify_code

    fuzz_counts["QR welcome code / staff badge"] += 1
    code = classify_code(text)
    assert code.kind in CodeKind
    if code.kind is not CodeKind.INVALID:
        assert code.ident and len(code.ident) <= 64


_KEY = CartKey.generate()
_CLAIMS = TokenClaims(
    key_id=_KEY.key_id,
    handoff_id="0" * 32,
    session_id="s-1",
    cart_id="cart-1",
    issued_at=1_800_000_000,
    expires_at=1_800_000_900,
    total_cents=4090,
    line_count=3,
    lines_hash=b"\x01" * 32,
)
_TOKEN = issue_token(_KEY, _CLAIMS)


@FUZZ
@given(
    token=st.one_of(
        st.text(max_size=300),
        mutated([_TOKEN], st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567:=a1")),
        mutated([_TOKEN]),
    )
)
def test_handoff_tokens(token: str, fuzz_counts: Counter[str]) -> None:
    fuzz_counts["QR handoff token"] += 1
    result = clear_error(lambda: verify_token(token, _KEY.public_key(), 1_800_000_100), TokenError)
    if not isinstance(result, Exception):
        assert token == _TOKEN  # only the genuine token verifies


# --- the session format --------------------------------------------------------------------------

INPUT_SEEDS = [
    '{"kind":"start","t":0.5}',
    '{"kind":"answer","t":3.0,"prompt":1,"answer":"yes"}',
    '{"kind":"scan","t":4.25,"symbology":"ean13","text":"4006381333931"}',
    '{"kind":"checkout","t":9.0}',
    '{"kind":"coupon","t":5.0,"code":"C1","amount_off_cents":100}',
    '{"kind":"tare","t":1.0,"weight_g":35.5}',
]


@FUZZ
@given(line=texts(INPUT_SEEDS))
def test_session_inputs(line: str, fuzz_counts: Counter[str]) -> None:
    from cart_app.sessions.inputs import parse_input

    fuzz_counts["session inputs.jsonl line"] += 1
    clear_error(lambda: parse_input(line), ValueError)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        yield Path(folder)


META_SEED = json.dumps(
    {
        "format": "smartcart-session",
        "format_version": 1,
        "session_id": "trip-1",
        "complete": True,
        "config": {"path": "config.json", "sha256": "0" * 64},
    }
)


@FUZZ
@given(text=texts([META_SEED, "{}", "[]", '{"format":"smartcart-session","format_version":9}']))
def test_session_meta(scratch: Path, text: str, fuzz_counts: Counter[str]) -> None:
    from cart_app.sessions.format import SessionError, load_session

    fuzz_counts["session.json"] += 1
    folder = scratch / "session"
    folder.mkdir(exist_ok=True)
    (folder / "session.json").write_text(text, encoding="utf-8", errors="surrogatepass")
    clear_error(lambda: load_session(folder), SessionError)


WIRE_SEEDS = [
    '12.345678 rx "$W,17,812345,799001,805512,790040*76\\r\\n"',
    '12.351002 tx "SI\\r\\n"',
]
LINK_SEEDS = ['{"t": 1.5, "event": "opened"}', '{"t": 9.0, "event": "lost", "reason": "unplugged"}']


@FUZZ
@given(wire=texts(WIRE_SEEDS), links=texts(LINK_SEEDS))
def test_session_wire_and_link_logs(
    scratch: Path, wire: str, links: str, fuzz_counts: Counter[str]
) -> None:
    from cart_app.sessions.format import SessionError, read_links, read_wire

    fuzz_counts["session scale.wire + scale-links.jsonl"] += 1
    (scratch / "scale.wire").write_bytes(wire.encode("utf-8", "surrogatepass"))
    (scratch / "links.jsonl").write_bytes(links.encode("utf-8", "surrogatepass"))
    clear_error(lambda: read_wire(scratch / "scale.wire"), SessionError)
    clear_error(lambda: read_links(scratch / "links.jsonl"), SessionError)


# --- configuration, catalog, layout, ledger, simulator, calibration ------------------------------

CONFIG_SEEDS = [
    (Path(__file__).resolve().parents[2] / "docs" / "examples" / name).read_text()
    for name in ("cart.toml", "laptop.toml")
] + ["[scale]\nsilent_timeout_s = 2.0\n", "cart_id = 'c'\n[store]\nmode = 'http'\n"]


@FUZZ
@given(text=texts(CONFIG_SEEDS))
def test_config_files(scratch: Path, text: str, fuzz_counts: Counter[str]) -> None:
    fuzz_counts["config file"] += 1
    result = clear_error(
        lambda: load_config_text(text, source="fuzz.toml", base_dir=scratch), ConfigError
    )
    if isinstance(result, ConfigError):
        assert "fuzz.toml" in str(result)


CATALOG_DOC: dict[str, Any] = json.loads((demo_store_dir() / "catalog.json").read_text())
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc[:3]):
            yield from _paths(value, (*prefix, index))


CATALOG_PATHS = [p for p in _paths(CATALOG_DOC) if p]


@st.composite
def catalog_texts(draw: st.DrawFn) -> str:
    """The demo catalog with values replaced, keys deleted, or plain bad text."""
    if draw(st.integers(0, 4)) == 0:
        bad: str = draw(texts([json.dumps(CATALOG_DOC)[:400], "{}", "[]"]))
        return bad
    doc = json.loads(json.dumps(CATALOG_DOC))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(CATALOG_PATHS))
        parent = doc
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    return json.dumps(doc)


@FUZZ
@given(text=catalog_texts())
def test_catalog_json(text: str, fuzz_counts: Counter[str]) -> None:
    fuzz_counts["catalog JSON"] += 1
    clear_error(lambda: parse_catalog_json(text, source="fuzz.json"), CatalogError)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    catalog = Catalog.open(tmp_path_factory.mktemp("fuzzcat") / "catalog.sqlite3")
    catalog.import_json(demo_store_dir() / "catalog.json")
    yield catalog
    catalog.close()


@FUZZ
@given(text=catalog_texts())
def test_catalog_import_keeps_the_catalog(
    imported: Catalog, scratch: Path, text: str, fuzz_counts: Counter[str]
) -> None:
    try:
        parse_catalog_json(text, source="fuzz.json")
        return  # a valid catalog would rightly replace the old one; only bad ones matter here
    except CatalogError:
        pass
    fuzz_counts["catalog import (refused files)"] += 1
    before = imported.products()
    path = scratch / "catalog.json"
    path.write_text(text)
    clear_error(lambda: imported.import_json(path), CatalogError)
    assert imported.products() == before


LAYOUT_TEXT = (demo_store_dir() / "layout.json").read_text()


@FUZZ
@given(text=texts([LAYOUT_TEXT[:600], LAYOUT_TEXT, "{}"]))
def test_store_layout(scratch: Path, text: str, fuzz_counts: Counter[str]) -> None:
    fuzz_counts["store layout"] += 1
    path = scratch / "layout.json"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    clear_error(lambda: load_layout(path), LayoutError)


@FUZZ
@given(data=st.data())
def test_ledger_records(data: st.DataObject, fuzz_counts: Counter[str]) -> None:
    fuzz_counts["ledger record"] += 1
    kind, payload = encode_record(data.draw(record_strategy))
    kind = data.draw(st.one_of(st.just(kind), st.text(max_size=16)))
    payload = data.draw(st.one_of(st.just(payload), mutated([payload]), st.text(max_size=60)))
    clear_error(lambda: decode_record(kind, payload), CodecError)


SCRIPT_SEEDS = [
    "at 0 put 250 g at front-left\nat 1.5 take 250 g\n",
    "at 2 lean 400 g 1.5s\nat 3 push 2s\n",
]


@FUZZ
@given(text=texts(SCRIPT_SEEDS))
def test_simulator_scripts(text: str, fuzz_counts: Counter[str]) -> None:
    fuzz_counts["scale simulator script"] += 1
    clear_error(lambda: parse_script(text, "fuzz.script"), ScriptError)


CALIBRATION_SEED = json.dumps(
    {"cells": [{"zero_counts": 8000, "counts_per_gram": 100.0} for _ in range(4)]}
)


@FUZZ
@given(text=texts([CALIBRATION_SEED]))
def test_calibration_files(scratch: Path, text: str, fuzz_counts: Counter[str]) -> None:
    fuzz_counts["scale calibration file"] += 1
    path = scratch / "calibration.json"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    clear_error(lambda: load_calibration(path), CalibrationError)


def test_every_target_was_counted(fuzz_counts: Counter[str]) -> None:
    # Runs last in this module: every target above tried inputs in this session (or was
    # deselected). A guard against a target silently trying nothing.
    assert all(n > 0 for n in fuzz_counts.values())


@pytest.mark.parametrize(
    "line",
    ['1.0 rx "\\A"', '1.0 rx "a"b"', '1.0 rx "\\x4"', '1.0 tx "\t"', 'nan rx "a"', 'inf rx ""'],
)
def test_a_damaged_wire_log_line_is_refused(line: str) -> None:
    # Found by the fuzzing above: unknown escapes were decoded with a DeprecationWarning (and
    # a NaN time accepted) instead of being refused as damage.
    from scale.wirelog import parse_entry

    with pytest.raises(ValueError, match=r"not an escaped chunk|not a time"):
        parse_entry(line)
