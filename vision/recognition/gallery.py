"""Reference embeddings per label: what the recogniser compares crops against.

A gallery belongs to one model: embeddings from different models are not comparable, so the file
records the model's sha256 and :meth:`Gallery.load` refuses a gallery made with another model
when the caller says which one it runs. The file is a ``.npz`` (``numpy.savez``, no pickles) that
lives with the catalog data at a path the caller chooses; it is written atomically (temporary
file, fsync, rename) so a power cut leaves the old gallery or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vision.recognition.classify import ClassifierSettings, Recognition, candidates_from_scores
from vision.recognition.manifest import ScoreMethod
from vision.recognition.normalise import Whitening, fit_whitening, prototypes

FloatArray = npt.NDArray[np.float32]
GALLERY_FORMAT = 1


class GalleryError(Exception):
    """A gallery file is missing, unreadable, malformed or made with another model."""


@dataclass(frozen=True, slots=True)
class GalleryStats:
    """How many labels and references a gallery holds."""

    labels: int
    references: int
    min_per_label: int
    max_per_label: int


def normalise_rows(vectors: npt.ArrayLike) -> FloatArray:
    """Rows scaled to unit length (a zero row stays zero)."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    # Rows already unit length up to float32 rounding are kept bit for bit: dividing by a norm
    # of 0.99999994 would change their last bits, and a gallery saved and loaded again (which
    # normalises on load) must give back exactly the references it stored.
    norms = np.where(np.abs(norms - 1.0) < 1e-6, 1.0, norms)
    return np.asarray(array / np.maximum(norms, 1e-12), dtype=np.float32)


class Gallery:
    """Unit-length reference embeddings with their labels.

    Not thread-safe for writes: enrol from one thread (maintenance mode), classify from any once
    enrolment is done. Prototypes are cached and rebuilt after each change.
    """

    def __init__(self, dim: int, *, model_sha256: str | None = None) -> None:
        if dim < 1:
            raise ValueError("dim must be >= 1")
        self.dim = dim
        self.model_sha256 = model_sha256
        self._embeddings: FloatArray = np.zeros((0, dim), dtype=np.float32)
        self._labels: list[str] = []
        self._cache: tuple[tuple[str, ...], FloatArray, npt.NDArray[np.int64]] | None = None
        self._white: tuple[Whitening, FloatArray] | None = None
        """(whitening, whitened prototypes); None when the gallery is too small."""
        self._white_stale = True

    # ----- contents

    def __len__(self) -> int:
        return len(self._labels)

    @property
    def labels(self) -> tuple[str, ...]:
        """Distinct labels, sorted."""
        return self._index()[0]

    def count(self, label: str) -> int:
        return sum(1 for name in self._labels if name == label)

    def references(self, label: str) -> FloatArray:
        """The stored embeddings of ``label`` (``[n, dim]``; empty when unknown)."""
        mask = np.array([name == label for name in self._labels], dtype=bool)
        return self._embeddings[mask] if len(mask) else self._embeddings[:0]

    def stats(self) -> GalleryStats:
        counts = [self.count(label) for label in self.labels]
        return GalleryStats(
            len(counts), len(self._labels), min(counts, default=0), max(counts, default=0)
        )

    def add(self, label: str, embeddings: npt.ArrayLike) -> int:
        """Append ``embeddings`` (``[n, dim]`` or ``[dim]``) for ``label``; returns ``n``."""
        rows = normalise_rows(embeddings)
        self._append([label] * len(rows), rows)
        return len(rows)

    def _append(self, labels: list[str], embeddings: FloatArray) -> None:
        """Validate and append rows in order (shared by :meth:`add` and :meth:`load`)."""
        for label in set(labels):
            if not label or label != label.strip():
                raise ValueError(f"label must be non-empty without surrounding spaces: {label!r}")
        rows = np.asarray(embeddings, dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] != self.dim or len(rows) != len(labels):
            raise ValueError(f"embeddings have shape {rows.shape}, gallery has {self.dim} dims")
        if not np.isfinite(rows).all():
            raise ValueError("embeddings contain NaN or infinity")
        self._embeddings = np.concatenate([self._embeddings, rows])
        self._labels.extend(labels)
        self._cache = None
        self._white_stale = True

    def remove(self, label: str) -> int:
        """Drop every reference of ``label``; returns how many were removed."""
        keep = np.array([name != label for name in self._labels], dtype=bool)
        removed = len(keep) - int(keep.sum())
        if removed:
            self._embeddings = self._embeddings[keep]
            self._labels = [name for name in self._labels if name != label]
            self._cache = None
            self._white_stale = True
        return removed

    # ----- scoring

    def _index(self) -> tuple[tuple[str, ...], FloatArray, npt.NDArray[np.int64]]:
        """(sorted labels, prototypes ``[C, dim]``, label index of each reference)."""
        if self._cache is None:
            labels = tuple(sorted(set(self._labels)))
            position = {label: i for i, label in enumerate(labels)}
            owner = np.array([position[name] for name in self._labels], dtype=np.int64)
            sums = np.zeros((len(labels), self.dim), dtype=np.float64)
            np.add.at(sums, owner, self._embeddings)
            self._cache = (labels, normalise_rows(sums), owner)
        return self._cache

    def prototypes(self) -> tuple[tuple[str, ...], FloatArray]:
        """Labels and their prototypes: the normalised mean of each label's references."""
        labels, protos, _ = self._index()
        return labels, protos

    def scores(
        self, embeddings: npt.ArrayLike, method: ScoreMethod = "prototype", k: int = 3
    ) -> tuple[tuple[str, ...], FloatArray]:
        """Label scores ``[n, C]`` of query embeddings (cosine similarities).

        ``prototype``: similarity to each label's prototype. ``knn``: mean of the ``k`` best
        similarities to the label's references (fewer when the label has fewer).
        """
        queries = normalise_rows(embeddings)
        if queries.shape[1] != self.dim:
            raise ValueError(
                f"embeddings have {queries.shape[1]} dimensions, gallery has {self.dim}"
            )
        labels, protos, owner = self._index()
        if method == "prototype":
            return labels, np.asarray(queries @ protos.T, dtype=np.float32)
        similarities = queries @ self._embeddings.T
        out = np.empty((len(queries), len(labels)), dtype=np.float32)
        for c in range(len(labels)):
            own = similarities[:, owner == c]
            kk = min(k, own.shape[1])
            best = -np.partition(-own, kk - 1, axis=1)[:, :kk]
            out[:, c] = best.mean(axis=1)
        return labels, out

    def whitening(self) -> tuple[Whitening, FloatArray] | None:
        """The gallery's within-label whitening and its whitened prototypes, or None when the
        gallery is too small to estimate it (``normalise.py``)."""
        if self._white_stale:
            self._white_stale = False
            self._white = None
            _labels, _protos, owner = self._index()
            white = fit_whitening(self._embeddings, owner) if len(owner) else None
            if white is not None:
                labels = int(owner.max()) + 1
                self._white = (white, prototypes(white.apply(self._embeddings), owner, labels))
        return self._white

    def classify(
        self,
        embedding: npt.ArrayLike,
        top_k: int = 5,
        settings: ClassifierSettings | None = None,
    ) -> Recognition:
        """Calibrated candidates for one embedding, best first, or ``Unknown``."""
        return self.classify_many(embedding, top_k, settings)[0]

    def classify_many(
        self,
        embeddings: npt.ArrayLike,
        top_k: int = 5,
        settings: ClassifierSettings | None = None,
    ) -> tuple[Recognition, ...]:
        """:meth:`classify` for each row, scoring all rows in one matrix product.

        With ``settings.whiten`` and a gallery large enough, the prototype scores are the
        whitened ones at the gallery's own temperature; the open-set check stays on the raw
        similarities."""
        settings = settings or ClassifierSettings()
        labels, scores = self.scores(embeddings, settings.method, settings.knn_k)
        white = self.whitening() if settings.whiten and settings.method == "prototype" else None
        if white is None:
            return tuple(candidates_from_scores(row, labels, settings, top_k) for row in scores)
        whitening, protos = white
        sharpened = replace(settings, temperature=whitening.temperature)
        whitened = whitening.apply(normalise_rows(embeddings)) @ protos.T
        return tuple(
            candidates_from_scores(w, labels, sharpened, top_k, similarity=raw)
            for w, raw in zip(whitened, scores, strict=True)
        )

    # ----- files

    def save(self, path: Path | str) -> None:
        """Write the gallery to ``path`` (``.npz``) atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                # A file object, not a name: savez would otherwise append ".npz" to the name.
                np.savez(
                    handle,
                    format=np.array(GALLERY_FORMAT),
                    dim=np.array(self.dim),
                    embeddings=self._embeddings,
                    labels=np.array(self._labels, dtype=np.str_).reshape(-1),
                    model_sha256=np.array(self.model_sha256 or ""),
                )
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path | str, *, model_sha256: str | None = None) -> Gallery:
        """Read a gallery; with ``model_sha256`` refuse one made with another model."""
        path = Path(path)
        if not path.is_file():
            raise GalleryError(f"gallery not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                fmt = int(data["format"])
                dim = int(data["dim"])
                embeddings = np.asarray(data["embeddings"], dtype=np.float32)
                labels = [str(name) for name in data["labels"]]
                recorded = str(data["model_sha256"]) or None
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise GalleryError(f"{path}: not a readable gallery: {exc}") from exc
        if fmt != GALLERY_FORMAT:
            raise GalleryError(f"{path}: gallery format {fmt} is not supported")
        if embeddings.ndim != 2 or embeddings.shape != (len(labels), dim):
            raise GalleryError(f"{path}: embeddings and labels do not match in shape")
        if model_sha256 is not None and recorded is not None and recorded != model_sha256:
            raise GalleryError(
                f"{path}: made with model {recorded[:12]}…, not the loaded model "
                f"{model_sha256[:12]}…; enrol the products again with this model"
            )
        gallery = cls(dim, model_sha256=recorded)
        try:
            # Normalised again: a file edited by another tool must not skew the cosines.
            gallery._append(labels, normalise_rows(embeddings))
        except ValueError as exc:
            raise GalleryError(f"{path}: {exc}") from exc
        return gallery

    @classmethod
    def from_pairs(
        cls, dim: int, pairs: Iterable[tuple[str, FloatArray]], *, model_sha256: str | None = None
    ) -> Gallery:
        """A gallery from ``(label, embeddings)`` pairs."""
        gallery = cls(dim, model_sha256=model_sha256)
        for label, rows in pairs:
            gallery.add(label, rows)
        return gallery
