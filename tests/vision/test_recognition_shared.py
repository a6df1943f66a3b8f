"""Real grocery photos (``../shared/data/grocery``): val photos against a gallery of train photos.

Skipped, with the reason, when the shared data is not there (an outside checkout: the dataset is
public, see ``../shared/data/README.md`` for where it comes from).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vision.recognition import ClassifierSettings, Gallery, Recogniser, Unknown
from vision.recognition.dataset import grocery_root, label_of, read_class_names, read_split
from vision.recognition.evaluate import load_image

pytestmark = pytest.mark.shared_data

# Visually distinct classes, each with val photos.
CLASSES = ("Banana", "Aubergine", "Carrots", "Oatly-Oat-Milk", "Red-Bell-Pepper", "Watermelon")


@pytest.fixture(scope="module")
def root() -> Path:
    root = grocery_root()
    if not (root / "train.txt").is_file() or not (root / "val.txt").is_file():
        pytest.skip(
            f"Grocery Store Dataset not found at {root} (set SMARTCART_SHARED_DATA or see "
            "../shared/data/README.md); real-photo recognition test skipped"
        )
    return root


def test_val_photos_are_recognised_with_a_gallery_from_train(root: Path) -> None:
    names = read_class_names(root)
    wanted = {i for i, name in names.items() if name in CLASSES}
    assert len(wanted) == len(CLASSES)
    train = [s for s in read_split(root / "train.txt", root) if s.fine_id in wanted]
    val = [s for s in read_split(root / "val.txt", root) if s.fine_id in wanted]
    recogniser = Recogniser.load()
    gallery = Gallery(recogniser.dim, model_sha256=recogniser.manifest.sha256)
    # Ten train photos per class keep the test quick.
    for class_id in sorted(wanted):
        photos = [load_image(s.path) for s in train if s.fine_id == class_id][:10]
        gallery.add(label_of(class_id, names), recogniser.embed(photos))
    embeddings = recogniser.embed([load_image(s.path) for s in val])
    assert recogniser.manifest.calibration is not None
    settings = ClassifierSettings.from_calibration(recogniser.manifest.calibration)
    results = gallery.classify_many(embeddings, top_k=3, settings=settings)
    correct = [
        not isinstance(r, Unknown) and r[0].label == label_of(s.fine_id, names)
        for s, r in zip(val, results, strict=True)
    ]
    # The shipped model gets all of these right today; leave room for one hard photo per class.
    assert np.mean(correct) >= 0.8, f"{sum(correct)}/{len(correct)} correct"
    accepted = [not isinstance(r, Unknown) for r in results]
    assert np.mean(accepted) >= 0.8
