"""Evaluation on labelled image lists: accuracy, per-class accuracy, confusion, calibration.

Shared by ``smartcart model eval`` and ``bench/recognition_bench.py``. Embeddings of a list of
files can be cached in a ``.npy`` keyed by the model's checksum, its input spec and the files'
names, sizes and modification times, so repeated runs skip the model entirely.
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vision.recognition.classify import (
    ClassifierSettings,
    expected_calibration_error,
    nll,
    softmax,
)
from vision.recognition.dataset import DatasetError
from vision.recognition.gallery import Gallery
from vision.recognition.preprocess import Image
from vision.recognition.recogniser import Recogniser

FloatArray = npt.NDArray[np.float32]


def load_image(path: Path) -> Image:
    """A BGR image from disk; raises :class:`DatasetError` when it cannot be decoded."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"cannot read image {path}")
    return np.asarray(image, dtype=np.uint8)


@dataclass(frozen=True, slots=True, eq=False)
class EmbeddedFiles:
    """Embeddings of files, with the time per image (decode + embed) when they were computed."""

    embeddings: FloatArray
    ms_per_image: float | None  # None: read from the cache
    cache_file: Path | None


def cache_key(recogniser: Recogniser, paths: Sequence[Path], tag: str = "") -> str:
    """A digest that changes when the model, its preprocessing or any listed file changes."""
    digest = hashlib.sha256()
    digest.update(recogniser.manifest.sha256.encode())
    digest.update(repr(recogniser.manifest.input).encode())
    digest.update(tag.encode())
    for path in paths:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def embed_files(
    recogniser: Recogniser,
    paths: Sequence[Path],
    *,
    cache_dir: Path | None = None,
    transform: Callable[[Image], Image] | None = None,
    tag: str = "",
    chunk: int = 64,
) -> EmbeddedFiles:
    """Embeddings of image files in order (optionally through ``transform`` first).

    ``tag`` names the transform in the cache key: two transforms must not share a tag.
    """
    cache_file = None
    if cache_dir is not None:
        cache_file = cache_dir / f"embeddings-{cache_key(recogniser, paths, tag)[:24]}.npy"
        if cache_file.is_file():
            cached = np.load(cache_file, allow_pickle=False)
            if cached.shape == (len(paths), recogniser.dim):
                return EmbeddedFiles(np.asarray(cached, dtype=np.float32), None, cache_file)
    out = np.empty((len(paths), recogniser.dim), dtype=np.float32)
    started = time.perf_counter()
    # Decode in chunks: the whole split as images at once would hold ~1 GB for no gain.
    for start in range(0, len(paths), chunk):
        images = [load_image(p) for p in paths[start : start + chunk]]
        if transform is not None:
            images = [transform(image) for image in images]
        out[start : start + len(images)] = recogniser.embed(images)
    ms = (time.perf_counter() - started) * 1000.0 / max(len(paths), 1)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp.npy")
        np.save(tmp, out)
        tmp.replace(cache_file)
    return EmbeddedFiles(out, ms, cache_file)


@dataclass(frozen=True, slots=True)
class ClassAccuracy:
    """How one class fared: images, correct top-1, accuracy."""

    label: str
    images: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.images if self.images else 0.0


@dataclass(frozen=True, slots=True, eq=False)
class EvalResult:
    """Closed-set results of query embeddings against a gallery.

    ``confusion[i, j]`` counts images of ``labels[i]`` whose top-1 was ``labels[j]``; ``labels``
    is the gallery's labels followed by any query label missing from the gallery (a row that
    can never be right).
    """

    labels: tuple[str, ...]
    images: int
    top1: float
    top5: float
    per_class: tuple[ClassAccuracy, ...]
    confusion: npt.NDArray[np.int64]
    nll: float
    ece: float
    temperature: float
    unknown_rate: float
    ms_per_image: float | None

    @property
    def mean_class_accuracy(self) -> float:
        present = [c.accuracy for c in self.per_class if c.images]
        return float(np.mean(present)) if present else 0.0


def evaluate(
    gallery: Gallery,
    embeddings: FloatArray,
    labels: Sequence[str],
    settings: ClassifierSettings,
    *,
    ms_per_image: float | None = None,
) -> EvalResult:
    """Score ``embeddings`` (true ``labels``) against ``gallery``."""
    gallery_labels, scores = gallery.scores(embeddings, settings.method, settings.knn_k)
    all_labels = gallery_labels + tuple(sorted(set(labels) - set(gallery_labels)))
    index = {label: i for i, label in enumerate(all_labels)}
    truth = np.array([index[label] for label in labels], dtype=np.int64)
    order = np.argsort(-scores, axis=1, kind="stable")
    top1 = order[:, 0]
    hit1 = top1 == truth
    hit5 = (order[:, :5] == truth[:, None]).any(axis=1)
    confusion = np.zeros((len(all_labels), len(all_labels)), dtype=np.int64)
    np.add.at(confusion, (truth, top1), 1)
    per_class = tuple(
        ClassAccuracy(label, int((truth == i).sum()), int(hit1[truth == i].sum()))
        for i, label in enumerate(all_labels)
        if (truth == i).any()
    )
    known = truth < len(gallery_labels)
    probabilities = softmax(scores, settings.temperature)
    return EvalResult(
        labels=all_labels,
        images=len(labels),
        top1=float(hit1.mean()) if len(labels) else 0.0,
        top5=float(hit5.mean()) if len(labels) else 0.0,
        per_class=per_class,
        confusion=confusion,
        nll=nll(scores[known], truth[known], settings.temperature) if known.any() else 0.0,
        ece=expected_calibration_error(probabilities[known], truth[known]) if known.any() else 0.0,
        temperature=settings.temperature,
        unknown_rate=float((scores.max(axis=1) < settings.unknown_threshold).mean())
        if len(labels)
        else 0.0,
        ms_per_image=ms_per_image,
    )


def write_confusion_csv(result: EvalResult, path: Path) -> None:
    """The confusion matrix as CSV: a header of predicted labels, one row per true label."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["true \\ predicted", *result.labels])
        for label, row in zip(result.labels, result.confusion, strict=True):
            writer.writerow([label, *(int(v) for v in row)])


def write_confusion_png(result: EvalResult, path: Path, cell: int = 12) -> None:
    """The row-normalised confusion matrix as an image (darker = more of that row)."""
    n = len(result.labels)
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = cell / 30.0
    margin = 12 + max(
        (cv2.getTextSize(label, font, scale, 1)[0][0] for label in result.labels), default=0
    )
    size = margin + n * cell + 4
    canvas = np.full((size, size, 3), 255, dtype=np.uint8)
    rows = result.confusion.sum(axis=1, keepdims=True)
    share = result.confusion / np.maximum(rows, 1)
    for i in range(n):
        for j in range(n):
            if share[i, j] <= 0:
                continue
            shade = round(255 * (1.0 - float(share[i, j])))
            # Blue for confusions, green on the diagonal, so mistakes stand out.
            colour = (255, shade, shade) if i != j else (shade, 200, shade)
            y, x = margin + i * cell, margin + j * cell
            cv2.rectangle(canvas, (x, y), (x + cell - 1, y + cell - 1), colour, -1)
    cv2.rectangle(canvas, (margin - 1, margin - 1), (margin + n * cell, margin + n * cell), 0, 1)
    # Row labels at the left; column labels drawn on a strip that is then rotated upright.
    strip = np.full((cell * n, margin, 3), 255, dtype=np.uint8)
    for i, label in enumerate(result.labels):
        baseline_y = i * cell + int(cell * 0.8)
        cv2.putText(canvas, label, (4, margin + baseline_y), font, scale, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(strip, label, (4, baseline_y), font, scale, (0, 0, 0), 1, cv2.LINE_AA)
    # Counter-clockwise: label i lands above column i, reading upwards from the matrix.
    canvas[:margin, margin : margin + n * cell] = cv2.rotate(strip, cv2.ROTATE_90_COUNTERCLOCKWISE)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), canvas):
        raise OSError(f"cannot write {path}")
