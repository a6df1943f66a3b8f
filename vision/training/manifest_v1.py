"""Writing a trained model and its manifest (the format :mod:`vision.recognition.manifest` reads).

Over v0's manifest, a trained model adds: ``outputs.logits`` (the class logits' output name),
``labels`` and ``fine_ids`` (column ``i`` of the logits is ``labels[i]``, the dataset's fine id
``fine_ids[i]``), ``logits_calibration.temperature`` (divide the logits by it before the
softmax), and ``training`` (the command, the options and the per-epoch history).
``calibration`` keeps v0's meaning: the gallery's prototype temperature and unknown threshold.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnxruntime
import torch

from vision.training.convert import SOURCE_SHA256
from vision.training.features import input_spec

TOOL = "smartcart model train (vision/training)"


def _finite(value: Any) -> Any:
    """JSON has no NaN: nested floats that are not finite become ``null``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_model(
    *,
    out_dir: Path,
    name: str,
    model: bytes,
    size: int,
    labels: Sequence[str],
    fine_ids: Sequence[int],
    embedding_dim: int,
    logits_temperature: float,
    gallery_temperature: float,
    unknown_threshold: float,
    source_sha256: str,
    training: dict[str, Any],
    metrics: dict[str, Any],
) -> tuple[Path, Path]:
    """Write ``<name>.onnx`` and ``<name>.json`` into ``out_dir``; returns both paths."""
    spec = input_spec(size)
    manifest: dict[str, Any] = {
        "schema": 1,
        "name": name,
        "file": f"{name}.onnx",
        "sha256": hashlib.sha256(model).hexdigest(),
        "bytes": len(model),
        "input": {
            "name": spec.name,
            "layout": "NCHW",
            "dtype": "float32",
            "size": [spec.height, spec.width],
            "channel_order": spec.channel_order,
            "scale": spec.scale,
            "mean": list(spec.mean),
            "std": list(spec.std),
            "resize": spec.resize,
            "crop_fraction": spec.crop_fraction,
            "interpolation": "area-down-linear-up",
        },
        "outputs": {"embedding": "embedding", "logits": "logits"},
        "embedding_dim": embedding_dim,
        "normalised": True,
        "labels": list(labels),
        "fine_ids": list(fine_ids),
        "logits_calibration": {
            "temperature": round(logits_temperature, 5),
            "fitted_on": "NLL of the class logits on grocery val (temperature scaling)",
        },
        "source": {
            "model": "MobileNetV2 1.0 int8 (mobilenetv2-12-int8.onnx), ImageNet-1k, converted "
            "to PyTorch and fine-tuned on the Grocery Store Dataset train split",
            "file": "mobilenetv2-12-int8.onnx",
            "sha256": source_sha256,
            "origin": "ONNX Model Zoo, github.com/onnx/models, validated/vision/classification/"
            "mobilenet; Grocery Store Dataset (Klasson et al. 2019, MIT)",
            # The weights derive from Apache-2.0 weights; the training photos are MIT licensed.
            "licence": "Apache-2.0",
        },
        "made_with": {
            "tool": TOOL,
            "command": training.get("command", ""),
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "source_is_model_zoo": source_sha256 == SOURCE_SHA256,
        },
        "calibration": {
            "method": "prototype",
            "temperature": round(gallery_temperature, 5),
            "unknown_threshold": round(max(-1.0, min(1.0, unknown_threshold)), 3),
            "knn_k": 3,
            "fitted_on": "temperature: NLL on grocery val against prototypes of all train "
            "photos; unknown_threshold: keeps 95 % of val photos accepted against that gallery",
        },
        "training": training,
        "metrics": metrics,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / f"{name}.onnx"
    manifest_path = out_dir / f"{name}.json"
    model_path.write_bytes(model)
    manifest_path.write_text(
        json.dumps(_finite(manifest), indent=2, default=str) + "\n", encoding="utf-8"
    )
    return model_path, manifest_path
