"""The written contract: docs/openapi.json is what the server serves, generated from the models;
the server's command line starts it on a free port."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from pydantic import ValidationError

from cart_app.store.contract import (
    API_VERSION,
    CatalogChanges,
    HandoffAck,
    HandoffRequest,
    TelemetryBatch,
    catalog_etag,
    etag_version,
)
from store_server.openapi import DOCS_OPENAPI, openapi_document, openapi_text
from tests.store.conftest import StoreServer

ROOT = Path(__file__).resolve().parents[2]


def test_docs_openapi_is_up_to_date() -> None:
    assert DOCS_OPENAPI.read_text(encoding="utf-8") == openapi_text(), (
        "docs/openapi.json is stale: run `python -m store_server store-admin openapi "
        "--output docs/openapi.json`"
    )


def test_server_serves_the_same_document(server: StoreServer) -> None:
    served = requests.get(f"{server.url}/openapi.json", timeout=5).json()
    assert served == json.loads(DOCS_OPENAPI.read_text(encoding="utf-8"))
    assert served["info"]["version"] == API_VERSION
    assert all(path.startswith("/v1/") for path in served["paths"])


def test_contract_covers_the_issue() -> None:
    paths = openapi_document()["paths"]
    for path in (
        "/v1/catalog",
        "/v1/catalog/changes",
        "/v1/sessions",
        "/v1/handoffs",
        "/v1/handoffs/{handoff_id}/payment",
        "/v1/telemetry",
        "/v1/staff/verify",
        "/v1/lane/verify",
        "/v1/lane/pay",
    ):
        assert path in paths, path


def test_requests_are_strict_and_closed() -> None:
    good = {
        "handoff_id": "a" * 32,
        "session_id": "s1",
        "cart_id": "c1",
        "token": "SC1:AAAAAAAA",
        "currency": "SEK",
        "total_cents": 100,
        "lines": [],
        "created_at": 1.0,
    }
    HandoffRequest.model_validate_json(json.dumps(good))
    for bad in ({"total_cents": "100"}, {"total_cents": 1.5}, {"extra": 1}, {"currency": "sek"}):
        with pytest.raises(ValidationError):
            HandoffRequest.model_validate_json(json.dumps({**good, **bad}))
    with pytest.raises(ValidationError):
        TelemetryBatch.model_validate(
            {"cart_id": "c", "events": [{"kind": "gossip", "event_id": "e", "t": 1}]}
        )


def test_responses_ignore_new_fields_but_not_wrong_types() -> None:
    ack = {"handoff_id": "a" * 32, "status": "paid", "replayed": False, "received_at": 1.0}
    assert HandoffAck.model_validate_json(json.dumps({**ack, "added_in_1_1": "x"}))
    with pytest.raises(ValidationError):
        HandoffAck.model_validate_json(json.dumps({**ack, "replayed": "no"}))
    with pytest.raises(ValidationError):
        CatalogChanges.model_validate_json('{"api_version":"1.0","since":1,"version":"2"}')


def test_etags() -> None:
    assert catalog_etag(7) == '"catalog-v7"'
    assert etag_version('"catalog-v7"') == 7
    assert etag_version('W/"catalog-v7"') == 7
    for other in ("*", '"v7"', '"catalog-v"', '"catalog-v-1"', ""):
        assert etag_version(other) is None


def test_register_adds_both_commands() -> None:
    from store_server.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["store-server", "--db", "x.sqlite3", "--port", "0"])
    assert args.port == 0 and args.func.__name__ == "cmd_serve"
    args = parser.parse_args(
        ["store-admin", "--db", "x", "add-key", "--role", "lane", "--name", "l1"]
    )
    assert args.func.__name__ == "cmd_add_key"


@pytest.mark.slow
def test_store_server_command_starts_on_a_free_port(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    key = subprocess.run(
        [
            sys.executable,
            "-m",
            "store_server",
            "store-admin",
            "--db",
            str(db),
            "add-key",
            "--role",
            "cart",
            "--name",
            "cart-cli",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "store_server",
            "store-server",
            "--db",
            str(db),
            "--port",
            "0",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = ""
        deadline = time.monotonic() + 30
        while not url and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("store-server listening on "):
                url = line.split()[-1]
        assert url, "the server did not announce its port"
        catalog = requests.get(
            f"{url}/v1/catalog", headers={"Authorization": f"Bearer {key}"}, timeout=5
        )
        assert catalog.status_code == 200 and catalog.headers["etag"] == '"catalog-v1"'
        assert catalog.json()["store"]["currency"] == "SEK"  # the demo store was seeded
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_cart_never_loads_the_server() -> None:
    script = (
        "import importlib, pkgutil, sys, cart_app.store\n"
        "for m in pkgutil.walk_packages(cart_app.store.__path__, 'cart_app.store.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.split()
    assert "cart_app.store.link" in out
    for server_side in ("store_server", "fastapi", "uvicorn", "starlette", "sqlalchemy"):
        assert server_side not in out, server_side
