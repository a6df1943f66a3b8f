"""``smartcart doctor``: each check against the real condition it looks for."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cart_app.cli import main
from cart_app.config import LoadedConfig, load_config_text
from cart_app.doctor import (
    Finding,
    Status,
    check_cameras,
    check_data_dir,
    check_disk,
    check_display,
    check_model,
    check_serial,
    check_store,
    check_zbar,
    check_zxing,
    report,
)
from vision.recognition.manifest import DEFAULT_MANIFEST, Manifest

V0 = DEFAULT_MANIFEST.parent / "grocery-embed-v0.json"


def _config(tmp_path: Path, text: str = "", profile: str = "laptop") -> LoadedConfig:
    return load_config_text(
        f"[paths]\ndata_dir = '{tmp_path / 'data'}'\n{text}",
        source="t.toml",
        base_dir=tmp_path,
        profile=profile,
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.fixture
def health_server() -> Iterator[str]:
    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/v1/health"
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}' if ok else b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_barcode_decoders_decode_a_rendered_ean() -> None:
    assert check_zbar().status is Status.OK
    assert check_zxing().status in (Status.OK, Status.WARN)


def test_model_checksum_ok_and_a_corrupted_copy_fails(tmp_path: Path) -> None:
    manifest = Manifest.load(V0, verify=False)
    assert check_model(V0).status is Status.OK
    shutil.copy(V0, tmp_path / V0.name)
    data = bytearray(manifest.model_path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the weights
    (tmp_path / manifest.model_path.name).write_bytes(bytes(data))
    found = check_model(tmp_path / V0.name)
    assert found.status is Status.FAIL
    assert "sha256" in found.detail and found.fix
    (tmp_path / manifest.model_path.name).unlink()
    assert "not found" in check_model(tmp_path / V0.name).detail


def test_store_reachable_and_closed_port(tmp_path: Path, health_server: str) -> None:
    up = _config(tmp_path, f"[store]\nmode = 'http'\nbase_url = '{health_server}'\n")
    assert check_store(up).status is Status.OK
    port = _closed_port()
    down = _config(tmp_path, f"[store]\nmode = 'http'\nbase_url = 'http://127.0.0.1:{port}'\n")
    found = check_store(down, timeout_s=2)
    assert found.status is Status.WARN and "unreachable" in found.detail
    assert check_store(_config(tmp_path, "[store]\nmode = 'embedded'\n")).status is Status.OK


def test_serial_port_present_missing_and_not_permitted(tmp_path: Path) -> None:
    primary, secondary = os.openpty()  # a real tty device, as a USB serial adapter is
    try:
        tty = os.ttyname(secondary)
        port = _config(tmp_path, f"[scale]\ndriver = 'serial'\nurl = '{tty}'\n")
        assert check_serial(port).status is Status.OK
        denied = check_serial(port, access=lambda _path, _mode: False)
        assert denied.status is Status.FAIL and "dialout" in denied.fix
    finally:
        os.close(primary)
        os.close(secondary)
    gone = _config(tmp_path, "[scale]\ndriver = 'serial'\nurl = '/dev/ttyUSB97'\n")
    assert check_serial(gone).status is Status.FAIL
    sim = _config(tmp_path, "[scale]\ndriver = 'simulator'\n")
    assert check_serial(sim).status is Status.OK


def test_cameras_missing_device_warns_on_a_laptop_and_fails_on_a_cart(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    dev.mkdir()
    webcam = "[[cameras]]\nid = 'top'\nsource = 'webcam:3'\n"
    laptop = _config(tmp_path, webcam)
    assert check_cameras(laptop, dev).status is Status.WARN
    (dev / "video3").write_bytes(b"")  # the device node appears
    assert check_cameras(laptop, dev).status is Status.OK
    cart = _config(tmp_path, "[[cameras]]\nid = 'top'\nsource = '/dev/video98'\n", "cart")
    assert check_cameras(cart, dev).status is Status.FAIL


def test_display_with_display_xvfb_or_nothing() -> None:
    assert check_display({"DISPLAY": ":5", "PATH": ""}).status is Status.OK
    nothing = check_display({"PATH": ""})  # no display and no Xvfb on an empty PATH
    assert nothing.status is Status.WARN and "Xvfb" in nothing.fix
    xvfb = shutil.which("Xvfb")
    if xvfb:
        assert check_display({"PATH": str(Path(xvfb).parent)}).status is Status.OK


def test_data_dir_writable_or_not(tmp_path: Path) -> None:
    assert check_data_dir(tmp_path / "data").status is Status.OK
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    found = check_data_dir(blocker / "data")  # a data folder under a regular file
    assert found.status is Status.FAIL and found.fix


def test_disk_space_thresholds(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    assert check_disk(tmp_path, fail_below=0, warn_below=0).status is Status.OK
    assert check_disk(tmp_path, fail_below=0, warn_below=free + 1).status is Status.WARN
    assert check_disk(tmp_path / "not" / "yet", fail_below=free + 1).status is Status.FAIL


def test_report_exit_status_and_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines: list[str] = []
    assert (
        report(
            [Finding("a", Status.OK, "fine"), Finding("b", Status.WARN, "meh", "x")], lines.append
        )
        == 0
    )
    assert report([Finding("c", Status.FAIL, "broken", "fix it")], lines.append) == 1
    assert any("fix: fix it" in line for line in lines)
    config = tmp_path / "cart.toml"
    config.write_text(f"[paths]\ndata_dir = '{tmp_path / 'data'}'\n[store]\nmode = 'embedded'\n")
    code = main(["doctor", "--config", str(config)])
    out = capsys.readouterr().out
    assert "libzbar" in out and "data dir" in out and "checks:" in out
    assert code == (1 if "FAIL" in out else 0)
