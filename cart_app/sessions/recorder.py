"""Recording a live cart as a session: frames, scale bytes and inputs as they reach the cart.

:func:`attach_recorder` is called by the composition root (``CartApp.build(…, record_to=DIR)``)
after every part is built and before any starts. It taps, without changing what they do:

- each camera's latest-frame slot (frames are written by :class:`vision.recording.FrameRecorder`
  on the capture thread, as they are captured);
- the scale service's wire log (every byte received and sent, with its time) and its link
  states (a reconnect resets the weight filter's baseline, so the replay must know of it);
- the engine's inputs from outside (taps, scans, the exit lane), with the reason of the prompt
  an answer is for.

It also copies what the session depends on (configuration, catalog, gallery, scale
calibration) and writes ``session.json`` at once, marked incomplete. Stopping the recorder
(after the engine has stopped, before the ledger closes) writes the event log and the receipt
from the ledger and the final basket, and marks the session complete. A cart that dies
mid-recording leaves a valid but incomplete session, which replay refuses unless asked.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cart_app.domain import PricingMode
from cart_app.engine import Engine, Input
from cart_app.ledger_codec import encode_record
from cart_app.sessions import receipt_json
from cart_app.sessions.format import (
    CATALOG_FILE,
    CONFIG_FILE,
    EVENTS_FILE,
    FORMAT,
    FORMAT_VERSION,
    INPUTS_FILE,
    LINKS_FILE,
    RECEIPT_FILE,
    WIRE_FILE,
    CameraEntry,
    ModelRef,
    ScaleEntry,
    SessionMeta,
    file_ref,
    write_meta,
)
from cart_app.sessions.inputs import encode_input, from_engine
from scale.service import ScaleService
from scale.state import DeviceState, ScaleStateChanged
from scale.wirelog import WireLog
from vision.capture import CameraCapture
from vision.recording import FrameRecorder, RecordingError
from vision.slot import LatestFrameSlot
from vision.types import Frame

if TYPE_CHECKING:
    from cart_app.app import CartApp

log = logging.getLogger(__name__)

MAX_WIRE_BYTES = 1 << 40
"""The wire log of a recording is never rotated: a rotated-away part would be a lost stretch."""


class _RecordingSlot(LatestFrameSlot):
    """A camera's slot that also hands every frame put into it to a recorder."""

    def __init__(self, recorder: FrameRecorder) -> None:
        super().__init__()
        self._recorder = recorder
        self._failed = False

    def put(self, frame: Frame) -> None:
        if not self._failed:
            try:
                self._recorder.write(frame)
            except RecordingError as exc:  # a full disk ends the recording, never the camera
                self._failed = True
                log.error("recording %s stopped: %s", frame.camera_id, exc)
        super().put(frame)


class SessionRecorder:
    """The recorder part (``start``/``stop``); built by :func:`attach_recorder`."""

    name = "session-recorder"

    def __init__(self, app: CartApp, folder: Path) -> None:
        self._app = app
        self.folder = folder
        self._lock = threading.Lock()
        self._frames: list[FrameRecorder] = []
        self._wirelog: WireLog | None = None
        self._inputs = (folder / INPUTS_FILE).open("w", encoding="utf-8")
        self._links = (folder / LINKS_FILE).open("w", encoding="utf-8")
        self._meta: SessionMeta | None = None

    # -- set-up (before any part starts) -----------------------------------------------------
    def attach(self) -> None:
        app, folder = self._app, self.folder
        loaded = app.loaded
        (folder / CONFIG_FILE).write_text(
            loaded.config.model_dump_json(indent=1) + "\n", encoding="utf-8"
        )
        from cart_app.app import catalog_json_path

        shutil.copyfile(catalog_json_path(loaded), folder / CATALOG_FILE)
        data_dir = loaded.resolve(loaded.config.paths.data_dir)
        gallery = model = None
        recogniser = app.cameras.recogniser
        if recogniser is not None and recogniser.gallery_path is not None:
            recogniser.save(folder / "gallery.npz")
            gallery = file_ref(folder, folder / "gallery.npz")
            manifest = recogniser.recogniser.manifest
            model = ModelRef(name=Path(manifest.path).stem, sha256=manifest.sha256)
        cameras = []
        for capture in app.cameras.captures:
            cameras.append(self._tap_camera(capture))
        scale = self._tap_scale(data_dir)
        app.engine.tap_inputs(self._on_input)
        clock = app.clock
        self._meta = SessionMeta(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            session_id=folder.name,
            kind="recorded",
            complete=False,
            t_start=clock.monotonic(),
            t_end=clock.monotonic(),
            wall_at_start=clock.wall(),
            catalog=file_ref(folder, folder / CATALOG_FILE),
            gallery=gallery,
            model=model,
            cameras=tuple(cameras),
            scale=scale,
        )
        write_meta(folder, self._meta)

    def _tap_camera(self, capture: CameraCapture) -> CameraEntry:
        settings = capture.settings
        recorder = FrameRecorder(self.folder / "cameras" / settings.id)
        self._frames.append(recorder)
        # The worker takes frames from the capture's slot; a recording slot in its place sees
        # every frame the capture thread delivers, on that thread.
        capture.slot = _RecordingSlot(recorder)
        return CameraEntry(id=settings.id, folder=f"cameras/{settings.id}", roi=settings.roi)

    def _tap_scale(self, data_dir: Path) -> ScaleEntry | None:
        service = next((p for p in self._app.parts if isinstance(p, ScaleService)), None)
        if service is None:
            return None
        self._wirelog = WireLog(max_file_bytes=MAX_WIRE_BYTES)
        self._wirelog.enable(self.folder / WIRE_FILE)
        service.wirelog = self._wirelog  # links opened from now on log into the session
        service.subscribe(self._on_scale_event)
        calibration = None
        cfg = self._app.loaded.config.scale
        path = Path(cfg.calibration_file)
        path = path if path.is_absolute() else data_dir / path
        if path.is_file():
            shutil.copyfile(path, self.folder / "scale-calibration.json")
            calibration = file_ref(self.folder, self.folder / "scale-calibration.json")
        return ScaleEntry(protocol=cfg.protocol, links=LINKS_FILE, calibration=calibration)

    # -- taps (other threads) ----------------------------------------------------------------
    def _on_input(self, t: float, command: Input) -> None:
        open_prompts = [
            (p.prompt_id, p.reason) for p in self._app.engine.snapshot.basket.pending_prompts
        ]
        item = from_engine(t, command, open_prompts)
        if item is not None:
            with self._lock:
                if not self._inputs.closed:
                    self._inputs.write(encode_input(item) + "\n")
                    self._inputs.flush()

    def _on_scale_event(self, event: object) -> None:
        if not isinstance(event, ScaleStateChanged):
            return
        kind: Literal["opened", "lost"] | None = None
        if event.state is DeviceState.DISCONNECTED:
            kind = "lost"
        elif event.previous is DeviceState.DISCONNECTED:
            kind = "opened"
        if kind is not None:
            line = json.dumps({"t": round(event.t, 6), "event": kind, "reason": event.reason})
            with self._lock:
                if not self._links.closed:
                    self._links.write(line + "\n")
                    self._links.flush()

    # -- the part ----------------------------------------------------------------------------
    def start(self) -> None:
        """Everything was tapped when the app was built."""

    def stop(self) -> None:
        """Finish the files, write the event log and the receipt, mark the session complete."""
        for recorder in self._frames:
            recorder.close()
        if self._wirelog is not None:
            self._wirelog.disable()
        with self._lock:
            self._inputs.close()
            self._links.close()
        app = self._app
        snapshot = app.engine.snapshot
        per_kg = frozenset(
            p.sku for p in app.catalog.products() if p.pricing_mode is PricingMode.PER_KG
        )
        state = snapshot.basket.state.value
        checkout = "accepted" if state in ("checkout", "handed_off", "done") else "not requested"
        assert self._meta is not None
        document = receipt_json.receipt_document(
            snapshot, session_id=self._meta.session_id, checkout=checkout, per_kg=per_kg
        )
        receipt_json.write_receipt(self.folder / RECEIPT_FILE, document)
        self._write_events(snapshot.basket.session_id)
        meta = self._meta.model_copy(update={"complete": True, "t_end": app.clock.monotonic()})
        write_meta(self.folder, meta)

    def _write_events(self, session_id: str) -> None:
        meta = self._meta
        assert meta is not None
        with (self.folder / EVENTS_FILE).open("w", encoding="utf-8") as fh:
            if not session_id:
                return
            for entry in self._app.ledger.entries(session_id):
                kind, payload = encode_record(entry.record)
                t = entry.t_wall - meta.wall_at_start + meta.t_start
                event = {
                    "t": round(t, 6),
                    "kind": "ledger",
                    "seq": entry.seq,
                    "record": kind,
                    "payload": json.loads(payload),
                }
                fh.write(json.dumps(event, sort_keys=True, separators=(",", ":")) + "\n")


def attach_recorder(app: CartApp, folder: Path) -> SessionRecorder:
    """Record ``app`` into the new session folder ``folder``; returns the recorder part, which
    is placed to stop after the engine and before the ledger closes."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty: record each session into a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    recorder = SessionRecorder(app, folder)
    recorder.attach()
    engine = next(p for p in app.parts if isinstance(p, Engine))
    app.parts.insert(app.parts.index(engine), recorder)
    return recorder
