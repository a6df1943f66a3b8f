"""The embedding model in onnxruntime: crops in, unit-length embeddings out.

Loading reads the model file once, checks its sha256 against the manifest on those same bytes
(no window for the file to change between check and use), builds the session and runs a warm-up
inference so the first real crop does not pay for memory planning and kernel selection.

``intra_op_num_threads`` defaults to 1: on the cart the capture threads, the motion gate, the
barcode reader and the UI share a few cores, and one crop at a time on one core already fits the
frame budget (``docs/recognition.md``). onnxruntime releases the GIL while it runs, so a worker
thread recognising crops does not stall the rest of the process.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from vision.recognition.classify import softmax
from vision.recognition.manifest import DEFAULT_MANIFEST, Manifest, ModelError
from vision.recognition.preprocess import Image, Preprocessor
from vision.types import Candidate

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class RecogniserSettings:
    """Runtime knobs. ``batch_size`` caps how many crops go through the model in one run."""

    intra_op_threads: int = 1
    batch_size: int = 8
    warm_up: bool = True

    def __post_init__(self) -> None:
        if self.intra_op_threads < 1 or self.batch_size < 1:
            raise ValueError("intra_op_threads and batch_size must be >= 1")


@dataclass(frozen=True, slots=True, eq=False)
class Prediction:
    """Embeddings and, for a trained model, calibrated class probabilities of a batch of crops.

    ``probabilities[i, j]`` is the probability that crop ``i`` shows ``labels[j]`` (the model's
    trained classes, softmax of the logits at the manifest's temperature); ``None`` for an
    embedding-only model.
    """

    embeddings: FloatArray
    probabilities: FloatArray | None
    labels: tuple[str, ...]

    def top(self, k: int = 5) -> tuple[tuple[Candidate, ...], ...]:
        """The ``k`` most probable trained classes of each crop (empty without logits)."""
        if self.probabilities is None:
            return tuple(() for _ in range(len(self.embeddings)))
        k = min(k, len(self.labels))
        order = np.argsort(-self.probabilities, axis=1, kind="stable")[:, :k]
        return tuple(
            tuple(Candidate(self.labels[j], float(row[j])) for j in best)
            for row, best in zip(self.probabilities, order, strict=True)
        )


@dataclass(frozen=True, slots=True, eq=False)
class BudgetedEmbeddings:
    """Embeddings of the first ``len(embeddings)`` crops, made within a time budget.

    ``skipped`` crops at the end were not processed because the budget ran out.
    """

    embeddings: FloatArray
    skipped: int
    elapsed_s: float


class Recogniser:
    """An embedding model ready to run. Thread-safe: onnxruntime sessions may run concurrently."""

    def __init__(self, manifest: Manifest, settings: RecogniserSettings | None = None) -> None:
        self.manifest = manifest
        self.settings = settings or RecogniserSettings()
        self._preprocess = Preprocessor(manifest.input)
        self._session = _open_session(manifest, self.settings)
        self._output = [manifest.embedding_output]
        # Seconds per crop, smoothed; seeds the budget's prediction before the first real run.
        self._per_crop_s = 0.02
        if self.settings.warm_up:
            started = time.perf_counter()
            self.embed([np.zeros((manifest.input.height, manifest.input.width, 3), np.uint8)])
            self._per_crop_s = time.perf_counter() - started

    @classmethod
    def load(
        cls,
        manifest_path: Path | str = DEFAULT_MANIFEST,
        settings: RecogniserSettings | None = None,
    ) -> Recogniser:
        """Load the model that ``manifest_path`` describes (default: the shipped model)."""
        # verify=False: the session checks the checksum itself, on the bytes it loads.
        return cls(Manifest.load(manifest_path, verify=False), settings)

    @property
    def dim(self) -> int:
        return self.manifest.embedding_dim

    @property
    def per_crop_s(self) -> float:
        """The recent time per crop (preprocessing and inference), smoothed."""
        return self._per_crop_s

    def tensor(self, crops: Sequence[Image]) -> FloatArray:
        """The model input for ``crops`` (exposed for tests and benchmarks)."""
        return self._preprocess.tensor(crops)

    def embed(self, crops: Sequence[Image]) -> FloatArray:
        """Unit-length embeddings ``[len(crops), dim]`` of BGR crops, in batches."""
        out = np.empty((len(crops), self.dim), dtype=np.float32)
        step = self.settings.batch_size
        for start in range(0, len(crops), step):
            out[start : start + step] = self._run(crops[start : start + step])
        return out

    @property
    def has_logits(self) -> bool:
        """Whether the model also outputs class logits for its trained labels."""
        return bool(self.manifest.logits_output and self.manifest.labels)

    def predict(self, crops: Sequence[Image]) -> Prediction:
        """Embeddings and calibrated class probabilities (see :class:`Prediction`), in batches.

        For a model without logits this is :meth:`embed` with ``probabilities`` ``None``.
        """
        if not self.has_logits:
            return Prediction(self.embed(crops), None, ())
        labels = self.manifest.labels
        embeddings = np.empty((len(crops), self.dim), dtype=np.float32)
        logits = np.empty((len(crops), len(labels)), dtype=np.float32)
        step = self.settings.batch_size
        names = [self.manifest.embedding_output, str(self.manifest.logits_output)]
        for start in range(0, len(crops), step):
            batch = self._preprocess.tensor(crops[start : start + step])
            e, z = self._session.run(names, {self.manifest.input.name: batch})
            embeddings[start : start + step] = self._normalised(np.asarray(e, dtype=np.float32))
            logits[start : start + step] = np.asarray(z, dtype=np.float32)
        temperature = self.manifest.logits_temperature or 1.0
        probabilities = softmax(logits, temperature) if len(crops) else logits
        return Prediction(embeddings, probabilities, labels)

    def embed_within(
        self,
        crops: Sequence[Image],
        budget_s: float,
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> BudgetedEmbeddings:
        """Embed crops in order until ``budget_s`` is spent (the frame budget).

        Before each batch the time it will take is predicted from the smoothed time per crop;
        a batch that would overrun is shrunk, and when not even one more crop fits, the rest are
        skipped. The first crop is always processed, so a frame always makes progress even with
        a budget smaller than one inference.
        """
        started = clock()
        done: list[FloatArray] = []
        count = 0
        while count < len(crops):
            elapsed = clock() - started
            fits = int((budget_s - elapsed) / max(self._per_crop_s, 1e-6))
            take = min(self.settings.batch_size, len(crops) - count, fits)
            if take < 1:
                if count:
                    break
                take = 1
            done.append(self._run(crops[count : count + take], clock))
            count += take
        embeddings = np.concatenate(done) if done else np.zeros((0, self.dim), np.float32)
        return BudgetedEmbeddings(embeddings, len(crops) - count, clock() - started)

    def _run(
        self, crops: Sequence[Image], clock: Callable[[], float] = time.perf_counter
    ) -> FloatArray:
        started = clock()
        batch = self._preprocess.tensor(crops)
        result = self._session.run(self._output, {self.manifest.input.name: batch})[0]
        embeddings = self._normalised(np.asarray(result, dtype=np.float32))
        per_crop = (clock() - started) / max(len(crops), 1)
        # Exponential smoothing: follows a machine that gets busier without jumping on one
        # preempted run.
        self._per_crop_s = 0.8 * self._per_crop_s + 0.2 * per_crop
        return embeddings

    def _normalised(self, embeddings: FloatArray) -> FloatArray:
        if not self.manifest.normalised:
            embeddings /= np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        return embeddings


def _open_session(manifest: Manifest, settings: RecogniserSettings) -> ort.InferenceSession:
    path = manifest.model_path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path} (named by {manifest.path})") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model: {exc}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != manifest.sha256:
        raise ModelError(
            f"{path}: sha256 {actual} does not match {manifest.sha256} recorded in "
            f"{manifest.path}; the file is corrupt or belongs to another manifest"
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle worker threads would otherwise spin waiting for work and steal CPU from capture and
    # the UI between crops.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad models
        raise ModelError(f"{path}: onnxruntime cannot load the model: {exc}") from exc
    _check_signature(manifest, session)
    return session


def _check_signature(manifest: Manifest, session: ort.InferenceSession) -> None:
    """The session's input and outputs must be what the manifest promises."""
    spec = manifest.input
    inputs = {i.name: i for i in session.get_inputs()}
    if spec.name not in inputs:
        raise ModelError(
            f"{manifest.model_path}: no input {spec.name!r} (has {', '.join(inputs)}); "
            f"check {manifest.path}"
        )
    shape = list(inputs[spec.name].shape)
    if len(shape) != 4 or shape[1:] != [3, spec.height, spec.width]:
        raise ModelError(
            f"{manifest.model_path}: input {spec.name!r} has shape {shape}, manifest says "
            f"[N, 3, {spec.height}, {spec.width}]"
        )
    outputs = {o.name: o for o in session.get_outputs()}
    wanted = [manifest.embedding_output]
    if manifest.logits_output:
        wanted.append(manifest.logits_output)
    for name in wanted:
        if name not in outputs:
            raise ModelError(
                f"{manifest.model_path}: no output {name!r} (has {', '.join(outputs)}); "
                f"check {manifest.path}"
            )
    if manifest.labels and manifest.logits_output:
        classes = list(outputs[manifest.logits_output].shape)[-1]
        if isinstance(classes, int) and classes != len(manifest.labels):
            raise ModelError(
                f"{manifest.model_path}: logits have {classes} classes, manifest lists "
                f"{len(manifest.labels)} labels"
            )
    width = list(outputs[manifest.embedding_output].shape)[-1]
    if isinstance(width, int) and width != manifest.embedding_dim:
        raise ModelError(
            f"{manifest.model_path}: embedding has {width} dimensions, manifest says "
            f"{manifest.embedding_dim}"
        )
