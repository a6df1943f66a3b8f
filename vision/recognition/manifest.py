"""The model manifest: what a recognition model expects and produces, checked before use.

A model in ``models/`` is a pair: ``NAME.onnx`` and ``NAME.json``. The JSON names the ONNX file,
its sha256, the input tensor (name, size, normalisation, channel order, resize policy), the output
names, the embedding width, the default calibration and where the model came from. Loading checks
every field's type and range and the file's checksum, so a truncated download, a model swapped
under a stale manifest or a hand-edited typo fails at start-up with the path and the reason,
never as wrong answers at the till.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

MANIFEST_SCHEMA = 1
# v1: fine-tuned on the Grocery Store Dataset, embedding + calibrated class logits
# (``vision/training``, ``models/MODEL_CARD.md``). v0 stays loadable: pass its manifest.
DEFAULT_MODEL_NAME = "grocery-embed-v1"
# vision/recognition/manifest.py → parents[2] is the repository root (or site-packages, where the
# ``models`` package data is installed next to ``vision``).
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_MANIFEST = MODELS_DIR / f"{DEFAULT_MODEL_NAME}.json"

ResizePolicy = Literal["crop", "letterbox", "stretch"]
RESIZE_POLICIES: tuple[ResizePolicy, ...] = ("crop", "letterbox", "stretch")
ScoreMethod = Literal["prototype", "knn"]
SCORE_METHODS: tuple[ScoreMethod, ...] = ("prototype", "knn")


class ModelError(Exception):
    """A model or its manifest is missing, malformed, corrupt or does not match."""


@dataclass(frozen=True, slots=True)
class InputSpec:
    """How a crop becomes the model's input tensor.

    ``resize``: ``crop`` scales the shorter side to ``size / crop_fraction`` and cuts the centre
    ``size``; ``letterbox`` scales the longer side to ``size`` and pads with the mean colour;
    ``stretch`` scales both sides to ``size`` whatever the aspect ratio.
    """

    name: str
    height: int
    width: int
    channel_order: Literal["RGB", "BGR"]
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: ResizePolicy
    crop_fraction: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """Default classifier settings measured for this model (see ``docs/recognition.md``)."""

    method: ScoreMethod
    temperature: float
    unknown_threshold: float
    knn_k: int
    fitted_on: str


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Where the model's weights came from."""

    model: str
    origin: str
    licence: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """A validated model manifest. Build with :meth:`load`."""

    path: Path
    name: str
    model_path: Path
    sha256: str
    input: InputSpec
    embedding_output: str
    logits_output: str | None
    embedding_dim: int
    normalised: bool
    source: SourceInfo
    calibration: Calibration | None
    metrics: Mapping[str, Any] | None  # read-only view: the manifest is a frozen value
    # A trained model's classes: column ``i`` of the logits output is ``labels[i]``; the logits
    # are divided by ``logits_temperature`` before the softmax (temperature scaling). Both are
    # empty/None for an embedding-only model such as v0.
    labels: tuple[str, ...] = ()
    logits_temperature: float | None = None

    @classmethod
    def load(cls, path: Path | str = DEFAULT_MANIFEST, *, verify: bool = True) -> Manifest:
        """Read and validate ``path``; with ``verify`` also check the model file's sha256.

        Raises :class:`ModelError` naming the file and the problem.
        """
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"model manifest not found: {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: cannot read the model manifest: {exc}") from exc
        manifest = _parse(path, raw)
        if verify:
            manifest.verify()
        return manifest

    def verify(self) -> None:
        """Check that the model file exists and its sha256 is the manifest's."""
        if not self.model_path.is_file():
            raise ModelError(f"model file not found: {self.model_path} (named by {self.path})")
        actual = sha256_file(self.model_path)
        if actual != self.sha256:
            raise ModelError(
                f"{self.model_path}: sha256 {actual} does not match {self.sha256} recorded in "
                f"{self.path}; the file is corrupt or belongs to another manifest"
            )


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Fields:
    """Typed access to one JSON object, with error messages that give the key path."""

    def __init__(self, path: Path, where: str, raw: object) -> None:
        if not isinstance(raw, dict):
            raise ModelError(f"{path}: {where or 'manifest'} must be an object")
        self._path = path
        self._where = where
        self._raw = cast(dict[str, Any], raw)

    def _fail(self, key: str, what: str) -> ModelError:
        where = f"{self._where}.{key}" if self._where else key
        return ModelError(f"{self._path}: {where} {what}")

    def has(self, key: str) -> bool:
        return self._raw.get(key) is not None

    def get(self, key: str) -> Any:
        if key not in self._raw:
            raise self._fail(key, "is missing")
        return self._raw[key]

    def str_(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value:
            raise self._fail(key, "must be a non-empty string")
        return value

    def int_(self, key: str, low: int = 1) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self._fail(key, f"must be an integer >= {low}")
        return value

    def float_(self, key: str, low: float, high: float) -> float:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "must be a number")
        number = float(value)
        if not (math.isfinite(number) and low <= number <= high):
            raise self._fail(key, f"must lie in [{low}, {high}]")
        return number

    def triple(self, key: str, low: float, high: float) -> tuple[float, float, float]:
        value = self.get(key)
        if not isinstance(value, list) or len(value) != 3:
            raise self._fail(key, "must be a list of three numbers")
        numbers = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise self._fail(key, "must be a list of three numbers")
            if not low <= float(item) <= high:
                raise self._fail(key, f"values must lie in [{low}, {high}]")
            numbers.append(float(item))
        return (numbers[0], numbers[1], numbers[2])

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.get(key)
        if value not in choices:
            raise self._fail(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return cast(str, value)

    def sub(self, key: str) -> _Fields:
        where = f"{self._where}.{key}" if self._where else key
        return _Fields(self._path, where, self.get(key))


def _parse(path: Path, raw: object) -> Manifest:
    top = _Fields(path, "", raw)
    schema = top.int_("schema")
    if schema != MANIFEST_SCHEMA:
        raise ModelError(f"{path}: schema {schema} is not supported (expected {MANIFEST_SCHEMA})")
    file_name = top.str_("file")
    if Path(file_name).name != file_name:
        # The model must sit next to its manifest: no paths that wander elsewhere.
        raise ModelError(f"{path}: file must be a bare file name, not {file_name!r}")
    sha = top.str_("sha256").lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ModelError(f"{path}: sha256 must be 64 hex digits")

    inp = top.sub("input")
    size = inp.get("size")
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)
    ):
        raise ModelError(f"{path}: input.size must be [height, width], two positive integers")
    # The only layout and type the preprocessing writes; anything else is a different model.
    inp.choice("layout", ("NCHW",))
    inp.choice("dtype", ("float32",))
    std = inp.triple("std", 1e-6, 1e6)
    input_spec = InputSpec(
        name=inp.str_("name"),
        height=size[0],
        width=size[1],
        channel_order=cast(Literal["RGB", "BGR"], inp.choice("channel_order", ("RGB", "BGR"))),
        scale=inp.float_("scale", 1e-9, 1e9),
        mean=inp.triple("mean", -1e6, 1e6),
        std=std,
        resize=cast(ResizePolicy, inp.choice("resize", RESIZE_POLICIES)),
        crop_fraction=inp.float_("crop_fraction", 0.1, 1.0),
    )

    outputs = top.sub("outputs")
    normalised = top.get("normalised")
    if not isinstance(normalised, bool):
        raise ModelError(f"{path}: normalised must be true or false")
    src = top.sub("source")
    source = SourceInfo(
        model=src.str_("model"),
        origin=src.str_("origin"),
        licence=src.str_("licence"),
        sha256=src.str_("sha256"),
    )

    calibration = None
    if top.has("calibration"):
        cal = top.sub("calibration")
        calibration = Calibration(
            method=cast(ScoreMethod, cal.choice("method", SCORE_METHODS)),
            temperature=cal.float_("temperature", 1e-4, 100.0),
            unknown_threshold=cal.float_("unknown_threshold", -1.0, 1.0),
            knn_k=cal.int_("knn_k"),
            fitted_on=cal.str_("fitted_on"),
        )
    metrics = top.get("metrics") if top.has("metrics") else None
    if metrics is not None and not isinstance(metrics, dict):
        raise ModelError(f"{path}: metrics must be an object")
    logits_output = outputs.str_("logits") if outputs.has("logits") else None
    labels: tuple[str, ...] = ()
    if top.has("labels"):
        raw_labels = top.get("labels")
        if (
            not isinstance(raw_labels, list)
            or not raw_labels
            or not all(isinstance(label, str) and label for label in raw_labels)
        ):
            raise ModelError(f"{path}: labels must be a list of non-empty strings")
        if len(set(raw_labels)) != len(raw_labels):
            raise ModelError(f"{path}: labels must be unique")
        if logits_output is None:
            raise ModelError(f"{path}: labels need a logits output (outputs.logits)")
        labels = tuple(raw_labels)
    logits_temperature = None
    if top.has("logits_calibration"):
        logits_temperature = top.sub("logits_calibration").float_("temperature", 1e-3, 1e3)

    return Manifest(
        path=path,
        name=top.str_("name"),
        model_path=path.parent / file_name,
        sha256=sha,
        input=input_spec,
        embedding_output=outputs.str_("embedding"),
        logits_output=logits_output,
        embedding_dim=top.int_("embedding_dim"),
        normalised=normalised,
        source=source,
        calibration=calibration,
        metrics=MappingProxyType(dict(metrics)) if metrics is not None else None,
        labels=labels,
        logits_temperature=logits_temperature,
    )
