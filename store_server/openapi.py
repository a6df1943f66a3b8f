"""The OpenAPI document of store API v1, as served at ``/openapi.json`` and kept in ``docs/``.

The document is generated from the application, which is built from the contract's models, so
``docs/openapi.json`` cannot drift from the code: a test compares the two.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DOCS_OPENAPI = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document (built on an application without a database)."""
    from store_server.api import ServerContext, create_app

    app = create_app(ServerContext(db=None))  # type: ignore[arg-type]  # never queried
    return app.openapi()


def openapi_text() -> str:
    """The document as stable, indented JSON (sorted keys, trailing newline)."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    DOCS_OPENAPI.write_text(openapi_text(), encoding="utf-8")
    print(f"wrote {DOCS_OPENAPI}")
