"""Product recognition: an ONNX embedding model, a gallery of enrolled products, calibration.

* :class:`Manifest` describes and checksums a model in ``models/`` (:class:`ModelError` when it
  is missing, corrupt or does not match).
* :class:`Recogniser` runs the model: BGR crops in, unit-length embeddings out, within a time
  budget per frame when asked; for a trained model (v1) :meth:`Recogniser.predict` also gives
  calibrated probabilities of its trained classes (:class:`Prediction`).
* :class:`Gallery` holds reference embeddings per label and classifies an embedding into
  calibrated :class:`~vision.types.Candidate` s or :class:`Unknown`.
* :class:`ProductRecogniser` puts them together: ``enroll(label, images)``, ``recognise(crops)``.

See ``docs/recognition.md`` for the design, the measurements and the recommended settings.
"""

from vision.recognition.classify import (
    ClassifierSettings,
    Recognition,
    Unknown,
    expected_calibration_error,
    fit_temperature,
    nll,
    softmax,
)
from vision.recognition.enrol import NO_AUGMENTATION, Augmentation, enrolment_views
from vision.recognition.gallery import Gallery, GalleryError, GalleryStats
from vision.recognition.manifest import (
    DEFAULT_MANIFEST,
    Calibration,
    InputSpec,
    Manifest,
    ModelError,
    SourceInfo,
)
from vision.recognition.recogniser import (
    BudgetedEmbeddings,
    Prediction,
    Recogniser,
    RecogniserSettings,
)
from vision.recognition.service import FrameRecognition, ProductRecogniser

__all__ = [
    "DEFAULT_MANIFEST",
    "NO_AUGMENTATION",
    "Augmentation",
    "BudgetedEmbeddings",
    "Calibration",
    "ClassifierSettings",
    "FrameRecognition",
    "Gallery",
    "GalleryError",
    "GalleryStats",
    "InputSpec",
    "Manifest",
    "ModelError",
    "Prediction",
    "ProductRecogniser",
    "Recogniser",
    "RecogniserSettings",
    "Recognition",
    "SourceInfo",
    "Unknown",
    "enrolment_views",
    "expected_calibration_error",
    "fit_temperature",
    "nll",
    "softmax",
]
