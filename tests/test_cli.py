"""The smartcart command line, run as a shopper's developer or staff would run it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cart_app.cli import main
from vision.gtin import gs1_check_digit

REPO = Path(__file__).resolve().parent.parent


def test_check_config_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for example in sorted((REPO / "docs" / "examples").glob("*.toml")):
        assert main(["check-config", str(example)]) == 0
        assert "OK" in capsys.readouterr().out


def test_check_config_reports_path_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("cart_id = 'c'\n\n[scale]\nbaudrate = 'fast'\nsettle = 1\n")
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:4: scale.baudrate: Input should be a valid integer" in err
    assert f"{bad}:5: scale.settle: unknown key" in err


def test_gtin_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gtin", "4006381333931"]) == 0
    assert capsys.readouterr().out.strip() == "04006381333931"
    assert main(["gtin", "4006381333932"]) == 2
    assert "check digit" in capsys.readouterr().err


def test_demo_then_restore_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    receipt = (out / "receipt.txt").read_text()
    assert "state done" in receipt and "TOTAL" in receipt
    assert "refused" not in printed
    assert "3 för 2" in receipt  # the multi-buy offer applied
    data = out / "data"
    assert main(["basket", "--data-dir", str(data)]) == 0
    # The paid session is over: a restart starts the next shopper on an empty, idle cart.
    assert "state idle" in capsys.readouterr().out

    ledger = data / "ledger.sqlite3"
    assert main(["ledger-verify", str(ledger)]) == 0
    assert "chain intact" in capsys.readouterr().out
    conn = sqlite3.connect(ledger)
    # Someone with the file edits a quantity, having removed the append-only guard.
    conn.execute("DROP TRIGGER ledger_entries_no_update")
    conn.execute("UPDATE ledger_entries SET payload = replace(payload, '3', '9') WHERE seq = 4")
    conn.commit()
    conn.close()
    assert main(["ledger-verify", str(ledger)]) == 1
    assert "TAMPERED at record 4" in capsys.readouterr().out


def test_catalog_lookup_by_gtin_and_variable_measure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path / "d")]
    from cart_app.catalog import Catalog
    from cart_app.store_layout import demo_store_dir

    with Catalog.open(tmp_path / "probe.sqlite3") as catalog:
        catalog.import_json(demo_store_dir() / "catalog.json")
        product = next(p for p in catalog.products() if p.gtins)
    assert main(["catalog", "lookup", product.gtins[0], *data]) == 0
    assert product.sku in capsys.readouterr().out
    body = "400638133393"
    assert main(["catalog", "lookup", body + str(gs1_check_digit(body)), *data]) == 1
    assert "not in the catalog" in capsys.readouterr().out


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("smartcart")
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert "check-config" in result.stdout


def test_run_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    import signal

    script = Path(sys.executable).with_name("smartcart")
    proc = subprocess.Popen(
        [str(script), "run", "--headless", "--data-dir", str(tmp_path / "d")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "running headless" in line:
            break
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, "".join(seen)
    assert any("state idle" in line for line in seen)


@pytest.mark.ui
def test_run_opens_the_window_and_stops_on_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import time

    if not os.environ.get("DISPLAY"):
        pytest.skip("no DISPLAY: run the suite under xvfb-run (./dev test does)")
    script = Path(sys.executable).with_name("smartcart")
    proc = subprocess.Popen(
        [str(script), "-v", "run", "--data-dir", str(tmp_path / "d")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(8)  # let the window come up (software GL under Xvfb is slow)
    assert proc.poll() is None, "smartcart run exited before its window could open"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-3000:]
    assert "Window" in out or "kivy" in out.lower()
