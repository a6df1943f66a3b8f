"""Recognition benchmark: accuracy, few-shot, open set, calibration and speed of the shipped model.

    .venv/bin/python -m bench.recognition_bench [--root DIR] [--cache DIR] [--variants]
        [--seeds 10] [--json FILE] [--write-manifest]

Data: the Grocery Store Dataset in ``../shared/data/grocery`` (or ``--root``); the benchmark
says so and stops when it is absent. Galleries come from ``train/``, queries from ``val/``
(296 photos of 60 of the 81 classes; the split is store-disjoint per class, so it is never
re-split). Embeddings are cached as ``.npy`` in ``--cache`` (default: a folder in the system's
temporary directory) keyed by the model's checksum, its preprocessing and the files.

Sections:

0. For a trained model with class logits (``grocery-embed-v1``): val top-1 / top-5 from the
   logits, per-class accuracy, NLL and ECE at T = 1 and at the manifest's temperature. Note that
   sections b and c then measure classes the model was trained on; the honest few-shot and
   open-set figures of a trained model come from its training run's protocol model
   (``smartcart model train``, ``docs/recognition.md``).
a. Closed set: top-1 / top-5 of val against a gallery of every train photo (81 classes), by
   prototype and by k-NN; calibration: NLL and ECE at the fitted temperature (fitted on one half
   of val, measured on the other, both ways) and at a temperature fitted leave-one-out on train.
b. Few-shot: galleries of 1 and 5 random train photos per class (``--seeds`` draws), top-1 among
   all 81 classes, without and with the enrolment augmentations.
c. Open set: 10 classes (among those with val photos) held out of the gallery; the threshold on
   the best similarity that keeps >= 95 % of the known classes' val photos accepted, and the
   share of the held-out classes' val photos it flags unknown (``--seeds`` draws).
d. Speed, in a fresh process: ms per crop on one thread (batch 1) median / p95, model load time,
   resident memory added by the recogniser.

``--variants`` also compares preprocessing policies (crop fractions, crop vs letterbox on tall
and wide crops) and, when the ``onnx`` package is installed, the float-pooled shipped model
against the source model's own uint8 pooled output.
``--write-manifest`` stores the calibration and headline metrics in the model's manifest.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vision.recognition.classify import (
    expected_calibration_error,
    fit_temperature,
    nll,
    softmax,
)
from vision.recognition.dataset import (
    Sample,
    grocery_root,
    label_of,
    read_class_names,
    read_split,
)
from vision.recognition.enrol import Augmentation
from vision.recognition.evaluate import embed_files, load_image
from vision.recognition.gallery import Gallery, normalise_rows
from vision.recognition.manifest import DEFAULT_MANIFEST, Manifest, ScoreMethod
from vision.recognition.preprocess import Image
from vision.recognition.recogniser import Recogniser, RecogniserSettings

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
KNOWN_ACCEPTED = 0.95
METHODS: tuple[ScoreMethod, ...] = ("prototype", "knn")
CLOSED_SET_METHODS: tuple[tuple[ScoreMethod, int], ...] = (
    ("prototype", 1),
    ("knn", 1),
    ("knn", 3),
    ("knn", 5),
    ("knn", 10),
)
HELD_OUT = 10


def log(message: str) -> None:
    print(message, flush=True)


# ----------------------------------------------------------------------------- data


@dataclasses.dataclass(frozen=True)
class Split:
    """Embeddings of a split with their class ids (and, for train, augmented views)."""

    samples: tuple[Sample, ...]
    embeddings: FloatArray
    classes: IntArray
    views: dict[str, FloatArray]  # augmentation name → embeddings aligned with ``samples``


def _flip(image: Image) -> Image:
    return np.ascontiguousarray(image[:, ::-1])


def _corner(top_left: bool, scale: float) -> Callable[[Image], Image]:
    def cut(image: Image) -> Image:
        h, w = image.shape[:2]
        ch, cw = round(h * scale), round(w * scale)
        return image[:ch, :cw] if top_left else image[h - ch :, w - cw :]

    return cut


def load_split(
    recogniser: Recogniser, root: Path, name: str, cache: Path, augment: bool
) -> tuple[Split, float | None]:
    samples = read_split(root / f"{name}.txt", root)
    paths = [s.path for s in samples]
    plain = embed_files(recogniser, paths, cache_dir=cache)
    views: dict[str, FloatArray] = {}
    if augment:
        scale = Augmentation().crop_scale
        for tag, transform in (
            ("flip", _flip),
            ("crop-tl", _corner(True, scale)),
            ("crop-br", _corner(False, scale)),
        ):
            views[tag] = embed_files(
                recogniser, paths, cache_dir=cache, transform=transform, tag=f"{tag}-{scale}"
            ).embeddings
    classes = np.array([s.fine_id for s in samples], dtype=np.int64)
    return Split(samples, plain.embeddings, classes, views), plain.ms_per_image


def gallery_of(embeddings: FloatArray, classes: IntArray) -> Gallery:
    gallery = Gallery(embeddings.shape[1])
    for c in np.unique(classes):
        gallery.add(str(int(c)), embeddings[classes == c])
    return gallery


def scored(
    gallery: Gallery, queries: FloatArray, method: ScoreMethod, k: int = 3
) -> tuple[FloatArray, IntArray]:
    """Scores ``[n, C]`` and the class id of each column."""
    labels, scores = gallery.scores(queries, method, k)
    return scores, np.array([int(label) for label in labels], dtype=np.int64)


def topk(scores: FloatArray, columns: IntArray, truth: IntArray, k: int) -> float:
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float((columns[order] == truth[:, None]).any(axis=1).mean())


def targets(columns: IntArray, truth: IntArray) -> IntArray:
    position = {int(c): i for i, c in enumerate(columns)}
    return np.array([position[int(t)] for t in truth], dtype=np.int64)


# ----------------------------------------------------------------------------- sections


def closed_set(train: Split, val: Split) -> dict[str, Any]:
    gallery = gallery_of(train.embeddings, train.classes)
    out: dict[str, Any] = {"gallery_classes": len(gallery.labels), "val_images": len(val.classes)}
    out["val_classes"] = len(np.unique(val.classes))
    for method, k in CLOSED_SET_METHODS:
        scores, columns = scored(gallery, val.embeddings, method, k)
        name = method if method == "prototype" else f"knn{k}"
        per_class = [
            float((columns[scores[val.classes == c].argmax(axis=1)] == c).mean())
            for c in np.unique(val.classes)
        ]
        out[name] = {
            "top1": topk(scores, columns, val.classes, 1),
            "top5": topk(scores, columns, val.classes, 5),
            "mean_class_accuracy": float(np.mean(per_class)),
        }
        out[name].update(calibration(scores, targets(columns, val.classes)))
        log(
            f"  {name:9s} top-1 {out[name]['top1']:.1%}  top-5 {out[name]['top5']:.1%}  "
            f"mean per-class {out[name]['mean_class_accuracy']:.1%}  "
            f"T={out[name]['temperature_all_val']:.4f}  NLL {out[name]['nll_crossfit']:.3f} "
            f"ECE {out[name]['ece_crossfit']:.3f} (cross-fitted on val halves)"
        )
    white = gallery.whitening()
    if white is not None:
        # What the cart scores with (docs/recognition.md, "Whitening"): prototypes in the
        # gallery's within-label whitened space, at the temperature fitted on the gallery.
        whitening, protos = white
        scores = whitening.apply(normalise_rows(val.embeddings)) @ protos.T
        columns = np.array([int(label) for label in gallery.labels], dtype=np.int64)
        t_idx = targets(columns, val.classes)
        probabilities = softmax(scores, whitening.temperature)
        out["prototype_whitened"] = {
            "top1": topk(scores, columns, val.classes, 1),
            "top5": topk(scores, columns, val.classes, 5),
            "temperature_gallery_cv": whitening.temperature,
            "nll": nll(scores, t_idx, whitening.temperature),
            "ece": expected_calibration_error(probabilities, t_idx),
        }
        w = out["prototype_whitened"]
        log(
            f"  whitened  top-1 {w['top1']:.1%}  top-5 {w['top5']:.1%}  "
            f"T={w['temperature_gallery_cv']:.4f} (fitted on the gallery)  NLL {w['nll']:.3f} "
            f"ECE {w['ece']:.3f}"
        )
    # Temperature fitted leave-one-out on train alone (no val photo used).
    loo_t = leave_one_out_temperature(train)
    scores, columns = scored(gallery, val.embeddings, "prototype")
    t_idx = targets(columns, val.classes)
    out["prototype"]["temperature_train_loo"] = loo_t
    out["prototype"]["nll_train_loo_t"] = nll(scores, t_idx, loo_t)
    out["prototype"]["ece_train_loo_t"] = expected_calibration_error(softmax(scores, loo_t), t_idx)
    proto = out["prototype"]
    log(
        f"  prototype with T={loo_t:.4f} fitted leave-one-out on train: "
        f"NLL {proto['nll_train_loo_t']:.3f} ECE {proto['ece_train_loo_t']:.3f}"
    )
    return out


def calibration(scores: FloatArray, truth: IntArray) -> dict[str, float]:
    """Temperature fitted on all val, and held-out NLL / ECE by 2-fold cross-fitting on val."""
    halves = np.arange(len(truth)) % 2  # alternate photos: both halves hold every class
    nll_parts, ece_parts, before_nll, before_ece = [], [], [], []
    for fold in (0, 1):
        fit_on, test_on = halves != fold, halves == fold
        t = fit_temperature(scores[fit_on], truth[fit_on])
        nll_parts.append(nll(scores[test_on], truth[test_on], t) * test_on.sum())
        ece_parts.append(
            expected_calibration_error(softmax(scores[test_on], t), truth[test_on]) * test_on.sum()
        )
    untuned = 0.05  # the library's fallback before calibration
    before_nll.append(nll(scores, truth, untuned))
    before_ece.append(expected_calibration_error(softmax(scores, untuned), truth))
    return {
        "temperature_all_val": fit_temperature(scores, truth),
        "nll_crossfit": float(sum(nll_parts) / len(truth)),
        "ece_crossfit": float(sum(ece_parts) / len(truth)),
        "nll_untuned_t0.05": before_nll[0],
        "ece_untuned_t0.05": before_ece[0],
    }


def leave_one_out_temperature(train: Split) -> float:
    """T fitted on train photos scored against prototypes that leave the photo itself out."""
    classes = np.unique(train.classes)
    sums = np.stack([train.embeddings[train.classes == c].sum(axis=0) for c in classes])
    counts = np.array([(train.classes == c).sum() for c in classes])
    own = np.searchsorted(classes, train.classes)
    protos = normalise_rows(sums)
    scores = train.embeddings @ protos.T
    loo = normalise_rows(sums[own] - train.embeddings)
    scores[np.arange(len(own)), own] = (train.embeddings * loo).sum(axis=1)
    assert (counts > 1).all()
    return fit_temperature(scores.astype(np.float32), own.astype(np.int64))


def few_shot(train: Split, val: Split, seeds: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    augmentations: dict[str, tuple[str, ...]] = {
        "none": (),
        "flip": ("flip",),
        "crops": ("crop-tl", "crop-br"),
        "flip+crops": ("flip", "crop-tl", "crop-br"),
    }
    for shots in (1, 5):
        for aug_name, tags in augmentations.items():
            for method in METHODS:
                if shots == 1 and method == "knn" and not tags:
                    continue  # one reference per class: k-NN is the prototype
                top1s, top5s, thresholds = [], [], []
                for seed in range(seeds):
                    rng = np.random.default_rng(seed)
                    picked = np.concatenate(
                        [
                            rng.choice(np.flatnonzero(train.classes == c), shots, replace=False)
                            for c in np.unique(train.classes)
                        ]
                    )
                    rows = [train.embeddings[picked]] + [train.views[t][picked] for t in tags]
                    gallery = gallery_of(
                        np.concatenate(rows), np.tile(train.classes[picked], len(rows))
                    )
                    scores, columns = scored(gallery, val.embeddings, method, 3)
                    top1s.append(topk(scores, columns, val.classes, 1))
                    top5s.append(topk(scores, columns, val.classes, 5))
                    best = scores.max(axis=1)
                    thresholds.append(float(np.quantile(best, 1 - KNOWN_ACCEPTED)))
                key = f"{shots}shot/{aug_name}/{method}"
                out[key] = {
                    "top1_mean": statistics.fmean(top1s),
                    "top1_std": statistics.pstdev(top1s),
                    "top5_mean": statistics.fmean(top5s),
                    "threshold_95_known": statistics.fmean(thresholds),
                }
                log(
                    f"  {shots}-shot {aug_name:10s} {method:9s} top-1 {out[key]['top1_mean']:.1%} "
                    f"± {out[key]['top1_std']:.1%}  top-5 {out[key]['top5_mean']:.1%}  "
                    f"(5th percentile of best similarity {out[key]['threshold_95_known']:.3f})"
                )
    return out


def open_set(
    train: Split, val: Split, seeds: int, shots: int | None, *, quiet: bool = False
) -> dict[str, Any]:
    """Hold out ``HELD_OUT`` val classes; the gallery has all (or ``shots``) train photos of
    the others, augmented when ``shots`` is given."""
    out: dict[str, Any] = {}
    val_classes = np.unique(val.classes)
    for method in METHODS:
        flagged, thresholds = [], []
        for seed in range(seeds):
            rng = np.random.default_rng(1000 + seed)
            held = rng.choice(val_classes, HELD_OUT, replace=False)
            in_gallery = ~np.isin(train.classes, held)
            if shots is not None:
                keep = np.zeros(len(train.classes), dtype=bool)
                for c in np.unique(train.classes[in_gallery]):
                    keep[rng.choice(np.flatnonzero(train.classes == c), shots, replace=False)] = (
                        True
                    )
                in_gallery = keep
                tags = ("flip", "crop-tl", "crop-br")
                rows = [train.embeddings[in_gallery]] + [train.views[t][in_gallery] for t in tags]
                gallery = gallery_of(
                    np.concatenate(rows), np.tile(train.classes[in_gallery], len(rows))
                )
            else:
                gallery = gallery_of(train.embeddings[in_gallery], train.classes[in_gallery])
            scores, _ = scored(gallery, val.embeddings, method, 3)
            best = scores.max(axis=1)
            unknown = np.isin(val.classes, held)
            # The highest threshold that still accepts >= 95 % of the known classes' photos.
            threshold = float(np.quantile(best[~unknown], 1 - KNOWN_ACCEPTED, method="lower"))
            thresholds.append(threshold)
            flagged.append(float((best[unknown] < threshold).mean()))
        name = method if shots is None else f"{shots}shot-aug/{method}"
        out[name] = {
            "threshold_mean": statistics.fmean(thresholds),
            "threshold_min": min(thresholds),
            "threshold_max": max(thresholds),
            "unknown_flagged_mean": statistics.fmean(flagged),
            "unknown_flagged_min": min(flagged),
            "unknown_flagged_max": max(flagged),
        }
        r = out[name]
        if quiet:
            continue
        log(
            f"  {name:20s} threshold {r['threshold_mean']:.3f} "
            f"({r['threshold_min']:.3f}–{r['threshold_max']:.3f}) keeps 95 % of known; "
            f"flags {r['unknown_flagged_mean']:.1%} of unseen-class photos unknown "
            f"({r['unknown_flagged_min']:.1%}–{r['unknown_flagged_max']:.1%})"
        )
    return out


def threshold_sweep(train: Split, val: Split, thresholds: Sequence[float]) -> dict[str, Any]:
    """Accepted share of known / unseen val photos at fixed thresholds (10 held out, seed 1000)."""
    rng = np.random.default_rng(1000)
    held = rng.choice(np.unique(val.classes), HELD_OUT, replace=False)
    in_gallery = ~np.isin(train.classes, held)
    gallery = gallery_of(train.embeddings[in_gallery], train.classes[in_gallery])
    scores, _ = scored(gallery, val.embeddings, "prototype")
    best = scores.max(axis=1)
    unknown = np.isin(val.classes, held)
    out = {}
    for t in thresholds:
        out[f"{t:.2f}"] = {
            "known_accepted": float((best[~unknown] >= t).mean()),
            "unseen_flagged": float((best[unknown] < t).mean()),
        }
        log(
            f"  threshold {t:.2f}: accepts {out[f'{t:.2f}']['known_accepted']:.1%} of known, "
            f"flags {out[f'{t:.2f}']['unseen_flagged']:.1%} of unseen"
        )
    return out


# ----------------------------------------------------------------------------- class logits


def class_logits(recogniser: Recogniser, root: Path) -> dict[str, Any]:
    """For a trained model (v1): val top-1/top-5 from its own class logits, per-class accuracy,
    calibration (NLL, ECE) at T = 1 and at the manifest's temperature."""
    manifest = recogniser.manifest
    names = read_class_names(root)
    samples = read_split(root / "val.txt", root)
    labels = {label: i for i, label in enumerate(manifest.labels)}
    truth = np.array([labels.get(label_of(s.fine_id, names), -1) for s in samples])
    if (truth < 0).any():
        raise SystemExit(f"{manifest.name}: val classes missing from the model's labels")
    started = time.perf_counter()
    prediction = recogniser.predict([load_image(s.path) for s in samples])
    elapsed = time.perf_counter() - started
    assert prediction.probabilities is not None
    temperature = manifest.logits_temperature or 1.0
    # Back to logits (up to a per-row constant, which softmax ignores) to re-scale them.
    logits = np.asarray(
        np.log(np.maximum(prediction.probabilities, 1e-30)) * temperature, dtype=np.float32
    )
    order = np.argsort(-logits, axis=1, kind="stable")
    top1 = order[:, 0] == truth
    per_class = [float(top1[truth == c].mean()) for c in np.unique(truth)]
    result = {
        "photos": len(samples),
        "top1": float(top1.mean()),
        "top5": float((order[:, :5] == truth[:, None]).any(axis=1).mean()),
        "mean_per_class_top1": float(np.mean(per_class)),
        "worst_classes": sorted(
            (float(top1[truth == c].mean()), manifest.labels[c]) for c in np.unique(truth)
        )[:8],
        "temperature": temperature,
        "nll_t1": nll(logits, truth, 1.0),
        "nll_calibrated": nll(logits, truth, temperature),
        "ece_t1": expected_calibration_error(softmax(logits, 1.0), truth),
        "ece_calibrated": expected_calibration_error(softmax(logits, temperature), truth),
        "ms_per_photo_batched": elapsed * 1e3 / len(samples),
    }
    log(
        f"  logits: top-1 {result['top1']:.1%}, top-5 {result['top5']:.1%}, mean per class "
        f"{result['mean_per_class_top1']:.1%}; ECE {result['ece_t1']:.3f} at T = 1 → "
        f"{result['ece_calibrated']:.3f} at T = {temperature:.3f} (fitted on this val)"
    )
    return result


# ----------------------------------------------------------------------------- speed

_SPEED_CHILD = r"""
import json, os, sys, time
import numpy as np, cv2, onnxruntime

def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

from vision.recognition.recogniser import Recogniser, RecogniserSettings
from vision.recognition.manifest import Manifest
manifest_path, photo = sys.argv[1], sys.argv[2]
rss0 = rss_kb()
t0 = time.perf_counter()
settings = RecogniserSettings(intra_op_threads=1, batch_size=1, warm_up=False)
rec = Recogniser.load(manifest_path, settings)
t1 = time.perf_counter()
rec.embed([np.zeros((224, 224, 3), np.uint8)])
t2 = time.perf_counter()
image = cv2.imread(photo)
crops = {"348x348 photo": image, "640x480 crop": cv2.resize(image, (640, 480))}
out = {"load_s": t1 - t0, "warmup_s": t2 - t1}
tensor = rec.tensor([image])
session, name, output = rec._session, rec.manifest.input.name, [rec.manifest.embedding_output]
for _ in range(20):
    session.run(output, {name: tensor})
times = []
for _ in range(300):
    s = time.perf_counter()
    session.run(output, {name: tensor})
    times.append(time.perf_counter() - s)
out["model_ms"] = [float(np.median(times) * 1e3), float(np.percentile(times, 95) * 1e3)]
for label, crop in crops.items():
    times = []
    for _ in range(300):
        s = time.perf_counter(); rec.embed([crop]); times.append(time.perf_counter() - s)
    out[label] = [float(np.median(times) * 1e3), float(np.percentile(times, 95) * 1e3)]
for batch in (8,):
    rec8 = Recogniser.load(manifest_path, RecogniserSettings(intra_op_threads=1, batch_size=batch))
    times = []
    for _ in range(40):
        s = time.perf_counter(); rec8.embed([image] * batch); times.append(time.perf_counter() - s)
    out[f"batch{batch}_ms_per_crop"] = float(np.median(times) * 1e3 / batch)
    del rec8
rec2 = Recogniser.load(manifest_path, RecogniserSettings(intra_op_threads=2, batch_size=1))
times = []
for _ in range(300):
    s = time.perf_counter(); rec2.embed([image]); times.append(time.perf_counter() - s)
out["threads2_ms"] = [float(np.median(times) * 1e3), float(np.percentile(times, 95) * 1e3)]
del rec2
out["rss_delta_mb"] = (rss_kb() - rss0) / 1024.0
out["rss_total_mb"] = rss_kb() / 1024.0
print(json.dumps(out))
"""

_RSS_CHILD = r"""
import sys
def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
import numpy as np, cv2, onnxruntime
from vision.recognition.recogniser import Recogniser, RecogniserSettings
before = rss_kb()
rec = Recogniser.load(sys.argv[1], RecogniserSettings(intra_op_threads=1, batch_size=1))
image = cv2.imread(sys.argv[2])
for _ in range(50):
    rec.embed([image])
print((rss_kb() - before) / 1024.0, rss_kb() / 1024.0)
"""


def speed(manifest_path: Path, photo: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run(
        [sys.executable, "-c", _SPEED_CHILD, str(manifest_path), str(photo)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # RSS of the recogniser alone (one session, batch 1) in its own fresh process: the speed
    # child above also held extra sessions.
    rss = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(manifest_path), str(photo)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    delta, total = (float(x) for x in rss.stdout.split())
    out["rss_delta_mb"], out["rss_total_mb"] = delta, total
    log(
        f"  load {out['load_s'] * 1e3:.0f} ms (manifest, sha256, session), "
        f"warm-up {out['warmup_s'] * 1e3:.0f} ms"
    )
    model_ms = out["model_ms"]
    log(f"  model only, batch 1, 1 thread: median {model_ms[0]:.2f} ms, p95 {model_ms[1]:.2f} ms")
    for label in ("348x348 photo", "640x480 crop"):
        log(
            f"  embed({label}), 1 thread: median {out[label][0]:.2f} ms, p95 {out[label][1]:.2f} ms"
        )
    log(f"  batch 8, 1 thread: {out['batch8_ms_per_crop']:.2f} ms per crop")
    two = out["threads2_ms"]
    log(f"  2 threads, batch 1: median {two[0]:.2f} ms, p95 {two[1]:.2f} ms")
    log(f"  RSS added by the recogniser: {delta:.1f} MB (process total {total:.1f} MB)")
    return out


# ----------------------------------------------------------------------------- variants


def variants(recogniser: Recogniser, root: Path, cache: Path, train: Split) -> dict[str, Any]:
    """Preprocessing policies and the pooling variant, scored by prototype top-1 on val."""
    out: dict[str, Any] = {}
    train_samples = read_split(root / "train.txt", root)
    val_samples = read_split(root / "val.txt", root)
    val_classes = np.array([s.fine_id for s in val_samples], dtype=np.int64)
    base = recogniser.manifest

    def score(
        manifest: Manifest, transform: Callable[[Image], Image] | None, tag: str
    ) -> tuple[float, float]:
        rec = Recogniser(
            manifest,
            RecogniserSettings(
                intra_op_threads=recogniser.settings.intra_op_threads, batch_size=16
            ),
        )
        tr = embed_files(rec, [s.path for s in train_samples], cache_dir=cache).embeddings
        va = embed_files(
            rec, [s.path for s in val_samples], cache_dir=cache, transform=transform, tag=tag
        ).embeddings
        gallery = gallery_of(tr, train.classes)
        scores, columns = scored(gallery, va, "prototype")
        return topk(scores, columns, val_classes, 1), topk(scores, columns, val_classes, 5)

    def with_input(**changes: Any) -> Manifest:
        return dataclasses.replace(base, input=dataclasses.replace(base.input, **changes))

    for fraction in (1.0, 0.875, 0.75, 0.65, 0.6, 0.5):
        t1, t5 = score(with_input(resize="crop", crop_fraction=fraction), None, "")
        out[f"crop {fraction}"] = {"top1": t1, "top5": t5}
        log(f"  crop, centre fraction {fraction:<5}: top-1 {t1:.1%} top-5 {t5:.1%}")
    for policy in ("letterbox", "stretch"):
        t1, t5 = score(with_input(resize=policy, crop_fraction=1.0), None, "")
        out[policy] = {"top1": t1, "top5": t5}
        log(f"  {policy:9s}                 : top-1 {t1:.1%} top-5 {t5:.1%}")
    # The cart's crops are not square: cut tall and wide boxes from the val photos (the gallery
    # stays the same) and compare the policies on them.
    for shape, (fw, fh) in {"tall 0.55x1.0": (0.55, 1.0), "wide 1.0x0.55": (1.0, 0.55)}.items():

        def cut(image: Image, fw: float = fw, fh: float = fh) -> Image:
            h, w = image.shape[:2]
            ch, cw = round(h * fh), round(w * fw)
            top, left = (h - ch) // 2, (w - cw) // 2
            return image[top : top + ch, left : left + cw]

        for policy, fraction in (
            ("crop", base.input.crop_fraction),
            ("crop", 1.0),
            ("letterbox", 1.0),
        ):
            t1, t5 = score(with_input(resize=policy, crop_fraction=fraction), cut, shape)
            key = f"{shape} {policy} {fraction}"
            out[key] = {"top1": t1, "top5": t5}
            log(f"  {shape} crops, {policy} {fraction}: top-1 {t1:.1%} top-5 {t5:.1%}")
    # tools/ is not a package: load the model maker from its file (it needs the onnx package).
    tool = Path(__file__).resolve().parents[1] / "tools" / "make_embedding_model.py"
    spec = importlib.util.spec_from_file_location("make_embedding_model", tool)
    if spec is None or spec.loader is None:
        log(f"  pooling variant skipped: cannot load {tool}")
        return out
    maker = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(maker)
    except ImportError:
        log("  pooling variant skipped: the onnx package is not installed")
        return out
    with tempfile.TemporaryDirectory() as tmp:
        source = maker.DEFAULT_SOURCE.resolve()
        model_bytes = maker.serialise(maker.build(source.read_bytes(), pool="quantized"))
        path = Path(tmp) / f"{base.name}.onnx"
        path.write_bytes(model_bytes)
        quantized = dataclasses.replace(
            base, model_path=path, sha256=maker.sha256_bytes(model_bytes)
        )
        t1, t5 = score(quantized, None, "")
    out["pool quantized"] = {"top1": t1, "top5": t5}
    log(f"  uint8-pooled variant (crop {base.input.crop_fraction}): top-1 {t1:.1%} top-5 {t5:.1%}")
    return out


def alternatives(train: Split, val: Split, seeds: int) -> dict[str, Any]:
    """Ideas measured and not shipped: centred embeddings, other open-set scores."""
    out: dict[str, Any] = {}
    # Centring ("CL2N" in SimpleShot, Wang et al. 2019): subtract the mean train embedding and
    # re-normalise, removing the large component every ReLU feature vector shares.
    mean = train.embeddings.mean(axis=0)
    centred_train = dataclasses.replace(
        train,
        embeddings=normalise_rows(train.embeddings - mean),
        views={k: normalise_rows(v - mean) for k, v in train.views.items()},
    )
    centred_val = dataclasses.replace(val, embeddings=normalise_rows(val.embeddings - mean))
    for name, (tr, va) in {"plain": (train, val), "centred": (centred_train, centred_val)}.items():
        gallery = gallery_of(tr.embeddings, tr.classes)
        scores, columns = scored(gallery, va.embeddings, "prototype")
        shots5 = []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            picked = np.concatenate(
                [
                    rng.choice(np.flatnonzero(tr.classes == c), 5, replace=False)
                    for c in np.unique(tr.classes)
                ]
            )
            few = gallery_of(tr.embeddings[picked], tr.classes[picked])
            s5, c5 = scored(few, va.embeddings, "prototype")
            shots5.append(topk(s5, c5, va.classes, 1))
        opened = open_set(tr, va, seeds * 2, None, quiet=True)["prototype"]
        out[name] = {
            "top1": topk(scores, columns, va.classes, 1),
            "top1_5shot": statistics.fmean(shots5),
            "unknown_flagged": opened["unknown_flagged_mean"],
            "threshold": opened["threshold_mean"],
        }
        r = out[name]
        log(
            f"  {name:8s} embeddings: closed-set top-1 {r['top1']:.1%}, 5-shot top-1 "
            f"{r['top1_5shot']:.1%}, open set flags {r['unknown_flagged']:.1%} at threshold "
            f"{r['threshold']:.3f}"
        )
    # Open-set scores other than the best similarity, same draws as section c.
    val_classes = np.unique(val.classes)
    flagged: dict[str, list[float]] = {"best similarity": [], "max probability": [], "margin": []}
    for seed in range(seeds * 2):
        rng = np.random.default_rng(1000 + seed)
        held = rng.choice(val_classes, HELD_OUT, replace=False)
        in_gallery = ~np.isin(train.classes, held)
        gallery = gallery_of(train.embeddings[in_gallery], train.classes[in_gallery])
        scores, _ = scored(gallery, val.embeddings, "prototype")
        ranked = np.sort(scores, axis=1)
        unknown = np.isin(val.classes, held)
        for name, score in (
            ("best similarity", ranked[:, -1]),
            ("max probability", softmax(scores, 0.012).max(axis=1)),
            ("margin", ranked[:, -1] - ranked[:, -2]),
        ):
            threshold = np.quantile(score[~unknown], 1 - KNOWN_ACCEPTED, method="lower")
            flagged[name].append(float((score[unknown] < threshold).mean()))
    for name, values in flagged.items():
        out[f"open set by {name}"] = statistics.fmean(values)
        log(f"  open-set score '{name}': flags {statistics.fmean(values):.1%} of unseen photos")
    return out


# ----------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    import onnxruntime

    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "load_average": os.getloadavg(),
        "date": datetime.date.today().isoformat(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=grocery_root())
    parser.add_argument("--model", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "smartcart-recognition-cache"
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="threads for embedding the data")
    parser.add_argument("--variants", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--write-manifest", action="store_true")
    args = parser.parse_args(argv)

    root: Path = args.root
    if not (root / "train.txt").is_file() or not (root / "val.txt").is_file():
        log(
            f"recognition bench: the Grocery Store Dataset is not at {root} "
            "(see ../shared/data/README.md, or pass --root); nothing measured"
        )
        return 0
    info = machine()
    log(
        f"python {info['python']}, onnxruntime {info['onnxruntime']}, {info['cpus']} CPUs, "
        f"load average {info['load_average'][0]:.2f}, {info['date']}"
    )
    recogniser = Recogniser.load(
        args.model, RecogniserSettings(intra_op_threads=args.threads, batch_size=16)
    )
    started = time.perf_counter()
    train, _ = load_split(recogniser, root, "train", args.cache, augment=True)
    val, ms = load_split(recogniser, root, "val", args.cache, augment=False)
    log(
        f"embedded train ({len(train.classes)}) and val ({len(val.classes)}) in "
        f"{time.perf_counter() - started:.1f} s"
        + (f" ({ms:.1f} ms per val photo, {args.threads} threads)" if ms else " (cached)")
    )
    results: dict[str, Any] = {"machine": info, "model": recogniser.manifest.name}
    if recogniser.has_logits:
        log("0. the model's own class logits on val (a trained model)")
        results["class_logits"] = class_logits(recogniser, root)
    log("a. closed set: val against a gallery of every train photo")
    results["closed_set"] = closed_set(train, val)
    log(f"b. few-shot: gallery of 1 or 5 train photos per class, {args.seeds} draws")
    results["few_shot"] = few_shot(train, val, args.seeds)
    log(f"c. open set: {HELD_OUT} classes held out of the gallery, {args.seeds * 2} draws")
    results["open_set"] = open_set(train, val, args.seeds * 2, None)
    results["open_set"].update(open_set(train, val, args.seeds * 2, 5))
    results["open_set"].update(open_set(train, val, args.seeds * 2, 1))
    results["threshold_sweep"] = threshold_sweep(
        train, val, [0.35, 0.6, 0.65, 0.7, 0.72, 0.74, 0.76, 0.78, 0.8]
    )
    if not args.skip_speed:
        log("d. speed (fresh process, 1 intra-op thread, batch 1)")
        results["speed"] = speed(args.model, train.samples[0].path)
    if args.variants:
        log("variants: preprocessing policies and pooling, prototype gallery of all train photos")
        results["variants"] = variants(recogniser, root, args.cache, train)
        log("alternatives measured and not shipped")
        results["alternatives"] = alternatives(train, val, args.seeds)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {args.json}")
    if args.write_manifest:
        write_manifest(args.model, results)
    return 0


def write_manifest(path: Path, results: dict[str, Any]) -> None:
    """Store the calibration and the headline metrics in the manifest."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    closed = results["closed_set"]
    opened = results["open_set"]
    raw["calibration"] = {
        "method": "prototype",
        "temperature": round(closed["prototype"]["temperature_all_val"], 5),
        "unknown_threshold": round(opened["5shot-aug/prototype"]["threshold_mean"], 2),
        "knn_k": 3,
        "fitted_on": "temperature: NLL on grocery val against a gallery of all train photos; "
        "unknown_threshold: keeps 95 % of known-class val photos with 5-photo enrolments",
    }
    metrics: dict[str, Any] = {
        "dataset": "Grocery Store Dataset (Klasson et al. 2019), val split, 296 photos",
        "closed_set_top1_prototype": round(closed["prototype"]["top1"], 4),
        "closed_set_top5_prototype": round(closed["prototype"]["top5"], 4),
        "closed_set_top1_knn3": round(closed["knn3"]["top1"], 4),
        "few_shot_top1_1shot": round(
            results["few_shot"]["1shot/flip+crops/prototype"]["top1_mean"], 4
        ),
        "few_shot_top1_5shot": round(
            results["few_shot"]["5shot/flip+crops/prototype"]["top1_mean"], 4
        ),
        "open_set_unknown_flagged_at_95_known": round(
            opened["prototype"]["unknown_flagged_mean"], 4
        ),
        "ece_crossfit": round(closed["prototype"]["ece_crossfit"], 4),
        "measured": results["machine"]["date"],
        "bench": "bench/recognition_bench.py",
    }
    if "speed" in results:
        speed_out = results["speed"]
        metrics["ms_per_crop_1thread_median"] = round(speed_out["348x348 photo"][0], 2)
        metrics["ms_per_crop_1thread_p95"] = round(speed_out["348x348 photo"][1], 2)
        metrics["load_s"] = round(speed_out["load_s"], 3)
        metrics["rss_delta_mb"] = round(speed_out["rss_delta_mb"], 1)
    if "class_logits" in results:
        # A trained model has seen every class in sections b and c: say so in the key names, so
        # they are not read as few-shot / open-set figures of unseen products (those come from
        # the training run's protocol model and are stored by it as ``*_held_out``).
        for key in (
            "few_shot_top1_1shot",
            "few_shot_top1_5shot",
            "open_set_unknown_flagged_at_95_known",
        ):
            metrics[f"{key}_trained_classes"] = metrics.pop(key)
        logits = results["class_logits"]
        metrics["val_top1_logits"] = round(logits["top1"], 4)
        metrics["val_top5_logits"] = round(logits["top5"], 4)
        metrics["ece_logits_calibrated"] = round(logits["ece_calibrated"], 4)
    # Merge: a trained model's manifest also carries the training run's own figures.
    raw["metrics"] = {**(raw.get("metrics") or {}), **metrics}
    path.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    log(f"wrote calibration and metrics into {path}")


if __name__ == "__main__":
    sys.exit(main())
