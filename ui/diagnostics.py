"""The maintenance screen's "Export diagnostics": one zip for a technician, secrets left out.

Contents: the configuration (API key and PIN hash redacted), the ledger's chain check, the
start-up warnings, device and store link status, and the UI bridge's counters. The zip goes to
``<data_dir>/diagnostics/``. Run from the UI's job thread: it reads files and walks the ledger.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from cart_app.app import CartApp
from ui.staff_audit import FILE_NAME as STAFF_AUDIT_FILE

REDACTED = "<redacted>"
_SECRET_KEYS = frozenset({"api_key", "pin_hash", "client_key_file"})


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: (REDACTED if k in _SECRET_KEYS and v else _redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def export_diagnostics(app: CartApp, extra: Mapping[str, Any] | None = None) -> Path:
    """Write the bundle and return its path."""
    data_dir = app.loaded.resolve(app.loaded.config.paths.data_dir)
    folder = data_dir / "diagnostics"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(app.clock.wall()))
    path = folder / f"diagnostics-{app.loaded.config.cart_id}-{stamp}.zip"
    report = app.ledger.verify()
    snapshot = app.engine.snapshot
    status: dict[str, Any] = {
        "cart_id": app.loaded.config.cart_id,
        "written_at": app.clock.wall(),
        "python": sys.version,
        "platform": platform.platform(),
        "warnings": list(app.warnings),
        "devices": _plain(app.devices.status),
        "store_link": _plain(app.store_link.status) if app.store_link else "embedded",
        "session": {
            "id": snapshot.basket.session_id,
            "state": snapshot.basket.state.value,
            "lines": len(snapshot.basket.lines),
            "pending_prompts": len(snapshot.basket.pending_prompts),
            "fault": snapshot.fault,
        },
        "ledger": _plain(report),
        "parts": [part.name for part in app.parts],
    }
    if extra:
        status["ui"] = _plain(dict(extra))
    config = _redact(app.loaded.config.model_dump(mode="json"))
    tmp = path.with_suffix(".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("config.json", json.dumps(config, indent=2, ensure_ascii=False))
        bundle.writestr("status.json", json.dumps(status, indent=2, ensure_ascii=False))
        staff_audit = data_dir / STAFF_AUDIT_FILE
        if staff_audit.exists():  # enrolments: what changed the cameras' gallery, and who
            bundle.write(staff_audit, STAFF_AUDIT_FILE)
    tmp.replace(path)  # a half-written bundle never carries the final name
    return path
