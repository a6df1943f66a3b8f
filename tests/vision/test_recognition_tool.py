"""``tools/make_embedding_model.py`` rebuilds the shipped model byte for byte.

Needs the ``onnx`` package (a development dependency) and the source model in
``../shared/data/pretrained``; skipped with the reason when either is missing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from vision.recognition import Manifest
from vision.recognition.dataset import shared_data_root

TOOL = Path(__file__).resolve().parents[2] / "tools" / "make_embedding_model.py"
# The tool builds v0 (pretrained features, no training); v1 comes from `smartcart model train`.
V0_MANIFEST = TOOL.parents[1] / "models" / "grocery-embed-v0.json"


def manifest_pool() -> str:
    """How the shipped model was pooled (recorded by the tool in the manifest)."""
    raw = json.loads(V0_MANIFEST.read_text(encoding="utf-8"))
    pool: str = raw["made_with"]["pool"]
    return pool


@pytest.fixture(scope="module")
def maker() -> ModuleType:
    pytest.importorskip("onnx", reason="the onnx package (dev dependency) is not installed")
    spec = importlib.util.spec_from_file_location("make_embedding_model", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def source() -> bytes:
    path = shared_data_root() / "pretrained" / "mobilenetv2-12-int8.onnx"
    if not path.is_file():
        pytest.skip(f"source model not found at {path}; see ../shared/data/README.md")
    return path.read_bytes()


@pytest.mark.shared_data
def test_rebuild_gives_the_shipped_bytes(maker: ModuleType, source: bytes) -> None:
    manifest = Manifest.load(V0_MANIFEST)
    first = maker.serialise(maker.build(source, pool=manifest_pool()))
    second = maker.serialise(maker.build(source, pool=manifest_pool()))
    assert first == second
    assert hashlib.sha256(first).hexdigest() == manifest.sha256
    maker.smoke_test(first, manifest.embedding_dim, False)


@pytest.mark.shared_data
def test_keep_logits_adds_a_second_output(maker: ModuleType, source: bytes) -> None:
    model = maker.build(source, keep_logits=True)
    assert [o.name for o in model.graph.output] == ["embedding", "logits"]
    maker.smoke_test(maker.serialise(model), 1280, True)
