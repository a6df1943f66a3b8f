"""Learning curves, confusion matrix and reliability diagram as PNG (matplotlib, Agg backend).

The Agg backend is selected before pyplot is imported: training runs headless (CI, a cart over
SSH), where the default backend would look for a display.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt

from vision.recognition.classify import softmax
from vision.training.train import EpochMetrics

FloatArray = npt.NDArray[np.float32]


def learning_curves(history: Sequence[EpochMetrics], path: Path, title: str = "") -> Path:
    """Loss and top-1 per epoch, train and val, side by side."""
    epochs = [m.epoch for m in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=100)
    loss_ax.plot(epochs, [m.train_loss for m in history], "o-", label="train (augmented)")
    loss_ax.plot(epochs, [m.val_loss for m in history], "s-", label="val")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("cross-entropy")
    loss_ax.legend()
    acc_ax.plot(epochs, [m.train_top1 for m in history], "o-", label="train top-1 (augmented)")
    acc_ax.plot(epochs, [m.val_top1 for m in history], "s-", label="val top-1")
    acc_ax.plot(epochs, [m.val_top5 for m in history], "^-", label="val top-5")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylim(0, 1)
    acc_ax.legend(loc="lower right")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def confusion_matrix(
    truth: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64], classes: int
) -> npt.NDArray[np.int64]:
    """``[classes, classes]`` counts, rows true class, columns predicted."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def confusion_png(
    matrix: npt.NDArray[np.int64], labels: Sequence[str], path: Path, title: str = ""
) -> Path:
    """The confusion matrix, rows normalised, only classes that occur as truth or prediction."""
    used = np.flatnonzero(matrix.sum(axis=0) + matrix.sum(axis=1))
    sub = matrix[np.ix_(used, used)].astype(np.float64)
    rows = sub / np.maximum(sub.sum(axis=1, keepdims=True), 1)
    side = max(4.0, 0.13 * len(used) + 2)
    fig, ax = plt.subplots(figsize=(side, side), dpi=100)
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    names = [labels[int(i)] for i in used]
    ax.set_xticks(range(len(used)), names, rotation=90, fontsize=5)
    ax.set_yticks(range(len(used)), names, fontsize=5)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def reliability_png(
    logits: FloatArray,
    truth: npt.NDArray[np.int64],
    temperature: float,
    path: Path,
    bins: int = 10,
) -> Path:
    """Accuracy against confidence, before (T = 1) and after temperature scaling."""
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    edges = np.linspace(0, 1, bins + 1)
    for t, name in ((1.0, "T = 1"), (temperature, f"T = {temperature:.2f}")):
        probs = softmax(logits, t)
        confidence = probs.max(axis=1)
        correct = probs.argmax(axis=1) == truth
        centres, accuracy = [], []
        for lo, hi in itertools.pairwise(edges):
            inside = (confidence > lo) & (confidence <= hi)
            if inside.any():
                centres.append(float(confidence[inside].mean()))
                accuracy.append(float(correct[inside].mean()))
        ax.plot(centres, accuracy, "o-", label=name)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect")
    ax.set_xlabel("confidence (top-1 probability)")
    ax.set_ylabel("accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
