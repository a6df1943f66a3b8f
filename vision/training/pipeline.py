"""``smartcart model train``: conversion → features → training → calibration → protocol → export.

One seeded function, :func:`run_training`, does the whole job and writes:

* ``<out_dir>/<name>.onnx`` and ``<name>.json`` (the manifest, :mod:`.manifest_v1`);
* in ``work_dir``: the feature cache, ``train-history.csv``/``.json`` (per-epoch metrics, also
  for the protocol model), ``learning-curves.png``, ``confusion.png``, ``reliability.png`` and
  ``report.json`` with every figure of the run.

The steps and why they are split this way are in ``docs/recognition.md`` ("Training v1").
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from vision.recognition.classify import fit_temperature
from vision.recognition.preprocess import Preprocessor
from vision.training import calibrate as calibration
from vision.training import export, plots, protocol
from vision.training.augment import AugmentConfig
from vision.training.convert import SOURCE_SHA256, convert
from vision.training.data import ClassIndex, TrainingData, load_training_data, read_image
from vision.training.features import (
    ExtractSettings,
    FeatureSet,
    OnnxInt8Trunk,
    TorchTrunk,
    extract,
    input_spec,
)
from vision.training.manifest_v1 import write_model
from vision.training.mobilenet import MobileNetV2, grocery_net, split_point
from vision.training.train import TrainConfig, outputs, seed_everything, topk, train

TrunkChoice = Literal["auto", "onnx-int8", "torch-float"]
QuantiseChoice = Literal["auto", "int8", "none"]


@dataclass(frozen=True, slots=True)
class TrainOptions:
    """Everything ``smartcart model train`` can set (defaults: the shipped v1 recipe)."""

    root: Path
    source: Path
    out_dir: Path
    work_dir: Path
    name: str = "grocery-embed-v1"
    size: int = 224
    views: int = 16
    epochs: int = 16
    protocol_epochs: int = 10
    batch_size: int = 48
    trainable_blocks: int = 3
    embedding_dim: int = 256
    seed: int = 0
    threads: int = 2
    max_classes: int | None = None
    per_class: int | None = None
    held_out: int = 10
    quantise: QuantiseChoice = "auto"
    max_quantisation_drop: float = 0.015
    trunk: TrunkChoice = "auto"
    calibration_photos: int = 160
    figures_dir: Path | None = None
    command: str = ""
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass(frozen=True, slots=True)
class TrainReport:
    """Where the run wrote its outputs and its headline figures."""

    model: Path
    manifest: Path
    report: Path
    figures: tuple[Path, ...]
    metrics: dict[str, Any]


def _log(message: str) -> None:
    print(f"[train] {message}", flush=True)


def _features(
    options: TrainOptions, data: TrainingData, base: MobileNetV2, source_sha: str
) -> tuple[FeatureSet, FeatureSet, str]:
    split = split_point(options.trainable_blocks)
    use_onnx = options.trunk == "onnx-int8" or (
        options.trunk == "auto" and source_sha == SOURCE_SHA256
    )
    trunk = (
        OnnxInt8Trunk(options.source, split, options.threads)
        if use_onnx
        else TorchTrunk(torch.nn.Sequential(*list(base.features.children())[:split]))
    )
    cache = options.work_dir / "cache"
    sets = []
    for desc, part, views in (
        ("val-features", data.val, 1),
        ("train-features", data.train, options.views),
    ):
        settings = ExtractSettings(
            size=options.size,
            views=views,
            seed=options.seed,
            trunk=trunk.name,
            split=split,
            augment=options.augment,
        )
        sets.append(
            extract(
                part.samples,
                part.columns,
                trunk,
                settings,
                cache_dir=cache,
                cache_extra=source_sha,
                desc=desc,
            )
        )
    return sets[1], sets[0], trunk.name


def _subset(features: FeatureSet, keep_columns: tuple[int, ...]) -> FeatureSet:
    """Rows of the kept columns, columns renumbered 0..len(keep)-1 and photos re-indexed."""
    remap = np.full(int(features.columns.max()) + 1, -1, dtype=np.int64)
    remap[list(keep_columns)] = np.arange(len(keep_columns))
    rows = remap[features.columns] >= 0
    photos = features.photo[rows]
    _, photo_index = np.unique(photos, return_inverse=True)
    return FeatureSet(
        features.features[rows],
        remap[features.columns[rows]],
        photo_index.astype(np.int64),
        features.view[rows],
    )


def _protocol(
    options: TrainOptions,
    base: MobileNetV2,
    classes: ClassIndex,
    train_set: FeatureSet,
    val_set: FeatureSet,
    *,
    config: TrainConfig,
) -> dict[str, Any]:
    """Few-shot and open-set figures from a model trained without ``held_out`` classes."""
    held = protocol.choose_held_out(val_set.columns, options.held_out, options.seed)
    known = tuple(c for c in range(len(classes)) if c not in held)
    net = grocery_net(
        copy.deepcopy(base), options.trainable_blocks, options.embedding_dim, len(known)
    )
    _log(f"protocol model: {len(known)} classes, held out {[classes.labels[c] for c in held]}")
    history = train(
        net,
        _subset(train_set, known),
        _subset(val_set, known),
        TrainConfig(**{**asdict(config), "epochs": options.protocol_epochs}),
        log_dir=options.work_dir,
        desc="protocol",
    )
    clean = train_set.clean()
    train_emb, _ = outputs(net, clean)
    val_emb, _ = outputs(net, val_set)
    embedded = protocol.Embedded(train_emb, clean.columns, val_emb, val_set.columns, len(classes))
    result: dict[str, Any] = {
        "held_out": [classes.labels[c] for c in held],
        "trained_classes": len(known),
        "val_top1_known_classes": history[-1].val_top1 if history else None,
    }
    for shots in (1, 5):
        fs = protocol.few_shot(embedded, held, shots=shots, seed=options.seed)
        result[f"few_shot_{shots}"] = asdict(fs)
        _log(
            f"few-shot {shots}: held-out top-1 {fs.top1_held_out:.1%} "
            f"(all val {fs.top1_all_val:.1%})"
        )
    opened = protocol.open_set(embedded, held)
    result["open_set"] = asdict(opened)
    _log(
        f"open set: {opened.unknown_flagged:.1%} of unknown photos flagged at threshold "
        f"{opened.threshold:.3f} ({opened.known_accepted:.1%} known accepted)"
    )
    return result


def _tensors(spec_size: int, paths: list[Path]) -> np.ndarray[Any, np.dtype[np.float32]]:
    pre = Preprocessor(input_spec(spec_size))
    return pre.tensor([read_image(p) for p in paths])


def _ms_per_crop(model: bytes, sample: np.ndarray[Any, np.dtype[np.float32]]) -> float:
    """Median ms of one batch-1 inference on one thread (indicative; the bench is official)."""
    sess = export.session(model, threads=1)
    for _ in range(3):
        export.run(sess, sample)
    times = []
    for _ in range(20):
        started = time.perf_counter()
        export.run(sess, sample)
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1e3)


def run_training(options: TrainOptions) -> TrainReport:
    """Run the whole recipe (see the module doc); returns where everything went."""
    started = time.perf_counter()
    seed_everything(options.seed)
    torch.set_num_threads(options.threads)
    options.work_dir.mkdir(parents=True, exist_ok=True)
    data = load_training_data(
        options.root, max_classes=options.max_classes, per_class=options.per_class
    )
    _log(
        f"{len(data.classes)} classes, {len(data.train.samples)} train / "
        f"{len(data.val.samples)} val photos"
    )
    base, conversion = convert(options.source)
    _log(f"converted {conversion.convolutions} convolutions from {options.source.name}")

    train_set, val_set, trunk_name = _features(options, data, base, conversion.sha256)
    config = TrainConfig(epochs=options.epochs, batch_size=options.batch_size, seed=options.seed)
    net = grocery_net(
        copy.deepcopy(base), options.trainable_blocks, options.embedding_dim, len(data.classes)
    )
    history = train(net, train_set, val_set, config, log_dir=options.work_dir, desc="train")

    val_emb, val_logits = outputs(net, val_set)
    cal = calibration.calibrate(val_logits, val_set.columns, seed=options.seed)
    _log(
        f"temperature {cal.temperature:.3f}: ECE {cal.ece_before:.3f} → {cal.ece_after:.3f} "
        f"(cross-fitted {cal.ece_after_crossfit:.3f})"
    )
    clean = train_set.clean()
    train_emb, _ = outputs(net, clean)
    protos = protocol.prototypes(train_emb, clean.columns, len(data.classes))
    scores = val_emb @ protos.T
    gallery_top1 = topk(scores, val_set.columns, 1)
    gallery_temperature = fit_temperature(scores, val_set.columns)
    unknown_threshold = float(np.quantile(scores.max(axis=1), 0.05, method="lower"))

    labels = data.classes.labels
    figures = [
        plots.learning_curves(
            history,
            options.work_dir / "learning-curves.png",
            f"{options.name}: fine-tuning on cached trunk features",
        ),
        plots.confusion_png(
            plots.confusion_matrix(val_set.columns, val_logits.argmax(1), len(labels)),
            labels,
            options.work_dir / "confusion.png",
            f"{options.name}, val (rows: true class)",
        ),
        plots.reliability_png(
            val_logits, val_set.columns, cal.temperature, options.work_dir / "reliability.png"
        ),
    ]
    protocol_result = (
        _protocol(options, base, data.classes, train_set, val_set, config=config)
        if options.held_out > 0
        else None
    )

    # Export, check against PyTorch, quantise, and measure what the cart will run.
    val_x = _tensors(options.size, [s.path for s in data.val.samples])
    fp32 = export.export_onnx(net, options.size)
    torch_float = export.torch_outputs(net, val_x)
    onnx_float = export.run(export.session(fp32, options.threads), val_x)
    match = export.parity(torch_float, onnx_float)
    if match.max_abs_logits > 1e-2 or match.max_abs_embedding > 1e-3:
        raise export.ExportError(f"ONNX export differs from PyTorch: {match}")
    rng = np.random.default_rng(options.seed)
    calib_paths = [
        data.train.samples[i].path
        for i in sorted(
            rng.choice(
                len(data.train.samples),
                min(options.calibration_photos, len(data.train.samples)),
                replace=False,
            )
        )
    ]
    int8 = export.quantise(fp32, _tensors(options.size, calib_paths))
    onnx_int8 = export.run(export.session(int8, options.threads), val_x)
    figures_float = {
        "top1": topk(onnx_float[1], val_set.columns, 1),
        "top5": topk(onnx_float[1], val_set.columns, 5),
    }
    figures_int8 = {
        "top1": topk(onnx_int8[1], val_set.columns, 1),
        "top5": topk(onnx_int8[1], val_set.columns, 5),
    }
    drop = figures_float["top1"] - figures_int8["top1"]
    chosen = options.quantise
    if chosen == "auto":
        chosen = "int8" if drop <= options.max_quantisation_drop else "none"
    shipped = int8 if chosen == "int8" else fp32
    shipped_out = onnx_int8 if chosen == "int8" else onnx_float
    _log(
        f"ONNX val top-1 float {figures_float['top1']:.1%}, int8 {figures_int8['top1']:.1%}; "
        f"shipping {'int8' if chosen == 'int8' else 'float32'} ({len(shipped) / 1e6:.1f} MB)"
    )
    shipped_cal = calibration.calibrate(shipped_out[1], val_set.columns, seed=options.seed)
    one = val_x[:1]
    metrics: dict[str, Any] = {
        "dataset": f"Grocery Store Dataset (Klasson et al. 2019), val split, "
        f"{len(val_set.columns)} photos",
        "val_top1": topk(shipped_out[1], val_set.columns, 1),
        "val_top5": topk(shipped_out[1], val_set.columns, 5),
        "val_top1_torch": history[-1].val_top1,
        "val_top1_onnx_float32": figures_float["top1"],
        "val_top5_onnx_float32": figures_float["top5"],
        "val_top1_onnx_int8": figures_int8["top1"],
        "val_top5_onnx_int8": figures_int8["top5"],
        "quantised": chosen == "int8",
        "val_top1_gallery_prototype": gallery_top1,
        "ece_before_temperature": shipped_cal.ece_before,
        "ece_after_temperature": shipped_cal.ece_after,
        "ece_after_temperature_crossfit": shipped_cal.ece_after_crossfit,
        "nll_before_temperature": shipped_cal.nll_before,
        "nll_after_temperature": shipped_cal.nll_after,
        "logits_temperature": shipped_cal.temperature,
        "export_parity_max_abs_logits": match.max_abs_logits,
        "ms_per_crop_1thread_float32": _ms_per_crop(fp32, one),
        "ms_per_crop_1thread_int8": _ms_per_crop(int8, one),
        "model_bytes": len(shipped),
        "trunk_features": trunk_name,
        "train_seconds": time.perf_counter() - started,
    }
    if protocol_result is not None:
        metrics["protocol"] = protocol_result
        # The headline few-shot / open-set figures: classes the model never trained on.
        metrics["few_shot_top1_1shot_held_out"] = protocol_result["few_shot_1"]["top1_held_out"]
        metrics["few_shot_top1_5shot_held_out"] = protocol_result["few_shot_5"]["top1_held_out"]
        metrics["open_set_unknown_flagged_at_95_known_held_out"] = protocol_result["open_set"][
            "unknown_flagged"
        ]
    model_path, manifest_path = write_model(
        out_dir=options.out_dir,
        name=options.name,
        model=shipped,
        size=options.size,
        labels=labels,
        fine_ids=data.classes.fine_ids,
        embedding_dim=options.embedding_dim,
        logits_temperature=shipped_cal.temperature,
        gallery_temperature=gallery_temperature,
        unknown_threshold=unknown_threshold,
        source_sha256=conversion.sha256,
        training={
            "command": options.command,
            "options": {
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in asdict(options).items()
                if k not in ("command",)
            },
            "train_photos": len(data.train.samples),
            "val_photos": len(data.val.samples),
            "history": [asdict(h) for h in history],
        },
        metrics=metrics,
    )
    if options.figures_dir is not None:
        options.figures_dir.mkdir(parents=True, exist_ok=True)
        for figure in figures[:2]:
            (options.figures_dir / f"{options.name}-{figure.name}").write_bytes(figure.read_bytes())
    report_path = options.work_dir / "report.json"
    report = {
        "metrics": metrics,
        "calibration_torch": asdict(cal),
        "history": [asdict(h) for h in history],
    }
    report_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    _log(f"done in {metrics['train_seconds'] / 60:.1f} min: {model_path}, {manifest_path}")
    return TrainReport(model_path, manifest_path, report_path, tuple(figures), metrics)
