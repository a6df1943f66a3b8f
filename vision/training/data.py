"""The training and validation lists, the class index and the subset options for quick runs.

Reads the dataset's own split files (``train.txt`` for fitting, ``val.txt`` for every reported
figure): the split is store-disjoint per class, so it is never re-split. Fine class ids are
mapped to contiguous column indices in id order, so the classifier's column ``i`` is the
``i``-th fine id that the run trains on, and the manifest's ``labels`` list says which.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vision.recognition.dataset import Sample, label_of, read_class_names, read_split

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class ClassIndex:
    """Fine ids in column order and their labels (``classes.csv`` names)."""

    fine_ids: tuple[int, ...]
    labels: tuple[str, ...]

    def column(self, fine_id: int) -> int:
        """The classifier column of ``fine_id``; raises ``KeyError`` for a class not trained."""
        return self.fine_ids.index(fine_id)

    def __len__(self) -> int:
        return len(self.fine_ids)


@dataclass(frozen=True, slots=True)
class SplitData:
    """The samples of one split, restricted to the run's classes, and their columns."""

    samples: tuple[Sample, ...]
    columns: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class TrainingData:
    """Everything a run reads: root, class index, train and val samples."""

    root: Path
    classes: ClassIndex
    train: SplitData
    val: SplitData


def _restrict(samples: tuple[Sample, ...], classes: ClassIndex, per_class: int | None) -> SplitData:
    kept: list[Sample] = []
    seen: dict[int, int] = defaultdict(int)
    for sample in samples:
        if sample.fine_id not in classes.fine_ids:
            continue
        if per_class is not None and seen[sample.fine_id] >= per_class:
            continue
        seen[sample.fine_id] += 1
        kept.append(sample)
    columns = np.array([classes.column(s.fine_id) for s in kept], dtype=np.int64)
    return SplitData(tuple(kept), columns)


def load_training_data(
    root: Path, *, max_classes: int | None = None, per_class: int | None = None
) -> TrainingData:
    """The run's data from ``root/train.txt`` and ``root/val.txt``.

    ``max_classes`` keeps the classes with the smallest fine ids, ``per_class`` the first photos
    of each class in file order (both for quick runs and tests; the shipped model uses all).
    """
    train = read_split(root / "train.txt", root)
    val = read_split(root / "val.txt", root)
    names = read_class_names(root)
    fine_ids = sorted({s.fine_id for s in train})
    if max_classes is not None:
        fine_ids = fine_ids[:max_classes]
    classes = ClassIndex(tuple(fine_ids), tuple(label_of(i, names) for i in fine_ids))
    return TrainingData(
        root=root,
        classes=classes,
        train=_restrict(train, classes, per_class),
        val=_restrict(val, classes, per_class),
    )


def read_image(path: Path) -> Image:
    """A BGR photo; raises ``FileNotFoundError`` naming the file when it cannot be decoded."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return np.asarray(image, dtype=np.uint8)
