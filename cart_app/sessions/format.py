"""The session directory: ``session.json``, its files, and the checks a session passes on load.

Layout (``docs/session-format.md``)::

    session.json              this module's SessionMeta
    config.json               the cart configuration in effect (CartConfig as JSON)
    catalog.json              the store catalog in effect (catalog JSON format)
    cameras/<id>/             frames + timestamps.csv (vision.recording's format)
    scale.wire                raw scale bytes with times (scale.wirelog's format)
    scale-links.jsonl         when the scale link opened and was lost (optional)
    inputs.jsonl              shopper and staff inputs (cart_app.sessions.inputs)
    truth.json                generated trips only: the true receipt and actions
    events.jsonl, receipt.json   written after a run

Every file is checked when the session is loaded, and every problem is a :class:`SessionError`
that names the file (and line) and says what is wrong, so a damaged or half-written session is
refused up front rather than replayed into a wrong receipt.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cart_app.config.schema import CartConfig
from scale.wirelog import WireEntry, parse_entry
from vision.folder import TIMESTAMPS_CSV, read_timestamps_csv
from vision.sources import SourceError

FORMAT = "smartcart-session"
FORMAT_VERSION = 1
"""The newest session format this build reads and the one it writes."""

META_FILE = "session.json"
CONFIG_FILE = "config.json"
CATALOG_FILE = "catalog.json"
WIRE_FILE = "scale.wire"
LINKS_FILE = "scale-links.jsonl"
INPUTS_FILE = "inputs.jsonl"
TRUTH_FILE = "truth.json"
EVENTS_FILE = "events.jsonl"
RECEIPT_FILE = "receipt.json"

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
RelPath = Annotated[str, Field(min_length=1, max_length=500)]


class SessionError(Exception):
    """A session that cannot be used; the message names the file and the problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileRef(_Model):
    """A file the session depends on, relative to the session folder, with its checksum."""

    path: RelPath
    sha256: Sha256


class CameraEntry(_Model):
    """One camera's recording: a folder of frames with ``timestamps.csv``."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    folder: RelPath
    roi: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)


class ScaleEntry(_Model):
    """The scale's raw bytes."""

    protocol: Literal["cartboard", "mt-sics", "toledo-8217", "nci", "continuous"]
    wire_log: RelPath = WIRE_FILE
    links: RelPath | None = None
    calibration: FileRef | None = None


class ModelRef(_Model):
    """The recognition model the gallery was enrolled with: a manifest in ``models/``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    sha256: Sha256
    """The model file's checksum (as its manifest records it)."""


class GeneratorInfo(_Model):
    """How a generated session was made, so it can be made again."""

    tool: str
    seed: int
    trip: int = Field(ge=0)


class SessionMeta(_Model):
    """``session.json``."""

    format: Literal["smartcart-session"]
    format_version: int = Field(ge=1)
    session_id: str = Field(min_length=1, max_length=128)
    kind: Literal["recorded", "generated"]
    complete: bool
    """False while a recording runs (and after it was cut short)."""
    t_start: float
    """Start of the session on the cart's monotonic clock, in seconds."""
    t_end: float
    wall_at_start: float
    """Unix time at ``t_start``: the replay's wall clock is ``wall_at_start + (t - t_start)``."""
    config: RelPath = CONFIG_FILE
    catalog: FileRef
    gallery: FileRef | None = None
    """The recogniser's gallery (``.npz``); None: recognition off. May lie outside the folder
    (``../gallery-<model>.npz``), shared by a batch of generated trips."""
    model: ModelRef | None = None
    """The model of the gallery; None: the build's default model."""
    cameras: tuple[CameraEntry, ...] = ()
    scale: ScaleEntry | None = None
    inputs: RelPath = INPUTS_FILE
    truth: RelPath | None = None
    generator: GeneratorInfo | None = None


@dataclass(frozen=True, slots=True)
class CameraFrames:
    """One camera's frames, in time order: (image path, time)."""

    entry: CameraEntry
    frames: tuple[tuple[Path, float], ...]


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """The scale link opened (``opened``) or was lost (``lost``) at ``t``."""

    t: float
    event: Literal["opened", "lost"]
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Session:
    """A loaded, checked session: metadata, config, and the streams ready to replay."""

    folder: Path
    meta: SessionMeta
    config: CartConfig
    catalog_path: Path
    gallery_path: Path | None
    cameras: tuple[CameraFrames, ...]
    wire: tuple[WireEntry, ...]
    links: tuple[LinkEvent, ...]
    calibration_path: Path | None

    def path(self, relative: str) -> Path:
        """A file of the session by its relative path."""
        return resolve(self.folder, relative)


def resolve(folder: Path, relative: str) -> Path:
    """``relative`` inside (or, for shared files, next to) the session folder."""
    path = Path(relative)
    if path.is_absolute():
        raise SessionError(f"{folder / META_FILE}: paths must be relative, not {relative!r}")
    return folder / path


def sha256_of(path: Path) -> str:
    """The file's SHA-256 as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_ref(folder: Path, path: Path) -> FileRef:
    """A :class:`FileRef` to ``path`` relative to ``folder``."""
    relative = Path(os.path.relpath(path.resolve(), folder.resolve()))
    return FileRef(path=relative.as_posix(), sha256=sha256_of(path))


def write_meta(folder: Path, meta: SessionMeta) -> None:
    """Write ``session.json`` atomically (a crash leaves the old one or the new one)."""
    target = folder / META_FILE
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(target)


def read_meta(folder: Path) -> SessionMeta:
    """``session.json`` of ``folder``, validated; :class:`SessionError` names what is wrong."""
    path = folder / META_FILE
    if not folder.is_dir():
        raise SessionError(f"{folder}: not a folder")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SessionError(f"{path}: missing: {folder} is not a session folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionError(f"{path}: cannot read: {exc}") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SessionError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from exc
    if isinstance(raw, dict):
        if raw.get("format") != FORMAT:
            raise SessionError(f"{path}: not a smartcart session (format {raw.get('format')!r})")
        version = raw.get("format_version")
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise SessionError(
                f"{path}: session format {version} was written by a newer smartcart; "
                f"this build reads up to {FORMAT_VERSION}"
            )
    try:
        return SessionMeta.model_validate(raw)
    except ValidationError as exc:
        raise SessionError(f"{path}: {_problems(exc)}") from exc


def _problems(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(top)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _checked(folder: Path, ref: FileRef, what: str) -> Path:
    path = resolve(folder, ref.path)
    if not path.is_file():
        raise SessionError(f"{folder / META_FILE}: {what} {path} is missing")
    actual = sha256_of(path)
    if actual != ref.sha256:
        raise SessionError(
            f"{path}: {what} has sha256 {actual[:12]}…, session.json says {ref.sha256[:12]}…: "
            "the file was changed or belongs to another session"
        )
    return path


def _config(folder: Path, meta: SessionMeta) -> CartConfig:
    path = resolve(folder, meta.config)
    try:
        return CartConfig.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise SessionError(f"{path}: missing (the configuration in effect)") from None
    except ValidationError as exc:
        raise SessionError(f"{path}: {_problems(exc)}") from exc


def _camera(folder: Path, entry: CameraEntry) -> CameraFrames:
    cam_dir = resolve(folder, entry.folder)
    csv_path = cam_dir / TIMESTAMPS_CSV
    if not csv_path.is_file():
        raise SessionError(f"{csv_path}: missing (camera {entry.id})")
    try:
        rows = read_timestamps_csv(csv_path)
    except SourceError as exc:
        raise SessionError(str(exc)) from exc
    frames: list[tuple[Path, float]] = []
    last = -math.inf
    for line, (name, t) in enumerate(rows, start=2):
        if not math.isfinite(t) or t < last:
            raise SessionError(f"{csv_path}:{line}: time {t} goes backwards (previous {last})")
        image = cam_dir / name
        if Path(name).name != name or not image.is_file():
            raise SessionError(f"{csv_path}:{line}: frame {name!r} is missing")
        frames.append((image, t))
        last = t
    return CameraFrames(entry, tuple(frames))


def read_wire(path: Path) -> tuple[WireEntry, ...]:
    """The scale wire log, checked: every line parses and times never go backwards."""
    entries: list[WireEntry] = []
    last = -math.inf
    try:
        with path.open(encoding="ascii") as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    entry = parse_entry(line)
                except ValueError as exc:
                    raise SessionError(f"{path}:{line_no}: {exc}") from exc
                if not math.isfinite(entry.t) or entry.t < last:
                    raise SessionError(f"{path}:{line_no}: time {entry.t} goes backwards")
                last = entry.t
                entries.append(entry)
    except FileNotFoundError:
        raise SessionError(f"{path}: missing (the scale's bytes)") from None
    except UnicodeDecodeError as exc:
        raise SessionError(f"{path}: not a wire log (non-ASCII bytes): {exc}") from exc
    return tuple(entries)


def read_links(path: Path) -> tuple[LinkEvent, ...]:
    """``scale-links.jsonl``: one ``{"t": …, "event": "opened"|"lost", "reason": …}`` a line."""
    out: list[LinkEvent] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SessionError(f"{path}: missing") from None
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            event = LinkEvent(float(raw["t"]), raw["event"], str(raw.get("reason", "")))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise SessionError(f"{path}:{line_no}: not a link event: {exc}") from exc
        if event.event not in ("opened", "lost"):
            raise SessionError(f"{path}:{line_no}: unknown link event {event.event!r}")
        out.append(event)
    return tuple(out)


def load_session(folder: Path, *, allow_partial: bool = False) -> Session:
    """Read and check a whole session (frames are checked to exist, not decoded).

    A recording that did not finish (``complete`` false) is refused unless ``allow_partial``:
    its last moments may be missing, so its receipt would not be the trip's.
    """
    folder = Path(folder)
    meta = read_meta(folder)
    if not meta.complete and not allow_partial:
        raise SessionError(
            f"{folder / META_FILE}: the session is incomplete (the recording did not finish); "
            "replay it with --allow-partial to use what was saved"
        )
    config = _config(folder, meta)
    catalog = _checked(folder, meta.catalog, "catalog")
    gallery = _checked(folder, meta.gallery, "gallery") if meta.gallery else None
    ids = [c.id for c in meta.cameras]
    if len(set(ids)) != len(ids):
        raise SessionError(f"{folder / META_FILE}: camera ids repeat: {ids}")
    cameras = tuple(_camera(folder, entry) for entry in meta.cameras)
    wire: tuple[WireEntry, ...] = ()
    links: tuple[LinkEvent, ...] = ()
    calibration = None
    if meta.scale is not None:
        wire = read_wire(resolve(folder, meta.scale.wire_log))
        if meta.scale.links:
            links = read_links(resolve(folder, meta.scale.links))
        if meta.scale.calibration:
            calibration = _checked(folder, meta.scale.calibration, "scale calibration")
    if not resolve(folder, meta.inputs).is_file():
        raise SessionError(f"{resolve(folder, meta.inputs)}: missing (the inputs)")
    if meta.truth is not None and not resolve(folder, meta.truth).is_file():
        raise SessionError(f"{resolve(folder, meta.truth)}: missing (the true receipt)")
    return Session(folder, meta, config, catalog, gallery, cameras, wire, links, calibration)
